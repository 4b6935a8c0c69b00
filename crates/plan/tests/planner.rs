//! The planner's semantics: evidence states, duty statuses, coverage statuses, transfers, parts,
//! and gap ordering, each on a small manifest built for the case.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use shieldwall_catalog::{Catalog, ControlKind, Owner, ServiceModel};
use shieldwall_core::{Evidence, EvidenceSource, Framework, RecordId, TenantId};
use shieldwall_plan::{
    PlanOptions, manifest, plan,
    report::{CoverageStatus, DutyStatus, EvidenceState, GapKind, Plan},
};

fn catalog() -> &'static Catalog {
    Catalog::embedded().unwrap()
}

const HEAD: &str = r#"deployment = "public"
[organisation]
name = "T"
tenant = "t1"
[[workload]]
name = "app"
service_model = "iaas"
provider = "P"
data_classification = "internal"
internet_facing = false
"#;

fn run(extra: &str, evidence: &[Evidence], as_of: &str) -> Plan {
    let source = format!("{HEAD}{extra}");
    let m = manifest::parse("t.toml", &source, catalog()).unwrap_or_else(|e| panic!("{e}"));
    plan(
        catalog(),
        &m,
        evidence,
        &PlanOptions::new(as_of.parse().unwrap()),
    )
    .unwrap()
}

fn duty<'a>(p: &'a Plan, cap: &str, workload: &str) -> &'a shieldwall_plan::report::CapabilityDuty {
    p.capabilities
        .iter()
        .find(|d| d.capability == cap && d.workload == workload)
        .unwrap()
}

fn control<'a>(p: &'a Plan, id: &str) -> &'a shieldwall_plan::report::ControlCoverage {
    p.coverage.controls.iter().find(|c| c.id == id).unwrap()
}

fn attested(cap: &str, on: &str, expires: &str) -> String {
    format!(
        "[[assignment]]\ncapability = \"{cap}\"\nsupplier = \"customer\"\n[assignment.evidence]\nattested_by = \"Q\"\nattested_on = {on}\nexpires = {expires}\n"
    )
}

fn module_record(module: &str, cap: &str, observed: &str, tenant: &str) -> Evidence {
    Evidence {
        id: RecordId::derive("evidence", &[module, cap, observed]),
        tenant: TenantId::new(tenant).unwrap(),
        source: EvidenceSource::Module {
            module: module.into(),
            records: vec![],
        },
        capability: Some(cap.into()),
        controls: vec![],
        workload: None,
        observed: observed.parse().unwrap(),
        expires: None,
    }
}

#[test]
fn attestation_states_follow_the_date() {
    let extra = attested("waf", "2026-01-01", "2026-07-01");
    let before = run(&extra, &[], "2025-12-31");
    assert_eq!(
        duty(&before, "waf", "app").evidence.state,
        EvidenceState::Missing,
        "dated in the future"
    );
    let during = run(&extra, &[], "2026-06-30");
    assert_eq!(
        duty(&during, "waf", "app").evidence.state,
        EvidenceState::Attested
    );
    assert_eq!(duty(&during, "waf", "app").status, DutyStatus::InPlace);
    let after = run(&extra, &[], "2026-07-01");
    assert_eq!(
        duty(&after, "waf", "app").evidence.state,
        EvidenceState::Expired
    );
    assert_eq!(duty(&after, "waf", "app").status, DutyStatus::Unverified);
}

