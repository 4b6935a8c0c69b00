//! Every construct of the query language: the tree it parses to and the canonical form it prints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use shieldwall_query::{Bound, Pattern, PatternPiece, Query, parse};

fn term(field: &str, value: &str) -> Query {
    Query::Term {
        field: Some(field.into()),
        value: value.into(),
    }
}

fn word(value: &str) -> Query {
    Query::Term {
        field: None,
        value: value.into(),
    }
}

fn phrase(field: Option<&str>, text: &str) -> Query {
    Query::Phrase {
        field: field.map(Into::into),
        text: text.into(),
    }
}

fn wildcard(field: Option<&str>, pieces: Vec<PatternPiece>) -> Query {
    Query::Wildcard {
        field: field.map(Into::into),
        pattern: Pattern { pieces },
    }
}

fn lit(s: &str) -> PatternPiece {
    PatternPiece::Literal(s.into())
}

fn range(field: &str, lower: Bound, upper: Bound) -> Query {
    Query::Range {
        field: field.into(),
        lower,
        upper,
    }
}

fn inc(s: &str) -> Bound {
    Bound::Included(s.into())
}

fn exc(s: &str) -> Bound {
    Bound::Excluded(s.into())
}

fn not(q: Query) -> Query {
    Query::Not(Box::new(q))
}

fn exists(field: &str) -> Query {
    Query::Exists {
        field: field.into(),
    }
}

/// `text` parses to `expected`, prints as `canonical`, and the canonical form parses back.
#[track_caller]
fn check(text: &str, expected: Query, canonical: &str) {
    let q = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(q, expected, "{text:?}");
    assert_eq!(q.to_string(), canonical, "{text:?}");
    assert_eq!(parse(canonical).unwrap(), q, "{canonical:?}");
}

#[test]
fn match_all() {
    check("", Query::All, "*");
    check("   \t\n", Query::All, "*");
    check("*", Query::All, "*");
    check(" * ", Query::All, "*");
    check("**", Query::All, "*");
    check("* AND *", Query::All, "*");
    check("NOT *", not(Query::All), "NOT *");
}

#[test]
fn field_values() {
    check(
        "user.name:root",
        term("user.name", "root"),
        "user.name:root",
    );
    check(
        "src_endpoint.ip:203.0.113.7",
        term("src_endpoint.ip", "203.0.113.7"),
        "src_endpoint.ip:203.0.113.7",
    );
    check(
        "vendor.EventID:4625",
        term("vendor.EventID", "4625"),
        "vendor.EventID:4625",
    );
    check(
        "sd.origin@32473.ip:10.0.0.1",
        term("sd.origin@32473.ip", "10.0.0.1"),
        "sd.origin@32473.ip:10.0.0.1",
    );
    check("_x-y:1", term("_x-y", "1"), "_x-y:1");
    // A value may contain `:` (addresses, times) and start with `-`.
    check(
        "src_endpoint.ip:fe80::1",
        term("src_endpoint.ip", "fe80::1"),
        "src_endpoint.ip:fe80::1",
    );
    check("delta:-5", term("delta", "-5"), "delta:-5");
    check(
        "target:user:root",
        term("target", "user:root"),
        "target:user:root",
    );
    // Keywords after `field:` are values.
    check("x:AND", term("x", "AND"), "x:AND");
    check("x:NOT", term("x", "NOT"), "x:NOT");
    // Case is kept.
    check(
        "User.Name:Root",
        term("User.Name", "Root"),
        "User.Name:Root",
    );
    // Lower-case operators are words.
    check(
        "a and b",
        Query::And(vec![word("a"), word("and"), word("b")]),
        "a AND and AND b",
    );
}

#[test]
fn bare_words_and_phrases() {
    check("mimikatz", word("mimikatz"), "mimikatz");
    check("web-01", word("web-01"), "web-01");
    check(
        "\"failed password\"",
        phrase(None, "failed password"),
        "\"failed password\"",
    );
    check(
        "message:\"Failed password for root\"",
        phrase(Some("message"), "Failed password for root"),
        "message:\"Failed password for root\"",
    );
    check(
        "user.name:\"\"",
        phrase(Some("user.name"), ""),
        "user.name:\"\"",
    );
    check("\"a*b?\"", phrase(None, "a*b?"), "\"a*b?\"");
    check(
        "\"say \\\"hi\\\" \\\\ back\"",
        phrase(None, "say \"hi\" \\ back"),
        "\"say \\\"hi\\\" \\\\ back\"",
    );
    check(
        "\"two\nlines\"",
        phrase(None, "two\nlines"),
        "\"two\\nlines\"",
    );
    check("\"é ü 中\"", phrase(None, "é ü 中"), "\"é ü 中\"");
    check("<script>", word("<script>"), "<script>");
}

