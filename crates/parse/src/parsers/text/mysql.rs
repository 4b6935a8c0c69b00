//! MySQL and MariaDB: the MariaDB `server_audit` plugin's records and the server error log.
//!
//! # server_audit (`mariadb-audit`)
//!
//! `[timestamp,]serverhost,username,host,connectionid,queryid,operation,database,object,retcode`,
//! the timestamp (`20240102 03:04:05`, local time) present in the file and absent through syslog
//! (ident `mysql-server_auditing`). The object of a query is single-quoted with backslash escapes
//! (`'select \'x\''`), the object of a table event is bare (`accounts`). Fields are kept in
//! `vendor` under the plugin's documented names. Mapping: CONNECT Datastore 3 Connect;
//! FAILED_CONNECT an Authentication failure (retcode 1045 access denied, 1044 database denied...);
//! DISCONNECT Datastore 99; QUERY and its QUERY_DDL/DML/DCL variants Datastore 4 Query (failed when
//! retcode is not 0); table events READ 1 Read, WRITE 5 Write, CREATE 6 Create, ALTER and RENAME
//! 2 Update, DROP 7 Delete.
//!
//! # Error log (`mysql-error`)
//!
//! MySQL 8 `2024-01-02T03:04:05.123456Z 12 [Note] [MY-010926] [Server] message`, MySQL 5.7
//! without the code and subsystem, MariaDB `2024-01-02  3:04:05 12 [Warning] message` (no zone:
//! Inferred) and MySQL 5.5 `240102  3:04:05 [Note] message`. `Access denied for user 'u'@'h'`
//! becomes an Authentication failure, `... to database 'd'` a refused Datastore Connect; other
//! lines are status events. Lines without time and level are accepted from the programs
//! `mysqld`/`mariadbd` only.

use std::borrow::Cow;

use shieldwall_core::event::{Event, EventClass, LogKind, Severity, Status};

use super::common::{
    Civil, date, digits, joined, number, offset, program_is, set_daemon, set_src_host, set_time,
    time_of_day, unmapped, vendor,
};
use crate::registry::{Message, TextParser};

/// The `mariadb-audit` parser.
pub(super) struct MariadbAudit;

/// The `mysql-error` parser.
pub(super) struct MysqlError;

/// The programs the server logs under.
pub(super) const SERVER_PROGRAMS: &[&str] =
    &["mysqld", "mariadbd", "mysql", "mariadb", "mysqld_safe"];

impl TextParser for MariadbAudit {
    fn id(&self) -> &str {
        "mariadb-audit"
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        audit(message, event)
    }
}

impl TextParser for MysqlError {
    fn id(&self) -> &str {
        "mysql-error"
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        error_log(message, event)
    }
}

// ------------------------------------------------------------------ server_audit

const OPERATIONS: [&str; 16] = [
    "CONNECT",
    "DISCONNECT",
    "FAILED_CONNECT",
    "CHANGEUSER",
    "QUERY",
    "QUERY_DDL",
    "QUERY_DML",
    "QUERY_DCL",
    "QUERY_DML_NO_SELECT",
    "READ",
    "WRITE",
    "CREATE",
    "ALTER",
    "RENAME",
    "DROP",
    "PROXY_CONNECT",
];

