//! Generic `key=value` lines (logfmt, FortiGate, and the many devices that log
//! `k=v k2="quoted value" k3='x'`), offered every message that no other parser took.
//!
//! A line is accepted when it holds at least two pairs and pairs make up at least half of its
//! space-separated words, so that prose containing one `=` is left unparsed. Values are bare
//! (up to the next space), double-quoted (with `\"` and `\\` escapes) or single-quoted. Common
//! keys are mapped (`src`, `dst`, `srcip`, `dstip`, `sport`, `dport`, `user`, `action`, `proto`,
//! `msg`, `level`, `time`, ...); every pair is kept in [`Event::vendor`] under its key.

use shieldwall_core::{Event, EventClass, event::Connection};

use super::common::{self, Budget, put_text};
use crate::registry::{Message, TextParser};

/// The parser id.
pub const ID: &str = "kv";

/// The most pairs read from one line.
const MAX_PAIRS: usize = 512;

/// Generic key=value, registered as a fallback parser.
#[derive(Debug, Default)]
pub struct KeyValue;

/// The pairs of a line and how many other words it has.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pairs<'a> {
    /// `(key, value)` in order; values unquoted and unescaped.
    pub pairs: Vec<(&'a str, std::borrow::Cow<'a, str>)>,
    /// Words that were not pairs.
    pub other_words: usize,
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'@' | b':' | b'/')
}

/// Splits a line into pairs and other words.
pub fn scan(line: &str) -> Pairs<'_> {
    let bytes = line.as_bytes();
    let mut out = Pairs::default();
    let mut i = 0;
    while i < bytes.len() && out.pairs.len() < MAX_PAIRS {
        // Skip separators.
        while bytes
            .get(i)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b',')
        {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        while bytes.get(i).copied().is_some_and(is_key_byte) {
            i += 1;
        }
        let key_end = i;
        let first_ok = bytes
            .get(start)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b'@');
        if key_end > start && first_ok && bytes.get(i) == Some(&b'=') {
            i += 1;
            let Some(key) = line.get(start..key_end) else {
                break;
            };
            let (value, next) = value_at(line, i);
            out.pairs.push((key, value));
            i = next;
        } else {
            // Not a pair: skip the word.
            while bytes.get(i).is_some_and(|b| !b.is_ascii_whitespace()) {
                i += 1;
            }
            out.other_words += 1;
        }
    }
    out
}

/// The value starting at byte `i` and the index after it.
fn value_at(line: &str, i: usize) -> (std::borrow::Cow<'_, str>, usize) {
    use std::borrow::Cow;
    let bytes = line.as_bytes();
    match bytes.get(i) {
        Some(&q @ (b'"' | b'\'')) => {
            let mut j = i + 1;
            let mut escaped = false;
            while let Some(&b) = bytes.get(j) {
                if b == b'\\' && q == b'"' {
                    escaped = true;
                    j += 2;
                    continue;
                }
                if b == q {
                    break;
                }
                j += 1;
            }
            let end = j.min(bytes.len());
            let inner = line.get(i + 1..end).unwrap_or("");
            let value = if escaped {
                let mut s = String::with_capacity(inner.len());
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        match chars.next() {
                            Some(n @ ('"' | '\\')) => s.push(n),
                            Some(n) => {
                                s.push('\\');
                                s.push(n);
                            }
                            None => s.push('\\'),
                        }
                    } else {
                        s.push(c);
                    }
                }
                Cow::Owned(s)
            } else {
                Cow::Borrowed(inner)
            };
            (value, (end + 1).min(bytes.len()))
        }
        _ => {
            let mut j = i;
            while bytes.get(j).is_some_and(|b| !b.is_ascii_whitespace()) {
                j += 1;
            }
            let raw = line.get(i..j).unwrap_or("");
            // A trailing comma separates pairs (`a=1, b=2`).
            let raw = raw.strip_suffix(',').unwrap_or(raw);
            (Cow::Borrowed(raw), j)
        }
    }
}

/// The normalised fields that common keys fill.
#[derive(Debug, Clone, Copy)]
enum Slot {
    SrcAddr,
    SrcPort,
    DstAddr,
    DstPort,
    User,
    Action,
    Proto,
    Message,
    Level,
    Status,
    Time,
    Date,
}

const SLOTS: usize = 12;

