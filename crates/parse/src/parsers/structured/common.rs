//! Helpers shared by the structured parsers: bounded keeping of original fields in
//! [`Event::vendor`], timestamp reading (ISO 8601 in its common spellings, epoch numbers, the
//! handful of `strftime` layouts that log producers use, Java `SimpleDateFormat` patterns), and
//! the small vocabularies (severity words, security-control actions, HTTP methods, IP protocol
//! numbers) that several formats share.
//!
//! Everything here is total: it never panics and returns `None` for input it does not understand.
//!
//! # What `vendor` keeps, and its bounds
//!
//! The JSON parsers read the object by reference, fill the normalised fields, and then move the
//! object's top-level entries into [`Event::vendor`] as they are ([`keep_object`]): nothing is
//! copied and nested objects stay nested. What is kept is bounded per record by:
//!
//! * [`MAX_VENDOR_ENTRIES`] top-level entries (in key order; the rest are left out);
//! * [`MAX_VENDOR_BYTES`] of keys and values, counted only when the message text is longer than
//!   that: the values are taken from the text, so a shorter text cannot make them larger;
//! * [`MAX_DEPTH`] levels of nesting inside one value, checked only when the text has more
//!   opening brackets than that (each level needs one); a container deeper than that is kept as
//!   its compact JSON text, so that a stored event always reads back within `serde_json`'s
//!   recursion limit.
//!
//! Anything left out is marked with [`TRUNCATED_KEY`] in [`Event::unmapped`]; the raw text is
//! always kept whole in [`Event::raw`].

use std::net::IpAddr;

use jiff::{
    Timestamp,
    civil::DateTime,
    fmt::strtime,
    tz::{Offset, TimeZone},
};
use serde_json::{Map, Value};
use shieldwall_core::{
    Event, Severity, TimeStatus,
    event::{Action, Status},
};

use crate::ParseContext;

/// The most top-level entries a parser keeps in [`Event::vendor`] from one record.
pub const MAX_VENDOR_ENTRIES: usize = 512;

/// The most bytes (keys plus an estimate of the values' size) kept in [`Event::vendor`] from one
/// record whose text is longer than this. The raw text is always kept whole in [`Event::raw`];
/// this only bounds the copy.
pub const MAX_VENDOR_BYTES: usize = 256 * 1024;

/// The most levels of nesting kept inside one [`Event::vendor`] value: an object or array deeper
/// than this is kept as its compact JSON text.
pub const MAX_DEPTH: usize = 16;

/// The key set in [`Event::unmapped`] when a record had more fields than the bounds allow.
pub const TRUNCATED_KEY: &str = "vendor_truncated";

/// What is left of the vendor-field allowance of one record.
#[derive(Debug)]
pub struct Budget {
    entries: usize,
    bytes: usize,
    count_bytes: bool,
    check_depth: bool,
    truncated: bool,
}

impl Budget {
    /// The full allowance, with every bound checked on every value.
    pub fn new() -> Budget {
        Budget {
            entries: MAX_VENDOR_ENTRIES,
            bytes: MAX_VENDOR_BYTES,
            count_bytes: true,
            check_depth: true,
            truncated: false,
        }
    }

    /// The allowance for values taken from `text`: bytes are counted only when the text is
    /// longer than [`MAX_VENDOR_BYTES`], nesting is checked only when the text has more than
    /// [`MAX_DEPTH`] opening brackets.
    pub fn for_text(text: &str) -> Budget {
        let brackets = memchr::memchr2_iter(b'{', b'[', text.as_bytes())
            .take(MAX_DEPTH + 1)
            .count();
        Budget {
            count_bytes: text.len() > MAX_VENDOR_BYTES,
            check_depth: brackets > MAX_DEPTH,
            ..Budget::new()
        }
    }

    /// Takes room for one entry of `size` bytes; `false` (and the truncation mark) when full.
    fn take(&mut self, size: usize) -> bool {
        if self.entries == 0 || size > self.bytes {
            self.truncated = true;
            return false;
        }
        self.entries -= 1;
        self.bytes -= size;
        true
    }

    /// Records the truncation mark in `event` when anything was left out.
    pub fn finish(self, event: &mut Event) {
        if self.truncated {
            event
                .unmapped
                .insert(TRUNCATED_KEY.to_owned(), Value::Bool(true));
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new()
    }
}

/// The approximate serialised size of `value`, counting no further than `cap`.
fn size_of(value: &Value, cap: usize) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => {
            let mut total = 2;
            for item in items {
                total += size_of(item, cap.saturating_sub(total)) + 1;
                if total > cap {
                    break;
                }
            }
            total
        }
        Value::Object(map) => {
            let mut total = 2;
            for (k, v) in map {
                total += k.len() + 3 + size_of(v, cap.saturating_sub(total));
                if total > cap {
                    break;
                }
            }
            total
        }
    }
}

/// Replaces the containers nested more than `levels` deep in `value` by their compact JSON text.
fn cap_depth(value: &mut Value, levels: usize) {
    match value {
        Value::Object(_) | Value::Array(_) if levels == 0 => {
            *value = Value::String(value.to_string());
        }
        Value::Object(map) => {
            for v in map.values_mut() {
                cap_depth(v, levels - 1);
            }
        }
        Value::Array(items) => {
            for v in items {
                cap_depth(v, levels - 1);
            }
        }
        _ => {}
    }
}

/// Inserts `key = value` into `event.vendor` if the budget allows. An existing entry is kept.
pub fn put(event: &mut Event, budget: &mut Budget, key: &str, value: Value) {
    put_owned(event, budget, key.to_owned(), value);
}

/// Inserts `key = value` like [`put`], taking an owned key (no copy).
pub fn put_owned(event: &mut Event, budget: &mut Budget, key: String, mut value: Value) {
    if let std::collections::btree_map::Entry::Vacant(slot) = event.vendor.entry(key) {
        if budget.check_depth {
            cap_depth(&mut value, MAX_DEPTH);
        }
        let size = if budget.count_bytes {
            slot.key().len() + size_of(&value, budget.bytes.saturating_add(1))
        } else {
            0
        };
        if budget.take(size) {
            slot.insert(value);
        }
    }
}

