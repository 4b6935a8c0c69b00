//! The alert checks of the trait test suite.

use std::collections::BTreeMap;

use jiff::Timestamp;
use shieldwall_core::{AlertState, RecordId, Severity, TenantId};

use super::alerts::{
    AlertAction, AlertChange, AlertFilter, AlertSource, NewAlert, StoredAlert, SummaryRequest,
};
use super::outbox::{DeliveryOutcome, DeliveryState};
use super::suite::Make;
use super::{MetaError, MetaStore, PIPELINE_ACTOR};

fn tenant(name: &str) -> Result<TenantId, String> {
    TenantId::new(name).map_err(|e| e.to_string())
}

fn ok<T>(what: &str, result: Result<T, MetaError>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {e}"))
}

fn at(seconds: i64) -> Result<Timestamp, String> {
    Timestamp::from_second(1_800_000_000 + seconds).map_err(|e| e.to_string())
}

fn new_alert(tenant: &TenantId, key: &str, seconds: i64, event: &str) -> Result<NewAlert, String> {
    Ok(NewAlert {
        tenant: tenant.clone(),
        dedup_key: key.to_owned(),
        dedup_window_secs: 60,
        source: AlertSource::Detection,
        rule_id: format!("rule-{key}"),
        title: "Failed logons 'quoted' ; DROP TABLE alerts; --".to_owned(),
        author: Some("Ann Author".to_owned()),
        license: Some("DRL-1.1".to_owned()),
        level: "high".to_owned(),
        severity: Severity::High,
        attack: vec!["attack.t1110".to_owned()],
        controls: vec!["IAM-02".to_owned()],
        group: BTreeMap::from([("src_endpoint.ip".to_owned(), "203.0.113.9".to_owned())]),
        events: vec![RecordId::derive("test", &[event])],
        count: 1,
        time: at(seconds)?,
        raised_at: at(seconds + 1)?,
        notify: Vec::new(),
    })
}

fn raise(store: &dyn MetaStore, alert: &NewAlert) -> Result<(u64, bool), String> {
    let out = ok(
        "raise_alerts",
        store.raise_alerts(std::slice::from_ref(alert)),
    )?;
    let first = out.first().ok_or("raise_alerts returned nothing")?;
    Ok((first.id, first.raised))
}

fn get(store: &dyn MetaStore, tenant: &TenantId, id: u64) -> Result<StoredAlert, String> {
    ok("alert", store.alert(tenant, id))?.ok_or_else(|| format!("alert {id} not found"))
}

fn change(action: AlertAction, actor: &str, seconds: i64) -> Result<AlertChange, String> {
    Ok(AlertChange {
        action,
        actor: actor.to_owned(),
        at: at(seconds)?,
    })
}