#[test]
fn module_evidence_is_verified_only_when_recent_and_of_this_tenant() {
    let extra = "[[assignment]]\ncapability = \"host-hardening\"\nsupplier = \"customer\"\nevidence = { module = \"baseline\" }\n";
    let none = run(extra, &[], "2026-06-30");
    assert_eq!(
        duty(&none, "host-hardening", "app").evidence.state,
        EvidenceState::Missing
    );

    let fresh = module_record("baseline", "host-hardening", "2026-06-20T10:00:00Z", "t1");
    let p = run(extra, &[fresh], "2026-06-30");
    let d = duty(&p, "host-hardening", "app");
    assert_eq!(d.evidence.state, EvidenceState::Verified);
    assert_eq!(d.status, DutyStatus::InPlace);

    let stale = module_record("baseline", "host-hardening", "2026-04-01T10:00:00Z", "t1");
    assert_eq!(
        duty(&run(extra, &[stale], "2026-06-30"), "host-hardening", "app")
            .evidence
            .state,
        EvidenceState::Expired
    );

    let other_tenant = module_record("baseline", "host-hardening", "2026-06-20T10:00:00Z", "t2");
    assert_eq!(
        duty(
            &run(extra, &[other_tenant], "2026-06-30"),
            "host-hardening",
            "app"
        )
        .evidence
        .state,
        EvidenceState::Missing
    );

    let future = module_record("baseline", "host-hardening", "2026-07-02T00:00:00Z", "t1");
    assert_eq!(
        duty(
            &run(extra, &[future], "2026-06-30"),
            "host-hardening",
            "app"
        )
        .evidence
        .state,
        EvidenceState::Missing
    );

    // Evidence observed late on the as-of day counts.
    let late = module_record("baseline", "host-hardening", "2026-06-30T23:59:59Z", "t1");
    assert_eq!(
        duty(&run(extra, &[late], "2026-06-30"), "host-hardening", "app")
            .evidence
            .state,
        EvidenceState::Verified
    );
}

#[test]
fn provider_owned_capabilities_are_inherited() {
    let p = run("", &[], "2026-06-30");
    let d = duty(&p, "physical-security", "app");
    assert_eq!(d.owner, Owner::Csp);
    assert_eq!(d.status, DutyStatus::Inherited);
    assert_eq!(d.evidence.state, EvidenceState::NotRequired);
    assert!(!p.gaps.iter().any(|g| g.id == "physical-security"));
}

/// A v4.0.13 control that at least two customer-owned (under IaaS) capabilities serve, and only those.
fn control_served_by_two_customer_capabilities() -> (String, Vec<String>) {
    let c = catalog();
    for control in c.controls(Framework::CcmV4_0_13) {
        if control.ownership.iaas.key() != "shared" {
            continue;
        }
        let r = shieldwall_core::ControlRef::new(Framework::CcmV4_0_13, control.id.clone());
        let caps: Vec<&shieldwall_catalog::Capability> = c.capabilities_for(&r).collect();
        let customer: Vec<String> = caps
            .iter()
            .filter(|cap| {
                c.capability_owner(cap, ServiceModel::Iaas) == Some(Owner::Customer)
                    && cap.parent.is_none()
                    && !c
                        .capabilities()
                        .iter()
                        .any(|x| x.parent.as_deref() == Some(cap.id.as_str()))
            })
            .map(|cap| cap.id.clone())
            .collect();
        if customer.len() >= 2 && customer.len() == caps.len() {
            return (control.id.clone(), customer);
        }
    }
    panic!("no suitable control in the catalog");
}

#[test]
fn coverage_is_covered_partial_or_gap_by_how_many_capabilities_are_in_place() {
    let (id, caps) = control_served_by_two_customer_capabilities();
    let none = run("", &[], "2026-06-30");
    assert_eq!(control(&none, &id).status, CoverageStatus::Gap);

    let one = run(
        &attested(&caps[0], "2026-01-01", "2027-01-01"),
        &[],
        "2026-06-30",
    );
    let c = control(&one, &id);
    assert_eq!(c.status, CoverageStatus::Partial, "{c:?}");
    assert_eq!(c.workloads[0].covered_by, vec![caps[0].clone()]);

    let all: String = caps
        .iter()
        .map(|cap| attested(cap, "2026-01-01", "2027-01-01"))
        .collect();
    assert_eq!(
        control(&run(&all, &[], "2026-06-30"), &id).status,
        CoverageStatus::Covered
    );
}

#[test]
fn csp_owned_controls_are_inherited_and_statements_apply() {
    let c = catalog();
    let csp_owned = c
        .controls(Framework::CcmV4_0_13)
        .iter()
        .find(|x| x.ownership.iaas.key() == "csp-owned")
        .unwrap();
    let p = run("", &[], "2026-06-30");
    assert_eq!(control(&p, &csp_owned.id).status, CoverageStatus::Inherited);

    let process = c
        .controls(Framework::CcmV4_0_13)
        .iter()
        .find(|x| c.control_kind(x) == ControlKind::Process)
        .unwrap();
    assert_eq!(control(&p, &process.id).status, CoverageStatus::Gap);
    let statement = format!(
        "[[control]]\nid = \"{}\"\nattested_by = \"Q\"\nattested_on = 2026-01-01\nexpires = 2026-06-01\n",
        process.id
    );
    assert_eq!(
        control(&run(&statement, &[], "2026-05-31"), &process.id).status,
        CoverageStatus::Covered
    );
    let lapsed = run(&statement, &[], "2026-06-30");
    let lc = control(&lapsed, &process.id);
    assert_eq!(lc.status, CoverageStatus::Gap);
    assert!(
        lc.workloads[0].note.as_deref().unwrap().contains("expired"),
        "{lc:?}"
    );
    let excluded = format!(
        "[[control]]\nid = \"ccm-4.0.13:{}\"\nnot_applicable = \"no such activity\"\n",
        process.id
    );
    let ex = run(&excluded, &[], "2026-06-30");
    assert_eq!(
        control(&ex, &process.id).status,
        CoverageStatus::NotApplicable
    );
    assert!(!ex.gaps.iter().any(|g| g.id.ends_with(&process.id)));
}

