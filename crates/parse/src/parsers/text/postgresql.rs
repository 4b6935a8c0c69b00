//! PostgreSQL server logs (stderr/file and syslog destinations), including pgaudit's `AUDIT:`
//! lines.
//!
//! # Line prefix
//!
//! `log_line_prefix` is configurable; the reader accepts what the common settings produce, in
//! this order, each part optional:
//!
//! * syslog's sequence number `[12-1] ` (added by PostgreSQL when it logs to syslog);
//! * a time, `%m` (`2024-01-02 03:04:05.678 UTC`) or `%t` (no fraction), with its zone;
//! * the pid, `[1234]` (`%p`) or `[1234-5]` (`%p-%l`), optionally followed by `:`;
//! * session details: Debian's `%q%u@%d` (`bob@shop`, `[unknown]@[unknown]`) or `key=value` lists
//!   such as pgBadger's `user=%u,db=%d,app=%a,client=%h`;
//!
//! then the level and two spaces (`LOG:  `, `FATAL:  `, `DETAIL:  `...). A line is accepted when
//! it has the level and either a time, a pid, the syslog sequence or the program `postgres`.
//! A zone of `UTC`, `GMT` or a numeric offset makes the time Stated; a zone abbreviation (`CET`,
//! `EST`), which is ambiguous, is ignored and the time read in the source's zone (Inferred).
//!
//! # Classes
//!
//! * `statement: SQL`, `execute NAME: SQL`, `duration: ... statement: SQL` and pgaudit
//!   (`AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.accounts,"select ...",<not logged>`, CSV
//!   with `""` escapes; fields kept in `vendor` under pgaudit's names `AUDIT_TYPE`...`PARAMETER`)
//!   are Datastore Activity 4 Query;
//! * `connection received` and `connection authorized` are Datastore 3 Connect, `disconnection`
//!   Datastore 99, `database "x" does not exist` a failed Connect;
//! * `connection authenticated` is a successful Authentication logon; `... authentication failed
//!   for user "x"`, `role "x" does not exist` and `no pg_hba.conf entry for ...` (Medium: a
//!   policy denial) are failed ones;
//! * anything else is a status event, with severity from the level and, for `STATEMENT:` lines,
//!   the statement in `query`.

use std::borrow::Cow;

use memchr::memmem;
use shieldwall_core::event::{Event, EventClass, LogKind, Severity, Status};

use super::common::{
    Civil, date, joined, number, offset, pid, port, program_is, set_src_host, set_time,
    time_of_day, unmapped, vendor,
};
use crate::registry::{Message, TextParser};

/// The `postgresql` parser.
pub(super) struct Postgresql;

const ID: &str = "postgresql";

/// The programs PostgreSQL logs under.
pub(super) const PROGRAMS: &[&str] = &["postgres", "postgresql", "postmaster"];

impl TextParser for Postgresql {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        parse(message, event)
    }
}

const LEVELS: [&str; 18] = [
    "LOG",
    "ERROR",
    "FATAL",
    "PANIC",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG",
    "DEBUG1",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "DEBUG5",
    "DETAIL",
    "HINT",
    "STATEMENT",
    "CONTEXT",
    "QUERY",
];

/// Session details from the prefix.
#[derive(Default)]
struct Session<'a> {
    user: Option<&'a str>,
    database: Option<&'a str>,
    application: Option<&'a str>,
    client: Option<&'a str>,
}

fn parse(message: &Message<'_>, event: &mut Event) -> bool {
    let text = message.text.trim_end();
    let mut rest = text;
    let mut anchored = program_is(message, PROGRAMS);
    if let Some((seq, after)) = rest.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        let (a, b) = seq.split_once('-').unwrap_or((seq, "0"));
        if number(a).is_some() && number(b).is_some() {
            rest = after;
            anchored = true;
        }
    }
    let mut time = None;
    let mut zone_name = None;
    let b = rest.as_bytes();
    let mut civil = Civil::default();
    if date(b, b'-', &mut civil).is_some()
        && b.get(10) == Some(&b' ')
        && let Some(used) = b.get(11..).and_then(|t| time_of_day(t, &mut civil))
    {
        let after = rest.get(11 + used..).unwrap_or("").trim_start();
        let (zone, after_zone) = after.split_once(' ').unwrap_or((after, ""));
        let (zone_offset, after) = if zone.starts_with('[') || zone.is_empty() {
            (None, after)
        } else {
            zone_name = Some(zone);
            (offset(zone), after_zone)
        };
        time = civil.resolve(zone_offset, message);
        rest = after;
        anchored = true;
    }
    let mut process = None;
    if let Some((inside, after)) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        let (p, _line) = inside.split_once('-').unwrap_or((inside, ""));
        if let Some(p) = pid(p) {
            process = Some(p);
            rest = after.strip_prefix(':').unwrap_or(after).trim_start();
            anchored = true;
        }
    }
    let Some((prefix, level, body)) = level(rest) else {
        return false;
    };
    if !anchored {
        return false;
    }
    let session = session(prefix);

    event.set_parsed(ID, EventClass::Base, 0);
    event.set_product("PostgreSQL Global Development Group", "PostgreSQL");
    set_time(event, time);
    event.message = Some(body.to_owned());
    vendor(event, "error_severity", level);
    if let Some(zone) = zone_name.filter(|z| offset(z).is_none()) {
        unmapped(event, "time_zone_name", zone);
    }
    let proc = event.actor_process();
    proc.name = Some("postgres".to_owned());
    proc.pid = process.or_else(|| message.pid.and_then(pid));
    if let Some(user) = session.user {
        event.actor_user().name = Some(user.to_owned());
    }
    if let Some(database) = session.database {
        vendor(event, "database_name", database);
    }
    if let Some(app) = session.application {
        unmapped(event, "application_name", app);
    }
    if let Some(client) = session.client {
        set_src_host(event, client);
    }
    if !classify(event, level, body, &session) {
        status(event, level, body);
    }
    true
}