/// Repeats merge into the open alert of their key within its window, and nowhere else.
pub(crate) fn merge_within_window(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let store: &dyn MetaStore = &*store;
    let (a, b) = (tenant("acme")?, tenant("globex")?);
    let (first, raised) = raise(store, &new_alert(&a, "k", 0, "e1")?)?;
    if !raised {
        return Err("the first alert of a key was not raised".into());
    }
    let (again, raised) = raise(store, &new_alert(&a, "k", 50, "e2")?)?;
    if raised || again != first {
        return Err(format!(
            "a repeat 50 s later raised {again} instead of merging into {first}"
        ));
    }
    // Out of order, before the first but within the window: merged, first_seen moves.
    let (early, raised) = raise(store, &new_alert(&a, "k", -30, "e3")?)?;
    if raised || early != first {
        return Err("a repeat 30 s before the first did not merge".into());
    }
    let alert = get(store, &a, first)?;
    if alert.count != 3 || alert.events.len() != 3 {
        return Err(format!(
            "count {} and {} events, expected 3 and 3",
            alert.count,
            alert.events.len()
        ));
    }
    if alert.first_seen != at(-30)? || alert.last_seen != at(50)? {
        return Err(format!(
            "seen {}..{}, expected the -30..50 span",
            alert.first_seen, alert.last_seen
        ));
    }
    // Beyond the window of the last event: a new alert.
    let (late, raised) = raise(store, &new_alert(&a, "k", 111, "e4")?)?;
    if !raised || late == first {
        return Err("a repeat 61 s after the last event merged".into());
    }
    // Another key, another tenant: their own alerts.
    let (other_key, _) = raise(store, &new_alert(&a, "other", 51, "e5")?)?;
    let (other_tenant, _) = raise(store, &new_alert(&b, "k", 51, "e6")?)?;
    if other_key == first || other_tenant == first || other_tenant == late {
        return Err("a different key or tenant merged into an existing alert".into());
    }
    // A closed alert takes no more repeats.
    ok(
        "change_alert",
        store.change_alert(
            &a,
            late,
            &change(
                AlertAction::Close {
                    resolution: "blocked".into(),
                },
                "ann",
                200,
            )?,
        ),
    )?;
    let (after_close, raised) = raise(store, &new_alert(&a, "k", 120, "e7")?)?;
    if !raised || after_close == late {
        return Err("a repeat merged into a closed alert".into());
    }
    // A batch is one transaction: an invalid member writes nothing.
    let mut bad = new_alert(&a, "batch", 0, "e8")?;
    bad.title.clear();
    let batch = [new_alert(&a, "batch", 0, "e9")?, bad];
    match store.raise_alerts(&batch) {
        Err(MetaError::InvalidAlert { .. }) => {}
        other => return Err(format!("a batch with an empty title gave {other:?}")),
    }
    let listed = ok(
        "alerts",
        store.alerts(&AlertFilter {
            rule_id: Some("rule-batch".into()),
            limit: 10,
            ..AlertFilter::default()
        }),
    )?;
    if !listed.is_empty() {
        return Err("a refused batch wrote some of its alerts".into());
    }
    Ok(())
}

/// The lifecycle allows only its transitions and records each change with who and when.
pub(crate) fn lifecycle_and_history(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let store: &dyn MetaStore = &*store;
    let (a, b) = (tenant("acme")?, tenant("globex")?);
    let (id, _) = raise(store, &new_alert(&a, "k", 0, "e1")?)?;
    let apply =
        |action: AlertAction, actor: &str, seconds: i64| -> Result<StoredAlert, MetaError> {
            let change = change(action, actor, seconds)
                .map_err(|reason| MetaError::InvalidAlert { reason })?;
            store.change_alert(&a, id, &change)
        };
    let acked = ok("acknowledge", apply(AlertAction::Acknowledge, "ann", 10))?;
    if acked.state != AlertState::Acknowledged {
        return Err(format!("acknowledged alert is {:?}", acked.state));
    }
    if !matches!(
        apply(AlertAction::Acknowledge, "ann", 11),
        Err(MetaError::AlertState { .. })
    ) {
        return Err("acknowledging twice was allowed".into());
    }
    let assigned = ok(
        "assign",
        apply(
            AlertAction::Assign {
                assignee: Some("bob".into()),
            },
            "ann",
            12,
        ),
    )?;
    if assigned.assignee.as_deref() != Some("bob") {
        return Err("the assignee was not kept".into());
    }
    ok(
        "comment",
        apply(
            AlertAction::Comment {
                text: "looking at 203.0.113.9".into(),
            },
            "bob",
            13,
        ),
    )?;
    if !matches!(
        apply(
            AlertAction::Close {
                resolution: " ".into()
            },
            "bob",
            14
        ),
        Err(MetaError::InvalidAlert { .. })
    ) {
        return Err("closing without a resolution was allowed".into());
    }
    let closed = ok(
        "close",
        apply(
            AlertAction::Close {
                resolution: "address blocked".into(),
            },
            "bob",
            15,
        ),
    )?;
    if closed.state != AlertState::Closed || closed.resolution.as_deref() != Some("address blocked")
    {
        return Err(format!(
            "closed alert is {:?} with {:?}",
            closed.state, closed.resolution
        ));
    }
    if !matches!(
        apply(
            AlertAction::Close {
                resolution: "again".into()
            },
            "bob",
            16
        ),
        Err(MetaError::AlertState { .. })
    ) {
        return Err("closing twice was allowed".into());
    }
    let reopened = ok("reopen", apply(AlertAction::Reopen, "ann", 17))?;
    if reopened.state != AlertState::Acknowledged || reopened.resolution.is_some() {
        return Err("a reopened alert is not acknowledged without a resolution".into());
    }
    // Another tenant neither sees nor changes it.
    if ok("alert", store.alert(&b, id))?.is_some() {
        return Err("another tenant read the alert".into());
    }
    let foreign = change(AlertAction::Comment { text: "x".into() }, "eve", 18)?;
    if !matches!(
        store.change_alert(&b, id, &foreign),
        Err(MetaError::NoSuchAlert { .. })
    ) {
        return Err("another tenant changed the alert".into());
    }
    if !ok("alert_history", store.alert_history(&b, id))?.is_empty() {
        return Err("another tenant read the history".into());
    }
    let history = ok("alert_history", store.alert_history(&a, id))?;
    let seen: Vec<(&str, &str, Option<&str>)> = history
        .iter()
        .map(|h| (h.action.as_str(), h.actor.as_str(), h.detail.as_deref()))
        .collect();
    let expected = [
        ("raised", PIPELINE_ACTOR, None),
        ("acknowledged", "ann", None),
        ("assigned", "ann", Some("bob")),
        ("commented", "bob", Some("looking at 203.0.113.9")),
        ("closed", "bob", Some("address blocked")),
        ("reopened", "ann", None),
    ];
    if seen != expected {
        return Err(format!("history {seen:?}, expected {expected:?}"));
    }
    if history
        .windows(2)
        .any(|w| w.first().map(|h| h.at) > w.get(1).map(|h| h.at))
    {
        return Err("history out of time order".into());
    }
    if history.get(1).map(|h| h.at) != Some(at(10)?) {
        return Err("the history does not keep when a change was made".into());
    }
    Ok(())
}