#[test]
fn transfers_show_in_the_matrix_and_need_evidence() {
    let extra = "[[third_party]]\nname = \"MSSP\"\n[[transfer]]\nto = \"MSSP\"\nitems = [\"system-vulnerability-scanning\", \"R-PROVIDER-ASSURANCE\"]\n";
    let p = run(extra, &[], "2026-06-30");
    let area = p.matrix[0]
        .areas
        .iter()
        .find(|a| a.area == "security-operations")
        .unwrap();
    assert_eq!(area.transfers[0].to, "MSSP");
    assert_eq!(
        area.transfers[0].items,
        vec!["system-vulnerability-scanning".to_owned()]
    );
    let r = p.matrix[0]
        .responsibilities
        .iter()
        .find(|r| r.id == "R-PROVIDER-ASSURANCE")
        .unwrap();
    assert_eq!(r.transferred_to.as_deref(), Some("MSSP"));
    let d = duty(&p, "system-vulnerability-scanning", "app");
    assert_eq!(d.status, DutyStatus::Unverified);
    assert_eq!(d.supplier.as_deref(), Some("MSSP"));
}

#[test]
fn a_capability_with_parts_is_in_place_through_them() {
    let parts = [
        "application-identity-and-access",
        "web-code-security",
        "web-attack-defence",
        "anti-ddos-cc",
        "waf",
        "wtp",
    ];
    let some: String = parts[..3]
        .iter()
        .map(|c| attested(c, "2026-01-01", "2027-01-01"))
        .collect();
    let p = run(&some, &[], "2026-06-30");
    let d = duty(&p, "application-system-security", "app");
    assert_eq!(d.status, DutyStatus::Unassigned);
    assert!(d.evidence.detail.contains("anti-ddos-cc"), "{d:?}");
    assert!(
        !p.gaps.iter().any(|g| g.id == "application-system-security"),
        "its parts are the gaps"
    );
    let all: String = parts
        .iter()
        .map(|c| attested(c, "2026-01-01", "2027-01-01"))
        .collect();
    let d2 = run(&all, &[], "2026-06-30");
    assert_eq!(
        duty(&d2, "application-system-security", "app").status,
        DutyStatus::InPlace
    );
}

#[test]
fn gaps_rank_exposed_and_sensitive_workloads_first() {
    let exposed = HEAD
        .replace("internet_facing = false", "internet_facing = true")
        .replace("\"internal\"", "\"restricted\"");
    let m1 = manifest::parse("a.toml", HEAD, catalog()).unwrap();
    let m2 = manifest::parse("b.toml", &exposed, catalog()).unwrap();
    let opts = PlanOptions::new("2026-06-30".parse().unwrap());
    let quiet = plan(catalog(), &m1, &[], &opts).unwrap();
    let loud = plan(catalog(), &m2, &[], &opts).unwrap();
    let score = |p: &Plan| p.gaps.iter().find(|g| g.id == "waf").unwrap().score;
    assert!(score(&loud) > score(&quiet));
    for p in [&quiet, &loud] {
        assert!(
            p.gaps.windows(2).all(|w| w[0].score >= w[1].score),
            "gaps are sorted by score"
        );
        assert!(p.gaps.iter().enumerate().all(|(i, g)| g.rank == i + 1));
        assert!(p.gaps.iter().any(|g| g.kind == GapKind::Control));
    }
}

