//! Property tests: the parser never panics, errors point inside the query, the canonical form of
//! any tree parses back to that tree, and the stack stays small at the deepest nesting allowed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use shieldwall_query::{
    Bound, MAX_DEPTH, MAX_INTERVAL, MAX_QUERY_BYTES, MIN_INTERVAL, Pattern, PatternPiece, Query,
    parse, parse_interval, parse_time,
};

/// What must hold for any input: an error's column is within 1..=len+1 and it renders; a parsed
/// query prints to a form that parses back to it (when that form stays under the size limit:
/// escapes can lengthen it).
fn check_any(text: &str) -> Result<(), TestCaseError> {
    match parse(text) {
        Err(e) => {
            let len = text.chars().count();
            prop_assert!(
                (1..=len + 1).contains(&e.column),
                "column {} outside 1..={} for {text:?}",
                e.column,
                len + 1
            );
            prop_assert!(!e.message.is_empty());
            let rendered = e.render(text);
            prop_assert!(rendered.contains('^'));
        }
        Ok(q) => {
            let printed = q.to_string();
            if printed.len() <= MAX_QUERY_BYTES {
                let again = parse(&printed);
                prop_assert_eq!(
                    again.as_ref(),
                    Ok(&q),
                    "printed {:?} from {:?}",
                    printed,
                    text
                );
            }
            prop_assert_eq!(q.clone().normalise(), q);
        }
    }
    Ok(())
}

/// Pieces of query syntax, so random strings reach deep into the grammar.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "(",
        ")",
        "f:(",
        "user.name:",
        "NOT ",
        "-",
        "a",
        "b*",
        "?",
        " ",
        "  ",
        "\"",
        "\"x y\"",
        "[",
        "{",
        "]",
        "}",
        " TO ",
        "TO",
        "OR ",
        " OR ",
        "AND ",
        " AND ",
        "*",
        ":",
        "\\",
        "\\*",
        "\\u{41}",
        ">",
        ">=",
        "<",
        "=",
        "now-1h",
        "&&",
        "é",
        "\t",
        "\n",
        "x:",
        "1",
        "::",
    ])
}

fn token_soup(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..max).prop_map(|tokens| tokens.concat())
}

fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        3 => prop::sample::select(vec![
            '*', '?', '\\', ' ', '"', ':', '(', ')', '[', ']', '{', '}', '-', '>', '<', '=', '&',
            '|', '\t', '\n', '\r', '\u{0}', '\u{7f}', '\u{a0}', '\u{2028}', 'é', '中', 'A', 'N',
            'D', 'O', 'R', 'T',
        ]),
        1 => any::<char>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..8).prop_map(|chars| chars.into_iter().collect())
}

fn text_or_keyword() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text(),
        1 => prop::sample::select(vec![
            "AND", "OR", "NOT", "TO", "&&", "||", "*", "now-1h", "-x", "=5", ">5", "<", "",
        ])
        .prop_map(String::from),
    ]
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_][a-zA-Z0-9_.@-]{0,6}",
        1 => prop::sample::select(vec!["AND", "OR", "NOT", "TO", "x", "vendor.EventID"])
            .prop_map(String::from),
    ]
}

fn bound() -> impl Strategy<Value = Bound> {
    prop_oneof![
        Just(Bound::Unbounded),
        text_or_keyword().prop_map(Bound::Included),
        text_or_keyword().prop_map(Bound::Excluded),
    ]
}

/// Arbitrary text, and text shaped like times and intervals.
fn time_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "now[-+][0-9]{0,20}[smhdwy]?",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,12})?)?\
         ([Zz]|[+-][0-9]{2}:[0-9]{2})?)?",
        "[0-9]{0,20}[smhdw]",
    ]
}

fn leaf() -> impl Strategy<Value = Query> {
    let piece = prop_oneof![
        2 => text().prop_map(PatternPiece::Literal),
        1 => Just(PatternPiece::AnyOne),
        1 => Just(PatternPiece::AnyMany),
    ];
    prop_oneof![
        1 => Just(Query::All),
        4 => (prop::option::of(field()), text_or_keyword())
            .prop_map(|(field, value)| Query::Term { field, value }),
        2 => (prop::option::of(field()), text())
            .prop_map(|(field, text)| Query::Phrase { field, text }),
        2 => (prop::option::of(field()), prop::collection::vec(piece, 0..5))
            .prop_map(|(field, pieces)| Query::Wildcard { field, pattern: Pattern { pieces } }),
        2 => (field(), bound(), bound())
            .prop_map(|(field, lower, upper)| Query::Range { field, lower, upper }),
        1 => field().prop_map(|field| Query::Exists { field }),
    ]
}

fn tree() -> impl Strategy<Value = Query> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Query::And),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Query::Or),
            inner.prop_map(|q| Query::Not(Box::new(q))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn canonical_form_parses_back(q in tree()) {
        let q = q.normalise();
        let printed = q.to_string();
        prop_assert_eq!(parse(&printed), Ok(q.clone()), "printed {:?}", printed);
        prop_assert_eq!(q.clone().normalise(), q);
    }

    #[test]
    fn arbitrary_strings(text in any::<String>()) {
        check_any(&text)?;
    }

    #[test]
    fn tricky_strings(chars in prop::collection::vec(tricky_char(), 0..40)) {
        let text: String = chars.into_iter().collect();
        check_any(&text)?;
    }

    #[test]
    fn token_soups(text in token_soup(60)) {
        check_any(&text)?;
    }

    #[test]
    fn times_and_intervals_never_panic(text in time_text()) {
        let _ = parse_time(&text, jiff::Timestamp::UNIX_EPOCH);
        if let Ok(interval) = parse_interval(&text) {
            prop_assert!((MIN_INTERVAL..=MAX_INTERVAL).contains(&interval));
        }
    }

    #[test]
    fn deep_nesting(
        open in 0usize..3000,
        close in 0usize..3000,
        group in any::<bool>(),
        negate in any::<bool>(),
    ) {
        let prefix = match (group, negate) {
            (true, true) => "NOT f:(",
            (true, false) => "f:(",
            (false, true) => "-(",
            (false, false) => "(",
        };
        let mut text = String::new();
        for i in 0..open {
            text.push_str(if i == 0 { prefix } else if negate { "-(" } else { "(" });
        }
        text.push('a');
        text.push_str(&")".repeat(close));
        check_any(&text)?;
        if open > MAX_DEPTH {
            let e = parse(&text).unwrap_err();
            prop_assert!(e.message.contains("too deeply nested"), "{}", e);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn huge_inputs(text in token_soup(6000), pad in 0usize..20_000) {
        // Up to about 40 KB: both sides of the size limit.
        let text = format!("{text}{}", "a ".repeat(pad / 2));
        check_any(&text)?;
        if text.len() > MAX_QUERY_BYTES {
            prop_assert!(parse(&text).unwrap_err().message.contains("16 KiB"));
        }
    }
}

/// The deepest query allowed, in the costliest shape (every level a negated field group with an
/// OR), parses on a thread with a small stack: recursion is bounded by `MAX_DEPTH`.
#[test]
fn maximum_nesting_fits_a_small_stack() {
    let mut text = String::new();
    for _ in 0..MAX_DEPTH {
        text.push_str("x OR NOT f:(");
    }
    text.push('a');
    text.push_str(&")".repeat(MAX_DEPTH));
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let q = parse(&text).unwrap();
            let printed = q.to_string();
            assert_eq!(parse(&printed).unwrap(), q);
        })
        .unwrap();
    handle.join().unwrap();
}