/// Listing filters by tenant, state, rule and severity, newest first, in pages.
pub(crate) fn filters_and_pages(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let store: &dyn MetaStore = &*store;
    let (a, b) = (tenant("acme")?, tenant("globex")?);
    let mut ids = Vec::new();
    for (i, severity) in [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
        Severity::High,
    ]
    .into_iter()
    .enumerate()
    {
        let mut alert = new_alert(
            &a,
            &format!("k{i}"),
            i64::try_from(i).unwrap_or(0) * 1000,
            "e",
        )?;
        alert.severity = severity;
        ids.push(raise(store, &alert)?.0);
    }
    raise(store, &new_alert(&b, "k0", 0, "e")?)?;
    let list = |filter: AlertFilter| -> Result<Vec<u64>, String> {
        Ok(ok("alerts", store.alerts(&filter))?
            .iter()
            .map(|a| a.id)
            .collect())
    };
    let base = AlertFilter {
        tenant: Some(a.clone()),
        limit: 100,
        ..AlertFilter::default()
    };
    let mut newest_first = ids.clone();
    newest_first.reverse();
    if list(base.clone())? != newest_first {
        return Err("not the tenant's alerts newest first".into());
    }
    let high = list(AlertFilter {
        min_severity: Some(Severity::High),
        ..base.clone()
    })?;
    let expected: Vec<u64> = [ids.get(4), ids.get(3), ids.get(2)]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    if high != expected {
        return Err(format!(
            "severity high or more gave {high:?}, expected {expected:?}"
        ));
    }
    let page_one = list(AlertFilter {
        limit: 2,
        ..base.clone()
    })?;
    let page_two = list(AlertFilter {
        limit: 2,
        before: page_one.last().copied(),
        ..base.clone()
    })?;
    if page_one.len() != 2 || page_two.first().copied() != newest_first.get(2).copied() {
        return Err(format!("pages {page_one:?} then {page_two:?}"));
    }
    let first = ids.first().copied().unwrap_or(0);
    ok(
        "change_alert",
        store.change_alert(&a, first, &change(AlertAction::Acknowledge, "ann", 5)?),
    )?;
    let acked = list(AlertFilter {
        state: Some(AlertState::Acknowledged),
        ..base.clone()
    })?;
    if acked != [first] {
        return Err(format!("acknowledged filter gave {acked:?}"));
    }
    let by_rule = list(AlertFilter {
        rule_id: Some("rule-k3".into()),
        ..base
    })?;
    if by_rule != ids.get(3).copied().into_iter().collect::<Vec<_>>() {
        return Err(format!("rule filter gave {by_rule:?}"));
    }
    let everyone = list(AlertFilter {
        limit: 100,
        ..AlertFilter::default()
    })?;
    if everyone.len() != 6 {
        return Err(format!(
            "all tenants gave {} alerts, expected 6",
            everyone.len()
        ));
    }
    Ok(())
}

