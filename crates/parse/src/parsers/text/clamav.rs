//! ClamAV: detections and status from `clamd` (its log file and syslog), `clamdscan`/`clamscan`
//! reports and `clamonacc`, and the `freshclam` updater.
//!
//! Both log files may start lines with `LogTime`'s `Sun Nov 29 01:47:57 2026 -> ` (local time,
//! no zone: Inferred). Through syslog the time is gone and freshclam drops its `WARNING: ` and
//! `ERROR: ` words (the syslog priority carries them).
//!
//! `PATH: SIGNATURE FOUND` (with `ExtendedDetectionInfo`, `SIGNATURE(MD5:SIZE)`) is a Detection
//! Finding (2004, activity 1 Create): `detection.title` and `feature` are the signature, `file`
//! the path, `attack_type` `malware`, severity High; the hash and size go to `unmapped`. Paths may
//! contain `: ` and spaces, so the signature is read from the right. The signature's second
//! dotted part (`Win.Test.EICAR_HDB-1` is platform `Win`, category `Test`) is the detection
//! category. `PATH: REASON ERROR` is a failed status event; every other line (daemon status,
//! scan summaries, update progress) a status event. The scanner parser takes lines without a
//! detection only when they carry the `LogTime` stamp, a level, a scan result or summary, or come
//! from a scanner program. freshclam is routed to its parser only by its program or by a source
//! that names it, so that parser takes every non-empty line as freshclam's.

use shieldwall_core::event::{Event, EventClass, LogKind, Severity, Status};

use super::common::{
    Civil, joined, month, number, program_is, set_daemon, set_time, time_of_day, unmapped,
};
use crate::registry::{Message, TextParser};

/// The `clamav` parser: clamd, clamdscan, clamscan, clamonacc.
pub(super) struct Clamav;

/// The `freshclam` parser.
pub(super) struct Freshclam;

/// Programs of the scanner.
pub(super) const SCANNER_PROGRAMS: &[&str] = &[
    "clamd",
    "clamav",
    "clamdscan",
    "clamscan",
    "clamonacc",
    "clamav-daemon",
];

/// Programs of the updater.
pub(super) const UPDATER_PROGRAMS: &[&str] = &["freshclam", "clamav-freshclam"];

impl TextParser for Clamav {
    fn id(&self) -> &str {
        "clamav"
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        scanner(message, event)
    }
}

impl TextParser for Freshclam {
    fn id(&self) -> &str {
        "freshclam"
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        updater(message, event)
    }
}

