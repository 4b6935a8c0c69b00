//! The simple walk against the regex crate: same matches, same captures, same errors.

use proptest::prelude::*;
use proptest::strategy::ValueTree;

use super::*;
use regex::Regex;

/// The regex crate's named captures of the leftmost-first match, as [`UserRegex::captures`]
/// gives them.
fn reference<'a>(regex: &'a Regex, text: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
    let caps = regex.captures(text)?;
    Some(
        regex
            .capture_names()
            .flatten()
            .filter_map(|name| Some((name, caps.name(name)?.as_str())))
            .collect(),
    )
}

fn agree(pattern: &str, text: &str) {
    let ours = UserRegex::new(pattern);
    let theirs = Regex::new(pattern);
    match (&ours, &theirs) {
        (Ok(ours), Ok(theirs)) => {
            assert_eq!(
                ours.captures(text),
                reference(theirs, text),
                "pattern {pattern:?} (simple: {}) on {text:?}",
                ours.is_simple()
            );
            assert_eq!(
                ours.is_match(text),
                theirs.is_match(text),
                "{pattern:?} on {text:?}"
            );
        }
        (Err(_), Err(_)) => {}
        _ => panic!(
            "{pattern:?}: ours {:?}, regex {:?}",
            ours.as_ref().err(),
            theirs.as_ref().err()
        ),
    }
}

#[test]
fn log_shaped_patterns_take_the_simple_walk() {
    for pattern in [
        r"^LOGIN user=(?P<user>\S+) from (?P<ip>[0-9.]+) result=(?P<result>\w+)",
        r"Accepted (?P<method>\S+) for (?P<user>\S+) from (?P<ip>\S+) port (?P<port>\d+)",
        r#"^(?P<ip>[0-9a-f.:]+) - (?P<user>[^ ]+) \[(?P<time>[^\]]+)\] "(?P<req>[^"]*)" (?P<status>\d{3})"#,
        r"^(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})",
        r"(?i)^login (?P<user>\S+)$",
        r"^(?P<msg>.*)$",
        r"user=(?P<user>\w*)",
    ] {
        let regex = UserRegex::new(pattern).unwrap();
        assert!(regex.is_simple(), "{pattern}");
    }
}

#[test]
fn patterns_that_may_backtrack_keep_the_regex_engine() {
    for pattern in [
        r"^(?P<a>.*) (?P<b>\S+)$", // `.` includes the space that follows
        r"(?P<a>\S+) end",         // leading run: every position a start
        r"^(?P<a>\w+)(?P<b>\d+)",  // overlapping runs
        r"^(?P<a>xy|z)",           // alternation
        r"^(?P<a>\S+?) ",          // lazy
        r"^(?P<a>\S+)\b",          // word boundary
        r"^((?P<a>\d+)-)+",        // nested repetition
        r"^(?P<a>\d+)(?P<b>\s*)x", // a run that may be empty after a run
    ] {
        let regex = UserRegex::new(pattern).unwrap();
        assert!(!regex.is_simple(), "{pattern}");
    }
}

#[test]
fn examples_agree_with_the_regex_crate() {
    let cases = [
        (
            r"^LOGIN user=(?P<user>\S+) from (?P<ip>[0-9.]+) result=(?P<result>\w+)",
            "LOGIN user=bob from 10.0.0.1 result=ok",
        ),
        (
            r"^LOGIN user=(?P<user>\S+) from (?P<ip>[0-9.]+)",
            "LOGIN user= from 10.0.0.1",
        ),
        (r"user=(?P<user>\w*) ok", "x user=a user=bob ok"),
        (r"user=(?P<user>\w+)$", "user=a user=b"),
        (r"(?P<w>\w+)", "héllo wörld"),
        (r"a(?P<s>\s+)b", "a\u{a0}\u{2003}b"),
        (r"^(?P<d>\d{2,3})x", "1234x"),
        (r"^(?P<d>\d{2,3})x", "123x"),
        (r"^(?P<d>\d{2,3})$", "12\n"),
        (r"(?i)^ab(?P<c>C+)", "aBcCc"),
        (r"^(?P<m>.*)$", "one\ntwo"),
    ];
    for (pattern, text) in cases {
        agree(pattern, text);
    }
}

#[test]
fn bad_patterns_are_errors_with_a_reason() {
    assert!(
        UserRegex::new("(?P<a>x")
            .unwrap_err()
            .contains("unclosed group")
    );
    assert!(UserRegex::new(r"\w{10000}{10000}").is_err());
}

fn piece() -> impl Strategy<Value = String> {
    let atom = prop::sample::select(vec![
        "a",
        "ab",
        " ",
        "=",
        "x=",
        "é",
        "\u{a0}",
        ":",
        "-",
        r"\S",
        r"\d",
        r"\w",
        "[0-9.]",
        "[^ ]",
        "[^\"]",
        ".",
        "[a-z]",
        r"\s",
        "[é]",
        "[^é]",
        "(?-u:[a-z])",
    ]);
    let quantifier = prop::sample::select(vec!["", "", "+", "+", "*", "{2}", "{1,3}", "?", "+?"]);
    (atom, quantifier, 0u8..3).prop_map(|(atom, q, group)| {
        let body =
            if q.is_empty() || atom.chars().count() == 1 || atom.starts_with(['\\', '[', '(']) {
                format!("{atom}{q}")
            } else {
                format!("(?:{atom}){q}")
            };
        match group {
            0 => body,
            1 => format!("(?P<NAME>{body})"),
            _ => format!("({body})"),
        }
    })
}

fn pattern() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(piece(), 1..6),
    )
        .prop_map(|(insensitive, start, end, pieces)| {
            let mut out = String::new();
            if insensitive {
                out.push_str("(?i)");
            }
            if start {
                out.push('^');
            }
            for (i, p) in pieces.iter().enumerate() {
                out.push_str(&p.replace("NAME", &format!("g{i}")));
            }
            if end {
                out.push('$');
            }
            out
        })
}

fn haystack() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            'a', 'b', 'A', ' ', '=', 'x', '1', '2', '.', 'é', '\u{a0}', ':', '-', '"', '\n',
        ]),
        0..24,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

#[test]
fn the_generated_patterns_exercise_both_engines() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = pattern();
    let (mut simple, mut total) = (0, 0);
    for _ in 0..2000 {
        let pattern = strategy.new_tree(&mut runner).unwrap().current();
        if let Ok(regex) = UserRegex::new(&pattern) {
            total += 1;
            simple += usize::from(regex.is_simple());
        }
    }
    assert!(
        simple * 10 >= total && simple * 10 <= total * 9,
        "{simple} simple of {total}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn the_walk_agrees_with_the_regex_crate(pattern in pattern(), text in haystack()) {
        agree(&pattern, &text);
    }
}
