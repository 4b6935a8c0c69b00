//! Property tests: the parser never panics and keeps its bounds on arbitrary input, RFC 5424
//! messages rendered from random fields parse back to those fields, and the framer yields the
//! same frames however the stream is chunked.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use jiff::{
    Timestamp,
    tz::{Offset, TimeZone},
};
use proptest::prelude::*;
use shieldwall_parse::{
    Format, Frame, FrameError, FrameResult, Framer, Framing, ParseContext, SdElement,
    SyslogMessage, TimestampStatus,
    syslog::{self, MAX_SD_ELEMENTS, MAX_SD_PARAMS},
};

// ---------------------------------------------------------------- helpers

fn zone() -> impl Strategy<Value = TimeZone> {
    prop_oneof![
        Just(TimeZone::UTC),
        Just(TimeZone::get("Europe/Berlin").unwrap()),
        Just(TimeZone::get("America/New_York").unwrap()),
        Just(TimeZone::get("Asia/Kolkata").unwrap()),
        Just(TimeZone::get("Australia/Lord_Howe").unwrap()),
        (-14i8..=14).prop_map(|h| TimeZone::fixed(Offset::from_hours(h).unwrap())),
    ]
}

/// Instants with civil years 1 to 9998 in any offset.
fn instant() -> impl Strategy<Value = Timestamp> {
    // 0002-01-01 to 9998-01-01.
    (-62_104_147_200i64..253_339_392_000, 0i32..1_000_000_000)
        .prop_map(|(s, ns)| Timestamp::new(s, ns).unwrap())
}

fn context() -> impl Strategy<Value = ParseContext> {
    (instant(), zone()).prop_map(|(received, tz)| ParseContext::new(received, tz))
}

fn check_invariants(m: &SyslogMessage) {
    assert!(m.facility.is_none_or(|f| f <= 23));
    assert!(m.severity.is_none_or(|s| s <= 7));
    assert_eq!(m.facility.is_some(), m.severity.is_some());
    assert!(m.structured_data.len() <= MAX_SD_ELEMENTS);
    let params: usize = m.structured_data.iter().map(|e| e.params.len()).sum();
    assert!(params <= MAX_SD_PARAMS);
    let has_time = matches!(
        m.timestamp_status,
        TimestampStatus::Parsed | TimestampStatus::Inferred
    );
    assert_eq!(m.timestamp.is_some(), has_time);
    if m.format != Format::Rfc5424 {
        assert!(m.version.is_none() && m.msg_id.is_none() && m.structured_data.is_empty());
    }
    for field in [&m.hostname, &m.app_name, &m.proc_id, &m.msg_id] {
        assert!(
            field
                .as_ref()
                .is_none_or(|f| !f.is_empty() && f.len() <= 255)
        );
    }
}

// Fragments that steer random input into the interesting branches of the parser.
fn syslogish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"<13>".to_vec()),
        Just(b"<165>1 ".to_vec()),
        Just(b"2003-10-11T22:14:15.003Z ".to_vec()),
        Just(b"2003-10-11T22:14:15".to_vec()),
        Just(b"Feb  5 17:32:18 ".to_vec()),
        Just(b"*Mar  1 00:18:52.383: ".to_vec()),
        Just(b"Nov 29 2023 12:07:57.123 UTC: ".to_vec()),
        Just(b"12: ".to_vec()),
        Just(b"- ".to_vec()),
        Just(b"host ".to_vec()),
        Just(b"sshd[12]: ".to_vec()),
        Just(b"[id@1 a=\"b\\\"c\\]\"]".to_vec()),
        Just(b"[".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xff".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

// ---------------------------------------------------------------- RFC 5424 rendering

#[derive(Debug, Clone)]
struct Fields {
    pri: (u8, u8),
    version: u8,
    time: Option<(Timestamp, Offset, usize, bool)>,
    hostname: Option<String>,
    app_name: Option<String>,
    proc_id: Option<String>,
    msg_id: Option<String>,
    sd: Vec<SdElement>,
    message: String,
    bom: bool,
    space_when_empty: bool,
}

fn header_field(max: usize) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        proptest::string::string_regex(&format!("[!-~]{{1,{max}}}"))
            .unwrap()
            .prop_filter("NILVALUE", |s| s != "-"),
    )
}

fn sd_name() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r"[!#-<>-\\^-~]{1,32}").unwrap()
}