#[test]
fn wildcards() {
    check(
        "user.name:adm*",
        wildcard(Some("user.name"), vec![lit("adm"), PatternPiece::AnyMany]),
        "user.name:adm*",
    );
    check(
        "host:web-?1",
        wildcard(
            Some("host"),
            vec![lit("web-"), PatternPiece::AnyOne, lit("1")],
        ),
        "host:web-?1",
    );
    check(
        "*shadow*",
        wildcard(
            None,
            vec![PatternPiece::AnyMany, lit("shadow"), PatternPiece::AnyMany],
        ),
        "*shadow*",
    );
    check(
        "file:/etc/*/passwd**",
        wildcard(
            Some("file"),
            vec![
                lit("/etc/"),
                PatternPiece::AnyMany,
                lit("/passwd"),
                PatternPiece::AnyMany,
            ],
        ),
        "file:/etc/*/passwd*",
    );
    // Escaped wildcard characters are literal: in a pattern...
    check(
        "x:a\\*b*",
        wildcard(Some("x"), vec![lit("a*b"), PatternPiece::AnyMany]),
        "x:a\\*b*",
    );
    // ...and a value with only escaped ones is a term.
    check("x:a\\*b\\?", term("x", "a*b?"), "x:a\\*b\\?");
    check("x:\\*", term("x", "*"), "x:\\*");
    check("\\*", word("*"), "\\*");
}

#[test]
fn existence() {
    check("user.name:*", exists("user.name"), "user.name:*");
    check("x:**", exists("x"), "x:*");
    check("x:[* TO *]", exists("x"), "x:*");
    check("-x:*", not(exists("x")), "NOT x:*");
}

#[test]
fn ranges() {
    check(
        "port:[1 TO 1023]",
        range("port", inc("1"), inc("1023")),
        "port:[1 TO 1023]",
    );
    check(
        "port:{1 TO 1023}",
        range("port", exc("1"), exc("1023")),
        "port:{1 TO 1023}",
    );
    check(
        "port:[1 TO 1023}",
        range("port", inc("1"), exc("1023")),
        "port:[1 TO 1023}",
    );
    check(
        "port:{1 TO 1023]",
        range("port", exc("1"), inc("1023")),
        "port:{1 TO 1023]",
    );
    check(
        "port:[1024 TO *]",
        range("port", inc("1024"), Bound::Unbounded),
        "port:>=1024",
    );
    check(
        "port:{1024 TO *]",
        range("port", exc("1024"), Bound::Unbounded),
        "port:>1024",
    );
    check(
        "port:[* TO 1024]",
        range("port", Bound::Unbounded, inc("1024")),
        "port:<=1024",
    );
    check(
        "port:[* TO 1024}",
        range("port", Bound::Unbounded, exc("1024")),
        "port:<1024",
    );
    check(
        "port:[  1   TO   2  ]",
        range("port", inc("1"), inc("2")),
        "port:[1 TO 2]",
    );
    check(
        "time:[2026-11-29T10:00:00Z TO now]",
        range("time", inc("2026-11-29T10:00:00Z"), inc("now")),
        "time:[2026-11-29T10:00:00Z TO now]",
    );
    check(
        "time:[\"2026-11-29 10:00\" TO \"*\"]",
        range("time", inc("2026-11-29 10:00"), inc("*")),
        "time:[\"2026-11-29 10:00\" TO \"*\"]",
    );
    check(
        "x:[\"TO\" TO TO]",
        range("x", inc("TO"), inc("TO")),
        "x:[\"TO\" TO \"TO\"]",
    );
    check(
        "x:[-5 TO 5]",
        range("x", inc("-5"), inc("5")),
        "x:[-5 TO 5]",
    );
    check(
        "x:[a\\ b TO c\\*]",
        range("x", inc("a b"), inc("c*")),
        "x:[\"a b\" TO \"c*\"]",
    );
    check(
        "x:[1 TO\"2\"]",
        range("x", inc("1"), inc("2")),
        "x:[1 TO 2]",
    );
}

