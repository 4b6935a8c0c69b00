//! `docs/query.md` stays true: its examples parse (or fail, in the error table) as it says, and its
//! canonical-form example prints as shown.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use shieldwall_query::parse;

fn doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/query.md"))
        .unwrap()
}

/// The rows of the table under the heading `heading`, as cells (Markdown `\|` unescaped).
fn table(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let start = doc.find(heading).unwrap_or_else(|| panic!("no {heading}"));
    doc[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            row.replace("\\|", "\u{0}")
                .split('|')
                .map(|cell| cell.trim().replace('\u{0}', "|"))
                .filter(|cell| !cell.is_empty())
                .collect()
        })
        .collect()
}

/// The code spans of a table cell.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect()
}

#[test]
fn examples_at_a_glance_parse() {
    let doc = doc();
    let rows = table(&doc, "## At a glance");
    assert!(rows.len() >= 10);
    for row in rows {
        for query in code_spans(&row[1]) {
            let q = parse(&query).unwrap_or_else(|e| panic!("{query}: {}", e.render(&query)));
            assert_eq!(parse(&q.to_string()).unwrap(), q);
        }
    }
}

#[test]
fn precedence_table_is_right() {
    let doc = doc();
    for row in table(&doc, "## Precedence") {
        let query = &code_spans(&row[0])[0];
        let meaning = &code_spans(&row[1])[0];
        assert_eq!(parse(query).unwrap(), parse(meaning).unwrap(), "{query}");
    }
}

#[test]
fn error_table_examples_fail() {
    let doc = doc();
    let rows = table(&doc, "## Errors");
    assert!(rows.len() >= 20);
    for row in rows {
        if row.len() < 3 {
            continue;
        }
        for query in code_spans(&row[1]) {
            assert!(parse(&query).is_err(), "{query} should fail ({})", row[0]);
        }
    }
}

#[test]
fn canonical_form_example_is_exact() {
    let doc = doc();
    let start = doc.find("## The canonical form").unwrap();
    let block = doc[start..].split("```text\n").nth(1).unwrap();
    let mut lines = block.lines();
    let query = lines.next().unwrap();
    let printed = lines.next().unwrap().strip_prefix("=> ").unwrap();
    assert_eq!(parse(query).unwrap().to_string(), printed);
}

#[test]
fn caret_examples_are_exact() {
    let doc = doc();
    let start = doc.find("## Errors").unwrap();
    let section = &doc[start..doc[start..].find("| Error |").unwrap() + start];
    let blocks: Vec<&str> = section.split("```text\n").skip(1).collect();
    assert_eq!(blocks.len(), 2);
    for block in blocks {
        let block = block.split("\n```").next().unwrap();
        let query = block.lines().next().unwrap();
        assert_eq!(parse(query).unwrap_err().render(query), block);
    }
}
