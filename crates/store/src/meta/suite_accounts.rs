//! The account and audit-trail checks of the trait test suite.

use jiff::Timestamp;
use serde_json::json;
use shieldwall_core::{Role, Scope, TenantId};

use super::accounts::{NewAccount, NewApiToken, NewSession, Tenant};
use super::audit::{AuditFilter, AuditKind, AuditOutcome, NewAuditRecord, SignedHead};
use super::suite::Make;
use super::{MetaError, MetaStore};

fn ok<T>(what: &str, result: Result<T, MetaError>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {e}"))
}

fn check(condition: bool, failure: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(failure()) }
}

fn at(seconds: i64) -> Result<Timestamp, String> {
    Timestamp::from_second(1_800_000_000 + seconds).map_err(|e| e.to_string())
}

fn tenant(name: &str) -> Result<TenantId, String> {
    TenantId::new(name).map_err(|e| e.to_string())
}

fn record(
    chain: Scope,
    seconds: i64,
    kind: AuditKind,
    actor: &str,
) -> Result<NewAuditRecord, String> {
    Ok(NewAuditRecord {
        chain,
        at: at(seconds)?,
        kind,
        actor: actor.to_owned(),
        address: "192.0.2.7".to_owned(),
        object: "test".to_owned(),
        action: "check".to_owned(),
        outcome: AuditOutcome::Success,
        detail: json!({"note": "'; DROP TABLE audit_records; --"}),
    })
}

fn change(chain: Scope, seconds: i64) -> Result<NewAuditRecord, String> {
    record(chain, seconds, AuditKind::Change, "root")
}