/// Raising an alert queues one notification per channel (a merge queues none); attempts are
/// recorded until delivered or given up, and a finished one cannot be recorded again.
pub(crate) fn outbox(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let store: &dyn MetaStore = &*store;
    let a = tenant("acme")?;
    let mut alert = new_alert(&a, "k", 0, "e1")?;
    alert.notify = vec!["soc-webhook".into(), "soc-mail".into()];
    let (id, _) = raise(store, &alert)?;
    raise(store, &alert)?; // a merge: no new notifications
    let due = |channel: &str, seconds: i64| -> Result<Vec<u64>, String> {
        Ok(ok(
            "due_notifications",
            store.due_notifications(channel, at(seconds)?, 10),
        )?
        .iter()
        .map(|n| n.id)
        .collect())
    };
    let (webhook, mail) = match (
        due("soc-webhook", 1)?.as_slice(),
        due("soc-mail", 1)?.as_slice(),
    ) {
        ([w], [m]) => (*w, *m),
        other => return Err(format!("one due per channel after raising: {other:?}")),
    };
    let queued = ok("notifications", store.notifications(Some(&a), None, 10))?;
    if queued.len() != 2 || queued.iter().any(|n| n.alert != id) {
        return Err(format!(
            "two notifications of alert {id} expected: {queued:?}"
        ));
    }
    if !due("soc-webhook", 0)?.is_empty() {
        return Err("notifications were due before the alert was raised".into());
    }
    // A claimed notification is not due again until its lease ends.
    if !ok(
        "claim_notification",
        store.claim_notification(mail, at(30)?),
    )? {
        return Err("a pending notification could not be claimed".into());
    }
    if !due("soc-mail", 29)?.is_empty() || due("soc-mail", 30)? != [mail] {
        return Err("a claimed notification was due within its lease".into());
    }
    let retry = DeliveryOutcome::Retry {
        error: "connection refused".into(),
        at: at(100)?,
    };
    let item = ok(
        "record_delivery",
        store.record_delivery(webhook, &retry, at(2)?),
    )?;
    if item.attempts != 1 || item.state != DeliveryState::Pending || item.last_error.is_none() {
        return Err(format!("after a retry: {item:?}"));
    }
    if !due("soc-webhook", 50)?.is_empty() || due("soc-webhook", 100)? != [webhook] {
        return Err("the retried one was not due at its time".into());
    }
    ok(
        "record_delivery",
        store.record_delivery(mail, &DeliveryOutcome::Delivered, at(3)?),
    )?;
    let failed = DeliveryOutcome::Failed {
        error: "gave up after 12 attempts".into(),
    };
    let item = ok(
        "record_delivery",
        store.record_delivery(webhook, &failed, at(200)?),
    )?;
    if item.state != DeliveryState::Failed || item.done_at != Some(at(200)?) {
        return Err(format!("after giving up: {item:?}"));
    }
    if !matches!(
        store.record_delivery(mail, &DeliveryOutcome::Delivered, at(4)?),
        Err(MetaError::NotificationDone { .. })
    ) {
        return Err("a delivered notification was recorded again".into());
    }
    let failed_list = ok(
        "notifications",
        store.notifications(Some(&a), Some(DeliveryState::Failed), 10),
    )?;
    if failed_list.iter().map(|n| n.id).collect::<Vec<_>>() != [webhook] {
        return Err(format!("failed notifications: {failed_list:?}"));
    }
    if !due("soc-webhook", 10_000)?.is_empty() || !due("soc-mail", 10_000)?.is_empty() {
        return Err("finished notifications are still due".into());
    }
    if ok(
        "claim_notification",
        store.claim_notification(mail, at(20_000)?),
    )? {
        return Err("a delivered notification was claimed".into());
    }
    Ok(())
}

