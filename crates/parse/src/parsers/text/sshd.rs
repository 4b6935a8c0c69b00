//! OpenSSH `sshd` (and `sshd-session`, its per-connection process since 9.8): logons, failed and
//! refused authentications, invalid users, disconnections and the daemon's own status lines.
//!
//! PAM module lines that sshd writes (`pam_unix(sshd:auth): ...`) are left to the PAM parser:
//! this one declines them.
//!
//! User names are attacker-chosen and may contain spaces (`Invalid user admin test from ...`),
//! so the `from HOST port N` tail is located from the right.

use shieldwall_core::event::{Event, EventClass, LogKind, Severity, Status};

use super::common::{joined, leading_digits, port, program_is, set_daemon, set_src_host, unmapped};
use super::pam::is_module_line;
use crate::registry::{Message, TextParser};

/// The `sshd` parser.
pub(super) struct Sshd;

const ID: &str = "sshd";

impl TextParser for Sshd {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        parse(message, event)
    }
}

/// Who a line is about: the remote peer and, when known, the account.
#[derive(Default)]
struct Peer<'a> {
    user: Option<&'a str>,
    invalid: bool,
    host: Option<&'a str>,
    port: Option<u16>,
    /// What follows `port N` (`ssh2: ED25519 SHA256:...`, `: Too many ...`, `:11: bye`).
    tail: &'a str,
}

/// One recognised template.
struct Line<'a> {
    class: EventClass,
    activity_id: u8,
    activity: &'static str,
    feature: &'static str,
    status: Option<Status>,
    severity: Severity,
    method: Option<&'a str>,
    detail: Option<&'a str>,
    peer: Peer<'a>,
}

impl<'a> Line<'a> {
    fn auth(activity_id: u8, feature: &'static str, peer: Peer<'a>) -> Line<'a> {
        let activity = match activity_id {
            1 => "logon",
            2 => "logoff",
            _ => "disconnect",
        };
        Line {
            class: EventClass::Authentication,
            activity_id,
            activity,
            feature,
            status: None,
            severity: Severity::Info,
            method: None,
            detail: None,
            peer,
        }
    }

    fn failed(mut self, severity: Severity) -> Line<'a> {
        self.status = Some(Status::Failure);
        self.severity = severity;
        self
    }
}

fn parse(message: &Message<'_>, event: &mut Event) -> bool {
    let text = message.text.trim_end();
    if is_module_line(text) || text.is_empty() {
        return false;
    }
    let (level, body) = strip_level(text);
    let (body, preauth) = match body.strip_suffix(" [preauth]") {
        Some(b) => (b, true),
        None => (body, false),
    };
    let line = match classify(body) {
        Some(line) => line,
        None if program_is(message, &["sshd", "sshd-session"]) => {
            return other(message, event, level, body);
        }
        None => return false,
    };
    event.set_parsed(ID, line.class, line.activity_id);
    event.set_product("OpenBSD", "OpenSSH");
    set_daemon(event, message, "sshd");
    event.activity = Some(line.activity.to_owned());
    event.feature = Some(line.feature.to_owned());
    event.status = line.status;
    event.severity = Some(line.severity);
    event.message = Some(text.to_owned());
    if let Some(detail) = line.detail {
        event.status_detail = Some(detail.to_owned());
    } else if line.peer.invalid {
        event.status_detail = Some("invalid user".to_owned());
    }
    if let Some(user) = line.peer.user {
        event.target_user().name = Some(user.to_owned());
        event.target = Some(joined("user:", user));
    }
    if let Some(host) = line.peer.host {
        set_src_host(event, host);
    }
    if let Some(p) = line.peer.port {
        event.src().port = Some(p);
    }
    if let Some(method) = line.method {
        unmapped(event, "auth_method", method);
    }
    if line.peer.invalid {
        unmapped(event, "invalid_user", true);
    }
    if preauth {
        unmapped(event, "preauth", true);
    }
    // `ssh2: ED25519 SHA256:...` after an accepted or failed public key.
    if let Some((key_type, fingerprint)) = line
        .peer
        .tail
        .strip_prefix("ssh2: ")
        .and_then(|k| k.split_once(' '))
    {
        unmapped(event, "key_type", key_type);
        unmapped(event, "key_fingerprint", fingerprint);
    }
    true
}

/// Removes the `error: ` / `fatal: ` / `debugN: ` level sshd puts before some lines.
fn strip_level(text: &str) -> (Option<&str>, &str) {
    for level in ["error", "fatal", "warning", "debug1", "debug2", "debug3"] {
        if let Some(rest) = text.strip_prefix(level).and_then(|r| r.strip_prefix(": ")) {
            return (Some(level), rest);
        }
    }
    (None, text)
}

