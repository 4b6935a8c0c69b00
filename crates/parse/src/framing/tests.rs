//! Unit tests of the RFC 6587 framer, including every split of a stream into chunks.

use super::*;

fn ok(data: &[u8], framing: Framing) -> FrameResult {
    Ok(Frame {
        data: data.to_vec(),
        framing,
    })
}

const OC: Framing = Framing::OctetCounting;
const NT: Framing = Framing::NonTransparent;

/// Feeds `chunks` in order, then finishes, checking the buffer bound after every chunk.
fn run(max: usize, chunks: &[&[u8]]) -> Vec<FrameResult> {
    let mut framer = Framer::new(max);
    let mut out = Vec::new();
    for chunk in chunks {
        out.extend(framer.feed(chunk));
        assert!(
            framer.buffered() <= (max + 1).max(MAX_LEN_DIGITS),
            "buffer {} over bound",
            framer.buffered()
        );
    }
    out.extend(framer.finish());
    assert!(framer.is_idle());
    out
}

// A stream in the shapes senders use: rsyslog omfwd with TCP_Framing="octet-counted" (RFC 6587
// 3.4.1), syslog-ng network() and classic LF-terminated senders (3.4.2), Windows agents that end
// lines with CRLF, and old senders that NUL-terminate.
const STREAM: &[u8] = b"<13>Oct 11 22:14:15 host app: one\n\
66 <165>1 2003-10-11T22:14:15.003Z host app - ID47 - two\nwith newline\
<13>three\r\n\
\n\
<13>four\0\
9 <13>five!\
<13>six";

fn expected() -> Vec<FrameResult> {
    vec![
        ok(b"<13>Oct 11 22:14:15 host app: one", NT),
        ok(
            b"<165>1 2003-10-11T22:14:15.003Z host app - ID47 - two\nwith newline",
            OC,
        ),
        ok(b"<13>three", NT),
        ok(b"<13>four", NT),
        ok(b"<13>five!", OC),
        ok(b"<13>six", NT),
    ]
}

#[test]
fn mixed_stream_in_one_chunk() {
    assert_eq!(run(1024, &[STREAM]), expected());
}

#[test]
fn every_split_into_two_and_three_chunks() {
    let n = STREAM.len();
    for i in 0..=n {
        let (a, b) = STREAM.split_at(i);
        assert_eq!(run(1024, &[a, b]), expected(), "split at {i}");
        for j in i..=n {
            let (b, c) = STREAM.split_at(j);
            let a = &b[..i];
            let b = &b[i..];
            assert_eq!(run(1024, &[a, b, c]), expected(), "split at {i}, {j}");
        }
    }
}

#[test]
fn one_byte_chunks() {
    let chunks: Vec<&[u8]> = STREAM.chunks(1).collect();
    assert_eq!(run(1024, &chunks), expected());
}

#[test]
fn digits_without_space_are_text() {
    assert_eq!(run(64, &[b"123abc\n"]), vec![ok(b"123abc", NT)]);
    assert_eq!(run(64, &[b"42\n"]), vec![ok(b"42", NT)]);
    // A leading zero is not a MSG-LEN.
    assert_eq!(run(64, &[b"0 x\n"]), vec![ok(b"0 x", NT)]);
    // Eleven digits are too many for a length.
    assert_eq!(
        run(64, &[b"12345678901 x\n"]),
        vec![ok(b"12345678901 x", NT)]
    );
    // At end of stream, digits alone are an unterminated frame.
    assert_eq!(run(64, &[b"7"]), vec![ok(b"7", NT)]);
}

#[test]
fn octet_counted_oversize_is_skipped_in_sync() {
    let mut stream = b"20 ".to_vec();
    stream.extend_from_slice(b"abcdefghij0123456789");
    stream.extend_from_slice(b"3 xyz<13>next\n");
    let want = vec![
        Err(FrameError::Oversize {
            framing: OC,
            length: 20,
            max: 8,
            prefix: b"abcdefgh".to_vec(),
        }),
        ok(b"xyz", OC),
        ok(b"<13>next", NT),
    ];
    for i in 0..=stream.len() {
        let (a, b) = stream.split_at(i);
        assert_eq!(run(8, &[a, b]), want, "split at {i}");
    }
}

