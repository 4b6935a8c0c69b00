//! Every kind of bad manifest is rejected with file, line, column, what was expected and, for a
//! near miss, a suggestion; and no input makes the parser panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use shieldwall_catalog::Catalog;
use shieldwall_plan::manifest::{self, Diagnostic, ManifestError};

const VALID: &str = r#"deployment = "public"

[organisation]
name = "Example Ltd"

[[workload]]
name = "shop"
service_model = "iaas"
provider = "ExampleCloud"
data_classification = "confidential"
internet_facing = true

[[third_party]]
name = "EdgeShield"
services = ["cloud-waf"]

[[assignment]]
capability = "waf"
supplier = "EdgeShield"
[assignment.evidence]
attested_by = "CTO"
attested_on = 2026-01-01
expires = 2027-01-01
"#;

fn catalog() -> &'static Catalog {
    Catalog::embedded().unwrap()
}

fn errors(source: &str) -> ManifestError {
    match manifest::parse("m.toml", source, catalog()) {
        Ok(_) => panic!("accepted:\n{source}"),
        Err(e) => e,
    }
}

/// The single diagnostic of `source`, checked to sit on `line` at the column where `at` starts.
fn one(source: &str, line: usize, at: &str) -> Diagnostic {
    let e = errors(source);
    assert_eq!(e.diagnostics.len(), 1, "{e}");
    let d = e.diagnostics.into_iter().next().unwrap();
    assert_eq!(d.line, line, "{d:?}");
    let text_line = source.lines().nth(line - 1).unwrap();
    let column = text_line
        .find(at)
        .unwrap_or_else(|| panic!("{at:?} not on line {line}"))
        + 1;
    assert_eq!(d.column, column, "{d:?}");
    d
}

#[test]
fn the_base_manifest_is_valid() {
    let m = manifest::parse("m.toml", VALID, catalog()).unwrap();
    assert_eq!(m.workloads.len(), 1);
    assert_eq!(m.assignments.len(), 1);
}

#[test]
fn unknown_key_names_the_expected_keys() {
    let src = VALID.replace(
        "internet_facing = true",
        "internet_facing = true\ninternet_facng = false",
    );
    let d = one(&src, 12, "internet_facng");
    assert!(
        d.message.contains("unknown field `internet_facng`"),
        "{d:?}"
    );
    assert!(
        d.expected.as_deref().unwrap().contains("internet_facing"),
        "{d:?}"
    );
}

#[test]
fn unknown_capability_suggests_the_near_miss() {
    let src = VALID.replace("capability = \"waf\"", "capability = \"wafx\"");
    let d = one(&src, 18, "\"wafx\"");
    assert_eq!(d.message, "unknown capability \"wafx\"");
    assert_eq!(d.suggestion.as_deref(), Some("waf"));
}

#[test]
fn unknown_service_model_lists_the_models() {
    let src = VALID.replace("service_model = \"iaas\"", "service_model = \"iass\"");
    let d = one(&src, 8, "\"iass\"");
    assert_eq!(d.expected.as_deref(), Some("one of iaas, paas, saas"));
    assert_eq!(d.suggestion.as_deref(), Some("iaas"));
}

#[test]
fn unknown_deployment_model() {
    let src = VALID.replace("deployment = \"public\"", "deployment = \"publik\"");
    let d = one(&src, 1, "\"publik\"");
    assert_eq!(d.suggestion.as_deref(), Some("public"));
}

#[test]
fn unknown_party_as_supplier() {
    let src = VALID.replace("supplier = \"EdgeShield\"", "supplier = \"EdgeShild\"");
    let d = one(&src, 19, "\"EdgeShild\"");
    assert_eq!(d.message, "unknown supplier \"EdgeShild\"");
    assert_eq!(d.suggestion.as_deref(), Some("EdgeShield"));
    assert!(d.expected.unwrap().contains("declared [[third_party]]"));
}