fn audit(message: &Message<'_>, event: &mut Event) -> bool {
    let text = message.text.trim();
    let mut fields = text;
    let mut time = None;
    // `20240102 03:04:05,` in files.
    let b = text.as_bytes();
    if b.get(8) == Some(&b' ') && b.get(17) == Some(&b',') {
        let mut civil = Civil::default();
        let (Some(y), Some(m), Some(d)) = (
            digits(b, 4),
            b.get(4..).and_then(|r| digits(r, 2)),
            b.get(6..).and_then(|r| digits(r, 2)),
        ) else {
            return false;
        };
        civil.year = i16::try_from(y).unwrap_or(0);
        civil.month = i8::try_from(m).unwrap_or(0);
        civil.day = i8::try_from(d).unwrap_or(0);
        if b.get(9..).and_then(|r| time_of_day(r, &mut civil)) != Some(8) {
            return false;
        }
        time = civil.resolve(None, message);
        fields = text.get(18..).unwrap_or("");
    }
    let mut parts = fields.splitn(8, ',');
    let (
        Some(server),
        Some(user),
        Some(host),
        Some(connection),
        Some(query_id),
        Some(operation),
        Some(database),
        Some(rest),
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return false;
    };
    if number(connection).is_none()
        || number(query_id).is_none()
        || !OPERATIONS.contains(&operation)
    {
        return false;
    }
    let (object, retcode) = rest.rsplit_once(',').unwrap_or((rest, ""));
    if !retcode.is_empty() && number(retcode).is_none() {
        return false;
    }
    let object = unquote(object);
    let failed = !matches!(retcode, "" | "0");

    let (class, activity_id, activity) = match operation {
        "CONNECT" | "PROXY_CONNECT" | "CHANGEUSER" => (EventClass::DatastoreActivity, 3, "connect"),
        "FAILED_CONNECT" => (EventClass::Authentication, 1, "logon"),
        "DISCONNECT" => (EventClass::DatastoreActivity, 99, "disconnect"),
        "READ" => (EventClass::DatastoreActivity, 1, "read"),
        "WRITE" => (EventClass::DatastoreActivity, 5, "write"),
        "CREATE" => (EventClass::DatastoreActivity, 6, "create"),
        "ALTER" | "RENAME" => (EventClass::DatastoreActivity, 2, "update"),
        "DROP" => (EventClass::DatastoreActivity, 7, "delete"),
        _ => (EventClass::DatastoreActivity, 4, "query"),
    };
    event.set_parsed("mariadb-audit", class, activity_id);
    event.set_product("MariaDB", "server_audit");
    set_time(event, time);
    if message.program.is_some() {
        set_daemon(event, message, "mariadbd");
    }
    event.activity = Some(activity.to_owned());
    event.feature = Some(joined("mariadb-audit:", operation));
    event.message = Some(text.to_owned());
    event.status = if retcode.is_empty() {
        None
    } else if failed {
        Some(Status::Failure)
    } else {
        Some(Status::Success)
    };
    event.severity = Some(if failed {
        Severity::Low
    } else {
        Severity::Info
    });
    if failed {
        event.status_detail = Some(format!("error {retcode}"));
    }
    if !user.is_empty() {
        event.actor_user().name = Some(user.to_owned());
    }
    set_src_host(event, host);
    match operation {
        "FAILED_CONNECT" => {
            if !user.is_empty() {
                event.target_user().name = Some(user.to_owned());
                event.target = Some(joined("user:", user));
            }
        }
        "READ" | "WRITE" | "CREATE" | "ALTER" | "RENAME" | "DROP" => {
            event.target = Some(if database.is_empty() {
                joined("table:", &object)
            } else {
                format!("table:{database}.{object}")
            });
        }
        op if op.starts_with("QUERY") => {
            event.query = Some(object.clone().into_owned());
            if !database.is_empty() {
                event.target = Some(joined("database:", database));
            }
        }
        _ => {
            if !database.is_empty() {
                event.target = Some(joined("database:", database));
            }
        }
    }
    vendor(event, "serverhost", server);
    vendor(event, "username", user);
    vendor(event, "host", host);
    vendor(event, "connectionid", connection);
    vendor(event, "queryid", query_id);
    vendor(event, "operation", operation);
    vendor(event, "database", database);
    vendor(event, "object", object.as_ref());
    vendor(event, "retcode", retcode);
    true
}

