//! Scheduled reports end to end: a centre with two `[[report]]` schedules and an e-mail channel
//! to a real SMTP server (aiosmtpd, STARTTLS and AUTH required). The test drives the mailer's
//! rounds at chosen times: nothing before the first due time after the start; at it, one
//! mailing per schedule, retried while the server is down and delivered once it is up, with the
//! PDF and HTML attached (read back by Python's email parser and pdftotext); never twice for one
//! due time; after missed days, the latest one only. The figures in the mail are the true counts
//! of what the test ingested, each tenant's own; the reports are in the tenants' audit trails,
//! and the API lists each tenant's schedules to it alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::Centre;
use jiff::{Timestamp, ToSpan};
use serde_json::Value;
use shieldwall_core::TenantId;
use shieldwall_server::report_mailer::RoundOutcome;
use shieldwall_store::meta::{AuditKind, DeliveryState, ReportOutbox};
use shieldwall_store::{EventStore, Selection, TantivyStore};
use shieldwall_testkit::smtp;

const ACME_EVENTS: u64 = 15;
const BETA_EVENTS: u64 = 4;

fn ingest(centre: &Centre) {
    let addresses = centre.server.as_ref().unwrap().started().addresses.clone();
    let now = Timestamp::now();
    for (name, address) in &addresses {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let count = if name == "acme-hosts" {
            ACME_EVENTS
        } else {
            BETA_EVENTS
        };
        for i in 0..count {
            writeln!(
                stream,
                "<38>1 {now} {name} sshd 5{i:03} - - Accepted publickey for deploy from 198.51.100.20 port {} ssh2: ED25519 SHA256:abc",
                50000 + i
            )
            .unwrap();
        }
    }
}