fn classify(body: &str) -> Option<Line<'_>> {
    let first = body.split(' ').next().unwrap_or("");
    match first {
        "Accepted" => {
            let (method, peer) = method_for(body.strip_prefix("Accepted ")?)?;
            let mut line = Line::auth(1, accepted_feature(method), peer);
            line.status = Some(Status::Success);
            line.method = Some(method);
            Some(line)
        }
        "Failed" => {
            let (method, peer) = method_for(body.strip_prefix("Failed ")?)?;
            let mut line = Line::auth(1, failed_feature(method), peer).failed(Severity::Low);
            line.method = Some(method);
            Some(line)
        }
        "Postponed" => {
            let (method, peer) = method_for(body.strip_prefix("Postponed ")?)?;
            let mut line = Line::auth(99, "sshd:postponed", peer);
            line.activity = "postponed";
            line.method = Some(method);
            Some(line)
        }
        "Invalid" => {
            let rest = body.strip_prefix("Invalid user ")?;
            let mut peer = from_host(rest)?;
            peer.invalid = true;
            Some(Line::auth(1, "sshd:invalid_user", peer).failed(Severity::Low))
        }
        "maximum" => {
            let rest = body.strip_prefix("maximum authentication attempts exceeded for ")?;
            let peer = from_host(rest)?;
            let mut line = Line::auth(1, "sshd:max_auth_attempts", peer).failed(Severity::Medium);
            line.detail = Some("maximum authentication attempts exceeded");
            Some(line)
        }
        "Disconnecting" => {
            let peer = peer(body.strip_prefix("Disconnecting ")?)?;
            let reason = peer.tail.strip_prefix(": ").unwrap_or(peer.tail);
            if reason.starts_with("Too many authentication failures") {
                let mut line =
                    Line::auth(1, "sshd:too_many_failures", peer).failed(Severity::Medium);
                line.detail = Some("Too many authentication failures");
                Some(line)
            } else {
                let mut line = Line::auth(99, "sshd:disconnecting", peer);
                line.detail = (!reason.is_empty()).then_some(reason);
                Some(line)
            }
        }
        "Connection" => {
            let (feature, rest) = if let Some(r) = body.strip_prefix("Connection closed by ") {
                ("sshd:connection_closed", r)
            } else {
                (
                    "sshd:connection_reset",
                    body.strip_prefix("Connection reset by ")?,
                )
            };
            Some(Line::auth(99, feature, peer(rest)?))
        }
        "Disconnected" => {
            let rest = body.strip_prefix("Disconnected from ")?;
            let logoff = rest.starts_with("user ");
            let peer = peer(rest)?;
            if logoff {
                Some(Line::auth(2, "sshd:disconnected", peer))
            } else {
                Some(Line::auth(99, "sshd:disconnected_preauth", peer))
            }
        }
        "Received" => {
            let rest = body.strip_prefix("Received disconnect from ")?;
            let peer = peer(rest)?;
            // `:11: disconnected by user`: reason code, then the client's words.
            let reason = peer
                .tail
                .strip_prefix(':')
                .and_then(|t| t.split_once(": "))
                .map(|(_, r)| r);
            let mut line = Line::auth(99, "sshd:received_disconnect", peer);
            line.detail = reason;
            Some(line)
        }
        "Timeout" => {
            let rest = body.strip_prefix("Timeout before authentication for ")?;
            let mut line = Line::auth(99, "sshd:timeout_preauth", peer(rest)?);
            line.detail = Some("timeout before authentication");
            Some(line)
        }
        "PAM" | "PAM:" => pam_summary(body),
        "User" => not_allowed(body),
        "ROOT" => {
            let rest = body.strip_prefix("ROOT LOGIN REFUSED FROM ")?;
            let mut p = peer(rest).unwrap_or_default();
            if p.host.is_none() {
                p.host = rest.split(' ').next();
            }
            p.user = Some("root");
            let mut line = Line::auth(1, "sshd:root_login_refused", p).failed(Severity::Medium);
            line.detail = Some("root login refused");
            Some(line)
        }
        _ => None,
    }
}

/// `METHOD for [invalid user ]USER from HOST port N ...`.
fn method_for(s: &str) -> Option<(&str, Peer<'_>)> {
    let (method, rest) = s.split_once(" for ")?;
    if method.contains(' ') {
        return None;
    }
    Some((method, from_host(rest)?))
}

/// `[invalid user ]USER from HOST[ port N[ tail]]`.
fn from_host(s: &str) -> Option<Peer<'_>> {
    let (user, invalid) = match s.strip_prefix("invalid user ") {
        Some(u) => (u, true),
        None => (s, false),
    };
    let (user, after) = user.rsplit_once(" from ")?;
    let (host, port, tail) = match after.split_once(" port ") {
        Some((host, right)) => {
            let (digits, tail) = leading_digits(right);
            (host, port(digits), tail.trim_start())
        }
        None => (after.split(' ').next().unwrap_or(after), None, ""),
    };
    if user.is_empty() || host.is_empty() {
        return None;
    }
    Some(Peer {
        user: Some(user),
        invalid,
        host: Some(host),
        port,
        tail,
    })
}

