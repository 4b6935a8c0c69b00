//! SigmaHQ's regression data (`../shared/testdata/sigma/regression_data`): Windows events as JSON,
//! each sample with the rule it must fire and how many of its events that rule matches. With the
//! whole corpus loaded and the Windows pipeline deciding which rules run on an event, the
//! expected rule fires for at least 201 of the 202 samples; the test also reports where it fires
//! on more or fewer events than recorded, and every other rule that fires on them
//! (over-matching is a defect too).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use shieldwall_detect::{Pipeline, Prefilter, Rule, RuleIndex, RuleSettings};

/// Samples whose expected rule must fire (raise when support grows).
const EXPECTED_AT_LEAST: usize = 202;

fn files_named(root: &Path, pick: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if pick(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// One JSON value, or several written one after the other.
fn objects(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|v| v.unwrap())
        .collect()
}

#[derive(Debug, serde::Deserialize)]
struct Info {
    rule_metadata: Vec<RuleMeta>,
    #[serde(default)]
    regression_tests_info: Vec<TestInfo>,
}

#[derive(Debug, serde::Deserialize)]
struct RuleMeta {
    id: String,
}

#[derive(Debug, serde::Deserialize)]
struct TestInfo {
    #[serde(rename = "type")]
    kind: String,
    /// When missing: at least one.
    #[serde(default)]
    match_count: Option<usize>,
    path: String,
}

#[test]
fn regression_samples_fire_their_rules() {
    let Some(root) =
        shieldwall_testkit::shared_path("testdata/sigma", "regression_samples_fire_their_rules")
    else {
        return;
    };
    let settings = RuleSettings::default();
    let rules: Vec<Rule> = files_named(&root, &|p| {
        p.extension().is_some_and(|x| x == "yml")
            && p.components().any(|c| {
                c.as_os_str()
                    .to_str()
                    .is_some_and(|s| s.starts_with("rules"))
            })
            && !p.components().any(|c| c.as_os_str() == "regression_data")
    })
    .iter()
    .filter_map(|f| Rule::load(f, &settings).ok())
    .collect();
    let index = RuleIndex::new(rules.clone(), Prefilter::On).unwrap();
    let unfiltered = RuleIndex::new(rules.clone(), Prefilter::Off).unwrap();
    let by_id: BTreeMap<&str, &Rule> = rules
        .iter()
        .filter_map(|r| r.id.as_deref().map(|id| (id, r)))
        .collect();
    let pipeline = Pipeline::windows().unwrap();
    let (mut evaluated, mut covered, mut events_seen) = (0, 0, 0);

    let infos = files_named(&root.join("regression_data"), &|p| {
        p.file_name().is_some_and(|n| n == "info.yml")
    });
    let mut samples = 0;
    let mut as_expected = 0;
    let mut problems = Vec::new();
    let mut others: BTreeMap<String, usize> = BTreeMap::new();
    for info_path in &infos {
        let info: Info =
            serde_saphyr::from_str(&std::fs::read_to_string(info_path).unwrap()).unwrap();
        let Some(expected) = info.rule_metadata.first().map(|m| m.id.as_str()) else {
            continue;
        };
        for test in &info.regression_tests_info {
            if test.kind != "evtx" {
                continue;
            }
            samples += 1;
            let json = root.join(&test.path).with_extension("json");
            let events = objects(&std::fs::read_to_string(&json).unwrap());
            let Some(rule) = by_id.get(expected) else {
                problems.push(format!("{}: rule {expected} did not load", json.display()));
                continue;
            };
            let mut fired = 0;
            for event in &events {
                let (hits, stats) = index.fired_with_stats(Some(&pipeline), event);
                assert_eq!(
                    hits,
                    unfiltered.fired(Some(&pipeline), event),
                    "{}: the prefilter changed what fires",
                    json.display()
                );
                events_seen += 1;
                evaluated += stats.evaluated;
                covered += stats.covered;
                for hit in hits {
                    let other = &rules[hit];
                    if other.id.as_deref() == Some(expected) {
                        fired += 1;
                    } else {
                        *others.entry(other.title.clone()).or_default() += 1;
                    }
                }
            }
            if fired > 0 {
                as_expected += 1;
            }
            if test.match_count.map_or(fired == 0, |n| fired != n) {
                problems.push(format!(
                    "{}: `{}` fired on {fired} of {} events, expected {}",
                    json.display(),
                    rule.title,
                    events.len(),
                    test.match_count.map_or("some".into(), |n| n.to_string())
                ));
            }
        }
    }
    eprintln!(
        "{as_expected} of {samples} samples fire their rule; where the count differs from the recorded one:"
    );
    for p in &problems {
        eprintln!("    {p}");
    }
    eprintln!(
        "other rules fired {} times on these samples ({} rules):",
        others.values().sum::<usize>(),
        others.len()
    );
    for (title, n) in &others {
        eprintln!("    {n:4}  {title}");
    }
    eprintln!(
        "per event, {:.1} rules had its logsource and {:.1} were evaluated (prefilter: {} literals, {} rules always evaluated)",
        covered as f64 / events_seen as f64,
        evaluated as f64 / events_seen as f64,
        index.literal_count(),
        index.unfiltered_count()
    );
    assert!(samples >= 202, "{samples} samples");
    assert!(
        as_expected >= EXPECTED_AT_LEAST,
        "{as_expected} samples as expected, fewer than the {EXPECTED_AT_LEAST} recorded"
    );
}
