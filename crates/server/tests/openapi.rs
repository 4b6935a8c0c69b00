//! The committed OpenAPI document (`docs/openapi.json`) is the one the code generates: change the
//! API, then regenerate it with `shieldwall schema openapi --against docs/openapi.json`, which
//! refuses breaking changes.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

#[test]
fn the_committed_openapi_document_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap();
    let generated = shieldwall_server::api::openapi_json();
    let old: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let new: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let breaking = shieldwall_server::api::compat::breaking_changes(&old, &new);
    assert!(
        breaking.is_empty(),
        "breaking API changes against docs/openapi.json: {breaking:#?}"
    );
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run `cargo run -p shieldwall -- schema openapi --against docs/openapi.json > docs/openapi.new && mv docs/openapi.new docs/openapi.json`"
    );
}
