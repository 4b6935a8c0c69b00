//! Fuzzes the query language: any text parses or fails at a column inside it, never panicking; a
//! parsed query prints a canonical form that parses back to the same tree; time and interval
//! readers never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shieldwall_query::{MAX_QUERY_BYTES, parse, parse_interval, parse_time};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse(&text) {
        Err(e) => {
            let len = text.chars().count();
            assert!((1..=len + 1).contains(&e.column), "{e} for {text:?}");
            let _ = e.render(&text);
        }
        Ok(q) => {
            let printed = q.to_string();
            // Escapes can make the canonical form longer than the size limit.
            if printed.len() <= MAX_QUERY_BYTES {
                assert_eq!(
                    parse(&printed).as_ref(),
                    Ok(&q),
                    "{printed:?} from {text:?}"
                );
            }
        }
    }
    let _ = parse_time(&text, jiff::Timestamp::UNIX_EPOCH);
    let _ = parse_interval(&text);
});
