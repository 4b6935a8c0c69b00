//! Replays the seed corpora of this crate's fuzz targets (`fuzz/seeds/{envelope,relp}`) and,
//! when present, their local corpora (`fuzz/corpus/...`), with the fuzz targets' invariants.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use shieldwall_collect::Envelope;
use shieldwall_collect::sources::relp::{FrameDecoder, Session};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = workspace_root().join("fuzz");
    let mut out = Vec::new();
    let mut seeded = false;
    for (dir, is_seed) in [
        (root.join("seeds").join(target), true),
        (root.join("corpus").join(target), false),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                seeded |= is_seed;
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    assert!(seeded, "fuzz/seeds/{target} has no seeds");
    out
}

#[test]
fn envelopes_decode_or_fail_and_round_trip() {
    for (path, data) in seeds("envelope") {
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
    for (path, data) in seeds("relp") {
        let Some((&step, bytes)) = data.split_first() else {
            continue;
        };
        let step = usize::from(step % 16) + 1;
        let whole = frames(&mut std::iter::once(bytes));
        let chunked = frames(&mut bytes.chunks(step));
        assert_eq!(whole, chunked, "{}", path.display());
    }
}