/// Finds `LEVEL:  ` and splits the line into the session prefix, the level and the message.
fn level(rest: &str) -> Option<(&str, &str, &str)> {
    for at in memmem::find_iter(rest.as_bytes(), b":  ") {
        let before = rest.get(..at)?;
        let word_start = before.rfind(' ').map_or(0, |i| i + 1);
        let word = before.get(word_start..)?;
        if LEVELS.contains(&word) {
            let prefix = before.get(..word_start)?.trim();
            return Some((prefix, word, rest.get(at + 3..)?));
        }
    }
    None
}

/// `user@db`, or `user=..,db=..,app=..,client=..` (comma or space separated).
fn session(prefix: &str) -> Session<'_> {
    let known = |v: &'_ str| !v.is_empty() && v != "[unknown]";
    let mut session = Session::default();
    if prefix.contains('=') {
        for pair in prefix.split([',', ' ']) {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            if !known(value) {
                continue;
            }
            match key {
                "user" | "usr" | "u" => session.user = Some(value),
                "db" | "database" | "d" => session.database = Some(value),
                "app" | "application" | "a" => session.application = Some(value),
                "client" | "host" | "remote" | "h" => session.client = Some(value),
                _ => {}
            }
        }
    } else if let Some((user, db)) = prefix.split_once('@') {
        session.user = Some(user).filter(|u| known(u));
        session.database = Some(db).filter(|d| known(d));
    }
    session
}

/// Maps the messages we know; `false` leaves the event to [`status`].
fn classify(event: &mut Event, level: &str, body: &str, session: &Session<'_>) -> bool {
    if let Some(sql) = statement(body) {
        query(event, "postgresql:statement", sql, session);
        if let Some((ms, _)) = body
            .strip_prefix("duration: ")
            .and_then(|d| d.split_once(" ms"))
        {
            unmapped(event, "duration_ms", ms);
        }
        return true;
    }
    if let Some(audit) = body.strip_prefix("AUDIT: ") {
        return pgaudit(event, audit, session);
    }
    if let Some(rest) = body.strip_prefix("connection received: ") {
        connect(
            event,
            "postgresql:connection_received",
            "connection received",
            None,
        );
        for (key, value) in rest.split(' ').filter_map(|p| p.split_once('=')) {
            match key {
                "host" => set_src_host(event, value),
                "port" => event.src().port = port(value),
                _ => {}
            }
        }
        return true;
    }
    if let Some(rest) = body.strip_prefix("connection authorized: ") {
        connect(
            event,
            "postgresql:connection_authorized",
            "connect",
            Some(Status::Success),
        );
        for (key, value) in rest.split(' ').map_while(|p| p.split_once('=')) {
            match key {
                "user" => event.actor_user().name = Some(value.to_owned()),
                "database" => {
                    event.target = Some(joined("database:", value));
                    vendor(event, "database_name", value);
                }
                "application_name" => unmapped(event, "application_name", value),
                _ => {}
            }
        }
        if rest.contains(" SSL enabled") {
            unmapped(event, "ssl", true);
        }
        return true;
    }
    if let Some(rest) = body.strip_prefix("connection authenticated: ") {
        event.class = EventClass::Authentication;
        event.activity_id = 1;
        event.activity = Some("logon".to_owned());
        event.status = Some(Status::Success);
        event.severity = Some(Severity::Info);
        event.feature = Some("postgresql:connection_authenticated".to_owned());
        for (key, value) in rest.split(' ').filter_map(|p| p.split_once('=')) {
            match key {
                "identity" => set_user(event, value.trim_matches('"')),
                "method" => unmapped(event, "auth_method", value),
                _ => {}
            }
        }
        return true;
    }
    if let Some(rest) = body.strip_prefix("disconnection: ") {
        connect(event, "postgresql:disconnection", "disconnect", None);
        event.activity_id = 99;
        if let Some((time, _)) = rest
            .strip_prefix("session time: ")
            .and_then(|r| r.split_once(' '))
        {
            unmapped(event, "session_time", time);
        }
        for (key, value) in rest.split(' ').filter_map(|p| p.split_once('=')) {
            match key {
                "host" => set_src_host(event, value),
                "port" => event.src().port = port(value),
                "database" => event.target = Some(joined("database:", value)),
                _ => {}
            }
        }
        return true;
    }
    if level == "FATAL" {
        return fatal(event, body);
    }
    false
}

