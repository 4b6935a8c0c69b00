//! The web console end to end, in Debian's Chromium driven by playwright-core
//! (`web/tests/console.e2e.mjs`; `scripts/test-all` installs both): a centre with events and
//! alerts this test made, an analyst who signs in with a TOTP code, reads the overview, searches
//! and filters, acknowledges an alert, and a common user who is held to the tenant and role the
//! API allows. The figures the views show must equal the API's answers, which must equal what
//! the test ingested; axe-core must find no serious or critical violation on any view; no page
//! may log an error or a Content-Security-Policy violation. Screenshots are left in
//! `target/console-screenshots/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Centre, PASSWORD};
use jiff::Timestamp;
use serde_json::Value;
use shieldwall_core::{RecordId, Scope, Severity, TenantId};
use shieldwall_store::MetaStore;
use shieldwall_store::meta::{AccountStore, AlertSource, NewAlert};
use shieldwall_testkit::workspace_root;

/// Failed SSH logins from one address: the top source.
const FAILED_LOGINS: usize = 30;
/// Accepted logins from another.
const ACCEPTED_LOGINS: usize = 12;
/// Lines no parser knows.
const OTHER_LINES: usize = 5;

/// What the browser test needs, or why it cannot run.
fn tools() -> Result<(PathBuf, PathBuf), String> {
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    if !chromium.exists() {
        return Err(format!(
            "{} is missing (apt-get install chromium)",
            chromium.display()
        ));
    }
    let web = workspace_root().join("web");
    if !web.join("node_modules/playwright-core").is_dir() {
        return Err("web/node_modules is missing (run scripts/build-web)".to_owned());
    }
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => Ok((chromium, web)),
        _ => Err("node is missing (apt-get install nodejs)".to_owned()),
    }
}

fn alert(key: &str, title: &str, severity: Severity, attack: &[&str]) -> NewAlert {
    NewAlert {
        tenant: TenantId::new("acme").unwrap(),
        dedup_key: key.to_owned(),
        dedup_window_secs: 60,
        source: AlertSource::Detection,
        rule_id: format!("rule-{key}"),
        title: title.to_owned(),
        author: Some("Test Author".to_owned()),
        license: Some("DRL-1.1".to_owned()),
        level: "high".to_owned(),
        severity,
        attack: attack.iter().map(|a| (*a).to_owned()).collect(),
        controls: vec!["IAM-02".to_owned()],
        group: BTreeMap::from([("src_endpoint.ip".to_owned(), "203.0.113.7".to_owned())]),
        events: vec![RecordId::derive("console-test", &[key])],
        count: 1,
        time: Timestamp::now(),
        raised_at: Timestamp::now(),
        notify: Vec::new(),
    }
}

fn ingest(centre: &Centre) {
    let addresses = centre.server.as_ref().unwrap().started().addresses.clone();
    let now = Timestamp::now();
    for (name, address) in &addresses {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let mut line = |text: String| writeln!(stream, "{text}").unwrap();
        if name == "acme-hosts" {
            for i in 0..FAILED_LOGINS {
                line(format!(
                    "<38>1 {now} web-1 sshd 4{i:03} - - Failed password for root from 203.0.113.7 port {} ssh2",
                    40000 + i
                ));
            }
            for i in 0..ACCEPTED_LOGINS {
                line(format!(
                    "<38>1 {now} web-2 sshd 5{i:03} - - Accepted publickey for deploy from 198.51.100.20 port {} ssh2: ED25519 SHA256:abc",
                    50000 + i
                ));
            }
            for i in 0..OTHER_LINES {
                line(format!("<13>1 {now} web-3 app - - - something else {i}"));
            }
        } else {
            for i in 0..7 {
                line(format!(
                    "<38>1 {now} beta-1 sshd 6{i:03} - - Failed password for admin from 192.0.2.99 port {} ssh2",
                    30000 + i
                ));
            }
        }
    }
}

