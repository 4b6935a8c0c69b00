//! Each channel against a real server on 127.0.0.1: an HTTPS webhook receiver (hyper over
//! rustls, checking the signature the way a receiver would), aiosmtpd requiring STARTTLS and
//! AUTH (from PyPI, installed by the README's test command), and a syslog-over-TLS collector.
//! Each also fails the way it should: loopback refused unless allowed, an untrusted certificate,
//! a server without STARTTLS, a wrong password, an error answer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::json;
use shieldwall_core::Severity;
use shieldwall_notify::email::{Email, EmailTls};
use shieldwall_notify::syslog::Syslog;
use shieldwall_notify::webhook::{Webhook, signature};
use shieldwall_notify::{DeliveryError, Message};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

const SECRET: &[u8] = b"a-test-secret-of-32-bytes-length";

fn message() -> Message {
    Message {
        delivery: 42,
        severity: Severity::High,
        subject: "[high] Brute force against one host (tenant acme) — ünïcode".into(),
        alert: json!({"id": 7, "title": "Brute force against one host", "tenant": "acme"}),
        text: "Alert 7: Brute force against one host\nsrc_endpoint.ip: 203.0.113.9\n.\n..leading dots\n".into(),
    }
}

use shieldwall_testkit::https::{acceptor, certificate, receiver};

fn webhook(port: u16, ca: Option<&Path>, allow_private: bool) -> Webhook {
    Webhook::new(
        &format!("https://127.0.0.1:{port}/hooks/shieldwall?x=1"),
        SECRET.to_vec(),
        ca,
        allow_private,
        false,
        Duration::from_secs(5),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_https_posts_and_refusals_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let (port, seen) = receiver(&cert, &key, 204).await;

    webhook(port, Some(&cert), true)
        .deliver(&message())
        .await
        .unwrap();
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/hooks/shieldwall?x=1");
    let (headers, body) = (&requests[0].headers, &requests[0].body);
    // What a receiver checks: the signature over the timestamp and the body, with the secret.
    let timestamp: i64 = headers["x-shieldwall-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((jiff::Timestamp::now().as_second() - timestamp).abs() < 60);
    assert_eq!(
        headers["x-shieldwall-signature"],
        signature(SECRET, timestamp, body).as_str()
    );
    assert_eq!(headers["x-shieldwall-delivery"], "42");
    assert_eq!(headers["content-type"], "application/json");
    let alert: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(alert, message().alert);

    // Loopback is refused unless the channel allows it, before any connection.
    let refused = webhook(port, Some(&cert), false)
        .deliver(&message())
        .await
        .unwrap_err();
    assert!(
        !refused.retryable && refused.message.contains("allow_private"),
        "{refused}"
    );
    // A certificate the channel does not trust fails the TLS handshake (and may be retried).
    let untrusted = webhook(port, None, true)
        .deliver(&message())
        .await
        .unwrap_err();
    assert!(
        untrusted.retryable && untrusted.message.contains("TLS"),
        "{untrusted}"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "nothing more reached the receiver"
    );

    // An error answer is a failed attempt, quoting the receiver.
    let (bad_port, _) = receiver(&cert, &key, 500).await;
    let failed = webhook(bad_port, Some(&cert), true)
        .deliver(&message())
        .await
        .unwrap_err();
    assert!(failed.retryable, "{failed}");
    assert!(
        failed.message.contains("500") && failed.message.contains("receiver says no"),
        "{failed}"
    );
    assert!(
        !failed.message.contains("/hooks"),
        "the path (often a token) is not quoted: {failed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_over_tls_sends_one_octet_counted_rfc5424_message() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = acceptor(&cert, &key);
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.unwrap();
        let mut all = Vec::new();
        tls.read_to_end(&mut all).await.unwrap();
        all
    });
    let channel = Syslog::new(
        "127.0.0.1".into(),
        port,
        Some(&cert),
        true,
        Duration::from_secs(5),
    )
    .unwrap();
    channel.deliver(&message()).await.unwrap();
    let received = String::from_utf8(server.await.unwrap()).unwrap();
    let (length, text) = received.split_once(' ').unwrap();
    assert_eq!(
        length.parse::<usize>().unwrap(),
        text.len(),
        "octet count: {received}"
    );
    // Facility 10 (security), severity 3 (error) for a high alert.
    assert!(text.starts_with("<83>1 "), "{text}");
    assert!(
        text.contains(" shieldwall - alert [shieldwall@32473 delivery=\"42\"] {"),
        "{text}"
    );
    assert!(text.ends_with(&message().alert.to_string()), "{text}");

    let refused = Syslog::new(
        "127.0.0.1".into(),
        port,
        Some(&cert),
        false,
        Duration::from_secs(5),
    )
    .unwrap()
    .deliver(&message())
    .await
    .unwrap_err();
    assert!(!refused.retryable, "{refused}");
}

/// aiosmtpd, from the project's virtualenv (or SHIELDWALL_TEST_PYTHON).
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("SHIELDWALL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| shieldwall_testkit::workspace_root().join(".venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        shieldwall_testkit::skip_or_fail(
            &format!(
                "email channel: SKIPPED: {} cannot import aiosmtpd. Install it with `python3 -m venv .venv && .venv/bin/pip install -r tools/test/requirements.txt` (the README test command does this).",
                python.display()
            ),
            "the e-mail channel must be tested against a real SMTP server",
        );
        return None;
    }
    Some(python)
}