#[test]
fn transfer_to_an_undeclared_third_party() {
    let src = format!("{VALID}\n[[transfer]]\nto = \"Acme MSSP\"\nitems = [\"waf\"]\n");
    let line = src.lines().position(|l| l.starts_with("to = ")).unwrap() + 1;
    let d = one(&src, line, "\"Acme MSSP\"");
    assert_eq!(d.message, "unknown third party \"Acme MSSP\"");
}

#[test]
fn transfer_of_an_unknown_item() {
    let src = format!("{VALID}\n[[transfer]]\nto = \"EdgeShield\"\nitems = [\"R-DATTA\"]\n");
    let line = src.lines().position(|l| l.starts_with("items = ")).unwrap() + 1;
    let d = one(&src, line, "\"R-DATTA\"");
    assert_eq!(d.suggestion.as_deref(), Some("R-DATA"));
}

#[test]
fn duplicate_workload() {
    let dup = "\n[[workload]]\nname = \"shop\"\nservice_model = \"saas\"\nprovider = \"X\"\ndata_classification = \"public\"\ninternet_facing = false\n";
    let src = VALID.replace("\n[[third_party]]", &format!("{dup}\n[[third_party]]"));
    let line = src
        .lines()
        .collect::<Vec<_>>()
        .iter()
        .rposition(|l| *l == "name = \"shop\"")
        .unwrap()
        + 1;
    let d = one(&src, line, "\"shop\"");
    assert_eq!(d.message, "duplicate workload \"shop\"");
}

#[test]
fn missing_field() {
    let src = VALID.replace("provider = \"ExampleCloud\"\n", "");
    let e = errors(&src);
    let d = &e.diagnostics[0];
    assert!(d.message.contains("missing field `provider`"), "{d:?}");
    assert_eq!(
        d.line, 6,
        "the error points at the [[workload]] table: {d:?}"
    );
}

#[test]
fn bad_dates() {
    let src = VALID.replace("attested_on = 2026-01-01", "attested_on = 2026-13-01");
    let e = errors(&src);
    assert_eq!(e.diagnostics[0].line, 22, "{e}");
    let src = VALID.replace("attested_on = 2026-01-01", "attested_on = \"2026-02-30\"");
    let d = one(&src, 22, "\"2026-02-30\"");
    assert!(d.message.contains("not a valid date"), "{d:?}");
    assert_eq!(d.expected.as_deref(), Some("a date such as 2026-03-31"));
    let src = VALID.replace(
        "attested_on = 2026-01-01",
        "attested_on = 2026-01-01T10:00:00Z",
    );
    let d = one(&src, 22, "2026-01-01T10");
    assert!(d.message.contains("date-time, not a date"), "{d:?}");
    let src = VALID.replace("expires = 2027-01-01", "expires = 2025-01-01");
    let d = one(&src, 23, "2025-01-01");
    assert!(d.message.contains("not after attested_on"), "{d:?}");
}

#[test]
fn module_that_does_not_observe_the_capability() {
    let src = VALID.replace(
        "[assignment.evidence]\nattested_by = \"CTO\"\nattested_on = 2026-01-01\nexpires = 2027-01-01\n",
        "evidence = { module = \"baseline\" }\n",
    );
    let d = one(&src, 20, "\"baseline\"");
    assert!(
        d.message
            .contains("produces no evidence for this capability"),
        "{d:?}"
    );
    assert!(d.expected.unwrap().contains("waf"));
}

#[test]
fn wrong_type_and_unknown_control() {
    let src = VALID.replace("internet_facing = true", "internet_facing = \"yes\"");
    let e = errors(&src);
    assert_eq!(e.diagnostics[0].line, 11);
    assert!(e.diagnostics[0].message.contains("invalid type"), "{e}");
    let src = format!("{VALID}\n[[control]]\nid = \"GRC-1\"\nnot_applicable = \"x\"\n");
    let line = src
        .lines()
        .position(|l| l.starts_with("id = \"GRC"))
        .unwrap()
        + 1;
    let d = one(&src, line, "\"GRC-1\"");
    assert_eq!(d.suggestion.as_deref(), Some("GRC-01"));
}