/// Inserts a string value under `key` (see [`put`]).
pub fn put_str(event: &mut Event, budget: &mut Budget, key: &str, value: &str) {
    put_text(event, budget, key, std::borrow::Cow::Borrowed(value));
}

/// Inserts a string value under `key` like [`put`], copying the value only when it is kept (a
/// borrowed value is copied once, into its entry; an owned one is moved).
pub fn put_text(
    event: &mut Event,
    budget: &mut Budget,
    key: &str,
    value: std::borrow::Cow<'_, str>,
) {
    if let std::collections::btree_map::Entry::Vacant(slot) = event.vendor.entry(key.to_owned()) {
        let size = if budget.count_bytes {
            key.len() + value.len() + 2
        } else {
            0
        };
        if budget.take(size) {
            slot.insert(Value::String(value.into_owned()));
        }
    }
}

/// Moves every top-level entry of `object` into `event.vendor` under its own key, values as
/// they are (nested objects stay nested), within the budget; entries already in `vendor` are
/// kept. `object` is left empty. Only for a parser that has accepted the record (see
/// [`JsonParser::parse`](crate::registry::JsonParser::parse)).
pub fn keep_object(event: &mut Event, budget: &mut Budget, object: &mut Map<String, Value>) {
    let object = std::mem::take(object);
    if budget.count_bytes || object.len() > budget.entries {
        for (key, value) in object {
            put_owned(event, budget, key, value);
        }
        return;
    }
    // The common case: the map is built in one go from the sorted entries instead of by one
    // insertion each.
    let check_depth = budget.check_depth;
    let kept: std::collections::BTreeMap<String, Value> = object
        .into_iter()
        .map(|(key, mut value)| {
            if check_depth {
                cap_depth(&mut value, MAX_DEPTH);
            }
            (key, value)
        })
        .collect();
    merge(event, budget, kept);
}

/// Puts `entries` into `event.vendor` as [`put_owned`] would one by one, in their order (the
/// first of two equal keys wins, and entries already in `vendor` win), but sorted and merged in
/// one go.
pub fn put_all(event: &mut Event, budget: &mut Budget, mut entries: Vec<(String, Value)>) {
    if budget.count_bytes || entries.len() > budget.entries {
        for (key, value) in entries {
            put_owned(event, budget, key, value);
        }
        return;
    }
    if budget.check_depth {
        for (_, value) in &mut entries {
            cap_depth(value, MAX_DEPTH);
        }
    }
    // Stable: equal keys stay in their order, and `dedup_by` keeps the first of each run.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|later, earlier| later.0 == earlier.0);
    merge(event, budget, entries.into_iter().collect());
}

/// Merges `kept` into `event.vendor`, whose entries win; `kept` holds no more entries than the
/// budget has room for. The smaller map is inserted into the larger one.
fn merge(
    event: &mut Event,
    budget: &mut Budget,
    mut kept: std::collections::BTreeMap<String, Value>,
) {
    let before = event.vendor.len();
    if kept.len() >= before {
        for (key, value) in std::mem::take(&mut event.vendor) {
            kept.insert(key, value);
        }
        event.vendor = kept;
    } else {
        for (key, value) in kept {
            event.vendor.entry(key).or_insert(value);
        }
    }
    budget.entries = budget.entries.saturating_sub(event.vendor.len() - before);
}

// ------------------------------------------------------------------------------------------------
// JSON accessors

/// The value at a path of object keys.
pub fn at<'a>(object: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut value = object.get(*first)?;
    for key in rest {
        value = value.as_object()?.get(*key)?;
    }
    Some(value)
}