/// Waits until the centre stored the acme events, and gives the ids of three failed logins.
async fn wait_for_events(centre: &Centre, expected: u64) -> Vec<RecordId> {
    let session = centre.login("secadmin-a").await;
    for _ in 0..200 {
        let found = centre
            .send(
                Some(&session),
                "GET",
                "/api/v1/tenants/acme/events/aggregate",
                None,
            )
            .await
            .json();
        if found["total"].as_u64() == Some(expected) {
            let page = centre
                .send(
                    Some(&session),
                    "GET",
                    "/api/v1/tenants/acme/events?q=Failed&limit=3",
                    None,
                )
                .await
                .json();
            let ids: Vec<RecordId> = page["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| serde_json::from_value(e["id"].clone()).unwrap())
                .collect();
            assert_eq!(ids.len(), 3, "{page}");
            // The browser signs in as the same account: its code must be of a later step, since
            // a code works once.
            let used = shieldwall_auth::totp::step_at(Timestamp::now());
            while shieldwall_auth::totp::step_at(Timestamp::now()) == used {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            return ids;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the centre did not store {expected} events of acme");
}

fn run_browser(
    centre: &Centre,
    web: &Path,
    chromium: &Path,
    artifacts: &Path,
    manifest: &Path,
) -> Value {
    let secret = |name: &str| centre.secrets[name].to_base32();
    let out = Command::new("node")
        .arg(web.join("tests/console.e2e.mjs"))
        .env(
            "CONSOLE_URL",
            format!("https://127.0.0.1:{}", centre.port()),
        )
        .env("CONSOLE_TENANT", "acme")
        .env("CONSOLE_OTHER_TENANT", "beta")
        .env("CONSOLE_ANALYST", "secadmin-a")
        .env("CONSOLE_ANALYST_SECRET", secret("secadmin-a"))
        .env("CONSOLE_USER", "user-a")
        .env("CONSOLE_USER_SECRET", secret("user-a"))
        .env("CONSOLE_SYSADMIN", "sysadmin-a")
        .env("CONSOLE_SYSADMIN_SECRET", secret("sysadmin-a"))
        .env("CONSOLE_AUDITOR", "auditor-a")
        .env("CONSOLE_AUDITOR_SECRET", secret("auditor-a"))
        .env("CONSOLE_PASSWORD", PASSWORD)
        .env("CONSOLE_ALERT_TITLE", "Brute force against root")
        .env("CONSOLE_QUERY", "sshd")
        .env("CONSOLE_FACET_FIELD", "src_endpoint.ip")
        .env("CONSOLE_ARTIFACTS", artifacts)
        .env("CONSOLE_MANIFEST", manifest)
        .env("CHROMIUM", chromium)
        // Its progress goes straight to the test's output.
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser driver failed:\n{stdout}\n{stderr}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("driver output ({e}):\n{stdout}\n{stderr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_what_the_api_answers_within_the_role() {
    let (chromium, web) = match tools() {
        Ok(found) => found,
        Err(why) => {
            shieldwall_testkit::skip_or_fail(
                &format!("console browser test skipped: {why}"),
                "scripts/test-all installs Debian's chromium and builds web/ (playwright-core, axe-core)",
            );
            return;
        }
    };
    // A scheduled report whose SMTP server is down (nothing listens on its port), so that the
    // Reports view has a schedule and a mailing waiting with its error to show.
    let closed_port = shieldwall_testkit::smtp::free_port();
    let centre = Centre::start(&format!(
        "[[notify]]\nname = \"soc-mail\"\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = {closed_port}\n\
         tls = \"none\"\nfrom = \"shieldwall@example.com\"\nto = [\"soc@example.com\"]\n\
         allow_private = true\nalerts = false\n\
         [[report]]\nname = \"acme-daily\"\ntenant = \"acme\"\nevery = \"daily\"\nchannels = [\"soc-mail\"]\n"
    ))
    .await;
    let mailer = centre.server.as_ref().unwrap().report_mailer().unwrap();
    let due = mailer.schedules()[0].next_due(mailer.started()).unwrap();
    let round = mailer
        .round(due.checked_add(jiff::SignedDuration::from_secs(1)).unwrap())
        .await;
    assert_eq!(round.retried, 1, "{round:?}");
    ingest(&centre);
    let total = (FAILED_LOGINS + ACCEPTED_LOGINS + OTHER_LINES) as u64;
    let failed_ids = wait_for_events(&centre, total).await;
    let meta = centre.meta();
    let raised = [
        (
            "brute",
            "Brute force against root",
            Severity::High,
            &["attack.t1110", "attack.credential-access"][..],
        ),
        (
            "spray",
            "Password spraying",
            Severity::High,
            &["attack.t1110.003"][..],
        ),
        (
            "valid",
            "Valid account from a new address",
            Severity::Critical,
            &["attack.t1078"][..],
        ),
        ("recon", "Account discovery", Severity::Medium, &[][..]),
    ];
    for (key, title, severity, attack) in raised {
        let mut raised = alert(key, title, severity, attack);
        if key == "brute" {
            raised.events = failed_ids.clone();
            raised.count = 3;
        }
        meta.raise_alerts(&[raised]).unwrap();
    }
    let mut beta = alert(
        "beta-only",
        "Alert of the other tenant",
        Severity::Critical,
        &[],
    );
    beta.tenant = TenantId::new("beta").unwrap();
    meta.raise_alerts(&[beta]).unwrap();

    let artifacts = workspace_root().join("target/console-screenshots");
    // The guideline's case study, as the tenant acme's manifest.
    let example =
        std::fs::read_to_string(workspace_root().join("examples/b2b-cloud.toml")).unwrap();
    assert!(example.contains("tenant = \"b2b-cloud\""));
    let manifest = centre.dir.path().join("acme-manifest.toml");
    std::fs::write(
        &manifest,
        example.replace("tenant = \"b2b-cloud\"", "tenant = \"acme\""),
    )
    .unwrap();
    let result = run_browser(&centre, &web, &chromium, &artifacts, &manifest);
    eprintln!(
        "console test result: {}",
        serde_json::to_string_pretty(&result).unwrap()
    );

    let problems = result["problems"].as_array().unwrap();
    assert!(problems.is_empty(), "problems on the pages: {problems:#?}");
    for (view, violations) in result["axe"].as_object().unwrap() {
        let grave: Vec<&Value> = violations
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
            .collect();
        assert!(grave.is_empty(), "axe-core on {view}: {grave:#?}");
    }
    assert!(
        result["axe"].as_object().unwrap().len() >= 12,
        "axe ran on every view"
    );

    // The overview: figures shown = the API's answer = what was ingested and raised.
    let overview = &result["views"]["overview"];
    let figures = &overview["figures"];
    let events = &overview["api_events"];
    let alerts = &overview["api_alerts"];
    assert_eq!(events["total"].as_u64(), Some(total), "{events}");
    assert_eq!(figures["events-total"], events["total"]);
    let mut kinds_sum = 0;
    for kind in events["kinds"].as_array().unwrap() {
        let name = format!("kind-{}", kind["kind"].as_str().unwrap());
        assert_eq!(figures[&name], kind["total"], "{name}");
        kinds_sum += kind["total"].as_u64().unwrap();
    }
    assert_eq!(kinds_sum, total, "every event has one log kind");
    assert_eq!(alerts["total"], 4, "{alerts}");
    assert_eq!(figures["alerts-total"], 4);
    for (severity, count) in [
        ("critical", 1),
        ("high", 2),
        ("medium", 1),
        ("low", 0),
        ("info", 0),
    ] {
        assert_eq!(alerts["by_severity"][severity], count, "{severity}");
        assert_eq!(
            figures[&format!("severity-{severity}")],
            count,
            "{severity}"
        );
    }
    assert_eq!(alerts["unhandled"], 4, "{alerts}");
    assert_eq!(figures["alerts-unhandled"], 4);
    let tops = &overview["tops"];
    assert_eq!(
        tops["sources"][0],
        serde_json::json!(["203.0.113.7", FAILED_LOGINS]),
        "{tops}"
    );
    assert_eq!(tops["sources"], to_pairs(&events["sources"]));
    assert_eq!(tops["targets"], to_pairs(&events["targets"]));
    // ATT&CK tags are shown as technique ids (`attack.t1110.003` as T1110.003) and tactics.
    let shown_tags: Vec<Value> = alerts["attack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let tag = a["value"].as_str().unwrap().trim_start_matches("attack.");
            let tag =
                if tag.starts_with('t') && tag.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
                    tag.to_uppercase()
                } else {
                    tag.to_owned()
                };
            serde_json::json!([tag, a["count"]])
        })
        .collect();
    assert_eq!(tops["attack"], Value::Array(shown_tags), "{tops}");
    assert_eq!(
        tops["attack"][0],
        serde_json::json!(["credential-access", 1]),
        "{tops}"
    );
    let policy = overview["headers"]["content-security-policy"]
        .as_str()
        .unwrap_or_default();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"),
        "{policy}"
    );
    assert_eq!(overview["headers"]["x-frame-options"], "DENY");
    // API answers carry the same policy; only report pages set their own.
    assert_eq!(
        overview["headers"]["api_csp"],
        overview["headers"]["content-security-policy"]
    );
    assert_eq!(overview["headers"]["api_frame"], "DENY");

    // Investigate: the shown totals equal the API's for the same query and period.
    let investigate = &result["views"]["investigate"];
    assert_eq!(
        investigate["total"], investigate["api_total"],
        "{investigate}"
    );
    assert_eq!(
        investigate["total"].as_u64(),
        Some((FAILED_LOGINS + ACCEPTED_LOGINS) as u64),
        "{investigate}"
    );
    assert_eq!(
        investigate["filtered_total"], investigate["api_filtered_total"],
        "{investigate}"
    );
    assert!(
        investigate["filtered_query"]
            .as_str()
            .unwrap()
            .contains("src_endpoint.ip:"),
        "{investigate}"
    );
    assert!(
        investigate["filtered_total"].as_u64().unwrap()
            < FAILED_LOGINS as u64 + ACCEPTED_LOGINS as u64
    );
    assert!(
        investigate["detail_raw"].as_str().unwrap().contains("sshd"),
        "{investigate}"
    );

    // Alerts: the acknowledgement reached the store, by the analyst.
    let acknowledged = &result["views"]["alerts"];
    assert_eq!(acknowledged["api_state"], "acknowledged", "{acknowledged}");
    assert_eq!(
        acknowledged["state_shown"], "acknowledged",
        "{acknowledged}"
    );
    let id: u64 = acknowledged["acknowledged"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let stored = meta
        .alert(&TenantId::new("acme").unwrap(), id)
        .unwrap()
        .unwrap();
    assert_eq!(stored.title, "Brute force against root");
    assert_eq!(acknowledged["matching_events"], 3, "{acknowledged}");
    assert_eq!(stored.state, shieldwall_core::AlertState::Acknowledged);

    // Compliance: the refusal names the problem, the grid and figures are the plan's.
    let compliance = &result["views"]["compliance"];
    assert_eq!(compliance["no_manifest_notice"], true, "{compliance}");
    assert!(
        compliance["refusal"]
            .as_str()
            .unwrap()
            .contains("manifest.toml"),
        "{compliance}"
    );
    let total = &compliance["api_total"];
    for (figure, field) in [
        ("controls-total", "controls"),
        ("controls-covered", "covered"),
        ("controls-partial", "partial"),
        ("controls-gap", "gap"),
        ("controls-inherited", "inherited"),
    ] {
        assert_eq!(compliance["figures"][figure], total[field], "{figure}");
    }
    assert!(total["controls"].as_u64().unwrap() > 100, "{total}");
    assert_eq!(compliance["figures"]["gaps-total"], compliance["api_gaps"]);
    assert_eq!(compliance["domain_rows"], compliance["api_domains"]);
    assert_eq!(
        compliance["gap_rows"].as_u64(),
        compliance["api_gaps"].as_u64().map(|g| g.clamp(1, 20))
    );
    assert_eq!(compliance["overview_coverage"], compliance["api_domains"]);
    let gap_controls = compliance["api_gap_controls"].as_u64().unwrap();
    assert!(
        compliance["gap_controls_shown"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{gap_controls} controls")),
        "{compliance}"
    );
    let grid = compliance["grid"].as_object().unwrap();
    let areas = compliance["api_first_workload"]["areas"]
        .as_array()
        .unwrap();
    assert!(!areas.is_empty());
    for area in areas {
        let name = area["area"].as_str().unwrap();
        let cell = |party: &str| {
            grid[&format!("{name}|{party}")]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (csp, customer) = match area["owner"].as_str().unwrap() {
            "csp" => ("Owns", ""),
            "customer" => ("", "Owns"),
            _ => ("Shares", "Shares"),
        };
        assert_eq!(
            (cell("csp").as_str(), cell("customer").as_str()),
            (csp, customer),
            "{name}"
        );
        for transfer in area["transfers"].as_array().unwrap() {
            let party = transfer["to"].as_str().unwrap();
            assert!(cell(party).starts_with("Runs "), "{name} {party}");
        }
    }
    let stored = std::fs::read_to_string(centre.data().join("tenants/acme/manifest.toml")).unwrap();
    assert!(stored.contains("tenant = \"acme\""));

    // Reports: the schedule and its waiting mailing, as the API answers them.
    let reports = &result["views"]["reports"];
    let api = &reports["api_schedules"]["schedules"][0];
    assert_eq!(
        reports["schedule_rows"],
        serde_json::json!([[
            "acme-daily",
            "daily at 06:00 UTC",
            "overview, alerts, attacks, compliance",
            "PDF, HTML",
            "soc-mail",
            api["next_due"].as_str().unwrap().replace('T', " ")
        ]]),
        "{reports}"
    );
    let mailing = &reports["mailing_rows"][0];
    assert_eq!(mailing[0], due.to_string().replace('T', " "), "{mailing}");
    assert_eq!(mailing[1], "acme-daily");
    assert_eq!(mailing[3], "pending, to be retried");
    assert_eq!(mailing[4], "1");
    assert_eq!(mailing[5], api["mailings"][0]["last_error"], "{mailing}");
    assert!(
        mailing[5].as_str().unwrap().contains("127.0.0.1"),
        "{mailing}"
    );

    // Reports: the HTML and the PDF show the same figures and rows, which are the true ones.
    assert_eq!(
        reports["html_type"], "text/html; charset=utf-8",
        "{reports}"
    );
    let policy = reports["html_csp"].as_str().unwrap();
    assert!(
        policy.starts_with("default-src 'none'") && !policy.contains("script"),
        "{policy}"
    );
    assert_eq!(reports["pdf_type"], "application/pdf");
    assert!(
        reports["pdf_disposition"]
            .as_str()
            .unwrap()
            .starts_with("attachment; filename=\"shieldwall-acme-")
    );
    let html = std::fs::read_to_string(reports["html_path"].as_str().unwrap()).unwrap();
    let figures = html_figures(&html);
    let figure = |label: &str| {
        figures
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no figure {label:?} in {figures:?}"))
    };
    assert_eq!(
        figure("Events"),
        (FAILED_LOGINS + ACCEPTED_LOGINS + OTHER_LINES).to_string()
    );
    assert_eq!(figure("Alerts raised"), "4");
    assert_eq!(figure("High alerts"), "2");
    assert_eq!(figure("Critical alerts"), "1");
    assert_eq!(figure("Acknowledged now"), "1");
    assert_eq!(
        figure("Controls"),
        compliance["api_total"]["controls"].to_string()
    );
    let pdf = Path::new(reports["pdf_path"].as_str().unwrap());
    let words = pdf_words(pdf);
    for (label, value) in &figures {
        let first = label.split(' ').next().unwrap();
        let paired = words.iter().any(|(text, x, y)| {
            text == value
                && words.iter().any(|(t, lx, ly)| {
                    t == first && (lx - x).abs() < 1.0 && (8.0..20.0).contains(&(ly - y))
                })
        });
        assert!(paired, "the PDF does not show {value} over {label:?}");
    }
    let layout = pdftotext(pdf, &["-layout"]);
    for row in html_rows(&html, "Rules that raised the most alerts") {
        let line = layout.lines().find(|l| l.contains(&row[0]));
        let line = line.unwrap_or_else(|| panic!("no PDF line for {row:?}"));
        let mut rest = line;
        for cell in &row {
            let at = rest
                .find(cell.as_str())
                .unwrap_or_else(|| panic!("{cell:?} not in order in {line:?}"));
            rest = &rest[at + cell.len()..];
        }
    }
    assert_eq!(
        html_rows(&html, "Rules that raised the most alerts").len(),
        4
    );
    for word in [
        "Overview",
        "Alerts",
        "Attacks",
        "Compliance",
        "CCM coverage by domain",
        "page 1 of",
    ] {
        assert!(layout.contains(word), "{word:?} missing from the PDF");
    }

    // Administration by role: the audit trail for the audit administrator only.
    let security = result["views"]["admin_security"]["sections"].to_string();
    assert!(
        security.contains("Sources of acme") && security.contains("rule files"),
        "{security}"
    );
    assert!(
        !security.contains("Audit") && !security.contains("Accounts"),
        "{security}"
    );
    let sysadmin = &result["views"]["sysadmin"];
    // The new account is listed at once, beside its enrolment.
    assert!(
        sysadmin["listed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|name| name == "new-analyst"),
        "{sysadmin}"
    );
    let sections = sysadmin["sections"].to_string();
    assert!(
        sections.contains("Accounts in acme") && !sections.contains("Audit"),
        "{sections}"
    );
    assert!(
        sysadmin["enrolment"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/"),
        "{sysadmin}"
    );
    let acme = Scope::Tenant(TenantId::new("acme").unwrap());
    let made = centre.meta().accounts(Some(&acme), 0, 100).unwrap();
    assert!(
        made.iter().any(|a| a.name == "new-analyst"),
        "the account was not made"
    );
    let auditor = &result["views"]["auditor"];
    assert_eq!(
        auditor["sections"],
        serde_json::json!(["Audit trail of acme"]),
        "{auditor}"
    );
    let records = auditor["records"].as_array().unwrap();
    assert!(
        records
            .iter()
            .any(|r| r[2] == "change" && r[3] == "secadmin-a" && r[5] == "manifest put_manifest"),
        "the manifest upload is in the trail: {records:?}"
    );
    assert!(
        !records
            .iter()
            .any(|r| (r[3] == "auditor-a" || r[3] == "sysadmin-a") && r[6] == "denied"),
        "the console asked for what an administrator may not read: {records:?}"
    );

    // Wall mode: no navigation, the same figures.
    let wall = &result["views"]["wall"];
    assert_eq!(wall["has_nav"], false);
    assert_eq!(wall["figures"]["events-total"], events["total"]);

    // The common user: only acme, the API refuses beta, administration and closing.
    let user = &result["views"]["user"];
    assert_eq!(
        user["tenant_options"],
        serde_json::json!(["acme"]),
        "{user}"
    );
    assert!(user["title"].as_str().unwrap().contains("acme"), "{user}");
    assert_eq!(user["other_tenant_api"], 403, "{user}");
    assert_eq!(user["admin_api"], 403, "{user}");
    assert!(
        user["close_notice"].as_str().unwrap().contains("1 refused"),
        "{user}"
    );
    assert!(
        user["upload_notice"]
            .as_str()
            .unwrap()
            .contains("may not change"),
        "{user}"
    );
    assert!(
        !user["nav"].to_string().contains("Administration"),
        "{user}"
    );
    // The user's console asked only for what it was asked to do: the refusals in the trail are
    // the close and the upload the test tried, none from the views themselves.
    let denied: Vec<String> = centre
        .audit("acme", Some(shieldwall_store::meta::AuditKind::Denied))
        .iter()
        .filter(|r| r["actor"] == "user-a")
        .map(|r| r["object"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        denied
            .iter()
            .all(|o| o.ends_with("/actions") || o.ends_with("/manifest")),
        "{denied:?}"
    );
    assert_eq!(user["admin_sections"], 0, "{user}");
    // The user's own token: shown once, acting as the user in acme only, until revoked.
    let token = &user["token"];
    assert_eq!(token["shown"], true, "{token}");
    assert_eq!(token["own_tenant"], 200, "{token}");
    assert_eq!(token["other_tenant"], 403, "{token}");
    assert_eq!(token["after_revoke"], 401, "{token}");
    let row = &token["rows"][0];
    assert_eq!(row[0], "my-script", "{token}");
    assert_eq!(row[2], "user in acme", "{token}");
    let stored = {
        use shieldwall_store::meta::AccountStore;
        centre
            .meta()
            .api_tokens(Some(centre.accounts["user-a"]), None, 0, 10)
            .unwrap()
    };
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].revoked_at.is_some(), "{stored:?}");
    let lifetime = stored[0].expires_at.as_second() - stored[0].created_at.as_second();
    assert_eq!(lifetime, 7 * 86_400, "the days asked for");
    assert!(
        user["admin_notice"]
            .as_str()
            .unwrap()
            .contains("no administration"),
        "{user}"
    );
    let still = meta
        .alert(&TenantId::new("acme").unwrap(), id)
        .unwrap()
        .unwrap();
    assert_eq!(
        still.state,
        shieldwall_core::AlertState::Acknowledged,
        "the user's close was refused"
    );

    let shots = result["screenshots"].as_array().unwrap();
    assert!(shots.len() >= 6, "{shots:?}");
    for shot in shots {
        let size = std::fs::metadata(shot.as_str().unwrap()).unwrap().len();
        assert!(size > 10_000, "{shot} is {size} bytes");
    }
    centre.stop().await;
}

/// `[{value, count}]` as the `[value, count]` rows a table shows.
fn to_pairs(list: &Value) -> Value {
    Value::Array(
        list.as_array()
            .unwrap()
            .iter()
            .map(|v| serde_json::json!([v["value"], v["count"]]))
            .collect(),
    )
}

/// The report page's figures, as (label, value) in order.
fn html_figures(html: &str) -> Vec<(String, String)> {
    html.split("<div class=\"figure\"><b>")
        .skip(1)
        .filter_map(|part| {
            let (value, rest) = part.split_once("</b>")?;
            let (label, _) = rest.split_once("</div>")?;
            Some((unescape(label), value.to_owned()))
        })
        .collect()
}

/// The rows of the report table with this caption, cells unescaped.
fn html_rows(html: &str, caption: &str) -> Vec<Vec<String>> {
    let Some((_, table)) = html.split_once(&format!("<caption>{caption}</caption>")) else {
        return Vec::new();
    };
    let body = table.split_once("</tbody>").map_or(table, |(b, _)| b);
    body.split("<tr>")
        .skip(2)
        .map(|row| {
            row.split("<td>")
                .skip(1)
                .map(|cell| unescape(cell.split_once("</td>").map_or(cell, |(c, _)| c)))
                .collect()
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn pdftotext(pdf: &Path, args: &[&str]) -> String {
    let out = Command::new("pdftotext")
        .args(args)
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils, installed by scripts/test-all)");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every word of the PDF with the left and top of its box, from `pdftotext -bbox`.
fn pdf_words(pdf: &Path) -> Vec<(String, f64, f64)> {
    let text = pdftotext(pdf, &["-bbox"]);
    let attribute = |tag: &str, name: &str| -> f64 {
        tag.split_once(&format!("{name}=\""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .and_then(|(v, _)| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    text.split("<word ")
        .skip(1)
        .filter_map(|part| {
            let (tag, rest) = part.split_once('>')?;
            let (word, _) = rest.split_once("</word>")?;
            Some((
                unescape(word),
                attribute(tag, "xMin"),
                attribute(tag, "yMin"),
            ))
        })
        .collect()
}