fn new_account(name: &str) -> Result<NewAccount, String> {
    Ok(NewAccount {
        name: name.to_owned(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        totp_sealed: vec![1, 2, 3],
        created_at: at(0)?,
    })
}

fn audit_count(store: &dyn MetaStore, chain: &Scope) -> Result<usize, String> {
    let filter = AuditFilter {
        chain: chain.clone(),
        since: None,
        until: None,
        kind: None,
        actor: None,
        before_seq: None,
        after_seq: None,
        limit: 100_000,
    };
    Ok(ok("audit_records", store.audit_records(&filter))?.len())
}

pub(super) fn tenants_and_accounts(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let store = store.as_ref();
    let tenants = ok("tenants", store.tenants())?;
    check(
        tenants.iter().any(|t| t.id == TenantId::default_tenant()),
        || format!("the default tenant is missing: {tenants:?}"),
    )?;
    let acme = tenant("acme")?;
    let new_tenant = Tenant {
        id: acme.clone(),
        name: "Acme Corp".to_owned(),
        created_at: at(0)?,
    };
    ok(
        "create_tenant",
        store.create_tenant(&new_tenant, &change(Scope::System, 0)?),
    )?;
    let again = store.create_tenant(&new_tenant, &change(Scope::System, 1)?);
    check(matches!(again, Err(MetaError::Exists { .. })), || {
        format!("a second tenant acme: {again:?}")
    })?;
    check(audit_count(store, &Scope::System)? == 1, || {
        "a refused change left an audit record".to_owned()
    })?;

    let acme_scope = Scope::Tenant(acme.clone());
    let alice = ok(
        "create_account",
        store.create_account(
            &new_account("alice")?,
            &[(acme_scope.clone(), Role::SecurityAdmin)],
            &change(Scope::System, 2)?,
        ),
    )?;
    check(alice.bindings.len() == 1, || format!("bindings: {alice:?}"))?;
    let upper = store.create_account(&new_account("ALICE")?, &[], &change(Scope::System, 3)?);
    check(matches!(upper, Err(MetaError::Exists { .. })), || {
        format!("ALICE next to alice: {upper:?}")
    })?;
    let credentials = ok("credentials", store.credentials("Alice"))?
        .ok_or("credentials by another case found nothing")?;
    check(
        credentials.account == alice && credentials.totp_sealed == [1, 2, 3],
        || format!("credentials: {credentials:?}"),
    )?;

    // Separation of duties, scope rules and unknown tenants; each refusal writes nothing.
    let before = audit_count(store, &Scope::System)?;
    let default_scope = Scope::Tenant(TenantId::default_tenant());
    let refusals = [
        (
            default_scope.clone(),
            Role::SystemAdmin,
            "a second administrator role",
        ),
        (Scope::System, Role::User, "a common user system-wide"),
        (
            Scope::Tenant(tenant("nowhere")?),
            Role::User,
            "a tenant that does not exist",
        ),
        (
            acme_scope.clone(),
            Role::User,
            "a second role in one tenant",
        ),
    ];
    for (scope, role, what) in refusals {
        let refused = store.add_binding(alice.id, &scope, role, at(4)?, &change(Scope::System, 4)?);
        check(refused.is_err(), || format!("{what} was accepted"))?;
    }
    let separation = store.add_binding(
        alice.id,
        &default_scope,
        Role::AuditAdmin,
        at(4)?,
        &change(Scope::System, 4)?,
    );
    check(
        matches!(separation, Err(MetaError::SeparationOfDuties { .. })),
        || format!("security and audit administrator together: {separation:?}"),
    )?;
    let both = store.create_account(
        &new_account("bob")?,
        &[
            (acme_scope.clone(), Role::SystemAdmin),
            (default_scope.clone(), Role::AuditAdmin),
        ],
        &change(Scope::System, 5)?,
    );
    check(both.is_err(), || {
        "an account created with two administrator roles".to_owned()
    })?;
    check(
        ok("credentials", store.credentials("bob"))?.is_none(),
        || "a refused account was half written".to_owned(),
    )?;
    check(audit_count(store, &Scope::System)? == before, || {
        "refused bindings left audit records".to_owned()
    })?;
    let same_role = ok(
        "add_binding",
        store.add_binding(
            alice.id,
            &default_scope,
            Role::SecurityAdmin,
            at(6)?,
            &change(Scope::System, 6)?,
        ),
    )?;
    let listed = ok("accounts", store.accounts(Some(&default_scope), 0, 10))?;
    check(
        listed.len() == 1 && listed.iter().all(|a| a.id == alice.id),
        || format!("accounts of the default tenant: {listed:?}"),
    )?;
    ok(
        "remove_binding",
        store.remove_binding(same_role.id, &change(Scope::System, 7)?),
    )?;
    check(
        ok("binding", store.binding(same_role.id))?.is_none(),
        || "a removed binding is still there".to_owned(),
    )?;

    // TOTP steps only move forward.
    for (step, accepted) in [(100, true), (100, false), (99, false), (101, true)] {
        let got = ok("accept_totp_step", store.accept_totp_step(alice.id, step))?;
        check(got == accepted, || format!("step {step}: accepted {got}"))?;
    }
    Ok(())
}

pub(super) fn sessions_and_tokens(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let store = store.as_ref();
    let default_scope = Scope::Tenant(TenantId::default_tenant());
    let carol = ok(
        "create_account",
        store.create_account(
            &new_account("carol")?,
            &[(default_scope.clone(), Role::User)],
            &change(Scope::System, 0)?,
        ),
    )?;
    let digest = [7u8; 32];
    let login = record(Scope::System, 1, AuditKind::Login, "carol")?;
    let session = NewSession {
        digest,
        account_id: carol.id,
        address: "192.0.2.7".to_owned(),
        created_at: at(1)?,
        expires_at: at(3600)?,
    };
    ok("create_session", store.create_session(&session, &login))?;
    let found = ok("session", store.session(&digest))?.ok_or("the session is missing")?;
    check(
        found.account.id == carol.id && found.expires_at == at(3600)?,
        || format!("session: {found:?}"),
    )?;
    ok("touch_session", store.touch_session(&digest, at(60)?))?;
    let touched = ok("session", store.session(&digest))?.ok_or("the session is missing")?;
    check(touched.last_seen_at == at(60)?, || {
        format!("last seen: {touched:?}")
    })?;
    check(ok("session", store.session(&[8u8; 32]))?.is_none(), || {
        "an unknown digest found a session".to_owned()
    })?;
    ok(
        "set_password",
        store.set_password(carol.id, "$argon2id$new", &change(Scope::System, 70)?),
    )?;
    check(ok("session", store.session(&digest))?.is_none(), || {
        "a password change left the session".to_owned()
    })?;
    ok("create_session", store.create_session(&session, &login))?;
    let logout = record(Scope::System, 80, AuditKind::Logout, "carol")?;
    check(
        ok("end_session", store.end_session(&digest, &logout))?,
        || "end_session found no session".to_owned(),
    )?;
    check(
        !ok("end_session", store.end_session(&digest, &logout))?,
        || "a session ended twice".to_owned(),
    )?;
    ok("create_session", store.create_session(&session, &login))?;
    ok(
        "set_disabled",
        store.set_disabled(carol.id, true, &change(Scope::System, 90)?),
    )?;
    check(ok("session", store.session(&digest))?.is_none(), || {
        "disabling left the session".to_owned()
    })?;
    ok(
        "set_disabled",
        store.set_disabled(carol.id, false, &change(Scope::System, 91)?),
    )?;
    let expired = NewSession {
        digest: [9u8; 32],
        expires_at: at(10)?,
        ..session.clone()
    };
    ok("create_session", store.create_session(&expired, &login))?;
    check(
        ok("purge_sessions", store.purge_sessions(at(100)?))? == 1,
        || "the expired session was not purged".to_owned(),
    )?;

    let binding = carol
        .bindings
        .first()
        .ok_or("carol has no binding")?
        .clone();
    let token = NewApiToken {
        digest: [5u8; 32],
        binding_id: binding.id,
        name: "ci".to_owned(),
        created_at: at(100)?,
        expires_at: at(100 + 86_400)?,
    };
    let created = ok(
        "create_api_token",
        store.create_api_token(&token, &change(default_scope.clone(), 100)?),
    )?;
    check(
        created.binding == binding && created.account == "carol",
        || format!("token: {created:?}"),
    )?;
    let found = ok("api_token", store.api_token(&[5u8; 32]))?.ok_or("the token is missing")?;
    check(found == created, || format!("found {found:?}"))?;
    let listed = ok(
        "api_tokens",
        store.api_tokens(None, Some(&default_scope), 0, 10),
    )?;
    check(listed == [created.clone()], || format!("listed {listed:?}"))?;
    let elsewhere = ok(
        "api_tokens",
        store.api_tokens(None, Some(&Scope::System), 0, 10),
    )?;
    check(elsewhere.is_empty(), || {
        format!("system-wide tokens: {elsewhere:?}")
    })?;
    let revoked = ok(
        "revoke_api_token",
        store.revoke_api_token(created.id, at(200)?, &change(default_scope.clone(), 200)?),
    )?;
    check(revoked.revoked_at == Some(at(200)?), || {
        format!("revoked {revoked:?}")
    })?;
    let again = ok(
        "revoke_api_token",
        store.revoke_api_token(created.id, at(300)?, &change(default_scope.clone(), 300)?),
    )?;
    check(again.revoked_at == Some(at(200)?), || {
        "a second revocation moved the time".to_owned()
    })?;
    ok(
        "remove_binding",
        store.remove_binding(binding.id, &change(Scope::System, 400)?),
    )?;
    check(
        ok("api_token", store.api_token(&[5u8; 32]))?.is_none(),
        || "removing the binding left its token".to_owned(),
    )?;
    let past = store.create_api_token(
        &NewApiToken {
            expires_at: at(50)?,
            ..token
        },
        &change(default_scope, 100)?,
    );
    check(past.is_err(), || {
        "a token expiring before its creation was accepted".to_owned()
    })
}

pub(super) fn login_history(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let store = store.as_ref();
    let attempt = |seconds: i64, actor: &str, address: &str, outcome: AuditOutcome| {
        let mut r = record(Scope::System, seconds, AuditKind::Login, actor)?;
        r.address = address.to_owned();
        r.outcome = outcome;
        ok("append_audit", store.append_audit(&r)).map(|_| ())
    };
    attempt(0, "dave", "192.0.2.1", AuditOutcome::Success)?;
    attempt(1, "dave", "192.0.2.1", AuditOutcome::Failure)?;
    attempt(2, "Dave", "192.0.2.1", AuditOutcome::Failure)?;
    attempt(3, "dave", "198.51.100.9", AuditOutcome::Failure)?;
    attempt(4, "erin", "198.51.100.9", AuditOutcome::Failure)?;
    let history = ok(
        "login_history",
        store.login_history("DAVE", "192.0.2.1", at(-10)?),
    )?;
    check(
        history.account_here.failures == 2 && history.known_address,
        || format!("history: {history:?}"),
    )?;
    check(
        history.account_elsewhere.failures == 1 && history.address.failures == 2,
        || format!("history: {history:?}"),
    )?;
    let there = ok(
        "login_history",
        store.login_history("dave", "198.51.100.9", at(-10)?),
    )?;
    check(there.address.failures == 2 && !there.known_address, || {
        format!("history: {there:?}")
    })?;
    check(there.address.last == Some(at(4)?), || {
        format!("last failure: {there:?}")
    })?;
    let recent = ok(
        "login_history",
        store.login_history("dave", "192.0.2.1", at(2)?),
    )?;
    check(
        recent.account_here.failures == 1 && !recent.known_address,
        || format!("since: {recent:?}"),
    )?;
    // Attempts the backoff refused are recorded, but a flood of them neither ends nor hides the
    // failures before them.
    for i in 0..300 {
        attempt(10 + i, "dave", "192.0.2.1", AuditOutcome::Denied)?;
    }
    let flooded = ok(
        "login_history",
        store.login_history("dave", "192.0.2.1", at(-10)?),
    )?;
    check(flooded.account_here.failures == 2, || {
        format!("after 300 refused attempts: {flooded:?}")
    })
}

pub(super) fn audited_alert_changes(make: Make<'_>) -> Result<(), String> {
    use super::alerts::{AlertAction, AlertChange, AlertSource, NewAlert};
    let store = make();
    let store = store.as_ref();
    let acme = tenant("acme")?;
    let raised = ok(
        "raise_alerts",
        store.raise_alerts(&[NewAlert {
            tenant: acme.clone(),
            dedup_key: "k".to_owned(),
            dedup_window_secs: 60,
            source: AlertSource::Detection,
            rule_id: "r".to_owned(),
            title: "t".to_owned(),
            author: None,
            license: None,
            level: "high".to_owned(),
            severity: shieldwall_core::Severity::High,
            attack: Vec::new(),
            controls: Vec::new(),
            group: std::collections::BTreeMap::new(),
            events: Vec::new(),
            count: 1,
            time: at(0)?,
            raised_at: at(0)?,
            notify: Vec::new(),
        }]),
    )?;
    let id = raised.first().ok_or("nothing raised")?.id;
    let close = AlertChange {
        action: AlertAction::Close {
            resolution: "done".to_owned(),
        },
        actor: "ann".to_owned(),
        at: at(1)?,
    };
    let chain = Scope::Tenant(acme.clone());
    // A record too large to keep refuses the change: nothing changes unrecorded.
    let huge = change(chain.clone(), 1)?.with_detail(json!({"x": "\"".repeat(40_000)}));
    let refused = store.change_alert_audited(&acme, id, &close, &huge);
    check(matches!(refused, Err(MetaError::Invalid { .. })), || {
        format!("an unrecordable change: {refused:?}")
    })?;
    let unchanged = ok("alert", store.alert(&acme, id))?.ok_or("the alert is gone")?;
    check(unchanged.state == shieldwall_core::AlertState::New, || {
        "the alert changed although its record was refused".to_owned()
    })?;
    let changed = ok(
        "change_alert_audited",
        store.change_alert_audited(&acme, id, &close, &change(chain.clone(), 1)?),
    )?;
    check(changed.state == shieldwall_core::AlertState::Closed, || {
        format!("not closed: {changed:?}")
    })?;
    check(audit_count(store, &chain)? == 1, || {
        "the change's audit record is missing".to_owned()
    })
}

pub(super) fn audit_chains(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let store = store.as_ref();
    let acme = Scope::Tenant(tenant("acme")?);
    let mut last = None;
    for i in 0..5 {
        let appended = ok(
            "append_audit",
            store.append_audit(&change(acme.clone(), i)?),
        )?;
        check(appended.seq == u64::try_from(i + 1).unwrap_or(0), || {
            format!("seq {} for the record {}", appended.seq, i + 1)
        })?;
        if let Some(previous) = last {
            check(appended.prev_hash == previous, || {
                "the chain is not linked".to_owned()
            })?;
        }
        last = Some(appended.hash);
    }
    ok(
        "append_audit",
        store.append_audit(&record(Scope::System, 9, AuditKind::Search, "root")?),
    )?;
    let filter = AuditFilter {
        chain: acme.clone(),
        since: Some(at(1)?),
        until: Some(at(4)?),
        kind: Some(AuditKind::Change),
        actor: Some("ROOT".to_owned()),
        before_seq: None,
        after_seq: None,
        limit: 2,
    };
    let page = ok("audit_records", store.audit_records(&filter))?;
    let seqs: Vec<u64> = page.iter().map(|r| r.seq).collect();
    check(seqs == [4, 3], || format!("filtered page: {seqs:?}"))?;
    check(page.iter().all(|r| r.record.chain == acme), || {
        "a record of another chain".to_owned()
    })?;
    let next = AuditFilter {
        before_seq: Some(3),
        ..filter
    };
    let seqs: Vec<u64> = ok("audit_records", store.audit_records(&next))?
        .iter()
        .map(|r| r.seq)
        .collect();
    check(seqs == [2], || format!("second page: {seqs:?}"))?;

    let heads = ok("chain_heads", store.chain_heads())?;
    check(heads.len() == 2, || format!("heads: {heads:?}"))?;
    let acme_head = heads
        .iter()
        .find(|h| h.chain == acme)
        .ok_or("no acme head")?
        .clone();
    check(acme_head.seq == 5 && Some(acme_head.hash) == last, || {
        format!("head: {acme_head:?}")
    })?;
    let signed = SignedHead {
        head: acme_head.clone(),
        signed_at: at(10)?,
        key_id: "test".to_owned(),
        signature: vec![0; 64],
    };
    ok("record_signed_head", store.record_signed_head(&signed))?;
    ok("record_signed_head", store.record_signed_head(&signed))?;
    check(
        ok("signed_heads", store.signed_heads())? == [signed.clone()]
            && ok("latest_signed", store.latest_signed())? == [(acme.clone(), 5)],
        || "signed heads are not kept once each".to_owned(),
    )?;
    let reports = ok(
        "verify_audit",
        store.verify_audit(std::slice::from_ref(&signed), None),
    )?;
    check(
        reports.len() == 2 && reports.iter().all(|r| r.problem.is_none()),
        || format!("an untouched trail fails: {reports:?}"),
    )?;

    // A purge stops at the signed head, and the chain goes on from its anchor.
    ok(
        "append_audit",
        store.append_audit(&change(acme.clone(), 20)?),
    )?;
    let purged = ok("purge_audit", store.purge_audit(&acme, at(100)?, at(100)?))?;
    check(purged == 5, || {
        format!("purged {purged} records, not the 5 up to the signed head")
    })?;
    let appended = ok(
        "append_audit",
        store.append_audit(&change(acme.clone(), 30)?),
    )?;
    check(appended.seq == 7, || {
        format!("seq after a purge: {}", appended.seq)
    })?;
    // The head was signed at 10; a retention whose cut-off is later allows the purge.
    let reports = ok(
        "verify_audit",
        store.verify_audit(std::slice::from_ref(&signed), Some(at(50)?)),
    )?;
    let acme_report = reports
        .iter()
        .find(|r| r.chain == "acme")
        .ok_or("no acme report")?;
    check(
        acme_report.problem.is_none()
            && acme_report.first_seq == Some(6)
            && acme_report.unsigned == 2,
        || format!("after a purge: {acme_report:?}"),
    )?;
    for (heads, cut, what) in [
        (Vec::new(), Some(at(50)?), "a purge without its signed head"),
        (vec![signed.clone()], None, "a purge without a retention"),
        (
            vec![signed.clone()],
            Some(at(5)?),
            "a purge younger than the retention",
        ),
    ] {
        let reports = ok("verify_audit", store.verify_audit(&heads, cut))?;
        check(
            reports.iter().any(|r| {
                r.problem
                    .as_ref()
                    .is_some_and(|p| p.kind == super::audit::ProblemKind::UnsignedPurge)
            }),
            || format!("{what} verifies: {reports:?}"),
        )?;
    }
    Ok(())
}

pub(super) fn evidence_and_findings(make: Make<'_>) -> Result<(), String> {
    use shieldwall_core::{Evidence, EvidenceSource, Finding, FindingStatus, RecordId, Severity};
    let store = make();
    let store = store.as_ref();
    let acme = tenant("acme")?;
    let attestation = |n: i64| -> Result<Evidence, String> {
        Ok(Evidence {
            id: RecordId::derive("evidence", &["acme", &n.to_string()]),
            tenant: acme.clone(),
            source: EvidenceSource::Attestation {
                owner: "alice".to_owned(),
            },
            capability: Some("waf".to_owned()),
            controls: Vec::new(),
            workload: None,
            observed: at(n)?,
            expires: Some(at(n + 86_400)?),
        })
    };
    let first = ok(
        "record_evidence",
        store.record_evidence(
            &attestation(1)?,
            "alice",
            at(1)?,
            &change(Scope::Tenant(acme.clone()), 1)?,
        ),
    )?;
    let again = store.record_evidence(
        &attestation(1)?,
        "alice",
        at(2)?,
        &change(Scope::Tenant(acme.clone()), 2)?,
    );
    check(matches!(again, Err(MetaError::Exists { .. })), || {
        format!("the same evidence twice: {again:?}")
    })?;
    let second = ok(
        "record_evidence",
        store.record_evidence(
            &attestation(2)?,
            "alice",
            at(3)?,
            &change(Scope::Tenant(acme.clone()), 3)?,
        ),
    )?;
    let listed = ok("evidence", store.evidence(&acme, None, 10))?;
    check(listed == [second.clone(), first.clone()], || {
        format!("evidence: {listed:?}")
    })?;
    let page = ok("evidence", store.evidence(&acme, Some(second.seq), 10))?;
    check(page == [first], || format!("second page: {page:?}"))?;
    check(
        ok("evidence", store.evidence(&tenant("beta")?, None, 10))?.is_empty(),
        || "another tenant sees acme's evidence".to_owned(),
    )?;
    check(
        audit_count(store, &Scope::Tenant(acme.clone()))? == 2,
        || "an evidence upload without its audit record, or a refused one with it".to_owned(),
    )?;

    let finding = |check_id: &str, status: FindingStatus| -> Result<Finding, String> {
        Ok(Finding {
            id: RecordId::derive("finding", &["acme", check_id]),
            tenant: acme.clone(),
            module: "baseline".to_owned(),
            target: "host-1".to_owned(),
            check_id: check_id.to_owned(),
            status,
            severity: Severity::Medium,
            remediation: None,
            time: at(10)?,
        })
    };
    let batch = [
        finding("ssh-1", FindingStatus::Fail)?,
        finding("ssh-2", FindingStatus::Pass)?,
        finding("ssh-1", FindingStatus::Fail)?,
    ];
    check(
        ok("record_findings", store.record_findings(&batch))? == 2,
        || "a repeated finding was stored twice".to_owned(),
    )?;
    let failed = ok(
        "findings",
        store.findings(&acme, Some("baseline"), Some(FindingStatus::Fail), None, 10),
    )?;
    check(
        failed.len() == 1 && failed.iter().all(|f| f.finding.check_id == "ssh-1"),
        || format!("failed findings: {failed:?}"),
    )?;
    let all = ok("findings", store.findings(&acme, None, None, None, 10))?;
    check(
        all.len() == 2 && all.first().map(|f| f.seq) > all.last().map(|f| f.seq),
        || format!("findings newest first: {all:?}"),
    )?;
    check(
        ok(
            "findings",
            store.findings(&tenant("beta")?, None, None, None, 10),
        )?
        .is_empty(),
        || "another tenant sees acme's findings".to_owned(),
    )?;

    // A later run: ssh-1 now passes; another target and another module do not count.
    let later = |check_id: &str, target: &str, module: &str, status| -> Result<Finding, String> {
        Ok(Finding {
            id: RecordId::derive("finding", &["acme", check_id, target, module, "later"]),
            target: target.to_owned(),
            module: module.to_owned(),
            time: at(20)?,
            ..finding(check_id, status)?
        })
    };
    ok(
        "record_findings",
        store.record_findings(&[
            later("ssh-1", "host-1", "baseline", FindingStatus::Pass)?,
            later("ssh-1", "host-2", "baseline", FindingStatus::Fail)?,
            later("ssh-2", "host-1", "vuln-scan", FindingStatus::Fail)?,
        ]),
    )?;
    let latest = ok(
        "latest_findings",
        store.latest_findings(&acme, "baseline", "host-1", "ssh-", 100),
    )?;
    let statuses: Vec<(String, FindingStatus)> = latest
        .iter()
        .map(|f| (f.finding.check_id.clone(), f.finding.status))
        .collect();
    // The newest run of host-1 is the later one, which checked ssh-1 only.
    check(
        statuses == [("ssh-1".to_owned(), FindingStatus::Pass)],
        || format!("latest findings of host-1: {statuses:?}"),
    )?;
    // Another prefix (policy) has its own newest run.
    let older = ok(
        "latest_findings",
        store.latest_findings(&acme, "baseline", "host-1", "ssh-2", 100),
    )?;
    check(
        older.len() == 1
            && older
                .iter()
                .all(|f| f.finding.status == FindingStatus::Pass),
        || format!("latest ssh-2 of host-1: {older:?}"),
    )?;
    // `_` in a prefix is a character, not LIKE's wildcard.
    check(
        ok(
            "latest_findings",
            store.latest_findings(&acme, "baseline", "host-1", "ssh_", 100),
        )?
        .is_empty(),
        || "an underscore in the prefix matched as a wildcard".to_owned(),
    )?;
    check(
        ok(
            "latest_findings",
            store.latest_findings(&tenant("beta")?, "baseline", "host-1", "", 100),
        )?
        .is_empty(),
        || "another tenant sees acme's latest findings".to_owned(),
    )?;
    let other_target = ok(
        "latest_findings",
        store.latest_findings(&acme, "baseline", "host-2", "", 100),
    )?;
    check(
        other_target.len() == 1
            && other_target
                .iter()
                .all(|f| f.finding.status == FindingStatus::Fail),
        || format!("latest of host-2: {other_target:?}"),
    )
}
