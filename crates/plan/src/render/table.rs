//! The terminal rendering: aligned text tables, one section per part of the plan.

use super::text::{
    Grid, clip, domain_grid, heading_facts, inherited_lines, matrix_grids, party_summary,
    transfer_lines,
};
use crate::report::{GapKind, Plan};

pub(super) fn render(plan: &Plan) -> String {
    let mut out = String::from("SHIELDWALL RESPONSIBILITY PLAN\n");
    for (k, v) in heading_facts(plan) {
        out.push_str(&format!("{k:<16}{v}\n"));
    }

    for notice in &plan.notices {
        out.push_str(&format!("NOTE: {notice}\n"));
    }
    out.push_str(
        "\n1. RESPONSIBILITY MATRIX (owner per workload; -> marks a transfer to a third party)\n\n",
    );
    let (areas, resp) = matrix_grids(plan, Some(60));
    out.push_str(&areas.aligned());
    out.push('\n');
    out.push_str(&resp.aligned());
    for line in transfer_lines(plan) {
        out.push_str(&format!("-> {line}\n"));
    }

    out.push_str("\n2. CAPABILITIES EACH PARTY OWES\n\n");
    out.push_str(&party_summary(plan).aligned());
    out.push_str("\nInherited from the provider, per workload:\n");
    for line in inherited_lines(plan) {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("\nOwed by the customer side (itself, or a third party by contract):\n\n");
    let mut caps = Grid::new([
        "Capability",
        "Workload",
        "Owner",
        "Status",
        "Supplier",
        "Evidence",
    ]);
    for d in &plan.capabilities {
        if d.status == crate::report::DutyStatus::Inherited {
            continue;
        }
        let supplier = match (&d.supplier, &d.product) {
            (Some(s), Some(p)) => format!("{s}: {}", clip(p, 40)),
            (Some(s), None) => s.clone(),
            _ => "-".into(),
        };
        let evidence = super::text::evidence_cell(&d.evidence);
        caps.row(vec![
            d.capability.clone(),
            d.workload.clone(),
            d.owner.key().into(),
            d.status.key().into(),
            supplier,
            evidence,
        ]);
    }
    out.push_str(&caps.aligned());

    out.push_str(&format!(
        "\n3. {} COVERAGE BY DOMAIN\n\n",
        plan.framework.title()
    ));
    let domains = domain_grid(plan, Some(40));
    out.push_str(&domains.aligned());
    out.push_str(
        "Met % = (covered + inherited) / applicable; Own % = covered / (applicable - inherited).\n",
    );

    out.push_str("\nControls (owner per model I/P/S: C=csp-owned, S=shared, U=csc-owned, -=n/a, ?=unspecified)\n\n");
    let mut controls = Grid::new([
        "Control",
        "Title",
        "Kind",
        "Owner",
        "Status",
        "Covered by",
        "Missing",
    ]);
    for c in &plan.coverage.controls {
        let mut covered: Vec<&str> = c
            .workloads
            .iter()
            .flat_map(|w| w.covered_by.iter().map(String::as_str))
            .collect();
        covered.sort_unstable();
        covered.dedup();
        let mut missing: Vec<&str> = c
            .workloads
            .iter()
            .flat_map(|w| w.missing.iter().map(String::as_str))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        controls.row(vec![
            c.id.clone(),
            clip(&c.title, 44),
            c.kind.key().to_owned(),
            owner_letters(c),
            c.status.key().into(),
            clip(&covered.join(","), 40),
            clip(&missing.join(","), 40),
        ]);
    }
    out.push_str(&controls.aligned());

    out.push_str("\n4. GAPS, MOST URGENT FIRST (score: see docs/risk-score.md)\n\n");
    let mut gaps = Grid::new([
        "#",
        "Score",
        "Kind",
        "Id",
        "Owner",
        "Workloads",
        "Reason",
        "Could be filled by",
    ]);
    for g in &plan.gaps {
        gaps.row(vec![
            g.rank.to_string(),
            g.score.to_string(),
            match g.kind {
                GapKind::Capability => "capability".into(),
                GapKind::Control => "control".into(),
            },
            g.id.clone(),
            g.owner.clone(),
            clip(&g.workloads.join(","), 30),
            clip(&g.reason, 50),
            clip(&g.service_types.join("; "), 50),
        ]);
    }
    out.push_str(&gaps.aligned());
    out.push_str("\nGuidance for each gap: --format md or html.\n");
    out
}

/// Three letters for a control's owner under IaaS, PaaS and SaaS.
pub(super) fn owner_letters(c: &crate::report::ControlCoverage) -> String {
    use shieldwall_catalog::ControlOwnership as O;
    [c.ownership.iaas, c.ownership.paas, c.ownership.saas]
        .iter()
        .map(|o| match o {
            O::CspOwned => 'C',
            O::Shared => 'S',
            O::CscOwned => 'U',
            O::NotApplicable => '-',
            O::Unspecified => '?',
        })
        .collect()
}