fn statement(body: &str) -> Option<&str> {
    let body = match body.strip_prefix("duration: ") {
        Some(rest) => rest.split_once("  ")?.1,
        None => body,
    };
    if let Some(sql) = body.strip_prefix("statement: ") {
        return Some(sql);
    }
    let rest = body
        .strip_prefix("execute ")
        .or_else(|| body.strip_prefix("bind "))
        .or_else(|| body.strip_prefix("parse "))?;
    let (_, sql) = rest.split_once(": ")?;
    Some(sql)
}

fn query(event: &mut Event, feature: &str, sql: &str, session: &Session<'_>) {
    event.class = EventClass::DatastoreActivity;
    event.log_kind = LogKind::BehaviourEvent;
    event.activity_id = 4;
    event.activity = Some("query".to_owned());
    event.status = Some(Status::Success);
    event.severity = Some(Severity::Info);
    event.feature = Some(feature.to_owned());
    event.query = Some(sql.to_owned());
    if let Some(db) = session.database {
        event.target = Some(joined("database:", db));
    }
}

fn connect(event: &mut Event, feature: &str, activity: &str, status: Option<Status>) {
    event.class = EventClass::DatastoreActivity;
    event.log_kind = LogKind::BehaviourEvent;
    event.activity_id = 3;
    event.activity = Some(activity.to_owned());
    event.status = status;
    event.severity = Some(Severity::Info);
    event.feature = Some(feature.to_owned());
}

