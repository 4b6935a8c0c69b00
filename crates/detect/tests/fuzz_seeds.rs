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
