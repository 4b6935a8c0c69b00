//! Baseline checks through the API: a tenant's jobs, policies uploaded (checked first, never
//! passing for a shipped one), runs started now and their log, and the system setting that
//! decides whether an uploaded policy's command rules run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::{Duration, Instant};

use common::{Centre, Session};
use serde_json::{Value, json};

/// The job's own policy: one file check, so the scheduled run at start is quick.
const JOB_POLICY: &str = r#"
policy:
  id: "job_policy"
  file: "job.yml"
  name: "Job policy"
  description: "One file check."
checks:
  - id: 1
    name: "passwd has root"
    condition: all
    rules:
      - 'f:/etc/passwd -> r:^root:'
"#;

/// The upload: a command check and a file check.
const UPLOAD: &str = r#"
policy:
  id: "probe_policy"
  file: "probe.yml"
  name: "Probe policy"
  description: "A command rule and a file rule."
checks:
  - id: 1
    name: "echo answers"
    condition: all
    rules:
      - 'c:echo shieldwall-probe -> r:^shieldwall-probe$'
  - id: 2
    name: "passwd has root"
    compliance:
      ccm_v4: ["IAM-01"]
    condition: all
    rules:
      - 'f:/etc/passwd -> r:^root:'
"#;

/// Job `host` on the local host, taking uploads, and job `locked`, which does not.
fn job(policy_dir: &std::path::Path) -> String {
    let path = policy_dir.join("job.yml");
    std::fs::write(&path, JOB_POLICY).unwrap();
    format!(
        "[[baseline]]\nname = \"host\"\ntenant = \"acme\"\npolicy = \"{}\"\ntarget = \"local\"\n\
         every_secs = 3600\napi_policies = true\n\
         [[baseline]]\nname = \"locked\"\ntenant = \"acme\"\npolicy = \"bind\"\n\
         target = \"local\"\nevery_secs = 3600\n",
        path.display()
    )
}

