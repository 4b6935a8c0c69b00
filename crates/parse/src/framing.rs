//! RFC 6587 framing of a syslog TCP stream: byte chunks in, complete frames out.
//!
//! # Detection
//!
//! Each frame's method is decided at its first byte, as rsyslog does, so one stream may mix them:
//!
//! * **Octet counting** (`MSG-LEN SP SYSLOG-MSG`, RFC 6587 section 3.4.1) when the frame starts
//!   with a digit 1 to 9 followed by at most nine more digits and then a space (`MSG-LEN` is
//!   `NONZERO-DIGIT *DIGIT`). The frame is the next `MSG-LEN` bytes, whatever they contain.
//! * **Non-transparent framing** (section 3.4.2) otherwise: the frame runs to the next LF or NUL.
//!   A CR just before the LF is removed (CRLF). If the digits at the start are followed by
//!   anything but a space, or there are more than ten of them, they are the frame's first bytes.
//!   Empty frames (blank lines, a lone CRLF, NUL padding) are skipped silently.
//!
//! # Bounds
//!
//! [`Framer::new`] takes the maximum frame size, the most bytes of one frame that are kept. The
//! internal buffer holds at most one incomplete frame: never more than `max_frame_size + 1` bytes
//! (the extra byte is a CR that may turn out to be part of a CRLF), or ten bytes while reading a
//! length. A longer frame is not kept whole: its first `max_frame_size` bytes are returned in
//! [`FrameError::Oversize`] once the frame ends (after `MSG-LEN` bytes, or at the terminator), the
//! rest is discarded as it arrives, and the next frame is read normally, so the stream stays in
//! sync. A non-transparent frame that never ends is discarded for as long as the stream lasts.
//!
//! # End of stream
//!
//! [`Framer::finish`] is called when the connection closes: an unterminated non-transparent frame
//! is returned as a frame (rsyslog does the same), an incomplete octet-counted frame as
//! [`FrameError::Incomplete`].

use std::fmt;

/// The most digits of an octet count: ten digits allow lengths up to 9,999,999,999, far above any
/// sensible maximum frame size, so longer runs of digits are text.
const MAX_LEN_DIGITS: usize = 10;

/// How a frame was delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// `MSG-LEN SP MSG` (RFC 6587 section 3.4.1).
    OctetCounting,
    /// Terminated by LF, CRLF or NUL (RFC 6587 section 3.4.2).
    NonTransparent,
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Framing::OctetCounting => "octet-counted",
            Framing::NonTransparent => "non-transparent",
        })
    }
}

/// One complete frame: the bytes of one syslog message, without length prefix or terminator.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// The message bytes.
    pub data: Vec<u8>,
    /// How the frame was delimited.
    pub framing: Framing,
}

/// A frame that could not be delivered whole. The stream stays in sync after either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame was longer than the maximum; its first `max` bytes are in `prefix`.
    #[error("{framing} frame of {length} bytes exceeds the maximum frame size of {max} bytes")]
    Oversize {
        /// How the frame was delimited.
        framing: Framing,
        /// The frame's length: `MSG-LEN` for octet counting, else the bytes before the
        /// terminator (or before the end of the stream).
        length: usize,
        /// The maximum frame size.
        max: usize,
        /// The first `max` bytes of the frame.
        prefix: Vec<u8>,
    },
    /// The stream ended inside an octet-counted frame.
    #[error("stream ended after {received} of the {expected} bytes of an octet-counted frame")]
    Incomplete {
        /// `MSG-LEN`.
        expected: usize,
        /// The bytes that arrived.
        received: usize,
        /// The bytes that arrived, up to the maximum frame size.
        prefix: Vec<u8>,
    },
}

/// A frame or why there is none.
pub type FrameResult = Result<Frame, FrameError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames; the buffer is empty.
    Start,
    /// Reading what may be an octet count; the digits are in the buffer.
    Digits { value: usize },
    /// Reading an octet-counted frame; the buffer holds up to `max` of its bytes.
    Counted { declared: usize, remaining: usize },
    /// Reading a non-transparent frame; `seen` bytes so far, the first `max + 1` in the buffer.
    Plain { seen: usize, last_cr: bool },
}

/// Splits a TCP byte stream into syslog frames (RFC 6587); see the [module documentation](self).
///
/// ```
/// use shieldwall_parse::framing::Framer;
///
/// let mut framer = Framer::new(8192);
/// let mut frames = framer.feed(b"10 <13>hello\n<13>wo");
/// frames.extend(framer.feed(b"rld\r\n"));
/// let data: Vec<_> = frames.into_iter().map(|f| f.unwrap().data).collect();
/// assert_eq!(data, [b"<13>hello\n".to_vec(), b"<13>world".to_vec()]);
/// ```
#[derive(Debug, Clone)]
pub struct Framer {
    max: usize,
    buf: Vec<u8>,
    state: State,
}

impl Framer {
    /// A framer that keeps frames of at most `max_frame_size` bytes.
    pub fn new(max_frame_size: usize) -> Self {
        Framer {
            max: max_frame_size,
            buf: Vec::new(),
            state: State::Start,
        }
    }

