//! Integration tests of the host and application text parsers (`parsers::text`): every line of
//! the real samples in `tests/samples/text/` (their origin is in `SOURCES.md` there) goes through
//! the built-in registry (`parsers::builtin()` and `Registry::parse`, so routing by program,
//! prefix and source binding is tested too) and must be parsed by the expected parser; key lines
//! are then checked field by field; property tests feed arbitrary text and mutated samples to
//! each parser and check that nothing panics and `raw` is left alone.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::sync::LazyLock;

use jiff::{Timestamp, tz::TimeZone};
use proptest::prelude::*;
use serde_json::{Value, json};
use shieldwall_core::event::{Action, Status};
use shieldwall_core::{
    Event, EventClass, EventParse, LogKind, RecordId, Severity, TenantId, TimeStatus,
};
use shieldwall_parse::{Message, ParseContext, Registry, TimestampStatus, parse_syslog, parsers};

// ---------------------------------------------------------------- harness

/// How the lines of a sample file reach the registry.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Whole syslog lines: split with the syslog parser, program and pid from the header.
    Syslog,
    /// File lines without a program, from a source bound to the named parser.
    Bound(&'static str),
    /// File lines without a program or binding: routed by prefix only.
    Unbound,
}

struct Sample {
    file: &'static str,
    mode: Mode,
    /// The parsers that may take its lines.
    ids: &'static [&'static str],
}

const SAMPLES: &[Sample] = &[
    Sample {
        file: "sshd.log",
        mode: Mode::Syslog,
        ids: &["sshd"],
    },
    Sample {
        file: "pam.log",
        mode: Mode::Syslog,
        ids: &["pam"],
    },
    Sample {
        file: "sudo.log",
        mode: Mode::Syslog,
        ids: &["sudo"],
    },
    Sample {
        file: "su.log",
        mode: Mode::Syslog,
        ids: &["su"],
    },
    Sample {
        file: "auditd.log",
        mode: Mode::Unbound,
        ids: &["auditd"],
    },
    Sample {
        file: "auditd-syslog.log",
        mode: Mode::Syslog,
        ids: &["auditd"],
    },
    Sample {
        file: "netfilter.log",
        mode: Mode::Syslog,
        ids: &["netfilter"],
    },
    Sample {
        file: "nginx-access.log",
        mode: Mode::Bound("nginx-access"),
        ids: &["nginx-access"],
    },
    Sample {
        file: "nginx-error.log",
        mode: Mode::Bound("nginx-error"),
        ids: &["nginx-error"],
    },
    Sample {
        file: "nginx-syslog.log",
        mode: Mode::Syslog,
        ids: &["nginx-access", "nginx-error"],
    },
    Sample {
        file: "apache-access.log",
        mode: Mode::Bound("apache-access"),
        ids: &["apache-access"],
    },
    Sample {
        file: "apache-common.log",
        mode: Mode::Bound("apache-access"),
        ids: &["apache-access"],
    },
    Sample {
        file: "apache-vhost.log",
        mode: Mode::Bound("apache-access"),
        ids: &["apache-access"],
    },
    Sample {
        file: "apache-error.log",
        mode: Mode::Unbound,
        ids: &["apache-error"],
    },
    Sample {
        file: "apache-syslog.log",
        mode: Mode::Syslog,
        ids: &["apache-access", "apache-error"],
    },
    Sample {
        file: "postgresql.log",
        mode: Mode::Bound("postgresql"),
        ids: &["postgresql"],
    },
    Sample {
        file: "postgresql-syslog.log",
        mode: Mode::Syslog,
        ids: &["postgresql"],
    },
    Sample {
        file: "mariadb-audit.log",
        mode: Mode::Bound("mariadb-audit"),
        ids: &["mariadb-audit"],
    },
    Sample {
        file: "mariadb-audit-syslog.log",
        mode: Mode::Syslog,
        ids: &["mariadb-audit"],
    },
    Sample {
        file: "mysql-error.log",
        mode: Mode::Bound("mysql-error"),
        ids: &["mysql-error"],
    },
    Sample {
        file: "mysql-error-syslog.log",
        mode: Mode::Syslog,
        ids: &["mysql-error"],
    },
    Sample {
        file: "clamav.log",
        mode: Mode::Bound("clamav"),
        ids: &["clamav"],
    },
    Sample {
        file: "clamav-syslog.log",
        mode: Mode::Syslog,
        ids: &["clamav"],
    },
    Sample {
        file: "clamdscan.log",
        mode: Mode::Bound("clamav"),
        ids: &["clamav"],
    },
    Sample {
        file: "freshclam.log",
        mode: Mode::Bound("freshclam"),
        ids: &["freshclam"],
    },
    Sample {
        file: "freshclam-syslog.log",
        mode: Mode::Syslog,
        ids: &["freshclam"],
    },
];

/// Every text parser id, for the property tests.
const TEXT_PARSERS: &[&str] = &[
    "sshd",
    "sudo",
    "su",
    "pam",
    "netfilter",
    "auditd",
    "nginx-access",
    "nginx-error",
    "apache-access",
    "apache-error",
    "postgresql",
    "mariadb-audit",
    "mysql-error",
    "clamav",
    "freshclam",
];

/// When the samples were "received": shortly after they were written (29 November 2026).
fn context() -> ParseContext {
    ParseContext::new("2026-11-29T02:00:00Z".parse().unwrap(), TimeZone::UTC)
}

/// The built-in registry, with one file source bound to each text parser.
fn registry() -> &'static Registry {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
        let mut registry = parsers::builtin().expect("built-in parsers register");
        for id in TEXT_PARSERS {
            registry
                .bind_source(&bound_source(id), &[(*id).to_owned()])
                .unwrap();
        }
        registry
    });
    &REGISTRY
}

fn bound_source(id: &str) -> String {
    format!("file-{id}")
}

fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/samples/text")
}

fn lines(file: &str) -> Vec<String> {
    let path = samples_dir().join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn sample(file: &str) -> &'static Sample {
    SAMPLES.iter().find(|s| s.file == file).unwrap()
}

/// Offers one line to the registry as `mode` says; returns the accepting parser and the event.
fn run(registry: &Registry, mode: Mode, line: &str) -> (Option<String>, Event) {
    let ctx = context();
    let source = match mode {
        Mode::Syslog => "syslog-udp".to_owned(),
        Mode::Bound(id) => bound_source(id),
        Mode::Unbound => "file".to_owned(),
    };
    let mut event = Event::unparsed(
        RecordId::derive("event", &["text-parsers", line]),
        TenantId::default(),
        source.clone(),
        ctx.received,
        line,
    );
    let id = match mode {
        Mode::Syslog => {
            let syslog = parse_syslog(line.as_bytes(), &ctx);
            if let (Some(ts), TimestampStatus::Parsed | TimestampStatus::Inferred) =
                (syslog.timestamp, syslog.timestamp_status)
            {
                event.time = ts;
                event.time_status = TimeStatus::Inferred;
            }
            let message = Message {
                source: &source,
                program: syslog.app_name.as_deref(),
                pid: syslog.proc_id.as_deref(),
                hostname: syslog.hostname.as_deref(),
                text: &syslog.message,
                context: &ctx,
            };
            registry.parse(&message, &mut event).map(str::to_owned)
        }
        Mode::Bound(_) | Mode::Unbound => {
            let message = Message {
                source: &source,
                program: None,
                pid: None,
                hostname: None,
                text: line,
                context: &ctx,
            };
            registry.parse(&message, &mut event).map(str::to_owned)
        }
    };
    (id, event)
}

