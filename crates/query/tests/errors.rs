//! Every error the parser reports, with its exact column and message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use shieldwall_query::{MAX_DEPTH, MAX_QUERY_BYTES, parse};

/// `text` fails at `column` with a message containing `fragment`.
#[track_caller]
fn fails(text: &str, column: usize, fragment: &str) {
    match parse(text) {
        Ok(q) => panic!("{text:?} parsed to {q:?}"),
        Err(e) => {
            assert_eq!(e.column, column, "{text:?}: {e}");
            assert!(e.message.contains(fragment), "{text:?}: {e}");
        }
    }
}

#[test]
fn unclosed_quotes_point_at_the_opening_quote() {
    fails("\"abc", 1, "unclosed quote");
    fails("user.name:\"root", 11, "unclosed quote");
    fails("a \"b\\\"", 3, "unclosed quote");
    fails("a \"b\\", 3, "unclosed quote");
    fails("x:[1 TO \"2]", 9, "unclosed quote");
    fails("x:>\"5", 4, "unclosed quote");
    // Columns count characters, not bytes.
    fails("日本 \"x", 4, "unclosed quote");
}

#[test]
fn parentheses() {
    fails("(a", 1, "unclosed parenthesis");
    fails("(", 1, "unclosed parenthesis");
    fails("( ", 1, "unclosed parenthesis");
    fails("((a)", 1, "unclosed parenthesis");
    fails("a (b (c)", 3, "unclosed parenthesis");
    fails("f:(a OR b", 3, "unclosed parenthesis");
    fails("a)", 2, "unbalanced `)`");
    fails(")", 1, "unbalanced `)`");
    fails("(a))", 4, "unbalanced `)`");
    fails("()", 1, "empty parentheses");
    fails("a ( ) b", 3, "empty parentheses");
    fails("f:()", 3, "empty group: `f:()` has no value");
    fails("f:( )", 3, "empty group");
    fails("f:(a ())", 6, "empty group: `f:()`");
}