/// Waits until both tenants' events are stored (read from the store beside the server).
async fn wait_for_events(centre: &Centre) {
    let (acme, beta) = (
        TenantId::new("acme").unwrap(),
        TenantId::new("beta").unwrap(),
    );
    let mut counts = (0, 0);
    for _ in 0..200 {
        let store = TantivyStore::open_read_only(&centre.data().join("store")).unwrap();
        counts = (
            store.count(&acme, &Selection::all()).unwrap(),
            store.count(&beta, &Selection::all()).unwrap(),
        );
        if counts == (ACME_EVENTS, BETA_EVENTS) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("events stored (acme, beta): {counts:?}");
}

fn mails(out: &Path) -> Vec<Value> {
    let mut found = Vec::new();
    for n in 1.. {
        let Ok(text) = std::fs::read_to_string(out.join(format!("{n}.json"))) else {
            break;
        };
        found.push(serde_json::from_str(&text).unwrap());
    }
    found
}

fn part<'a>(mail: &'a Value, content_type: &str) -> &'a Value {
    mail["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["content_type"] == content_type)
        .unwrap_or_else(|| panic!("no {content_type} part in {mail}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_reports_are_mailed_once_per_due_time_with_their_files() {
    let Some(python) = smtp::python("scheduled reports") else {
        return;
    };
    let mail_dir = tempfile::tempdir().unwrap();
    let (cert, key) = shieldwall_testkit::https::certificate(mail_dir.path());
    let password = mail_dir.path().join("smtp-password");
    std::fs::write(&password, "right-password\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let port = smtp::free_port();
    let extra = format!(
        r#"
[[notify]]
name = "soc-mail"
kind = "email"
host = "127.0.0.1"
port = {port}
from = "shieldwall@example.com"
to = ["soc@example.com"]
username = "reports"
password_file = "{password}"
ca_file = "{cert}"
allow_private = true
alerts = false

[[report]]
name = "acme-daily"
tenant = "acme"
every = "daily"
at = "06:00"
channels = ["soc-mail"]

[[report]]
name = "beta-daily"
tenant = "beta"
every = "daily"
sections = ["overview"]
formats = ["html"]
channels = ["soc-mail"]
"#,
        password = password.display(),
        cert = cert.display(),
    );
    let centre = Centre::start(&extra).await;
    let mailer = centre
        .server
        .as_ref()
        .unwrap()
        .report_mailer()
        .unwrap()
        .clone();
    let meta = centre.meta();
    let acme = TenantId::new("acme").unwrap();

    // Before the first due time after the start, nothing is queued.
    assert_eq!(
        mailer.round(mailer.started()).await,
        RoundOutcome::default()
    );
    ingest(&centre);
    wait_for_events(&centre).await;

    // At the first due time the SMTP server is down: queued, tried, to be retried.
    let first_due = mailer.schedules()[0].next_due(mailer.started()).unwrap();
    let at = |offset: jiff::Span| first_due.checked_add(offset).unwrap();
    let round = mailer.round(at(1.second())).await;
    assert_eq!(
        round,
        RoundOutcome {
            queued: 2,
            retried: 2,
            ..RoundOutcome::default()
        }
    );
    let pending = meta.report_deliveries(Some(&acme), 10).unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].state, DeliveryState::Pending);
    assert_eq!(pending[0].due_at, first_due);
    assert!(
        pending[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("127.0.0.1")),
        "{pending:?}"
    );
    // Not retried before its backoff (10 s).
    assert_eq!(mailer.round(at(5.seconds())).await, RoundOutcome::default());

    // The server comes up: both reports go, once.
    let server = smtp::start(
        &python,
        mail_dir.path(),
        smtp::Options {
            tls: Some((&cert, &key)),
            login: Some(("reports", "right-password")),
            size_limit: None,
            port: Some(port),
        },
    );
    // Its retry is due 10 s after the failed attempt ended.
    let round = mailer.round(at(30.seconds())).await;
    assert_eq!(
        round,
        RoundOutcome {
            delivered: 2,
            ..RoundOutcome::default()
        }
    );
    assert_eq!(
        mailer.round(at(1.hour())).await,
        RoundOutcome::default(),
        "a due time is mailed once"
    );
    let sent = mails(&server.out);
    assert_eq!(sent.len(), 2);
    let day = first_due.strftime("%Y%m%d-%H%M").to_string();
    for mail in &sent {
        assert_eq!(mail["tls"], true);
        assert_eq!(mail["authenticated"], true);
        assert_eq!(mail["defects"], serde_json::json!([]));
    }
    let (acme_mail, beta_mail) = if sent[0]["subject"].as_str().unwrap().contains("of acme") {
        (&sent[0], &sent[1])
    } else {
        (&sent[1], &sent[0])
    };
    let subject = acme_mail["subject"].as_str().unwrap();
    assert!(
        subject.contains("daily report of acme (acme-daily)"),
        "{subject}"
    );
    let text = part(acme_mail, "text/plain")["text"].as_str().unwrap();
    assert!(
        text.contains(&format!("  Events: {ACME_EVENTS}\n")),
        "{text}"
    );
    assert!(text.contains("  Alerts raised: 0\n"), "{text}");
    let pdf = part(acme_mail, "application/pdf");
    let pdf_name = format!("shieldwall-acme-acme-daily-{day}.pdf");
    assert_eq!(pdf["filename"], pdf_name.as_str());
    let html = part(acme_mail, "text/html");
    assert_eq!(
        html["filename"],
        format!("shieldwall-acme-acme-daily-{day}.html").as_str()
    );
    // The attachments are the report: pdftotext reads its title and period back.
    let pdf_path = server.out.join(format!(
        "{}-{pdf_name}",
        if std::ptr::eq(acme_mail, &sent[0]) {
            1
        } else {
            2
        }
    ));
    let pdftotext = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf_path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils; the README test command installs it)");
    assert!(pdftotext.status.success());
    let pdf_text = String::from_utf8_lossy(&pdftotext.stdout);
    let period_start = first_due.checked_sub(24.hours()).unwrap();
    for expected in [
        "Security report: acme".to_owned(),
        format!(
            "({} to {}, UTC)",
            period_start.strftime("%Y-%m-%d %H:%M"),
            first_due.strftime("%Y-%m-%d %H:%M")
        ),
        "Compliance".to_owned(),
    ] {
        assert!(pdf_text.contains(&expected), "{expected:?} in {pdf_text}");
    }
    // Beta's report is beta's alone, as its schedule asks: HTML only, the overview only.
    let beta_text = part(beta_mail, "text/plain")["text"].as_str().unwrap();
    assert!(
        beta_text.contains(&format!("  Events: {BETA_EVENTS}\n")),
        "{beta_text}"
    );
    assert_eq!(beta_mail["parts"].as_array().unwrap().len(), 2);
    assert_eq!(part(beta_mail, "text/html")["content_type"], "text/html");

    // Two days missed: only the latest is caught up.
    let round = mailer.round(at(49.hours())).await;
    assert_eq!(
        round,
        RoundOutcome {
            queued: 2,
            delivered: 2,
            ..RoundOutcome::default()
        }
    );
    let dues: Vec<Timestamp> = meta
        .report_deliveries(Some(&acme), 10)
        .unwrap()
        .iter()
        .map(|d| d.due_at)
        .collect();
    assert_eq!(dues, [at(48.hours()), first_due]);

    // Each report made is in its tenant's trail, made by its schedule.
    let trail = centre.audit("acme", Some(AuditKind::Search));
    let made: Vec<&Value> = trail
        .iter()
        .filter(|r| r["actor"] == "schedule:acme-daily")
        .collect();
    assert_eq!(made.len(), 3, "two attempts at the first, one at the third");
    assert!(made.iter().all(|r| r["outcome"] == "success"), "{made:?}");
    assert!(
        !centre
            .audit("beta", Some(AuditKind::Search))
            .iter()
            .any(|r| r["actor"] == "schedule:acme-daily")
    );

    // The API lists a tenant's schedules to it, with their mailings.
    let session = centre.login("user-a").await;
    let listed = centre
        .send(
            Some(&session),
            "GET",
            "/api/v1/tenants/acme/reports/schedules",
            None,
        )
        .await;
    assert_eq!(listed.status, 200);
    let listed = listed.json();
    let schedules = listed["schedules"].as_array().unwrap();
    assert_eq!(schedules.len(), 1, "{listed}");
    assert_eq!(schedules[0]["name"], "acme-daily");
    assert_eq!(schedules[0]["schedule"], "daily at 06:00 UTC");
    assert_eq!(schedules[0]["formats"], serde_json::json!(["pdf", "html"]));
    let mailings = schedules[0]["mailings"].as_array().unwrap();
    assert_eq!(mailings.len(), 2);
    assert_eq!(mailings[1]["state"], "delivered");
    assert_eq!(mailings[1]["attempts"], 2);
    let beta = centre
        .send(
            Some(&session),
            "GET",
            "/api/v1/tenants/beta/reports/schedules",
            None,
        )
        .await;
    assert_eq!(beta.status, 403, "user-a is not bound in beta");
    drop(server);
    centre.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_of_a_tenant_that_does_not_exist_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let text = "data_dir = \"data\"\n[api]\nlisten = \"127.0.0.1:0\"\n\
        [[notify]]\nname = \"soc-mail\"\nkind = \"email\"\nhost = \"127.0.0.1\"\n\
        from = \"a@example.com\"\nto = [\"b@example.com\"]\nallow_private = true\n\
        [[report]]\nname = \"typo\"\ntenant = \"acmee\"\nevery = \"daily\"\nchannels = [\"soc-mail\"]\n";
    let config =
        shieldwall_server::config::parse(&dir.path().join("shieldwall.toml"), text).unwrap();
    let refused = shieldwall_server::run::Server::start(config)
        .await
        .err()
        .expect("a report of an unknown tenant was accepted");
    assert!(
        refused.to_string().contains("there is no tenant \"acmee\""),
        "{refused}"
    );
}