/// The string at a path, when it is a non-empty string.
pub fn str_at<'a>(object: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    at(object, path)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A string or a number as text (numbers in their JSON spelling); `None` for other kinds and
/// empty strings.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// As [`text`], borrowing strings instead of copying them.
pub fn text_ref(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match value {
        Value::String(s) if !s.is_empty() => Some(std::borrow::Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// A non-negative integer from a JSON number or a decimal (or `0x` hexadecimal) string.
pub fn unsigned(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => unsigned_str(s),
        _ => None,
    }
}

/// A non-negative integer from decimal or `0x`-prefixed hexadecimal text.
pub fn unsigned_str(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok();
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A TCP/UDP port from a JSON number or numeric string.
pub fn port(value: &Value) -> Option<u16> {
    unsigned(value).and_then(|p| u16::try_from(p).ok())
}

/// A port from text.
pub fn port_str(s: &str) -> Option<u16> {
    unsigned_str(s).and_then(|p| u16::try_from(p).ok())
}

/// Whether `s` is an IPv4 or IPv6 address.
pub fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// `s` as an IP address when it is one, with an IPv4-mapped IPv6 prefix (`::ffff:`) removed.
pub fn ip(s: &str) -> Option<String> {
    let s = s.trim();
    let bare = s.strip_prefix("::ffff:").unwrap_or(s);
    if is_ip(bare) {
        Some(bare.to_owned())
    } else {
        None
    }
}

// ------------------------------------------------------------------------------------------------
// Vocabularies

/// The longest word of the vocabularies below.
const MAX_WORD: usize = 24;

/// `word` trimmed and in ASCII lower case, in `buf`; `None` when it is longer than any word of
/// the vocabularies (so no allocation is needed to look it up).
fn lower_word<'b>(word: &str, buf: &'b mut [u8; MAX_WORD]) -> Option<&'b str> {
    let word = word.trim().as_bytes();
    let out = buf.get_mut(..word.len())?;
    out.copy_from_slice(word);
    out.make_ascii_lowercase();
    std::str::from_utf8(out).ok()
}

/// Severity from a word used by log producers (`warning`, `ERR`, `Very-High`, `crit`).
pub fn severity_word(word: &str) -> Option<Severity> {
    let mut buf = [0; MAX_WORD];
    let severity = match lower_word(word, &mut buf)? {
        "trace" | "debug" | "dbug" | "verbose" | "info" | "information" | "informational"
        | "inf" | "i" | "d" | "t" | "audit_success" => Severity::Info,
        "notice" | "low" | "note" | "audit_failure" => Severity::Low,
        "warn" | "warning" | "wrn" | "w" | "medium" | "moderate" => Severity::Medium,
        "error" | "err" | "eror" | "e" | "high" | "severe" | "important" => Severity::High,
        "crit" | "critical" | "fatal" | "alert" | "emerg" | "emergency" | "panic" | "very-high"
        | "very high" | "veryhigh" | "f" | "c" => Severity::Critical,
        _ => return None,
    };
    Some(severity)
}

/// Severity from a 0-10 scale (CEF, LEEF): 0-3 low, 4-6 medium, 7-8 high, 9-10 critical.
pub fn severity_ten(n: u64) -> Option<Severity> {
    match n {
        0..=3 => Some(Severity::Low),
        4..=6 => Some(Severity::Medium),
        7 | 8 => Some(Severity::High),
        9 | 10 => Some(Severity::Critical),
        _ => None,
    }
}

/// What a security control did, from the word it logs (`blocked`, `allow`, `drop`, `alert`).
pub fn action_word(word: &str) -> Option<Action> {
    let mut buf = [0; MAX_WORD];
    let action = match lower_word(word, &mut buf)? {
        "allow" | "allowed" | "accept" | "accepted" | "permit" | "permitted" | "pass"
        | "passed" | "success" | "ok" | "forward" | "forwarded" => Action::Allowed,
        "block" | "blocked" | "deny" | "denied" | "drop" | "dropped" | "reject" | "rejected"
        | "refuse" | "refused" | "quarantine" | "quarantined" | "prevent" | "prevented"
        | "reset" | "reset-both" | "reset-client" | "reset-server" | "terminate" | "terminated"
        | "cleaned" | "deleted" | "removed" | "failure" | "failed" => Action::Denied,
        "alert" | "alerted" | "detect" | "detected" | "log" | "logged" | "monitor"
        | "monitored" | "observe" | "observed" | "audit" | "notify" | "warn" => Action::Observed,
        _ => return None,
    };
    Some(action)
}

/// An attack type named in free text (an event name or category): the common technique and
/// malware words, in a fixed order of precedence.
pub fn attack_from_text(text: &str) -> Option<&'static str> {
    /// A word, its attack type and its letter set.
    const fn word(text: &'static str, kind: &'static str) -> (&'static str, &'static str, u64) {
        (text, kind, letter_set(text.as_bytes()))
    }
    const WORDS: [(&str, &str, u64); 29] = [
        word("sql injection", "sql_injection"),
        word("sqli", "sql_injection"),
        word("cross-site scripting", "xss"),
        word("cross site scripting", "xss"),
        word("xss", "xss"),
        word("command injection", "remote_code_execution"),
        word("code execution", "remote_code_execution"),
        word("path traversal", "local_file_inclusion"),
        word("directory traversal", "local_file_inclusion"),
        word("brute force", "brute_force"),
        word("brute-force", "brute_force"),
        word("password spray", "brute_force"),
        word("ransomware", "malware"),
        word("trojan", "malware"),
        word("worm", "malware"),
        word("virus", "malware"),
        word("malware", "malware"),
        word("botnet", "malware"),
        word("phishing", "phishing"),
        word("port scan", "scan"),
        word("portscan", "scan"),
        word("scan", "scan"),
        word("denial of service", "denial_of_service"),
        word("ddos", "denial_of_service"),
        word("dos attack", "denial_of_service"),
        word("exploit", "exploit"),
        word("overflow", "exploit"),
        word("privilege escalation", "privilege_escalation"),
        word("credential", "credential_access"),
    ];
    // Most words are ruled out by a letter they need that the text does not have; the rest are
    // searched for without regard to case, without copying the text.
    let letters = letter_set(text.as_bytes());
    WORDS
        .iter()
        .find(|(word, _, needed)| letters & needed == *needed && contains_ignore_case(text, word))
        .map(|(_, kind, _)| *kind)
}

/// The set of ASCII letters (either case), digits, `_`, `/`, `-` and space in `text`, one bit
/// each: a word can only occur in a text whose set holds the word's.
pub const fn letter_set(mut text: &[u8]) -> u64 {
    let mut set = 0;
    while let Some((&b, rest)) = text.split_first() {
        let lower = b.to_ascii_lowercase();
        set |= if lower.is_ascii_lowercase() {
            1 << (lower - b'a')
        } else if lower.is_ascii_digit() {
            1 << (26 + lower - b'0')
        } else {
            match lower {
                b'_' => 1 << 36,
                b'/' => 1 << 37,
                b'-' => 1 << 38,
                b' ' => 1 << 39,
                _ => 0,
            }
        };
        text = rest;
    }
    set
}

/// Whether `haystack` contains `needle` (ASCII), without regard to case and without copying.
pub fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = n.split_first() else {
        return true;
    };
    let Some(last_start) = h.len().checked_sub(n.len()) else {
        return false;
    };
    (0..=last_start).any(|i| {
        h.get(i).is_some_and(|b| b.eq_ignore_ascii_case(&first))
            && h.get(i + 1..i + n.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(rest))
    })
}

/// The outcome from a word (`success`, `failure`, `failed`).
pub fn status_word(word: &str) -> Option<Status> {
    let mut buf = [0; MAX_WORD];
    match lower_word(word, &mut buf)? {
        "success" | "succeeded" | "successful" | "ok" | "true" | "yes" | "allow" | "allowed"
        | "pass" | "passed" => Some(Status::Success),
        "failure" | "failed" | "fail" | "error" | "false" | "no" | "deny" | "denied"
        | "rejected" => Some(Status::Failure),
        _ => None,
    }
}

