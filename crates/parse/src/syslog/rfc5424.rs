//! The RFC 5424 grammar: header, structured data and MSG.

use super::{
    Anomaly, Format, MAX_HEADER_FIELD, MAX_SD_ELEMENTS, MAX_SD_PARAMS, ParseContext, Parts,
    SdElement, SyslogMessage, TimestampStatus,
    time::{self, TimeError},
};

/// The longest SD-NAME (SD-ID or PARAM-NAME), as in the RFC.
const MAX_SD_NAME: usize = 32;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Splits `s` at the first space: the token before it and the rest after it. The token must be a
/// header field (1 to [`MAX_HEADER_FIELD`] printable US-ASCII bytes) and the space must exist.
fn field(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = memchr::memchr(b' ', s)?;
    let (token, rest) = s.split_at_checked(len)?;
    if token.is_empty()
        || token.len() > MAX_HEADER_FIELD
        || !token.iter().all(|b| (33..=126).contains(b))
    {
        return None;
    }
    Some((token, rest.get(1..).unwrap_or_default()))
}

/// A header field's value: `None` for the NILVALUE `-`.
fn value(token: &[u8]) -> Option<String> {
    // The token is printable ASCII, hence valid UTF-8.
    (token != b"-").then(|| String::from_utf8_lossy(token).into_owned())
}

/// Parses `body` (the bytes after PRI) as RFC 5424, leaving the MSG as bytes. `None` when the
/// header does not fit the grammar; the caller then tries RFC 3164.
pub(super) fn parse<'a>(body: &'a [u8], ctx: &ParseContext) -> Option<Parts<'a>> {
    let vlen = body.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=3).contains(&vlen) || body.first() == Some(&b'0') || body.get(vlen) != Some(&b' ') {
        return None;
    }
    let version: u8 = std::str::from_utf8(body.get(..vlen)?).ok()?.parse().ok()?;
    let rest = body.get(vlen + 1..)?;

    let (ts_token, rest) = field(rest)?;
    let (timestamp, timestamp_status) = if ts_token == b"-" {
        (None, TimestampStatus::Missing)
    } else {
        match time::rfc3339(ts_token) {
            Ok(written) => written.resolve(ctx),
            Err(TimeError::Invalid) => (None, TimestampStatus::Invalid),
            Err(TimeError::NotATimestamp) => return None,
        }
    };
    let (hostname, rest) = field(rest)?;
    let (app_name, rest) = field(rest)?;
    let (proc_id, rest) = field(rest)?;
    // MSGID is followed by a space and STRUCTURED-DATA, which is never empty.
    let (msg_id, rest) = field(rest)?;

    let mut msg = SyslogMessage::empty(Format::Rfc5424);
    msg.version = Some(version);
    msg.timestamp = timestamp;
    msg.timestamp_status = timestamp_status;
    msg.hostname = value(hostname);
    msg.app_name = value(app_name);
    msg.proc_id = value(proc_id);
    msg.msg_id = value(msg_id);
    let raw = structured_data_and_msg(&mut msg, rest);
    Some(Parts {
        header: msg,
        msg: raw,
    })
}