#[test]
fn domain_totals_add_up_and_v3_coverage_works() {
    for fw in [Framework::CcmV4_0_13, Framework::CcmV3_0_1] {
        let m = manifest::parse("t.toml", HEAD, catalog()).unwrap();
        let mut opts = PlanOptions::new("2026-06-30".parse().unwrap());
        opts.framework = fw;
        let p = plan(catalog(), &m, &[], &opts).unwrap();
        let t = &p.coverage.total;
        assert_eq!(t.controls, catalog().controls(fw).len());
        assert_eq!(
            t.controls,
            t.covered + t.partial + t.gap + t.inherited + t.not_applicable
        );
        assert_eq!(
            p.coverage.domains.iter().map(|d| d.controls).sum::<usize>(),
            t.controls
        );
    }
    let m = manifest::parse("t.toml", HEAD, catalog()).unwrap();
    let mut opts = PlanOptions::new("2026-06-30".parse().unwrap());
    opts.framework = Framework::CcmV4_1_0;
    assert!(
        plan(catalog(), &m, &[], &opts).is_err(),
        "v4.1.0 is browse-only"
    );
}

#[test]
fn shared_controls_served_only_by_provider_capabilities_need_an_attestation() {
    // Under SaaS the application area is the provider's, so application IAM is inherited; a
    // shared control it serves still leaves the customer a part.
    let saas = HEAD.replace("service_model = \"iaas\"", "service_model = \"saas\"");
    let m = manifest::parse("s.toml", &saas, catalog()).unwrap();
    let p = plan(
        catalog(),
        &m,
        &[],
        &PlanOptions::new("2026-06-30".parse().unwrap()),
    )
    .unwrap();
    let c = catalog();
    let affected: Vec<&shieldwall_plan::report::ControlCoverage> = p
        .coverage
        .controls
        .iter()
        .filter(|x| x.kind == ControlKind::Technical && x.ownership.saas.key() == "shared")
        .filter(|x| {
            let r = shieldwall_core::ControlRef::new(Framework::CcmV4_0_13, x.id.clone());
            c.capabilities_for(&r)
                .all(|cap| c.capability_owner(cap, ServiceModel::Saas) == Some(Owner::Csp))
        })
        .collect();
    assert!(!affected.is_empty());
    for x in affected {
        assert_eq!(x.status, CoverageStatus::Gap, "{}", x.id);
        assert!(
            x.workloads[0]
                .note
                .as_deref()
                .unwrap()
                .contains("needs an attestation")
        );
        assert!(
            p.gaps
                .iter()
                .any(|g| g.kind == GapKind::Control && g.id.ends_with(&format!(":{}", x.id))),
            "{} is listed as a gap",
            x.id
        );
    }
}

#[test]
fn capability_gaps_name_only_the_controls_they_leave_open() {
    let p = run("", &[], "2026-06-30");
    let waf = p.gaps.iter().find(|g| g.id == "waf").unwrap();
    assert!(!waf.controls.is_empty());
    for id in &waf.controls {
        let bare = id.split_once(':').unwrap().1;
        let status = control(&p, bare).status;
        assert!(
            matches!(status, CoverageStatus::Gap | CoverageStatus::Partial),
            "{id} is {status:?}"
        );
    }
}

#[test]
fn notices_report_ignored_inputs() {
    let other = module_record(
        "baseline",
        "host-hardening",
        "2026-06-20T10:00:00Z",
        "someone-else",
    );
    let extra = "[[assignment]]\ncapability = \"host-hardening\"\nsupplier = \"customer\"\nevidence = { module = \"vuln-scan\" }\n[[control]]\nid = \"ccm-3.0.1:GRM-06\"\nnot_applicable = \"x\"\n";
    let p = run(extra, &[other], "2026-06-30");
    assert!(
        p.notices
            .iter()
            .any(|n| n.contains("1 evidence record(s) belong to other tenants (someone-else)")),
        "{:?}",
        p.notices
    );
    assert!(
        p.notices
            .iter()
            .any(|n| n.contains("name ccm-3.0.1 controls and do not count")),
        "{:?}",
        p.notices
    );
    assert!(
        p.notices
            .iter()
            .any(|n| n.contains("does not ship the module(s) vuln-scan")),
        "{:?}",
        p.notices
    );
    assert!(run("", &[], "2026-06-30").notices.is_empty());
}