/// `Www Mmm dd hh:mm:ss yyyy -> ` at the start of a line.
fn log_time<'a>(
    text: &'a str,
    message: &Message<'_>,
) -> Option<(
    Option<(jiff::Timestamp, shieldwall_core::TimeStatus)>,
    &'a str,
)> {
    let (stamp, rest) = text.split_once(" -> ")?;
    let mut parts = stamp.split(' ').filter(|p| !p.is_empty());
    let weekday = parts.next()?;
    if weekday.len() != 3 {
        return None;
    }
    let mut civil = Civil {
        month: month(parts.next()?)?,
        ..Civil::default()
    };
    civil.day = i8::try_from(number(parts.next()?)?).ok()?;
    let clock = parts.next()?;
    if time_of_day(clock.as_bytes(), &mut civil)? != clock.len() {
        return None;
    }
    civil.year = i16::try_from(number(parts.next()?)?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some((civil.resolve(None, message), rest))
}

/// The level word freshclam and clamd put before some messages.
fn strip_level(text: &str) -> (Option<Severity>, &str) {
    if let Some(rest) = text.strip_prefix("ERROR: ") {
        (Some(Severity::Medium), rest)
    } else if let Some(rest) = text.strip_prefix("WARNING: ") {
        (Some(Severity::Low), rest)
    } else if let Some(rest) = text.strip_prefix("LibClamAV Error: ") {
        (Some(Severity::Medium), rest)
    } else if let Some(rest) = text.strip_prefix("LibClamAV Warning: ") {
        (Some(Severity::Low), rest)
    } else {
        (None, text)
    }
}

fn scanner(message: &Message<'_>, event: &mut Event) -> bool {
    let text = message.text.trim_end();
    let (time, body, stamped) = match log_time(text, message) {
        Some((time, body)) => (time, body, true),
        None => (None, text, false),
    };
    if body.is_empty() {
        return false;
    }
    if let Some(found) = body.strip_suffix(" FOUND")
        && let Some((path, signature)) = found.rsplit_once(": ")
        && !path.is_empty()
        && !signature.is_empty()
        && !signature.contains(' ')
    {
        detection(message, event, path, signature);
        set_time(event, time);
        return true;
    }
    let known = program_is(message, SCANNER_PROGRAMS) || stamped;
    let (level, body) = strip_level(body);
    // `PATH: REASON ERROR` (the reason may itself hold `: `) and clamscan's per-file results.
    let result = if body.ends_with(" ERROR") {
        body.split_once(": ")
    } else {
        body.rsplit_once(": ")
    }
    .filter(|(path, _)| path.starts_with('/') || path.starts_with("stream"));
    let summary = is_summary(body);
    if !(known || summary || result.is_some() || level.is_some()) {
        return false;
    }
    status(message, event, "clamav", "clamd", body);
    set_time(event, time);
    if let Some((path, outcome)) = result {
        event.file = Some(path.to_owned());
        if let Some(reason) = outcome.strip_suffix(" ERROR") {
            event.status = Some(Status::Failure);
            event.status_detail = Some(reason.to_owned());
            event.severity = Some(Severity::Low);
            event.feature = Some("clamav:scan_error".to_owned());
        } else {
            event.feature = Some("clamav:scan_result".to_owned());
            unmapped(event, "scan_result", outcome);
        }
    }
    if let Some(severity) = level {
        event.severity = Some(severity);
        event.feature = Some(if severity == Severity::Medium {
            "clamav:error".to_owned()
        } else {
            "clamav:warning".to_owned()
        });
    }
    if summary {
        event.feature = Some("clamav:scan_summary".to_owned());
        if let Some((key, value)) = body.split_once(": ") {
            unmapped(event, "summary_key", key);
            unmapped(event, "summary_value", value.trim());
        }
    }
    true
}

/// clamscan/clamdscan report lines: the summary banner, separators and `Key: value` totals.
fn is_summary(body: &str) -> bool {
    const KEYS: [&str; 11] = [
        "Known viruses",
        "Engine version",
        "Scanned directories",
        "Scanned files",
        "Infected files",
        "Total errors",
        "Data scanned",
        "Data read",
        "Time",
        "Start Date",
        "End Date",
    ];
    let trimmed = body.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b == b'-') {
        return true;
    }
    if trimmed == "----------- SCAN SUMMARY -----------" {
        return true;
    }
    trimmed
        .split_once(':')
        .is_some_and(|(key, _)| KEYS.contains(&key))
}

fn detection(message: &Message<'_>, event: &mut Event, path: &str, signature: &str) {
    let (name, extra) = match signature.strip_suffix(')').and_then(|s| s.rsplit_once('(')) {
        Some((name, extra)) => (name, Some(extra)),
        None => (signature, None),
    };
    event.set_parsed("clamav", EventClass::DetectionFinding, 1);
    event.set_product("Cisco Talos", "ClamAV");
    set_daemon(event, message, "clamd");
    event.activity = Some("detect".to_owned());
    event.severity = Some(Severity::High);
    event.attack_type = Some("malware".to_owned());
    event.feature = Some(name.to_owned());
    event.file = Some(path.to_owned());
    event.target = Some(joined("file:", path));
    event.message = Some(message.text.trim_end().to_owned());
    let detection = event.detection_mut();
    detection.title = Some(name.to_owned());
    let mut parts = name.split('.');
    if let (Some(_platform), Some(category), Some(_)) = (parts.next(), parts.next(), parts.next()) {
        detection.category = Some(category.to_owned());
    }
    if let Some((md5, size)) = extra.and_then(|e| e.split_once(':')) {
        unmapped(event, "file_md5", md5);
        if let Some(size) = number(size) {
            unmapped(event, "file_size", size);
        }
    }
}

