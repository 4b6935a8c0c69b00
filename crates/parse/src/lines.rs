//! Reading newline-delimited input with a bound on line length.
//!
//! [`BoundedLines`] yields each line of a reader without its `\n` (and a `\r` before it), at most
//! `max` bytes of it; a longer line yields its first `max` bytes marked truncated, and the rest
//! up to the next newline is skipped without being held in memory.

use std::io::{self, BufRead};

/// One line of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: u64,
    /// The bytes, without the line end, at most the reader's maximum.
    pub bytes: Vec<u8>,
    /// Whether the line was longer than the maximum and was cut.
    pub truncated: bool,
    /// The line's full length in the input, before cutting, without its LF (a CR before it
    /// counts).
    pub length: u64,
    /// Whether an LF ended it (the last line of an input may lack one).
    pub ended: bool,
}

/// An iterator over bounded lines.
pub struct BoundedLines<R> {
    reader: R,
    max: usize,
    number: u64,
    done: bool,
}

impl<R: BufRead> BoundedLines<R> {
    /// Lines of `reader`, each at most `max` bytes.
    pub fn new(reader: R, max: usize) -> BoundedLines<R> {
        BoundedLines {
            reader,
            max: max.max(1),
            number: 0,
            done: false,
        }
    }

    fn next_line(&mut self) -> io::Result<Option<Line>> {
        let mut bytes = Vec::new();
        let mut truncated = false;
        let mut saw_any = false;
        let mut length = 0u64;
        let mut ended = false;
        loop {
            let buffer = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buffer.is_empty() {
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let (chunk, consumed, end) = match memchr::memchr(b'\n', buffer) {
                Some(i) => (buffer.get(..i).unwrap_or(&[]), i + 1, true),
                None => (buffer, buffer.len(), false),
            };
            let room = self.max.saturating_sub(bytes.len());
            if chunk.len() > room {
                truncated = true;
            }
            bytes.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or(&[]));
            length += chunk.len() as u64;
            self.reader.consume(consumed);
            if end {
                ended = true;
                break;
            }
        }
        if !truncated && bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        self.number += 1;
        Ok(Some(Line {
            number: self.number,
            bytes,
            truncated,
            length,
            ended,
        }))
    }
}

impl<R: BufRead> Iterator for BoundedLines<R> {
    type Item = io::Result<Line>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_line() {
            Ok(Some(line)) => Some(Ok(line)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use proptest::prelude::*;

    use super::*;

    fn lines(input: &[u8], max: usize, capacity: usize) -> Vec<Line> {
        BoundedLines::new(BufReader::with_capacity(capacity, input), max)
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn splits_strips_and_numbers() {
        let got = lines(b"a\r\nbb\n\nlast", 10, 3);
        let texts: Vec<&[u8]> = got.iter().map(|l| l.bytes.as_slice()).collect();
        assert_eq!(texts, [&b"a"[..], b"bb", b"", b"last"]);
        assert_eq!(got[3].number, 4);
        assert_eq!((got[0].length, got[0].ended), (2, true), "the CR counts");
        assert_eq!((got[3].length, got[3].ended), (4, false));
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_skipped() {
        let got = lines(b"0123456789abc\nnext\n", 4, 2);
        assert_eq!(got[0].bytes, b"0123");
        assert!(got[0].truncated);
        assert_eq!(got[0].length, 13);
        assert_eq!(got[1].bytes, b"next");
        assert!(!got[1].truncated);
        assert_eq!(got.len(), 2);
    }

    proptest! {
        #[test]
        fn any_buffering_gives_the_same_lines(input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..300), capacity in 1usize..16, max in 1usize..40) {
            let small = lines(&input, max, capacity);
            let large = lines(&input, max, 4096);
            prop_assert_eq!(small, large);
        }
    }
}