    /// The maximum frame size.
    pub fn max_frame_size(&self) -> usize {
        self.max
    }

    /// How many bytes of an incomplete frame are held.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether the framer is between frames (nothing of a next frame has arrived).
    pub fn is_idle(&self) -> bool {
        self.state == State::Start
    }

    /// Consumes the next chunk of the stream and returns the frames it completes, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<FrameResult> {
        let mut out = Vec::new();
        let mut rest = chunk;
        while !rest.is_empty() {
            rest = self.step(rest, &mut out);
        }
        out
    }

    /// Ends the stream: returns what is left of a frame, if anything, and resets the framer.
    pub fn finish(&mut self) -> Option<FrameResult> {
        let state = std::mem::replace(&mut self.state, State::Start);
        match state {
            State::Start => None,
            State::Digits { .. } => {
                let seen = self.buf.len();
                self.end_plain(seen, false)
            }
            State::Plain { seen, .. } => self.end_plain(seen, false),
            State::Counted {
                declared,
                remaining,
            } => Some(Err(FrameError::Incomplete {
                expected: declared,
                received: declared.saturating_sub(remaining),
                prefix: std::mem::take(&mut self.buf),
            })),
        }
    }

    /// Consumes a prefix of `input`, pushing any frame it completes; returns the rest.
    fn step<'a>(&mut self, input: &'a [u8], out: &mut Vec<FrameResult>) -> &'a [u8] {
        let Some((&first, after_first)) = input.split_first() else {
            return input;
        };
        match self.state {
            State::Start => match first {
                b'1'..=b'9' => {
                    self.buf.push(first);
                    self.state = State::Digits {
                        value: usize::from(first - b'0'),
                    };
                    after_first
                }
                b'\n' | 0 => after_first,
                _ => {
                    self.state = State::Plain {
                        seen: 0,
                        last_cr: false,
                    };
                    input
                }
            },
            State::Digits { value } => {
                let next = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(usize::from(first.wrapping_sub(b'0'))));
                match (first, next) {
                    (b'0'..=b'9', Some(next)) if self.buf.len() < MAX_LEN_DIGITS => {
                        self.buf.push(first);
                        self.state = State::Digits { value: next };
                        after_first
                    }
                    (b' ', _) => {
                        self.buf.clear();
                        self.state = State::Counted {
                            declared: value,
                            remaining: value,
                        };
                        after_first
                    }
                    _ => {
                        // Not a length: the digits are the start of a non-transparent frame.
                        let seen = self.buf.len();
                        self.buf.truncate(self.max.saturating_add(1));
                        self.state = State::Plain {
                            seen,
                            last_cr: false,
                        };
                        input
                    }
                }
            }
            State::Counted {
                declared,
                remaining,
            } => {
                let take = remaining.min(input.len());
                let (part, rest) = input.split_at(take);
                let room = self.max.saturating_sub(self.buf.len());
                self.buf.extend(part.iter().take(room));
                let remaining = remaining - take;
                if remaining == 0 {
                    self.state = State::Start;
                    let data = std::mem::take(&mut self.buf);
                    out.push(if declared > self.max {
                        Err(FrameError::Oversize {
                            framing: Framing::OctetCounting,
                            length: declared,
                            max: self.max,
                            prefix: data,
                        })
                    } else {
                        Ok(Frame {
                            data,
                            framing: Framing::OctetCounting,
                        })
                    });
                } else {
                    self.state = State::Counted {
                        declared,
                        remaining,
                    };
                }
                rest
            }
            State::Plain { seen, last_cr } => {
                let end = input.iter().position(|b| matches!(b, b'\n' | 0));
                let (content, rest) = input.split_at(end.unwrap_or(input.len()));
                let room = self.max.saturating_add(1).saturating_sub(self.buf.len());
                self.buf.extend(content.iter().take(room));
                let seen = seen.saturating_add(content.len());
                let last_cr = content.last().map_or(last_cr, |b| *b == b'\r');
                match rest.split_first() {
                    Some((&terminator, rest)) => {
                        self.state = State::Start;
                        let strip_cr = terminator == b'\n' && last_cr;
                        if let Some(frame) = self.end_plain(seen, strip_cr) {
                            out.push(frame);
                        }
                        rest
                    }
                    None => {
                        self.state = State::Plain { seen, last_cr };
                        rest
                    }
                }
            }
        }
    }

    /// Ends a non-transparent frame of `seen` bytes (the caller has reset the state).
    fn end_plain(&mut self, seen: usize, strip_cr: bool) -> Option<FrameResult> {
        let length = seen.saturating_sub(usize::from(strip_cr));
        let mut data = std::mem::take(&mut self.buf);
        if length == 0 {
            return None;
        }
        if length > self.max {
            data.truncate(self.max);
            return Some(Err(FrameError::Oversize {
                framing: Framing::NonTransparent,
                length,
                max: self.max,
                prefix: data,
            }));
        }
        data.truncate(length);
        Some(Ok(Frame {
            data,
            framing: Framing::NonTransparent,
        }))
    }
}

#[cfg(test)]
mod tests;