/// Reads STRUCTURED-DATA into `msg` and returns the MSG bytes, falling back to message text as
/// documented.
fn structured_data_and_msg<'a>(msg: &mut SyslogMessage, s: &'a [u8]) -> &'a [u8] {
    match s.first() {
        Some(b'-') => match s.get(1) {
            None => return &[],
            Some(b' ') => return without_bom(s.get(2..).unwrap_or_default()),
            Some(_) => {
                msg.note(Anomaly::MalformedStructuredData);
                return s;
            }
        },
        Some(b'[') => {}
        _ => {
            msg.note(Anomaly::MalformedStructuredData);
            return s;
        }
    }
    let mut rest = s;
    let mut params_left = MAX_SD_PARAMS;
    while rest.first() == Some(&b'[') {
        if msg.structured_data.len() >= MAX_SD_ELEMENTS {
            msg.note(Anomaly::StructuredDataCapExceeded);
            return rest;
        }
        match element(rest, params_left, msg) {
            Ok((el, used)) => {
                params_left = params_left.saturating_sub(el.params.len());
                msg.structured_data.push(el);
                rest = rest.get(used..).unwrap_or_default();
            }
            Err(ElementError::Malformed) => {
                msg.note(Anomaly::MalformedStructuredData);
                return rest;
            }
            Err(ElementError::TooManyParams) => {
                msg.note(Anomaly::StructuredDataCapExceeded);
                return rest;
            }
        }
    }
    match rest.first() {
        None => &[],
        Some(b' ') => without_bom(rest.get(1..).unwrap_or_default()),
        Some(_) => {
            msg.note(Anomaly::MalformedStructuredData);
            rest
        }
    }
}

/// MSG: a leading BOM is dropped.
fn without_bom(raw: &[u8]) -> &[u8] {
    raw.strip_prefix(BOM).unwrap_or(raw)
}

enum ElementError {
    Malformed,
    TooManyParams,
}

/// An SD-NAME at the start of `s`: its length, if 1 to 32 valid bytes.
fn sd_name(s: &[u8]) -> Option<usize> {
    let len = s
        .iter()
        .take_while(|b| (33..=126).contains(*b) && !matches!(b, b'=' | b']' | b'"'))
        .count();
    (1..=MAX_SD_NAME).contains(&len).then_some(len)
}

/// Reads one `[SD-ID *(SP PARAM)]` at the start of `s` (which starts with `[`). Returns the
/// element and the bytes used. At most `params_left` params are accepted.
fn element(
    s: &[u8],
    params_left: usize,
    msg: &mut SyslogMessage,
) -> Result<(SdElement, usize), ElementError> {
    let mut pos = 1;
    let id_len = sd_name(s.get(pos..).unwrap_or_default()).ok_or(ElementError::Malformed)?;
    let id = s.get(pos..pos + id_len).ok_or(ElementError::Malformed)?;
    let mut el = SdElement {
        id: String::from_utf8_lossy(id).into_owned(),
        params: Vec::new(),
    };
    pos += id_len;
    loop {
        match s.get(pos) {
            Some(b']') => return Ok((el, pos + 1)),
            Some(b' ') => pos += 1,
            _ => return Err(ElementError::Malformed),
        }
        if el.params.len() >= params_left {
            return Err(ElementError::TooManyParams);
        }
        let rest = s.get(pos..).unwrap_or_default();
        let name_len = sd_name(rest).ok_or(ElementError::Malformed)?;
        let name = rest.get(..name_len).ok_or(ElementError::Malformed)?;
        if rest.get(name_len..name_len + 2) != Some(b"=\"") {
            return Err(ElementError::Malformed);
        }
        pos += name_len + 2;
        let (raw, used) = param_value(s.get(pos..).unwrap_or_default())?;
        pos += used;
        let name = String::from_utf8_lossy(name).into_owned();
        let value = msg.text(&raw);
        el.params.push((name, value));
    }
}

/// Reads a PARAM-VALUE up to its closing quote: the unescaped bytes and the bytes used,
/// including the closing quote.
fn param_value(s: &[u8]) -> Result<(Vec<u8>, usize), ElementError> {
    let mut out = Vec::new();
    let mut iter = s.iter().enumerate();
    while let Some((i, &b)) = iter.next() {
        match b {
            b'"' => return Ok((out, i + 1)),
            b'\\' => match s.get(i + 1) {
                Some(&next @ (b'"' | b'\\' | b']')) => {
                    out.push(next);
                    iter.next();
                }
                // Not an escape: the backslash is an ordinary character.
                _ => out.push(b'\\'),
            },
            _ => out.push(b),
        }
    }
    Err(ElementError::Malformed)
}
