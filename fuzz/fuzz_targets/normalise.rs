//! Fuzzes the whole normalisation of one message: syslog layer, dispatch and every built-in
//! parser the dispatch selects. Any bytes give one event that keeps them.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use shieldwall_parse::{Normaliser, Received};

fn normaliser() -> &'static Normaliser {
    static N: OnceLock<Normaliser> = OnceLock::new();
    N.get_or_init(|| {
        let registry = shieldwall_parse::parsers::builtin().unwrap_or_default();
        Normaliser::new(Arc::new(registry))
    })
}

fuzz_target!(|data: &[u8]| {
    let event = normaliser().normalise(&Received {
        source: "fuzz",
        received: jiff::Timestamp::UNIX_EPOCH,
        key: "k",
        payload: data,
    });
    assert_eq!(event.raw, String::from_utf8_lossy(data));
});
