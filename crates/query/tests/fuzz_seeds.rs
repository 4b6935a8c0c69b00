//! Replays the `query` fuzz target's seed corpus (`fuzz/seeds/query`, committed) and, when
//! present, its local corpus (`fuzz/corpus/query`, grown by `cargo fuzz run query`) through the
//! same invariants as the fuzz target, so every input a fuzzer once found interesting stays
//! covered by the ordinary tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use shieldwall_query::{MAX_QUERY_BYTES, parse, parse_interval, parse_time};

#[test]
fn query_seeds_parse_or_fail_inside_the_text_and_print_back() {
    for (path, data) in shieldwall_testkit::fuzz_inputs("query") {
        let text = String::from_utf8_lossy(&data);
        match parse(&text) {
            Err(e) => {
                let len = text.chars().count();
                assert!((1..=len + 1).contains(&e.column), "{}: {e}", path.display());
                let _ = e.render(&text);
            }
            Ok(q) => {
                let printed = q.to_string();
                if printed.len() <= MAX_QUERY_BYTES {
                    assert_eq!(parse(&printed).as_ref(), Ok(&q), "{}", path.display());
                }
            }
        }
        let _ = parse_time(&text, jiff::Timestamp::UNIX_EPOCH);
        let _ = parse_interval(&text);
    }
}
