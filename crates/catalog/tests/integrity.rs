//! Catalog integrity: the data is complete, consistent, traceable to the guideline, in our own
//! words, and the embedded CCM files match the shared reference copy.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;

use shieldwall_catalog::{Catalog, ControlKind, EMBEDDED_CCM_FILES, ServiceModel};
use shieldwall_core::Framework;

fn catalog() -> &'static Catalog {
    match Catalog::embedded() {
        Ok(c) => c,
        Err(e) => panic!("embedded catalog does not load: {e}"),
    }
}

#[test]
fn loads_without_problems() {
    assert!(
        catalog().problems().is_empty(),
        "{:#?}",
        catalog().problems()
    );
}

#[test]
fn ccm_counts_match_the_source() {
    let c = catalog();
    assert_eq!(c.controls(Framework::CcmV4_0_13).len(), 197);
    assert_eq!(c.controls(Framework::CcmV3_0_1).len(), 133);
    assert_eq!(c.controls(Framework::CcmV4_1_0).len(), 207);
    assert_eq!(c.domains(Framework::CcmV4_0_13).len(), 17);
    assert_eq!(c.domains(Framework::CcmV3_0_1).len(), 16);
    for fw in [Framework::CcmV4_0_13, Framework::CcmV3_0_1] {
        for d in c.domains(fw) {
            let n = c.controls(fw).iter().filter(|x| x.domain == d.code).count();
            assert_eq!(n, d.control_count, "{fw} domain {}", d.code);
        }
    }
}

#[test]
fn known_source_quirks_are_kept() {
    // The README of the CCM data names these; we show them as the source has them.
    let c = catalog();
    let dsp17 = c.control(&"ccm-4.0.13:DSP-17".parse().unwrap()).unwrap();
    assert_eq!(dsp17.ownership.get(ServiceModel::Saas).key(), "csc-owned");
    let iam04 = c.control(&"ccm-3.0.1:IAM-04".parse().unwrap()).unwrap();
    assert_eq!(iam04.ownership.get(ServiceModel::Iaas).key(), "unspecified");
}

#[test]
fn every_capability_links_v4_and_derives_v3() {
    let c = catalog();
    assert_eq!(c.capabilities().len(), 41);
    for cap in c.capabilities() {
        assert!(!cap.links.is_empty(), "{} has no links", cap.id);
        for link in &cap.links {
            assert_eq!(link.control.framework, Framework::CcmV4_0_13);
            assert!(
                link.why.split_whitespace().count() >= 5,
                "{}: thin rationale for {}",
                cap.id,
                link.control
            );
        }
        for d in &cap.derived {
            assert_eq!(d.control.framework, Framework::CcmV3_0_1);
            let via = c.control(&d.via).unwrap();
            assert!(via.mappings["ccm-3.0.1"].contains(&d.control.id));
        }
    }
    // Every technical control is reachable from some capability and vice versa.
    let kinds: Vec<_> = c
        .controls(Framework::CcmV4_0_13)
        .iter()
        .map(|x| c.control_kind(x))
        .collect();
    assert!(kinds.contains(&ControlKind::Process));
    assert!(kinds.contains(&ControlKind::ProviderOnly));
}

fn seed_text() -> Option<String> {
    let dir = shieldwall_testkit::shared_path("seed", "catalog integrity")?;
    let mut text = String::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.extension().is_some_and(|e| e == "txt") {
            text.push_str(&std::fs::read_to_string(&path).unwrap());
            text.push('\n');
        }
    }
    assert!(!text.is_empty(), "no .txt in {}", dir.display());
    Some(text)
}

/// Section numbers that open a heading line in the seed, e.g. `3.2.7.7 Cloud Log Audit`.
fn seed_sections(seed: &str) -> BTreeSet<String> {
    seed.lines()
        .filter_map(|line| {
            let first = line.split_whitespace().next()?;
            let body = first.strip_prefix("A.").unwrap_or(first);
            let is_number = body.contains('.')
                && body
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            let rest = line.trim_start().get(first.len()..)?.trim_start();
            let titled = rest
                .chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_uppercase());
            (is_number && titled).then(|| first.to_owned())
        })
        .collect()
}

