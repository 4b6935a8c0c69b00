//! Replays the `sigma_rule` fuzz target's seed corpus (`fuzz/seeds/sigma_rule`, committed) and,
//! when present, its local corpus (`fuzz/corpus/sigma_rule`) through the same invariants as the
//! fuzz target, so every input a fuzzer once found interesting stays covered by the tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use shieldwall_detect::{Filter, Pipeline, Rule, RuleSettings};

#[test]
fn sigma_rule_seeds_load_or_fail_with_a_reason_and_evaluate() {
    let pipeline = Pipeline::windows().unwrap();
    let events = [
        serde_json::json!({}),
        serde_json::json!({"Image": "C:\\x\\cmd.exe", "EventID": 1, "n": 1.5, "l": ["a", 2, null]}),
        serde_json::json!({"Event": {"System": {"Channel": "Security", "EventID": 4624}, "EventData": {"a b": "c"}}}),
    ];
    let mut loaded = 0;
    for (path, data) in shieldwall_testkit::fuzz_inputs("sigma_rule") {
        let text = String::from_utf8_lossy(&data);
        let _ = shieldwall_detect::condition::parse(&text);
        if let Err(e) = Filter::parse(Path::new("fuzz.yml"), &text, &RuleSettings::default()) {
            assert!(!e.reason.is_empty(), "{}", path.display());
            assert!(e.line <= line_breaks(&text) + 1, "{}: {e}", path.display());
        }
        match Rule::parse(Path::new("fuzz.yml"), &text, &RuleSettings::default()) {
            Err(e) => {
                assert!(!e.reason.is_empty(), "{}", path.display());
                assert!(e.line <= line_breaks(&text) + 1, "{}: {e}", path.display());
            }
            Ok(rule) => {
                loaded += 1;
                for event in &events {
                    let _ = rule.matches(event);
                    let _ = rule.matches(&pipeline.view(event));
                }
            }
        }
    }
    assert!(loaded >= 4, "the committed seeds are rules that load");
}

/// Line breaks as YAML counts them: `\r\n`, `\n`, and a `\r` alone.
fn line_breaks(text: &str) -> usize {
    text.replace("\r\n", "\n").matches(['\n', '\r']).count()
}

#[test]
fn correlation_rule_seeds_load_or_fail_with_a_reason_and_run() {
    use std::path::PathBuf;
    use std::sync::Arc;

    use shieldwall_detect::correlation::{CorrelationLimits, CorrelationRule, Observation};
    use shieldwall_detect::{CorrelationSet, Correlator};

    let detection = |name: &str| {
        Rule::parse(
            Path::new(name),
            &format!("title: {name}\nname: {name}\nlogsource: {{product: x}}\ndetection:\n  s: {{k: {name}}}\n  condition: s\n"),
            &RuleSettings::default(),
        )
        .unwrap()
    };
    let events = [
        serde_json::json!({"host": "h", "user": "u", "n": 5}),
        serde_json::json!({"host": "h", "user": "v", "n": "7.5"}),
        serde_json::json!({"host": ["x"], "user": null}),
    ];
    let (mut loaded, mut failed) = (0, 0);
    for (path, data) in shieldwall_testkit::fuzz_inputs("correlation_rule") {
        let text = String::from_utf8_lossy(&data);
        let mut rules = Vec::new();
        for (offset, document) in shieldwall_detect::ruleset::documents(&text) {
            match CorrelationRule::parse(Path::new("fuzz.yml"), document) {
                Err(e) => {
                    failed += 1;
                    assert!(!e.reason.is_empty(), "{}", path.display());
                    assert!(
                        offset + e.line <= line_breaks(&text) + 1,
                        "{}: {e}",
                        path.display()
                    );
                }
                Ok(rule) => rules.push((PathBuf::from("fuzz.yml"), rule)),
            }
        }
        if rules.is_empty() {
            continue;
        }
        loaded += rules.len();
        let (set, _) = CorrelationSet::new(&[detection("a"), detection("b")], rules);
        let mut correlator = Correlator::new(Arc::new(set), CorrelationLimits::default());
        for (i, seconds) in [10i64, 5, 200, 7, 400, 400].into_iter().enumerate() {
            let fired = [i % 2, (i + 1) % 3];
            let _ = correlator.observe(&Observation {
                time: jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap(),
                received: None,
                event: i as u128,
                fired: &fired,
                fields: &events[i % events.len()],
            });
        }
        let _ = correlator.flush();
    }
    assert!(
        loaded >= 5 && failed >= 1,
        "the committed seeds load, and one fails: {loaded} {failed}"
    );
}