#[test]
fn nesting_is_limited() {
    let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(parse(&ok).is_ok());
    let deep = format!(
        "{}a{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    fails(&deep, MAX_DEPTH + 1, "too deeply nested: at most 64 levels");
    let groups = format!("f:{}", "(".repeat(10_000));
    fails(&groups, 2 + MAX_DEPTH + 1, "too deeply nested");
    let mixed = format!("a AND (b OR f:(c {}", "(".repeat(MAX_DEPTH));
    fails(&mixed, 18 + MAX_DEPTH - 2, "too deeply nested");
}

#[test]
fn size_is_limited() {
    let long = "a".repeat(MAX_QUERY_BYTES + 1);
    fails(&long, MAX_QUERY_BYTES + 1, "the limit is 16384 bytes");
    // Counted in bytes, reported in characters: the first character past the limit.
    let wide = "é".repeat(MAX_QUERY_BYTES / 2 + 1);
    fails(&wide, MAX_QUERY_BYTES / 2 + 1, "16 KiB");
    assert!(parse(&"a".repeat(MAX_QUERY_BYTES)).is_ok());
}

#[test]
fn field_values() {
    fails("user.name:", 11, "missing value after `user.name:`");
    fails("user.name: root", 11, "no space is allowed after the colon");
    fails("(user.name:)", 12, "missing value after `user.name:`");
    fails("x:]", 3, "missing value after `x:`");
    fails("10.0.0.1:22", 1, "`10.0.0.1` is not a field name");
    fails("a 1x:y", 3, "`1x` is not a field name");
    fails("+user:root", 1, "`+user` is not a field name");
    fails("a\\ b:c", 1, "`a b` is not a field name");
    fails("x (é:1)", 4, "`é` is not a field name");
    fails(":x", 1, "`:` must come directly after a field name");
    fails(
        "user.name :root",
        11,
        "`:` must come directly after a field name",
    );
}

#[test]
fn dangling_operators() {
    fails("AND a", 1, "`AND` has no clause before it");
    fails("OR a", 1, "`OR` has no clause before it");
    fails("(AND a)", 2, "`AND` has no clause before it");
    fails("-AND a", 2, "`AND` has no clause before it");
    fails("f:(OR a)", 4, "`OR` has no clause before it");
    fails("a AND", 3, "`AND` has nothing after it");
    fails("a OR", 3, "`OR` has nothing after it");
    fails("NOT", 1, "`NOT` has nothing after it");
    fails("a NOT", 3, "`NOT` has nothing after it");
    fails("(a AND)", 4, "`AND` has nothing after it before `)`");
    fails("(NOT )", 2, "`NOT` has nothing after it before `)`");
    fails(
        "a AND OR b",
        3,
        "`AND` is followed by `OR`: a clause must come between them",
    );
    fails("a OR AND b", 3, "`OR` is followed by `AND`");
    fails("a OR OR b", 3, "`OR` is followed by `OR`");
    fails("NOT AND a", 1, "`NOT` is followed by `AND`");
    fails(
        "a - b",
        3,
        "`-` must be directly followed by the clause it excludes",
    );
    fails("a -", 3, "`-` must be directly followed");
    fails("(a -)", 4, "`-` must be directly followed");
    fails("a && b", 3, "`&&` is not an operator: write `AND`");
    fails("a || b", 3, "`||` is not an operator: write `OR`");
}

#[test]
fn ranges() {
    fails(
        "[1 TO 2]",
        1,
        "a range needs a field: write `field:[a TO b]`",
    );
    fails(
        "{1 TO 2}",
        1,
        "a range needs a field: write `field:{a TO b}`",
    );
    fails("a]", 2, "unexpected `]`: no range is open");
    fails("x:1}", 4, "unexpected `}`");
    fails("x:[TO 5]", 4, "missing lower bound before `TO`");
    fails("x:[]", 4, "missing lower bound");
    fails("x:[1 TO ]", 9, "missing upper bound");
    fails("x:[1 TO}", 8, "missing upper bound");
    fails("x:[", 3, "unclosed range");
    fails("x:[1", 3, "unclosed range");
    fails("x:[1 TO", 3, "unclosed range");
    fails("x:[1 TO 5", 3, "unclosed range");
    fails("x:[1 5]", 6, "expected `TO` after the lower bound");
    fails("x:[1 TO5]", 6, "expected `TO` after the lower bound");
    fails(
        "x:[1 to 5]",
        6,
        "expected `TO` between the bounds (in upper case)",
    );
    fails("x:[1 TO 5 6]", 11, "expected `]` or `}` to close the range");
    fails("x:[(1 TO 2]", 4, "unexpected `(` in a range");
    fails("x:[1 TO (2]", 9, "unexpected `(` in a range");
    fails(
        "x:[1* TO 2]",
        4,
        "wildcards are not allowed in a range bound",
    );
    fails(
        "x:[1 TO ?]",
        9,
        "wildcards are not allowed in a range bound",
    );
}

#[test]
fn comparisons() {
    fails("x:>", 4, "missing value after `>`");
    fails("x:>=", 5, "missing value after `>=`");
    fails(
        "x:< 5",
        4,
        "missing value after `<`: no space is allowed after it",
    );
    fails("x:<=(1)", 5, "expected a value after `<=`, found `(`");
    fails("x:>[1 TO 2]", 4, "found `[`");
    fails("x:>*", 4, "`*` is not a value to compare with");
    fails("x:>a*", 4, "wildcards are not allowed in a comparison");
    fails("f:(a OR >)", 10, "missing value after `>`");
}

#[test]
fn escapes() {
    fails("a\\", 2, "a `\\` at the end of the query escapes nothing");
    fails("x:a\\", 4, "escapes nothing");
    fails("a\\x", 2, "unknown escape `\\x`");
    fails("\"C:\\Windows\"", 4, "unknown escape `\\W`");
    fails("a\\\nb", 2, "unknown escape `\\` followed by U+000A");
    fails("a\\é", 2, "unknown escape `\\é`");
    fails("\\u{110000}", 1, "invalid `\\u` escape");
    fails("\\u{d800}", 1, "invalid `\\u` escape");
    fails("x \\u41", 3, "invalid `\\u` escape");
    fails("\\u{}", 1, "invalid `\\u` escape");
    fails("\\u{1234567}", 1, "invalid `\\u` escape");
    fails("\\u{12", 1, "invalid `\\u` escape");
    fails("\"\\u{zz}\"", 2, "invalid `\\u` escape");
}

#[test]
fn display_and_render() {
    let text = "user.name:\"root";
    let e = parse(text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "column 11: unclosed quote: no `\"` closes this phrase"
    );
    assert_eq!(
        e.render(text),
        "user.name:\"root\n          ^ unclosed quote: no `\"` closes this phrase"
    );
    let text = "status:failure AND";
    let e = parse(text).unwrap_err();
    assert_eq!(
        e.render(text),
        "status:failure AND\n               ^ `AND` has nothing after it"
    );
}
