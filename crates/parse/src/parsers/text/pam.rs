//! Linux-PAM module lines, whatever program wrote them: `pam_MODULE(SERVICE:TYPE): MESSAGE`.
//!
//! `pam_unix` messages are mapped to classes (authentication failures, sessions opened and closed,
//! password changes); any other module's line (`pam_limits`, `pam_systemd`, `pam_env`...) is kept
//! as a status event with the module, service and type. The `key=value` list after an
//! authentication failure (`logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root`) is
//! kept in `vendor` under PAM's names.

use shieldwall_core::event::{Event, EventClass, LogKind, Severity, Status};

use super::common::{joined, leading_digits, number, set_daemon, set_src_host, unmapped, vendor};
use crate::registry::{Message, TextParser};

/// The `pam` parser.
pub(super) struct Pam;

const ID: &str = "pam";

impl TextParser for Pam {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        parse(message, event)
    }
}

fn parse(message: &Message<'_>, event: &mut Event) -> bool {
    let text = message.text.trim_end();
    let Some((module, service, kind, body)) = header(text) else {
        return false;
    };
    let known = module == "pam_unix" && unix(event, kind, body);
    if !known {
        event.set_parsed(ID, EventClass::Base, 0);
        event.log_kind = LogKind::StatusMonitoring;
        event.severity = Some(Severity::Info);
        event.feature = Some(format!("{module}:other"));
    }
    event.set_product("Linux-PAM", module);
    set_daemon(event, message, service);
    event.message = Some(text.to_owned());
    unmapped(event, "pam_module", module);
    unmapped(event, "pam_service", service);
    unmapped(event, "pam_type", kind);
    true
}

/// Whether `text` is a PAM module line (`pam_MODULE(SERVICE:TYPE): ...`), which the programs'
/// own parsers leave to this one.
pub(super) fn is_module_line(text: &str) -> bool {
    header(text).is_some()
}

/// `pam_MODULE(SERVICE:TYPE): ` and the message after it.
fn header(text: &str) -> Option<(&str, &str, &str, &str)> {
    if !text.starts_with("pam_") {
        return None;
    }
    let (module, rest) = text.split_once('(')?;
    let (inside, body) = rest.split_once("): ")?;
    let (service, kind) = inside.split_once(':')?;
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    (valid(module) && valid(service) && valid(kind)).then_some((module, service, kind, body))
}

