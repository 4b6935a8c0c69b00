//! RFC 3164 (BSD syslog) and the dialects real devices send: timestamp, hostname and tag.

use super::{
    Format, ParseContext, Parts, SyslogMessage, TimestampStatus,
    time::{self, Resolved, TimeError},
};

/// The longest TAG kept (RFC 3164 says 32; RFC 5424's APP-NAME limit of 48 is used instead).
const MAX_TAG: usize = 48;
/// The longest `[PID]` kept (RFC 5424's PROCID limit).
const MAX_PID: usize = 128;
/// The longest HOSTNAME kept.
const MAX_HOSTNAME: usize = super::MAX_HEADER_FIELD;
/// The most digits of a Cisco sequence number.
const MAX_SEQ_DIGITS: usize = 10;

/// Reads a timestamp at the start of `s`: the resolved instant and the bytes used.
fn timestamp(s: &[u8], ctx: &ParseContext) -> Option<(Resolved, usize)> {
    // Cisco prefixes a BSD timestamp with '*' (clock not synchronised) or '.' (was, then lost).
    let marker = usize::from(matches!(s.first(), Some(b'*' | b'.')));
    if let Some(b) = time::bsd(s.get(marker..).unwrap_or_default()) {
        let resolved = match b.written {
            Some(w) => w.resolve(ctx),
            None => (None, TimestampStatus::Invalid),
        };
        return Some((resolved, marker + b.used));
    }
    // memchr: a line without a timestamp (JSON, CEF) may have no space for a long way.
    let len = memchr::memchr(b' ', s).unwrap_or(s.len());
    match time::rfc3339(s.get(..len)?) {
        Ok(w) => Some((w.resolve(ctx), len)),
        Err(TimeError::Invalid) => Some(((None, TimestampStatus::Invalid), len)),
        Err(TimeError::NotATimestamp) => None,
    }
}

/// Like [`timestamp`], also accepting a Cisco sequence number (`123: `) in front of it.
fn timestamp_after_seq(s: &[u8], ctx: &ParseContext) -> Option<(Resolved, usize)> {
    if let Some(found) = timestamp(s, ctx) {
        return Some(found);
    }
    let seq = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=MAX_SEQ_DIGITS).contains(&seq) || s.get(seq..seq + 2) != Some(b": ") {
        return None;
    }
    let (resolved, used) = timestamp(s.get(seq + 2..)?, ctx)?;
    Some((resolved, seq + 2 + used))
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| **b == b' ').count();
    s.get(n..).unwrap_or_default()
}

/// The HOSTNAME at the start of `s`, if the first token looks like one and is not the last.
fn hostname(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = memchr::memchr(b' ', s)?;
    let (token, rest) = s.split_at_checked(len)?;
    let looks_like_host = !token.is_empty()
        && token.len() <= MAX_HOSTNAME
        && token.last() != Some(&b':')
        && token
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    looks_like_host.then(|| (token, skip_spaces(rest)))
}

/// `:` followed by a space or the end: the rest after the colon and one space.
fn colon(s: &[u8]) -> Option<&[u8]> {
    match s {
        [b':'] => s.get(1..),
        [b':', b' ', rest @ ..] => Some(rest),
        _ => None,
    }
}

/// A TAG with its optional PID, and the content after them.
struct Tag<'a> {
    name: &'a [u8],
    pid: Option<&'a [u8]>,
    rest: &'a [u8],
}

/// The TAG and optional PID at the start of `content`, and the content after them.
fn tag(content: &[u8]) -> Option<Tag<'_>> {
    let len = content
        .iter()
        .take(MAX_TAG + 1)
        .take_while(|b| (33..=126).contains(*b) && !matches!(b, b'[' | b']' | b':'))
        .count();
    if !(1..=MAX_TAG).contains(&len) {
        return None;
    }
    let (name, after) = content.split_at_checked(len)?;
    // ':' followed by a space or the end; one space is dropped.
    if after.first() == Some(&b'[') {
        let inner = after.get(1..)?;
        let pid_len = inner
            .iter()
            .take(MAX_PID + 1)
            .take_while(|b| (33..=126).contains(*b) && !matches!(b, b'[' | b']'))
            .count();
        if !(1..=MAX_PID).contains(&pid_len) || inner.get(pid_len) != Some(&b']') {
            return None;
        }
        let pid = inner.get(..pid_len)?;
        let after_pid = inner.get(pid_len + 1..)?;
        let rest = match after_pid {
            [] => after_pid,
            [b' ', rest @ ..] => rest,
            _ => colon(after_pid)?,
        };
        return Some(Tag {
            name,
            pid: Some(pid),
            rest,
        });
    }
    let rest = colon(after)?;
    Some(Tag {
        name,
        pid: None,
        rest,
    })
}

/// Parses `body` (the bytes after PRI, if there was one) as RFC 3164, leaving the MSG as bytes.
pub(super) fn parse<'a>(body: &'a [u8], has_pri: bool, ctx: &ParseContext) -> Parts<'a> {
    let mut msg = SyslogMessage::empty(Format::Rfc3164);
    let content = match timestamp_after_seq(body, ctx) {
        Some(((ts, status), used)) => {
            msg.timestamp = ts;
            msg.timestamp_status = status;
            let rest = skip_spaces(body.get(used..).unwrap_or_default());
            match hostname(rest) {
                Some((host, rest)) => {
                    msg.hostname = Some(String::from_utf8_lossy(host).into_owned());
                    rest
                }
                None => rest,
            }
        }
        None if has_pri => body,
        None => {
            return Parts {
                header: SyslogMessage::empty(Format::Unknown),
                msg: body,
            };
        }
    };
    let content = match tag(content) {
        Some(Tag { name, pid, rest }) => {
            msg.app_name = Some(String::from_utf8_lossy(name).into_owned());
            msg.proc_id = pid.map(|p| String::from_utf8_lossy(p).into_owned());
            rest
        }
        None => content,
    };
    Parts {
        header: msg,
        msg: content,
    }
}
