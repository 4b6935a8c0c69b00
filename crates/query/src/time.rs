//! Times and intervals as analysts type them: [`parse_time`] for range bounds of time fields
//! (`2026-11-29T10:00:00Z`, `2026-11-29`, `now-15m`) and [`parse_interval`] for histogram
//! intervals (`5m`). The query parser does not know which fields are times; the backend calls
//! these on the bounds of the fields it knows to be times.

use std::time::Duration;

use jiff::civil::{Date, Time};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};

/// The shortest histogram interval accepted.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The longest histogram interval accepted (366 days).
pub const MAX_INTERVAL: Duration = Duration::from_secs(366 * 86_400);

/// Longest text [`parse_time`] and [`parse_interval`] look at; anything longer is refused.
const MAX_TEXT: usize = 64;

/// A time or interval that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The text has none of the accepted shapes.
    #[error(
        "`{text}` is not a time: write `2026-11-29T10:00:00Z` (RFC 3339, or with an offset such \
         as `+02:00`), `2026-11-29` (midnight UTC), `2026-11-29T10:00:00` or \
         `2026-11-29 10:00:00` (UTC), `now`, or `now-15m` (units s, m, h, d, w)"
    )]
    Syntax {
        /// The text, cut to 64 characters.
        text: String,
    },
    /// The shape is right but the values are not: 30 February, 24:00, offset +25:00.
    #[error("`{text}` is not a valid time: {reason}")]
    Invalid {
        /// The text.
        text: String,
        /// Which part is out of range.
        reason: String,
    },
    /// The time is outside what can be represented (years -9999 to 9999).
    #[error("`{text}` is out of range: times run from year -9999 to 9999")]
    OutOfRange {
        /// The text, cut to 64 characters.
        text: String,
    },
    /// An interval not of the form `<number><unit>`.
    #[error(
        "`{text}` is not an interval: write a whole number and a unit, such as `30s`, `5m`, \
         `1h`, `1d` or `1w`"
    )]
    IntervalSyntax {
        /// The text, cut to 64 characters.
        text: String,
    },
    /// An interval too short or too long.
    #[error("interval `{text}` is out of bounds: it must be from 1s to 366d")]
    IntervalBounds {
        /// The text.
        text: String,
    },
}

/// Reads a time bound. Accepted, after trimming surrounding whitespace:
///
/// - `2026-11-29T10:00:00Z`, `2026-11-29T10:00:00.250+02:00`: RFC 3339 (the separator may be
///   `T`, `t` or a space; `Z` or `z`; seconds and fractions optional, up to 9 digits after `.`
///   or `,`; a leap second `:60` reads as `:59`);
/// - `2026-11-29T10:00:00`, `2026-11-29 10:00`: the same without zone, in UTC;
/// - `2026-11-29`: midnight UTC;
/// - `now`, `now-15m`, `now+1h`: `now` plus or minus a whole number of seconds (`s`), minutes
///   (`m`), hours (`h`), days (`d`, 86,400 s) or weeks (`w`).
///
/// `now` is an argument so that a query is evaluated against one instant throughout.
///
/// ```
/// use shieldwall_query::parse_time;
///
/// let now: jiff::Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
/// assert_eq!(parse_time("now-2h", now).unwrap().to_string(), "2026-11-29T10:00:00Z");
/// assert_eq!(parse_time("2026-11-29", now).unwrap().to_string(), "2026-11-29T00:00:00Z");
/// ```
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, TimeError> {
    let t = text.trim();
    let syntax = || TimeError::Syntax { text: cut(t) };
    if t.len() > MAX_TEXT {
        return Err(syntax());
    }
    if let Some(rest) = t.strip_prefix("now") {
        if rest.is_empty() {
            return Ok(now);
        }
        let (negative, rest) = match rest.split_at_checked(1) {
            Some(("-", rest)) => (true, rest),
            Some(("+", rest)) => (false, rest),
            _ => return Err(syntax()),
        };
        let seconds = amount_in_seconds(rest).ok_or_else(syntax)?;
        let out_of_range = || TimeError::OutOfRange { text: cut(t) };
        let seconds = i64::try_from(seconds).map_err(|_| out_of_range())?;
        let delta = SignedDuration::from_secs(if negative { -seconds } else { seconds });
        return now.checked_add(delta).map_err(|_| out_of_range());
    }
    absolute(t).map_err(|e| e.unwrap_or_else(syntax))
}