fn fields() -> impl Strategy<Value = Fields> {
    let time = proptest::option::of((
        instant(),
        (-1439i32..=1439).prop_map(|m| Offset::from_seconds(m * 60).unwrap()),
        0usize..=9,
        any::<bool>(),
    ));
    let element = (
        sd_name(),
        proptest::collection::vec((sd_name(), any::<String>()), 0..5),
    )
        .prop_map(|(id, params)| SdElement { id, params });
    (
        (0u8..24, 0u8..8),
        1u8..=255,
        time,
        (
            header_field(255),
            header_field(48),
            header_field(128),
            header_field(32),
        ),
        proptest::collection::vec(element, 0..5),
        any::<String>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(pri, version, time, (hostname, app_name, proc_id, msg_id), sd, message, bom, sp)| {
                let message = message
                    .trim_start_matches('\u{feff}')
                    .trim_end_matches(['\r', '\n', '\0'])
                    .to_owned();
                Fields {
                    pri,
                    version,
                    time,
                    hostname,
                    app_name,
                    proc_id,
                    msg_id,
                    sd,
                    message,
                    bom,
                    space_when_empty: sp,
                }
            },
        )
}

/// Truncates `ts` to `digits` fractional digits.
fn truncate(ts: Timestamp, digits: usize) -> Timestamp {
    let unit = 10i32.pow(9 - digits as u32);
    let ns = ts.subsec_nanosecond();
    Timestamp::new(ts.as_second(), ns - ns % unit).unwrap()
}

/// Renders fields as RFC 5424, written from the RFC's ABNF independently of the parser.
fn render(f: &Fields) -> Vec<u8> {
    let mut out = format!("<{}>{} ", f.pri.0 * 8 + f.pri.1, f.version).into_bytes();
    match f.time {
        None => out.extend_from_slice(b"-"),
        Some((ts, offset, digits, z)) => {
            let dt = offset.to_datetime(truncate(ts, digits));
            let mut s = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            );
            if digits > 0 {
                let frac = format!("{:09}", dt.subsec_nanosecond());
                s.push('.');
                s.push_str(&frac[..digits]);
            }
            let secs = offset.seconds();
            if secs == 0 && z {
                s.push('Z');
            } else {
                let sign = if secs < 0 { '-' } else { '+' };
                let a = secs.abs();
                s.push_str(&format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60));
            }
            out.extend_from_slice(s.as_bytes());
        }
    }
    for field in [&f.hostname, &f.app_name, &f.proc_id, &f.msg_id] {
        out.push(b' ');
        out.extend_from_slice(field.as_deref().unwrap_or("-").as_bytes());
    }
    out.push(b' ');
    if f.sd.is_empty() {
        out.push(b'-');
    }
    for el in &f.sd {
        out.push(b'[');
        out.extend_from_slice(el.id.as_bytes());
        for (name, value) in &el.params {
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"=\"");
            for c in value.chars() {
                if matches!(c, '"' | '\\' | ']') {
                    out.push(b'\\');
                }
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            out.push(b'"');
        }
        out.push(b']');
    }
    if !f.message.is_empty() || f.bom || f.space_when_empty {
        out.push(b' ');
        if f.bom {
            out.extend_from_slice(b"\xEF\xBB\xBF");
        }
        out.extend_from_slice(f.message.as_bytes());
    }
    out
}

fn expected(f: &Fields) -> SyslogMessage {
    SyslogMessage {
        facility: Some(f.pri.0),
        severity: Some(f.pri.1),
        version: Some(f.version),
        timestamp: f.time.map(|(ts, _, digits, _)| truncate(ts, digits)),
        timestamp_status: if f.time.is_some() {
            TimestampStatus::Parsed
        } else {
            TimestampStatus::Missing
        },
        hostname: f.hostname.clone(),
        app_name: f.app_name.clone(),
        proc_id: f.proc_id.clone(),
        msg_id: f.msg_id.clone(),
        structured_data: f.sd.clone(),
        message: f.message.clone(),
        format: Format::Rfc5424,
        anomalies: vec![],
    }
}

// ---------------------------------------------------------------- framing

/// Frames that survive a round trip: non-transparent ones cannot contain LF or NUL, must not
/// start with a digit (which would read as a length) and must not end with CR.
fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..40).prop_map(|data| Frame {
            data,
            framing: Framing::OctetCounting
        }),
        proptest::collection::vec(any::<u8>(), 1..40)
            .prop_map(|data| data
                .into_iter()
                .filter(|b| !matches!(b, b'\n' | 0))
                .collect::<Vec<_>>())
            .prop_filter("encodable", |d| {
                d.first().is_some_and(|b| !b.is_ascii_digit()) && d.last() != Some(&b'\r')
            })
            .prop_map(|data| Frame {
                data,
                framing: Framing::NonTransparent
            }),
    ]
}

