//! One syslog message, as received after framing, into a [`SyslogMessage`]: RFC 5424, RFC 3164
//! and the dialects real devices send.
//!
//! # Detection
//!
//! [`parse`] never fails; it decides the format in this order:
//!
//! 1. An optional `<PRI>` (one to three digits, at most 191). A malformed or out-of-range PRI is
//!    treated as absent and noted as [`Anomaly::InvalidPri`]; the text is then parsed from the
//!    first byte.
//! 2. If a valid PRI is followed by `VERSION SP` (one to three digits, the first not zero), the
//!    RFC 5424 header is read. If the header does not fit the grammar (see [RFC 5424
//!    leniency](#rfc-5424-leniency)), the message is read as RFC 3164 from after the PRI instead.
//! 3. Otherwise RFC 3164 with its common deviations (see [RFC 3164](#rfc-3164)).
//! 4. Text with neither a PRI nor a recognisable timestamp is [`Format::Unknown`]: the whole input
//!    becomes `message` and nothing else is extracted.
//!
//! # RFC 5424 leniency
//!
//! Header fields must be printable US-ASCII separated by single spaces, as in the RFC, but each of
//! HOSTNAME, APP-NAME, PROCID and MSGID may be up to 255 bytes (the RFC allows 255, 48, 128 and
//! 32: real senders exceed the APP-NAME limit). A TIMESTAMP that has the shape of an RFC 3339
//! timestamp but a bad value does not reject the message: it yields
//! [`TimestampStatus::Invalid`]. Fractions of up to nine digits are accepted (the RFC allows six).
//! A TIMESTAMP without an offset is interpreted in the context's zone
//! ([`TimestampStatus::Inferred`]).
//!
//! Malformed STRUCTURED-DATA does not reject the message either: the elements read so far are kept
//! and the rest of the input, from the first byte that could not be read as an element, becomes
//! `message` ([`Anomaly::MalformedStructuredData`]). Param values are unescaped (`\"`, `\\`, `\]`);
//! a backslash before any other character is kept with that character, as the RFC says. An
//! unescaped `]` inside a quoted value is accepted. Repeated SD-IDs are kept as they come.
//!
//! # RFC 3164
//!
//! After the optional PRI: an optional Cisco sequence number (`123: `, dropped, only when a
//! timestamp follows it), an optional Cisco time-sync marker (`*` or `.`), then a timestamp: BSD
//! (`Mmm dd hh:mm:ss` and the variants described at [`TimestampStatus::Inferred`]) or RFC 3339 as
//! rsyslog's high-precision templates send. When there is a timestamp, the next token is the
//! HOSTNAME unless it is the last token, contains `[`, ends with `:`, or contains a byte other
//! than ASCII letters, digits, `.`, `-`, `_` and `:` (then the host is missing and the token
//! belongs to the content). Without a timestamp no hostname is looked for (RFC 3164 section
//! 4.3.3). The content then starts with a TAG when it begins with 1 to 48 printable ASCII bytes
//! other than `[`, `]` and `:`, optionally followed by `[PID]` (1 to 128 bytes), and then by `:`
//! followed by a space or the end (or by a space directly after `[PID]`). The tag becomes
//! `app_name`, the pid `proc_id`; one space after the colon is dropped. Known limits of the
//! heuristic: a message without a hostname whose first word is hostname-like and not followed by
//! a colon (`kernel something`) yields that word as hostname; Cisco mnemonics (`%SYS-5-CONFIG_I:`)
//! become `app_name`.
//!
//! # Time
//!
//! See [`TimestampStatus`] for what each status means and [`ParseContext`] for the year rule.
//!
//! # Caps
//!
//! Messages are untrusted. What the parser keeps is at most proportional to the input, and the
//! per-item overhead is bounded by caps:
//!
//! * at most [`MAX_SD_ELEMENTS`] (64) structured-data elements and [`MAX_SD_PARAMS`] (256) params
//!   in total per message: the element that would exceed either cap, and everything after it, is
//!   kept as `message` text ([`Anomaly::StructuredDataCapExceeded`]);
//! * header fields at most 255 bytes (RFC 5424) or as above (RFC 3164); longer is not a header.
//!
//! # Text
//!
//! Invalid UTF-8 in MSG or in a param value is replaced with U+FFFD
//! ([`String::from_utf8_lossy`]) and noted as [`Anomaly::InvalidUtf8`]: the raw bytes are kept by
//! the caller. A UTF-8 BOM at the start of an RFC 5424 MSG is removed. Trailing CR, LF and NUL
//! bytes at the end of the message are removed in every format (as rsyslog's
//! `DropTrailingLFOnReception` does).

mod rfc3164;
mod rfc5424;
mod time;

use jiff::{Timestamp, tz::TimeZone};

/// The most structured-data elements kept per message; see the [caps](crate::syslog#caps).
pub const MAX_SD_ELEMENTS: usize = 64;
/// The most structured-data params kept per message, over all elements; see the [caps](crate::syslog#caps).
pub const MAX_SD_PARAMS: usize = 256;
/// The longest header field kept (HOSTNAME, APP-NAME, PROCID, MSGID).
pub const MAX_HEADER_FIELD: usize = 255;

