//! The API over TLS on 127.0.0.1: sign-in with its second factor, replay and backoff; CSRF;
//! API tokens scoped to one binding; tenants kept apart by id as well as by path; searches,
//! alert handling and audit reads recorded; separation of duties; metrics; the OpenAPI document.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use common::Centre;
use jiff::Timestamp;
use serde_json::{Value, json};
use shieldwall_core::{RecordId, Severity, TenantId};
use shieldwall_store::meta::{AlertSource, AuditKind, MetaStore, NewAlert};

fn audit(centre: &Centre, chain: &str, kind: AuditKind) -> Vec<Value> {
    centre.audit(chain, Some(kind))
}

fn alert(tenant: &str, key: &str) -> NewAlert {
    NewAlert {
        tenant: TenantId::new(tenant).unwrap(),
        dedup_key: key.to_owned(),
        dedup_window_secs: 60,
        source: AlertSource::Detection,
        rule_id: format!("rule-{key}"),
        title: format!("alert of {tenant}"),
        author: None,
        license: None,
        level: "high".to_owned(),
        severity: Severity::High,
        attack: Vec::new(),
        controls: Vec::new(),
        group: BTreeMap::new(),
        events: vec![RecordId::derive("test", &[key])],
        count: 1,
        time: Timestamp::now(),
        raised_at: Timestamp::now(),
        notify: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_needs_a_fresh_code_and_backs_off_and_csrf_guards_changes() {
    let centre = Centre::start("").await;
    let login =
        |code: String| json!({"name": "user-a", "password": common::PASSWORD, "code": code});
    let wrong = centre
        .send(None, "POST", "/api/v1/login", Some(&login("000000".into())))
        .await;
    assert_eq!(wrong.status, 401);
    let session = centre.login("user-a").await;
    // The same code again is a replay.
    let replay = centre
        .send(
            None,
            "POST",
            "/api/v1/login",
            Some(&login(centre.code("user-a"))),
        )
        .await;
    assert_eq!(
        replay.status,
        401,
        "{}",
        String::from_utf8_lossy(&replay.body)
    );
    let logins = audit(&centre, "*", AuditKind::Login);
    let reasons: Vec<&str> = logins
        .iter()
        .filter_map(|r| r["detail"]["reason"].as_str())
        .collect();
    assert!(reasons.contains(&"TOTP code already used"), "{reasons:?}");
    assert!(reasons.contains(&"wrong TOTP code"), "{reasons:?}");

    // A change without the CSRF header is refused; with it, it goes through.
    let no_csrf = centre
        .client
        .send(
            "POST",
            "/api/v1/me/password",
            &[("cookie", session.cookie.as_str())],
            Some(&json!({"current": "x", "new": "y"})),
        )
        .await;
    assert_eq!(no_csrf.status, 403);
    assert!(String::from_utf8_lossy(&no_csrf.body).contains("CSRF"));
    let me = centre.send(Some(&session), "GET", "/api/v1/me", None).await;
    assert_eq!(me.json()["account"], "user-a");

    // Logout ends the session.
    assert_eq!(
        centre
            .send(Some(&session), "POST", "/api/v1/logout", None)
            .await
            .status,
        204
    );
    assert_eq!(
        centre
            .send(Some(&session), "GET", "/api/v1/me", None)
            .await
            .status,
        401
    );

    // Wrong passwords from one address: three free, then the answer is 429 with Retry-After.
    let bad = json!({"name": "secadmin-a", "password": "wrong password!", "code": "123456"});
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            centre
                .send(None, "POST", "/api/v1/login", Some(&bad))
                .await
                .status,
        );
    }
    assert_eq!(&statuses[..3], &[401, 401, 401], "{statuses:?}");
    let limited = centre.send(None, "POST", "/api/v1/login", Some(&bad)).await;
    assert_eq!(limited.status, 429, "{statuses:?}");
    assert!(limited.headers.contains_key("retry-after"));
    centre.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_act_in_their_binding_only_and_tenants_stay_apart() {
    let centre = Centre::start("").await;
    let admin = centre.login("secadmin-a").await;
    let me = centre
        .send(Some(&admin), "GET", "/api/v1/me", None)
        .await
        .json();
    let binding = me["bindings"][0]["id"].as_u64().unwrap();
    let created = centre
        .send(
            Some(&admin),
            "POST",
            "/api/v1/me/tokens",
            Some(&json!({"binding_id": binding, "name": "ci", "days": 1})),
        )
        .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let token = created.json()["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("swa_"));
    // A token cannot make tokens.
    let again = centre
        .send_token(
            &token,
            "POST",
            "/api/v1/me/tokens",
            Some(&json!({"binding_id": binding, "name": "x"})),
        )
        .await;
    assert_eq!(again.status, 403);

    let meta = centre.meta();
    let acme = meta.raise_alerts(&[alert("acme", "a1")]).unwrap()[0].id;
    let beta = meta.raise_alerts(&[alert("beta", "b1")]).unwrap()[0].id;
    let listed = centre
        .send_token(&token, "GET", "/api/v1/tenants/acme/alerts", None)
        .await
        .json();
    let ids: Vec<u64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [acme]);
    // Beta's alert through acme's path is not there; beta's path is refused.
    let through = centre
        .send_token(
            &token,
            "GET",
            &format!("/api/v1/tenants/acme/alerts/{beta}"),
            None,
        )
        .await;
    assert_eq!(through.status, 404);
    let change = centre
        .send_token(
            &token,
            "POST",
            &format!("/api/v1/tenants/acme/alerts/{beta}/actions"),
            Some(&json!({"action": "acknowledge"})),
        )
        .await;
    assert_eq!(change.status, 404);
    assert_eq!(
        meta.alert(&TenantId::new("beta").unwrap(), beta)
            .unwrap()
            .unwrap()
            .state,
        shieldwall_core::AlertState::New
    );
    let other = centre
        .send_token(&token, "GET", "/api/v1/tenants/beta/alerts", None)
        .await;
    assert_eq!(other.status, 403);

    // Handling an alert is recorded in the alert's history and in acme's audit chain.
    let closed = centre
        .send_token(
            &token,
            "POST",
            &format!("/api/v1/tenants/acme/alerts/{acme}/actions"),
            Some(&json!({"action": "close", "resolution": "false positive"})),
        )
        .await;
    assert_eq!(
        closed.status,
        200,
        "{}",
        String::from_utf8_lossy(&closed.body)
    );
    assert_eq!(closed.json()["state"], "closed");
    let detail = centre
        .send_token(
            &token,
            "GET",
            &format!("/api/v1/tenants/acme/alerts/{acme}"),
            None,
        )
        .await
        .json();
    assert_eq!(
        detail["history"].as_array().unwrap().last().unwrap()["actor"],
        "secadmin-a"
    );
    let changes = audit(&centre, "acme", AuditKind::Change);
    assert!(
        changes
            .iter()
            .any(|r| r["object"] == format!("alert:{acme}")),
        "{changes:?}"
    );

    // With a second binding (a common user in beta) and a token for it, the acme token still
    // sees and revokes only the tokens of its own binding.
    let root = centre.login("sysadmin").await;
    let account = centre.accounts["secadmin-a"];
    let beta_binding = centre
        .send(
            Some(&root),
            "POST",
            "/api/v1/system/bindings",
            Some(&json!({"account_id": account, "scope": "beta", "role": "user"})),
        )
        .await
        .json()["id"]
        .as_u64()
        .unwrap();
    let beta_token = centre
        .send(
            Some(&admin),
            "POST",
            "/api/v1/me/tokens",
            Some(&json!({"binding_id": beta_binding, "name": "beta"})),
        )
        .await
        .json()["details"]["id"]
        .as_u64()
        .unwrap();
    let seen = centre
        .send_token(&token, "GET", "/api/v1/me/tokens", None)
        .await
        .json();
    assert!(
        seen.as_array()
            .unwrap()
            .iter()
            .all(|t| t["binding"]["scope"] == "acme"),
        "{seen}"
    );
    let reach = centre
        .send_token(
            &token,
            "DELETE",
            &format!("/api/v1/me/tokens/{beta_token}"),
            None,
        )
        .await;
    assert_eq!(reach.status, 404);

    // Revoked, the token stops working.
    let tokens = centre
        .send(Some(&admin), "GET", "/api/v1/me/tokens", None)
        .await
        .json();
    let id = tokens[0]["id"].as_u64().unwrap();
    assert_eq!(
        centre
            .send(
                Some(&admin),
                "DELETE",
                &format!("/api/v1/me/tokens/{id}"),
                None
            )
            .await
            .status,
        204
    );
    assert_eq!(
        centre
            .send_token(&token, "GET", "/api/v1/tenants/acme/alerts", None)
            .await
            .status,
        401
    );
    centre.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_see_their_tenant_only_and_are_recorded() {
    let centre = Centre::start("").await;
    let addresses = centre.server.as_ref().unwrap().started().addresses.clone();
    for (name, address) in &addresses {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        for i in 0..20 {
            writeln!(stream, "<13>Nov 29 10:00:00 host app: {name} message {i}").unwrap();
        }
    }
    let user = centre.login("user-a").await;
    let mut found = Value::Null;
    for _ in 0..100 {
        found = centre
            .send(
                Some(&user),
                "GET",
                "/api/v1/tenants/acme/events?q=message&limit=50",
                None,
            )
            .await
            .json();
        if found["events"].as_array().is_some_and(|e| e.len() == 20) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events = found["events"].as_array().unwrap();
    assert_eq!(events.len(), 20, "{found}");
    assert!(
        events
            .iter()
            .all(|e| e["tenant"] == "acme" && e["source"] == "acme-hosts"),
        "{found}"
    );
    let counted = centre
        .send(
            Some(&user),
            "GET",
            "/api/v1/tenants/acme/events/aggregate?count_by=source&interval=1h",
            None,
        )
        .await
        .json();
    assert_eq!(counted["total"], 20, "{counted}");
    let bad = centre
        .send(
            Some(&user),
            "GET",
            "/api/v1/tenants/acme/events?q=(unclosed",
            None,
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["type"], "urn:shieldwall:problem:invalid-request");
    let searches = audit(&centre, "acme", AuditKind::Search);
    assert!(
        searches
            .iter()
            .any(|r| r["actor"] == "user-a" && r["detail"]["q"] == "message"),
        "{searches:?}"
    );
    assert!(audit(&centre, "beta", AuditKind::Search).is_empty());

    // The auditor of acme reads acme's trail (and the read is recorded), not the system's.
    let auditor = centre.login("auditor-a").await;
    let trail = centre
        .send(
            Some(&auditor),
            "GET",
            "/api/v1/tenants/acme/audit?type=search",
            None,
        )
        .await
        .json();
    assert!(!trail["items"].as_array().unwrap().is_empty(), "{trail}");
    let export = centre
        .send(
            Some(&auditor),
            "GET",
            "/api/v1/tenants/acme/audit/export",
            None,
        )
        .await;
    assert_eq!(export.headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = String::from_utf8_lossy(&export.body)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64())
    );
    // The export carries the fields as hashed: it checks out without the server.
    let mut prev = [0u8; 32];
    for line in &lines {
        let text = |k: &str| line[k].as_str().unwrap().to_owned();
        let fields = shieldwall_store::meta::audit::StoredFields {
            chain: text("chain"),
            at: text("at"),
            kind: text("type"),
            actor: text("actor"),
            address: text("address"),
            object: text("object"),
            action: text("action"),
            outcome: text("outcome"),
            detail: text("detail"),
        };
        assert_eq!(
            text("prev_hash"),
            shieldwall_store::meta::audit::to_hex(&prev)
        );
        let hash = shieldwall_store::meta::audit::record_hash(
            &prev,
            line["seq"].as_u64().unwrap(),
            &fields,
        );
        assert_eq!(
            text("hash"),
            shieldwall_store::meta::audit::to_hex(&hash),
            "{line}"
        );
        prev = hash;
    }
    assert_eq!(audit(&centre, "acme", AuditKind::AuditRead).len(), 2);
    assert_eq!(
        centre
            .send(Some(&auditor), "GET", "/api/v1/system/audit", None)
            .await
            .status,
        403
    );
    centre.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_manage_tenants_accounts_and_bindings_within_the_separation_of_duties() {
    let centre = Centre::start("").await;
    let root = centre.login("sysadmin").await;
    let tenant = centre
        .send(
            Some(&root),
            "POST",
            "/api/v1/system/tenants",
            Some(&json!({"id": "gamma", "name": "Gamma Ltd"})),
        )
        .await;
    assert_eq!(tenant.status, 201);
    let again = centre
        .send(
            Some(&root),
            "POST",
            "/api/v1/system/tenants",
            Some(&json!({"id": "gamma", "name": "Gamma"})),
        )
        .await;
    assert_eq!(again.status, 409);
    let created = centre
        .send(
            Some(&root),
            "POST",
            "/api/v1/system/accounts",
            Some(&json!({"name": "erin", "password": "another long passphrase", "roles": []})),
        )
        .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let created = created.json();
    assert!(
        created["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let erin = created["account"]["id"].as_u64().unwrap();
    let bound = centre
        .send(
            Some(&root),
            "POST",
            "/api/v1/system/bindings",
            Some(&json!({"account_id": erin, "scope": "gamma", "role": "security_admin"})),
        )
        .await;
    assert_eq!(bound.status, 201);
    // A second administrator role for the same account is refused.
    let second = centre
        .send(
            Some(&root),
            "POST",
            "/api/v1/system/bindings",
            Some(&json!({"account_id": erin, "scope": "acme", "role": "audit_admin"})),
        )
        .await;
    assert_eq!(second.status, 409);
    assert!(
        second.json()["detail"]
            .as_str()
            .unwrap()
            .contains("separation of duties")
    );
    // A common user system-wide makes no sense and is refused.
    let user_wide = centre
        .send(
            Some(&root),
            "POST",
            "/api/v1/system/bindings",
            Some(&json!({"account_id": erin, "scope": "*", "role": "user"})),
        )
        .await;
    assert_eq!(user_wide.status, 400);

    // acme's system administrator manages acme's bindings, not another tenant's binding by id.
    let tenant_admin = centre.login("sysadmin-a").await;
    let gamma_binding = bound.json()["id"].as_u64().unwrap();
    let foreign = centre
        .send(
            Some(&tenant_admin),
            "DELETE",
            &format!("/api/v1/tenants/acme/bindings/{gamma_binding}"),
            None,
        )
        .await;
    assert_eq!(foreign.status, 404);
    let listed = centre
        .send(
            Some(&tenant_admin),
            "GET",
            "/api/v1/tenants/acme/accounts",
            None,
        )
        .await
        .json();
    assert!(listed.as_array().unwrap().iter().all(|a| {
        a["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["scope"] == "acme")
    }));
    let changes = audit(&centre, "*", AuditKind::Change);
    assert!(
        changes
            .iter()
            .any(|r| r["action"] == "create_account" && r["actor"] == "sysadmin")
    );
    // Erin holds a role in gamma: acme's administrator cannot bind (or see) her; an account with
    // no role anywhere can be bound.
    let erin_here = centre
        .send(
            Some(&tenant_admin),
            "POST",
            "/api/v1/tenants/acme/bindings",
            Some(&json!({"account_id": erin, "role": "user"})),
        )
        .await;
    assert_eq!(
        erin_here.status,
        404,
        "{}",
        String::from_utf8_lossy(&erin_here.body)
    );
    let frank = centre
        .send(
            Some(&root),
            "POST",
            "/api/v1/system/accounts",
            Some(&json!({"name": "frank", "password": "frank's long passphrase", "roles": []})),
        )
        .await
        .json()["account"]["id"]
        .as_u64()
        .unwrap();
    let frank_here = centre
        .send(
            Some(&tenant_admin),
            "POST",
            "/api/v1/tenants/acme/bindings",
            Some(&json!({"account_id": frank, "role": "user"})),
        )
        .await;
    assert_eq!(
        frank_here.status,
        201,
        "{}",
        String::from_utf8_lossy(&frank_here.body)
    );
    // A refusal naming a tenant that does not exist is recorded system-wide, not in a new chain.
    let user = centre.login("user-a").await;
    assert_eq!(
        centre
            .send(Some(&user), "GET", "/api/v1/tenants/nosuch/alerts", None)
            .await
            .status,
        403
    );
    assert!(audit(&centre, "nosuch", AuditKind::Denied).is_empty());
    assert!(
        audit(&centre, "*", AuditKind::Denied)
            .iter()
            .any(|r| r["object"] == "/api/v1/tenants/nosuch/alerts")
    );
    // Methods a client makes up are counted under one label.
    let brew = centre.client.send("BREW", "/health", &[], None).await;
    assert_eq!(brew.status, 405);
    assert_eq!(brew.headers["content-type"], "application/problem+json");

    let metrics = centre
        .send(Some(&root), "GET", "/api/v1/system/metrics", None)
        .await;
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(text.contains("shieldwall_api_requests_total{method=\"POST\",route=\"/api/v1/system/tenants\",status=\"201\"} 1"), "{text}");
    assert!(text.contains("shieldwall_spool_pending_records"), "{text}");
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(!text.contains("BREW"), "{text}");
    let served = centre.send(None, "GET", "/api/v1/openapi.json", None).await;
    assert_eq!(
        served.json(),
        serde_json::from_str::<Value>(&shieldwall_server::api::openapi_json()).unwrap()
    );
    centre.stop().await;
}