/// Counts by severity, state, interval, rule and ATT&CK tag of the alerts raised in a period,
/// of one tenant only.
pub(crate) fn summary(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let store: &dyn MetaStore = &*store;
    let (a, b) = (tenant("acme")?, tenant("globex")?);
    // Raised one second after their event time: at 1, 31, 121, 131 and 301 s.
    let plan = [
        ("k0", 0, Severity::Low, "attack.t1110"),
        ("k1", 30, Severity::Medium, "attack.t1110"),
        ("k2", 120, Severity::High, "attack.t1078"),
        ("k3", 130, Severity::High, "attack.t1078"),
        ("k4", 300, Severity::Critical, "attack.t1078"),
    ];
    let mut ids = Vec::new();
    for (key, seconds, severity, tag) in plan {
        let mut alert = new_alert(&a, key, seconds, key)?;
        alert.severity = severity;
        // A tag listed twice counts once.
        alert.attack = vec![
            tag.to_owned(),
            "attack.credential-access".to_owned(),
            tag.to_owned(),
        ];
        if key == "k3" {
            alert.rule_id = "rule-k2".to_owned();
        }
        ids.push(raise(store, &alert)?.0);
    }
    raise(store, &new_alert(&b, "k0", 0, "other")?)?;
    let first = *ids.first().ok_or("no alert raised")?;
    ok(
        "change_alert",
        store.change_alert(
            &a,
            first,
            &AlertChange {
                actor: "ann".into(),
                action: AlertAction::Acknowledge,
                at: at(10)?,
            },
        ),
    )?;
    let request = SummaryRequest {
        tenant: a.clone(),
        from: at(0)?,
        to: at(200)?,
        interval_secs: 60,
        top: 10,
    };
    let got = ok("alert_summary", store.alert_summary(&request))?;
    let expect = |what: &str, found: String, wanted: &str| {
        if found == wanted {
            Ok(())
        } else {
            Err(format!("summary {what}: {found}, expected {wanted}"))
        }
    };
    expect("total", got.total.to_string(), "4")?;
    expect(
        "by severity",
        format!("{:?}", got.by_severity),
        "[0, 1, 1, 2, 0]",
    )?;
    expect("by state", format!("{:?}", got.by_state), "[3, 1, 0]")?;
    // k0 is acknowledged; k4 (outside the period) is new, and so are k1 to k3.
    expect("unhandled", got.unhandled.to_string(), "4")?;
    let buckets: Vec<(i64, [u64; 5])> = got
        .buckets
        .iter()
        .map(|(start, counts)| (start.as_second() - 1_800_000_000, *counts))
        .collect();
    expect(
        "buckets",
        format!("{buckets:?}"),
        "[(0, [0, 1, 1, 0, 0]), (120, [0, 0, 0, 2, 0])]",
    )?;
    let rules: Vec<(&str, u64)> = got
        .top_rules
        .iter()
        .map(|(id, _, n)| (id.as_str(), *n))
        .collect();
    expect(
        "top rules",
        format!("{rules:?}"),
        r#"[("rule-k2", 2), ("rule-k0", 1), ("rule-k1", 1)]"#,
    )?;
    expect(
        "attack",
        format!("{:?}", got.attack),
        r#"[("attack.credential-access", 4), ("attack.t1078", 2), ("attack.t1110", 2)]"#,
    )?;
    let later = ok(
        "alert_summary",
        store.alert_summary(&SummaryRequest {
            from: at(200)?,
            to: at(400)?,
            top: 1,
            ..request.clone()
        }),
    )?;
    expect("later total", later.total.to_string(), "1")?;
    expect("top 1", later.attack.len().to_string(), "1")?;
    for bad in [
        SummaryRequest {
            to: at(0)?,
            ..request.clone()
        },
        SummaryRequest {
            interval_secs: 0,
            ..request.clone()
        },
        SummaryRequest {
            interval_secs: 1,
            to: at(20_000)?,
            ..request.clone()
        },
    ] {
        if store.alert_summary(&bad).is_ok() {
            return Err(format!("a summary of {bad:?} was not refused"));
        }
    }
    Ok(())
}