/// Maps a `pam_unix` message; `false` when the template is not one we know.
fn unix(event: &mut Event, kind: &str, body: &str) -> bool {
    if let Some(fields) = body.strip_prefix("authentication failure; ") {
        let class = if kind == "chauthtok" {
            (EventClass::AccountChange, 3, "password change")
        } else {
            (EventClass::Authentication, 1, "logon")
        };
        failure(event, class, "pam_unix:auth_failure", Severity::Low);
        event.status_detail = Some("authentication failure".to_owned());
        failure_fields(event, fields);
        return true;
    }
    if let Some((count, rest)) = more_failures(body) {
        failure(
            event,
            (EventClass::Authentication, 1, "logon"),
            "pam_unix:more_failures",
            Severity::Medium,
        );
        event.status_detail = Some(format!("{count} more authentication failures"));
        unmapped(event, "more_failures", count);
        failure_fields(event, rest);
        return true;
    }
    if body == "check pass; user unknown" {
        failure(
            event,
            (EventClass::Authentication, 1, "logon"),
            "pam_unix:user_unknown",
            Severity::Low,
        );
        event.status_detail = Some("user unknown".to_owned());
        return true;
    }
    if let Some(rest) = body.strip_prefix("auth could not identify password for [") {
        failure(
            event,
            (EventClass::Authentication, 1, "logon"),
            "pam_unix:no_password",
            Severity::Low,
        );
        event.status_detail = Some("auth could not identify password".to_owned());
        if let Some(user) = rest.strip_suffix(']') {
            set_user(event, user);
        }
        return true;
    }
    if body == "conversation failed" {
        failure(
            event,
            (EventClass::Authentication, 1, "logon"),
            "pam_unix:conversation_failed",
            Severity::Low,
        );
        event.status_detail = Some("conversation failed".to_owned());
        return true;
    }
    if let Some(rest) = body.strip_prefix("session opened for user ") {
        // `alice(uid=1000) by bob(uid=1001)`, `alice by (uid=0)` (before Linux-PAM 1.4).
        let (target, by) = rest.split_once(" by ").unwrap_or((rest, ""));
        event.set_parsed(ID, EventClass::Authentication, 1);
        event.activity = Some("logon".to_owned());
        event.status = Some(Status::Success);
        event.severity = Some(Severity::Info);
        event.feature = Some("pam_unix:session_opened".to_owned());
        let (name, uid) = name_uid(target);
        set_user(event, name);
        if let Some(uid) = uid {
            event.target_user().uid = Some(uid.to_owned());
        }
        let (by_name, by_uid) = name_uid(by);
        if !by_name.is_empty() {
            event.actor_user().name = Some(by_name.to_owned());
        }
        if let Some(uid) = by_uid {
            event.actor_user().uid = Some(uid.to_owned());
        }
        return true;
    }
    if let Some(user) = body.strip_prefix("session closed for user ") {
        event.set_parsed(ID, EventClass::Authentication, 2);
        event.activity = Some("logoff".to_owned());
        event.status = Some(Status::Success);
        event.severity = Some(Severity::Info);
        event.feature = Some("pam_unix:session_closed".to_owned());
        set_user(event, user);
        return true;
    }
    if let Some(user) = body.strip_prefix("password changed for ") {
        event.set_parsed(ID, EventClass::AccountChange, 3);
        event.activity = Some("password change".to_owned());
        event.status = Some(Status::Success);
        event.severity = Some(Severity::Info);
        event.feature = Some("pam_unix:password_changed".to_owned());
        set_user(event, user);
        return true;
    }
    if let Some(user) = body
        .strip_prefix("account ")
        .and_then(|r| r.strip_suffix(" has expired (account expired)"))
    {
        failure(
            event,
            (EventClass::Authentication, 1, "logon"),
            "pam_unix:account_expired",
            Severity::Low,
        );
        event.status_detail = Some("account expired".to_owned());
        set_user(event, user);
        return true;
    }
    false
}

fn failure(
    event: &mut Event,
    (class, activity_id, activity): (EventClass, u8, &str),
    feature: &str,
    severity: Severity,
) {
    event.set_parsed(ID, class, activity_id);
    event.activity = Some(activity.to_owned());
    event.status = Some(Status::Failure);
    event.severity = Some(severity);
    event.feature = Some(feature.to_owned());
}

/// `N more authentication failures; FIELDS` (also `failure;` for one).
fn more_failures(body: &str) -> Option<(u64, &str)> {
    let (count, rest) = leading_digits(body);
    let count = number(count)?;
    let rest = rest
        .strip_prefix(" more authentication failures; ")
        .or_else(|| rest.strip_prefix(" more authentication failure; "))?;
    Some((count, rest))
}

/// `logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root`.
fn failure_fields(event: &mut Event, fields: &str) {
    for (key, value) in fields.split(' ').filter_map(|f| f.split_once('=')) {
        if value.is_empty() {
            continue;
        }
        match key {
            "rhost" => set_src_host(event, value),
            "user" => set_user(event, value),
            "uid" => event.actor_user().uid = Some(value.to_owned()),
            "ruser" => event.actor_user().name = Some(value.to_owned()),
            _ => {}
        }
        if matches!(
            key,
            "logname" | "uid" | "euid" | "tty" | "ruser" | "rhost" | "user"
        ) {
            vendor(event, key, value);
        }
    }
}

/// `alice(uid=1000)` into the name and the uid; `(uid=0)` has no name.
fn name_uid(s: &str) -> (&str, Option<&str>) {
    match s.split_once("(uid=") {
        Some((name, rest)) => (name, rest.strip_suffix(')')),
        None => (s, None),
    }
}

fn set_user(event: &mut Event, user: &str) {
    if user.is_empty() {
        return;
    }
    event.target_user().name = Some(user.to_owned());
    event.target = Some(joined("user:", user));
}
