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

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::json;
use shieldwall_core::Severity;
use shieldwall_notify::email::{Attachment, Email, EmailTls, Mail};
use shieldwall_notify::syslog::Syslog;
use shieldwall_notify::webhook::{Webhook, signature};
use shieldwall_notify::{DeliveryError, Message};
use shieldwall_testkit::smtp;
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
    smtp::python("email channel")
}

/// A real SMTP server: with a certificate it requires STARTTLS and AUTH as alerts /
/// right-password.
fn smtp(
    python: &Path,
    dir: &Path,
    tls: Option<(&Path, &Path)>,
    size_limit: Option<usize>,
) -> smtp::Server {
    smtp::start(
        python,
        dir,
        smtp::Options {
            tls,
            login: tls.map(|_| ("alerts", "right-password")),
            size_limit,
            port: None,
        },
    )
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
    let server = smtp(&python, dir.path(), Some((&cert, &key)), None);

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
    // The subject as RFC 2047 encoded words, read back by Python's parser; no header line is
    // longer than RFC 5322 recommends.
    assert_eq!(facts["subject"], message().subject.as_str());
    assert!(head.contains("Subject: =?utf-8?B?"), "{head}");
    assert!(head.lines().all(|l| l.len() <= 78), "{head}");
    let b64 = base64::engine::general_purpose::STANDARD;
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
    let server = smtp(&python, dir.path(), None, None);
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

fn report_mail(pdf: &[u8]) -> Mail {
    Mail {
        delivery: "report-7".into(),
        subject: "Weekly report of acme — 2026-11-30".into(),
        text: "The weekly report of tenant acme is attached.\nÄ line with UTF-8.".into(),
        attachments: vec![
            Attachment {
                filename: "shieldwall-acme-weekly-2026-11-30.pdf".into(),
                content_type: "application/pdf",
                bytes: pdf.to_vec(),
            },
            Attachment {
                filename: "report \"quoted\"\r\nX-Injected: 1.html".into(),
                content_type: "text/html",
                bytes: b"<!doctype html><p>report</p>".to_vec(),
            },
        ],
    }
}

/// Bytes that look like nothing in particular, the same on every run.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_mail_carries_its_files_as_mime_parts_a_real_parser_reads_back() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let server = smtp(&python, dir.path(), Some((&cert, &key)), None);
    // Every byte value, with CR, LF and dots that would end the DATA early if not encoded.
    let mut pdf = b"%PDF-1.7\r\n.\r\n..\n".to_vec();
    pdf.extend(noise(300_000));
    email(server.port, &cert, "right-password")
        .deliver_mail(&report_mail(&pdf))
        .await
        .unwrap();
    let facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(server.out.join("1.json")).unwrap()).unwrap();
    assert_eq!(facts["defects"], json!([]), "Python's parser found defects");
    assert_eq!(facts["subject"], "Weekly report of acme — 2026-11-30");
    let parts = facts["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 3, "{parts:?}");
    assert_eq!(parts[0]["content_type"], "text/plain");
    assert_eq!(parts[0]["text"], report_mail(&pdf).text);
    assert_eq!(parts[1]["content_type"], "application/pdf");
    assert_eq!(
        parts[1]["filename"],
        "shieldwall-acme-weekly-2026-11-30.pdf"
    );
    assert_eq!(parts[1]["size"], pdf.len());
    let sha = |bytes: &[u8]| -> String {
        ring::digest::digest(&ring::digest::SHA256, bytes)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(parts[1]["sha256"], sha(&pdf));
    assert_eq!(parts[2]["content_type"], "text/html");
    // Quotes and line breaks in a file name cannot add a header.
    assert_eq!(parts[2]["filename"], "report__quoted___X-Injected__1.html");
    let raw = std::fs::read_to_string(server.out.join("1.eml")).unwrap();
    assert!(!raw.contains("\nX-Injected"), "a header was injected");
    assert!(raw.contains("X-Shieldwall-Delivery: report-7"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_over_the_servers_size_limit_is_not_sent() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate(dir.path());
    let server = smtp(&python, dir.path(), Some((&cert, &key)), Some(50_000));
    let refused = email(server.port, &cert, "right-password")
        .deliver_mail(&report_mail(&noise(60_000)))
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("accepts at most 50000"),
        "{refused}"
    );
    assert!(!refused.retryable, "a retry cannot make it fit: {refused}");
    assert!(!server.out.join("1.eml").exists());
    // One that fits goes.
    email(server.port, &cert, "right-password")
        .deliver_mail(&report_mail(&noise(20_000)))
        .await
        .unwrap();
    assert!(server.out.join("1.eml").exists());
}
