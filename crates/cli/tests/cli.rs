//! The `shieldwall` binary end to end: exit codes, messages, files written or not, JSON shapes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::{Command, Output};

fn shieldwall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shieldwall"))
        .args(args)
        .current_dir(shieldwall_testkit::workspace_root())
        .env_remove("SHIELDWALL_DATA_DIR")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn plan_of_the_case_study_prints_four_parts() {
    let o = shieldwall(&["plan", "examples/b2b-cloud.toml", "--as-of", "2026-11-30"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for part in [
        "1. RESPONSIBILITY MATRIX",
        "2. CAPABILITIES EACH PARTY OWES",
        "3. CSA CCM v4.0.13 COVERAGE",
        "4. GAPS",
    ] {
        assert!(out.contains(part), "missing {part}");
    }
}

#[test]
fn every_plan_format_renders_every_example() {
    for example in ["b2b-cloud", "iaas-webshop", "saas-office"] {
        for format in [
            "table",
            "json",
            "md",
            "html",
            "csv",
            "oscal-ssp",
            "oscal-component",
            "oscal-catalog",
            "oscal-profile",
        ] {
            let path = format!("examples/{example}.toml");
            let o = shieldwall(&["plan", &path, "--as-of", "2026-11-30", "--format", format]);
            assert!(o.status.success(), "{example} {format}: {}", stderr(&o));
            assert!(!o.stdout.is_empty());
        }
    }
}

#[test]
fn a_bad_manifest_fails_with_its_location_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(
        shieldwall_testkit::workspace_root().join("examples/iaas-webshop.toml"),
    )
    .unwrap()
    .replace("capability = \"waf\"", "capability = \"wfa\"");
    std::fs::write(&manifest, &text).unwrap();
    let line = text
        .lines()
        .position(|l| l == "capability = \"wfa\"")
        .unwrap()
        + 1;
    let out = dir.path().join("plan.html");
    let o = shieldwall(&[
        "plan",
        manifest.to_str().unwrap(),
        "--format",
        "html",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("bad.toml:{line}:14: unknown capability \"wfa\"")),
        "{err}"
    );
    assert!(err.contains("did you mean \"waf\""), "{err}");
    assert!(!out.exists(), "nothing partial may be written");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left behind"
    );
}