/// The first line of `file` containing `needle`, parsed; the parser must be one of the file's.
fn parse(file: &str, needle: &str) -> Event {
    let sample = sample(file);
    let line = lines(file)
        .into_iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line of {file} contains {needle:?}"));
    let (id, event) = run(registry(), sample.mode, &line);
    let id = id.unwrap_or_else(|| panic!("{file}: not parsed: {line}"));
    assert!(
        sample.ids.contains(&id.as_str()),
        "{file}: {id} took {line}"
    );
    assert_eq!(event.raw, line);
    event
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn v(event: &Event, key: &str) -> Value {
    event.vendor.get(key).cloned().unwrap_or(Value::Null)
}

fn u(event: &Event, key: &str) -> Value {
    event.unmapped.get(key).cloned().unwrap_or(Value::Null)
}

fn user(event: &Event) -> Option<&str> {
    event.user.as_ref().and_then(|u| u.name.as_deref())
}

fn actor_user(event: &Event) -> Option<&str> {
    event.actor.as_ref()?.user.as_ref()?.name.as_deref()
}

fn actor_uid(event: &Event) -> Option<&str> {
    event.actor.as_ref()?.user.as_ref()?.uid.as_deref()
}

fn process(event: &Event) -> (Option<&str>, Option<u32>) {
    let p = event.actor.as_ref().and_then(|a| a.process.as_ref());
    (p.and_then(|p| p.name.as_deref()), p.and_then(|p| p.pid))
}

fn cmd_line(event: &Event) -> Option<&str> {
    event.actor.as_ref()?.process.as_ref()?.cmd_line.as_deref()
}

fn src(event: &Event) -> (Option<&str>, Option<u16>) {
    let e = event.src_endpoint.as_ref();
    (e.and_then(|e| e.ip.as_deref()), e.and_then(|e| e.port))
}

fn src_host(event: &Event) -> Option<&str> {
    event.src_endpoint.as_ref()?.hostname.as_deref()
}

fn product(event: &Event) -> (Option<&str>, Option<&str>) {
    let p = event.product.as_ref();
    (
        p.and_then(|p| p.vendor_name.as_deref()),
        p.and_then(|p| p.name.as_deref()),
    )
}

// ---------------------------------------------------------------- every line

#[test]
fn every_sample_line_is_parsed_by_its_parser() {
    let registry = registry();
    let mut total = 0;
    for sample in SAMPLES {
        let lines = lines(sample.file);
        assert!(!lines.is_empty(), "{} is empty", sample.file);
        for line in lines {
            let (id, event) = run(registry, sample.mode, &line);
            let id = id.unwrap_or_else(|| panic!("{}: not parsed: {line}", sample.file));
            assert!(
                sample.ids.contains(&id.as_str()),
                "{}: taken by {id}: {line}",
                sample.file
            );
            assert_eq!(event.parse, EventParse::Parsed, "{line}");
            assert_eq!(event.parser.as_deref(), Some(id.as_str()));
            assert_eq!(event.raw, line);
            assert!(event.severity.is_some(), "no severity: {line}");
            assert!(event.message.is_some(), "no message: {line}");
            assert!(event.feature.is_some(), "no feature: {line}");
            assert!(event.product.is_some(), "no product: {line}");
            if event.class == EventClass::Base {
                assert_eq!(event.activity_id, 0, "{line}");
            }
            if event.status == Some(Status::Failure) {
                assert!(event.severity >= Some(Severity::Low), "{line}");
            }
            total += 1;
        }
    }
    assert!(total > 900, "only {total} sample lines");
}

#[test]
fn bound_lines_are_not_taken_by_the_wrong_parser_without_binding() {
    // Access-log lines have no program: without a binding they are left alone by the text
    // parsers (the registry's fallbacks may still take them).
    let registry = registry();
    for line in lines("nginx-access.log") {
        let (id, _) = run(registry, Mode::Unbound, &line);
        assert!(
            id.as_deref().is_none_or(|id| !TEXT_PARSERS.contains(&id)),
            "{id:?} took {line}"
        );
    }
}

// ---------------------------------------------------------------- sshd, PAM, sudo, su

#[test]
fn sshd_failed_password_for_invalid_user() {
    let e = parse(
        "sshd.log",
        "Failed password for invalid user oracle from 127.0.0.2 port 46815 ssh2",
    );
    assert_eq!(e.parser.as_deref(), Some("sshd"));
    assert_eq!(e.class, EventClass::Authentication);
    assert_eq!(e.activity_id, 1);
    assert_eq!(e.type_uid(), 300_201);
    assert_eq!(e.activity.as_deref(), Some("logon"));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.status_detail.as_deref(), Some("invalid user"));
    assert_eq!(e.severity, Some(Severity::Low));
    assert_eq!(e.feature.as_deref(), Some("sshd:failed_password"));
    assert_eq!(user(&e), Some("oracle"));
    assert_eq!(e.target.as_deref(), Some("user:oracle"));
    assert_eq!(src(&e), (Some("127.0.0.2"), Some(46815)));
    assert_eq!(process(&e), (Some("sshd"), Some(15069)));
    assert_eq!(u(&e, "auth_method"), json!("password"));
    assert_eq!(u(&e, "invalid_user"), json!(true));
    assert_eq!(product(&e), (Some("OpenBSD"), Some("OpenSSH")));
    assert_eq!(e.log_kind, LogKind::BehaviourEvent);
    assert_eq!(
        e.message.as_deref(),
        Some("Failed password for invalid user oracle from 127.0.0.2 port 46815 ssh2")
    );
}

#[test]
fn sshd_accepted_publickey_keeps_the_key() {
    let e = parse("sshd.log", "Accepted publickey for alice");
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(e.severity, Some(Severity::Info));
    assert_eq!(e.feature.as_deref(), Some("sshd:accepted_publickey"));
    assert_eq!(user(&e), Some("alice"));
    assert_eq!(src(&e), (Some("127.0.0.1"), Some(58104)));
    assert_eq!(u(&e, "auth_method"), json!("publickey"));
    assert_eq!(u(&e, "key_type"), json!("ED25519"));
    assert_eq!(
        u(&e, "key_fingerprint"),
        json!("SHA256:u6vRsTzN1MTHp5gQ2yvZyJ3a7chCAkyll7LqDLGkqQM")
    );
}

#[test]
fn sshd_keyboard_interactive_from_ipv6_and_logoff() {
    let e = parse("sshd.log", "Accepted keyboard-interactive/pam for bob");
    assert_eq!(
        e.feature.as_deref(),
        Some("sshd:accepted_keyboard_interactive")
    );
    assert_eq!(u(&e, "auth_method"), json!("keyboard-interactive/pam"));
    assert_eq!(src(&e), (Some("::1"), Some(51952)));

    let e = parse("sshd.log", "Disconnected from user bob ::1 port 51952");
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 2));
    assert_eq!(e.activity.as_deref(), Some("logoff"));
    assert_eq!(user(&e), Some("bob"));
    assert_eq!(src(&e), (Some("::1"), Some(51952)));

    let e = parse(
        "sshd.log",
        "Received disconnect from ::1 port 51952:11: disconnected by user",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 99));
    assert_eq!(e.status_detail.as_deref(), Some("disconnected by user"));
    assert_eq!(src(&e), (Some("::1"), Some(51952)));
}

#[test]
fn sshd_user_names_with_spaces_and_preauth_closes() {
    let e = parse("sshd.log", "Invalid user admin test from 127.0.0.2");
    assert_eq!(e.feature.as_deref(), Some("sshd:invalid_user"));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(user(&e), Some("admin test"));
    assert_eq!(src(&e), (Some("127.0.0.2"), Some(48661)));

    let e = parse("sshd.log", "Connection closed by invalid user admin test");
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 99));
    assert_eq!(user(&e), Some("admin test"));
    assert_eq!(u(&e, "preauth"), json!(true));
    assert_eq!(u(&e, "invalid_user"), json!(true));
    assert_eq!(e.status, None);

    let e = parse("sshd.log", "Connection closed by 127.0.0.1 port 58138");
    assert_eq!(user(&e), None);
    assert_eq!(src(&e), (Some("127.0.0.1"), Some(58138)));
}

#[test]
fn sshd_repeated_failures_are_medium() {
    let e = parse(
        "sshd.log",
        "maximum authentication attempts exceeded for root",
    );
    assert_eq!(e.feature.as_deref(), Some("sshd:max_auth_attempts"));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(user(&e), Some("root"));
    assert_eq!(src(&e), (Some("127.0.0.3"), Some(57053)));

    let e = parse("sshd.log", "Disconnecting invalid user guest 127.0.0.4");
    assert_eq!(e.feature.as_deref(), Some("sshd:too_many_failures"));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(user(&e), Some("guest"));
    assert_eq!(
        e.status_detail.as_deref(),
        Some("Too many authentication failures")
    );

    let e = parse(
        "sshd.log",
        "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.3  user=root",
    );
    assert_eq!(e.feature.as_deref(), Some("sshd:pam_more_failures"));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(user(&e), Some("root"));
    assert_eq!(src(&e).0, Some("127.0.0.3"));

    let e = parse(
        "sshd.log",
        "User bob from 127.0.0.1 not allowed because listed in DenyUsers",
    );
    assert_eq!(e.feature.as_deref(), Some("sshd:user_not_allowed"));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(e.status_detail.as_deref(), Some("listed in DenyUsers"));
    assert_eq!(user(&e), Some("bob"));

    let e = parse(
        "sshd.log",
        "error: PAM: Authentication failure for bob from ::1",
    );
    assert_eq!(e.feature.as_deref(), Some("sshd:pam_failure"));
    assert_eq!(e.severity, Some(Severity::Low));
    assert_eq!(src(&e).0, Some("::1"));
}

