//! Fuzzes Sigma rule and filter loading and matching: any text loads or fails with a reason (and a line
//! inside the text when it names one), never panicking; a rule that loads is evaluated against
//! events of several shapes, directly and through the Windows pipeline, without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shieldwall_detect::{Filter, Pipeline, Rule, RuleSettings};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = shieldwall_detect::condition::parse(&text);
    if let Err(e) = Filter::parse(
        std::path::Path::new("fuzz.yml"),
        &text,
        &RuleSettings::default(),
    ) {
        assert!(!e.reason.is_empty());
        assert!(e.line <= line_breaks(&text) + 1, "{e}");
    }
    match Rule::parse(
        std::path::Path::new("fuzz.yml"),
        &text,
        &RuleSettings::default(),
    ) {
        Err(e) => {
            assert!(!e.reason.is_empty());
            assert!(e.line <= line_breaks(&text) + 1, "{e}");
        }
        Ok(rule) => {
            let events = [
                serde_json::json!({}),
                serde_json::json!({"Image": "C:\\x\\cmd.exe", "EventID": 1, "n": 1.5, "l": ["a", 2, null]}),
                serde_json::json!({"Event": {"System": {"Channel": "Security", "EventID": 4624}, "EventData": {"a b": "c"}}}),
            ];
            let pipeline = Pipeline::windows().ok();
            for event in &events {
                let _ = rule.matches(event);
                if let Some(p) = &pipeline {
                    let _ = rule.matches(&p.view(event));
                }
            }
        }
    }
});

/// Line breaks as YAML counts them: `\r\n`, `\n`, and a `\r` alone.
fn line_breaks(text: &str) -> usize {
    text.replace("\r\n", "\n").matches(['\n', '\r']).count()
}
