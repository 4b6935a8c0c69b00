//! Fuzzes the syslog parser: any bytes parse to a message without panicking, and the text it
//! keeps never exceeds what it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shieldwall_parse::syslog::{ParseContext, parse};

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new(jiff::Timestamp::UNIX_EPOCH, jiff::tz::TimeZone::UTC);
    let message = parse(data, &ctx);
    // Lossy UTF-8 may expand an invalid byte into U+FFFD (3 bytes), never more.
    assert!(message.message.len() <= data.len() * 3);
});
