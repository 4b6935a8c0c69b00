//! Syslog timestamps: RFC 3339 / RFC 5424 timestamps, BSD (`Mmm dd hh:mm:ss`) timestamps, and the
//! year and time-zone inference that turns the latter into instants.

use jiff::{Timestamp, civil::DateTime, tz::Offset};

use super::{ParseContext, TimestampStatus};

/// The most fractional-second digits accepted (nanoseconds). RFC 5424 allows six; senders that
/// format with nanosecond precision (Go's `RFC3339Nano`) send nine, and we keep them.
const MAX_FRACTION_DIGITS: usize = 9;

/// A date and time as written, before a year or zone is supplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// The year, when the text had one.
    pub year: Option<i16>,
    pub month: i8,
    pub day: i8,
    pub hour: i8,
    pub minute: i8,
    pub second: i8,
    pub nanosecond: i32,
    /// The UTC offset, when the text had one.
    pub offset: Option<Offset>,
}

/// The outcome of resolving a timestamp field.
pub(crate) type Resolved = (Option<Timestamp>, TimestampStatus);

impl Written {
    /// Turns the written fields into an instant, adding year and zone from `ctx` when missing.
    pub(crate) fn resolve(&self, ctx: &ParseContext) -> Resolved {
        let inferred = self.year.is_none() || self.offset.is_none();
        let status = if inferred {
            TimestampStatus::Inferred
        } else {
            TimestampStatus::Parsed
        };
        let instant = match self.year {
            Some(year) => self.instant_in(year, ctx),
            None => self.infer_year(ctx),
        };
        match instant {
            Some(ts) => (Some(ts), status),
            None => (None, TimestampStatus::Invalid),
        }
    }

    /// The instant for a given year, using the written offset or else the context's zone.
    fn instant_in(&self, year: i16, ctx: &ParseContext) -> Option<Timestamp> {
        let dt = DateTime::new(
            year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.nanosecond,
        )
        .ok()?;
        match self.offset {
            Some(offset) => offset.to_timestamp(dt).ok(),
            None => ctx.time_zone.to_timestamp(dt).ok(),
        }
    }

    /// The year rule: of the receive year (in the context's zone) and the years either side, the
    /// latest whose instant is no more than [`FUTURE_TOLERANCE_SECONDS`] after the receive time.
    /// Logs describe the past, so an eight-month-old line replayed today stays in the past, while a
    /// sender clock running a little fast is tolerated. Years in which the date does not exist
    /// (29 February) are skipped; if every candidate is too far ahead, the earliest is taken.
    fn infer_year(&self, ctx: &ParseContext) -> Option<Timestamp> {
        let received_year = ctx.time_zone.to_datetime(ctx.received).year();
        let candidates: Vec<Timestamp> = [-1i16, 0, 1]
            .into_iter()
            .filter_map(|delta| received_year.checked_add(delta))
            .filter_map(|year| self.instant_in(year, ctx))
            .collect();
        candidates
            .iter()
            .copied()
            .filter(|ts| ts.duration_since(ctx.received).as_secs() <= FUTURE_TOLERANCE_SECONDS)
            .max()
            .or_else(|| candidates.first().copied())
    }
}

/// How far ahead of the receive time an RFC 3164 timestamp may lie and still be placed in the
/// nearer year: seven days, for sender clocks that run fast.
pub const FUTURE_TOLERANCE_SECONDS: i64 = 7 * 24 * 3600;

/// Why a timestamp-shaped token could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeError {
    /// The token does not look like a timestamp of this kind at all.
    NotATimestamp,
    /// It has the shape of one but a field is out of range or malformed.
    Invalid,
}

/// Reads `n` ASCII digits at the start of `s` as a number.
fn digits(s: &[u8], n: usize) -> Option<u32> {
    let field = s.get(..n)?;
    let mut value: u32 = 0;
    for &b in field {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
    }
    Some(value)
}

fn small(v: u32) -> Result<i8, TimeError> {
    i8::try_from(v).map_err(|_| TimeError::Invalid)
}

/// A time of day as written.
#[derive(Debug, Clone, Copy)]
struct TimeOfDay {
    hour: i8,
    minute: i8,
    second: i8,
    nanosecond: i32,
}