struct Smtp {
    child: Child,
    port: u16,
    out: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp(python: &Path, dir: &Path, tls: Option<(&Path, &Path)>) -> Smtp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = dir.join(format!("mail-{port}"));
    std::fs::create_dir_all(&out).unwrap();
    let script = shieldwall_testkit::workspace_root().join("tools/test/smtp_server.py");
    let mut command = Command::new(python);
    command
        .arg(script)
        .args(["--port", &port.to_string(), "--out", out.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Some((cert, key)) = tls {
        command.args([
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ]);
        command.args(["--user", "alerts", "--password", "right-password"]);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the SMTP server did not start");
    Smtp { child, port, out }
}

fn email(port: u16, ca: &Path, password: &str) -> Email {
    Email::new(
        "127.0.0.1".into(),
        Some(port),
        EmailTls::Starttls,
        "shieldwall@example.com".into(),
        vec!["soc@example.com".into(), "oncall@example.com".into()],
        Some(("alerts".into(), password.into())),
        Some(ca),
        true,
        Duration::from_secs(10),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_over_starttls_with_auth_to_a_real_smtp_server() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let server = smtp(&python, dir.path(), Some((&cert, &key)));

    email(server.port, &cert, "right-password")
        .deliver(&message())
        .await
        .unwrap();
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(server.out.join("1.json")).unwrap()).unwrap();
    assert_eq!(facts["tls"], true, "STARTTLS before the mail");
    assert_eq!(facts["authenticated"], true);
    assert_eq!(facts["mail_from"], "shieldwall@example.com");
    assert_eq!(
        facts["rcpt_tos"],
        json!(["soc@example.com", "oncall@example.com"])
    );
    let mail = std::fs::read_to_string(server.out.join("1.eml")).unwrap();
    let (head, body) = mail.split_once("\r\n\r\n").unwrap();
    let subject = head
        .lines()
        .find_map(|l| l.strip_prefix("Subject: =?utf-8?B?"))
        .and_then(|s| s.strip_suffix("?="))
        .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(
        String::from_utf8(b64.decode(subject).unwrap()).unwrap(),
        message().subject
    );
    assert!(head.contains("X-Shieldwall-Delivery: 42"), "{head}");
    let text: String = body.lines().collect();
    assert_eq!(
        String::from_utf8(b64.decode(text).unwrap()).unwrap(),
        message().text
    );

    // A wrong password is refused by the server, and reported.
    let refused = email(server.port, &cert, "wrong")
        .deliver(&message())
        .await
        .unwrap_err();
    assert!(refused.message.contains("535"), "{refused}");
    assert!(
        !refused.message.contains("wrong"),
        "the password is never quoted: {refused}"
    );
    assert!(!server.out.join("2.eml").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_is_not_sent_in_clear_to_a_server_without_starttls() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = certificate(dir.path());
    let server = smtp(&python, dir.path(), None);
    let refused: DeliveryError = email(server.port, &cert, "x")
        .deliver(&message())
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("does not offer STARTTLS"),
        "{refused}"
    );
    assert!(
        std::fs::read_dir(&server.out).unwrap().next().is_none(),
        "nothing was sent"
    );
}
