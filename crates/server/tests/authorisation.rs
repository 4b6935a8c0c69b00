//! The authorisation matrix: every route of the OpenAPI document, called by every role bound in
//! tenant acme and system-wide, for tenant acme and for tenant beta, checked against the table
//! in `authorisation.matrix`, written by hand (not generated from the code).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;

use common::{Centre, PRINCIPALS};
use serde_json::{Value, json};

struct Row {
    method: String,
    path: String,
    allowed: Vec<bool>,
}

fn matrix() -> Vec<Row> {
    let text = include_str!("authorisation.matrix");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(parts.len(), 2 + PRINCIPALS.len(), "matrix line: {line}");
            Row {
                method: parts[0].to_owned(),
                path: parts[1].to_owned(),
                allowed: parts[2..]
                    .iter()
                    .map(|m| match *m {
                        "+" => true,
                        "-" => false,
                        other => panic!("matrix mark {other:?} in {line}"),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn documented() -> BTreeSet<(String, String)> {
    let doc: Value = serde_json::from_str(&shieldwall_server::api::openapi_json()).unwrap();
    let mut routes = BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

fn concrete(path: &str, tenant: &str) -> String {
    path.replace("{tenant}", tenant)
        .replace("{id}", "999999")
        .replace("{name}", "probe.yml")
        .replace("{policy}", "probe")
}

fn body(method: &str) -> Option<Value> {
    matches!(method, "POST" | "PUT").then(|| json!({}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_allows_exactly_the_roles_the_table_gives() {
    let rows = matrix();
    let in_table: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let in_doc = documented();
    assert_eq!(
        in_table.symmetric_difference(&in_doc).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes in the OpenAPI document and in authorisation.matrix differ"
    );

    let centre = Centre::start("").await;
    let mut sessions = Vec::new();
    for (name, _, _) in PRINCIPALS {
        sessions.push(centre.login(name).await);
    }
    let mut failures = Vec::new();
    // Logout last: it ends the session the other rows use.
    let mut ordered: Vec<&Row> = rows.iter().filter(|r| r.path != "/api/v1/logout").collect();
    ordered.extend(rows.iter().filter(|r| r.path == "/api/v1/logout"));
    for row in &ordered {
        let public = matches!(
            row.path.as_str(),
            "/health" | "/ready" | "/api/v1/openapi.json" | "/api/v1/login"
        );
        let anonymous = centre
            .send(
                None,
                &row.method,
                &concrete(&row.path, "acme"),
                body(&row.method).as_ref(),
            )
            .await;
        if !public && anonymous.status != 401 {
            failures.push(format!(
                "{} {} without credentials: {}",
                row.method, row.path, anonymous.status
            ));
        }
        for (i, (name, _, _)) in PRINCIPALS.iter().enumerate() {
            let session = &sessions[i];
            let answer = centre
                .send(
                    Some(session),
                    &row.method,
                    &concrete(&row.path, "acme"),
                    body(&row.method).as_ref(),
                )
                .await;
            let allowed = !matches!(answer.status, 401 | 403);
            if allowed != row.allowed[i] || answer.status >= 500 {
                failures.push(format!(
                    "{} {} as {name}: status {} ({}), the table says {}",
                    row.method,
                    row.path,
                    answer.status,
                    String::from_utf8_lossy(&answer.body),
                    if row.allowed[i] { "allow" } else { "deny" }
                ));
            }
            if answer.status >= 400 {
                let problem = answer
                    .headers
                    .get("content-type")
                    .map(|v| v.to_str().unwrap_or_default().to_owned());
                if problem.as_deref() != Some("application/problem+json") {
                    failures.push(format!(
                        "{} {} as {name}: error without problem details: {problem:?}",
                        row.method, row.path
                    ));
                }
            }
            if row.path.contains("{tenant}") {
                let other = centre
                    .send(
                        Some(session),
                        &row.method,
                        &concrete(&row.path, "beta"),
                        body(&row.method).as_ref(),
                    )
                    .await;
                if other.status != 403 {
                    failures.push(format!(
                        "{} {} for tenant beta as {name}: status {}, expected 403",
                        row.method, row.path, other.status
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Every refusal is in the audit trail of the tenant (or system) it was refused in.
    let meta = centre.meta();
    let denied = |chain: &str| {
        use shieldwall_store::meta::{AuditFilter, AuditKind, AuditTrail};
        meta.audit_records(&AuditFilter {
            chain: chain.parse().unwrap(),
            since: None,
            until: None,
            kind: Some(AuditKind::Denied),
            actor: None,
            before_seq: None,
            after_seq: None,
            limit: 100_000,
        })
        .unwrap()
        .len()
    };
    let tenant_routes = rows.iter().filter(|r| r.path.contains("{tenant}")).count();
    assert_eq!(denied("beta"), tenant_routes * PRINCIPALS.len());
    let acme_refusals: usize = rows
        .iter()
        .filter(|r| r.path.contains("{tenant}"))
        .map(|r| r.allowed.iter().filter(|a| !**a).count())
        .sum();
    assert_eq!(denied("acme"), acme_refusals);
    centre.stop().await;
}