/// Reads `hh:mm:ss[.fraction]` at the start of `s`; returns the fields and the bytes used.
/// Hours above 23, minutes above 59 and seconds above 59 (leap seconds, which RFC 5424 forbids)
/// are [`TimeError::Invalid`]; they are caught when the civil date-time is built.
fn time_of_day(s: &[u8]) -> Result<(TimeOfDay, usize), TimeError> {
    let shape_ok = s.get(2) == Some(&b':') && s.get(5) == Some(&b':');
    let hour = digits(s, 2);
    let minute = s.get(3..).and_then(|r| digits(r, 2));
    let second = s.get(6..).and_then(|r| digits(r, 2));
    let (true, Some(hour), Some(minute), Some(second)) = (shape_ok, hour, minute, second) else {
        return Err(TimeError::NotATimestamp);
    };
    let mut used = 8;
    let mut nanosecond = 0i32;
    if s.get(used) == Some(&b'.') {
        let frac = s.get(used + 1..).unwrap_or_default();
        let count = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 || count > MAX_FRACTION_DIGITS {
            return Err(TimeError::Invalid);
        }
        let value = digits(frac, count).ok_or(TimeError::Invalid)?;
        let scale =
            10u32.pow(u32::try_from(MAX_FRACTION_DIGITS - count).map_err(|_| TimeError::Invalid)?);
        nanosecond = i32::try_from(value * scale).map_err(|_| TimeError::Invalid)?;
        used += 1 + count;
    }
    let time = TimeOfDay {
        hour: small(hour)?,
        minute: small(minute)?,
        second: small(second)?,
        nanosecond,
    };
    Ok((time, used))
}

/// Reads an RFC 3339 timestamp (the RFC 5424 `FULL-DATE "T" FULL-TIME`) that makes up the whole
/// of `token`. The offset (`Z` or `+hh:mm`; `+hhmm` is accepted too) may be missing, in which case
/// the caller supplies the zone. `T` and `Z` are accepted in lower case.
pub(crate) fn rfc3339(token: &[u8]) -> Result<Written, TimeError> {
    let date_shape = token.get(4) == Some(&b'-')
        && token.get(7) == Some(&b'-')
        && matches!(token.get(10), Some(b'T' | b't'));
    let year = digits(token, 4);
    let month = token.get(5..).and_then(|r| digits(r, 2));
    let day = token.get(8..).and_then(|r| digits(r, 2));
    let (true, Some(year), Some(month), Some(day)) = (date_shape, year, month, day) else {
        return Err(TimeError::NotATimestamp);
    };
    let rest = token.get(11..).unwrap_or_default();
    let (time, used) = time_of_day(rest).map_err(|_| TimeError::Invalid)?;
    let zone = rest.get(used..).unwrap_or_default();
    let offset = match zone {
        [] => None,
        [b'Z' | b'z'] => Some(Offset::UTC),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (h, m) = match rest {
                [_, _, b':', _, _] => (digits(rest, 2), rest.get(3..).and_then(|r| digits(r, 2))),
                [_, _, _, _] => (digits(rest, 2), rest.get(2..).and_then(|r| digits(r, 2))),
                _ => (None, None),
            };
            let (Some(h), Some(m)) = (h, m) else {
                return Err(TimeError::Invalid);
            };
            if h > 23 || m > 59 {
                return Err(TimeError::Invalid);
            }
            let seconds = i32::try_from(h * 3600 + m * 60).map_err(|_| TimeError::Invalid)?;
            let seconds = if *sign == b'-' { -seconds } else { seconds };
            Some(Offset::from_seconds(seconds).map_err(|_| TimeError::Invalid)?)
        }
        _ => return Err(TimeError::Invalid),
    };
    Ok(Written {
        year: Some(i16::try_from(year).map_err(|_| TimeError::Invalid)?),
        month: small(month)?,
        day: small(day)?,
        hour: time.hour,
        minute: time.minute,
        second: time.second,
        nanosecond: time.nanosecond,
        offset,
    })
}

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// A BSD timestamp read from the start of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bsd {
    /// The fields as written, or `None` when the shape matched but a value was out of range.
    pub written: Option<Written>,
    /// Bytes used, including a trailing Cisco-style `:` but not the space after it.
    pub used: usize,
}

