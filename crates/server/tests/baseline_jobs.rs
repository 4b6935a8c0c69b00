//! Scheduled baseline checks in server mode: a `[[baseline]]` job runs at start, its findings
//! are listed through the API per tenant, and the controls it observed as met are recorded as
//! the `baseline` module's evidence.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, Instant};

use common::Centre;
use shieldwall_server::config;
use shieldwall_store::meta::RecordStore;

fn sample(which: &str) -> String {
    shieldwall_testkit::workspace_root()
        .join("policies/baseline/samples/linux_host")
        .join(which)
        .canonicalize()
        .unwrap()
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_stores_findings_and_evidence_that_the_api_lists() {
    let extra = format!(
        "[[baseline]]\nname = \"web-image\"\ntenant = \"acme\"\npolicy = \"linux_host\"\n\
         target = \"root:{}\"\nworkload = \"web\"\nevery_secs = 3600\n",
        sample("bad")
    );
    let centre = Centre::start(&extra).await;
    let user = centre.login("user-a").await;

    // The job's first run is at start; the weak-password search takes a few seconds.
    let started = Instant::now();
    let findings = loop {
        let answer = centre
            .send(
                Some(&user),
                "GET",
                "/api/v1/tenants/acme/findings?limit=500",
                None,
            )
            .await;
        assert_eq!(answer.status, 200);
        let list = answer.json().as_array().unwrap().clone();
        if list.len() >= 61 {
            break list;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {} findings",
            list.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(findings.len(), 61, "one finding per check of linux_host");
    let status = |check: &str| {
        findings
            .iter()
            .find(|f| f["finding"]["check_id"] == format!("shieldwall_linux_host/{check}"))
            .map(|f| f["finding"]["status"].as_str().unwrap().to_owned())
    };
    // The bad sample: root may log in over ssh, and accounts have common passwords.
    assert_eq!(status("11000").as_deref(), Some("fail"));
    assert_eq!(status("11021").as_deref(), Some("fail"));
    assert!(findings.iter().all(|f| {
        f["finding"]["module"] == "baseline"
            && f["finding"]["target"]
                .as_str()
                .unwrap()
                .starts_with("root:")
    }));

    // They are the job's tenant's only.
    let beta = shieldwall_core::TenantId::new("beta").unwrap();
    assert!(
        centre
            .meta()
            .findings(&beta, None, None, None, 10)
            .unwrap()
            .is_empty()
    );

    // Evidence for the controls the run observed as met, from the module, for the workload.
    let evidence = centre
        .send(Some(&user), "GET", "/api/v1/tenants/acme/evidence", None)
        .await
        .json();
    let from_module: Vec<_> = evidence
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"]["module"] == "baseline")
        .collect();
    assert_eq!(from_module.len(), 1, "{evidence}");
    assert_eq!(from_module[0]["workload"], "web");
    assert!(!from_module[0]["controls"].as_array().unwrap().is_empty());
    centre.stop().await;
}

#[test]
fn jobs_are_checked_when_the_configuration_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shieldwall.toml");
    let parse = |jobs: &str| config::parse(&path, &format!("data_dir = \"data\"\n{jobs}"));
    let ok =
        parse("[[baseline]]\nname = \"a\"\ntenant = \"acme\"\npolicy = \"linux_host\"\n").unwrap();
    assert_eq!(ok.baseline[0].target, "local");
    assert_eq!(ok.baseline[0].every_secs, 86_400);

    let too_often =
        parse("\n[[baseline]]\nname = \"a\"\ntenant = \"acme\"\npolicy = \"x\"\nevery_secs = 5\n")
            .unwrap_err();
    assert_eq!(too_often.line, 3);
    assert!(too_often.message.contains("at least 60"), "{too_often}");
    let twice = parse(
        "[[baseline]]\nname = \"a\"\ntenant = \"acme\"\npolicy = \"x\"\n[[baseline]]\nname = \"a\"\ntenant = \"acme\"\npolicy = \"x\"\n",
    )
    .unwrap_err();
    assert!(twice.message.contains("declared twice"), "{twice}");
    let unknown = parse(
        "[[baseline]]\nname = \"a\"\ntenant = \"acme\"\npolicy = \"x\"\nschedule = \"daily\"\n",
    )
    .unwrap_err();
    assert!(unknown.message.contains("schedule"), "{unknown}");
    let bad_tenant =
        parse("[[baseline]]\nname = \"a\"\ntenant = \"Not A Tenant\"\npolicy = \"x\"\n")
            .unwrap_err();
    assert!(
        bad_tenant.message.contains("baseline job `a`"),
        "{bad_tenant}"
    );
}

#[test]
fn a_job_whose_policy_or_target_is_wrong_does_not_start() {
    let job = |policy: &str, target: &str| shieldwall_server::baseline::BaselineJob {
        name: "j".to_owned(),
        tenant: "acme".to_owned(),
        policy: policy.to_owned(),
        target: target.to_owned(),
        chroot: false,
        vars: Default::default(),
        every_secs: 3600,
        workload: None,
        command_timeout_secs: 30,
        password_budget_secs: 30,
        api_policies: false,
        ssh_key: None,
        known_hosts: None,
    };
    let base = std::path::Path::new(".");
    let error =
        shieldwall_server::baseline::prepare(&[job("no-such-policy", "local")], base).unwrap_err();
    assert!(
        error.contains("neither a file nor a shipped policy"),
        "{error}"
    );
    let error =
        shieldwall_server::baseline::prepare(&[job("linux_host", "root:/no/such/dir")], base)
            .unwrap_err();
    assert!(error.contains("target root /no/such/dir"), "{error}");
    assert!(shieldwall_server::baseline::prepare(&[job("linux_host", "local")], base).is_ok());
}

/// Copies a sample tree (or a part of it) over `dest`, replacing what is there.
fn copy_tree(from: &std::path::Path, dest: &std::path::Path) {
    if dest.exists() {
        std::fs::remove_dir_all(dest).unwrap();
    }
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(dest)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_check_that_newly_fails_raises_one_alert_and_notifies() {
    use shieldwall_store::meta::{AlertFilter, AlertSource, MetaStore, SqliteMetaStore};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let good = std::path::PathBuf::from(sample("good"));
    let bad = std::path::PathBuf::from(sample("bad"));
    copy_tree(&good, &root);
    let job = shieldwall_server::baseline::BaselineJob {
        name: "web-image".to_owned(),
        tenant: "acme".to_owned(),
        policy: "linux_host".to_owned(),
        target: format!("root:{}", root.display()),
        chroot: false,
        vars: Default::default(),
        every_secs: 3600,
        workload: None,
        command_timeout_secs: 30,
        // The weak-password check stays undecided (an error), which never alerts.
        password_budget_secs: 1,
        api_policies: false,
        ssh_key: None,
        known_hosts: None,
    };
    let jobs = shieldwall_server::baseline::prepare(&[job], dir.path()).unwrap();
    let meta = SqliteMetaStore::open(dir.path().join("meta.sqlite")).unwrap();
    std::fs::write(dir.path().join("hook.key"), "k3y-for-the-test\n").unwrap();
    std::fs::set_permissions(
        dir.path().join("hook.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let settings: shieldwall_notify::ChannelSettings = toml::from_str(
        "name = \"soc-hook\"\nkind = \"webhook\"\nurl = \"https://127.0.0.1:9/hook\"\n\
         secret_file = \"hook.key\"\ntenants = [\"acme\"]\n",
    )
    .unwrap();
    let channels = shieldwall_server::notifier::Channels::build(&[settings], dir.path()).unwrap();
    let run = || shieldwall_server::baseline::run_once(&jobs[0], &meta, &channels).unwrap();
    let acme = shieldwall_core::TenantId::new("acme").unwrap();
    let alerts = || {
        meta.alerts(&AlertFilter {
            tenant: Some(acme.clone()),
            limit: 1000,
            ..AlertFilter::default()
        })
        .unwrap()
    };
    let latest = || {
        meta.latest_findings(
            &acme,
            "baseline",
            &format!("root:{}", root.display()),
            "shieldwall_linux_host/",
            1000,
        )
        .unwrap()
    };
    let status_of = |check: &str| {
        latest()
            .into_iter()
            .find(|f| f.finding.check_id == format!("shieldwall_linux_host/{check}"))
            .map(|f| f.finding.status)
    };

    // The first run is the baseline: whatever fails there is not news.
    let first = run();
    assert_eq!(first.alerts, 0);
    assert!(alerts().is_empty());
    assert_eq!(
        status_of("11000"),
        Some(shieldwall_core::FindingStatus::Pass)
    );
    let passed_before: Vec<String> = latest()
        .into_iter()
        .filter(|f| f.finding.status == shieldwall_core::FindingStatus::Pass)
        .map(|f| f.finding.check_id)
        .collect();

    // Someone loosens the SSH daemon: the SSH checks that passed now fail, each one alert.
    copy_tree(&bad.join("etc/ssh"), &root.join("etc/ssh"));
    std::thread::sleep(std::time::Duration::from_millis(5));
    let second = run();
    let raised = alerts();
    assert_eq!(second.alerts, raised.len());
    let rules: Vec<&str> = raised.iter().map(|a| a.rule_id.as_str()).collect();
    for check in ["11000", "11001", "11002"] {
        assert!(
            rules.contains(&format!("shieldwall_linux_host/{check}").as_str()),
            "no alert for {check}: {rules:?}"
        );
    }
    for alert in &raised {
        assert_eq!(alert.source, AlertSource::Baseline);
        assert!(
            passed_before.contains(&alert.rule_id),
            "{} alerted but did not pass before",
            alert.rule_id
        );
        assert_eq!(
            status_of(alert.rule_id.trim_start_matches("shieldwall_linux_host/")),
            Some(shieldwall_core::FindingStatus::Fail)
        );
        assert_eq!(alert.group["target"], format!("root:{}", root.display()));
        assert!(alert.title.starts_with("Baseline check newly fails: "));
        assert!(!alert.controls.is_empty(), "{}: no CCM ids", alert.rule_id);
        assert_eq!(alert.count, 1);
    }
    let queued = meta.notifications(Some(&acme), None, 1000).unwrap();
    assert_eq!(queued.len(), raised.len(), "one notification per alert");
    assert!(queued.iter().all(|n| n.channel == "soc-hook"));

    // Still failing: nothing new.
    let third = run();
    assert_eq!(third.alerts, 0);
    assert_eq!(alerts().len(), raised.len());

    // Fixed, then broken again while the alerts are open: the repeats count on them.
    copy_tree(&good.join("etc/ssh"), &root.join("etc/ssh"));
    assert_eq!(run().alerts, 0);
    copy_tree(&bad.join("etc/ssh"), &root.join("etc/ssh"));
    let again = run();
    assert_eq!(again.alerts, raised.len());
    let merged = alerts();
    assert_eq!(merged.len(), raised.len(), "a repeat raised a second alert");
    assert!(merged.iter().all(|a| a.count == 2), "{merged:?}");
    assert_eq!(
        meta.notifications(Some(&acme), None, 1000).unwrap().len(),
        raised.len(),
        "a repeat notified again"
    );
}