/// `[authenticating user |invalid user |user ]USER HOST port N[tail]`, or `HOST port N[tail]`.
fn peer(s: &str) -> Option<Peer<'_>> {
    let (named, invalid, rest) = if let Some(r) = s.strip_prefix("authenticating user ") {
        (true, false, r)
    } else if let Some(r) = s.strip_prefix("invalid user ") {
        (true, true, r)
    } else if let Some(r) = s.strip_prefix("user ") {
        (true, false, r)
    } else {
        (false, false, s)
    };
    let (left, right) = rest.rsplit_once(" port ")?;
    let (digits, tail) = leading_digits(right);
    let port = port(digits)?;
    let (user, host) = if named {
        let (u, h) = left.rsplit_once(' ')?;
        (Some(u), h)
    } else {
        if left.contains(' ') {
            return None;
        }
        (None, left)
    };
    Some(Peer {
        user,
        invalid,
        host: Some(host),
        port: Some(port),
        tail,
    })
}

/// `PAM N more authentication failures; logname= uid=0 ... rhost=HOST  user=USER` and
/// `PAM: Authentication failure for [illegal user ]USER from HOST`.
fn pam_summary(body: &str) -> Option<Line<'_>> {
    if let Some(rest) = body.strip_prefix("PAM: ") {
        let (detail, who) = rest.split_once(" for ")?;
        let (user, host) = who.rsplit_once(" from ")?;
        let (user, invalid) = match user.strip_prefix("illegal user ") {
            Some(u) => (u, true),
            None => (user, false),
        };
        let peer = Peer {
            user: Some(user),
            invalid,
            host: Some(host),
            ..Peer::default()
        };
        let mut line = Line::auth(1, "sshd:pam_failure", peer).failed(Severity::Low);
        line.detail = Some(detail);
        return Some(line);
    }
    let rest = body.strip_prefix("PAM ")?;
    let (count, rest) = leading_digits(rest);
    count.parse::<u32>().ok()?;
    let (_, fields) = rest.split_once("; ")?;
    let mut peer = Peer::default();
    for (key, value) in fields.split(' ').filter_map(|f| f.split_once('=')) {
        match key {
            "rhost" if !value.is_empty() => peer.host = Some(value),
            "user" if !value.is_empty() => peer.user = Some(value),
            _ => {}
        }
    }
    let mut line = Line::auth(1, "sshd:pam_more_failures", peer).failed(Severity::Medium);
    line.detail = body.split_once("; ").map(|(d, _)| d);
    Some(line)
}

/// `User USER from HOST not allowed because REASON`.
fn not_allowed(body: &str) -> Option<Line<'_>> {
    let rest = body.strip_prefix("User ")?;
    let (who, reason) = rest.split_once(" not allowed because ")?;
    let (user, host) = who.rsplit_once(" from ")?;
    let peer = Peer {
        user: Some(user),
        host: Some(host),
        ..Peer::default()
    };
    let mut line = Line::auth(1, "sshd:user_not_allowed", peer).failed(Severity::Medium);
    line.detail = Some(reason);
    Some(line)
}

fn accepted_feature(method: &str) -> &'static str {
    match method_kind(method) {
        "password" => "sshd:accepted_password",
        "publickey" => "sshd:accepted_publickey",
        "keyboard_interactive" => "sshd:accepted_keyboard_interactive",
        "hostbased" => "sshd:accepted_hostbased",
        "gssapi" => "sshd:accepted_gssapi",
        _ => "sshd:accepted_other",
    }
}

fn failed_feature(method: &str) -> &'static str {
    match method_kind(method) {
        "password" => "sshd:failed_password",
        "publickey" => "sshd:failed_publickey",
        "keyboard_interactive" => "sshd:failed_keyboard_interactive",
        "hostbased" => "sshd:failed_hostbased",
        "gssapi" => "sshd:failed_gssapi",
        "none" => "sshd:failed_none",
        _ => "sshd:failed_other",
    }
}

fn method_kind(method: &str) -> &'static str {
    let base = method.split('/').next().unwrap_or(method);
    match base {
        "password" => "password",
        "publickey" => "publickey",
        "keyboard-interactive" => "keyboard_interactive",
        "hostbased" => "hostbased",
        "gssapi-with-mic" | "gssapi-keyex" => "gssapi",
        "none" => "none",
        _ => "other",
    }
}

/// Any other line from sshd: the daemon's status (listening, signals, protocol errors). The peer
/// is taken from a `from|with|by|for HOST port N` phrase when there is one.
fn other(message: &Message<'_>, event: &mut Event, level: Option<&str>, body: &str) -> bool {
    event.set_parsed(ID, EventClass::Base, 0);
    event.log_kind = LogKind::StatusMonitoring;
    event.set_product("OpenBSD", "OpenSSH");
    set_daemon(event, message, "sshd");
    event.feature = Some("sshd:other".to_owned());
    event.severity = Some(match level {
        Some("fatal") => Severity::Medium,
        Some("error") => Severity::Low,
        _ => Severity::Info,
    });
    event.message = Some(message.text.trim_end().to_owned());
    if let Some((left, right)) = body.rsplit_once(" port ")
        && let Some((before, host)) = left.rsplit_once(' ')
        && ["from", "with", "by", "for"]
            .iter()
            .any(|w| before.ends_with(w))
        && !body.starts_with("Server listening")
    {
        let (digits, _) = leading_digits(right);
        set_src_host(event, host);
        if let Some(p) = port(digits) {
            event.src().port = Some(p);
        }
    }
    true
}
