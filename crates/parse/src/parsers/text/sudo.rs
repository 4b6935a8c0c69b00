//! `sudo` command lines and `su` session switches, both as Authorize Session (3003).
//!
//! sudo writes `USER : [REASON ; ]TTY=... ; PWD=... ; USER=... ; COMMAND=...`; a reason (`3
//! incorrect password attempts`, `user NOT in sudoers`, `command not allowed`) means the command
//! was refused. su (util-linux) writes `(to TARGET) USER on TTY` and `FAILED SU (to TARGET) USER on
//! TTY`; shadow's su writes `pam_authenticate: ...`, `Successful su for TARGET by USER`, `FAILED su
//! for TARGET by USER` and the sulog-style `+ TTY USER:TARGET` / `- TTY USER:TARGET`.
//!
//! PAM module lines (`pam_unix(sudo:auth): ...`) are left to the PAM parser. Other lines of these programs
//! (`unable to resolve host ...`) are kept as status events when the program is known.

use shieldwall_core::event::{Event, EventClass, LogKind, Severity, Status};

use super::common::{joined, leading_digits, number, program_is, set_daemon, unmapped, vendor};
use super::pam::is_module_line;
use crate::registry::{Message, TextParser};

/// The `sudo` parser.
pub(super) struct Sudo;

/// The `su` parser.
pub(super) struct Su;

impl TextParser for Sudo {
    fn id(&self) -> &str {
        "sudo"
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        let text = message.text.trim();
        if is_module_line(text) || text.is_empty() {
            return false;
        }
        if sudo(message, event, text) {
            return true;
        }
        program_is(message, &["sudo"]) && status(message, event, "sudo", text)
    }
}

impl TextParser for Su {
    fn id(&self) -> &str {
        "su"
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        let text = message.text.trim();
        if is_module_line(text) || text.is_empty() {
            return false;
        }
        if su(message, event, text) {
            return true;
        }
        program_is(message, &["su"]) && status(message, event, "su", text)
    }
}

fn sudo(message: &Message<'_>, event: &mut Event, text: &str) -> bool {
    let Some((user, rest)) = text.split_once(" : ") else {
        return false;
    };
    let user = user.trim();
    if user.is_empty() || user.contains(' ') {
        return false;
    }
    // COMMAND is last and may itself contain ` ; `.
    let (fields, command) = match rest.find("COMMAND=") {
        Some(at) => (
            rest.get(..at).unwrap_or(""),
            rest.get(at + "COMMAND=".len()..),
        ),
        None => (rest, None),
    };
    let mut reason = None;
    let mut target = None;
    let mut any_field = command.is_some();
    for (i, part) in fields.split(" ; ").enumerate() {
        let part = part
            .trim()
            .trim_end_matches(" ;")
            .trim_end_matches(';')
            .trim();
        if part.is_empty() {
            continue;
        }
        match part.split_once('=') {
            Some((key, value))
                if !key.is_empty() && key.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
            {
                any_field = true;
                if key == "USER" {
                    target = Some(value);
                }
                vendor(event, key, value);
            }
            _ if i == 0 => reason = Some(part),
            _ => {}
        }
    }
    if !any_field {
        event.vendor.clear();
        return false;
    }
    let (status, severity, feature) = match reason {
        None => (Status::Success, Severity::Info, "sudo:command"),
        Some(r) => {
            let (severity, feature) = sudo_reason(r);
            (Status::Failure, severity, feature)
        }
    };
    event.set_parsed("sudo", EventClass::AuthorizeSession, 1);
    event.set_product("Todd C. Miller", "sudo");
    set_daemon(event, message, "sudo");
    event.activity = Some("sudo".to_owned());
    event.status = Some(status);
    event.severity = Some(severity);
    event.feature = Some(feature.to_owned());
    event.message = Some(text.to_owned());
    event.status_detail = reason.map(str::to_owned);
    event.actor_user().name = Some(user.to_owned());
    let target = target.unwrap_or("root");
    event.target_user().name = Some(target.to_owned());
    event.target = Some(joined("user:", target));
    if let Some(command) = command {
        event.actor_process().cmd_line = Some(command.to_owned());
        vendor(event, "COMMAND", command);
    }
    true
}

