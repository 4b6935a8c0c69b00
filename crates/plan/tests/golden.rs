//! Golden outputs: every example manifest in every format at a fixed date, compared byte for byte
//! with the reviewed files under tests/golden/. After a deliberate change, regenerate them with
//! `SHIELDWALL_BLESS=1 cargo test -p shieldwall-plan --test golden`, then read the diff: a golden
//! file is a reviewed statement of what the product says, not a recording.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use shieldwall_catalog::Catalog;
use shieldwall_plan::{Format, PlanOptions, manifest, plan, render};

const AS_OF: &str = "2026-11-30";
const EXAMPLES: [&str; 3] = ["b2b-cloud", "iaas-webshop", "saas-office"];

fn extension(format: Format) -> &'static str {
    match format {
        Format::Table => "txt",
        Format::Json => "json",
        Format::Markdown => "md",
        Format::Html => "html",
        Format::Csv => "csv",
        Format::OscalSsp => "oscal-ssp.json",
        Format::OscalComponent => "oscal-component.json",
        Format::OscalCatalog => "oscal-catalog.json",
        Format::OscalProfile => "oscal-profile.json",
    }
}

#[test]
fn examples_match_their_golden_outputs() {
    let catalog = Catalog::embedded().unwrap();
    let bless = std::env::var_os("SHIELDWALL_BLESS").is_some();
    let mut mismatches = Vec::new();
    for example in EXAMPLES {
        let path = shieldwall_testkit::workspace_root()
            .join("examples")
            .join(format!("{example}.toml"));
        let text = std::fs::read_to_string(&path).unwrap();
        let m = manifest::parse(&format!("examples/{example}.toml"), &text, catalog)
            .unwrap_or_else(|e| panic!("{e}"));
        let report = plan(catalog, &m, &[], &PlanOptions::new(AS_OF.parse().unwrap())).unwrap();
        for format in Format::ALL {
            let out = render(&report, catalog, format).unwrap();
            let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/golden")
                .join(format!("{example}.{}", extension(format)));
            if bless {
                std::fs::write(&golden, &out).unwrap();
                continue;
            }
            match std::fs::read_to_string(&golden) {
                Ok(expected) if expected == out => {}
                Ok(expected) => {
                    let line = expected
                        .lines()
                        .zip(out.lines())
                        .position(|(a, b)| a != b)
                        .map_or(expected.lines().count().min(out.lines().count()) + 1, |i| {
                            i + 1
                        });
                    mismatches.push(format!(
                        "{} differs from the output at line {line}",
                        golden.display()
                    ));
                }
                Err(e) => mismatches.push(format!("{}: {e}", golden.display())),
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden outputs differ (bless with SHIELDWALL_BLESS=1 after reviewing):\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn json_report_has_the_documented_top_level() {
    let catalog = Catalog::embedded().unwrap();
    let text = std::fs::read_to_string(
        shieldwall_testkit::workspace_root().join("examples/b2b-cloud.toml"),
    )
    .unwrap();
    let m = manifest::parse("b2b-cloud.toml", &text, catalog).unwrap();
    let report = plan(catalog, &m, &[], &PlanOptions::new(AS_OF.parse().unwrap())).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&render(&report, catalog, Format::Json).unwrap()).unwrap();
    for key in ["matrix", "capabilities", "coverage", "gaps"] {
        assert!(json.get(key).is_some(), "missing top-level {key}");
    }
    assert_eq!(json["coverage"]["controls"].as_array().unwrap().len(), 197);
    assert_eq!(json["matrix"].as_array().unwrap().len(), 3);
}
