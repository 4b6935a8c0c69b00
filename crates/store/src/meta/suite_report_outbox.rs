//! The report outbox checks of the trait test suite.

use jiff::Timestamp;
use shieldwall_core::TenantId;

use super::outbox::{DeliveryOutcome, DeliveryState};
use super::report_outbox::NewReportDelivery;
use super::suite::Make;
use super::{MetaError, MetaStore};

fn ok<T>(what: &str, result: Result<T, MetaError>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {e}"))
}

fn at(seconds: i64) -> Result<Timestamp, String> {
    Timestamp::from_second(1_800_000_000 + seconds).map_err(|e| e.to_string())
}

fn tenant(name: &str) -> Result<TenantId, String> {
    TenantId::new(name).map_err(|e| e.to_string())
}

/// A due report is queued once per channel however often it is queued; its mailings are due
/// from their queueing, claimed, retried, delivered or given up like notifications; the latest
/// due time of a schedule is known; listing is per tenant, newest first.
pub(crate) fn report_outbox(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let store: &dyn MetaStore = &*store;
    let (acme, beta) = (tenant("acme")?, tenant("beta")?);
    if ok("last_report_due", store.last_report_due("daily"))?.is_some() {
        return Err("an empty store knows a due time".into());
    }
    let report = |schedule: &str, tenant: &TenantId, due: i64, channels: &[&str]| {
        Ok::<_, String>(NewReportDelivery {
            schedule: schedule.to_owned(),
            tenant: tenant.clone(),
            due_at: at(due)?,
            channels: channels.iter().map(|c| (*c).to_owned()).collect(),
            queued_at: at(due + 5)?,
        })
    };
    let daily = report("daily", &acme, 0, &["soc-mail", "ciso-mail"])?;
    if ok("queue_report", store.queue_report(&daily))? != 2 {
        return Err("two channels did not queue two mailings".into());
    }
    if ok("queue_report", store.queue_report(&daily))? != 0 {
        return Err("queueing the same due report again added mailings".into());
    }
    ok(
        "queue_report",
        store.queue_report(&report("weekly", &beta, 100, &["soc-mail"])?),
    )?;
    for bad in [
        report("", &acme, 0, &["soc-mail"])?,
        report("daily", &acme, 0, &[])?,
        report("daily", &acme, 0, &["bad\0name"])?,
    ] {
        if store.queue_report(&bad).is_ok() {
            return Err(format!("an invalid mailing was queued: {bad:?}"));
        }
    }
    if ok("last_report_due", store.last_report_due("daily"))? != Some(at(0)?) {
        return Err("the latest due time of a schedule is wrong".into());
    }
    let due = |seconds: i64| -> Result<Vec<(String, String)>, String> {
        Ok(ok(
            "due_report_deliveries",
            store.due_report_deliveries(at(seconds)?, 10),
        )?
        .into_iter()
        .map(|d| (d.schedule, d.channel))
        .collect())
    };
    if !due(4)?.is_empty() {
        return Err("mailings were due before they were queued".into());
    }
    let first = ok(
        "due_report_deliveries",
        store.due_report_deliveries(at(5)?, 10),
    )?;
    let [mail, ciso] = first.as_slice() else {
        return Err(format!("two mailings due at their queueing: {first:?}"));
    };
    if mail.tenant != acme || mail.due_at != at(0)? || mail.state != DeliveryState::Pending {
        return Err(format!("a queued mailing reads back as {mail:?}"));
    }
    if !ok(
        "claim_report_delivery",
        store.claim_report_delivery(mail.id, at(5)?, at(60)?),
    )? {
        return Err("a pending mailing could not be claimed".into());
    }
    // A second claimer at the same time finds it taken.
    if ok(
        "claim_report_delivery",
        store.claim_report_delivery(mail.id, at(5)?, at(60)?),
    )? {
        return Err("a claimed mailing was claimed again within its lease".into());
    }
    if due(59)?.len() != 1 {
        return Err("a claimed mailing was due within its lease".into());
    }
    let retry = DeliveryOutcome::Retry {
        error: "SMTP refused".into(),
        at: at(500)?,
    };
    let retried = ok(
        "record_report_delivery",
        store.record_report_delivery(ciso.id, &retry, at(6)?),
    )?;
    if retried.attempts != 1 || retried.last_error.as_deref() != Some("SMTP refused") {
        return Err(format!("after a retry: {retried:?}"));
    }
    let delivered = ok(
        "record_report_delivery",
        store.record_report_delivery(mail.id, &DeliveryOutcome::Delivered, at(7)?),
    )?;
    if delivered.state != DeliveryState::Delivered || delivered.done_at != Some(at(7)?) {
        return Err(format!("after delivery: {delivered:?}"));
    }
    if !matches!(
        store.record_report_delivery(mail.id, &DeliveryOutcome::Delivered, at(8)?),
        Err(MetaError::ReportDeliveryDone { .. })
    ) {
        return Err("a delivered mailing was recorded again".into());
    }
    if !matches!(
        store.record_report_delivery(999_999, &DeliveryOutcome::Delivered, at(8)?),
        Err(MetaError::NoSuchReportDelivery { .. })
    ) {
        return Err("an unknown mailing was recorded".into());
    }
    let failed = DeliveryOutcome::Failed {
        error: "gave up".into(),
    };
    ok(
        "record_report_delivery",
        store.record_report_delivery(ciso.id, &failed, at(600)?),
    )?;
    if due(10_000)? != [("weekly".to_owned(), "soc-mail".to_owned())] {
        return Err(format!("finished mailings still due: {:?}", due(10_000)?));
    }
    let listed = ok(
        "report_deliveries",
        store.report_deliveries(Some(&acme), 10),
    )?;
    let states: Vec<(u64, DeliveryState)> = listed.iter().map(|d| (d.id, d.state)).collect();
    if states
        != [
            (ciso.id, DeliveryState::Failed),
            (mail.id, DeliveryState::Delivered),
        ]
    {
        return Err(format!("acme's mailings, newest first: {states:?}"));
    }
    if ok("report_deliveries", store.report_deliveries(None, 10))?.len() != 3
        || ok("report_deliveries", store.report_deliveries(None, 1))?.len() != 1
    {
        return Err("listing every tenant's mailings, or its limit, is wrong".into());
    }
    Ok(())
}
