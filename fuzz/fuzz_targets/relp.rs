//! Fuzzes the RELP frame decoder and session rules: any bytes, pushed in chunks whose sizes the
//! input's first byte chooses, give the same frames as one push, never panic, and every frame's
//! data is within the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shieldwall_collect::sources::relp::{FrameDecoder, Session};

const MAX: usize = 4096;

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
