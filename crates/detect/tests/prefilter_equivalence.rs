//! The rule index's literal prefilter changes how many rules run, never what fires: with the
//! whole SigmaHQ corpus loaded, generated events fire the same rules with the prefilter on and
//! off. The events are built from the rules' own values (case changed, text around them,
//! numbers as JSON numbers, Unicode look-alikes), so that many of them fire something.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use shieldwall_detect::matcher::{TextMatch, ValueMatch};
use shieldwall_detect::{Prefilter, Rule, RuleIndex};

/// A value some entry of `rule` looks for, and the field it looks in (`None`: keywords).
fn wanted(rule: &Rule, pick: usize) -> Vec<(Option<String>, Vec<u8>)> {
    let mut out = Vec::new();
    for (_, groups) in &rule.detection.selections {
        for entries in groups {
            for entry in entries {
                for needle in entry.contains_set.iter().flat_map(|s| &s.needles) {
                    out.push((entry.field.clone(), needle.clone()));
                }
                for value in &entry.values {
                    if let ValueMatch::Regex(re) = value {
                        // A literal every match starts or ends with: often a match itself.
                        for literal in re.required.iter().flatten().take(2) {
                            out.push((entry.field.clone(), literal.clone()));
                        }
                    }
                    let ValueMatch::Text(text) = value else {
                        continue;
                    };
                    let bytes = match text {
                        TextMatch::Exact(b)
                        | TextMatch::Prefix(b)
                        | TextMatch::Suffix(b)
                        | TextMatch::Contains(b) => b.clone(),
                        TextMatch::Pattern { .. } | TextMatch::Anything => {
                            text.required_literal().unwrap_or_default()
                        }
                    };
                    out.push((entry.field.clone(), bytes));
                }
            }
        }
    }
    if out.is_empty() {
        return out;
    }
    // Rotate so that different picks start at different entries, and keep a handful.
    let start = pick % out.len();
    out.rotate_left(start);
    out.truncate(1 + pick % 6);
    out
}

/// How a wanted value is dressed up in the event.
#[derive(Debug, Clone)]
struct Dress {
    upper_mask: u64,
    before: String,
    after: String,
    as_number: bool,
}

fn dress() -> impl Strategy<Value = Dress> {
    (
        any::<u64>(),
        prop_oneof![
            Just(String::new()),
            "[a-z \\\\/.-]{1,6}",
            Just("\u{212A}".into())
        ],
        prop_oneof![
            Just(String::new()),
            "[a-z \\\\/.-]{1,6}",
            Just("\u{17F}".into())
        ],
        any::<bool>(),
    )
        .prop_map(|(upper_mask, before, after, as_number)| Dress {
            upper_mask,
            before,
            after,
            as_number,
        })
}

fn dressed(bytes: &[u8], dress: &Dress) -> Value {
    let text = String::from_utf8_lossy(bytes);
    if dress.as_number
        && let Ok(n) = text.parse::<u64>()
    {
        return json!(n);
    }
    let cased: String = text
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if dress.upper_mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    Value::String(format!("{}{cased}{}", dress.before, dress.after))
}

#[test]
fn prefilter_on_and_off_fire_the_same_rules() {
    let Some(root) = shieldwall_testkit::shared_path(
        "testdata/sigma",
        "prefilter_on_and_off_fire_the_same_rules",
    ) else {
        return;
    };
    let rules = common::corpus_rules(&root);
    assert!(rules.len() >= 3780, "{} rules", rules.len());
    let on = RuleIndex::new(rules.clone(), Prefilter::On).unwrap();
    let off = RuleIndex::new(rules.clone(), Prefilter::Off).unwrap();
    let count = rules.len();
    let strategy = proptest::collection::vec((0..count, any::<usize>(), dress()), 1..4);
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    let fired_events = std::cell::Cell::new(0u32);
    let fired_total = std::cell::Cell::new(0usize);
    runner
        .run(&strategy, |picks| {
            let mut event = Map::new();
            for (n, (rule, pick, dress)) in picks.iter().enumerate() {
                for (field, bytes) in wanted(&rules[*rule], *pick) {
                    let field = field.unwrap_or_else(|| format!("text{n}"));
                    event.insert(field, dressed(&bytes, dress));
                }
            }
            let event = Value::Object(event);
            let fired = on.fired(None, &event);
            prop_assert_eq!(&fired, &off.fired(None, &event), "event {}", event);
            fired_events.set(fired_events.get() + u32::from(!fired.is_empty()));
            fired_total.set(fired_total.get() + fired.len());
            Ok(())
        })
        .unwrap();
    let (fired_events, fired_total) = (fired_events.get(), fired_total.get());
    eprintln!("{fired_events} of 300 generated events fired {fired_total} rule matches");
    assert!(
        fired_events >= 60,
        "only {fired_events} of 300 events fired anything: the comparison says little"
    );
}