#[test]
fn sshd_status_lines_are_status_monitoring() {
    let e = parse("sshd.log", "Server listening on 0.0.0.0 port 22.");
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(e.log_kind, LogKind::StatusMonitoring);
    assert_eq!(e.src_endpoint, None);
    let e = parse(
        "sshd.log",
        "banner exchange: Connection from 127.0.0.1 port 58126",
    );
    assert_eq!(e.log_kind, LogKind::StatusMonitoring);
    assert_eq!(src(&e), (Some("127.0.0.1"), Some(58126)));
    let e = parse(
        "sshd.log",
        "error: kex_exchange_identification: client sent",
    );
    assert_eq!(e.severity, Some(Severity::Low));
}

#[test]
fn pam_authentication_failure_keeps_pam_fields() {
    let e = parse(
        "pam.log",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=127.0.0.3  user=root",
    );
    assert_eq!(e.parser.as_deref(), Some("pam"));
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.severity, Some(Severity::Low));
    assert_eq!(e.feature.as_deref(), Some("pam_unix:auth_failure"));
    assert_eq!(user(&e), Some("root"));
    assert_eq!(e.target.as_deref(), Some("user:root"));
    assert_eq!(src(&e).0, Some("127.0.0.3"));
    assert_eq!(actor_uid(&e), Some("0"));
    assert_eq!(v(&e, "tty"), json!("ssh"));
    assert_eq!(v(&e, "rhost"), json!("127.0.0.3"));
    assert_eq!(v(&e, "logname"), Value::Null);
    assert_eq!(u(&e, "pam_module"), json!("pam_unix"));
    assert_eq!(u(&e, "pam_service"), json!("sshd"));
    assert_eq!(u(&e, "pam_type"), json!("auth"));
    assert_eq!(process(&e).0, Some("sshd"));
    assert_eq!(product(&e), (Some("Linux-PAM"), Some("pam_unix")));
}

#[test]
fn pam_sessions_and_password_changes() {
    let e = parse(
        "pam.log",
        "pam_unix(sudo:session): session opened for user root(uid=0) by (uid=1001)",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(user(&e), Some("root"));
    assert_eq!(e.user.as_ref().unwrap().uid.as_deref(), Some("0"));
    assert_eq!(actor_uid(&e), Some("1001"));
    assert_eq!(actor_user(&e), None);
    assert_eq!(process(&e), (Some("sudo"), None));

    let e = parse(
        "pam.log",
        "pam_unix(sshd:session): session closed for user alice",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 2));
    assert_eq!(e.feature.as_deref(), Some("pam_unix:session_closed"));
    assert_eq!(user(&e), Some("alice"));

    let e = parse(
        "pam.log",
        "pam_unix(passwd:chauthtok): password changed for alice",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::AccountChange, 3));
    assert_eq!(e.type_uid(), 300_103);
    assert_eq!(user(&e), Some("alice"));

    let e = parse(
        "pam.log",
        "pam_unix(passwd:chauthtok): authentication failure",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::AccountChange, 3));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(user(&e), Some("bob"));

    let e = parse("pam.log", "auth could not identify password for [alice]");
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(user(&e), Some("alice"));

    let e = parse("pam.log", "check pass; user unknown");
    assert_eq!(e.status_detail.as_deref(), Some("user unknown"));

    let e = parse("pam.log", "pam_limits(su-l:session): Could not set limit");
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(e.log_kind, LogKind::StatusMonitoring);
    assert_eq!(e.feature.as_deref(), Some("pam_limits:other"));
    assert_eq!(u(&e, "pam_service"), json!("su-l"));
}

#[test]
fn sudo_command_and_refusals() {
    let e = parse(
        "sudo.log",
        "alice : TTY=pts/1 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl status 'ssh server'",
    );
    assert_eq!(e.parser.as_deref(), Some("sudo"));
    assert_eq!((e.class, e.activity_id), (EventClass::AuthorizeSession, 1));
    assert_eq!(e.type_uid(), 300_301);
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(e.severity, Some(Severity::Info));
    assert_eq!(actor_user(&e), Some("alice"));
    assert_eq!(user(&e), Some("root"));
    assert_eq!(e.target.as_deref(), Some("user:root"));
    assert_eq!(cmd_line(&e), Some("/usr/bin/systemctl status 'ssh server'"));
    assert_eq!(v(&e, "TTY"), json!("pts/1"));
    assert_eq!(v(&e, "PWD"), json!("/home/alice"));
    assert_eq!(v(&e, "USER"), json!("root"));
    assert_eq!(
        v(&e, "COMMAND"),
        json!("/usr/bin/systemctl status 'ssh server'")
    );
    assert_eq!(e.feature.as_deref(), Some("sudo:command"));

    let e = parse("sudo.log", "3 incorrect password attempts");
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(
        e.status_detail.as_deref(),
        Some("3 incorrect password attempts")
    );
    assert_eq!(e.feature.as_deref(), Some("sudo:incorrect_password"));
    assert_eq!(cmd_line(&e), Some("/usr/bin/whoami"));

    let e = parse("sudo.log", "user NOT in sudoers");
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(actor_user(&e), Some("bob"));
    assert_eq!(e.feature.as_deref(), Some("sudo:not_in_sudoers"));

    let e = parse("sudo.log", "command not allowed");
    assert_eq!(e.feature.as_deref(), Some("sudo:command_not_allowed"));
    assert_eq!(cmd_line(&e), Some("/bin/cat /etc/shadow"));
}

#[test]
fn su_switches() {
    let e = parse("su.log", "(to bob) alice on pts/1");
    assert_eq!(e.parser.as_deref(), Some("su"));
    assert_eq!((e.class, e.activity_id), (EventClass::AuthorizeSession, 1));
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(actor_user(&e), Some("alice"));
    assert_eq!(user(&e), Some("bob"));
    assert_eq!(u(&e, "tty"), json!("pts/1"));
    assert_eq!(process(&e), (Some("su"), Some(16259)));

    let e = parse("su.log", "FAILED SU (to root) alice on pts/1");
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.severity, Some(Severity::Low));
    assert_eq!(user(&e), Some("root"));
    assert_eq!(e.feature.as_deref(), Some("su:failed"));

    let e = parse("su.log", "FAILED SU (to elysium) elysium on none");
    assert_eq!(u(&e, "tty"), json!("none"));

    let e = parse("su.log", "pam_authenticate: Authentication failure");
    assert_eq!(e.parser.as_deref(), Some("su"));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.status_detail.as_deref(), Some("Authentication failure"));
}

// ---------------------------------------------------------------- auditd