/// Severity and feature of a refusal: one wrong password is Low, repeated ones and policy
/// denials Medium.
fn sudo_reason(reason: &str) -> (Severity, &'static str) {
    let (count, rest) = leading_digits(reason);
    if rest.starts_with(" incorrect password attempt") {
        let severity = match number(count) {
            Some(1) => Severity::Low,
            _ => Severity::Medium,
        };
        return (severity, "sudo:incorrect_password");
    }
    match reason {
        "user NOT in sudoers" => (Severity::Medium, "sudo:not_in_sudoers"),
        "command not allowed" => (Severity::Medium, "sudo:command_not_allowed"),
        "user NOT authorized on host" => (Severity::Medium, "sudo:not_authorized_on_host"),
        "a password is required" => (Severity::Low, "sudo:password_required"),
        _ => (Severity::Low, "sudo:refused"),
    }
}

fn su(message: &Message<'_>, event: &mut Event, text: &str) -> bool {
    let (failed, invoker, target, tty, feature) =
        if let Some(rest) = text.strip_prefix("FAILED SU ") {
            let Some((target, user, tty)) = to_user_on(rest) else {
                return false;
            };
            (true, Some(user), Some(target), tty, "su:failed")
        } else if let Some((target, user, tty)) = to_user_on(text) {
            (false, Some(user), Some(target), tty, "su:session")
        } else if let Some(rest) = text.strip_prefix("Successful su for ") {
            let Some((target, user)) = rest.split_once(" by ") else {
                return false;
            };
            (false, Some(user), Some(target), None, "su:session")
        } else if let Some(rest) = text.strip_prefix("FAILED su for ") {
            let Some((target, user)) = rest.split_once(" by ") else {
                return false;
            };
            (true, Some(user), Some(target), None, "su:failed")
        } else if let Some(detail) = text.strip_prefix("pam_authenticate: ") {
            event.status_detail = Some(detail.to_owned());
            (true, None, None, None, "su:pam_authenticate")
        } else if let Some((ok, tty, user, target)) = sulog(text) {
            (
                !ok,
                Some(user),
                Some(target),
                Some(tty),
                if ok { "su:session" } else { "su:failed" },
            )
        } else {
            return false;
        };
    event.set_parsed("su", EventClass::AuthorizeSession, 1);
    event.set_product("Linux", "su");
    set_daemon(event, message, "su");
    event.activity = Some("su".to_owned());
    event.status = Some(if failed {
        Status::Failure
    } else {
        Status::Success
    });
    event.severity = Some(if failed {
        Severity::Low
    } else {
        Severity::Info
    });
    event.feature = Some(feature.to_owned());
    event.message = Some(text.to_owned());
    if let Some(user) = invoker {
        event.actor_user().name = Some(user.to_owned());
    }
    if let Some(target) = target {
        event.target_user().name = Some(target.to_owned());
        event.target = Some(joined("user:", target));
    }
    if let Some(tty) = tty {
        unmapped(event, "tty", tty);
    }
    true
}

/// `(to TARGET) USER on TTY`.
fn to_user_on(s: &str) -> Option<(&str, &str, Option<&str>)> {
    let rest = s.strip_prefix("(to ")?;
    let (target, rest) = rest.split_once(") ")?;
    let (user, tty) = match rest.rsplit_once(" on ") {
        Some((u, t)) => (u, Some(t)),
        None => (rest, None),
    };
    (!target.is_empty() && !user.is_empty() && !user.contains(' ')).then_some((target, user, tty))
}

/// `+ TTY USER:TARGET` (success) or `- TTY USER:TARGET` (failure).
fn sulog(s: &str) -> Option<(bool, &str, &str, &str)> {
    let ok = match s.as_bytes().first()? {
        b'+' => true,
        b'-' => false,
        _ => return None,
    };
    let mut words = s.get(2..)?.split(' ');
    let tty = words.next()?;
    let (user, target) = words.next()?.split_once(':')?;
    if words.next().is_some() || tty.is_empty() || user.is_empty() || target.is_empty() {
        return None;
    }
    Some((ok, tty, user, target))
}

/// Any other line of the program: a status event.
fn status(message: &Message<'_>, event: &mut Event, id: &str, text: &str) -> bool {
    event.set_parsed(id, EventClass::Base, 0);
    event.log_kind = LogKind::StatusMonitoring;
    event.set_product(
        if id == "sudo" {
            "Todd C. Miller"
        } else {
            "Linux"
        },
        id,
    );
    set_daemon(event, message, id);
    event.severity = Some(Severity::Info);
    event.feature = Some(format!("{id}:other"));
    event.message = Some(text.to_owned());
    true
}