/// The slot a key fills and its precedence there (lower wins), compared without regard to case.
fn slot_of(key: &str) -> Option<(Slot, u8)> {
    if key.len() > 12 {
        return None;
    }
    let mut buf = [0u8; 12];
    let lower = buf.get_mut(..key.len())?;
    lower.copy_from_slice(key.as_bytes());
    lower.make_ascii_lowercase();
    let found = match &*lower {
        b"src" => (Slot::SrcAddr, 0),
        b"srcip" => (Slot::SrcAddr, 1),
        b"src_ip" => (Slot::SrcAddr, 2),
        b"source_ip" => (Slot::SrcAddr, 3),
        b"saddr" => (Slot::SrcAddr, 4),
        b"sip" => (Slot::SrcAddr, 5),
        b"client" => (Slot::SrcAddr, 6),
        b"sport" => (Slot::SrcPort, 0),
        b"srcport" => (Slot::SrcPort, 1),
        b"src_port" => (Slot::SrcPort, 2),
        b"spt" => (Slot::SrcPort, 3),
        b"source_port" => (Slot::SrcPort, 4),
        b"dst" => (Slot::DstAddr, 0),
        b"dstip" => (Slot::DstAddr, 1),
        b"dst_ip" => (Slot::DstAddr, 2),
        b"dest_ip" => (Slot::DstAddr, 3),
        b"daddr" => (Slot::DstAddr, 4),
        b"dip" => (Slot::DstAddr, 5),
        b"server" => (Slot::DstAddr, 6),
        b"dport" => (Slot::DstPort, 0),
        b"dstport" => (Slot::DstPort, 1),
        b"dst_port" => (Slot::DstPort, 2),
        b"dpt" => (Slot::DstPort, 3),
        b"dest_port" => (Slot::DstPort, 4),
        b"user" => (Slot::User, 0),
        b"username" => (Slot::User, 1),
        b"usr" => (Slot::User, 2),
        b"user_name" => (Slot::User, 3),
        b"uid" => (Slot::User, 4),
        b"action" => (Slot::Action, 0),
        b"act" => (Slot::Action, 1),
        b"proto" => (Slot::Proto, 0),
        b"protocol" => (Slot::Proto, 1),
        b"msg" => (Slot::Message, 0),
        b"message" => (Slot::Message, 1),
        b"level" => (Slot::Level, 0),
        b"severity" => (Slot::Level, 1),
        b"sev" => (Slot::Level, 2),
        b"lvl" => (Slot::Level, 3),
        b"loglevel" => (Slot::Level, 4),
        b"status" => (Slot::Status, 0),
        b"result" => (Slot::Status, 1),
        b"outcome" => (Slot::Status, 2),
        b"time" => (Slot::Time, 0),
        b"ts" => (Slot::Time, 1),
        b"timestamp" => (Slot::Time, 2),
        b"eventtime" => (Slot::Time, 3),
        b"t" => (Slot::Time, 4),
        b"date" => (Slot::Date, 0),
        _ => return None,
    };
    Some(found)
}

impl TextParser for KeyValue {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        let found = scan(message.text);
        if found.pairs.len() < 2 || found.other_words > found.pairs.len() {
            return false;
        }
        event.set_parsed(ID, EventClass::Base, 0);

        // One pass over the pairs: the best-ranked non-empty value of each slot, and every
        // time-like value in order of rank (a time of day alone is not a timestamp).
        let mut best: [Option<(u8, &str)>; SLOTS] = [None; SLOTS];
        let mut times: Vec<(u8, &str)> = Vec::new();
        for (key, value) in &found.pairs {
            if value.is_empty() {
                continue;
            }
            let Some((slot, rank)) = slot_of(key) else {
                continue;
            };
            if let Slot::Time = slot {
                times.push((rank, value.as_ref()));
            }
            if let Some(cell) = best.get_mut(slot as usize)
                && cell.is_none_or(|(r, _)| rank < r)
            {
                *cell = Some((rank, value.as_ref()));
            }
        }
        let get = |slot: Slot| best.get(slot as usize).copied().flatten().map(|(_, v)| v);

        if let Some(src) = get(Slot::SrcAddr) {
            match common::ip(src) {
                Some(ip) => event.src().ip = Some(ip),
                None => event.src().hostname = Some(src.to_owned()),
            }
        }
        if let Some(p) = get(Slot::SrcPort).and_then(common::port_str) {
            event.src().port = Some(p);
        }
        if let Some(dst) = get(Slot::DstAddr) {
            match common::ip(dst) {
                Some(ip) => event.dst().ip = Some(ip),
                None => event.dst().hostname = Some(dst.to_owned()),
            }
        }
        if let Some(p) = get(Slot::DstPort).and_then(common::port_str) {
            event.dst().port = Some(p);
        }
        if let Some(user) = get(Slot::User) {
            event.actor_user().name = Some(user.to_owned());
        }
        if let Some(action) = get(Slot::Action) {
            event.activity = Some(action.to_owned());
            event.action = common::action_word(action);
        }
        if let Some(proto) = get(Slot::Proto) {
            event
                .connection
                .get_or_insert_with(Connection::default)
                .protocol = Some(common::protocol(proto));
        }
        event.message = get(Slot::Message).map(str::to_owned);
        event.severity = get(Slot::Level).and_then(common::severity_word);
        event.status = get(Slot::Status).and_then(common::status_word);
        times.sort_by_key(|(rank, _)| *rank);
        let time = times
            .iter()
            .chain(get(Slot::Date).map(|d| (0, d)).iter())
            .find_map(|(_, t)| common::parse_time(t, message.context))
            .or_else(|| {
                // FortiOS and others split the date and the time of day.
                let (date, time) = (get(Slot::Date)?, get(Slot::Time)?);
                common::parse_time(&format!("{date} {time}"), message.context)
            });
        common::set_time(event, time);

        // Each kept pair is copied once, into its entry (a value that had escapes is moved).
        let mut budget = Budget::for_text(message.text);
        for (key, value) in found.pairs {
            put_text(event, &mut budget, key, value);
        }
        budget.finish(event);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_styles_and_prose() {
        let p = scan(r#"a=1 b="two words" c='x y' d="q\"uote" e= f=end"#);
        let v: Vec<(&str, &str)> = p.pairs.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        assert_eq!(
            v,
            [
                ("a", "1"),
                ("b", "two words"),
                ("c", "x y"),
                ("d", "q\"uote"),
                ("e", ""),
                ("f", "end")
            ]
        );
        assert_eq!(p.other_words, 0);
        let prose = scan("the value x=1 was too large for the buffer");
        assert_eq!(prose.pairs.len(), 1);
        assert_eq!(prose.other_words, 8);
        let unterminated = scan(r#"a="open"#);
        assert_eq!(unterminated.pairs[0].1, "open");
    }
}
