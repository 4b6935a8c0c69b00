//! A real client over TLS on 127.0.0.1: curl signs in with a TOTP code (keeping the session in a
//! cookie jar), searches events, and closes an alert with the session's CSRF token; then uses an
//! API token. Needs curl (scripts/test-all installs it).
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::Centre;
use serde_json::{Value, json};
use shieldwall_core::{RecordId, Severity, TenantId};
use shieldwall_store::meta::{AlertSource, MetaStore, NewAlert};

fn curl(centre: &Centre, args: &[&str]) -> (u16, Value) {
    let mut command = Command::new("curl");
    command
        .arg("--silent")
        .arg("--show-error")
        .arg("--cacert")
        .arg(centre.cert())
        .arg("--write-out")
        .arg("\n%{http_code}")
        .args(args);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("curl is needed (scripts/test-all installs it): {e}"));
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    let value = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    };
    (status.parse().unwrap(), value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_signs_in_searches_and_closes_an_alert() {
    let centre = Centre::start("").await;
    let meta = centre.meta();
    let id = meta
        .raise_alerts(&[NewAlert {
            tenant: TenantId::new("acme").unwrap(),
            dedup_key: "k".to_owned(),
            dedup_window_secs: 60,
            source: AlertSource::Detection,
            rule_id: "ssh-brute-force".to_owned(),
            title: "SSH brute force".to_owned(),
            author: None,
            license: None,
            level: "high".to_owned(),
            severity: Severity::High,
            attack: Vec::new(),
            controls: Vec::new(),
            group: BTreeMap::new(),
            events: vec![RecordId::derive("test", &["k"])],
            count: 1,
            time: jiff::Timestamp::now(),
            raised_at: jiff::Timestamp::now(),
            notify: Vec::new(),
        }])
        .unwrap()[0]
        .id;
    let base = format!("https://127.0.0.1:{}", centre.port());
    let jar = centre.dir.path().join("cookies.txt");
    let jar = jar.to_str().unwrap();
    let login = json!({"name": "secadmin-a", "password": common::PASSWORD, "code": centre.code("secadmin-a")}).to_string();
    let (status, session) = curl(
        &centre,
        &[
            "--cookie-jar",
            jar,
            "-H",
            "content-type: application/json",
            "--data",
            &login,
            &format!("{base}/api/v1/login"),
        ],
    );
    assert_eq!(status, 200, "{session}");
    let csrf = session["csrf"].as_str().unwrap().to_owned();
    let jar_text = std::fs::read_to_string(jar).unwrap();
    assert!(
        jar_text.contains("#HttpOnly_127.0.0.1") && jar_text.contains("sw_session"),
        "{jar_text}"
    );

    let (status, found) = curl(
        &centre,
        &[
            "--cookie",
            jar,
            &format!("{base}/api/v1/tenants/acme/events?q=*&limit=10"),
        ],
    );
    assert_eq!(status, 200, "{found}");
    assert!(found["events"].is_array());

    let close = json!({"action": "close", "resolution": "blocked at the firewall"}).to_string();
    let path = format!("{base}/api/v1/tenants/acme/alerts/{id}/actions");
    // Without the CSRF token, the cookie alone changes nothing.
    let (status, _) = curl(
        &centre,
        &[
            "--cookie",
            jar,
            "-H",
            "content-type: application/json",
            "--data",
            &close,
            &path,
        ],
    );
    assert_eq!(status, 403);
    let header = format!("x-csrf-token: {csrf}");
    let (status, closed) = curl(
        &centre,
        &[
            "--cookie",
            jar,
            "-H",
            &header,
            "-H",
            "content-type: application/json",
            "--data",
            &close,
            &path,
        ],
    );
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["resolution"], "blocked at the firewall");

    // The same as an API client with a bearer token.
    let me = curl(&centre, &["--cookie", jar, &format!("{base}/api/v1/me")]).1;
    let binding = me["bindings"][0]["id"].as_u64().unwrap();
    let request = json!({"binding_id": binding, "name": "curl"}).to_string();
    let (status, created) = curl(
        &centre,
        &[
            "--cookie",
            jar,
            "-H",
            &header,
            "-H",
            "content-type: application/json",
            "--data",
            &request,
            &format!("{base}/api/v1/me/tokens"),
        ],
    );
    assert_eq!(status, 201, "{created}");
    let bearer = format!(
        "authorization: Bearer {}",
        created["token"].as_str().unwrap()
    );
    let (status, page) = curl(
        &centre,
        &[
            "-H",
            &bearer,
            &format!("{base}/api/v1/tenants/acme/alerts?state=closed"),
        ],
    );
    assert_eq!(status, 200);
    assert_eq!(page["items"][0]["id"], id);
    // Plain HTTP to the HTTPS port gets nowhere.
    let plain = Command::new("curl")
        .args([
            "--silent",
            "--max-time",
            "5",
            &format!("http://127.0.0.1:{}/health", centre.port()),
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("ok"));
    centre.stop().await;
}