#[test]
fn auditd_user_login_failure_with_hex_account() {
    let e = parse("auditd.log", "type=USER_LOGIN msg=audit(1795916567.353:61)");
    assert_eq!(e.parser.as_deref(), Some("auditd"));
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.time, ts("2026-11-29T01:42:47.353Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.status_detail.as_deref(), Some("invalid user"));
    assert_eq!(user(&e), None);
    assert_eq!(src(&e).0, Some("127.0.0.2"));
    assert_eq!(v(&e, "type"), json!("USER_LOGIN"));
    assert_eq!(v(&e, "acct"), json!("(invalid user)"));
    assert_eq!(v(&e, "op"), json!("login"));
    assert_eq!(v(&e, "exe"), json!("/usr/sbin/sshd"));
    assert_eq!(v(&e, "res"), json!("failed"));
    assert_eq!(v(&e, "auid"), json!("4294967295"));
    assert_eq!(v(&e, "terminal"), json!("sshd"));
    assert_eq!(v(&e, "UID"), json!("root"));
    assert_eq!(v(&e, "AUID"), json!("unset"));
    assert_eq!(u(&e, "audit_event"), json!("1795916567.353:61"));
    assert_eq!(process(&e), (Some("sshd"), Some(15069)));
    assert_eq!(actor_uid(&e), Some("0"));
    assert_eq!(actor_user(&e), Some("root"));
    assert_eq!(e.feature.as_deref(), Some("auditd:USER_LOGIN"));
}

#[test]
fn auditd_user_login_success_names_the_user() {
    let e = parse(
        "auditd.log",
        "type=USER_LOGIN msg=audit(1795916655.957:246)",
    );
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(user(&e), Some("alice"));
    assert_eq!(e.user.as_ref().unwrap().uid.as_deref(), Some("1001"));
    assert_eq!(e.target.as_deref(), Some("user:alice"));
    assert_eq!(v(&e, "terminal"), json!("/dev/pts/1"));
}

#[test]
fn auditd_execve_decodes_arguments() {
    let e = parse("auditd.log", "type=EXECVE msg=audit(1795916655.961:248)");
    assert_eq!((e.class, e.activity_id), (EventClass::ProcessActivity, 1));
    assert_eq!(e.type_uid(), 100_701);
    assert_eq!(v(&e, "a0"), json!("sudo"));
    assert_eq!(v(&e, "a3"), json!("ssh server"));
    assert_eq!(v(&e, "argc"), json!("4"));
    assert_eq!(
        cmd_line(&e),
        Some("sudo /usr/bin/systemctl status ssh server")
    );

    let e = parse("auditd.log", "type=EXECVE msg=audit(1795916655.957:247)");
    assert_eq!(
        cmd_line(&e),
        Some(
            "bash -c sudo /usr/bin/systemctl status 'ssh server'; echo 'hello world' | grep -c hello"
        )
    );
}

#[test]
fn auditd_syscall_proctitle_path_and_user_cmd() {
    let e = parse("auditd.log", "type=SYSCALL msg=audit(1795916655.961:248)");
    assert_eq!((e.class, e.activity_id), (EventClass::ProcessActivity, 1));
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(v(&e, "syscall"), json!("59"));
    assert_eq!(v(&e, "SYSCALL"), json!("execve"));
    assert_eq!(v(&e, "comm"), json!("sudo"));
    assert_eq!(process(&e).0, Some("sudo"));

    let e = parse("auditd.log", "type=SYSCALL msg=audit(1795916649.169:220)");
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(v(&e, "key"), json!("shadow_watch"));
    assert_eq!(v(&e, "SYSCALL"), json!("rename"));

    let e = parse("auditd.log", "type=PROCTITLE msg=audit(1795916649.169:220)");
    assert_eq!((e.class, e.activity_id), (EventClass::ProcessActivity, 99));
    assert_eq!(cmd_line(&e), Some("passwd alice"));

    let e = parse("auditd.log", "item=3 name=\"/etc/shadow\"");
    assert_eq!(e.file.as_deref(), Some("/etc/shadow"));
    assert_eq!(e.target.as_deref(), Some("file:/etc/shadow"));
    assert_eq!(v(&e, "nametype"), json!("DELETE"));
    assert_eq!(v(&e, "OUID"), json!("root"));

    let e = parse("auditd.log", "type=USER_CMD");
    assert_eq!((e.class, e.activity_id), (EventClass::AuthorizeSession, 1));
    assert_eq!(cmd_line(&e), Some("/usr/bin/systemctl status ssh server"));
    assert_eq!(v(&e, "cwd"), json!("/home/alice"));
    assert_eq!(actor_user(&e), Some("alice"));
    assert_eq!(actor_uid(&e), Some("1001"));
    assert_eq!(e.status, Some(Status::Success));
}

#[test]
fn auditd_account_changes() {
    let e = parse("auditd.log", "type=ADD_USER msg=audit(1795916543.889:15)");
    assert_eq!((e.class, e.activity_id), (EventClass::AccountChange, 1));
    assert_eq!(v(&e, "op"), json!("adding home directory"));
    assert_eq!(user(&e), Some("alice"));
    assert_eq!(e.user.as_ref().unwrap().uid.as_deref(), Some("1001"));

    let e = parse("auditd.log", "type=ADD_USER msg=audit(1795916543.873:13)");
    assert_eq!(v(&e, "op"), json!("adding user"));
    assert_eq!(user(&e), None);
    assert_eq!(e.user.as_ref().unwrap().uid.as_deref(), Some("1001"));

    let e = parse("auditd.log", "type=DEL_USER msg=audit(1795916544.013:33)");
    assert_eq!((e.class, e.activity_id), (EventClass::AccountChange, 6));
    assert_eq!(v(&e, "op"), json!("deleting user entries"));

    let e = parse(
        "auditd.log",
        "type=USER_CHAUTHTOK msg=audit(1795916649.237:226)",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::AccountChange, 3));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(user(&e), Some("bob"));

    let e = parse("auditd.log", "type=ADD_GROUP msg=audit(1795916543.869:12)");
    assert_eq!((e.class, e.activity_id), (EventClass::GroupManagement, 6));
    assert_eq!(e.target.as_deref(), Some("group:alice"));
    assert_eq!(e.user, None);
}

#[test]
fn auditd_node_prefix_braces_and_daemon_records() {
    let e = parse(
        "auditd.log",
        "node=vm type=SOCKADDR msg=audit(1795916673.621:263)",
    );
    assert_eq!(v(&e, "node"), json!("vm"));
    assert_eq!(e.device.as_ref().unwrap().hostname.as_deref(), Some("vm"));
    assert_eq!(v(&e, "saddr"), json!("100000000000000000000000"));
    assert_eq!(
        v(&e, "SADDR"),
        json!("saddr_fam=netlink nlnk-fam=16 nlnk-pid=0")
    );

    let e = parse("auditd.log", "type=DAEMON_START");
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(e.log_kind, LogKind::StatusMonitoring);
    assert_eq!(v(&e, "ver"), json!("3.0.9"));
}