/// The outcome of an HTTP exchange from its status code: below 400 success, else failure.
pub fn http_status(code: u16) -> Option<Status> {
    match code {
        100..=399 => Some(Status::Success),
        400..=599 => Some(Status::Failure),
        _ => None,
    }
}

/// OCSF HTTP Activity `activity_id` from the request method.
pub fn http_activity(method: &str) -> u8 {
    const METHODS: [(&str, u8); 9] = [
        ("CONNECT", 1),
        ("DELETE", 2),
        ("GET", 3),
        ("HEAD", 4),
        ("OPTIONS", 5),
        ("POST", 6),
        ("PUT", 7),
        ("TRACE", 8),
        ("PATCH", 9),
    ];
    METHODS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(method))
        .map_or(99, |(_, id)| *id)
}

/// A transport protocol name in lower case; IANA protocol numbers are named.
pub fn protocol(name: &str) -> String {
    match name.trim() {
        "1" => "icmp".to_owned(),
        "6" => "tcp".to_owned(),
        "17" => "udp".to_owned(),
        "47" => "gre".to_owned(),
        "50" => "esp".to_owned(),
        "58" => "ipv6-icmp".to_owned(),
        "132" => "sctp".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

/// The path of a URL or request target without its query string (`/login?x=1` to `/login`).
pub fn url_path(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url.get(..end).unwrap_or(url)
}

/// The last component of a Windows or Unix path (`C:\Windows\cmd.exe` to `cmd.exe`).
pub fn file_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

// ------------------------------------------------------------------------------------------------
// Time

/// Sets the event time from a stated timestamp.
pub fn set_time(event: &mut Event, time: Option<(Timestamp, TimeStatus)>) {
    if let Some((ts, status)) = time {
        event.time = ts;
        event.time_status = status;
    }
}

/// Reads a timestamp written as text: ISO 8601 / RFC 3339 (with `T` or a space, with or without
/// fraction and offset), Unix epoch numbers (seconds, milliseconds, microseconds or nanoseconds,
/// told apart by magnitude), and common `strftime` layouts (Apache `10/Oct/2000:13:55:36 -0700`,
/// C `ctime`, `Oct 11 2000 13:55:36`, syslog `Oct 11 13:55:36`). A timestamp without an offset
/// is read in the source's zone and reported [`TimeStatus::Inferred`], as is one without a year.
pub fn parse_time(text: &str, ctx: &ParseContext) -> Option<(Timestamp, TimeStatus)> {
    let t = text.trim();
    if t.is_empty() || t.len() > 64 {
        return None;
    }
    if let Some(found) = iso(t.as_bytes(), ctx) {
        return Some(found);
    }
    if let Some(ts) = epoch_text(t) {
        return Some((ts, TimeStatus::Stated));
    }
    layouts(t, ctx)
}

/// A Unix epoch number given as JSON, in seconds, milliseconds, microseconds or nanoseconds.
pub fn epoch_value(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                epoch_integer(i128::from(i))
            } else {
                let f = n.as_f64()?;
                epoch_float(f)
            }
        }
        _ => None,
    }
}

/// A JSON value that holds a time: a string (see [`parse_time`]) or an epoch number.
pub fn time_value(value: &Value, ctx: &ParseContext) -> Option<(Timestamp, TimeStatus)> {
    match value {
        Value::String(s) => parse_time(s, ctx),
        Value::Number(_) => epoch_value(value).map(|ts| (ts, TimeStatus::Stated)),
        _ => None,
    }
}

/// Plausible instants only: 1990 to 2200. Epoch magnitudes outside that are not timestamps.
const EPOCH_MIN_SECONDS: i128 = 631_152_000;
const EPOCH_MAX_SECONDS: i128 = 7_258_118_400;

fn epoch_integer(n: i128) -> Option<Timestamp> {
    let (seconds, nanos) = if n < 100_000_000_000 {
        (n, 0)
    } else if n < 100_000_000_000_000 {
        (n.div_euclid(1_000), n.rem_euclid(1_000) * 1_000_000)
    } else if n < 100_000_000_000_000_000 {
        (n.div_euclid(1_000_000), n.rem_euclid(1_000_000) * 1_000)
    } else {
        (n.div_euclid(1_000_000_000), n.rem_euclid(1_000_000_000))
    };
    if !(EPOCH_MIN_SECONDS..=EPOCH_MAX_SECONDS).contains(&seconds) {
        return None;
    }
    Timestamp::new(i64::try_from(seconds).ok()?, i32::try_from(nanos).ok()?).ok()
}

fn epoch_float(f: f64) -> Option<Timestamp> {
    if !f.is_finite() || f < 0.0 {
        return None;
    }
    if f >= 100_000_000_000.0 {
        // Milliseconds or finer with a fraction: the integer part decides.
        #[allow(clippy::cast_possible_truncation)]
        let whole = f.trunc() as i128;
        return epoch_integer(whole);
    }
    #[allow(clippy::cast_possible_truncation)]
    let seconds = f.trunc() as i128;
    #[allow(clippy::cast_possible_truncation)]
    let nanos = ((f - f.trunc()) * 1e9).round() as i32;
    if !(EPOCH_MIN_SECONDS..=EPOCH_MAX_SECONDS).contains(&seconds) {
        return None;
    }
    Timestamp::new(i64::try_from(seconds).ok()?, nanos.clamp(0, 999_999_999)).ok()
}

/// Epoch digits with an optional fraction (`1545938140`, `1545938140123`, `1545938140.123`).
fn epoch_text(t: &str) -> Option<Timestamp> {
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (t, None),
    };
    if whole.is_empty() || whole.len() > 19 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i128 = whole.parse().ok()?;
    match frac {
        None => epoch_integer(n),
        Some(f) => {
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            if n >= 100_000_000_000 {
                return epoch_integer(n);
            }
            let digits = f.get(..f.len().min(9)).unwrap_or(f);
            let scale = 10i64.pow(u32::try_from(9 - digits.len()).ok()?);
            let nanos = digits.parse::<i64>().ok()? * scale;
            if !(EPOCH_MIN_SECONDS..=EPOCH_MAX_SECONDS).contains(&n) {
                return None;
            }
            Timestamp::new(i64::try_from(n).ok()?, i32::try_from(nanos).ok()?).ok()
        }
    }
}

