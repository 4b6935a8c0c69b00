//! Helpers shared by the structured parsers: bounded copying of original fields into
//! [`Event::vendor`], timestamp reading (ISO 8601 in its common spellings, epoch numbers, the
//! handful of `strftime` layouts that log producers use, Java `SimpleDateFormat` patterns), and
//! the small vocabularies (severity words, security-control actions, HTTP methods, IP protocol
//! numbers) that several formats share.
//!
//! Everything here is total: it never panics and returns `None` for input it does not understand.

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

/// The most entries a parser copies into [`Event::vendor`] from one record.
pub const MAX_VENDOR_ENTRIES: usize = 512;

/// The most bytes (keys plus an estimate of the values' size) copied into [`Event::vendor`] from
/// one record. The raw text is always kept whole in [`Event::raw`]; this only bounds the copy.
pub const MAX_VENDOR_BYTES: usize = 256 * 1024;

/// How deep nested objects are flattened into dotted names; deeper objects are kept whole as JSON
/// under the name reached at this depth.
pub const MAX_DEPTH: usize = 8;

/// The key set in [`Event::unmapped`] when a record had more fields than the bounds allow.
pub const TRUNCATED_KEY: &str = "vendor_truncated";

/// What is left of the vendor-field allowance of one record.
#[derive(Debug)]
pub struct Budget {
    entries: usize,
    bytes: usize,
    truncated: bool,
}

impl Budget {
    /// The full allowance.
    pub fn new() -> Budget {
        Budget {
            entries: MAX_VENDOR_ENTRIES,
            bytes: MAX_VENDOR_BYTES,
            truncated: false,
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

/// Inserts `key = value` into `event.vendor` if the budget allows. An existing entry is kept.
pub fn put(event: &mut Event, budget: &mut Budget, key: &str, value: Value) {
    put_owned(event, budget, key.to_owned(), value);
}

/// Inserts `key = value` like [`put`], taking an owned key (no copy).
pub fn put_owned(event: &mut Event, budget: &mut Budget, key: String, value: Value) {
    let size = key.len() + size_of(&value, budget.bytes.saturating_add(1));
    if let std::collections::btree_map::Entry::Vacant(slot) = event.vendor.entry(key)
        && budget.take(size)
    {
        slot.insert(value);
    }
}

/// Inserts a string value under `key` (see [`put`]).
pub fn put_str(event: &mut Event, budget: &mut Budget, key: &str, value: &str) {
    put(event, budget, key, Value::String(value.to_owned()));
}

/// Copies every field of `object` into `event.vendor`: scalars and arrays under their dotted path
/// (`alert.signature_id`), nested objects flattened down to [`MAX_DEPTH`]. `prefix` is prepended
/// with a dot when not empty. Keys in `skip` (top level only) are left out.
pub fn flatten(
    event: &mut Event,
    budget: &mut Budget,
    prefix: &str,
    object: &Map<String, Value>,
    skip: &[&str],
) {
    let mut path = String::with_capacity(64);
    path.push_str(prefix);
    for (key, value) in object {
        if skip.contains(&key.as_str()) {
            continue;
        }
        flatten_value(event, budget, &mut path, key, value, 1);
    }
}

fn flatten_value(
    event: &mut Event,
    budget: &mut Budget,
    path: &mut String,
    key: &str,
    value: &Value,
    depth: usize,
) {
    let keep = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
    match value {
        Value::Object(map) if depth < MAX_DEPTH && !map.is_empty() => {
            for (k, v) in map {
                if budget.entries == 0 {
                    budget.truncated = true;
                    break;
                }
                flatten_value(event, budget, path, k, v, depth + 1);
            }
        }
        other => put(event, budget, path, other.clone()),
    }
    path.truncate(keep);
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

/// Severity from a word used by log producers (`warning`, `ERR`, `Very-High`, `crit`).
pub fn severity_word(word: &str) -> Option<Severity> {
    let w = word.trim().to_ascii_lowercase();
    let severity = match w.as_str() {
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
    let w = word.trim().to_ascii_lowercase();
    let action = match w.as_str() {
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
    const WORDS: &[(&str, &str)] = &[
        ("sql injection", "sql_injection"),
        ("sqli", "sql_injection"),
        ("cross-site scripting", "xss"),
        ("cross site scripting", "xss"),
        ("xss", "xss"),
        ("command injection", "remote_code_execution"),
        ("code execution", "remote_code_execution"),
        ("path traversal", "local_file_inclusion"),
        ("directory traversal", "local_file_inclusion"),
        ("brute force", "brute_force"),
        ("brute-force", "brute_force"),
        ("password spray", "brute_force"),
        ("ransomware", "malware"),
        ("trojan", "malware"),
        ("worm", "malware"),
        ("virus", "malware"),
        ("malware", "malware"),
        ("botnet", "malware"),
        ("phishing", "phishing"),
        ("port scan", "scan"),
        ("portscan", "scan"),
        ("scan", "scan"),
        ("denial of service", "denial_of_service"),
        ("ddos", "denial_of_service"),
        ("dos attack", "denial_of_service"),
        ("exploit", "exploit"),
        ("overflow", "exploit"),
        ("privilege escalation", "privilege_escalation"),
        ("credential", "credential_access"),
    ];
    let lower = text.to_ascii_lowercase();
    WORDS
        .iter()
        .find(|(word, _)| lower.contains(word))
        .map(|(_, kind)| *kind)
}

/// The outcome from a word (`success`, `failure`, `failed`).
pub fn status_word(word: &str) -> Option<Status> {
    let w = word.trim().to_ascii_lowercase();
    match w.as_str() {
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
    match method.to_ascii_uppercase().as_str() {
        "CONNECT" => 1,
        "DELETE" => 2,
        "GET" => 3,
        "HEAD" => 4,
        "OPTIONS" => 5,
        "POST" => 6,
        "PUT" => 7,
        "TRACE" => 8,
        "PATCH" => 9,
        _ => 99,
    }
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
    fn budget_bounds_entries_and_flattening_uses_dotted_paths() {
        let mut e = Event::unparsed(
            shieldwall_core::RecordId::derive("t", &["1"]),
            shieldwall_core::TenantId::default(),
            "s",
            "2026-01-01T00:00:00Z".parse().unwrap(),
            "raw",
        );
        let object: Map<String, Value> =
            serde_json::from_str(r#"{"a":{"b":{"c":1}},"list":[1,2],"s":"x","skip":true}"#)
                .unwrap();
        let mut budget = Budget::new();
        flatten(&mut e, &mut budget, "", &object, &["skip"]);
        budget.finish(&mut e);
        assert_eq!(e.vendor["a.b.c"], 1);
        assert_eq!(e.vendor["list"], serde_json::json!([1, 2]));
        assert_eq!(e.vendor["s"], "x");
        assert!(!e.vendor.contains_key("skip"));
        assert!(e.unmapped.is_empty());

        let mut big = Map::new();
        for i in 0..2 * MAX_VENDOR_ENTRIES {
            big.insert(format!("k{i}"), Value::from(i));
        }
        let mut e2 = e.clone();
        e2.vendor.clear();
        let mut budget = Budget::new();
        flatten(&mut e2, &mut budget, "", &big, &[]);
        budget.finish(&mut e2);
        assert_eq!(e2.vendor.len(), MAX_VENDOR_ENTRIES);
        assert_eq!(e2.unmapped[TRUNCATED_KEY], true);
    }
}
