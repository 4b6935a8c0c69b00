//! Fuzzes each built-in parser on its own: the first byte picks the parser, the rest is the
//! message text offered to it first (as a source binding does), whatever its program or prefix.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use shieldwall_parse::{Normaliser, Received, SourceProfile, SyslogLayer};

fn normalisers() -> &'static Vec<Normaliser> {
    static N: OnceLock<Vec<Normaliser>> = OnceLock::new();
    N.get_or_init(|| {
        let base = shieldwall_parse::parsers::builtin().unwrap_or_default();
        let ids: Vec<String> = base.ids().map(str::to_owned).collect();
        ids.iter()
            .filter_map(|id| {
                let mut registry = base.clone();
                registry.bind_source("fuzz", std::slice::from_ref(id)).ok()?;
                let mut n = Normaliser::new(Arc::new(registry));
                n.set_profile(
                    "fuzz",
                    SourceProfile {
                        syslog: SyslogLayer::Off,
                        ..SourceProfile::default()
                    },
                );
                Some(n)
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, text)) = data.split_first() else { return };
    let all = normalisers();
    let Some(n) = all.get(usize::from(pick) % all.len().max(1)) else { return };
    let event = n.normalise(&Received {
        source: "fuzz",
        received: jiff::Timestamp::UNIX_EPOCH,
        key: "k",
        payload: text,
    });
    assert_eq!(event.raw, String::from_utf8_lossy(text));
});