#[test]
fn non_transparent_oversize_is_skipped_in_sync() {
    let stream = b"<13>0123456789abcdef\n<13>ok\r\n";
    let want = vec![
        Err(FrameError::Oversize {
            framing: NT,
            length: 20,
            max: 8,
            prefix: b"<13>0123".to_vec(),
        }),
        ok(b"<13>ok", NT),
    ];
    for i in 0..=stream.len() {
        let (a, b) = stream.split_at(i);
        assert_eq!(run(8, &[a, b]), want, "split at {i}");
    }
}

#[test]
fn exactly_max_with_crlf_is_not_oversize() {
    assert_eq!(run(4, &[b"abcd\r", b"\n"]), vec![ok(b"abcd", NT)]);
    assert_eq!(run(4, &[b"abcd\0"]), vec![ok(b"abcd", NT)]);
    assert_eq!(run(4, &[b"4 abcd"]), vec![ok(b"abcd", OC)]);
    // A CR that is not followed by LF is content.
    assert!(matches!(
        run(4, &[b"abcd\rx\n"]).as_slice(),
        [Err(FrameError::Oversize { length: 6, .. })]
    ));
    assert!(matches!(
        run(4, &[b"abcd\r\0"]).as_slice(),
        [Err(FrameError::Oversize { length: 5, .. })]
    ));
}

#[test]
fn huge_declared_length_never_buffers_it() {
    let mut framer = Framer::new(16);
    let out = framer.feed(b"9999999999 ");
    assert!(out.is_empty());
    for _ in 0..100 {
        assert!(framer.feed(&[b'x'; 1000]).is_empty());
        assert!(framer.buffered() <= 16);
    }
    assert_eq!(
        framer.finish(),
        Some(Err(FrameError::Incomplete {
            expected: 9_999_999_999,
            received: 100_000,
            prefix: vec![b'x'; 16],
        }))
    );
}

#[test]
fn unterminated_line_never_buffers_it() {
    let mut framer = Framer::new(16);
    for _ in 0..100 {
        assert!(framer.feed(&[b'x'; 1000]).is_empty());
        assert!(framer.buffered() <= 17);
    }
    assert_eq!(
        framer.finish(),
        Some(Err(FrameError::Oversize {
            framing: NT,
            length: 100_000,
            max: 16,
            prefix: vec![b'x'; 16],
        }))
    );
}

#[test]
fn incomplete_octet_counted_frame_at_end() {
    assert_eq!(
        run(64, &[b"10 abc"]),
        vec![Err(FrameError::Incomplete {
            expected: 10,
            received: 3,
            prefix: b"abc".to_vec(),
        })]
    );
}

#[test]
fn blank_lines_and_padding_are_skipped() {
    assert_eq!(run(64, &[b"\n\r\n\0\0\n"]), vec![]);
    assert!(run(64, &[]).is_empty());
}

#[test]
fn small_maximum_with_digits() {
    // Max below the ten digits a length may have: the bound still holds.
    assert_eq!(
        run(2, &[b"123456789012\n"]),
        vec![Err(FrameError::Oversize {
            framing: NT,
            length: 12,
            max: 2,
            prefix: b"12".to_vec(),
        })]
    );
    assert!(matches!(
        run(0, &[b"a\n"]).as_slice(),
        [Err(FrameError::Oversize { length: 1, .. })]
    ));
}

#[test]
fn error_messages() {
    let e = FrameError::Oversize {
        framing: OC,
        length: 20,
        max: 8,
        prefix: vec![],
    };
    assert_eq!(
        e.to_string(),
        "octet-counted frame of 20 bytes exceeds the maximum frame size of 8 bytes"
    );
}