#[test]
fn several_errors_are_reported_together_in_source_order() {
    let src = VALID
        .replace("service_model = \"iaas\"", "service_model = \"iass\"")
        .replace("capability = \"waf\"", "capability = \"wafx\"");
    let e = errors(&src);
    assert_eq!(e.diagnostics.len(), 2);
    assert!(e.diagnostics[0].line < e.diagnostics[1].line);
    let text = e.to_string();
    assert!(
        text.starts_with("m.toml:8:17: unknown service model \"iass\""),
        "{text}"
    );
    assert!(text.contains("help: did you mean \"iaas\"?"), "{text}");
    assert!(text.contains("^^^^^^"), "a caret marks the value: {text}");
}

#[test]
fn no_workload_and_oversized_input() {
    let e = errors("deployment = \"public\"\n[organisation]\nname = \"x\"\n");
    assert!(e.diagnostics[0].message.contains("no workload"));
    let big = format!("{VALID}\n# {}\n", "x".repeat(manifest::MAX_MANIFEST_BYTES));
    assert!(errors(&big).diagnostics[0].message.contains("limit"));
}

#[test]
fn names_must_be_clean_text() {
    let src = VALID.replace("name = \"shop\"", "name = \"shop \"");
    let d = one(&src, 7, "\"shop \"");
    assert!(d.message.contains("leading or trailing spaces"), "{d:?}");
    let src = VALID.replace("provider = \"ExampleCloud\"", "provider = \"\"");
    let d = one(&src, 9, "\"\"");
    assert_eq!(d.message, "provider is empty");
    let src = VALID.replace("name = \"Example Ltd\"", "name = \"Evil\\u001b[31m\"");
    let d = one(&src, 4, "\"Evil");
    assert!(d.message.contains("control character U+001B"), "{d:?}");
    let src = VALID.replace(
        "capability = \"waf\"",
        "capability = \"waf\"\nproduct = \"x\\ny\"",
    );
    let d = one(&src, 19, "\"x");
    assert!(
        d.message
            .contains("product contains the control character U+000A"),
        "{d:?}"
    );
}

#[test]
fn an_empty_workload_list_is_refused() {
    let src = VALID.replace(
        "supplier = \"EdgeShield\"",
        "supplier = \"EdgeShield\"\nworkloads = []",
    );
    let d = one(&src, 20, "[]");
    assert!(d.message.contains("empty workload list"), "{d:?}");
}

#[test]
fn conflicting_transfers_and_assignments_are_refused() {
    let twice = format!("{VALID}\n[[transfer]]\nto = \"EdgeShield\"\nitems = [\"waf\", \"waf\"]\n");
    let line = twice
        .lines()
        .position(|l| l.starts_with("items = "))
        .unwrap()
        + 1;
    let e = errors(&twice);
    assert!(
        e.diagnostics
            .iter()
            .any(|d| d.line == line && d.message.contains("listed twice")),
        "{e}"
    );

    let two_parties = format!(
        "{}\n[[third_party]]\nname = \"Other\"\n[[transfer]]\nto = \"EdgeShield\"\nitems = [\"R-DATA\"]\n[[transfer]]\nto = \"Other\"\nitems = [\"R-DATA\"]\n",
        VALID
    );
    let e = errors(&two_parties);
    assert!(
        e.diagnostics
            .iter()
            .any(|d| d.message.contains("already transferred to \"EdgeShield\"")),
        "{e}"
    );

    let against = format!(
        "{VALID}\n[[transfer]]\nto = \"EdgeShield\"\nitems = [\"host-hardening\"]\n[[assignment]]\ncapability = \"host-hardening\"\nsupplier = \"customer\"\n"
    );
    let e = errors(&against);
    assert!(
        e.diagnostics
            .iter()
            .any(|d| d.message.contains("was transferred to \"EdgeShield\"")
                && d.suggestion.is_none()),
        "{e}"
    );

    let double =
        format!("{VALID}\n[[assignment]]\ncapability = \"waf\"\nsupplier = \"EdgeShield\"\n");
    let e = errors(&double);
    assert!(
        e.diagnostics.iter().any(|d| d
            .message
            .contains("already assigned for workload \"shop\" (line 18)")),
        "{e}"
    );
}

