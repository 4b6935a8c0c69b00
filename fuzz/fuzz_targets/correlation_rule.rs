//! Fuzzes correlation rule files: the text is split into YAML documents; each loads as a
//! correlation rule or fails with a reason and a line inside the text, never panicking; the
//! rules that load are resolved against two detection rules and run over a short stream with
//! events out of order, without panicking.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use shieldwall_detect::correlation::{CorrelationLimits, CorrelationRule, Observation};
use shieldwall_detect::{CorrelationSet, Correlator, Rule, RuleSettings};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut loaded = Vec::new();
    for (offset, document) in shieldwall_detect::ruleset::documents(&text) {
        match CorrelationRule::parse(Path::new("fuzz.yml"), document) {
            Err(e) => {
                assert!(!e.reason.is_empty());
                assert!(offset + e.line <= line_breaks(&text) + 1, "{e}");
            }
            Ok(rule) => loaded.push((PathBuf::from("fuzz.yml"), rule)),
        }
    }
    if loaded.is_empty() {
        return;
    }
    let detection = |name: &str| {
        Rule::parse(
            Path::new(name),
            &format!("title: {name}\nname: {name}\nlogsource: {{product: x}}\ndetection:\n  s: {{k: {name}}}\n  condition: s\n"),
            &RuleSettings::default(),
        )
    };
    let (Ok(a), Ok(b)) = (detection("a"), detection("b")) else {
        return;
    };
    let (set, _) = CorrelationSet::new(&[a, b], loaded);
    let mut correlator = Correlator::new(Arc::new(set), CorrelationLimits::default());
    let events = [
        serde_json::json!({"host": "h", "user": "u", "n": 5}),
        serde_json::json!({"host": "h", "user": "v", "n": "7.5"}),
        serde_json::json!({"host": ["x"], "user": null}),
    ];
    for (i, seconds) in [10i64, 5, 200, 7, 400, 400].into_iter().enumerate() {
        let Ok(time) = jiff::Timestamp::from_second(1_800_000_000 + seconds) else {
            continue;
        };
        let fired = [i % 2, (i + 1) % 3];
        let _ = correlator.observe(&Observation {
            time,
            received: None,
            event: i as u128,
            fired: &fired,
            fields: &events[i % events.len()],
        });
    }
    let _ = correlator.flush();
    let _ = correlator.stats();
});

/// Line breaks as YAML counts them: `\r\n`, `\n`, and a `\r` alone.
fn line_breaks(text: &str) -> usize {
    text.replace("\r\n", "\n").matches(['\n', '\r']).count()
}
