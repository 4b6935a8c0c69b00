//! Helpers shared by the text parsers: numbers, addresses, civil timestamps, the daemon that
//! wrote a line, and the setters that every parser uses for `vendor`, `unmapped` and severity.
//!
//! Everything here works on borrowed slices and never panics; the only allocations are the
//! strings stored into the event.

use std::net::IpAddr;

use jiff::{Timestamp, civil::DateTime, tz::Offset};
use serde_json::Value;
use shieldwall_core::event::{Event, TimeStatus};

use crate::registry::Message;

/// `s` as a number, when it is 1 to 18 ASCII digits.
pub(super) fn number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `s` as a port.
pub(super) fn port(s: &str) -> Option<u16> {
    number(s).and_then(|n| u16::try_from(n).ok())
}

/// `s` as a process id.
pub(super) fn pid(s: &str) -> Option<u32> {
    number(s).and_then(|n| u32::try_from(n).ok())
}

/// The leading ASCII digits of `s` and the rest.
pub(super) fn leading_digits(s: &str) -> (&str, &str) {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    (s.get(..n).unwrap_or(""), s.get(n..).unwrap_or(""))
}

/// The canonical text of an IP address (`0000:...:0001` becomes `::1`), or `None` when `s` is
/// not an address.
pub(super) fn ip(s: &str) -> Option<String> {
    match s.parse::<IpAddr>().ok()? {
        // The IPv4 parser accepts only the canonical dotted quad: the text is already canonical.
        IpAddr::V4(_) => Some(s.to_owned()),
        v6 => Some(v6.to_string()),
    }
}

/// Sets the source endpoint from a host that may be an address or a name. Empty, `-` and `?`
/// (audit's "unknown") are ignored.
pub(super) fn set_src_host(event: &mut Event, host: &str) {
    if matches!(host, "" | "-" | "?" | "[local]") {
        return;
    }
    match ip(host) {
        Some(addr) => event.src().ip = Some(addr),
        None => event.src().hostname = Some(host.to_owned()),
    }
}

/// Splits `host:port`, `[v6]:port` and `v6:port` (Apache writes IPv6 clients without brackets).
/// A bare address or name comes back without a port.
pub(super) fn split_host_port(s: &str) -> (&str, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        return (host, after.strip_prefix(':').and_then(port));
    }
    if s.parse::<IpAddr>().is_ok() {
        return (s, None);
    }
    match s.rsplit_once(':') {
        Some((host, p)) if port(p).is_some() => (host, port(p)),
        _ => (s, None),
    }
}

/// Records the daemon that wrote the line as the acting process: the syslog program (or
/// `default` when the line came without one) and its pid.
pub(super) fn set_daemon(event: &mut Event, message: &Message<'_>, default: &str) {
    let name = message.program.unwrap_or(default).to_owned();
    let process = event.actor_process();
    process.name = Some(name);
    process.pid = message.pid.and_then(pid);
}

/// Whether the message's program is one of `names` (compared case-insensitively).
pub(super) fn program_is(message: &Message<'_>, names: &[&str]) -> bool {
    message
        .program
        .is_some_and(|p| names.iter().any(|n| p.eq_ignore_ascii_case(n)))
}

/// Stores an original field under its own name.
pub(super) fn vendor(event: &mut Event, key: &str, value: impl Into<Value>) {
    event.vendor.insert(key.to_owned(), value.into());
}

/// Stores an extracted field that has no normalised home and no original name.
pub(super) fn unmapped(event: &mut Event, key: &str, value: impl Into<Value>) {
    event.unmapped.insert(key.to_owned(), value.into());
}

/// A JSON value for a field: a number when the text is a plain decimal number, else a string.
pub(super) fn scalar(s: &str) -> Value {
    match number(s) {
        Some(n) if !(s.len() > 1 && s.starts_with('0')) => Value::from(n),
        _ => Value::from(s),
    }
}

/// Month number from its English three-letter abbreviation.
pub(super) fn month(s: &str) -> Option<i8> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS
        .iter()
        .position(|m| *m == s)
        .and_then(|i| i8::try_from(i + 1).ok())
}

/// A date and time as written in a log line, before a zone is applied.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Civil {
    pub year: i16,
    pub month: i8,
    pub day: i8,
    pub hour: i8,
    pub minute: i8,
    pub second: i8,
    pub nanosecond: i32,
}

impl Civil {
    /// The instant, in `offset` when the text stated one ([`TimeStatus::Stated`]) or else in the
    /// source's zone from the parse context ([`TimeStatus::Inferred`]). `None` when the fields do
    /// not form a real date and time.
    pub(super) fn resolve(
        self,
        offset: Option<Offset>,
        message: &Message<'_>,
    ) -> Option<(Timestamp, TimeStatus)> {
        let dt = DateTime::new(
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.nanosecond,
        )
        .ok()?;
        match offset {
            Some(offset) => offset
                .to_timestamp(dt)
                .ok()
                .map(|t| (t, TimeStatus::Stated)),
            None => message
                .context
                .time_zone
                .to_timestamp(dt)
                .ok()
                .map(|t| (t, TimeStatus::Inferred)),
        }
    }
}

/// Sets the event time from a resolved timestamp, when there is one.
pub(super) fn set_time(event: &mut Event, time: Option<(Timestamp, TimeStatus)>) {
    if let Some((time, status)) = time {
        event.time = time;
        event.time_status = status;
    }
}

