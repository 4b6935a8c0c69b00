//! Replays the fuzz targets' seed corpora (`fuzz/seeds/<target>`, committed) and, when present,
//! their local corpora (`fuzz/corpus/<target>`, grown by `cargo fuzz run`) through the same
//! functions and invariants as the fuzz targets of this crate, so that every input a fuzzer
//! once found interesting stays covered by the ordinary tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::sync::Arc;

use shieldwall_parse::{Framer, Normaliser, Received, SourceProfile, SyslogLayer, user};

fn received<'a>(payload: &'a [u8]) -> Received<'a> {
    Received {
        source: "fuzz",
        received: jiff::Timestamp::UNIX_EPOCH,
        key: "k",
        payload,
    }
}

#[test]
fn normalise_keeps_every_input() {
    let registry = shieldwall_parse::parsers::builtin().unwrap();
    let n = Normaliser::new(Arc::new(registry));
    for (path, data) in shieldwall_testkit::fuzz_inputs("normalise") {
        let event = n.normalise(&received(&data));
        assert_eq!(
            event.raw,
            String::from_utf8_lossy(&data),
            "{}",
            path.display()
        );
    }
}

#[test]
fn each_parser_alone_keeps_every_input() {
    let base = shieldwall_parse::parsers::builtin().unwrap();
    let ids: Vec<String> = base.ids().map(str::to_owned).collect();
    let normalisers: Vec<Normaliser> = ids
        .iter()
        .map(|id| {
            let mut registry = base.clone();
            registry
                .bind_source("fuzz", std::slice::from_ref(id))
                .unwrap();
            let mut n = Normaliser::new(Arc::new(registry));
            n.set_profile(
                "fuzz",
                SourceProfile {
                    syslog: SyslogLayer::Off,
                    ..SourceProfile::default()
                },
            );
            n
        })
        .collect();
    for (path, data) in shieldwall_testkit::fuzz_inputs("parser") {
        let Some((&pick, text)) = data.split_first() else {
            continue;
        };
        let n = &normalisers[usize::from(pick) % normalisers.len()];
        let event = n.normalise(&received(text));
        assert_eq!(
            event.raw,
            String::from_utf8_lossy(text),
            "{}",
            path.display()
        );
    }
}

#[test]
fn syslog_parse_is_bounded() {
    let ctx =
        shieldwall_parse::ParseContext::new(jiff::Timestamp::UNIX_EPOCH, jiff::tz::TimeZone::UTC);
    for (path, data) in shieldwall_testkit::fuzz_inputs("syslog") {
        let message = shieldwall_parse::syslog::parse(&data, &ctx);
        assert!(
            message.message.len() <= data.len() * 3,
            "{}",
            path.display()
        );
    }
}

#[test]
fn framing_gives_the_same_frames_whatever_the_chunks() {
    for (path, data) in shieldwall_testkit::fuzz_inputs("framing") {
        let Some((&chunk, stream)) = data.split_first() else {
            continue;
        };
        let chunk = usize::from(chunk).max(1);
        let mut whole = Framer::new(64);
        let mut expected = whole.feed(stream);
        expected.extend(whole.finish());
        let mut split = Framer::new(64);
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            got.extend(split.feed(piece));
            assert!(split.buffered() <= 64 + 1 + chunk, "{}", path.display());
        }
        got.extend(split.finish());
        assert_eq!(
            format!("{got:?}"),
            format!("{expected:?}"),
            "{}",
            path.display()
        );
    }
}

#[test]
fn user_parser_files_compile_or_fail_with_a_position() {
    for (path, data) in shieldwall_testkit::fuzz_inputs("user_parsers") {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        match user::compile(Path::new("fuzz.yaml"), text) {
            Ok(parsers) => {
                let mut registry = shieldwall_parse::Registry::new();
                let _ = user::register(&mut registry, parsers);
            }
            Err(e) => assert!(
                e.to_string().starts_with("fuzz.yaml:"),
                "{}: {e}",
                path.display()
            ),
        }
    }
}
