//! schemathesis (PyPI) against the running API, once per role: generated requests for every
//! operation of docs/openapi.json, with an API token of each principal; no answer may be a 5xx
//! and every answer must match the document (status, content type, schema).
//!
//! The tool comes from the project's virtualenv (`scripts/test-all` installs it from
//! tools/test/requirements.txt), or from `SHIELDWALL_SCHEMATHESIS`. Operations that destroy the
//! credential the run uses (revoking tokens, removing bindings, disabling accounts, logging out)
//! are left out here; the API and authorisation tests cover them.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Centre, PRINCIPALS};
use serde_json::json;

const DESTRUCTIVE: [&str; 7] = [
    "revokeOwnToken",
    "revokeToken",
    "revokeTenantToken",
    "removeBinding",
    "removeTenantBinding",
    "setAccountDisabled",
    "logout",
];

fn tool() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SHIELDWALL_SCHEMATHESIS") {
        return Some(PathBuf::from(path));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/schemathesis");
    venv.exists().then_some(venv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_get_documented_answers_for_every_role() {
    let Some(tool) = tool() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "schemathesis is missing: run scripts/test-all (it installs tools/test/requirements.txt into .venv)"
        );
        eprintln!(
            "SKIPPED: schemathesis is not installed; scripts/test-all installs it into .venv (or set SHIELDWALL_SCHEMATHESIS)"
        );
        return;
    };
    let centre = Centre::start("").await;
    let document = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let config = centre.dir.path().join("schemathesis.toml");
    // Tenant routes are exercised in the tenant the principals are bound in.
    std::fs::write(&config, "[parameters]\n\"path.tenant\" = \"acme\"\n").unwrap();
    let mut failures = Vec::new();
    for (name, _, role) in PRINCIPALS {
        let session = centre.login(name).await;
        let me = centre
            .send(Some(&session), "GET", "/api/v1/me", None)
            .await
            .json();
        let binding = me["bindings"][0]["id"].as_u64().unwrap();
        let token = centre
            .send(
                Some(&session),
                "POST",
                "/api/v1/me/tokens",
                Some(&json!({"binding_id": binding, "name": "schemathesis"})),
            )
            .await
            .json()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut command = Command::new(&tool);
        command
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(&document)
            .arg("--url")
            .arg(format!("https://127.0.0.1:{}", centre.port()))
            .arg("--header")
            .arg(format!("Authorization: Bearer {token}"))
            .arg("--tls-verify")
            .arg(centre.cert())
            .arg("--checks")
            .arg("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance")
            .arg("--phases")
            .arg("examples,coverage,fuzzing")
            .arg("--max-examples")
            .arg("10")
            .arg("--seed")
            .arg("20261129")
            .arg("--workers")
            .arg("1")
            .arg("--warnings")
            .arg("off")
            .current_dir(centre.dir.path());
        for operation in DESTRUCTIVE {
            command.arg("--exclude-operation-id").arg(operation);
        }
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        eprintln!(
            "schemathesis as {name} ({role}): {}",
            text.lines().last().unwrap_or_default()
        );
        if !output.status.success() {
            // Generated inputs can be huge: keep each line short.
            let lines: Vec<String> = text
                .lines()
                .chain(String::from_utf8_lossy(&output.stderr).lines())
                .map(|l| l.chars().take(300).collect())
                .collect();
            failures.push(format!("as {name} ({role}):\n{}", lines.join("\n")));
        }
    }
    // The runs reached the tenant routes of acme (the searches are in its audit trail).
    let searches = centre
        .audit("acme", Some(shieldwall_store::meta::AuditKind::Search))
        .len();
    centre.stop().await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        searches > 0,
        "schemathesis never searched tenant acme's events"
    );
}