fn updater(message: &Message<'_>, event: &mut Event) -> bool {
    let text = message.text.trim_end();
    let (time, body) = match log_time(text, message) {
        Some((time, body)) => (time, body),
        None => (None, text),
    };
    let (level, body) = strip_level(body);
    if body.trim().is_empty() {
        return false;
    }
    let database = database_line(body);
    status(message, event, "freshclam", "freshclam", body);
    set_time(event, time);
    event.activity = Some("update".to_owned());
    if let Some(severity) = level {
        event.severity = Some(severity);
        if severity == Severity::Medium {
            event.status = Some(Status::Failure);
            event.status_detail = Some(body.to_owned());
        }
    }
    if let Some((db, outcome, details)) = database {
        event.feature = Some(joined("freshclam:", outcome));
        event.status = Some(Status::Success);
        unmapped(event, "database", db);
        for (key, value) in details.split(", ").filter_map(|p| p.split_once(": ")) {
            let key = match key {
                "version" => "database_version",
                "sigs" => "signatures",
                "f-level" => "functionality_level",
                "builder" => "builder",
                _ => continue,
            };
            match number(value) {
                Some(n) => unmapped(event, key, n),
                None => unmapped(event, key, value),
            }
        }
    } else if let Some(rest) = body.strip_prefix("Database updated (") {
        event.feature = Some("freshclam:database_updated".to_owned());
        event.status = Some(Status::Success);
        if let Some((count, rest)) = rest.split_once(" signatures) from ") {
            if let Some(n) = number(count) {
                unmapped(event, "signatures", n);
            }
            let (host, ip) = rest.split_once(" (IP: ").unwrap_or((rest, ""));
            event.dst().hostname = Some(host.to_owned());
            if let Some(addr) = ip.strip_suffix(')').and_then(super::common::ip) {
                event.dst().ip = Some(addr);
            }
        }
    } else if body.starts_with("ClamAV update process started at ") {
        event.feature = Some("freshclam:update_started".to_owned());
    } else if level.is_none() {
        event.feature = Some("freshclam:other".to_owned());
    }
    if let Some((_, server)) = body
        .split_once("from server: ")
        .or_else(|| body.split_once(" using server "))
    {
        unmapped(event, "server", server.trim_end_matches(['.', ' ']));
    }
    true
}

/// `daily.cvd database is up-to-date (version: ..., sigs: ..., f-level: ..., builder: ...)` and
/// `daily.cld updated (version: ...)`: the database, `up_to_date` or `updated`, and the details.
fn database_line(body: &str) -> Option<(&str, &'static str, &str)> {
    let (db, rest) = body.split_once(' ')?;
    if !(db.ends_with(".cvd") || db.ends_with(".cld")) {
        return None;
    }
    let (outcome, rest) = if let Some(r) = rest.strip_prefix("database is up-to-date (") {
        ("up_to_date", r)
    } else if let Some(r) = rest.strip_prefix("updated (") {
        ("updated", r)
    } else {
        return None;
    };
    Some((db, outcome, rest.strip_suffix(')').unwrap_or(rest)))
}

fn status(message: &Message<'_>, event: &mut Event, id: &str, daemon: &str, body: &str) {
    event.set_parsed(id, EventClass::Base, 0);
    event.log_kind = LogKind::StatusMonitoring;
    event.set_product("Cisco Talos", "ClamAV");
    if message.program.is_some() {
        set_daemon(event, message, daemon);
    }
    event.severity = Some(Severity::Info);
    event.feature = Some(format!("{id}:status"));
    event.message = Some(body.to_owned());
}
