//! The rule, policy, manifest, plan, evidence and findings routes: uploads checked before they
//! are written, an uploaded rule in service (an event matching it raises an alert), the plan of
//! an uploaded manifest changed by an attestation, findings listed per tenant.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::Write;
use std::time::Duration;

use common::Centre;
use serde_json::json;
use shieldwall_core::{Finding, FindingStatus, RecordId, Severity, TenantId};
use shieldwall_store::meta::RecordStore;

const RULE: &str = "title: Canary word\nid: 6f1f0c4e-9f3a-4a51-9d3c-3b1b9a3c2d10\nlogsource:\n    product: shieldwall\ndetection:\n    selection:\n        message|contains: canary-7731\n    condition: selection\nlevel: high\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_rule_is_checked_written_and_in_service() {
    let centre = Centre::start("").await;
    let admin = centre.login("secadmin-a").await;
    let bad = centre
        .send(
            Some(&admin),
            "PUT",
            "/api/v1/tenants/acme/rules/canary.yml",
            Some(&json!({"yaml": "title: x\ndetection:\n  sel: [\n"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["detail"]
            .as_str()
            .unwrap()
            .contains("canary.yml, line"),
        "{}",
        bad.json()
    );
    let rules = centre.data().parent().unwrap().join("rules/acme");
    assert!(
        !rules.join("canary.yml").exists(),
        "a refused upload was written"
    );
    let bad_name = centre
        .send(
            Some(&admin),
            "PUT",
            "/api/v1/tenants/acme/rules/..%2Fescape.yml",
            Some(&json!({"yaml": RULE})),
        )
        .await;
    assert_eq!(bad_name.status, 400);

    let put = centre
        .send(
            Some(&admin),
            "PUT",
            "/api/v1/tenants/acme/rules/canary.yml",
            Some(&json!({"yaml": RULE})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    assert_eq!(put.json()["documents"], 1);
    let listed = centre
        .send(Some(&admin), "GET", "/api/v1/tenants/acme/rules", None)
        .await
        .json();
    assert_eq!(listed[0]["name"], "canary.yml");
    assert_eq!(listed[0]["enabled"], true);

    // The server reloads the tenant's rules; a matching event raises an alert.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let address = centre
        .server
        .as_ref()
        .unwrap()
        .started()
        .addresses
        .iter()
        .find(|(n, _)| n == "acme-hosts")
        .unwrap()
        .1;
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    writeln!(stream, "<13>Nov 29 10:00:00 host app: saw canary-7731 here").unwrap();
    drop(stream);
    let mut alerts = serde_json::Value::Null;
    for _ in 0..100 {
        alerts = centre
            .send(Some(&admin), "GET", "/api/v1/tenants/acme/alerts", None)
            .await
            .json();
        if alerts["items"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(alerts["items"][0]["title"], "Canary word", "{alerts}");

    let off = centre
        .send(
            Some(&admin),
            "PUT",
            "/api/v1/tenants/acme/rules/canary.yml/enabled",
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(off.status, 200);
    assert_eq!(off.json()["enabled"], false);
    assert!(rules.join("canary.yml.disabled").exists() && !rules.join("canary.yml").exists());
    let on = centre
        .send(
            Some(&admin),
            "PUT",
            "/api/v1/tenants/acme/rules/canary.yml/enabled",
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(on.json()["enabled"], true);

    let policy = centre
        .send(
            Some(&admin),
            "PUT",
            "/api/v1/tenants/acme/policies/alerting",
            Some(&json!({"toml": "[defaults]\nbogus = 1\n"})),
        )
        .await;
    assert_eq!(
        policy.status,
        400,
        "{}",
        String::from_utf8_lossy(&policy.body)
    );
    assert!(!rules.join("alerting.toml").exists());
    centre.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_comes_from_the_uploaded_manifest_and_counts_attestations() {
    let centre = Centre::start("").await;
    let admin = centre.login("secadmin-a").await;
    let user = centre.login("user-a").await;
    let missing = centre
        .send(Some(&user), "GET", "/api/v1/tenants/acme/plan", None)
        .await;
    assert_eq!(missing.status, 404);
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/b2b-cloud.toml"
    ))
    .unwrap();
    let other = centre
        .send(
            Some(&admin),
            "PUT",
            "/api/v1/tenants/acme/manifest",
            Some(&json!({"toml": example})),
        )
        .await;
    assert_eq!(other.status, 400, "a manifest of another tenant was taken");
    let manifest = example.replace("tenant = \"b2b-cloud\"", "tenant = \"acme\"");
    let broken = centre
        .send(
            Some(&admin),
            "PUT",
            "/api/v1/tenants/acme/manifest",
            Some(&json!({"toml": "[organisation\n"})),
        )
        .await;
    assert_eq!(broken.status, 400);
    let put = centre
        .send(
            Some(&admin),
            "PUT",
            "/api/v1/tenants/acme/manifest",
            Some(&json!({"toml": manifest})),
        )
        .await;
    assert_eq!(put.status, 204, "{}", String::from_utf8_lossy(&put.body));
    let before = centre
        .send(Some(&user), "GET", "/api/v1/tenants/acme/plan", None)
        .await;
    assert_eq!(
        before.status,
        200,
        "{}",
        String::from_utf8_lossy(&before.body)
    );
    let before = before.json();
    assert!(before["gaps"].is_array(), "{before}");
    // beta has no manifest, and acme's is not beta's.
    assert_eq!(
        centre
            .send(Some(&user), "GET", "/api/v1/tenants/beta/plan", None)
            .await
            .status,
        403
    );

    // Relative to today: the plan is computed as of today, and the attestation must outlive it.
    let expires = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * 365))
        .unwrap()
        .to_string();
    let attest = centre
        .send(
            Some(&user),
            "POST",
            "/api/v1/tenants/acme/attestations",
            Some(&json!({
            "capability": "waf", "statement": "the WAF blocks OWASP top 10 in front of the shop",
            "expires": expires})),
        )
        .await;
    assert_eq!(
        attest.status,
        201,
        "{}",
        String::from_utf8_lossy(&attest.body)
    );
    assert_eq!(attest.json()["source"]["owner"], "user-a");
    let unknown = centre
        .send(
            Some(&user),
            "POST",
            "/api/v1/tenants/acme/attestations",
            Some(&json!({
            "capability": "no-such-thing", "statement": "x", "expires": expires})),
        )
        .await;
    assert_eq!(unknown.status, 400);
    let evidence = centre
        .send(Some(&user), "GET", "/api/v1/tenants/acme/evidence", None)
        .await
        .json();
    assert_eq!(evidence.as_array().unwrap().len(), 1);
    let after = centre
        .send(Some(&user), "GET", "/api/v1/tenants/acme/plan", None)
        .await
        .json();
    assert_ne!(before, after, "the attestation changed nothing in the plan");
    // The WAF's attestation in the manifest expired on 2026-11-20; the recorded one renews it.
    let waf = |plan: &serde_json::Value| {
        plan["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["capability"] == "waf")
            .unwrap()["evidence"]
            .clone()
    };
    assert_eq!(waf(&before)["state"], "expired", "{}", waf(&before));
    assert_eq!(waf(&after)["state"], "attested", "{}", waf(&after));
    assert!(
        waf(&after)["detail"].as_str().unwrap().contains("user-a"),
        "{}",
        waf(&after)
    );

    let meta = centre.meta();
    let finding = |tenant: &str, check: &str, status| Finding {
        id: RecordId::derive("finding", &[tenant, check]),
        tenant: TenantId::new(tenant).unwrap(),
        module: "baseline".to_owned(),
        target: "web-1".to_owned(),
        check_id: check.to_owned(),
        status,
        severity: Severity::High,
        remediation: Some("disable root login".to_owned()),
        time: jiff::Timestamp::now(),
    };
    meta.record_findings(&[
        finding("acme", "ssh-root", FindingStatus::Fail),
        finding("acme", "ssh-proto", FindingStatus::Pass),
        finding("beta", "ssh-root", FindingStatus::Fail),
    ])
    .unwrap();
    let failed = centre
        .send(
            Some(&user),
            "GET",
            "/api/v1/tenants/acme/findings?status=fail",
            None,
        )
        .await
        .json();
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["finding"]["check_id"], "ssh-root");
    assert_eq!(failed[0]["finding"]["tenant"], "acme");
    centre.stop().await;
}
