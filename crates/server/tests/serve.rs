//! The server as one process: sources, spool, pipeline and events on disk, started and stopped
//! in-process on 127.0.0.1, and the example configuration.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use shieldwall_core::{Event, EventParse, TenantId};
use shieldwall_server::{Server, config};
use shieldwall_store::{EventStore, Selection, TantivyStore};

/// The stored events of the default tenant, read as another process would (read-only), in
/// arrival order.
fn events(data: &Path) -> Vec<Event> {
    let Ok(store) = TantivyStore::open_read_only(&data.join("store")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    store
        .export(&TenantId::default_tenant(), &Selection::all(), &mut |e| {
            out.push(e);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    out.sort_by_key(|e| e.received);
    out
}

fn configuration(dir: &Path, extra: &str) -> config::ServeConfig {
    let text = format!(
        r#"
data_dir = "data"
[api]
listen = "127.0.0.1:0"
[auth]
password_cost = "test-only"
[pipeline]
idle_ms = 5
[health]
check_secs = 1
[[sources]]
type = "syslog-tcp"
name = "tcp"
listen = "127.0.0.1:0"
time_zone = "UTC"
[[sources.drop]]
message_regex = "^noise"
{extra}
"#
    );
    config::parse(&dir.join("shieldwall.toml"), &text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_over_tcp_become_events_and_a_restart_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(configuration(dir.path(), "")).await.unwrap();
    let addr = server.started().addresses[0].1;
    let lines: Vec<String> = (0..500)
        .map(|i| format!("<13>Nov 29 10:00:00 host app[{i}]: message {i}\n"))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        for line in &lines {
            stream.write_all(line.as_bytes()).unwrap();
        }
        stream
            .write_all(b"<13>Nov 29 10:00:00 host app: noise\n")
            .unwrap();
    })
    .await
    .unwrap();
    // Give the connection time to be read before stopping.
    let data = dir.path().join("data");
    for _ in 0..200 {
        if events(&data).len() >= 500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stats = server.shutdown().await.unwrap();
    assert_eq!(stats.dropped["tcp"], 1);
    let got = events(&data);
    assert_eq!(got.len(), 500);
    for (i, e) in got.iter().enumerate() {
        assert_eq!(e.message.as_deref(), Some(format!("message {i}").as_str()));
        assert_eq!(e.source, "tcp");
        assert_eq!(e.parse, EventParse::Unparsed);
    }
    let status: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("status.json")).unwrap()).unwrap();
    assert_eq!(status["sources"][0]["accepted"], 501);

    // A second start on the same data directory finds nothing pending and keeps the sequence.
    let again = Server::start(configuration(dir.path(), "")).await.unwrap();
    assert_eq!(again.started().recovery.pending, 0);
    again.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_source_becomes_a_status_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = configuration(dir.path(), "");
    config.sources[0].handling.expect_within = Some(Duration::from_millis(500));
    let server = Server::start(config).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.shutdown().await.unwrap();
    let got = events(&dir.path().join("data"));
    let silent: Vec<&Event> = got
        .iter()
        .filter(|e| e.activity.as_deref() == Some("source_silent"))
        .collect();
    assert_eq!(silent.len(), 1, "{got:#?}");
    assert_eq!(silent[0].target.as_deref(), Some("source:tcp"));
    assert_eq!(
        silent[0].log_kind,
        shieldwall_core::LogKind::StatusMonitoring
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(configuration(dir.path(), "")).await.unwrap();
    let second = Server::start(configuration(dir.path(), "")).await;
    let err = second.err().expect("refused").to_string();
    assert!(
        err.contains("in use by another Shieldwall process"),
        "{err}"
    );
    first.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_parser_binding_stops_the_start_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = configuration(dir.path(), "");
    config.sources[0].handling.parsers = vec!["no-such-parser".into()];
    let err = Server::start(config)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("no-such-parser"), "{err}");
}

fn status(data: &Path) -> serde_json::Value {
    std::fs::read_to_string(data.join("status.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn send_lines(addr: std::net::SocketAddr, from: usize, to: usize) {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        for i in from..to {
            stream
                .write_all(format!("<13>Nov 29 10:00:00 host app: message {i}\n").as_bytes())
                .unwrap();
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pause_file_holds_the_pipeline_back_until_it_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let pause = dir.path().join("pause");
    std::fs::write(&pause, "").unwrap();
    let mut config = configuration(dir.path(), "");
    config.pipeline.pause_file = Some(pause.clone());
    let server = Server::start(config.clone()).await.unwrap();
    let addr = server.started().addresses[0].1;
    send_lines(addr, 0, 100).await;
    // Spooled, but not processed while the file exists.
    wait_for("100 spooled records in status.json", || {
        let s = status(&data);
        s["spool_pending"] == 100 && s["pipeline_paused"] == true
    })
    .await;
    assert!(
        events(&data).is_empty(),
        "nothing is processed while paused"
    );

    std::fs::remove_file(&pause).unwrap();
    wait_for("the events after the pause file is removed", || {
        events(&data).len() == 100
    })
    .await;

    // A stop while paused keeps what is unprocessed in the spool for the next start.
    std::fs::write(&pause, "").unwrap();
    wait_for("the pause to show in status.json", || {
        status(&data)["pipeline_paused"] == true
    })
    .await;
    send_lines(addr, 100, 120).await;
    wait_for("20 more spooled records", || {
        status(&data)["spool_pending"] == 20
    })
    .await;
    server.shutdown().await.unwrap();
    assert_eq!(events(&data).len(), 100, "a paused stop does not drain");
    config.pipeline.pause_file = None;
    let again = Server::start(config).await.unwrap();
    assert_eq!(again.started().recovery.pending, 20);
    again.shutdown().await.unwrap();
    let got = events(&data);
    assert_eq!(got.len(), 120);
    assert_eq!(got[119].message.as_deref(), Some("message 119"));
}

#[test]
fn the_example_configuration_loads() {
    let path = shieldwall_testkit::workspace_root().join("examples/shieldwall.toml");
    let config = config::load(&path).unwrap();
    assert!(config.sources.len() >= 2);
    assert!(config.parsers.dirs[0].ends_with("examples/parsers"));
}

const SSH_FAILURES: &str = "title: SSH password failures
id: 3c1f7b2e-1111-4c2a-9e1d-000000000001
level: low
logsource:
    product: linux
    service: sshd
detection:
    keywords:
        - 'Failed password'
    condition: keywords
";

/// An sshd failed-password line from `ip` at second `second` (below 60) of 10:00.
fn ssh_failure(second: usize, ip: &str) -> String {
    format!(
        "<38>Nov 29 10:00:{second:02} web1 sshd[12{second}]: Failed password for root from {ip} port 5214{second} ssh2\n"
    )
}

/// The default tenant's rule directory under `dir`, created.
fn default_rules(dir: &Path) -> std::path::PathBuf {
    let rules = dir.join("rules/default");
    std::fs::create_dir_all(&rules).unwrap();
    rules
}

async fn send(addr: std::net::SocketAddr, lines: Vec<String>) {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        for line in &lines {
            stream.write_all(line.as_bytes()).unwrap();
        }
    })
    .await
    .unwrap();
}

/// The alerts of the default tenant, read from the MetaStore as another process would.
fn alerts(data: &Path) -> Vec<shieldwall_store::meta::StoredAlert> {
    use shieldwall_store::meta::{AlertFilter, MetaStore, SqliteMetaStore};
    let meta = SqliteMetaStore::open(data.join("meta.sqlite")).unwrap();
    meta.alerts(&AlertFilter {
        tenant: Some(TenantId::new("default").unwrap()),
        limit: 100,
        ..AlertFilter::default()
    })
    .unwrap()
}

fn matches(data: &Path, rule: &str) -> u64 {
    status(data)["detection"]["matches"]["default"][rule]
        .as_u64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_fire_on_the_ingest_stream_and_reload_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let rules = default_rules(dir.path());
    std::fs::write(rules.join("ssh.yml"), SSH_FAILURES).unwrap();
    std::fs::write(
        rules.join("broken.yml"),
        "title: Broken\nlogsource: {product: linux}\ndetection:\n  sel: {x|sometimes: y}\n  condition: sel\n",
    )
    .unwrap();
    let config = configuration(
        dir.path(),
        "[detection]\nrules_dir = \"rules\"\nreload_secs = 1\n",
    );
    let server = Server::start(config).await.unwrap();
    let addr = server.started().addresses[0].1;
    let data = dir.path().join("data");
    send(
        addr,
        vec![
            ssh_failure(1, "203.0.113.9"),
            ssh_failure(2, "203.0.113.9"),
            // The same words from another program are not sshd's.
            "<38>Nov 29 10:00:03 web1 app[9]: Failed password for nobody\n".into(),
        ],
    )
    .await;
    let rule = "3c1f7b2e-1111-4c2a-9e1d-000000000001";
    wait_for("two matches in status.json", || matches(&data, rule) == 2).await;
    let now = status(&data);
    assert_eq!(now["detection"]["rules"]["default"], 1);
    let errors = now["detection"]["rule_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{now}");
    let error = errors[0].as_str().unwrap();
    assert!(error.contains("broken.yml:4"), "{error}");
    assert!(error.contains("sometimes"), "{error}");

    // A changed rule is in service after the reload interval, without a restart.
    std::fs::write(
        rules.join("ssh.yml"),
        SSH_FAILURES
            .replace("000000000001", "000000000002")
            .replace("Failed password", "Accepted publickey"),
    )
    .unwrap();
    std::fs::remove_file(rules.join("broken.yml")).unwrap();
    let new_rule = "3c1f7b2e-1111-4c2a-9e1d-000000000002";
    wait_for("the changed rule and no errors", || {
        let s = status(&data);
        s["detection"]["rule_errors"]
            .as_array()
            .is_some_and(Vec::is_empty)
    })
    .await;
    send(
        addr,
        vec![
            ssh_failure(4, "203.0.113.9"),
            "<38>Nov 29 10:00:05 web1 sshd[130]: Accepted publickey for deploy from 198.51.100.4 port 40000 ssh2\n".into(),
        ],
    )
    .await;
    wait_for("the changed rule to fire", || matches(&data, new_rule) == 1).await;
    assert_eq!(matches(&data, rule), 2, "the old rule is out of service");
    // The two failures of the first rule are one alert with a count of two (same host, address
    // and user); the changed rule's match is another.
    let alerts = alerts(&data);
    let first: Vec<_> = alerts.iter().filter(|a| a.rule_id == rule).collect();
    assert_eq!(first.len(), 1, "{alerts:#?}");
    assert_eq!(first[0].count, 2);
    assert_eq!(first[0].events.len(), 2);
    assert_eq!(first[0].severity, shieldwall_core::Severity::Low);
    assert_eq!(alerts.iter().filter(|a| a.rule_id == new_rule).count(), 1);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlation_rules_fire_on_the_ingest_stream_and_flush_when_it_goes_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let rules = default_rules(dir.path());
    // The rules we ship: the base rule and the brute-force correlation over it.
    let shipped = shieldwall_testkit::workspace_root().join("rules");
    for file in ["base/sw_auth_failure.yml", "correlation/mr_brute_force.yml"] {
        std::fs::copy(shipped.join(file), rules.join(file.replace('/', "_"))).unwrap();
    }
    let config = configuration(
        dir.path(),
        "[detection]\nrules_dir = \"rules\"\nreload_secs = 1\nlateness_secs = 1\n",
    );
    let server = Server::start(config).await.unwrap();
    let addr = server.started().addresses[0].1;
    let data = dir.path().join("data");
    // Ten failures from one address, each pair swapped (one second out of order, within the
    // tolerance), then four from another.
    let mut lines: Vec<String> = (0..10).map(|i| ssh_failure(i ^ 1, "203.0.113.9")).collect();
    lines.extend((10..14).map(|i| ssh_failure(i, "198.51.100.4")));
    send(addr, lines).await;
    let hits = |data: &Path| {
        status(data)["detection"]["correlation_hits"]["default"]
            .as_object()
            .map(|m| {
                m.values()
                    .filter_map(serde_json::Value::as_u64)
                    .sum::<u64>()
            })
            .unwrap_or(0)
    };
    wait_for("the brute-force correlation to fire", || hits(&data) == 1).await;
    // The last second's events wait in the reorder buffer until the stream has been quiet for
    // the tolerance; then all four of the other address are in its window.
    wait_for("the quiet stream to be flushed", || {
        let state = &status(&data)["detection"]["correlation_state"]["default"];
        state["hits"] == 1 && state["pending"] == 0 && state["entries"] == 4
    })
    .await;
    let now = status(&data);
    assert_eq!(now["detection"]["correlation_rules"]["default"], 1, "{now}");
    let state = &now["detection"]["correlation_state"]["default"];
    assert_eq!(state["hits"], 1, "{now}");
    assert_eq!(
        state["groups"], 1,
        "the other address's group is held: {now}"
    );
    assert_eq!(state["late"], 0, "{now}");
    assert!(state["state_bytes"].as_u64().unwrap() > 0, "{now}");
    // One alert: the correlation's (the failed-logon rule it refers to does not alert alone),
    // crediting its author, with its events and the controls its techniques map to.
    let alerts = alerts(&data);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert.title, "Brute force against one host");
    assert_eq!(
        alert.source,
        shieldwall_store::meta::AlertSource::Correlation
    );
    assert_eq!(alert.author.as_deref(), Some("Shieldwall"));
    assert_eq!(alert.severity, shieldwall_core::Severity::Medium);
    assert_eq!(alert.events.len(), 10);
    assert_eq!(alert.group["src_endpoint.ip"], "203.0.113.9");
    assert!(alert.controls.contains(&"IAM-02".to_owned()), "{alert:?}");
    assert_eq!(now["detection"]["alerts"]["raised"], 1, "{now}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raised_alert_is_notified_by_a_signed_webhook_and_a_dead_channel_is_retried() {
    use shieldwall_store::meta::{DeliveryState, MetaStore, SqliteMetaStore};
    let dir = tempfile::tempdir().unwrap();
    let rules = default_rules(dir.path());
    std::fs::write(rules.join("ssh.yml"), SSH_FAILURES).unwrap();
    let (cert, key) = shieldwall_testkit::https::certificate(dir.path());
    let (port, received) = shieldwall_testkit::https::receiver(&cert, &key, 200).await;
    // A port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let secret = dir.path().join("webhook.key");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let channel = |name: &str, port: u16| {
        format!(
            "[[notify]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"https://127.0.0.1:{port}/hooks/shieldwall\"\nsecret_file = \"webhook.key\"\nca_file = \"cert.pem\"\nallow_private = true\ntimeout_secs = 2\n"
        )
    };
    let config = configuration(
        dir.path(),
        &format!(
            "[detection]\nrules_dir = \"rules\"\nreload_secs = 1\n{}{}",
            channel("soc", port),
            channel("dead", dead)
        ),
    );
    let server = Server::start(config).await.unwrap();
    let addr = server.started().addresses[0].1;
    let data = dir.path().join("data");
    send(addr, vec![ssh_failure(1, "203.0.113.9")]).await;
    wait_for("the webhook to receive the alert", || {
        !received.lock().unwrap().is_empty()
    })
    .await;
    let request = received.lock().unwrap()[0].clone();
    let timestamp: i64 = request.headers["x-shieldwall-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        request.headers["x-shieldwall-signature"],
        shieldwall_notify::webhook::signature(
            b"0123456789abcdef0123456789abcdef",
            timestamp,
            &request.body
        )
        .as_str()
    );
    let alert: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(alert["title"], "SSH password failures");
    assert_eq!(alert["tenant"], "default");

    // The dead channel's attempt failed and waits for its retry, recorded in the outbox.
    wait_for("the dead channel's first attempt", || {
        status(&data)["notifications"]["retried"]["dead"] == 1
    })
    .await;
    let meta = SqliteMetaStore::open(data.join("meta.sqlite")).unwrap();
    let pending = meta
        .notifications(None, Some(DeliveryState::Pending), 10)
        .unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].channel, "dead");
    assert_eq!(pending[0].attempts, 1);
    assert!(
        pending[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("connecting"),
        "{pending:?}"
    );
    let delivered = meta
        .notifications(None, Some(DeliveryState::Delivered), 10)
        .unwrap();
    assert_eq!(delivered.len(), 1);
    // status.json is rewritten every few seconds; it may not show the delivery yet.
    wait_for("status.json to count the delivery", || {
        status(&data)["notifications"]["delivered"]["soc"] == 1
    })
    .await;

    // A repeat merges into the open alert: no second notification.
    send(addr, vec![ssh_failure(2, "203.0.113.9")]).await;
    wait_for("the repeat to be merged", || {
        alerts(&data).first().is_some_and(|a| a.count == 2)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(received.lock().unwrap().len(), 1);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_with_a_response_action_runs_it_once_per_alert_and_records_the_result() {
    use shieldwall_store::meta::{MetaStore, SqliteMetaStore};
    let dir = tempfile::tempdir().unwrap();
    let rules = default_rules(dir.path());
    std::fs::write(rules.join("ssh.yml"), SSH_FAILURES).unwrap();
    std::fs::write(
        rules.join("alerting.toml"),
        "[[rule]]\nrule = \"3c1f7b2e-1111-4c2a-9e1d-000000000001\"\nresponse = \"record\"\n",
    )
    .unwrap();
    // The allow-listed command: records its arguments and says what it did.
    let script = dir.path().join("record.sh");
    let out = dir.path().join("blocked.txt");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\necho blocked \"$1\"\n",
            out.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let config = configuration(
        dir.path(),
        &format!(
            "[detection]\nrules_dir = \"rules\"\nreload_secs = 1\n[[response]]\nname = \"record\"\ncommand = \"{}\"\nargs = [\"{{src_endpoint.ip}}\", \"alert-{{alert}}\"]\nallow = \"ip\"\n",
            script.display()
        ),
    );
    let server = Server::start(config).await.unwrap();
    let addr = server.started().addresses[0].1;
    let data = dir.path().join("data");
    send(
        addr,
        vec![ssh_failure(1, "203.0.113.9"), ssh_failure(2, "203.0.113.9")],
    )
    .await;
    wait_for("the response to be recorded", || {
        let Some(alert) = alerts(&data).into_iter().next() else {
            return false;
        };
        let meta = SqliteMetaStore::open(data.join("meta.sqlite")).unwrap();
        meta.alert_history(&TenantId::new("default").unwrap(), alert.id)
            .unwrap()
            .iter()
            .any(|h| h.actor == "response:record")
    })
    .await;
    wait_for("the repeat to merge", || {
        alerts(&data).first().is_some_and(|a| a.count == 2)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let alert = alerts(&data).into_iter().next().unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("203.0.113.9 alert-{}\n", alert.id),
        "run once, for the raised alert, not for the merged repeat"
    );
    let meta = SqliteMetaStore::open(data.join("meta.sqlite")).unwrap();
    let history = meta
        .alert_history(&TenantId::new("default").unwrap(), alert.id)
        .unwrap();
    let response = history
        .iter()
        .find(|h| h.actor == "response:record")
        .unwrap();
    let detail = response.detail.as_deref().unwrap();
    assert!(
        detail.contains("exited with 0: blocked 203.0.113.9"),
        "{detail}"
    );
    server.shutdown().await.unwrap();
}