/// Reads `n` ASCII digits at the start of `s`.
fn digits(s: &[u8], n: usize) -> Option<i32> {
    let field = s.get(..n)?;
    let mut value = 0i32;
    for &b in field {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i32::from(b - b'0');
    }
    Some(value)
}

/// ISO 8601 date and time: `YYYY-MM-DD[T ]hh:mm:ss[.f][Z|±hh[:mm]|±hhmm| UTC]`. Minutes-only
/// times (`hh:mm`) are accepted too.
fn iso(s: &[u8], ctx: &ParseContext) -> Option<(Timestamp, TimeStatus)> {
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return None;
    }
    let year = digits(s, 4)?;
    let month = digits(s.get(5..)?, 2)?;
    let day = digits(s.get(8..)?, 2)?;
    if !matches!(s.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = digits(s.get(11..)?, 2)?;
    if s.get(13) != Some(&b':') {
        return None;
    }
    let minute = digits(s.get(14..)?, 2)?;
    let mut pos = 16;
    let mut second = 0;
    if s.get(pos) == Some(&b':') {
        second = digits(s.get(pos + 1..)?, 2)?;
        pos += 3;
    }
    let mut nanos = 0i32;
    if matches!(s.get(pos), Some(b'.' | b',')) {
        let frac = s.get(pos + 1..)?;
        let count = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 {
            return None;
        }
        let kept = count.min(9);
        nanos = digits(frac, kept)? * 10i32.pow(u32::try_from(9 - kept).ok()?);
        pos += 1 + count;
    }
    let zone = s.get(pos..)?;
    let zone = match zone {
        [b' ', rest @ ..] => rest,
        other => other,
    };
    let offset = match zone {
        [] => None,
        [b'Z' | b'z'] => Some(Offset::UTC),
        b"UTC" | b"GMT" | b"utc" | b"gmt" => Some(Offset::UTC),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [_, _] => (digits(rest, 2)?, 0),
                [_, _, b':', _, _] => (digits(rest, 2)?, digits(rest.get(3..)?, 2)?),
                [_, _, _, _] => (digits(rest, 2)?, digits(rest.get(2..)?, 2)?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let secs = h * 3600 + m * 60;
            Some(Offset::from_seconds(if *sign == b'-' { -secs } else { secs }).ok()?)
        }
        _ => return None,
    };
    let dt = DateTime::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    match offset {
        Some(offset) => Some((offset.to_timestamp(dt).ok()?, TimeStatus::Stated)),
        None => Some((ctx.time_zone.to_timestamp(dt).ok()?, TimeStatus::Inferred)),
    }
}

/// `strftime` layouts tried after ISO 8601 and epoch numbers, with whether they carry a year.
const LAYOUTS: &[(&str, bool)] = &[
    ("%d/%b/%Y:%H:%M:%S%.f %z", true),
    ("%a %b %e %H:%M:%S %Y", true),
    ("%a %b %e %H:%M:%S%.f %Y", true),
    ("%b %e %Y %H:%M:%S%.f", true),
    ("%b %e, %Y %H:%M:%S%.f", true),
    ("%d %b %Y %H:%M:%S%.f", true),
    ("%Y/%m/%d %H:%M:%S%.f", true),
    ("%m/%d/%Y %H:%M:%S%.f", true),
    ("%m/%d/%Y %I:%M:%S %p", true),
    ("%b %e %H:%M:%S%.f", false),
];

fn layouts(t: &str, ctx: &ParseContext) -> Option<(Timestamp, TimeStatus)> {
    // A trailing zone name: UTC/GMT/Z are honoured, others dropped (the source zone is used).
    let (body, utc) = match t.rsplit_once(' ') {
        Some((body, zone))
            if !zone.is_empty()
                && zone.len() <= 5
                && zone.bytes().all(|b| b.is_ascii_alphabetic())
                && !zone.eq_ignore_ascii_case("am")
                && !zone.eq_ignore_ascii_case("pm")
                && body.bytes().any(|b| b.is_ascii_digit()) =>
        {
            let is_utc = ["UTC", "GMT", "Z"]
                .iter()
                .any(|z| zone.eq_ignore_ascii_case(z));
            (body, is_utc)
        }
        _ => (t, false),
    };
    // Collapse runs of spaces (`Nov  9`) so that one layout fits both paddings.
    let mut normal = String::with_capacity(body.len());
    let mut last_space = false;
    for c in body.chars() {
        if c == ' ' {
            if !last_space {
                normal.push(c);
            }
            last_space = true;
        } else {
            normal.push(c);
            last_space = false;
        }
    }
    let first = normal.bytes().next().unwrap_or(b' ');
    let has_slash = normal.contains('/');
    let has_space = normal.contains(' ');
    for (layout, has_year) in LAYOUTS {
        // Cheap rejections before asking the layout parser.
        let plausible = match layout.as_bytes().get(..2) {
            Some(b"%a" | b"%b") => first.is_ascii_alphabetic() && has_space,
            Some(b"%d" | b"%Y" | b"%m") => {
                first.is_ascii_digit()
                    && (has_space || has_slash)
                    && (has_slash || layout.contains(" %b"))
            }
            _ => true,
        };
        if !plausible {
            continue;
        }
        let Ok(parsed) = strtime::parse(layout, &normal) else {
            continue;
        };
        if let Some(offset) = parsed.offset() {
            let dt = parsed.to_datetime().ok()?;
            return Some((offset.to_timestamp(dt).ok()?, TimeStatus::Stated));
        }
        if *has_year {
            let dt = parsed.to_datetime().ok()?;
            return civil_in(dt, utc, ctx);
        }
        let dt = with_inferred_year(&parsed, utc, ctx)?;
        return Some((dt, TimeStatus::Inferred));
    }
    None
}