#[test]
fn output_and_oscal_dir_are_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let o = shieldwall(&[
        "plan",
        "examples/saas-office.toml",
        "--as-of",
        "2026-11-30",
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
        "--oscal-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["organisation"], "Example Consulting GmbH");
    for f in [
        "catalog.json",
        "profile.json",
        "ssp.json",
        "component-definition.json",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let o = shieldwall(&[
        "plan",
        "examples/saas-office.toml",
        "--oscal-dir",
        "/nonexistent/dir",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not an existing directory"));
}

#[test]
fn bad_dates_and_files_are_clear_errors() {
    let o = shieldwall(&["plan", "examples/saas-office.toml", "--as-of", "2026-02-30"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--as-of \"2026-02-30\""),
        "{}",
        stderr(&o)
    );
    let o = shieldwall(&["plan", "examples/missing.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot open examples/missing.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn evidence_file_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("e.ndjson");
    std::fs::write(&evidence, "\n{\"not\": \"evidence\"}\n").unwrap();
    let o = shieldwall(&[
        "plan",
        "examples/iaas-webshop.toml",
        "--evidence",
        evidence.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("e.ndjson:2: not an evidence record"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn module_evidence_from_a_file_verifies_a_capability() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("e.ndjson");
    let record = serde_json::json!({
        "id": "acba5054-3021-50f9-8c3f-7bc08a447eaa",
        "tenant": "webshop",
        "source": {"kind": "module", "module": "baseline"},
        "capability": "host-hardening",
        "observed": "2026-11-29T08:00:00Z"
    });
    std::fs::write(&evidence, format!("{record}\n")).unwrap();
    let o = shieldwall(&[
        "plan",
        "examples/iaas-webshop.toml",
        "--as-of",
        "2026-11-30",
        "--format",
        "json",
        "--evidence",
        evidence.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let duty = json["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["capability"] == "host-hardening")
        .unwrap();
    assert_eq!(duty["evidence"]["state"], "verified");
    assert_eq!(duty["status"], "in-place");
}

#[test]
fn catalog_controls_json_has_the_documented_shape() {
    for (framework, count) in [("ccm-4.0.13", 197), ("ccm-3.0.1", 133), ("ccm-4.1.0", 207)] {
        let o = shieldwall(&[
            "catalog",
            "controls",
            "--framework",
            framework,
            "--format",
            "json",
        ]);
        assert!(o.status.success());
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let controls = json.as_array().unwrap();
        assert_eq!(controls.len(), count, "{framework}");
        for c in controls {
            for key in ["id", "domain", "title"] {
                assert!(c[key].is_string(), "{framework} {c}");
            }
            for model in ["iaas", "paas", "saas"] {
                assert!(c["ownership"][model].is_string(), "{framework} {c}");
            }
        }
    }
}

#[test]
fn catalog_capabilities_json_has_the_documented_shape() {
    let o = shieldwall(&["catalog", "capabilities", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let caps = json.as_array().unwrap();
    assert_eq!(caps.len(), 41);
    for c in caps {
        for key in ["id", "category", "section"] {
            assert!(c[key].is_string(), "{c}");
        }
        let controls = c["controls"].as_array().unwrap();
        assert!(
            controls
                .iter()
                .any(|x| x.as_str().unwrap().starts_with("ccm-4.0.13:")),
            "{c}"
        );
    }
    for listing in ["capabilities", "responsibilities", "categories"] {
        for format in ["table", "md", "csv", "json"] {
            let o = shieldwall(&["catalog", listing, "--format", format]);
            assert!(
                o.status.success() && !o.stdout.is_empty(),
                "{listing} {format}"
            );
        }
    }
}

#[test]
fn catalog_show_finds_every_kind_of_id_and_suggests_near_misses() {
    for id in [
        "waf",
        "R-DATA",
        "host",
        "virtual-network",
        "cloud-waf",
        "baseline",
        "LOG-05",
        "ccm-3.0.1:IAM-04",
        "ccm-4.1.0:I&S-01",
    ] {
        let o = shieldwall(&["catalog", "show", id]);
        assert!(o.status.success(), "{id}: {}", stderr(&o));
    }
    let o = shieldwall(&["catalog", "show", "bastion-hots"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean \"bastion-host\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn imported_ccm_text_is_shown_by_catalog_show() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = shieldwall_testkit::workspace_root()
        .join("crates/ccm-import/tests/fixtures/ccm_v4_synthetic.xlsx");
    let data = dir.path().to_str().unwrap();
    let o = shieldwall(&[
        "catalog",
        "import-ccm",
        fixture.to_str().unwrap(),
        "--data-dir",
        data,
        "--framework",
        "ccm-4.0.13",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = shieldwall(&[
        "catalog",
        "show",
        "A&A-01",
        "--data-dir",
        data,
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        json["specification"]
            .as_str()
            .unwrap()
            .starts_with("Synthetic specification for A&A-01"),
        "{json}"
    );
    // Without the import, the text is absent and the table says how to get it.
    let empty = tempfile::tempdir().unwrap();
    let o = shieldwall(&[
        "catalog",
        "show",
        "A&A-01",
        "--data-dir",
        empty.path().to_str().unwrap(),
    ]);
    assert!(
        stdout(&o).contains("import CSA's official file"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn the_committed_manifest_schema_is_current() {
    let o = shieldwall(&["schema", "manifest"]);
    let committed = std::fs::read_to_string(
        shieldwall_testkit::workspace_root().join("schema/manifest.schema.json"),
    )
    .unwrap();
    assert!(
        stdout(&o) == committed,
        "schema/manifest.schema.json is stale: run `shieldwall schema manifest > schema/manifest.schema.json`"
    );
}

#[test]
fn help_teaches() {
    let o = shieldwall(&["plan", "--help"]);
    let help = stdout(&o);
    assert!(
        help.contains("Examples:") && help.contains("--as-of"),
        "{help}"
    );
}

#[test]
fn a_failing_output_leaves_the_oscal_dir_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let o = shieldwall(&[
        "plan",
        "examples/saas-office.toml",
        "--oscal-dir",
        dir.path().to_str().unwrap(),
        "--output",
        "/nonexistent/dir/plan.html",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written, no temporaries left"
    );
}