/// Exactly `n` ASCII digits at the start of `s`, as a number.
pub(super) fn digits(s: &[u8], n: usize) -> Option<u32> {
    let field = s.get(..n)?;
    field.iter().try_fold(0u32, |v, &b| {
        b.is_ascii_digit().then(|| v * 10 + u32::from(b - b'0'))
    })
}

/// `hh:mm:ss` at the start of `s` (the hour may be one digit when `short_hour`), then an optional
/// `.fraction` of 1 to 9 digits. Returns the civil time fields set on `civil` and the bytes used.
pub(super) fn time_of_day(s: &[u8], civil: &mut Civil) -> Option<usize> {
    let hour_len = if s.get(1) == Some(&b':') { 1 } else { 2 };
    let hour = digits(s, hour_len)?;
    let rest = s.get(hour_len..)?;
    if rest.first() != Some(&b':') || rest.get(3) != Some(&b':') {
        return None;
    }
    let minute = digits(rest.get(1..)?, 2)?;
    let second = digits(rest.get(4..)?, 2)?;
    civil.hour = i8::try_from(hour).ok()?;
    civil.minute = i8::try_from(minute).ok()?;
    civil.second = i8::try_from(second).ok()?;
    let mut used = hour_len + 6;
    if s.get(used) == Some(&b'.') {
        let frac = s.get(used + 1..).unwrap_or_default();
        let count = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 || count > 9 {
            return None;
        }
        let value = digits(frac, count)?;
        let scale = 10u32.pow(u32::try_from(9 - count).ok()?);
        civil.nanosecond = i32::try_from(value * scale).ok()?;
        used += 1 + count;
    }
    Some(used)
}

/// `YYYY-MM-DD` (or with `/` when `sep` says so) at the start of `s`, set on `civil`.
pub(super) fn date(s: &[u8], sep: u8, civil: &mut Civil) -> Option<()> {
    if s.get(4) != Some(&sep) || s.get(7) != Some(&sep) {
        return None;
    }
    civil.year = i16::try_from(digits(s, 4)?).ok()?;
    civil.month = i8::try_from(digits(s.get(5..)?, 2)?).ok()?;
    civil.day = i8::try_from(digits(s.get(8..)?, 2)?).ok()?;
    Some(())
}

/// A numeric UTC offset (`+0100`, `-05:30`, `+03`, `Z`) or `UTC`/`GMT`, as an offset. Other zone
/// names are not offsets: the caller falls back to the source's zone.
pub(super) fn offset(s: &str) -> Option<Offset> {
    if matches!(s, "Z" | "UTC" | "GMT" | "UT") {
        return Some(Offset::UTC);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, s.get(1..)?),
        b'-' => (-1, s.get(1..)?),
        _ => return None,
    };
    let bytes = rest.as_bytes();
    let (hours, minutes) = match bytes.len() {
        2 => (digits(bytes, 2)?, 0),
        4 => (digits(bytes, 2)?, digits(bytes.get(2..)?, 2)?),
        5 if bytes.get(2) == Some(&b':') => (digits(bytes, 2)?, digits(bytes.get(3..)?, 2)?),
        _ => return None,
    };
    if hours > 25 || minutes > 59 {
        return None;
    }
    let seconds = i32::try_from(hours * 3600 + minutes * 60).ok()?;
    Offset::from_seconds(sign * seconds).ok()
}

/// Removes a kernel uptime stamp (`[12345.678901] `) from the start of `text`.
pub(super) fn strip_uptime(text: &str) -> (Option<&str>, &str) {
    if let Some(rest) = text.strip_prefix('[')
        && let Some((stamp, after)) = rest.split_once("] ")
    {
        let stamp = stamp.trim_start();
        if !stamp.is_empty() && stamp.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return (Some(stamp), after);
        }
    }
    (None, text)
}

/// `prefix` followed by `value` (`user:` and `alice`), without the formatting machinery.
pub(super) fn joined(prefix: &str, value: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + value.len());
    s.push_str(prefix);
    s.push_str(value);
    s
}

/// The last path component of `path`.
pub(super) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port("1.2.3.4:80"), ("1.2.3.4", Some(80)));
        assert_eq!(split_host_port("::1:54130"), ("::1", Some(54130)));
        assert_eq!(split_host_port("[::1]:8080"), ("::1", Some(8080)));
        assert_eq!(split_host_port("::1"), ("::1", None));
        assert_eq!(split_host_port("example.org"), ("example.org", None));
    }

    #[test]
    fn offsets_and_times() {
        assert_eq!(offset("+0100"), Offset::from_seconds(3600).ok());
        assert_eq!(offset("-05:30"), Offset::from_seconds(-19800).ok());
        assert_eq!(offset("CET"), None);
        let mut c = Civil::default();
        assert_eq!(time_of_day(b"1:47:22 x", &mut c), Some(7));
        assert_eq!((c.hour, c.minute, c.second), (1, 47, 22));
        assert_eq!(time_of_day(b"01:47:22.5", &mut c), Some(10));
        assert_eq!(c.nanosecond, 500_000_000);
        assert_eq!(time_of_day(b"01:47", &mut c), None);
        assert_eq!(strip_uptime("[ 7.5] x"), (Some("7.5"), "x"));
        assert_eq!(strip_uptime("[UFW BLOCK] x"), (None, "[UFW BLOCK] x"));
    }

    #[test]
    fn scalars() {
        assert_eq!(scalar("64"), Value::from(64u64));
        assert_eq!(scalar("0x00"), Value::from("0x00"));
        assert_eq!(scalar("007"), Value::from("007"));
        assert_eq!(scalar(""), Value::from(""));
    }
}