#[test]
fn comparisons() {
    check(
        "port:>1024",
        range("port", exc("1024"), Bound::Unbounded),
        "port:>1024",
    );
    check(
        "port:>=1024",
        range("port", inc("1024"), Bound::Unbounded),
        "port:>=1024",
    );
    check(
        "port:<1024",
        range("port", Bound::Unbounded, exc("1024")),
        "port:<1024",
    );
    check(
        "port:<=1024",
        range("port", Bound::Unbounded, inc("1024")),
        "port:<=1024",
    );
    check(
        "time:>=now-1h",
        range("time", inc("now-1h"), Bound::Unbounded),
        "time:>=now-1h",
    );
    check(
        "time:<2026-11-29T10:00:00+02:00",
        range("time", Bound::Unbounded, exc("2026-11-29T10:00:00+02:00")),
        "time:<2026-11-29T10:00:00+02:00",
    );
    check(
        "time:>=\"2026-11-29 10:00:00\"",
        range("time", inc("2026-11-29 10:00:00"), Bound::Unbounded),
        "time:>=\"2026-11-29 10:00:00\"",
    );
    check(
        "x:>==5",
        range("x", inc("=5"), Bound::Unbounded),
        "x:>=\"=5\"",
    );
    check(
        "x:>\"=5\"",
        range("x", exc("=5"), Bound::Unbounded),
        "x:>\"=5\"",
    );
    check("x:>-1", range("x", exc("-1"), Bound::Unbounded), "x:>-1");
    // An escaped `>` is a value, not a comparison.
    check("x:\\>5", term("x", ">5"), "x:\\>5");
}

#[test]
fn boolean_operators_and_precedence() {
    let (a, b, c, d) = (word("a"), word("b"), word("c"), word("d"));
    check("a AND b", Query::And(vec![a.clone(), b.clone()]), "a AND b");
    check("a b", Query::And(vec![a.clone(), b.clone()]), "a AND b");
    check("a OR b", Query::Or(vec![a.clone(), b.clone()]), "a OR b");
    check("NOT a", not(a.clone()), "NOT a");
    check("-a", not(a.clone()), "NOT a");
    check("NOT NOT a", a.clone(), "a");
    check("--a", a.clone(), "a");
    check("NOT -a", a.clone(), "a");
    // AND binds tighter than OR; implicit AND too.
    check(
        "a OR b AND c",
        Query::Or(vec![a.clone(), Query::And(vec![b.clone(), c.clone()])]),
        "a OR b AND c",
    );
    check(
        "a OR b c",
        Query::Or(vec![a.clone(), Query::And(vec![b.clone(), c.clone()])]),
        "a OR b AND c",
    );
    check(
        "a b OR c d",
        Query::Or(vec![
            Query::And(vec![a.clone(), b.clone()]),
            Query::And(vec![c.clone(), d.clone()]),
        ]),
        "a AND b OR c AND d",
    );
    // NOT binds tighter than AND.
    check(
        "NOT a AND b",
        Query::And(vec![not(a.clone()), b.clone()]),
        "NOT a AND b",
    );
    check(
        "a NOT b",
        Query::And(vec![a.clone(), not(b.clone())]),
        "a AND NOT b",
    );
    check(
        "a OR NOT b",
        Query::Or(vec![a.clone(), not(b.clone())]),
        "a OR NOT b",
    );
    // Parentheses.
    check(
        "(a OR b) c",
        Query::And(vec![Query::Or(vec![a.clone(), b.clone()]), c.clone()]),
        "(a OR b) AND c",
    );
    check(
        "NOT (a OR b)",
        not(Query::Or(vec![a.clone(), b.clone()])),
        "NOT (a OR b)",
    );
    check(
        "-(a b)",
        not(Query::And(vec![a.clone(), b.clone()])),
        "NOT (a AND b)",
    );
    check("((a))", a.clone(), "a");
    check(
        "NOT(a)AND(b)",
        Query::And(vec![not(a.clone()), b.clone()]),
        "NOT a AND b",
    );
    // Flattening.
    check(
        "a AND (b AND (c AND d))",
        Query::And(vec![a.clone(), b.clone(), c.clone(), d.clone()]),
        "a AND b AND c AND d",
    );
    check(
        "(a OR b) OR (c OR d)",
        Query::Or(vec![a.clone(), b.clone(), c.clone(), d.clone()]),
        "a OR b OR c OR d",
    );
    check("* AND a", a.clone(), "a");
    check("a OR *", Query::All, "*");
    // Adjacent without whitespace: a word ends at a quote or parenthesis.
    check(
        "a\"b c\"",
        Query::And(vec![a.clone(), phrase(None, "b c")]),
        "a AND \"b c\"",
    );
}