#[test]
fn browse_only_framework_cannot_be_stated() {
    let src = format!("{VALID}\n[[control]]\nid = \"ccm-4.1.0:GRC-01\"\nnot_applicable = \"x\"\n");
    let e = errors(&src);
    assert!(
        e.diagnostics[0].message.contains("for browsing only"),
        "{e}"
    );
}

#[test]
fn the_caret_underlines_characters_not_bytes() {
    let src = VALID.replace(
        "service_model = \"iaas\"",
        "service_model = \"ïåäs\" # ünïcode",
    );
    let e = errors(&src);
    let d = &e.diagnostics[0];
    assert_eq!(d.width, "\"ïåäs\"".chars().count(), "{d:?}");
}

/// Fragments that a generated manifest is built from: valid pieces, near misses and junk.
fn fragment() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just("\"iaas\"".to_owned()),
        Just("\"saas\"".to_owned()),
        Just("\"restricted\"".to_owned()),
        Just("true".to_owned()),
        Just("2026-02-30".to_owned()),
        Just("2026-01-01".to_owned()),
        Just("[\"waf\", \"R-DATA\"]".to_owned()),
        Just("{ module = \"waf\" }".to_owned()),
        Just("\"\"".to_owned()),
        "\"[a-zA-Z &-]{0,12}\"".prop_map(|s| s),
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    let key = prop_oneof![
        Just("name"),
        Just("service_model"),
        Just("provider"),
        Just("data_classification"),
        Just("internet_facing"),
        Just("capability"),
        Just("supplier"),
        Just("to"),
        Just("items"),
        Just("workloads"),
        Just("evidence"),
        Just("attested_by"),
        Just("attested_on"),
        Just("expires"),
        Just("id"),
        Just("not_applicable"),
        Just("deployment"),
        Just("tenant"),
    ];
    let header = prop_oneof![
        Just("[organisation]"),
        Just("[[workload]]"),
        Just("[[third_party]]"),
        Just("[[transfer]]"),
        Just("[[assignment]]"),
        Just("[assignment.evidence]"),
        Just("[[control]]"),
    ];
    prop_oneof![
        3 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => header.prop_map(str::to_owned),
        1 => "[^\n]{0,20}".prop_map(|s| s),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn generated_manifests_never_panic(lines in prop::collection::vec(fragment(), 0..40)) {
        let source = lines.join("\n");
        let _ = manifest::parse("gen.toml", &source, catalog());
    }

    #[test]
    fn mutated_valid_manifests_never_panic_and_errors_point_inside(pos in 0usize..VALID.len(), cut in 0usize..40, insert in "[^\n]{0,8}") {
        let mut source = VALID.to_owned();
        let start = (0..=pos).rev().find(|i| source.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + cut).min(source.len());
        let end = (end..=source.len()).find(|i| source.is_char_boundary(*i)).unwrap_or(source.len());
        source.replace_range(start..end, &insert);
        if let Err(e) = manifest::parse("mut.toml", &source, catalog()) {
            let lines = source.lines().count().max(1);
            for d in &e.diagnostics {
                prop_assert!(d.line >= 1 && d.line <= lines + 1, "{d:?}");
                prop_assert!(d.column >= 1);
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(source in "\\PC{0,400}") {
        let _ = manifest::parse("any.toml", &source, catalog());
    }
}
