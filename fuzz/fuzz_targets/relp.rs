//! Fuzzes the RELP frame decoder and session rules: any bytes, pushed in chunks whose sizes the
//! input's first byte chooses, give the same frames as one push, never panic, and every frame's
//! data is within the limit; the rsyslog uuid prefix of each frame is taken off whole or not at all.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shieldwall_collect::sources::relp::{FrameDecoder, MessageId, MessageIds, Session};

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
    let mut failed = false;
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
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            break;
        }
    }
    (out, failed)
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, bytes)) = data.split_first() else { return };
    let step = usize::from(step % 16) + 1;
    let whole = frames(&mut std::iter::once(bytes));
    let chunked = frames(&mut bytes.chunks(step));
    assert_eq!(whole, chunked);
});
