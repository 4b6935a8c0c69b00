//! Fuzzes the RFC 6587 framer: the first byte picks a chunk size, the rest is the stream; the
//! frames must be the same whether the stream arrives whole or in chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shieldwall_parse::framing::Framer;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut whole = Framer::new(64);
    let mut expected = whole.feed(stream);
    expected.extend(whole.finish());
    let mut split = Framer::new(64);
    let mut got = Vec::new();
    for piece in stream.chunks(chunk) {
        got.extend(split.feed(piece));
        assert!(split.buffered() <= 64 + 1 + chunk);
    }
    got.extend(split.finish());
    assert_eq!(format!("{expected:?}"), format!("{got:?}"));
});