/// Reads a histogram interval: a whole number and a unit `s`, `m`, `h`, `d` (86,400 s) or `w`,
/// from [`MIN_INTERVAL`] (1s) to [`MAX_INTERVAL`] (366d).
///
/// ```
/// use shieldwall_query::parse_interval;
///
/// assert_eq!(parse_interval("5m").unwrap().as_secs(), 300);
/// assert!(parse_interval("0s").is_err());
/// ```
pub fn parse_interval(text: &str) -> Result<Duration, TimeError> {
    let t = text.trim();
    if t.len() > MAX_TEXT {
        return Err(TimeError::IntervalSyntax { text: cut(t) });
    }
    let seconds = amount_in_seconds(t).ok_or_else(|| TimeError::IntervalSyntax { text: cut(t) })?;
    let interval = Duration::from_secs(seconds);
    if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&interval) {
        return Err(TimeError::IntervalBounds { text: cut(t) });
    }
    Ok(interval)
}

/// `<digits><unit>` in seconds; `None` when malformed or when it overflows.
fn amount_in_seconds(text: &str) -> Option<u64> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at_checked(digits_end)?;
    if digits.is_empty() || digits.len() > 12 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    amount.checked_mul(per)
}

fn cut(text: &str) -> String {
    text.chars().take(MAX_TEXT).collect()
}

/// A cursor over the ASCII text of an absolute time.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<i32> {
        let mut value = 0i32;
        for _ in 0..n {
            let d = self.peek().filter(u8::is_ascii_digit)?;
            value = value * 10 + i32::from(d - b'0');
            self.pos += 1;
        }
        Some(value)
    }
}