#[test]
fn field_groups() {
    check(
        "attack_type:(sql_injection OR xss)",
        Query::Or(vec![
            term("attack_type", "sql_injection"),
            term("attack_type", "xss"),
        ]),
        "attack_type:sql_injection OR attack_type:xss",
    );
    check(
        "f:(a OR b c)",
        Query::Or(vec![
            term("f", "a"),
            Query::And(vec![term("f", "b"), term("f", "c")]),
        ]),
        "f:a OR f:b AND f:c",
    );
    check(
        "f:(a -b)",
        Query::And(vec![term("f", "a"), not(term("f", "b"))]),
        "f:a AND NOT f:b",
    );
    check(
        "f:(a (b OR c)) d",
        Query::And(vec![
            term("f", "a"),
            Query::Or(vec![term("f", "b"), term("f", "c")]),
            word("d"),
        ]),
        "f:a AND (f:b OR f:c) AND d",
    );
    check(
        "f:(\"a b\" OR c* OR * OR [1 TO 2] OR >5)",
        Query::Or(vec![
            phrase(Some("f"), "a b"),
            wildcard(Some("f"), vec![lit("c"), PatternPiece::AnyMany]),
            exists("f"),
            range("f", inc("1"), inc("2")),
            range("f", exc("5"), Bound::Unbounded),
        ]),
        "f:\"a b\" OR f:c* OR f:* OR f:[1 TO 2] OR f:>5",
    );
    // Inside a group a `:` belongs to the value.
    check(
        "src_endpoint.ip:(fe80::1 OR ::1)",
        Query::Or(vec![
            term("src_endpoint.ip", "fe80::1"),
            term("src_endpoint.ip", "::1"),
        ]),
        "src_endpoint.ip:fe80::1 OR src_endpoint.ip:::1",
    );
    check("f:(a)", term("f", "a"), "f:a");
    check(
        "-f:(a OR b)",
        not(Query::Or(vec![term("f", "a"), term("f", "b")])),
        "NOT (f:a OR f:b)",
    );
}

#[test]
fn escapes() {
    check("C\\:\\\\Windows", word("C:\\Windows"), "C\\:\\\\Windows");
    check("x:a\\ b", term("x", "a b"), "x:a\\ b");
    check("x:\\(1\\)", term("x", "(1)"), "x:\\(1\\)");
    check(
        "x:\\[\\]\\{\\}\\\"",
        term("x", "[]{}\""),
        "x:\\[\\]\\{\\}\\\"",
    );
    check("\\-rf", word("-rf"), "\\-rf");
    check(
        "x:a\\tb\\nc\\rd",
        term("x", "a\tb\nc\rd"),
        "x:a\\tb\\nc\\rd",
    );
    check("x:\\u{1F600}", term("x", "😀"), "x:😀");
    check("x:\\u{41}", term("x", "A"), "x:A");
    check("\\u{41}ND", word("AND"), "\\u{41}ND");
    check("\\&&", word("&&"), "\\&&");
    check("x:&&", term("x", "&&"), "x:&&");
    check(
        "\"C:\\\\Windows\"",
        phrase(None, "C:\\Windows"),
        "\"C:\\\\Windows\"",
    );
    check("\"a\\*b\"", phrase(None, "a*b"), "\"a*b\"");
    // Any ASCII punctuation may be escaped, for Lucene habits.
    check("x:\\/\\+\\!\\~\\^", term("x", "/+!~^"), "x:/+!~^");
    check("x:\\u{a0}", term("x", "\u{a0}"), "x:\\u{a0}");
}

#[test]
fn canonical_form_of_the_analysts_examples() {
    let q =
        parse("status:failure activity:logon src_endpoint.ip:203.0.113.7 time:>=now-1h").unwrap();
    assert_eq!(
        q.to_string(),
        "status:failure AND activity:logon AND src_endpoint.ip:203.0.113.7 AND time:>=now-1h"
    );
    let q = parse("class:http_activity attack_type:(sql_injection OR xss) -action:denied").unwrap();
    assert_eq!(
        q.to_string(),
        "class:http_activity AND (attack_type:sql_injection OR attack_type:xss) \
         AND NOT action:denied"
    );
    let q = parse("activity:sudo actor.user.name:alice").unwrap();
    assert_eq!(q.to_string(), "activity:sudo AND actor.user.name:alice");
}

#[test]
fn deep_but_allowed_nesting() {
    let depth = shieldwall_query::MAX_DEPTH;
    let text = format!("{}a{}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(parse(&text).unwrap(), word("a"));
    let text = format!("f:{}a{}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(parse(&text).unwrap(), term("f", "a"));
    // Long NOT chains are counted, not recursed into.
    let text = format!("{}a", "NOT ".repeat(3000));
    assert_eq!(parse(&text).unwrap(), word("a"));
    let text = format!("{}a", "-".repeat(10_001));
    assert_eq!(parse(&text).unwrap(), not(word("a")));
    // A long flat query at the size limit.
    let mut text = "a ".repeat(shieldwall_query::MAX_QUERY_BYTES / 2);
    text.pop();
    let Query::And(items) = parse(&text).unwrap() else {
        panic!()
    };
    assert_eq!(items.len(), shieldwall_query::MAX_QUERY_BYTES / 2);
}