fn encode(frames: &[(Frame, u8)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (f, term) in frames {
        match f.framing {
            Framing::OctetCounting => {
                out.extend_from_slice(format!("{} ", f.data.len()).as_bytes());
                out.extend_from_slice(&f.data);
            }
            Framing::NonTransparent => {
                out.extend_from_slice(&f.data);
                match term % 3 {
                    0 => out.push(b'\n'),
                    1 => out.extend_from_slice(b"\r\n"),
                    _ => out.push(0),
                }
            }
        }
    }
    out
}

/// Feeds `stream` cut at `cuts` (positions, reduced modulo the length), then finishes.
fn feed_chunked(max: usize, stream: &[u8], cuts: &[usize]) -> Vec<FrameResult> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.sort_unstable();
    let mut framer = Framer::new(max);
    let mut out = Vec::new();
    let mut start = 0;
    for p in points.into_iter().chain([stream.len()]) {
        let chunk = &stream[start..p];
        out.extend(framer.feed(chunk));
        assert!(framer.buffered() <= (max + 1).max(10));
        start = p;
    }
    out.extend(framer.finish());
    out
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_on_bytes(input in proptest::collection::vec(any::<u8>(), 0..512), ctx in context()) {
        check_invariants(&syslog::parse(&input, &ctx));
    }

    #[test]
    fn parse_never_panics_on_syslogish_bytes(input in syslogish(), ctx in context()) {
        check_invariants(&syslog::parse(&input, &ctx));
    }

    #[test]
    fn rfc5424_round_trip(f in fields(), ctx in context()) {
        let rendered = render(&f);
        prop_assert_eq!(syslog::parse(&rendered, &ctx), expected(&f), "{}", String::from_utf8_lossy(&rendered));
    }

    #[test]
    fn framer_round_trip_under_any_chunking(
        frames in proptest::collection::vec((frame(), any::<u8>()), 0..12),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let stream = encode(&frames);
        let want: Vec<FrameResult> = frames.into_iter().map(|(f, _)| Ok(f)).collect();
        prop_assert_eq!(feed_chunked(1024, &stream, &cuts), want);
    }

    #[test]
    fn framer_is_chunking_independent_on_any_bytes(
        stream in proptest::collection::vec(
            prop_oneof![any::<u8>(), Just(b'\n'), Just(b' '), Just(b'1'), Just(b'9')], 0..300),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        max in 0usize..40,
    ) {
        let whole = feed_chunked(max, &stream, &[]);
        prop_assert_eq!(feed_chunked(max, &stream, &cuts), whole.clone());
        // Every error is an oversize or an incomplete last frame, and frames respect the maximum.
        for (i, r) in whole.iter().enumerate() {
            match r {
                Ok(f) => prop_assert!(!f.data.is_empty() && f.data.len() <= max),
                Err(FrameError::Oversize { prefix, length, .. }) => {
                    prop_assert!(prefix.len() == max && *length > max)
                }
                Err(FrameError::Incomplete { .. }) => prop_assert_eq!(i, whole.len() - 1),
            }
        }
    }
}

// ---------------------------------------------------------------- end to end

// A capture in the shape rsyslog's omfwd sends with octet-counted framing, chunked as TCP might.
#[test]
fn framed_stream_parses_end_to_end() {
    let lines: [&[u8]; 3] = [
        b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8",
        b"<38>Oct 11 22:14:15 bastion sshd[21414]: Accepted publickey for ops from 203.0.113.7 port 52144 ssh2",
        b"<189>31: *Oct 11 22:13:52.383: %SYS-5-CONFIG_I: Configured from console by vty0 (10.1.1.1)",
    ];
    let mut stream = Vec::new();
    for line in lines {
        stream.extend_from_slice(format!("{} ", line.len()).as_bytes());
        stream.extend_from_slice(line);
    }
    let ctx = ParseContext::new("2003-10-11T22:14:16Z".parse().unwrap(), TimeZone::UTC);
    let mut framer = Framer::new(2048);
    let mut messages = Vec::new();
    for chunk in stream.chunks(7) {
        for frame in framer.feed(chunk) {
            messages.push(syslog::parse(&frame.unwrap().data, &ctx));
        }
    }
    assert!(framer.finish().is_none());
    let summary: Vec<_> = messages
        .iter()
        .map(|m| (m.format, m.app_name.as_deref(), m.timestamp_status))
        .collect();
    assert_eq!(
        summary,
        [
            (Format::Rfc5424, Some("su"), TimestampStatus::Parsed),
            (Format::Rfc3164, Some("sshd"), TimestampStatus::Inferred),
            (
                Format::Rfc3164,
                Some("%SYS-5-CONFIG_I"),
                TimestampStatus::Inferred
            ),
        ]
    );
}