/// `AUDIT_TYPE,STATEMENT_ID,SUBSTATEMENT_ID,CLASS,COMMAND,OBJECT_TYPE,OBJECT_NAME,STATEMENT,
/// PARAMETER[,ROWS]`.
fn pgaudit(event: &mut Event, csv: &str, session: &Session<'_>) -> bool {
    const NAMES: [&str; 10] = [
        "AUDIT_TYPE",
        "STATEMENT_ID",
        "SUBSTATEMENT_ID",
        "CLASS",
        "COMMAND",
        "OBJECT_TYPE",
        "OBJECT_NAME",
        "STATEMENT",
        "PARAMETER",
        "ROWS",
    ];
    let mut values: [Cow<'_, str>; 10] = Default::default();
    let mut rest = Some(csv);
    let mut count = 0;
    for slot in &mut values {
        let Some(s) = rest else { break };
        let Some((field, next)) = csv_field(s) else {
            return false;
        };
        *slot = field;
        rest = next;
        count += 1;
    }
    let [
        audit_type,
        statement_id,
        substatement_id,
        class,
        command,
        object_type,
        object_name,
        statement,
        ..,
    ] = &values;
    if count < 8
        || !matches!(audit_type.as_ref(), "SESSION" | "OBJECT")
        || number(statement_id).is_none()
        || number(substatement_id).is_none()
    {
        return false;
    }
    query(
        event,
        if audit_type == "OBJECT" {
            "pgaudit:OBJECT"
        } else {
            "pgaudit:SESSION"
        },
        statement,
        session,
    );
    event.set_product("PostgreSQL Global Development Group", "pgaudit");
    event.activity = Some(command.to_string());
    if !object_name.is_empty() {
        let kind = if object_type.is_empty() {
            "object".to_owned()
        } else {
            object_type.to_ascii_lowercase()
        };
        event.target = Some(format!("{kind}:{object_name}"));
    }
    unmapped(event, "audit_class", class.as_ref());
    for (name, value) in NAMES.iter().zip(&values).take(count) {
        vendor(event, name, value.as_ref());
    }
    true
}

/// One CSV field (RFC 4180 quoting, `""` for a quote) and the rest after its comma, if any.
fn csv_field(s: &str) -> Option<(Cow<'_, str>, Option<&str>)> {
    let Some(inner) = s.strip_prefix('"') else {
        return Some(match s.split_once(',') {
            Some((field, rest)) => (Cow::Borrowed(field), Some(rest)),
            None => (Cow::Borrowed(s), None),
        });
    };
    let bytes = inner.as_bytes();
    let mut i = 0;
    let mut escaped = false;
    loop {
        let at = i + memchr::memchr(b'"', bytes.get(i..)?)?;
        if bytes.get(at + 1) == Some(&b'"') {
            escaped = true;
            i = at + 2;
            continue;
        }
        let field = inner.get(..at)?;
        let field = if escaped {
            Cow::Owned(field.replace("\"\"", "\""))
        } else {
            Cow::Borrowed(field)
        };
        let after = inner.get(at + 1..)?;
        return match after.strip_prefix(',') {
            Some(rest) => Some((field, Some(rest))),
            None if after.is_empty() => Some((field, None)),
            None => None,
        };
    }
}

/// FATAL messages about logons.
fn fatal(event: &mut Event, body: &str) -> bool {
    if let Some((method, user)) = body.split_once(" authentication failed for user \"") {
        let user = user.trim_end_matches('"');
        auth_failure(event, user, "postgresql:auth_failed", Severity::Low);
        unmapped(event, "auth_method", method.to_ascii_lowercase());
        event.status_detail = Some(body.to_owned());
        return true;
    }
    if let Some(rest) = body.strip_prefix("no pg_hba.conf entry for ") {
        let mut user = None;
        for part in rest.split(", ") {
            if let Some(v) = part
                .strip_prefix("host \"")
                .and_then(|v| v.strip_suffix('"'))
            {
                set_src_host(event, v);
            } else if let Some(v) = part
                .strip_prefix("user \"")
                .and_then(|v| v.strip_suffix('"'))
            {
                user = Some(v);
            } else if let Some(v) = part
                .strip_prefix("database \"")
                .and_then(|v| v.strip_suffix('"'))
            {
                vendor(event, "database_name", v);
            }
        }
        auth_failure(
            event,
            user.unwrap_or(""),
            "postgresql:no_hba_entry",
            Severity::Medium,
        );
        event.status_detail = Some(body.to_owned());
        return true;
    }
    if let Some(role) = body
        .strip_prefix("role \"")
        .and_then(|r| r.strip_suffix("\" does not exist"))
    {
        auth_failure(event, role, "postgresql:role_does_not_exist", Severity::Low);
        event.status_detail = Some(body.to_owned());
        return true;
    }
    if let Some(db) = body
        .strip_prefix("database \"")
        .and_then(|r| r.strip_suffix("\" does not exist"))
    {
        connect(
            event,
            "postgresql:database_does_not_exist",
            "connect",
            Some(Status::Failure),
        );
        event.severity = Some(Severity::Low);
        event.status_detail = Some(body.to_owned());
        event.target = Some(joined("database:", db));
        return true;
    }
    false
}

fn auth_failure(event: &mut Event, user: &str, feature: &str, severity: Severity) {
    event.class = EventClass::Authentication;
    event.log_kind = LogKind::BehaviourEvent;
    event.activity_id = 1;
    event.activity = Some("logon".to_owned());
    event.status = Some(Status::Failure);
    event.severity = Some(severity);
    event.feature = Some(feature.to_owned());
    set_user(event, user);
}

fn set_user(event: &mut Event, user: &str) {
    if user.is_empty() {
        return;
    }
    event.target_user().name = Some(user.to_owned());
    event.target = Some(joined("user:", user));
}

/// Any other line: a status event.
fn status(event: &mut Event, level: &str, body: &str) {
    event.class = EventClass::Base;
    event.log_kind = LogKind::StatusMonitoring;
    event.severity = Some(match level {
        "WARNING" | "ERROR" => Severity::Low,
        "FATAL" => Severity::Medium,
        "PANIC" => Severity::High,
        _ => Severity::Info,
    });
    if matches!(level, "ERROR" | "FATAL" | "PANIC") {
        event.status = Some(Status::Failure);
        event.status_detail = Some(body.to_owned());
    }
    if level == "STATEMENT" || level == "QUERY" {
        event.query = Some(body.to_owned());
    }
    event.feature = Some(format!("postgresql:{}", level.to_ascii_lowercase()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_follow_rfc_4180() {
        let (f, rest) = csv_field(r#""a ""b"", c",d"#).unwrap();
        assert_eq!(f, r#"a "b", c"#);
        assert_eq!(rest, Some("d"));
        assert_eq!(csv_field("x").unwrap(), (Cow::Borrowed("x"), None));
        assert_eq!(csv_field(r#""open"#), None);
        assert_eq!(csv_field(r#""a"b"#), None);
    }

    #[test]
    fn levels_are_found_after_the_session() {
        assert_eq!(
            level("app@shop LOG:  statement: SELECT 1"),
            Some(("app@shop", "LOG", "statement: SELECT 1"))
        );
        assert_eq!(level("LOG:  x"), Some(("", "LOG", "x")));
        assert_eq!(level("nothing here"), None);
    }
}