/// `Err(None)`: not a time's shape; `Err(Some(e))`: the right shape with impossible values.
fn absolute(text: &str) -> Result<Timestamp, Option<TimeError>> {
    let mut c = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let year = c.digits(4).ok_or(None)?;
    let month = if c.eat(b'-') { c.digits(2) } else { None }.ok_or(None)?;
    let day = if c.eat(b'-') { c.digits(2) } else { None }.ok_or(None)?;
    let invalid = |reason: String| {
        Some(TimeError::Invalid {
            text: cut(text),
            reason,
        })
    };
    let narrow = |v: i32| i8::try_from(v).unwrap_or(i8::MAX);
    let date = Date::new(
        i16::try_from(year).unwrap_or(i16::MAX),
        narrow(month),
        narrow(day),
    )
    .map_err(|_| invalid(format!("there is no day {year:04}-{month:02}-{day:02}")))?;
    if c.peek().is_none() {
        return Offset::UTC
            .to_timestamp(date.to_datetime(Time::midnight()))
            .map_err(|_| Some(TimeError::OutOfRange { text: cut(text) }));
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return Err(None);
    }
    let hour = c.digits(2).ok_or(None)?;
    let minute = if c.eat(b':') { c.digits(2) } else { None }.ok_or(None)?;
    let mut second = 0;
    let mut nanos = 0i32;
    if c.eat(b':') {
        second = c.digits(2).ok_or(None)?;
        if c.eat(b'.') || c.eat(b',') {
            let mut count = 0;
            while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                count += 1;
                if count > 9 {
                    return Err(None);
                }
                nanos = nanos * 10 + i32::from(d - b'0');
                c.pos += 1;
            }
            if count == 0 {
                return Err(None);
            }
            for _ in count..9 {
                nanos *= 10;
            }
        }
    }
    if second == 60 {
        second = 59; // a leap second, as RFC 3339 allows: the last second of the minute.
    }
    let time = Time::new(narrow(hour), narrow(minute), narrow(second), nanos).map_err(|_| {
        invalid(format!(
            "there is no time {hour:02}:{minute:02}:{second:02}"
        ))
    })?;
    let offset = match c.peek() {
        None => Offset::UTC,
        Some(b'Z' | b'z') => {
            c.pos += 1;
            Offset::UTC
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let hours = c.digits(2).ok_or(None)?;
            let minutes = if c.eat(b':') { c.digits(2) } else { None }.ok_or(None)?;
            if hours > 23 || minutes > 59 {
                return Err(invalid(format!(
                    "offset {}{hours:02}:{minutes:02} is out of range",
                    char::from(sign)
                )));
            }
            let seconds = (hours * 60 + minutes) * 60;
            Offset::from_seconds(if sign == b'-' { -seconds } else { seconds })
                .map_err(|_| invalid("offset out of range".to_owned()))?
        }
        Some(_) => return Err(None),
    };
    if c.peek().is_some() {
        return Err(None);
    }
    offset
        .to_timestamp(date.to_datetime(time))
        .map_err(|_| Some(TimeError::OutOfRange { text: cut(text) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    fn at(text: &str) -> String {
        parse_time(text, now()).unwrap().to_string()
    }

    #[test]
    fn absolute_times() {
        assert_eq!(at("2026-11-29T10:00:00Z"), "2026-11-29T10:00:00Z");
        assert_eq!(at("2026-11-29t10:00:00z"), "2026-11-29T10:00:00Z");
        assert_eq!(at("2026-11-29T10:00:00+02:00"), "2026-11-29T08:00:00Z");
        assert_eq!(at("2026-11-29T10:00:00-05:30"), "2026-11-29T15:30:00Z");
        assert_eq!(at("2026-11-29T10:00:00.25Z"), "2026-11-29T10:00:00.25Z");
        assert_eq!(
            at("2026-11-29T10:00:00,123456789Z"),
            "2026-11-29T10:00:00.123456789Z"
        );
        assert_eq!(at("2026-11-29"), "2026-11-29T00:00:00Z");
        assert_eq!(at("2026-11-29T10:00:00"), "2026-11-29T10:00:00Z");
        assert_eq!(at("2026-11-29 10:00:00"), "2026-11-29T10:00:00Z");
        assert_eq!(at("2026-11-29 10:00"), "2026-11-29T10:00:00Z");
        assert_eq!(at(" 2026-11-29 "), "2026-11-29T00:00:00Z");
        assert_eq!(at("2016-12-31T23:59:60Z"), "2016-12-31T23:59:59Z");
    }

    #[test]
    fn relative_times() {
        assert_eq!(at("now"), "2026-11-29T12:00:00Z");
        assert_eq!(at("now-15m"), "2026-11-29T11:45:00Z");
        assert_eq!(at("now-2h"), "2026-11-29T10:00:00Z");
        assert_eq!(at("now-7d"), "2026-11-22T12:00:00Z");
        assert_eq!(at("now-30s"), "2026-11-29T11:59:30Z");
        assert_eq!(at("now+1h"), "2026-11-29T13:00:00Z");
        assert_eq!(at("now-1w"), "2026-11-22T12:00:00Z");
    }

    #[test]
    fn bad_times() {
        for text in [
            "",
            "yesterday",
            "Now",
            "now-",
            "now-15",
            "now-15M",
            "now-1y",
            "now - 1h",
            "now/d",
            "now-1h30m",
            "2026-11",
            "26-11-29",
            "2026-11-29T",
            "2026-11-29T10",
            "2026-11-29T10:00:00.Z",
            "2026-11-29T10:00:00.1234567891Z",
            "2026-11-29T10:00:00+0200",
            "2026-11-29T10:00:00[Europe/Paris]",
            "2026-11-29T10:00:00 Z",
            "+002026-11-29",
            "1764410400",
        ] {
            assert!(
                matches!(parse_time(text, now()), Err(TimeError::Syntax { .. })),
                "{text:?}"
            );
        }
        for text in [
            "2026-02-30",
            "2026-13-01",
            "2026-11-29T24:00:00Z",
            "2026-11-29T10:61:00Z",
            "2026-11-29T10:00:00+24:00",
        ] {
            assert!(
                matches!(parse_time(text, now()), Err(TimeError::Invalid { .. })),
                "{text}"
            );
        }
        assert!(matches!(
            parse_time("now-999999999999w", now()),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_time("now+9999999d", now()),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_time(&"9".repeat(100), now()),
            Err(TimeError::Syntax { .. })
        ));
    }

    #[test]
    fn messages_say_what_to_write() {
        let e = parse_time("yesterday", now()).unwrap_err();
        assert!(e.to_string().contains("`now-15m`"), "{e}");
        let e = parse_time("2026-02-30", now()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`2026-02-30` is not a valid time: there is no day 2026-02-30"
        );
    }

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("1m").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_interval("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_interval("1h").unwrap(), Duration::from_secs(3_600));
        assert_eq!(parse_interval("1d").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_interval("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_interval("366d").unwrap(), MAX_INTERVAL);
        for text in ["", "m", "5", "5 m", "-5m", "1.5h", "5M", "1y", "1h30m"] {
            assert!(
                matches!(parse_interval(text), Err(TimeError::IntervalSyntax { .. })),
                "{text}"
            );
        }
        for text in ["0s", "0m", "367d", "53w", "999999999999w"] {
            assert!(
                matches!(parse_interval(text), Err(TimeError::IntervalBounds { .. })),
                "{text}"
            );
        }
    }
}
