//! Parsers for untrusted log input: syslog messages and the TCP framing that carries them.
//!
//! `shieldwall-parse` turns bytes received from log sources into structured records. Everything
//! here is a pure, synchronous function or state machine: no I/O, no clock (the receive time is an
//! input), no printing. Input is untrusted, so nothing panics on it and what is kept is bounded.
//!
//! * [`framing`]: RFC 6587 framing of a TCP stream ([`Framer`]): octet counting and
//!   non-transparent (LF, CRLF, NUL) framing, detected per frame, with a maximum frame size.
//! * [`syslog`]: one message into a [`SyslogMessage`] ([`syslog::parse`]): RFC 5424, RFC 3164 and
//!   the dialects real devices send, with the year and zone of BSD timestamps inferred from a
//!   [`ParseContext`].
//!
//! ```
//! use jiff::{Timestamp, tz::TimeZone};
//! use shieldwall_parse::{Format, Framer, ParseContext, TimestampStatus, syslog};
//!
//! let mut framer = Framer::new(64 * 1024);
//! let frames = framer.feed(
//!     b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n\
//!       87 <165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [a@32473 iut=\"3\"]",
//! );
//! assert_eq!(frames.len(), 2);
//!
//! let received: Timestamp = "2003-10-11T22:14:16Z".parse()?;
//! let ctx = ParseContext::new(received, TimeZone::UTC);
//! let bsd = syslog::parse(&frames[0].as_ref().map_err(Clone::clone)?.data, &ctx);
//! assert_eq!(bsd.format, Format::Rfc3164);
//! assert_eq!((bsd.facility, bsd.severity), (Some(4), Some(2)));
//! assert_eq!(bsd.hostname.as_deref(), Some("mymachine"));
//! assert_eq!(bsd.app_name.as_deref(), Some("su"));
//! // No year or zone in the message: both come from the context.
//! assert_eq!(bsd.timestamp_status, TimestampStatus::Inferred);
//! assert_eq!(bsd.timestamp, Some("2003-10-11T22:14:15Z".parse()?));
//!
//! let rfc5424 = syslog::parse(&frames[1].as_ref().map_err(Clone::clone)?.data, &ctx);
//! assert_eq!(rfc5424.format, Format::Rfc5424);
//! assert_eq!(rfc5424.msg_id.as_deref(), Some("ID47"));
//! assert_eq!(rfc5424.structured_data[0].params, [("iut".to_owned(), "3".to_owned())]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod filter;
pub mod framing;
pub mod lines;
pub mod normalise;
pub mod parsers;
pub mod registry;
pub mod syslog;
pub mod user;

pub use framing::{Frame, FrameError, FrameResult, Framer, Framing};
pub use normalise::{Normaliser, Received, SourceProfile, SyslogLayer};
pub use registry::{JsonParser, Keys, Message, Parser, Registry, RegistryError, TextParser};
pub use syslog::{
    Anomaly, Format, ParseContext, SdElement, SyslogMessage, TimestampStatus, parse as parse_syslog,
};
