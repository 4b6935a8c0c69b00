//! Fuzzes the loading of user parser files: any text is compiled or rejected with a located
//! error, never a panic; a compiled set registers and parses a line.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use shieldwall_parse::user;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(parsers) = user::compile(Path::new("fuzz.yaml"), text) {
        let mut registry = shieldwall_parse::Registry::new();
        let _ = user::register(&mut registry, parsers);
    }
});