#[test]
fn auditd_through_syslog_and_the_kernel() {
    let e = parse("auditd-syslog.log", "type=USER_CMD");
    assert_eq!(process(&e), (Some("sudo"), Some(16523)));
    assert_eq!(cmd_line(&e), Some("/usr/bin/systemctl status ssh server"));
    assert_eq!(v(&e, "AUID"), json!("alice"));
    assert_eq!(e.time, ts("2026-11-29T01:44:16.001Z"));

    let e = parse(
        "auditd-syslog.log",
        "audit: type=1112 audit(1795916672.581:262)",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(v(&e, "type"), json!("USER_LOGIN"));
    assert_eq!(u(&e, "audit_type_id"), json!("1112"));
    assert_eq!(u(&e, "kernel_uptime"), json!("7542.796065"));
    assert_eq!(user(&e), Some("alice"));
    assert_eq!(e.status, Some(Status::Failure));

    let e = parse("auditd-syslog.log", "node=vm type=USER_AUTH");
    assert_eq!(user(&e), Some("mallory"));
    assert_eq!(src(&e).0, Some("127.0.0.5"));
    assert_eq!(e.activity.as_deref(), Some("authenticate"));

    let e = parse("auditd-syslog.log", "The audit daemon is exiting.");
    assert_eq!(e.log_kind, LogKind::StatusMonitoring);
    assert_eq!(e.feature.as_deref(), Some("auditd:daemon"));
}

// ---------------------------------------------------------------- netfilter

#[test]
fn netfilter_ufw_block() {
    let e = parse(
        "netfilter.log",
        "[UFW BLOCK] IN=lo OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=127.0.0.1",
    );
    assert_eq!(e.parser.as_deref(), Some("netfilter"));
    assert_eq!((e.class, e.activity_id), (EventClass::NetworkActivity, 6));
    assert_eq!(e.type_uid(), 400_106);
    assert_eq!(e.action, Some(Action::Denied));
    assert_eq!(e.severity, Some(Severity::Low));
    assert_eq!(src(&e), (Some("127.0.0.1"), Some(54334)));
    let dst = e.dst_endpoint.as_ref().unwrap();
    assert_eq!(
        (dst.ip.as_deref(), dst.port),
        (Some("127.0.0.1"), Some(9931))
    );
    assert_eq!(
        e.src_endpoint.as_ref().unwrap().interface.as_deref(),
        Some("lo")
    );
    assert_eq!(dst.interface, None);
    let c = e.connection.as_ref().unwrap();
    assert_eq!((c.protocol.as_deref(), c.bytes), (Some("tcp"), Some(60)));
    assert_eq!(v(&e, "IN"), json!("lo"));
    assert_eq!(v(&e, "OUT"), json!(""));
    assert_eq!(
        v(&e, "MAC"),
        json!("00:00:00:00:00:00:00:00:00:00:00:00:08:00")
    );
    assert_eq!(v(&e, "TTL"), json!(64));
    assert_eq!(v(&e, "TOS"), json!("0x00"));
    assert_eq!(v(&e, "DF"), json!(true));
    assert_eq!(v(&e, "SYN"), json!(true));
    assert_eq!(v(&e, "WINDOW"), json!(65495));
    assert_eq!(u(&e, "log_prefix"), json!("[UFW BLOCK]"));
    assert_eq!(u(&e, "kernel_uptime"), json!("7566.382478"));
    assert_eq!(e.feature.as_deref(), Some("netfilter:[UFW BLOCK]"));
    assert_eq!(product(&e), (Some("Canonical"), Some("ufw")));
}

#[test]
fn netfilter_variants() {
    let e = parse("netfilter.log", "[UFW AUDIT]");
    assert_eq!(e.action, Some(Action::Observed));
    assert_eq!(u(&e, "udp_len"), json!(11));
    assert_eq!(v(&e, "LEN"), json!(31));

    let e = parse("netfilter.log", "[UFW ALLOW]");
    assert_eq!(e.action, Some(Action::Allowed));
    assert_eq!(
        v(&e, "OPT"),
        json!("0204FFD70402080A886D9B37000000000103030A")
    );
    assert_eq!(v(&e, "SEQ"), json!(3132885878u64));

    let e = parse("netfilter.log", "icmp-out: IN= OUT=lo");
    assert_eq!(
        e.connection.as_ref().unwrap().protocol.as_deref(),
        Some("icmp")
    );
    assert_eq!(v(&e, "TYPE"), json!(3));
    assert_eq!(v(&e, "SPT"), Value::Null);
    assert!(
        u(&e, "icmp_inner")
            .as_str()
            .unwrap()
            .starts_with("SRC=127.0.0.1 DST=127.0.0.1 LEN=31")
    );
    assert_eq!(
        e.dst_endpoint.as_ref().unwrap().interface.as_deref(),
        Some("lo")
    );
    assert_eq!(e.action, Some(Action::Observed));

    let e = parse(
        "netfilter.log",
        "SRC=0000:0000:0000:0000:0000:0000:0000:0001 DST=0000:0000:0000:0000:0000:0000:0000:0001 LEN=80",
    );
    assert_eq!(src(&e).0, Some("::1"));
    assert_eq!(v(&e, "HOPLIMIT"), json!(64));

    let e = parse("netfilter.log", "nft-drop:");
    assert_eq!(e.action, Some(Action::Denied));
    assert_eq!(product(&e), (Some("netfilter"), Some("netfilter")));

    let e = parse("netfilter.log", "2060] IN=lo OUT= MAC");
    assert_eq!(e.action, Some(Action::Observed));
    assert_eq!(u(&e, "log_prefix"), Value::Null);
}

// ---------------------------------------------------------------- web servers

#[test]
fn nginx_access_combined() {
    let e = parse("nginx-access.log", "\"GET /robots.txt?x=1&y=2 HTTP/1.1\"");
    assert_eq!(e.parser.as_deref(), Some("nginx-access"));
    assert_eq!((e.class, e.activity_id), (EventClass::HttpActivity, 3));
    assert_eq!(e.type_uid(), 400_203);
    assert_eq!(e.time, ts("2026-11-29T01:45:14Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(e.severity, Some(Severity::Info));
    assert_eq!(src(&e).0, Some("127.0.0.1"));
    assert_eq!(e.target.as_deref(), Some("url:/robots.txt"));
    let h = e.http.as_ref().unwrap();
    assert_eq!(h.method.as_deref(), Some("GET"));
    assert_eq!(h.url.as_deref(), Some("/robots.txt?x=1&y=2"));
    assert_eq!(h.version.as_deref(), Some("HTTP/1.1"));
    assert_eq!(h.status_code, Some(200));
    assert_eq!(h.response_bytes, Some(3));
    assert_eq!(
        h.referrer.as_deref(),
        Some(r"http://127.0.0.1/start?q=a\x22b")
    );
    assert_eq!(
        h.user_agent.as_deref(),
        Some("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0")
    );
    assert_eq!(product(&e), (Some("F5"), Some("nginx")));
    assert_eq!(e.feature.as_deref(), Some("nginx-access:200"));
}

#[test]
fn nginx_access_failures_users_ipv6_and_odd_requests() {
    let e = parse("nginx-access.log", "dave [");
    assert_eq!(actor_user(&e), Some("dave"));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.severity, Some(Severity::Low));
    assert_eq!(e.status_detail.as_deref(), Some("401"));

    let e = parse("nginx-access.log", "\"PUT /upload/file.txt");
    assert_eq!(src(&e).0, Some("::1"));
    assert_eq!(e.activity_id, 7);

    let e = parse("nginx-access.log", "\"PROPFIND /webdav/");
    assert_eq!(e.activity_id, 99);
    assert_eq!(e.activity.as_deref(), Some("PROPFIND"));

    let e = parse("nginx-access.log", r#""\x16\x03\x01"#);
    assert_eq!(e.activity_id, 0);
    assert_eq!(e.http.as_ref().unwrap().method, None);
    assert_eq!(
        u(&e, "request"),
        json!(r"\x16\x03\x01\x00\xA5\x01\x00\x00\xA1\x03\x03")
    );
    assert_eq!(e.http.as_ref().unwrap().status_code, Some(400));

    let e = parse("nginx-access.log", r#""GET /a\x22b HTTP/1.1""#);
    assert_eq!(e.http.as_ref().unwrap().url.as_deref(), Some(r"/a\x22b"));
}

#[test]
fn apache_access_common_combined_and_vhost() {
    let e = parse("apache-access.log", r#""GET /a\"b\\c HTTP/1.1""#);
    assert_eq!(e.parser.as_deref(), Some("apache-access"));
    assert_eq!(e.http.as_ref().unwrap().url.as_deref(), Some(r#"/a"b\c"#));
    assert_eq!(
        product(&e),
        (
            Some("Apache Software Foundation"),
            Some("Apache HTTP Server")
        )
    );

    let e = parse("apache-access.log", "frank [10/Oct/2000:13:55:36 -0700]");
    assert_eq!(e.time, ts("2000-10-10T20:55:36Z"));
    assert_eq!(actor_user(&e), Some("frank"));
    assert_eq!(
        e.http.as_ref().unwrap().user_agent.as_deref(),
        Some("Mozilla/4.08 [en] (Win98; I ;Nav)")
    );
    assert_eq!(
        e.http.as_ref().unwrap().version.as_deref(),
        Some("HTTP/1.0")
    );

    let e = parse("apache-common.log", "\"TRACE / HTTP/1.1\" 405");
    assert_eq!(e.activity_id, 8);
    assert_eq!(e.http.as_ref().unwrap().response_bytes, Some(518));
    assert_eq!(e.http.as_ref().unwrap().user_agent, None);

    let e = parse("apache-vhost.log", "www.example.test:80 ::1 - -");
    let dst = e.dst_endpoint.as_ref().unwrap();
    assert_eq!(
        (dst.hostname.as_deref(), dst.port),
        (Some("www.example.test"), Some(80))
    );
    assert_eq!(src(&e).0, Some("::1"));
    assert_eq!(e.http.as_ref().unwrap().status_code, Some(200));

    let e = parse("apache-vhost.log", "\"HEAD /robots.txt");
    assert_eq!(e.activity_id, 4);
}

#[test]
fn nginx_error_lines() {
    let e = parse(
        "nginx-error.log",
        "open() \"/var/www/html/old/page.html\" failed",
    );
    assert_eq!(e.parser.as_deref(), Some("nginx-error"));
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(e.log_kind, LogKind::StatusMonitoring);
    assert_eq!(e.time, ts("2026-11-29T01:45:23Z"));
    assert_eq!(e.time_status, TimeStatus::Inferred);
    assert_eq!(e.severity, Some(Severity::Low));
    assert_eq!(
        e.message.as_deref(),
        Some(r#"open() "/var/www/html/old/page.html" failed (2: No such file or directory)"#)
    );
    assert_eq!(src(&e).0, Some("127.0.0.1"));
    assert_eq!(process(&e), (Some("nginx"), Some(18184)));
    assert_eq!(u(&e, "connection"), json!(18));
    assert_eq!(u(&e, "server"), json!("_"));
    assert_eq!(e.http.as_ref().unwrap().method.as_deref(), Some("GET"));
    assert_eq!(
        e.http.as_ref().unwrap().url.as_deref(),
        Some("/old/page.html")
    );
    assert_eq!(
        e.dst_endpoint.as_ref().unwrap().hostname.as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(v(&e, "level"), json!("error"));

    let e = parse("nginx-error.log", "user \"dave\" was not found");
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(user(&e), Some("dave"));
    assert_eq!(e.status_detail.as_deref(), Some("user not found"));
    assert_eq!(u(&e, "auth_method"), json!("basic"));

    let e = parse("nginx-error.log", "user \"carol\": password mismatch");
    assert_eq!(e.status_detail.as_deref(), Some("password mismatch"));

    let e = parse("nginx-error.log", "send() failed (111: Connection refused)");
    assert_eq!(u(&e, "connection"), Value::Null);
    assert_eq!(e.severity, Some(Severity::Low));

    let e = parse("nginx-syslog.log", "[info]");
    assert_eq!(e.parser.as_deref(), Some("nginx-error"));
    assert_eq!(e.severity, Some(Severity::Info));
    let e = parse("nginx-syslog.log", "\"GET /robots.txt HTTP/1.1\" 200");
    assert_eq!(e.parser.as_deref(), Some("nginx-access"));
    assert_eq!(src(&e).0, Some("::1"));
}

#[test]
fn apache_error_lines() {
    let e = parse(
        "apache-error.log",
        "AH01617: user carol: authentication failure for \"/private/\": Password Mismatch",
    );
    assert_eq!(e.parser.as_deref(), Some("apache-error"));
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.status_detail.as_deref(), Some("Password Mismatch"));
    assert_eq!(user(&e), Some("carol"));
    assert_eq!(e.time, ts("2026-11-29T01:46:13.081801Z"));
    assert_eq!(e.time_status, TimeStatus::Inferred);
    assert_eq!(src(&e), (Some("127.0.0.1"), Some(59960)));
    assert_eq!(process(&e).1, Some(18958));
    assert_eq!(v(&e, "module"), json!("auth_basic"));
    assert_eq!(v(&e, "level"), json!("error"));
    assert_eq!(e.feature.as_deref(), Some("apache-error:AH01617"));
    assert_eq!(e.http.as_ref().unwrap().url.as_deref(), Some("/private/"));

    let e = parse("apache-error.log", "[client ::1:54130] AH01630");
    assert_eq!(src(&e), (Some("::1"), Some(54130)));
    assert_eq!(e.action, Some(Action::Denied));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(e.target.as_deref(), Some("file:/var/www/html/admin/"));

    let e = parse("apache-error.log", "(13)Permission denied");
    assert_eq!(u(&e, "os_error"), json!("(13)Permission denied"));
    assert_eq!(e.feature.as_deref(), Some("apache-error:AH00132"));
    assert_eq!(src(&e).1, Some(50140));

    let e = parse("apache-error.log", "AH00126: Invalid URI in request");
    assert_eq!(src(&e), (Some("161.35.86.181"), Some(47058)));
    assert_eq!(e.time, ts("2022-02-05T01:49:35.862611Z"));

    let e = parse(
        "apache-error.log",
        "[Wed Oct 11 14:32:52 2000] [error] [client 127.0.0.1]",
    );
    assert_eq!(v(&e, "module"), Value::Null);
    assert_eq!(src(&e), (Some("127.0.0.1"), None));
    assert_eq!(e.time, ts("2000-10-11T14:32:52Z"));

    let e = parse("apache-error.log", "referer: http://evil.test/x");
    assert_eq!(
        e.http.as_ref().unwrap().referrer.as_deref(),
        Some("http://evil.test/x")
    );

    let e = parse("apache-syslog.log", "AH01618: user mallory not found");
    assert_eq!(e.parser.as_deref(), Some("apache-error"));
    assert_eq!(user(&e), Some("mallory"));
    assert_eq!(e.time_status, TimeStatus::Inferred);
    assert_eq!(process(&e), (Some("apache2"), Some(20247)));
}

// ---------------------------------------------------------------- PostgreSQL

#[test]
fn postgresql_statements_and_pgaudit() {
    let e = parse("postgresql.log", "LOG:  statement: CREATE TABLE accounts");
    assert_eq!(e.parser.as_deref(), Some("postgresql"));
    assert_eq!((e.class, e.activity_id), (EventClass::DatastoreActivity, 4));
    assert_eq!(e.type_uid(), 600_504);
    assert_eq!(e.time, ts("2026-11-29T01:46:50.024Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    assert_eq!(
        e.query.as_deref(),
        Some("CREATE TABLE accounts (id int primary key, owner text, balance numeric);")
    );
    assert_eq!(actor_user(&e), Some("app"));
    assert_eq!(e.target.as_deref(), Some("database:shop"));
    assert_eq!(process(&e), (Some("postgres"), Some(20552)));
    assert_eq!(v(&e, "error_severity"), json!("LOG"));

    let e = parse(
        "postgresql.log",
        r#"AUDIT: SESSION,5,1,READ,SELECT,,,"SELECT ""owner"""#,
    );
    assert_eq!((e.class, e.activity_id), (EventClass::DatastoreActivity, 4));
    assert_eq!(
        e.query.as_deref(),
        Some(r#"SELECT "owner" FROM public.accounts WHERE owner LIKE '%"quoted"%';"#)
    );
    assert_eq!(e.activity.as_deref(), Some("SELECT"));
    assert_eq!(v(&e, "AUDIT_TYPE"), json!("SESSION"));
    assert_eq!(v(&e, "STATEMENT_ID"), json!("5"));
    assert_eq!(v(&e, "CLASS"), json!("READ"));
    assert_eq!(v(&e, "PARAMETER"), json!("<not logged>"));
    assert_eq!(e.feature.as_deref(), Some("pgaudit:SESSION"));
    assert_eq!(e.target.as_deref(), Some("database:shop"));
    assert_eq!(product(&e).1, Some("pgaudit"));

    let e = parse(
        "postgresql.log",
        r#"AUDIT: OBJECT,3,1,WRITE,UPDATE,TABLE,public.accounts"#,
    );
    assert_eq!(e.target.as_deref(), Some("table:public.accounts"));
    assert_eq!(v(&e, "PARAMETER"), json!("42,1"));
    assert_eq!(v(&e, "OBJECT_TYPE"), json!("TABLE"));
    assert_eq!(e.feature.as_deref(), Some("pgaudit:OBJECT"));

    let e = parse(
        "postgresql.log",
        "AUDIT: SESSION,6,1,WRITE,DELETE,,,DELETE FROM accounts WHERE id = 2;,<not logged>",
    );
    assert_eq!(
        e.query.as_deref(),
        Some("DELETE FROM accounts WHERE id = 2;")
    );
}

#[test]
fn postgresql_connections_and_failures() {
    let e = parse(
        "postgresql.log",
        "connection received: host=127.0.0.1 port=33626",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::DatastoreActivity, 3));
    assert_eq!(src(&e), (Some("127.0.0.1"), Some(33626)));
    assert_eq!(actor_user(&e), None);

    let e = parse(
        "postgresql.log",
        "connection authorized: user=app database=shop application_name=psql SSL enabled",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::DatastoreActivity, 3));
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(actor_user(&e), Some("app"));
    assert_eq!(e.target.as_deref(), Some("database:shop"));
    assert_eq!(u(&e, "ssl"), json!(true));
    assert_eq!(u(&e, "application_name"), json!("psql"));

    let e = parse(
        "postgresql.log",
        "connection authenticated: identity=\"app\" method=scram-sha-256",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(user(&e), Some("app"));
    assert_eq!(u(&e, "auth_method"), json!("scram-sha-256"));

    let e = parse(
        "postgresql.log",
        "ghost@shop FATAL:  password authentication failed for user \"ghost\"",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.severity, Some(Severity::Low));
    assert_eq!(user(&e), Some("ghost"));
    assert_eq!(u(&e, "auth_method"), json!("password"));
    assert_eq!(e.feature.as_deref(), Some("postgresql:auth_failed"));

    let e = parse(
        "postgresql.log",
        "FATAL:  database \"nosuchdb\" does not exist",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::DatastoreActivity, 3));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.target.as_deref(), Some("database:nosuchdb"));

    let e = parse(
        "postgresql.log",
        "disconnection: session time: 0:00:00.021 user=app database=shop host=127.0.0.1 port=33626",
    );
    assert_eq!(
        (e.class, e.activity_id),
        (EventClass::DatastoreActivity, 99)
    );
    assert_eq!(u(&e, "session_time"), json!("0:00:00.021"));

    let e = parse(
        "postgresql.log",
        "ERROR:  relation \"missing_table\" does not exist",
    );
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(e.log_kind, LogKind::StatusMonitoring);
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.severity, Some(Severity::Low));

    let e = parse("postgresql.log", "STATEMENT:  SELECT 1/0;");
    assert_eq!(e.query.as_deref(), Some("SELECT 1/0;"));
}

#[test]
fn postgresql_prefix_variants() {
    // `%t [%p-%l] %q%u@%d ` with a zone abbreviation: read in the source's zone.
    let e = parse("postgresql.log", "CET [20793-2] app@shop FATAL");
    assert_eq!(e.time, ts("2026-11-29T02:47:15Z"));
    assert_eq!(e.time_status, TimeStatus::Inferred);
    assert_eq!(u(&e, "time_zone_name"), json!("CET"));
    assert_eq!(process(&e).1, Some(20793));
    assert_eq!(user(&e), Some("app"));

    // pgBadger-style `key=value` session details.
    let e = parse(
        "postgresql.log",
        "user=app,db=shop,app=psql,client=127.0.0.1 LOG:  AUDIT: SESSION",
    );
    assert_eq!(actor_user(&e), Some("app"));
    assert_eq!(src(&e).0, Some("127.0.0.1"));
    assert_eq!(u(&e, "application_name"), json!("psql"));
    assert_eq!(e.target.as_deref(), Some("table:public.accounts"));

    // Through syslog: `[N-N] ` sequence, then the usual prefix.
    let e = parse(
        "postgresql-syslog.log",
        "[8-1] 2026-11-29 01:47:09.345 UTC [20665] app@shop FATAL",
    );
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.time, ts("2026-11-29T01:47:09.345Z"));
    assert_eq!(process(&e).1, Some(20665));
}

// ---------------------------------------------------------------- MariaDB / MySQL

#[test]
fn mariadb_audit_file_records() {
    let e = parse("mariadb-audit.log", r#"QUERY,shop,'INSERT INTO accounts"#);
    assert_eq!(e.parser.as_deref(), Some("mariadb-audit"));
    assert_eq!((e.class, e.activity_id), (EventClass::DatastoreActivity, 4));
    assert_eq!(e.time, ts("2026-11-29T01:47:33Z"));
    assert_eq!(e.time_status, TimeStatus::Inferred);
    assert_eq!(
        e.query.as_deref(),
        Some(r#"INSERT INTO accounts VALUES (1,'alice',100),(2,'o\'brien, "jr"',50)"#)
    );
    assert_eq!(actor_user(&e), Some("app"));
    assert_eq!(src_host(&e), Some("localhost"));
    assert_eq!(e.target.as_deref(), Some("database:shop"));
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(v(&e, "serverhost"), json!("vm"));
    assert_eq!(v(&e, "connectionid"), json!("9"));
    assert_eq!(v(&e, "queryid"), json!("17"));
    assert_eq!(v(&e, "operation"), json!("QUERY"));
    assert_eq!(v(&e, "retcode"), json!("0"));
    assert_eq!(product(&e), (Some("MariaDB"), Some("server_audit")));

    let e = parse(
        "mariadb-audit.log",
        "QUERY,shop,'SELECT * FROM nosuch',1146",
    );
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.status_detail.as_deref(), Some("error 1146"));

    let e = parse("mariadb-audit.log", "FAILED_CONNECT,,,1045");
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(user(&e), Some("app"));

    let e = parse("mariadb-audit.log", "CONNECT,shop,,0");
    assert_eq!((e.class, e.activity_id), (EventClass::DatastoreActivity, 3));
    assert_eq!(e.status, Some(Status::Success));

    let e = parse("mariadb-audit.log", "WRITE,shop,accounts,");
    assert_eq!((e.class, e.activity_id), (EventClass::DatastoreActivity, 5));
    assert_eq!(e.target.as_deref(), Some("table:shop.accounts"));
    assert_eq!(e.status, None);

    let e = parse("mariadb-audit.log", "CREATE,shop,accounts,");
    assert_eq!(e.activity_id, 6);

    let e = parse("mariadb-audit.log", r"'show variables like \'datadir\''");
    assert_eq!(e.query.as_deref(), Some("show variables like 'datadir'"));
}

#[test]
fn mariadb_audit_through_syslog() {
    let e = parse(
        "mariadb-audit-syslog.log",
        "QUERY,shop,'SELECT owner FROM accounts WHERE id = 1',0",
    );
    assert_eq!(
        e.query.as_deref(),
        Some("SELECT owner FROM accounts WHERE id = 1")
    );
    assert_eq!(actor_user(&e), Some("app"));
    assert_eq!(process(&e).0, Some("mysql-server_auditing"));
    // No time in the record: the syslog header's stays.
    assert_eq!(e.time, ts("2026-11-29T01:47:34Z"));
    let e = parse("mariadb-audit-syslog.log", "FAILED_CONNECT");
    assert_eq!(e.class, EventClass::Authentication);
}

#[test]
fn mysql_error_log_access_denied() {
    let e = parse(
        "mysql-error.log",
        "[MY-010926] [Server] Access denied for user 'root'@'192.0.2.1'",
    );
    assert_eq!(e.parser.as_deref(), Some("mysql-error"));
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.time, ts("2019-01-03T08:50:04.634875Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    assert_eq!(user(&e), Some("root"));
    assert_eq!(src(&e).0, Some("192.0.2.1"));
    assert_eq!(u(&e, "using_password"), json!(false));
    assert_eq!(v(&e, "err_code"), json!("MY-010926"));
    assert_eq!(v(&e, "subsystem"), json!("Server"));
    assert_eq!(v(&e, "thread"), json!("113"));
    assert_eq!(v(&e, "prio"), json!("Note"));
    assert_eq!(product(&e), (Some("Oracle"), Some("MySQL")));

    let e = parse("mysql-error.log", "2015-10-07  8:25:38 139845235329792");
    assert_eq!(e.time, ts("2015-10-07T08:25:38Z"));
    assert_eq!(e.time_status, TimeStatus::Inferred);
    assert_eq!(user(&e), Some("user"));

    let e = parse("mysql-error.log", "130324 17:56:14");
    assert_eq!(e.time, ts("2013-03-24T17:56:14Z"));
    assert_eq!(u(&e, "using_password"), json!(true));

    let e = parse("mysql-error.log", "2016-02-24T15:26:18.237955 6 [Note]");
    assert_eq!(e.time_status, TimeStatus::Inferred);
    assert_eq!(src_host(&e), Some("localhost"));

    let e = parse("mysql-error.log", "Aborted connection 21");
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(e.severity, Some(Severity::Low));

    let e = parse(
        "mysql-error-syslog.log",
        "Access denied for user 'app'@'localhost' to database 'nosuchdb'",
    );
    assert_eq!((e.class, e.activity_id), (EventClass::DatastoreActivity, 3));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(e.target.as_deref(), Some("database:nosuchdb"));
    assert_eq!(e.time, ts("2026-11-29T01:47:33Z"));
    assert_eq!(product(&e), (Some("MariaDB"), Some("MariaDB Server")));

    let e = parse(
        "mysql-error-syslog.log",
        "Access denied for user 'bob'@'localhost'",
    );
    assert_eq!(e.class, EventClass::Authentication);
    assert_eq!(u(&e, "using_password"), Value::Null);

    let e = parse(
        "mysql-error-syslog.log",
        "Version: '10.11.19-MariaDB-0+deb12u1'",
    );
    assert_eq!(e.log_kind, LogKind::StatusMonitoring);
}

// ---------------------------------------------------------------- ClamAV

#[test]
fn clamav_detections() {
    let e = parse(
        "clamav.log",
        "/tmp/scan/sub/invoice 2024.pdf.exe: Win.Test.EICAR_HDB-1.UNOFFICIAL(",
    );
    assert_eq!(e.parser.as_deref(), Some("clamav"));
    assert_eq!((e.class, e.activity_id), (EventClass::DetectionFinding, 1));
    assert_eq!(e.type_uid(), 200_401);
    assert_eq!(e.log_kind, LogKind::SecurityEvent);
    assert_eq!(e.severity, Some(Severity::High));
    assert_eq!(e.attack_type.as_deref(), Some("malware"));
    assert_eq!(
        e.file.as_deref(),
        Some("/tmp/scan/sub/invoice 2024.pdf.exe")
    );
    let d = e.detection.as_ref().unwrap();
    assert_eq!(d.title.as_deref(), Some("Win.Test.EICAR_HDB-1.UNOFFICIAL"));
    assert_eq!(d.category.as_deref(), Some("Test"));
    assert_eq!(
        e.feature.as_deref(),
        Some("Win.Test.EICAR_HDB-1.UNOFFICIAL")
    );
    assert_eq!(u(&e, "file_md5"), json!("44d88612fea8a8f36de82e1278abb02f"));
    assert_eq!(u(&e, "file_size"), json!(68));
    assert_eq!(e.time, ts("2026-11-29T01:47:57Z"));
    assert_eq!(e.time_status, TimeStatus::Inferred);
    assert_eq!(product(&e), (Some("Cisco Talos"), Some("ClamAV")));

    let e = parse(
        "clamav-syslog.log",
        "/tmp/scan/eicar.com: Win.Test.EICAR_HDB-1.UNOFFICIAL(",
    );
    assert_eq!(e.class, EventClass::DetectionFinding);
    assert_eq!(process(&e), (Some("clamd"), Some(21420)));

    let e = parse(
        "clamdscan.log",
        "/tmp/scan/eicar.com: Win.Test.EICAR_HDB-1.UNOFFICIAL FOUND",
    );
    assert_eq!(e.class, EventClass::DetectionFinding);
    assert_eq!(u(&e, "file_md5"), Value::Null);
}

#[test]
fn clamav_status_errors_and_summaries() {
    let e = parse("clamav.log", "SelfCheck: Database status OK.");
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(e.log_kind, LogKind::StatusMonitoring);
    assert_eq!(e.message.as_deref(), Some("SelfCheck: Database status OK."));

    let e = parse(
        "clamav.log",
        "WARNING: File path check failure on: /root/private.bin",
    );
    assert_eq!(e.severity, Some(Severity::Low));

    let e = parse(
        "clamdscan.log",
        "/root/private.bin: File path check failure: Permission denied. ERROR",
    );
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.file.as_deref(), Some("/root/private.bin"));
    assert_eq!(
        e.status_detail.as_deref(),
        Some("File path check failure: Permission denied.")
    );

    let e = parse("clamdscan.log", "Infected files: 2");
    assert_eq!(e.feature.as_deref(), Some("clamav:scan_summary"));
    assert_eq!(u(&e, "summary_value"), json!("2"));

    let e = parse("clamdscan.log", "/tmp/scan/empty.txt: Empty file");
    assert_eq!(u(&e, "scan_result"), json!("Empty file"));
}

#[test]
fn freshclam_updates() {
    let e = parse(
        "freshclam.log",
        "daily.cvd database is up-to-date (version: 27780",
    );
    assert_eq!(e.parser.as_deref(), Some("freshclam"));
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(e.log_kind, LogKind::StatusMonitoring);
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(e.feature.as_deref(), Some("freshclam:up_to_date"));
    assert_eq!(u(&e, "database"), json!("daily.cvd"));
    assert_eq!(u(&e, "database_version"), json!(27780));
    assert_eq!(u(&e, "signatures"), json!(2_076_928));
    assert_eq!(u(&e, "functionality_level"), json!(90));
    assert_eq!(u(&e, "builder"), json!("tomjudge"));

    let e = parse("freshclam.log", "daily.cvd updated (version: 27455");
    assert_eq!(e.feature.as_deref(), Some("freshclam:updated"));

    let e = parse("freshclam.log", "ERROR: Update failed.");
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(e.time, ts("2026-11-29T01:48:15Z"));

    let e = parse("freshclam-syslog.log", "Update failed for database: daily");
    assert_eq!(process(&e), (Some("freshclam"), Some(22556)));
}

// ---------------------------------------------------------------- properties

fn all_sample_lines() -> Vec<(Mode, String)> {
    SAMPLES
        .iter()
        .flat_map(|s| lines(s.file).into_iter().map(move |l| (s.mode, l)))
        .collect()
}

/// A real line with bytes inserted, removed or replaced, or cut short.
fn mutated(line: String) -> impl Strategy<Value = String> {
    let len = line.len().max(1);
    (0..len, 0..4u8, any::<char>(), 0..8usize).prop_map(move |(at, op, c, n)| {
        let mut s = line.clone();
        let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        match op {
            0 => s.insert(at, c),
            1 => {
                let end = (at + n).min(s.len());
                let end = (end..=s.len())
                    .find(|i| s.is_char_boundary(*i))
                    .unwrap_or(s.len());
                s.replace_range(at..end, "");
            }
            2 => s.truncate(at),
            _ => {
                let end = (at + 1..=s.len())
                    .find(|i| s.is_char_boundary(*i))
                    .unwrap_or(s.len());
                s.replace_range(at..end, &c.to_string());
            }
        }
        s
    })
}

/// Offers `text` to parser `id` (bound), also as that parser's programs would, and checks that
/// the event keeps its envelope.
fn check(registry: &Registry, id: &'static str, text: &str) {
    let (got, event) = run(registry, Mode::Bound(id), text);
    assert_eq!(event.raw, text);
    if let Some(got) = got {
        assert_eq!(event.parse, EventParse::Parsed);
        assert_eq!(event.parser.as_deref(), Some(got.as_str()));
    } else {
        assert_eq!(event.parse, EventParse::Unparsed);
    }
    // The same text as a syslog message with a program routed to this parser.
    let syslog_line = format!("<13>Nov 29 01:00:00 host {}[42]: {text}", program_for(id));
    let (_, event) = run(registry, Mode::Syslog, &syslog_line);
    assert_eq!(event.raw, syslog_line);
}

fn program_for(id: &str) -> &'static str {
    match id {
        "sshd" | "pam" => "sshd",
        "sudo" => "sudo",
        "su" => "su",
        "netfilter" => "kernel",
        "auditd" => "audisp-syslog",
        "nginx-access" | "nginx-error" => "nginx",
        "apache-access" | "apache-error" => "apache2",
        "postgresql" => "postgres",
        "mariadb-audit" => "mysql-server_auditing",
        "mysql-error" => "mysqld",
        "clamav" => "clamd",
        _ => "freshclam",
    }
}

fn lines_of(id: &str) -> Vec<String> {
    SAMPLES
        .iter()
        .filter(|s| s.ids.contains(&id))
        .flat_map(|s| {
            lines(s.file).into_iter().map(move |l| match s.mode {
                // The MSG part only, so that mutations hit the parser's own text.
                Mode::Syslog => parse_syslog(l.as_bytes(), &context()).message,
                _ => l,
            })
        })
        .collect()
}

macro_rules! robustness {
    ($name:ident, $id:literal) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
            #[test]
            fn $name(
                arbitrary in "\\PC{0,200}",
                noise in prop::collection::vec(any::<u8>(), 0..120),
                real in prop::sample::select(lines_of($id)).prop_flat_map(mutated),
            ) {
                let registry = registry();
                check(registry, $id, &arbitrary);
                check(registry, $id, &String::from_utf8_lossy(&noise));
                check(registry, $id, &real);
            }
        }
    };
}

robustness!(sshd_never_panics, "sshd");
robustness!(pam_never_panics, "pam");
robustness!(sudo_never_panics, "sudo");
robustness!(su_never_panics, "su");
robustness!(auditd_never_panics, "auditd");
robustness!(netfilter_never_panics, "netfilter");
robustness!(nginx_access_never_panics, "nginx-access");
robustness!(nginx_error_never_panics, "nginx-error");
robustness!(apache_access_never_panics, "apache-access");
robustness!(apache_error_never_panics, "apache-error");
robustness!(postgresql_never_panics, "postgresql");
robustness!(mariadb_audit_never_panics, "mariadb-audit");
robustness!(mysql_error_never_panics, "mysql-error");
robustness!(clamav_never_panics, "clamav");
robustness!(freshclam_never_panics, "freshclam");

proptest! {
    #[test]
    fn any_sample_line_mutated_keeps_its_raw_text(
        (mode, line) in prop::sample::select(all_sample_lines())
            .prop_flat_map(|(mode, line)| (Just(mode), mutated(line))),
    ) {
        let registry = registry();
        let (_, event) = run(registry, mode, &line);
        prop_assert_eq!(event.raw, line);
    }
}