/// `'select \'x\''` into `select 'x'`; a bare object comes back as it is.
fn unquote(object: &str) -> Cow<'_, str> {
    let Some(inner) = object.strip_prefix('\'').and_then(|o| o.strip_suffix('\'')) else {
        return Cow::Borrowed(object);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

// ------------------------------------------------------------------ error log

fn error_log(message: &Message<'_>, event: &mut Event) -> bool {
    let text = message.text.trim_end();
    let (time, rest, style) = leading_time(text, message);
    let rest = rest.trim_start();
    // Thread id, then `[Level]`.
    let (thread, after_thread) = match rest.split_once(' ') {
        Some((t, r)) if number(t).is_some() => (Some(t), r),
        _ => (None, rest),
    };
    let mut level = None;
    let mut body = after_thread;
    if let Some((l, after)) = after_thread
        .strip_prefix('[')
        .and_then(|r| r.split_once("] "))
        && matches!(
            l,
            "Note" | "Warning" | "ERROR" | "Error" | "System" | "Info"
        )
    {
        level = Some(l);
        body = after;
    }
    let mut code = None;
    let mut subsystem = None;
    if level.is_some()
        && let Some((c, after)) = body.strip_prefix("[MY-").and_then(|r| r.split_once("] "))
    {
        code = Some(c);
        body = after;
        if let Some((s, after)) = body.strip_prefix('[').and_then(|r| r.split_once("] ")) {
            subsystem = Some(s);
            body = after;
        }
    }
    let server_program = program_is(message, SERVER_PROGRAMS);
    let plugin = body.contains("server_audit: ") && time.is_some();
    let stated = time.is_some() && level.is_some();
    if !(stated || plugin || server_program) {
        return false;
    }
    if body.is_empty() && level.is_none() {
        return false;
    }

    event.set_parsed("mysql-error", EventClass::Base, 0);
    event.log_kind = LogKind::StatusMonitoring;
    let mariadb = style == Style::MariaDb
        || plugin
        || message
            .program
            .is_some_and(|p| p.to_ascii_lowercase().contains("maria"));
    if code.is_some() || !mariadb {
        event.set_product("Oracle", "MySQL");
    } else {
        event.set_product("MariaDB", "MariaDB Server");
    }
    set_time(event, time);
    if message.program.is_some() {
        set_daemon(event, message, "mysqld");
    }
    event.severity = Some(match level {
        Some("Warning") => Severity::Low,
        Some("ERROR" | "Error") => Severity::Medium,
        _ => Severity::Info,
    });
    event.message = Some(body.to_owned());
    event.feature = Some(match (code, level) {
        (Some(c), _) => format!("mysql-error:MY-{c}"),
        (None, Some(l)) => format!("mysql-error:{}", l.to_ascii_lowercase()),
        (None, None) => "mysql-error:other".to_owned(),
    });
    if let Some(l) = level {
        vendor(event, "prio", l);
    }
    if let Some(t) = thread {
        vendor(event, "thread", t);
    }
    if let Some(c) = code {
        vendor(event, "err_code", format!("MY-{c}"));
    }
    if let Some(s) = subsystem {
        vendor(event, "subsystem", s);
    }
    access_denied(event, body);
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    None,
    MySql,
    MariaDb,
    Old,
}

/// The time at the start of an error-log line, the rest, and which server's style it is.
fn leading_time<'a>(
    text: &'a str,
    message: &Message<'_>,
) -> (
    Option<(jiff::Timestamp, shieldwall_core::TimeStatus)>,
    &'a str,
    Style,
) {
    let b = text.as_bytes();
    let mut civil = Civil::default();
    if date(b, b'-', &mut civil).is_some() {
        // `2024-01-02T03:04:05.123456Z` / `+01:00` (MySQL 5.7+).
        if b.get(10) == Some(&b'T')
            && let Some(used) = b.get(11..).and_then(|t| time_of_day(t, &mut civil))
        {
            let after = text.get(11 + used..).unwrap_or("");
            let (zone, rest) = after.split_once(' ').unwrap_or((after, ""));
            if zone.is_empty() {
                // `2016-02-24T15:26:18.237955 6 [Note]`: no zone (MySQL 5.7 with
                // log_timestamps=SYSTEM before it printed offsets).
                return (civil.resolve(None, message), after, Style::MySql);
            }
            if let Some(off) = offset(zone) {
                return (civil.resolve(Some(off), message), rest, Style::MySql);
            }
        }
        // `2024-01-02  3:04:05` / `2024-01-02 03:04:05` (MariaDB, MySQL 5.6).
        if b.get(10) == Some(&b' ') {
            let skip = if b.get(11) == Some(&b' ') { 12 } else { 11 };
            if let Some(used) = b.get(skip..).and_then(|t| time_of_day(t, &mut civil)) {
                let rest = text.get(skip + used..).unwrap_or("");
                if rest.starts_with(' ') {
                    return (civil.resolve(None, message), rest, Style::MariaDb);
                }
            }
        }
        return (None, text, Style::None);
    }
    // `240102  3:04:05` / `240102 13:04:05` (MySQL 5.5, MariaDB plugins).
    if b.get(6) == Some(&b' ')
        && let (Some(y), Some(m), Some(d)) = (
            digits(b, 2),
            b.get(2..).and_then(|r| digits(r, 2)),
            b.get(4..).and_then(|r| digits(r, 2)),
        )
    {
        let skip = if b.get(7) == Some(&b' ') { 8 } else { 7 };
        civil.year = i16::try_from(2000 + y).unwrap_or(0);
        civil.month = i8::try_from(m).unwrap_or(0);
        civil.day = i8::try_from(d).unwrap_or(0);
        if let Some(used) = b.get(skip..).and_then(|t| time_of_day(t, &mut civil)) {
            let rest = text.get(skip + used..).unwrap_or("");
            return (civil.resolve(None, message), rest, Style::Old);
        }
    }
    (None, text, Style::None)
}