fn audit_actions(centre: &Centre) -> Vec<(String, String)> {
    centre
        .audit("acme", None)
        .iter()
        .map(|v| {
            (
                v["action"].as_str().unwrap_or("").to_owned(),
                v["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Waits until run `id` of acme has finished; returns it.
async fn finished(centre: &Centre, session: &Session, id: Option<u64>) -> Value {
    let started = Instant::now();
    loop {
        let runs = centre
            .send(
                Some(session),
                "GET",
                "/api/v1/tenants/acme/baseline/runs",
                None,
            )
            .await;
        assert_eq!(runs.status, 200);
        let runs = runs.json();
        let run = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| id.is_none_or(|id| r["id"] == id) && (id.is_some() || r["job"] == "host"))
            .cloned();
        if let Some(run) = run.filter(|r| r["state"] != "running") {
            return run;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "run {id:?} did not finish: {runs}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn upload(centre: &Centre, session: &Session, name: &str, yaml: &str) -> (u16, Value) {
    let answer = centre
        .send(
            Some(session),
            "PUT",
            &format!("/api/v1/tenants/acme/baseline/policies/{name}"),
            Some(&json!({ "yaml": yaml })),
        )
        .await;
    (answer.status, answer.json())
}

async fn run_probe(centre: &Centre, admin: &Session) -> Value {
    let started = centre
        .send(
            Some(admin),
            "POST",
            "/api/v1/tenants/acme/baseline/runs",
            Some(&json!({"job": "host", "policy": "probe"})),
        )
        .await;
    assert_eq!(started.status, 202, "{}", started.json());
    let started = started.json();
    assert_eq!(started["origin"], "uploaded");
    assert_eq!(started["requested_by"], "secadmin-a");
    assert_eq!(started["policy"], "probe_policy");
    finished(centre, admin, started["id"].as_u64()).await
}

async fn finding_status(centre: &Centre, session: &Session, check: &str) -> String {
    let findings = centre
        .send(
            Some(session),
            "GET",
            "/api/v1/tenants/acme/findings?limit=100",
            None,
        )
        .await
        .json();
    findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["finding"]["check_id"] == check)
        .map(|f| f["finding"]["status"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no finding for {check}: {findings}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_policies_run_on_the_tenants_jobs_without_commands_by_default() {
    let policies = tempfile::tempdir().unwrap();
    let centre = Centre::start(&job(policies.path())).await;
    let admin = centre.login("secadmin-a").await;
    let user = centre.login("user-a").await;

    // The job, and its scheduled run at start.
    let jobs = centre
        .send(
            Some(&user),
            "GET",
            "/api/v1/tenants/acme/baseline/jobs",
            None,
        )
        .await
        .json();
    assert_eq!(jobs[0]["name"], "host");
    assert_eq!(jobs[0]["target"], "local");
    assert_eq!(jobs[0]["policy"], "job_policy");
    assert_eq!(jobs[0]["api_policies"], true);
    assert_eq!(jobs[1]["api_policies"], false);
    let scheduled = finished(&centre, &user, None).await;
    assert_eq!(scheduled["requested_by"], "schedule");
    assert_eq!(scheduled["origin"], "configured");
    assert_eq!(scheduled["pass"], 1, "{scheduled}");

    // Checked before it is written: line and reason; no shipped name or id.
    let (status, problem) = upload(&centre, &admin, "probe", "checks:\n  - id: [\n").await;
    assert_eq!(status, 400);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("probe.yml") && detail.contains("line"),
        "{detail}"
    );
    // Neither a shipped policy's file name nor its id, nor a name that is no name.
    for name in ["linux_host", "shieldwall_linux_host", "Bad_Name", "a.yml"] {
        let (status, problem) = upload(&centre, &admin, name, UPLOAD).await;
        assert_eq!(status, 400, "{name}: {problem}");
    }
    // Nor the id of a configured job's policy.
    let (status, problem) = upload(
        &centre,
        &admin,
        "probe",
        &UPLOAD.replace("probe_policy", "job_policy"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"].as_str().unwrap().contains("job host"),
        "{problem}"
    );
    let (status, problem) = upload(
        &centre,
        &admin,
        "probe",
        &UPLOAD.replace("probe_policy", "shieldwall_linux_host"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(problem["detail"].as_str().unwrap().contains("shipped"));
    let (status, _) = upload(&centre, &admin, "../escape", UPLOAD).await;
    assert!(status == 400 || status == 404, "{status}");

    let (status, view) = upload(&centre, &admin, "probe", UPLOAD).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["id"], "probe_policy");
    assert_eq!(view["checks"], 2);
    assert_eq!(view["command_checks"], 1);
    assert!(
        view["commands_disabled"]
            .as_str()
            .unwrap()
            .contains("uploaded_command_rules"),
        "{view}"
    );
    let listed = centre
        .send(
            Some(&user),
            "GET",
            "/api/v1/tenants/acme/baseline/policies",
            None,
        )
        .await
        .json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"probe") && names.contains(&"linux_host"),
        "{names:?}"
    );

    // Its command check is not applicable, with the reason; its file check runs.
    let run = run_probe(&centre, &admin).await;
    assert_eq!(run["state"], "done", "{run}");
    assert_eq!(run["pass"], 1, "{run}");
    assert_eq!(run["not_applicable"], 1, "{run}");
    assert!(
        run["commands_disabled"]
            .as_str()
            .unwrap()
            .contains("uploaded_command_rules")
    );
    assert_eq!(
        finding_status(&centre, &user, "probe_policy/1").await,
        "not_applicable"
    );
    assert_eq!(
        finding_status(&centre, &user, "probe_policy/2").await,
        "pass"
    );

    // Only the tenant's own jobs, policies that exist, and uploads only where the job takes
    // them.
    for (request, status) in [
        (json!({"job": "nope"}), 404),
        (json!({"job": "host", "policy": "nope"}), 404),
        (json!({"job": "host", "target": "/"}), 400),
        (json!({"job": "locked", "policy": "probe"}), 409),
    ] {
        let answer = centre
            .send(
                Some(&admin),
                "POST",
                "/api/v1/tenants/acme/baseline/runs",
                Some(&request),
            )
            .await;
        assert_eq!(answer.status, status, "{request}: {}", answer.json());
    }
    // A shipped policy runs on the job's target as its own would.
    let shipped = centre
        .send(
            Some(&admin),
            "POST",
            "/api/v1/tenants/acme/baseline/runs",
            Some(&json!({"job": "host", "policy": "bind"})),
        )
        .await;
    assert_eq!(shipped.status, 202);
    assert_eq!(shipped.json()["origin"], "shipped");
    let shipped = finished(&centre, &admin, shipped.json()["id"].as_u64()).await;
    assert_eq!(shipped["state"], "done", "{shipped}");
    assert!(shipped["commands_disabled"].is_null(), "{shipped}");

    // Uploads give findings, never evidence: the passing check tags IAM-01, yet no evidence
    // names it.
    let evidence = centre
        .send(Some(&user), "GET", "/api/v1/tenants/acme/evidence", None)
        .await
        .json();
    assert!(
        evidence
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["controls"].to_string().contains("IAM-01")),
        "{evidence}"
    );

    // Removed, it is gone from the list and from runs.
    let removed = centre
        .send(
            Some(&admin),
            "DELETE",
            "/api/v1/tenants/acme/baseline/policies/probe",
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    let again = centre
        .send(
            Some(&admin),
            "POST",
            "/api/v1/tenants/acme/baseline/runs",
            Some(&json!({"job": "host", "policy": "probe"})),
        )
        .await;
    assert_eq!(again.status, 404);

    // Every upload, removal, start and refusal is in the tenant's trail.
    let actions = audit_actions(&centre);
    for (action, outcome) in [
        ("put_baseline_policy", "success"),
        ("delete_baseline_policy", "success"),
        ("start_baseline_run", "success"),
        ("start_baseline_run", "failure"),
    ] {
        assert!(
            actions.iter().any(|(a, o)| a == action && o == outcome),
            "no {action} {outcome} in {actions:?}"
        );
    }
    centre.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_setting_lets_uploaded_command_rules_run() {
    let policies = tempfile::tempdir().unwrap();
    let centre =
        Centre::start_with_api("uploaded_command_rules = true", &job(policies.path())).await;
    let admin = centre.login("secadmin-a").await;
    finished(&centre, &admin, None).await;
    let (status, view) = upload(&centre, &admin, "probe", UPLOAD).await;
    assert_eq!(status, 200, "{view}");
    assert!(view["commands_disabled"].is_null(), "{view}");
    let run = run_probe(&centre, &admin).await;
    assert_eq!(run["pass"], 2, "{run}");
    assert!(run["commands_disabled"].is_null(), "{run}");
    assert_eq!(
        finding_status(&centre, &admin, "probe_policy/1").await,
        "pass"
    );
    centre.stop().await;
}