#[test]
fn every_numbered_3_2_subsection_has_a_capability() {
    let Some(seed) = seed_text() else { return };
    let sections = seed_sections(&seed);
    let leaves: Vec<&String> = sections
        .iter()
        .filter(|s| s.starts_with("3.2."))
        .filter(|s| !sections.iter().any(|o| o.starts_with(&format!("{s}."))))
        .collect();
    assert_eq!(leaves.len(), 29, "3.2 leaves found in the seed: {leaves:?}");
    let c = catalog();
    for leaf in leaves {
        assert!(
            c.capabilities()
                .iter()
                .any(|cap| &cap.section == leaf && cap.parent.is_none()),
            "no capability for section {leaf}"
        );
    }
}

#[test]
fn every_cited_section_exists_in_the_guideline() {
    let Some(seed) = seed_text() else { return };
    let mut sections = seed_sections(&seed);
    // Chapter and top-level headings are not "n.n" lines; the catalog cites those as "2.6" etc.
    sections.extend(["1.2", "2.1", "2.6", "3.1", "3.3"].map(String::from));
    let c = catalog();
    let mut cited: Vec<(String, String)> = Vec::new();
    for cap in c.capabilities() {
        cited.push((cap.id.clone(), cap.section.clone()));
        cited.extend(cap.also.iter().map(|s| (cap.id.clone(), s.clone())));
    }
    for r in c.responsibilities() {
        cited.push((r.id.clone(), r.section.clone()));
        cited.extend(r.also.iter().map(|s| (r.id.clone(), s.clone())));
    }
    for a in c.areas() {
        cited.push((a.id.clone(), a.section.clone()));
    }
    for s in c.service_types() {
        cited.push((s.id.clone(), s.section.clone()));
    }
    for (id, section) in cited {
        assert!(
            sections.contains(&section),
            "{id} cites section {section}, which the guideline does not have"
        );
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn strings(value: &toml::Value, out: &mut Vec<String>) {
    match value {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        toml::Value::Table(t) => t.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// No catalog text repeats a run of this many consecutive words of the guideline.
const RUN: usize = 8;

#[test]
fn catalog_wording_is_our_own() {
    let Some(seed) = seed_text() else { return };
    let seed_words = words(&seed);
    let runs: BTreeSet<&[String]> = seed_words.windows(RUN).collect();
    let mut texts = Vec::new();
    for file in [
        shieldwall_catalog::GUIDELINE_TOML,
        shieldwall_catalog::CAPABILITIES_TOML,
    ] {
        strings(&toml::from_str(file).unwrap(), &mut texts);
    }
    let mut copied = Vec::new();
    for text in &texts {
        let w = words(text);
        for run in w.windows(RUN) {
            if runs.contains(run) {
                copied.push(run.join(" "));
            }
        }
    }
    assert!(
        copied.is_empty(),
        "catalog text copies the guideline: {copied:#?}"
    );
}

#[test]
fn the_copy_check_catches_a_copy() {
    // The check above must be able to fail: a sentence lifted from 2.2.1 is caught.
    let Some(seed) = seed_text() else { return };
    let seed_words = words(&seed);
    let runs: BTreeSet<&[String]> = seed_words.windows(RUN).collect();
    let lifted = words(
        "So the CSP is responsible for the security of infrastructure and basic resources in cloud data centers.",
    );
    assert!(lifted.windows(RUN).any(|r| runs.contains(r)));
}

#[test]
fn embedded_ccm_data_matches_the_shared_reference() {
    let Some(dir) = shieldwall_testkit::shared_path("data/ccm", "ccm drift") else {
        return;
    };
    for (name, embedded) in EMBEDDED_CCM_FILES {
        let shared = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            shared == embedded,
            "crates/catalog/data/ccm/{name} differs from shared/data/ccm/{name}: copy it again"
        );
    }
}

#[test]
fn embedded_attack_mapping_matches_the_shared_reference() {
    let Some(dir) = shieldwall_testkit::shared_path("data/attack", "attack mapping drift") else {
        return;
    };
    for (name, embedded) in shieldwall_catalog::attack::EMBEDDED_FILES {
        let shared = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(
            shared == embedded,
            "crates/catalog/data/attack/{name} differs from shared/data/attack/{name}: copy it again"
        );
    }
}