/// `Access denied for user 'u'@'h' (using password: YES)` and `... to database 'd'`.
fn access_denied(event: &mut Event, body: &str) {
    let Some(rest) = body.strip_prefix("Access denied for user '") else {
        return;
    };
    let Some((user, rest)) = rest.split_once("'@'") else {
        return;
    };
    let Some((host, rest)) = rest.split_once('\'') else {
        return;
    };
    event.log_kind = LogKind::BehaviourEvent;
    event.status = Some(Status::Failure);
    event.status_detail = Some(body.to_owned());
    set_src_host(event, host);
    if let Some(db) = rest
        .strip_prefix(" to database '")
        .and_then(|r| r.split_once('\''))
        .map(|(d, _)| d)
    {
        event.class = EventClass::DatastoreActivity;
        event.activity_id = 3;
        event.activity = Some("connect".to_owned());
        event.severity = Some(Severity::Medium);
        event.feature = Some("mysql-error:access_denied_database".to_owned());
        event.actor_user().name = Some(user.to_owned());
        event.target = Some(joined("database:", db));
        return;
    }
    event.class = EventClass::Authentication;
    event.activity_id = 1;
    event.activity = Some("logon".to_owned());
    event.severity = Some(Severity::Low);
    event.feature = Some("mysql-error:access_denied".to_owned());
    event.target_user().name = Some(user.to_owned());
    event.target = Some(joined("user:", user));
    if let Some(using) = rest
        .trim_start()
        .strip_prefix("(using password: ")
        .and_then(|r| r.split_once(')'))
        .map(|(u, _)| u)
    {
        unmapped(event, "using_password", using == "YES");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_objects_unescape() {
        assert_eq!(
            unquote(r"'show variables like \'datadir\''"),
            "show variables like 'datadir'"
        );
        assert_eq!(unquote(r"'a\\\'b'"), r"a\'b");
        assert_eq!(unquote("accounts"), "accounts");
        assert_eq!(unquote(r"'x\n y'"), "x\n y");
    }
}