/// What is known about the source of a message that the message itself may not say: when it was
/// received and the time zone the source's clock is set to.
///
/// RFC 3164 timestamps carry neither year nor zone. The zone is taken from `time_zone`. The year
/// is chosen among the receive year (the year of `received` in `time_zone`) and the years either
/// side as the latest that puts the timestamp no more than seven days after `received`
/// ([`FUTURE_TOLERANCE_SECONDS`](time::FUTURE_TOLERANCE_SECONDS)): logs describe the past;
/// years in which the date does not exist (29 February) are skipped, and when none of the three
/// has it the timestamp is [`TimestampStatus::Invalid`]. So a `Dec 31 23:59:50` received at
/// 00:00:30 on 1 January is placed in the previous year, and a `Jan 1 00:00:10` received a few
/// seconds before midnight on 31 December (a fast sender clock) in the next. A civil time that
/// falls in a daylight-saving gap or fold is resolved with jiff's "compatible" rule (later
/// offset in a gap, earlier in a fold).
#[derive(Debug, Clone, PartialEq)]
pub struct ParseContext {
    /// When Shieldwall received the message.
    pub received: Timestamp,
    /// The zone of the source's clock, for timestamps without an offset.
    pub time_zone: TimeZone,
}

impl ParseContext {
    /// A context for a source in `time_zone`, for a message received at `received`.
    pub fn new(received: Timestamp, time_zone: TimeZone) -> Self {
        ParseContext {
            received,
            time_zone,
        }
    }
}

/// How [`SyslogMessage::timestamp`] was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampStatus {
    /// The message stated a complete instant (date, time and offset). `timestamp` is `Some`.
    Parsed,
    /// The message stated a time without a year and/or without a zone, which were added from the
    /// [`ParseContext`]: every BSD timestamp, a BSD timestamp with a year (Cisco) unless it names
    /// `UTC`/`GMT`, and RFC 3339 timestamps without offset. `timestamp` is `Some`.
    Inferred,
    /// The message has no timestamp (RFC 5424 NILVALUE, or RFC 3164 content without one).
    /// `timestamp` is `None`: keep the receive time.
    Missing,
    /// The message has something in the timestamp position that cannot be a real instant (30
    /// February, hour 25, a leap second, a malformed fraction or offset). `timestamp` is `None`:
    /// keep the receive time and mark the event.
    Invalid,
}

/// Which grammar a message was read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RFC 5424.
    Rfc5424,
    /// RFC 3164 (BSD syslog) or one of its dialects.
    Rfc3164,
    /// Neither: no PRI and no recognisable timestamp. Only `message` is filled.
    Unknown,
}

/// Something the parser had to repair or drop; the message is still usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Anomaly {
    /// A `<...>` prefix that is not a valid PRI; it was left in the text.
    InvalidPri,
    /// Invalid UTF-8 in MSG or a param value was replaced with U+FFFD.
    InvalidUtf8,
    /// STRUCTURED-DATA did not follow the grammar; the unreadable rest is in `message`.
    MalformedStructuredData,
    /// More than [`MAX_SD_ELEMENTS`] elements or [`MAX_SD_PARAMS`] params; the rest is in
    /// `message`.
    StructuredDataCapExceeded,
}

/// One RFC 5424 structured-data element: `[id name="value" ...]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SdElement {
    /// The SD-ID, such as `timeQuality` or `exampleSDID@32473`.
    pub id: String,
    /// The params in order, values unescaped. Names may repeat.
    pub params: Vec<(String, String)>,
}

/// One parsed syslog message. Everything is owned; the raw bytes are the caller's to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct SyslogMessage {
    /// Facility (0 to 23), from PRI.
    pub facility: Option<u8>,
    /// Severity (0 emergency to 7 debug), from PRI.
    pub severity: Option<u8>,
    /// The RFC 5424 VERSION; `None` for other formats.
    pub version: Option<u8>,
    /// When the event happened, per the message; see `timestamp_status`.
    pub timestamp: Option<Timestamp>,
    /// How `timestamp` was obtained.
    pub timestamp_status: TimestampStatus,
    /// HOSTNAME.
    pub hostname: Option<String>,
    /// APP-NAME (RFC 5424) or the TAG (RFC 3164).
    pub app_name: Option<String>,
    /// PROCID (RFC 5424) or the `[pid]` after the tag (RFC 3164).
    pub proc_id: Option<String>,
    /// MSGID (RFC 5424 only).
    pub msg_id: Option<String>,
    /// STRUCTURED-DATA elements (RFC 5424 only), in order.
    pub structured_data: Vec<SdElement>,
    /// MSG, decoded lossily; see the [module documentation](crate::syslog#text).
    pub message: String,
    /// The grammar used.
    pub format: Format,
    /// What had to be repaired, each kind at most once, in the order met.
    pub anomalies: Vec<Anomaly>,
}

impl SyslogMessage {
    fn empty(format: Format) -> Self {
        SyslogMessage {
            facility: None,
            severity: None,
            version: None,
            timestamp: None,
            timestamp_status: TimestampStatus::Missing,
            hostname: None,
            app_name: None,
            proc_id: None,
            msg_id: None,
            structured_data: Vec::new(),
            message: String::new(),
            format,
            anomalies: Vec::new(),
        }
    }