#[test]
fn expired_module_records_say_so() {
    let extra = "[[assignment]]\ncapability = \"host-hardening\"\nsupplier = \"customer\"\nevidence = { module = \"baseline\" }\n";
    let mut record = module_record("baseline", "host-hardening", "2026-06-20T10:00:00Z", "t1");
    record.expires = Some("2026-06-25T00:00:00Z".parse().unwrap());
    let p = run(extra, &[record], "2026-06-30");
    let d = duty(&p, "host-hardening", "app");
    assert_eq!(d.evidence.state, EvidenceState::Expired);
    assert!(d.evidence.detail.contains("expired at 2026-06-25"), "{d:?}");
}

#[test]
fn a_parent_whose_open_parts_are_all_assigned_is_unverified() {
    let parts = [
        "application-identity-and-access",
        "web-code-security",
        "web-attack-defence",
        "anti-ddos-cc",
        "waf",
        "wtp",
    ];
    let mut extra: String = parts[..5]
        .iter()
        .map(|c| attested(c, "2026-01-01", "2027-01-01"))
        .collect();
    extra.push_str(&attested("wtp", "2025-01-01", "2026-01-01"));
    let p = run(&extra, &[], "2026-06-30");
    assert_eq!(
        duty(&p, "application-system-security", "app").status,
        DutyStatus::Unverified
    );
}

mod generated {
    //! Property: any structurally valid manifest plans and renders in every format without
    //! panicking, and the plan's totals are consistent.
    use proptest::prelude::*;

    use super::*;
    use shieldwall_plan::{Format, render};

    fn name() -> impl Strategy<Value = String> {
        // Unicode, punctuation and markup-looking names, never control characters or spaces at the ends.
        "[a-zA-Z0-9ÅéßЖ漢<>&\"'|*_#-][a-zA-Z0-9ÅéßЖ漢<>&\"'|*_# -]{0,10}[a-zA-Z0-9<>&|]"
            .prop_map(|s| s)
    }

    fn quoted(s: &str) -> String {
        toml::Value::String(s.to_owned()).to_string()
    }

