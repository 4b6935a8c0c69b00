//! Replays the seed corpora of this crate's fuzz targets (`fuzz/seeds/{envelope,relp}`) and,
//! when present, their local corpora (`fuzz/corpus/...`), with the fuzz targets' invariants.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use shieldwall_collect::Envelope;
use shieldwall_collect::sources::relp::{FrameDecoder, MessageId, MessageIds, Session};

#[test]
fn envelopes_decode_or_fail_and_round_trip() {
    for (path, data) in shieldwall_testkit::fuzz_inputs("envelope") {
        if let Ok(envelope) = Envelope::decode(&data) {
            let encoded = envelope.encode();
            assert_eq!(
                Envelope::decode(&encoded).ok(),
                Some(envelope),
                "{}",
                path.display()
            );
            if data.first() == Some(&shieldwall_collect::envelope::ENVELOPE_VERSION) {
                assert_eq!(encoded, data, "{}", path.display());
            }
        }
    }
}

const MAX: usize = 4096;

/// The rsyslog uuid prefix: either not found (the data untouched) or a 32-digit key with the
/// rest of the data after it.
fn check_message_id(data: &[u8]) {
    let mut rest = data.to_vec();
    match MessageIds::RsyslogUuid.take(&mut rest) {
        MessageId::Key(key) => {
            assert_eq!(key.len(), "relp:".len() + 32);
            assert!(data.ends_with(&rest) && rest.len() + 39 == data.len());
        }
        MessageId::Missing => assert_eq!(rest, data),
        MessageId::Off => unreachable!("message ids are on"),
    }
}

fn frames(chunks: &mut dyn Iterator<Item = &[u8]>) -> (Vec<Vec<u8>>, bool) {
    let mut decoder = FrameDecoder::new(MAX);
    let mut session = Session::new();
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.data.len() <= MAX);
                    check_message_id(&frame.data);
                    out.push(frame.encode());
                    let _ = session.on_frame(frame);
                }
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

#[test]
fn relp_frames_do_not_depend_on_chunking() {
    for (path, data) in shieldwall_testkit::fuzz_inputs("relp") {
        let Some((&step, bytes)) = data.split_first() else {
            continue;
        };
        let step = usize::from(step % 16) + 1;
        let whole = frames(&mut std::iter::once(bytes));
        let chunked = frames(&mut bytes.chunks(step));
        assert_eq!(whole, chunked, "{}", path.display());
    }
}