/// A civil date-time in UTC or the source's zone.
fn civil_in(dt: DateTime, utc: bool, ctx: &ParseContext) -> Option<(Timestamp, TimeStatus)> {
    if utc {
        Some((Offset::UTC.to_timestamp(dt).ok()?, TimeStatus::Stated))
    } else {
        Some((ctx.time_zone.to_timestamp(dt).ok()?, TimeStatus::Inferred))
    }
}

/// A year-less time placed in the latest year that is not more than a week after receipt.
fn with_inferred_year(
    parsed: &strtime::BrokenDownTime,
    utc: bool,
    ctx: &ParseContext,
) -> Option<Timestamp> {
    let zone = if utc {
        TimeZone::UTC
    } else {
        ctx.time_zone.clone()
    };
    let received_year = zone.to_datetime(ctx.received).year();
    let month = parsed.month()?;
    let day = parsed.day()?;
    let hour = parsed.hour().unwrap_or(0);
    let minute = parsed.minute().unwrap_or(0);
    let second = parsed.second().unwrap_or(0);
    let nanos = parsed.subsec_nanosecond().unwrap_or(0);
    let mut best: Option<Timestamp> = None;
    for year in [received_year - 1, received_year, received_year + 1] {
        let Ok(dt) = DateTime::new(year, month, day, hour, minute, second, nanos) else {
            continue;
        };
        let Ok(ts) = zone.to_timestamp(dt) else {
            continue;
        };
        let ahead = ts.as_second() - ctx.received.as_second();
        if ahead <= 7 * 24 * 3600 && best.is_none_or(|b| ts > b) {
            best = Some(ts);
        }
    }
    best
}