/// Reads a BSD timestamp at the start of `s`: `Mmm dd hh:mm:ss` (RFC 3164; the day is `dd`, ` d`
/// or `d`), optionally with a year before the time (`Mmm dd yyyy hh:mm:ss`, Cisco `service
/// timestamps ... year`), fractional seconds (`.mmm`, Cisco `msec`), a zone name that is only
/// honoured when it is `UTC`, `GMT` or `Z` and only read when a `:` follows it (Cisco
/// `show-timezone`), and a trailing `:` (Cisco). Month names are matched without regard to case.
/// The timestamp must be followed by a space or the end of the input.
pub(crate) fn bsd(s: &[u8]) -> Option<Bsd> {
    let month_name = s.get(..3)?;
    let month = MONTHS
        .iter()
        .position(|m| month_name.eq_ignore_ascii_case(&m[..]))?;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    // Day: "dd", " d" (RFC 3164 padding) or "d" (common deviation).
    let mut pos = 4;
    if s.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let day_len = s
        .get(pos..)?
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if !(1..=2).contains(&day_len) || s.get(pos + day_len) != Some(&b' ') {
        return None;
    }
    let day = digits(s.get(pos..)?, day_len)?;
    pos += day_len + 1;
    // Optional year before the time.
    let mut year = None;
    if s.get(pos + 4) == Some(&b' ')
        && let Some(y) = s.get(pos..).and_then(|r| digits(r, 4))
    {
        year = Some(i16::try_from(y).ok()?);
        pos += 5;
    }
    let (time, used) = match time_of_day(s.get(pos..)?) {
        Ok(t) => t,
        Err(TimeError::NotATimestamp) => return None,
        Err(TimeError::Invalid) => {
            // The shape matched up to a bad fraction: skip the token and report it invalid.
            let len = s.get(pos..)?.iter().take_while(|b| **b != b' ').count();
            return Some(Bsd {
                written: None,
                used: pos + len,
            });
        }
    };
    pos += used;
    let mut offset = None;
    // Optional zone name, only when a ':' follows it.
    if s.get(pos) == Some(&b' ') {
        let name_len = s
            .get(pos + 1..)?
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        if (1..=5).contains(&name_len) && s.get(pos + 1 + name_len) == Some(&b':') {
            let name = s.get(pos + 1..pos + 1 + name_len)?;
            if name.eq_ignore_ascii_case(b"UTC")
                || name.eq_ignore_ascii_case(b"GMT")
                || name.eq_ignore_ascii_case(b"Z")
            {
                offset = Some(Offset::UTC);
            }
            pos += 1 + name_len;
        }
    }
    if s.get(pos) == Some(&b':') {
        pos += 1;
    }
    if !matches!(s.get(pos), None | Some(b' ')) {
        return None;
    }
    let written = (|| {
        Some(Written {
            year,
            month: i8::try_from(month + 1).ok()?,
            day: i8::try_from(day).ok()?,
            hour: time.hour,
            minute: time.minute,
            second: time.second,
            nanosecond: time.nanosecond,
            offset,
        })
    })();
    Some(Bsd { written, used: pos })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::{civil::date, tz::TimeZone};

    fn ctx(received: &str, tz: &str) -> ParseContext {
        ParseContext::new(received.parse().unwrap(), TimeZone::get(tz).unwrap())
    }

    fn bsd_at(s: &str, c: &ParseContext) -> Resolved {
        bsd(s.as_bytes()).unwrap().written.unwrap().resolve(c)
    }

    // RFC 5424 section 6.2.3.1, examples 1 to 5.
    #[test]
    fn rfc5424_timestamp_examples() {
        let c = ctx("2024-01-01T00:00:00Z", "UTC");
        let ok = |s: &str| rfc3339(s.as_bytes()).unwrap().resolve(&c);
        assert_eq!(
            ok("1985-04-12T23:20:50.52Z").0.unwrap().to_string(),
            "1985-04-12T23:20:50.52Z"
        );
        assert_eq!(
            ok("1985-04-12T19:20:50.52-04:00").0,
            ok("1985-04-12T23:20:50.52Z").0
        );
        assert_eq!(ok("2003-10-11T22:14:15.003Z").1, TimestampStatus::Parsed);
        assert_eq!(
            ok("2003-08-24T05:14:15.000003-07:00")
                .0
                .unwrap()
                .to_string(),
            "2003-08-24T12:14:15.000003Z"
        );
        // Invalid in the RFC (nine digits); accepted here on purpose (see MAX_FRACTION_DIGITS).
        assert_eq!(
            ok("2003-08-24T05:14:15.000000003-07:00")
                .0
                .unwrap()
                .to_string(),
            "2003-08-24T12:14:15.000000003Z"
        );
        // Section 6.2.3.1 example 6: leap seconds are not allowed.
        assert_eq!(ok("1990-12-31T23:59:60Z"), (None, TimestampStatus::Invalid));
    }

    #[test]
    fn rfc3339_rejects_and_flags() {
        assert_eq!(rfc3339(b"hello"), Err(TimeError::NotATimestamp));
        assert_eq!(rfc3339(b"2003-10-11"), Err(TimeError::NotATimestamp));
        assert_eq!(rfc3339(b"2003-10-11T22:14"), Err(TimeError::Invalid));
        assert_eq!(rfc3339(b"2003-10-11T22:14:15.Z"), Err(TimeError::Invalid));
        assert_eq!(
            rfc3339(b"2003-10-11T22:14:15.0000000001Z"),
            Err(TimeError::Invalid)
        );
        assert_eq!(
            rfc3339(b"2003-10-11T22:14:15+24:00"),
            Err(TimeError::Invalid)
        );
        assert_eq!(
            rfc3339(b"2003-10-11T22:14:15+02:00x"),
            Err(TimeError::Invalid)
        );
        let c = ctx("2024-01-01T00:00:00Z", "UTC");
        let w = rfc3339(b"2003-02-30T22:14:15Z").unwrap();
        assert_eq!(w.resolve(&c), (None, TimestampStatus::Invalid));
        let w = rfc3339(b"2003-10-11T25:14:15Z").unwrap();
        assert_eq!(w.resolve(&c), (None, TimestampStatus::Invalid));
        // +hhmm, and no offset at all (zone from the context).
        let w = rfc3339(b"2003-10-11T22:14:15+0200").unwrap();
        assert_eq!(w.resolve(&c).0.unwrap().to_string(), "2003-10-11T20:14:15Z");
        let c = ctx("2024-01-01T00:00:00Z", "Europe/Berlin");
        let w = rfc3339(b"2003-10-11T22:14:15").unwrap();
        assert_eq!(
            w.resolve(&c),
            (
                "2003-10-11T20:14:15Z".parse().ok(),
                TimestampStatus::Inferred
            )
        );
    }

    #[test]
    fn bsd_shapes() {
        let c = ctx("2024-03-01T12:00:00Z", "UTC");
        // RFC 3164 section 4.1.2: single-digit day padded with a space.
        assert_eq!(bsd(b"Feb  5 17:32:18 host").unwrap().used, 15);
        assert_eq!(
            bsd_at("Feb  5 17:32:18", &c).0.unwrap().to_string(),
            "2024-02-05T17:32:18Z"
        );
        assert_eq!(
            bsd_at("Feb 5 17:32:18", &c).0.unwrap().to_string(),
            "2024-02-05T17:32:18Z"
        );
        assert_eq!(bsd_at("FEB 05 17:32:18", &c).1, TimestampStatus::Inferred);
        // Cisco IOS `service timestamps log datetime msec year show-timezone`.
        let b = bsd(b"Nov 29 2023 12:07:57.123 UTC: %LINK").unwrap();
        assert_eq!(b.used, 29);
        assert_eq!(
            b.written.unwrap().resolve(&c),
            (
                "2023-11-29T12:07:57.123Z".parse().ok(),
                TimestampStatus::Parsed
            )
        );
        let b = bsd(b"Mar  1 00:18:52.383: %SYS").unwrap();
        assert_eq!(b.used, 20);
        // Not timestamps.
        assert!(bsd(b"Foo  1 00:18:52 x").is_none());
        assert!(bsd(b"Feb  5 17:32 x").is_none());
        assert!(bsd(b"Feb  5 17:32:18x").is_none());
        assert!(bsd(b"Feb 123 17:32:18").is_none());
        // Shape but no such date.
        assert_eq!(
            bsd_at("Feb 30 17:32:18", &c),
            (None, TimestampStatus::Invalid)
        );
        assert_eq!(
            bsd_at("Feb 10 24:32:18", &c),
            (None, TimestampStatus::Invalid)
        );
    }

    #[test]
    fn year_is_the_latest_not_too_far_ahead() {
        // December message received on 1 January: previous year.
        let c = ctx("2025-01-01T00:00:30Z", "UTC");
        assert_eq!(
            bsd_at("Dec 31 23:59:50", &c).0.unwrap().to_string(),
            "2024-12-31T23:59:50Z"
        );
        // January message received on 31 December (sender's clock ahead): next year.
        let c = ctx("2024-12-31T23:59:30Z", "UTC");
        assert_eq!(
            bsd_at("Jan  1 00:00:10", &c).0.unwrap().to_string(),
            "2025-01-01T00:00:10Z"
        );
        // Mid-year: the receive year.
        let c = ctx("2024-07-01T00:00:00Z", "UTC");
        assert_eq!(
            bsd_at("Jun 30 10:00:00", &c).0.unwrap().to_string(),
            "2024-06-30T10:00:00Z"
        );
        // Dates later in the year than the receive date are last year's: logs describe the past.
        assert_eq!(
            bsd_at("Dec 31 10:00:00", &c).0.unwrap().to_string(),
            "2023-12-31T10:00:00Z"
        );
        assert_eq!(
            bsd_at("Jan  1 10:00:00", &c).0.unwrap().to_string(),
            "2024-01-01T10:00:00Z"
        );
        // An eight-month-old line replayed today stays eight months old.
        let late = ctx("2024-10-15T00:00:00Z", "UTC");
        assert_eq!(
            bsd_at("Feb 10 10:00:00", &late).0.unwrap().to_string(),
            "2024-02-10T10:00:00Z"
        );
        // Up to seven days ahead is a fast clock, not last year.
        assert_eq!(
            bsd_at("Oct 21 10:00:00", &late).0.unwrap().to_string(),
            "2024-10-21T10:00:00Z"
        );
        assert_eq!(
            bsd_at("Oct 23 10:00:00", &late).0.unwrap().to_string(),
            "2023-10-23T10:00:00Z"
        );
        // 29 February picks the nearest leap year within one year, else is invalid.
        let c = ctx("2025-01-10T00:00:00Z", "UTC");
        assert_eq!(
            bsd_at("Feb 29 10:00:00", &c).0.unwrap().to_string(),
            "2024-02-29T10:00:00Z"
        );
        let c = ctx("2026-06-10T00:00:00Z", "UTC");
        assert_eq!(
            bsd_at("Feb 29 10:00:00", &c),
            (None, TimestampStatus::Invalid)
        );
    }

    #[test]
    fn zone_and_year_use_the_context_zone() {
        // Received 2024-12-31T23:30Z, which is already 2025 in Berlin: the year is judged in the
        // source's zone, and the civil time is interpreted there.
        let c = ctx("2024-12-31T23:30:00Z", "Europe/Berlin");
        let (ts, status) = bsd_at("Jan  1 00:29:00", &c);
        assert_eq!(status, TimestampStatus::Inferred);
        assert_eq!(ts.unwrap().to_string(), "2024-12-31T23:29:00Z");
        // Daylight saving gap (2024-03-31 02:30 does not exist in Berlin): "compatible" rule.
        let c = ctx("2024-03-31T12:00:00Z", "Europe/Berlin");
        let (ts, _) = bsd_at("Mar 31 02:30:00", &c);
        assert_eq!(
            ts.unwrap(),
            date(2024, 3, 31)
                .at(1, 30, 0, 0)
                .to_zoned_datetime(TimeZone::UTC)
                .unwrap()
                .timestamp()
        );
    }
}