    prop_compose! {
        fn manifest_text()(
            workloads in prop::collection::btree_set(name(), 1..6),
            models in prop::collection::vec(0usize..3, 6),
            classes in prop::collection::vec(0usize..4, 6),
            exposed in prop::collection::vec(any::<bool>(), 6),
            party in name(),
            caps in prop::collection::btree_set(0usize..41, 0..20),
            evidence_kind in prop::collection::vec(0usize..3, 20),
            days in prop::collection::vec(0i32..800, 20),
            transfer_cap in prop::option::of(0usize..41),
        ) -> String {
            let catalog = Catalog::embedded().unwrap();
            let mut m = format!("deployment = \"community\"\n[organisation]\nname = {}\n", quoted(&party));
            for (i, w) in workloads.iter().enumerate() {
                m.push_str(&format!(
                    "[[workload]]\nname = {}\nservice_model = \"{}\"\nprovider = {}\ndata_classification = \"{}\"\ninternet_facing = {}\n",
                    quoted(w),
                    ["iaas", "paas", "saas"][models[i]],
                    quoted(&format!("{w} cloud")),
                    ["public", "internal", "confidential", "restricted"][classes[i]],
                    exposed[i]
                ));
            }
            let third = format!("{party} Ltd");
            m.push_str(&format!("[[third_party]]\nname = {}\n", quoted(&third)));
            let transferred = transfer_cap.map(|i| catalog.capabilities()[i].id.clone());
            if let Some(cap) = &transferred {
                m.push_str(&format!("[[transfer]]\nto = {}\nitems = [\"{cap}\", \"R-DATA\"]\n", quoted(&third)));
            }
            for (k, i) in caps.iter().enumerate() {
                let cap = &catalog.capabilities()[*i];
                let supplier = if transferred.as_deref() == Some(cap.id.as_str()) { quoted(&third) } else { "\"customer\"".to_owned() };
                m.push_str(&format!("[[assignment]]\ncapability = \"{}\"\nsupplier = {supplier}\nproduct = {}\n", cap.id, quoted(&format!("<script>{party}</script> & co"))));
                let start = jiff::civil::date(2025, 6, 1).checked_add(jiff::Span::new().days(days[k])).unwrap();
                match (evidence_kind[k], cap.modules.first()) {
                    (0, Some(module)) => m.push_str(&format!("evidence = {{ module = \"{module}\" }}\n")),
                    (1, _) | (0, None) => m.push_str(&format!("[assignment.evidence]\nattested_by = {}\nattested_on = {start}\nexpires = {}\n", quoted(&party), start.checked_add(jiff::Span::new().days(180)).unwrap())),
                    _ => {}
                }
            }
            m.push_str("[[control]]\nid = \"GRC-01\"\nattested_by = \"x\"\nattested_on = 2026-01-01\nexpires = 2026-12-31\n");
            m
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn valid_manifests_plan_and_render_everywhere(text in manifest_text(), as_of_days in 0i32..900) {
            let catalog = Catalog::embedded().unwrap();
            let m = manifest::parse("gen.toml", &text, catalog).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            let as_of = jiff::civil::date(2025, 6, 1).checked_add(jiff::Span::new().days(as_of_days)).unwrap();
            let p = plan(catalog, &m, &[], &PlanOptions::new(as_of)).unwrap();
            let t = &p.coverage.total;
            prop_assert_eq!(t.controls, t.covered + t.partial + t.gap + t.inherited + t.not_applicable);
            prop_assert_eq!(p.capabilities.len(), 41 * m.workloads.len());
            prop_assert!(p.gaps.windows(2).all(|w| w[0].score >= w[1].score));
            for format in Format::ALL {
                let out = render(&p, catalog, format).unwrap();
                prop_assert!(!out.is_empty());
                if format == Format::Html {
                    prop_assert!(!out.contains("<script>"), "manifest markup must be escaped in HTML");
                }
                if format == Format::Markdown {
                    prop_assert!(!out.contains("<script>"), "manifest markup must be escaped in Markdown");
                }
            }
        }
    }
}

fn recorded(
    cap: &str,
    owner: &str,
    tenant: &str,
    workload: Option<&str>,
    expires: &str,
) -> Evidence {
    Evidence {
        id: RecordId::derive("attestation", &[owner, cap, expires]),
        tenant: TenantId::new(tenant).unwrap(),
        source: EvidenceSource::Attestation {
            owner: owner.into(),
        },
        capability: Some(cap.into()),
        controls: vec![],
        workload: workload.map(Into::into),
        observed: "2026-06-01T00:00:00Z".parse().unwrap(),
        expires: Some(expires.parse().unwrap()),
    }
}

#[test]
fn a_recorded_attestation_renews_a_declared_one_but_never_stands_in_for_a_module() {
    let declared = attested("waf", "2026-01-01", "2026-03-01");
    // Expired as declared; a recorded attestation of this tenant and workload renews it.
    let expired = run(&declared, &[], "2026-07-01");
    assert_eq!(
        duty(&expired, "waf", "app").evidence.state,
        EvidenceState::Expired
    );
    let renewal = recorded("waf", "Anna", "t1", None, "2027-01-01T00:00:00Z");
    let renewed = run(&declared, std::slice::from_ref(&renewal), "2026-07-01");
    let waf = &duty(&renewed, "waf", "app").evidence;
    assert_eq!(waf.state, EvidenceState::Attested);
    assert!(
        waf.detail.contains("Anna") && waf.detail.contains("recorded"),
        "{}",
        waf.detail
    );
    assert_eq!(duty(&renewed, "waf", "app").status, DutyStatus::InPlace);
    // Another tenant's, another workload's, an expired or a future one does not count.
    for other in [
        recorded("waf", "Anna", "t2", None, "2027-01-01T00:00:00Z"),
        recorded(
            "waf",
            "Anna",
            "t1",
            Some("elsewhere"),
            "2027-01-01T00:00:00Z",
        ),
        recorded("waf", "Anna", "t1", None, "2026-06-30T00:00:00Z"),
    ] {
        let plan = run(&declared, &[other], "2026-07-01");
        assert_eq!(
            duty(&plan, "waf", "app").evidence.state,
            EvidenceState::Expired
        );
    }
    let early = run(&declared, std::slice::from_ref(&renewal), "2026-05-01");
    assert_eq!(
        duty(&early, "waf", "app").evidence.state,
        EvidenceState::Expired
    );
    // A capability declared to be observed by a module stays with the module.
    let module = "[[assignment]]\ncapability = \"waf\"\nsupplier = \"customer\"\nevidence = { module = \"waf\" }\n";
    let plan = run(module, &[renewal], "2026-07-01");
    assert_ne!(
        duty(&plan, "waf", "app").evidence.state,
        EvidenceState::Attested
    );
}