    fn note(&mut self, anomaly: Anomaly) {
        if !self.anomalies.contains(&anomaly) {
            self.anomalies.push(anomaly);
        }
    }

    fn set_pri(&mut self, pri: Option<u8>) {
        if let Some(pri) = pri {
            self.facility = Some(pri / 8);
            self.severity = Some(pri % 8);
        }
    }

    /// Sets `message` from raw MSG bytes: trailing CR/LF/NUL removed, lossy UTF-8.
    fn set_message(&mut self, raw: &[u8]) {
        self.message = self.text(trim_msg(raw));
    }

    /// Lossy UTF-8, noting the anomaly when bytes had to be replaced.
    fn text(&mut self, raw: &[u8]) -> String {
        match std::str::from_utf8(raw) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                self.note(Anomaly::InvalidUtf8);
                String::from_utf8_lossy(raw).into_owned()
            }
        }
    }
}

/// MSG bytes without their trailing CR, LF and NUL bytes.
fn trim_msg(raw: &[u8]) -> &[u8] {
    let end = raw
        .iter()
        .rposition(|b| !matches!(b, b'\r' | b'\n' | 0))
        .map_or(0, |i| i + 1);
    raw.get(..end).unwrap_or_default()
}

/// A parsed message whose MSG has not been turned into text yet: the header (with `message`
/// empty) and the MSG bytes, a slice of the input. [`parse`] turns them into a
/// [`SyslogMessage`]; the normaliser reads the MSG as a slice of the text it already has,
/// instead of copying it.
#[derive(Debug)]
pub(crate) struct Parts<'a> {
    /// Everything but `message`.
    pub(crate) header: SyslogMessage,
    /// The MSG bytes as they are in the input (a leading BOM removed, trailing CR/LF/NUL not).
    pub(crate) msg: &'a [u8],
}

impl<'a> Parts<'a> {
    /// The MSG as text, as [`SyslogMessage::message`] has it: trailing CR/LF/NUL removed; a
    /// slice of `input_text` when that is the input as text, else lossy UTF-8, noting
    /// [`Anomaly::InvalidUtf8`] in the header when bytes had to be replaced.
    pub(crate) fn message_in(
        &mut self,
        input: &[u8],
        input_text: Option<&'a str>,
    ) -> std::borrow::Cow<'a, str> {
        let raw = trim_msg(self.msg);
        if let Some(text) = input_text
            && text.len() == input.len()
            && let Some(start) = raw.as_ptr().addr().checked_sub(input.as_ptr().addr())
            && let Some(slice) = text.get(start..start + raw.len())
        {
            return std::borrow::Cow::Borrowed(slice);
        }
        match std::str::from_utf8(raw) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => {
                self.header.note(Anomaly::InvalidUtf8);
                std::borrow::Cow::Owned(String::from_utf8_lossy(raw).into_owned())
            }
        }
    }
}

/// Reads `<PRI>` at the start of `input`. Returns the value and the bytes used, or `None` when
/// there is no valid PRI; `Err(())` when there is a `<` that does not start a valid PRI.
fn pri(input: &[u8]) -> Result<Option<(u8, usize)>, ()> {
    if input.first() != Some(&b'<') {
        return Ok(None);
    }
    let rest = input.get(1..).unwrap_or_default();
    let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=3).contains(&len) || rest.get(len) != Some(&b'>') {
        return Err(());
    }
    let value = rest
        .get(..len)
        .unwrap_or_default()
        .iter()
        .fold(0u16, |v, b| v * 10 + u16::from(b - b'0'));
    match u8::try_from(value) {
        Ok(v) if v <= 191 => Ok(Some((v, len + 2))),
        _ => Err(()),
    }
}

/// Parses one syslog message (the bytes of one frame) with `ctx` supplying what RFC 3164 leaves
/// out. Never fails and never panics: anything unrecognised ends up in `message`; see the
/// [module documentation](crate::syslog) for the rules.
pub fn parse(input: &[u8], ctx: &ParseContext) -> SyslogMessage {
    let Parts { mut header, msg } = parse_parts(input, ctx);
    header.set_message(msg);
    header
}

/// [`parse`] without turning the MSG into text.
pub(crate) fn parse_parts<'a>(input: &'a [u8], ctx: &ParseContext) -> Parts<'a> {
    let (pri, body, invalid_pri) = match pri(input) {
        Ok(Some((value, used))) => (Some(value), input.get(used..).unwrap_or_default(), false),
        Ok(None) => (None, input, false),
        Err(()) => (None, input, true),
    };
    let mut parts = match pri.and_then(|_| rfc5424::parse(body, ctx)) {
        Some(parts) => parts,
        None => rfc3164::parse(body, pri.is_some(), ctx),
    };
    parts.header.set_pri(pri);
    if invalid_pri {
        parts.header.anomalies.insert(0, Anomaly::InvalidPri);
    }
    parts
}

#[cfg(test)]
mod tests;
