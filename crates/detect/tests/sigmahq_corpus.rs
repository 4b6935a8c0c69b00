//! The SigmaHQ corpus (`../shared/testdata/sigma/rules*`, 3,780 rules): every rule loads, or is
//! listed with its reason; the run fails when fewer load than the figure recorded here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::{rule_files, settings};
use shieldwall_detect::Rule;

/// Rules of the corpus that load (raise it when support grows; never lower it silently).
const LOADED_AT_LEAST: usize = 3780;

#[test]
fn every_sigmahq_rule_loads() {
    let Some(root) = shieldwall_testkit::shared_path("testdata/sigma", "every_sigmahq_rule_loads")
    else {
        return;
    };
    let files = rule_files(&root);
    assert!(files.len() >= 3780, "{} rule files", files.len());
    let settings = settings();
    let mut loaded = 0;
    let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        match Rule::load(file, &settings) {
            Ok(_) => loaded += 1,
            Err(e) => {
                // Group by the reason without the value-specific part after the first `: `.
                let kind = e.reason.split(": ").last().unwrap_or("").to_owned();
                reasons.entry(kind).or_default().push(e.to_string());
            }
        }
    }
    eprintln!("{loaded} of {} SigmaHQ rules load", files.len());
    for (kind, errors) in &reasons {
        eprintln!("{} rule(s): {kind}", errors.len());
        for e in errors.iter().take(3) {
            eprintln!("    {e}");
        }
    }
    assert!(
        loaded >= LOADED_AT_LEAST,
        "{loaded} rules load, fewer than the {LOADED_AT_LEAST} recorded"
    );
}