/// Reads `text` with a Java `SimpleDateFormat` pattern (LEEF's `devTimeFormat`, CEF's `rt` in
/// some products). Supports `y M d H h m s S a E z Z X` and quoted literals.
pub fn parse_java_time(
    text: &str,
    pattern: &str,
    ctx: &ParseContext,
) -> Option<(Timestamp, TimeStatus)> {
    if pattern.len() > 64 || text.len() > 64 {
        return None;
    }
    let mut layout = String::with_capacity(pattern.len() * 2);
    let mut drop_zone_name = false;
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let run = chars
            .get(i..)
            .map_or(0, |r| r.iter().take_while(|&&x| x == c).count());
        match c {
            '\'' => {
                // Quoted literal up to the next quote; '' is a literal quote.
                let mut j = i + 1;
                if chars.get(j) == Some(&'\'') {
                    layout.push('\'');
                    i = j + 1;
                    continue;
                }
                while let Some(&q) = chars.get(j) {
                    if q == '\'' {
                        break;
                    }
                    if q == '%' {
                        layout.push_str("%%");
                    } else {
                        layout.push(q);
                    }
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            'y' | 'u' => layout.push_str(if run == 2 { "%y" } else { "%Y" }),
            'M' | 'L' => layout.push_str(match run {
                1 | 2 => "%m",
                3 => "%b",
                _ => "%B",
            }),
            'd' => layout.push_str("%d"),
            'H' | 'k' => layout.push_str("%H"),
            'h' | 'K' => layout.push_str("%I"),
            'm' => layout.push_str("%M"),
            's' => layout.push_str("%S"),
            'S' => layout.push_str("%f"),
            'a' => layout.push_str("%p"),
            'E' => layout.push_str(if run >= 4 { "%A" } else { "%a" }),
            'Z' => layout.push_str("%z"),
            'X' | 'x' => layout.push_str(if run >= 3 { "%:z" } else { "%z" }),
            'z' => drop_zone_name = true,
            '%' => layout.push_str("%%"),
            other => {
                for _ in 0..run {
                    layout.push(other);
                }
            }
        }
        i += run.max(1);
    }
    let mut input = text.trim();
    let mut utc = false;
    if drop_zone_name {
        // The zone name is the last space-separated token; only UTC/GMT are understood.
        if let Some((body, zone)) = input.rsplit_once(' ') {
            utc = ["UTC", "GMT", "Z"]
                .iter()
                .any(|z| zone.eq_ignore_ascii_case(z));
            input = body;
        }
        let trimmed = layout.trim_end().to_owned();
        layout = trimmed;
    }
    let parsed = strtime::parse(&layout, input).ok()?;
    if let Some(offset) = parsed.offset() {
        let dt = parsed.to_datetime().ok()?;
        return Some((offset.to_timestamp(dt).ok()?, TimeStatus::Stated));
    }
    if parsed.year().is_some() {
        return civil_in(parsed.to_datetime().ok()?, utc, ctx);
    }
    with_inferred_year(&parsed, utc, ctx).map(|ts| (ts, TimeStatus::Inferred))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ParseContext {
        ParseContext::new(
            "2026-03-01T12:00:00Z".parse().unwrap(),
            TimeZone::get("Europe/Berlin").unwrap(),
        )
    }

    fn at(s: &str) -> (String, TimeStatus) {
        let (ts, status) = parse_time(s, &ctx()).unwrap_or_else(|| panic!("{s} not parsed"));
        (ts.to_string(), status)
    }

    #[test]
    fn iso_spellings() {
        let stated = TimeStatus::Stated;
        assert_eq!(
            at("2011-08-12T14:52:57.716360+0200"),
            ("2011-08-12T12:52:57.71636Z".into(), stated)
        );
        assert_eq!(
            at("2019-11-18T04:40:56Z"),
            ("2019-11-18T04:40:56Z".into(), stated)
        );
        assert_eq!(
            at("2021-03-31T12:03:33.169332+03:00"),
            ("2021-03-31T09:03:33.169332Z".into(), stated)
        );
        assert_eq!(
            at("2019-12-18T16:35:16.6816525Z"),
            ("2019-12-18T16:35:16.6816525Z".into(), stated)
        );
        // No offset: the source zone (Berlin, UTC+1 in winter) and Inferred.
        assert_eq!(
            at("2017-12-19 17:45:02"),
            ("2017-12-19T16:45:02Z".into(), TimeStatus::Inferred)
        );
        assert_eq!(
            at("2025-11-27 07:40:10.132 UTC"),
            ("2025-11-27T07:40:10.132Z".into(), stated)
        );
    }

    #[test]
    fn epochs_by_magnitude() {
        assert_eq!(at("1545938140").0, "2018-12-27T19:15:40Z");
        assert_eq!(at("1545938140123").0, "2018-12-27T19:15:40.123Z");
        assert_eq!(at("1545938140.5").0, "2018-12-27T19:15:40.5Z");
        assert_eq!(
            at("1545938140123456789").0,
            "2018-12-27T19:15:40.123456789Z"
        );
        assert!(parse_time("42", &ctx()).is_none());
        let v: Value = serde_json::json!(1_545_938_140.25);
        assert_eq!(
            epoch_value(&v).unwrap().to_string(),
            "2018-12-27T19:15:40.25Z"
        );
    }

    #[test]
    fn layouts_of_common_producers() {
        assert_eq!(
            at("29/Nov/2026:01:41:48.778841 +0000"),
            ("2026-11-29T01:41:48.778841Z".into(), TimeStatus::Stated)
        );
        assert_eq!(
            at("Sun Nov 29 01:41:19 2026"),
            ("2026-11-29T00:41:19Z".into(), TimeStatus::Inferred)
        );
        assert_eq!(
            at("Dec 27 2018 11:15:40 UTC"),
            ("2018-12-27T11:15:40Z".into(), TimeStatus::Stated)
        );
        // No year: placed before the receive time (1 March 2026).
        assert_eq!(
            at("Dec 27 11:15:40"),
            ("2025-12-27T10:15:40Z".into(), TimeStatus::Inferred)
        );
        assert!(parse_time("yesterday", &ctx()).is_none());
        assert!(parse_time("2026-02-30T00:00:00Z", &ctx()).is_none());
    }

    #[test]
    fn java_patterns() {
        let c = ctx();
        let (ts, status) =
            parse_java_time("Jan 18 2019 11:07:53", "MMM dd yyyy HH:mm:ss", &c).unwrap();
        assert_eq!(ts.to_string(), "2019-01-18T10:07:53Z");
        assert_eq!(status, TimeStatus::Inferred);
        let (ts, status) = parse_java_time(
            "2019-01-18 11:07:53.520 +0700",
            "yyyy-MM-dd HH:mm:ss.SSS Z",
            &c,
        )
        .unwrap();
        assert_eq!(ts.to_string(), "2019-01-18T04:07:53.52Z");
        assert_eq!(status, TimeStatus::Stated);
        let (ts, _) =
            parse_java_time("18/01/2019 11:07:53 UTC", "dd/MM/yyyy HH:mm:ss z", &c).unwrap();
        assert_eq!(ts.to_string(), "2019-01-18T11:07:53Z");
        assert!(parse_java_time("nonsense", "yyyy", &c).is_none());
    }

    #[test]
    fn vocabularies_ignore_case_and_surrounding_space() {
        assert_eq!(severity_word(" WARNING "), Some(Severity::Medium));
        assert_eq!(severity_word("Very-High"), Some(Severity::Critical));
        assert_eq!(severity_word("Audit_Failure"), Some(Severity::Low));
        assert_eq!(severity_word("informational-and-much-longer"), None);
        assert_eq!(severity_word(""), None);
        assert_eq!(severity_word("ÉRROR"), None);
        assert_eq!(action_word("Reset-Client"), Some(Action::Denied));
        assert_eq!(action_word("ALLOW"), Some(Action::Allowed));
        assert_eq!(action_word("maybe"), None);
        assert_eq!(status_word("FAILED "), Some(Status::Failure));
        assert_eq!(status_word("Ok"), Some(Status::Success));
        assert_eq!(http_activity("get"), 3);
        assert_eq!(http_activity("PATCH"), 9);
        assert_eq!(http_activity("BREW"), 99);
    }

    #[test]
    fn attack_words_are_found_without_regard_to_case() {
        assert_eq!(
            attack_from_text("Detected SQL Injection attempt"),
            Some("sql_injection")
        );
        assert_eq!(attack_from_text("Cross-Site Scripting"), Some("xss"));
        assert_eq!(attack_from_text("W32/VIRUS found"), Some("malware"));
        assert_eq!(attack_from_text("Brute-Force login"), Some("brute_force"));
        // Precedence follows the list, not the position in the text.
        assert_eq!(attack_from_text("exploit after a port scan"), Some("scan"));
        assert_eq!(attack_from_text("DoS Attack"), Some("denial_of_service"));
        assert_eq!(attack_from_text("nothing to see"), None);
        assert_eq!(attack_from_text(""), None);
        assert!(contains_ignore_case("aBc", "ABC"));
        assert!(contains_ignore_case("xxabc", "bc"));
        assert!(!contains_ignore_case("ab", "abc"));
        assert!(!contains_ignore_case("a-b-c", "abc"));
        let set = letter_set(b"Port Scan_9/-");
        assert_eq!(set & letter_set(b"scan"), letter_set(b"scan"));
        assert_ne!(set & letter_set(b"xss"), letter_set(b"xss"));
    }

    fn blank() -> Event {
        Event::unparsed(
            shieldwall_core::RecordId::derive("t", &["1"]),
            shieldwall_core::TenantId::default(),
            "s",
            "2026-01-01T00:00:00Z".parse().unwrap(),
            "raw",
        )
    }

    fn object(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn keep_object_moves_top_level_entries_as_they_are() {
        let text = r#"{"a":{"b":{"c":1}},"list":[1,2],"s":"x","EventID":"kept first"}"#;
        let mut e = blank();
        e.vendor.insert("EventID".into(), Value::from(4624));
        let mut o = object(text);
        let mut budget = Budget::for_text(text);
        keep_object(&mut e, &mut budget, &mut o);
        budget.finish(&mut e);
        assert!(o.is_empty(), "the values were moved out");
        assert_eq!(e.vendor["a"], serde_json::json!({"b": {"c": 1}}));
        assert_eq!(e.text_field("vendor.a.b.c").as_deref(), Some("1"));
        assert!(!e.vendor.contains_key("a.b.c"), "not flattened");
        assert_eq!(e.vendor["list"], serde_json::json!([1, 2]));
        assert_eq!(e.vendor["s"], "x");
        assert_eq!(e.vendor["EventID"], 4624, "an existing entry wins");
        assert!(e.unmapped.is_empty());

        // Into an empty vendor (the one-go path).
        let mut e = blank();
        let mut o = object(text);
        let mut budget = Budget::for_text(text);
        keep_object(&mut e, &mut budget, &mut o);
        assert_eq!(e.vendor.len(), 4);
        assert_eq!(e.vendor["EventID"], "kept first");
    }

    #[test]
    fn put_all_keeps_the_first_of_equal_keys_and_what_vendor_has() {
        let mut e = blank();
        e.vendor.insert("EventID".into(), Value::from(4624));
        let mut budget = Budget::for_text("{}");
        let entries = vec![
            ("b".to_owned(), Value::from(1)),
            ("EventID".to_owned(), Value::from("data")),
            ("a".to_owned(), Value::from(2)),
            ("b".to_owned(), Value::from(3)),
        ];
        put_all(&mut e, &mut budget, entries);
        assert_eq!(e.vendor["EventID"], 4624);
        assert_eq!(e.vendor["b"], 1);
        assert_eq!(e.vendor["a"], 2);
        assert_eq!(e.vendor.len(), 3);
        assert_eq!(budget.entries, MAX_VENDOR_ENTRIES - 2);
        // Then an object: existing entries still win, new ones are counted.
        let mut o = object(r#"{"a":"object","c":[1]}"#);
        keep_object(&mut e, &mut budget, &mut o);
        assert_eq!(e.vendor["a"], 2);
        assert_eq!(e.vendor["c"], serde_json::json!([1]));
        assert_eq!(budget.entries, MAX_VENDOR_ENTRIES - 3);
        // More entries than the budget has room for: one by one, up to the bound.
        let many: Vec<(String, Value)> = (0..MAX_VENDOR_ENTRIES)
            .map(|i| (format!("k{i:04}"), Value::from(i)))
            .collect();
        put_all(&mut e, &mut budget, many);
        budget.finish(&mut e);
        // `EventID` was put outside the budget.
        assert_eq!(e.vendor.len(), MAX_VENDOR_ENTRIES + 1);
        assert!(e.vendor.contains_key("k0000"));
        assert_eq!(e.unmapped[TRUNCATED_KEY], true);
    }

    #[test]
    fn keep_object_bounds_entries_bytes_and_depth() {
        // Entries: the first MAX_VENDOR_ENTRIES in key order.
        let mut big = Map::new();
        for i in 0..2 * MAX_VENDOR_ENTRIES {
            big.insert(format!("k{i:04}"), Value::from(i));
        }
        let text = Value::Object(big.clone()).to_string();
        let mut e = blank();
        let mut budget = Budget::for_text(&text);
        keep_object(&mut e, &mut budget, &mut big);
        budget.finish(&mut e);
        assert_eq!(e.vendor.len(), MAX_VENDOR_ENTRIES);
        assert!(e.vendor.contains_key("k0000"));
        assert!(!e.vendor.contains_key(&format!("k{MAX_VENDOR_ENTRIES:04}")));
        assert_eq!(e.unmapped[TRUNCATED_KEY], true);

        // Bytes: counted for a text longer than the allowance, and only then.
        let blob = "y".repeat(MAX_VENDOR_BYTES + 10);
        let text = serde_json::json!({"blob": blob, "small": 1}).to_string();
        let mut e = blank();
        let mut budget = Budget::for_text(&text);
        keep_object(&mut e, &mut budget, &mut object(&text));
        budget.finish(&mut e);
        assert!(!e.vendor.contains_key("blob"));
        assert_eq!(e.vendor["small"], 1);
        assert_eq!(e.unmapped[TRUNCATED_KEY], true);
        let short = r#"{"blob":"yyyy"}"#;
        assert!(!Budget::for_text(short).count_bytes);
        assert!(Budget::new().count_bytes);

        // Depth: nesting up to MAX_DEPTH is kept as it is; deeper containers become their text.
        let mut deep = serde_json::json!({"leaf": [1]});
        for _ in 0..MAX_DEPTH + 2 {
            deep = serde_json::json!({ "n": deep });
        }
        let text = serde_json::json!({"deep": deep, "flat": 1}).to_string();
        assert!(Budget::for_text(&text).check_depth);
        assert!(!Budget::for_text(r#"{"a":{"b":[1]}}"#).check_depth);
        let mut e = blank();
        let mut budget = Budget::for_text(&text);
        keep_object(&mut e, &mut budget, &mut object(&text));
        budget.finish(&mut e);
        assert!(e.unmapped.is_empty());
        let cut = format!("vendor.deep{}", ".n".repeat(MAX_DEPTH));
        assert_eq!(
            e.text_field(&cut).as_deref(),
            Some(r#"{"n":{"n":{"leaf":[1]}}}"#),
            "the container at level MAX_DEPTH + 1 is kept as its text"
        );
        let above = format!("vendor.deep{}", ".n".repeat(MAX_DEPTH - 1));
        assert!(e.text_field(&above).unwrap().starts_with(r#"{"n":"{\"n\""#));
        let mut depth = 0;
        let mut value = &e.vendor["deep"];
        while let Some(inner) = value.get("n") {
            depth += 1;
            value = inner;
        }
        assert_eq!(depth, MAX_DEPTH);
        assert!(value.is_string());
    }
}
