//! Property tests: no input makes the rule parser or the matcher panic, and wildcard matching
//! agrees with a plain reference matcher.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use proptest::prelude::*;
use serde_json::json;
use shieldwall_detect::{Rule, RuleSettings};

/// The reference: `*` any run of characters, `?` one character, case-insensitive (ASCII), over
/// characters, by plain recursion.
fn glob(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|i| glob(rest, text.get(i..).unwrap_or(&[]))),
        Some(('?', rest)) => !text.is_empty() && glob(rest, text.get(1..).unwrap_or(&[])),
        Some((c, rest)) => text
            .split_first()
            .is_some_and(|(t, more)| c.eq_ignore_ascii_case(t) && glob(rest, more)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn conditions_never_panic(text in "[a-z_*() 0-9|]{0,60}|(not |and |or |1 of |all of |them |sel |\\( |\\) ){0,20}") {
        let _ = shieldwall_detect::condition::parse(&text);
    }

    #[test]
    fn rules_never_panic(detection in "[ a-zA-Z_:|*?\\\\'\\-\\n0-9.%/\\[\\]{}]{0,120}") {
        let text = format!("title: t\nlogsource:\n    product: x\ndetection:\n{detection}\n");
        if let Ok(rule) = Rule::parse(Path::new("p.yml"), &text, &RuleSettings::default()) {
            let _ = rule.matches(&json!({"a": "b", "n": 1, "l": ["x", 2]}));
        }
    }

    #[test]
    fn wildcards_agree_with_the_reference(
        pattern in "[ab*?]{0,8}",
        text in "[abAB]{0,10}",
    ) {
        let yaml = format!(
            "title: t\nlogsource:\n    product: x\ndetection:\n    s:\n        f: '{pattern}'\n    condition: s\n"
        );
        let rule = Rule::parse(Path::new("p.yml"), &yaml, &RuleSettings::default()).unwrap();
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        prop_assert_eq!(rule.matches(&json!({ "f": text })), glob(&p, &t), "{} on {}", pattern, text);
    }
}
