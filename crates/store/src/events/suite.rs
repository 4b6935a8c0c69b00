//! The behaviour every [`EventStore`] must show, as checks that return their failures instead
//! of panicking, so that each implementation's tests run the same list (`tests/event_store.rs`).
//!
//! `open` opens a store in the given directory; checks call it again on the same directory to
//! test what survives a reopen (the previous store is dropped first).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;
use shieldwall_core::event::{Endpoint, User};
use shieldwall_core::{Event, RecordId, TenantId};
use shieldwall_query::{Aggregation, Query};

use super::{AggregationResult, EventStore, Selection};
use crate::meta::RetentionPolicy;

/// Opens a store in a directory.
pub type Open<'a> = &'a dyn Fn(&Path) -> Result<Box<dyn EventStore>, String>;

type Check = fn(Open<'_>, &Path) -> Result<(), String>;

/// Runs every check, each in a fresh directory under `scratch`; returns the failures.
pub fn run(open: Open<'_>, scratch: &Path) -> Vec<String> {
    let checks: [(&str, Check); 13] = [
        ("append_commit_search", append_commit_search),
        ("uncommitted_is_invisible", uncommitted_is_invisible),
        (
            "duplicates_are_dropped_also_after_reopen",
            duplicates_after_reopen,
        ),
        ("tenants_are_isolated", tenants_are_isolated),
        ("field_queries", field_queries),
        ("full_text_and_wildcards", full_text_and_wildcards),
        ("ranges_and_time", ranges_and_time),
        ("aggregations", aggregations),
        ("delete_by_query", delete_by_query),
        ("retention", retention),
        (
            "events_far_from_their_receipt_age_from_receipt",
            far_from_receipt,
        ),
        ("backup_opens_with_the_same_events", backup),
        ("export_streams_everything", export),
    ];
    let mut failures = Vec::new();
    for (name, check) in checks {
        let dir = scratch.join(name);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            failures.push(format!("{name}: cannot create {}: {e}", dir.display()));
            continue;
        }
        if let Err(e) = check(open, &dir) {
            failures.push(format!("{name}: {e}"));
        }
    }
    failures
}

fn tenant(name: &str) -> Result<TenantId, String> {
    TenantId::new(name).map_err(|e| e.to_string())
}

fn at(text: &str) -> Result<Timestamp, String> {
    text.parse().map_err(|e| format!("{text}: {e}"))
}

/// A small authentication event, received at 2026-11-02T06:00Z (within any dedupe window of
/// the others).
fn event(tenant: &TenantId, n: u32, time: Timestamp, user: &str, ip: &str, raw: &str) -> Event {
    let received = Timestamp::from_second(1_793_599_200).unwrap_or(time);
    let mut e = Event::unparsed(
        RecordId::derive("event", &[tenant.as_str(), "suite", &n.to_string()]),
        tenant.clone(),
        "suite",
        received,
        raw,
    );
    e.time = time;
    e.message = Some(raw.to_owned());
    e.parser = Some("sshd".into());
    e.user = Some(User {
        name: Some(user.to_owned()),
        ..User::default()
    });
    e.src_endpoint = Some(Endpoint {
        ip: Some(ip.to_owned()),
        port: Some(u16::try_from(1000 + n % 60000).unwrap_or(1000)),
        ..Endpoint::default()
    });
    e.vendor = BTreeMap::from([
        ("EventID".to_owned(), json!(4624 + n % 2)),
        ("Channel".to_owned(), json!("Security")),
    ]);
    e
}

/// Twenty events of tenant `acme`, one per hour from 2026-11-01T08:00Z: sixteen on the first
/// day, four on the second.
fn corpus() -> Result<Vec<Event>, String> {
    let acme = tenant("acme")?;
    let start = at("2026-11-01T08:00:00Z")?;
    (0..20u32)
        .map(|n| {
            let time = start
                .checked_add(jiff::SignedDuration::from_hours(i64::from(n)))
                .map_err(|e| e.to_string())?;
            let user = if n % 4 == 0 { "root" } else { "alice" };
            let ip = format!("10.0.0.{}", n % 3);
            let raw = if n % 5 == 0 {
                format!("Failed password for {user} from {ip} port 22 ssh2")
            } else {
                format!("Accepted publickey for {user} from {ip} port 22 ssh2")
            };
            Ok(event(&acme, n, time, user, &ip, &raw))
        })
        .collect()
}

fn loaded(open: Open<'_>, dir: &Path) -> Result<Box<dyn EventStore>, String> {
    let store = open(dir)?;
    store.append(&corpus()?).map_err(|e| e.to_string())?;
    store.commit().map_err(|e| e.to_string())?;
    Ok(store)
}

fn query(text: &str) -> Result<Selection, String> {
    Ok(Selection {
        query: shieldwall_query::parse(text).map_err(|e| format!("{text}: {e}"))?,
        from: None,
        to: None,
    })
}

fn count(store: &dyn EventStore, text: &str) -> Result<u64, String> {
    store
        .count(&tenant("acme")?, &query(text)?)
        .map_err(|e| format!("{text}: {e}"))
}

fn expect_count(store: &dyn EventStore, text: &str, want: u64) -> Result<(), String> {
    let got = count(store, text)?;
    if got == want {
        Ok(())
    } else {
        Err(format!("`{text}` matched {got} events, expected {want}"))
    }
}

fn collect(
    store: &dyn EventStore,
    selection: &Selection,
    limit: usize,
) -> Result<Vec<Event>, String> {
    let mut out = Vec::new();
    store
        .search(&tenant("acme")?, selection, limit, &mut |e| {
            out.push(e);
            ControlFlow::Continue(())
        })
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn append_commit_search(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = loaded(open, dir)?;
    expect_count(store.as_ref(), "*", 20)?;
    let found = collect(store.as_ref(), &Selection::all(), 5)?;
    let times: Vec<Timestamp> = found.iter().map(|e| e.time).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    if found.len() != 5 || times != sorted {
        return Err(format!(
            "expected the 5 newest, newest first; got {times:?}"
        ));
    }
    let newest = corpus()?.into_iter().max_by_key(|e| e.time);
    if found.first() != newest.as_ref() {
        return Err("the first hit is not the newest event, or it did not come back intact".into());
    }
    Ok(())
}

fn uncommitted_is_invisible(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = open(dir)?;
    store.append(&corpus()?).map_err(|e| e.to_string())?;
    expect_count(store.as_ref(), "*", 0)?;
    store.commit().map_err(|e| e.to_string())?;
    expect_count(store.as_ref(), "*", 20)
}

fn duplicates_after_reopen(open: Open<'_>, dir: &Path) -> Result<(), String> {
    {
        let store = loaded(open, dir)?;
        let again = store.append(&corpus()?).map_err(|e| e.to_string())?;
        if again.added != 0 || again.duplicates != 20 {
            return Err(format!("second append in the same run: {again:?}"));
        }
        store.commit().map_err(|e| e.to_string())?;
    }
    let store = open(dir)?;
    let replay = store.append(&corpus()?).map_err(|e| e.to_string())?;
    store.commit().map_err(|e| e.to_string())?;
    if replay.added != 0 || replay.duplicates != 20 {
        return Err(format!("append after reopen: {replay:?}"));
    }
    expect_count(store.as_ref(), "*", 20)
}

fn tenants_are_isolated(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = loaded(open, dir)?;
    let other = tenant("other")?;
    let time = at("2026-11-01T05:30:00Z")?;
    store
        .append(&[event(
            &other,
            1,
            time,
            "root",
            "10.9.9.9",
            "Failed password for root",
        )])
        .map_err(|e| e.to_string())?;
    store.commit().map_err(|e| e.to_string())?;
    expect_count(store.as_ref(), "*", 20)?;
    let theirs = store
        .count(&other, &Selection::all())
        .map_err(|e| e.to_string())?;
    if theirs != 1 {
        return Err(format!("tenant other has {theirs} events, expected 1"));
    }
    let tenants = store.tenants().map_err(|e| e.to_string())?;
    if tenants.len() != 2 {
        return Err(format!("tenants: {tenants:?}"));
    }
    Ok(())
}

fn field_queries(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = loaded(open, dir)?;
    let s = store.as_ref();
    expect_count(s, "user.name:root", 5)?;
    expect_count(s, "user.name:ROOT", 5)?;
    expect_count(s, "user.name:alice AND src_endpoint.ip:\"10.0.0.1\"", 5)?;
    expect_count(s, "user.name:root OR src_endpoint.ip:\"10.0.0.2\"", 10)?;
    expect_count(s, "NOT user.name:root", 15)?;
    expect_count(s, "-user.name:root", 15)?;
    expect_count(s, "vendor.EventID:4625", 10)?;
    expect_count(s, "vendor.Channel:security", 20)?;
    expect_count(s, "vendor.Channel:*", 20)?;
    expect_count(s, "vendor.Missing:*", 0)?;
    expect_count(s, "parser:sshd", 20)?;
    expect_count(s, "user.name:(root OR nobody)", 5)?;
    Ok(())
}

fn full_text_and_wildcards(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = loaded(open, dir)?;
    let s = store.as_ref();
    expect_count(s, "failed", 4)?;
    expect_count(s, "\"failed password\"", 4)?;
    expect_count(s, "\"password failed\"", 0)?;
    expect_count(s, "message:accepted", 16)?;
    expect_count(s, "publick*", 16)?;
    expect_count(s, "user.name:ro*", 5)?;
    expect_count(s, "user.name:al?ce", 15)?;
    expect_count(s, "src_endpoint.ip:10.0.0.*", 20)?;
    // A message inside its syslog line, and one the line does not hold (a parser's rewording):
    // the words of both are found, phrases too.
    let acme = tenant("acme")?;
    let mut inside = event(
        &acme,
        60,
        at("2026-11-02T05:00:00Z")?,
        "eve",
        "10.2.2.2",
        "",
    );
    inside.raw = "<38>Nov  2 05:00:00 gw sshd[60]: Invalid user zed from 10.2.2.2".into();
    inside.message = Some("Invalid user zed from 10.2.2.2".into());
    let mut reworded = event(
        &acme,
        61,
        at("2026-11-02T05:00:00Z")?,
        "eve",
        "10.2.2.3",
        "",
    );
    reworded.raw = r#"{"msg":"quota","who":"yves"}"#.into();
    reworded.message = Some("Quota exceeded for yves".into());
    store
        .append(&[inside, reworded])
        .and_then(|_| store.commit())
        .map_err(|e| e.to_string())?;
    expect_count(s, "\"invalid user zed\"", 1)?;
    expect_count(s, "message:\"user zed from\"", 1)?;
    expect_count(s, "gw", 1)?;
    expect_count(s, "\"quota exceeded\"", 1)?;
    expect_count(s, "yves", 1)?;
    Ok(())
}

fn ranges_and_time(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = loaded(open, dir)?;
    let s = store.as_ref();
    expect_count(s, "src_endpoint.port:[1000 TO 1004]", 5)?;
    expect_count(s, "src_endpoint.port:{1000 TO 1004}", 3)?;
    expect_count(s, "src_endpoint.port:>=1010", 10)?;
    expect_count(s, "src_endpoint.port:<1002", 2)?;
    expect_count(s, "user.name:[a TO b]", 15)?;
    expect_count(s, "user.name:>=B", 5)?;
    expect_count(s, "user.name:<r", 15)?;
    expect_count(s, "time:[2026-11-01T08:00:00Z TO 2026-11-01T12:00:00Z]", 5)?;
    expect_count(s, "time:{2026-11-01T08:00:00Z TO 2026-11-01T12:00:00Z}", 3)?;
    expect_count(s, "time:>=2026-11-02", 4)?;
    let window = Selection {
        query: Query::All,
        from: Some(at("2026-11-01T10:00:00Z")?),
        to: Some(at("2026-11-01T12:00:00Z")?),
    };
    let n = s
        .count(&tenant("acme")?, &window)
        .map_err(|e| e.to_string())?;
    if n != 2 {
        return Err(format!("[10:00, 12:00) holds {n} events, expected 2"));
    }
    if s.count(&tenant("acme")?, &query("time:root")?).is_ok() {
        return Err("a time field took a plain value".into());
    }
    Ok(())
}

fn aggregations(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = loaded(open, dir)?;
    let results = store
        .aggregate(
            &tenant("acme")?,
            &Selection::all(),
            &[
                Aggregation::CountBy {
                    field: "user.name".into(),
                    top: 1,
                },
                Aggregation::Histogram {
                    interval: Duration::from_secs(86_400),
                },
                Aggregation::Distinct {
                    field: "src_endpoint.ip".into(),
                },
            ],
        )
        .map_err(|e| e.to_string())?;
    let expected_top = AggregationResult::CountBy {
        field: "user.name".into(),
        buckets: vec![("alice".into(), 15)],
        other: 5,
        error_bound: 0,
    };
    match results.as_slice() {
        [
            top,
            AggregationResult::Histogram { buckets, .. },
            AggregationResult::Distinct { count, .. },
        ] => {
            if top != &expected_top {
                return Err(format!("count by user.name: {top:?}"));
            }
            let counts: Vec<u64> = buckets.iter().map(|(_, n)| *n).collect();
            if counts != [20 - 4, 4] {
                return Err(format!("daily histogram: {buckets:?}"));
            }
            if *count != 3 {
                return Err(format!("distinct source addresses: {count}"));
            }
            Ok(())
        }
        other => Err(format!("unexpected results: {other:?}")),
    }
}

fn delete_by_query(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = loaded(open, dir)?;
    let deleted = store
        .delete(&tenant("acme")?, &query("user.name:root")?)
        .map_err(|e| e.to_string())?;
    if deleted != 5 {
        return Err(format!("deleted {deleted}, expected 5"));
    }
    expect_count(store.as_ref(), "*", 15)?;
    drop(store);
    let store = open(dir)?;
    expect_count(store.as_ref(), "user.name:root", 0)
}

/// Retention of one day, applied at 2026-11-02T12:00Z.
fn keep_one_day(
    store: &dyn EventStore,
    tenant: &TenantId,
) -> Result<crate::events::RetentionReport, String> {
    store
        .apply_retention(
            tenant,
            &RetentionPolicy {
                max_age_days: Some(1),
                max_bytes: None,
            },
            at("2026-11-02T12:00:00Z")?,
        )
        .map_err(|e| e.to_string())
}

fn retention(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = loaded(open, dir)?;
    let acme = tenant("acme")?;
    let report = keep_one_day(store.as_ref(), &acme)?;
    if report.removed_days != ["2026-11-01"] {
        return Err(format!("by age: {report:?}"));
    }
    expect_count(store.as_ref(), "*", 4)?;
    let report = store
        .apply_retention(
            &acme,
            &RetentionPolicy {
                max_age_days: None,
                max_bytes: Some(1),
            },
            at("2026-11-02T12:00:00Z")?,
        )
        .map_err(|e| e.to_string())?;
    if !report.removed_days.is_empty() {
        return Err(format!("by size removed the current day: {report:?}"));
    }
    expect_count(store.as_ref(), "*", 4)
}

/// An event whose time is more than a day from its receipt (a clock at 1970, one years ahead, an
/// import of old logs) is kept as long as events received with it, and still found by its time.
fn far_from_receipt(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = loaded(open, dir)?;
    let acme = tenant("acme")?;
    let odd = [
        event(
            &acme,
            50,
            at("1970-01-01T00:00:05Z")?,
            "old",
            "10.9.9.1",
            "epoch",
        ),
        event(
            &acme,
            51,
            at("2031-06-01T00:00:00Z")?,
            "new",
            "10.9.9.2",
            "ahead",
        ),
        event(
            &acme,
            52,
            at("2026-10-01T00:00:00Z")?,
            "month",
            "10.9.9.3",
            "late",
        ),
    ];
    store.append(&odd).map_err(|e| e.to_string())?;
    store.commit().map_err(|e| e.to_string())?;
    expect_count(store.as_ref(), "time:[1970-01-01 TO 1970-01-02]", 1)?;
    expect_count(store.as_ref(), "time:>=2031-01-01", 1)?;
    expect_count(store.as_ref(), "time:[2026-10-01 TO 2026-10-02]", 1)?;
    let report = keep_one_day(store.as_ref(), &acme)?;
    // Received on 2026-11-02 with the four events of that day: all seven stay.
    if report.removed_days != ["2026-11-01"] {
        return Err(format!("by age: {report:?}"));
    }
    expect_count(store.as_ref(), "*", 7)?;
    expect_count(
        store.as_ref(),
        "user.name:old OR user.name:new OR user.name:month",
        3,
    )
}

fn backup(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let live = dir.join("live");
    let copy = dir.join("copy");
    let store = loaded(open, &live)?;
    // Appended but uncommitted at the time of the backup: not part of it.
    let late = event(
        &tenant("acme")?,
        99,
        at("2026-11-01T05:00:00Z")?,
        "eve",
        "10.1.1.1",
        "late",
    );
    store.append(&[late]).map_err(|e| e.to_string())?;
    let report = store.backup(&copy).map_err(|e| e.to_string())?;
    if report.partitions != 2 {
        return Err(format!("backup report: {report:?}"));
    }
    store.commit().map_err(|e| e.to_string())?;
    let restored = open(&copy)?;
    let mut original = Vec::new();
    store
        .export(&tenant("acme")?, &query("NOT user.name:eve")?, &mut |e| {
            original.push(e);
            ControlFlow::Continue(())
        })
        .map_err(|e| e.to_string())?;
    let mut copied = Vec::new();
    restored
        .export(&tenant("acme")?, &Selection::all(), &mut |e| {
            copied.push(e);
            ControlFlow::Continue(())
        })
        .map_err(|e| e.to_string())?;
    original.sort_by_key(|e| e.id.to_string());
    copied.sort_by_key(|e| e.id.to_string());
    if original != copied || copied.len() != 20 {
        return Err(format!(
            "the backup holds {} events, the committed store {} (or they differ)",
            copied.len(),
            original.len()
        ));
    }
    Ok(())
}

fn export(open: Open<'_>, dir: &Path) -> Result<(), String> {
    let store = loaded(open, dir)?;
    let mut seen = Vec::new();
    let outcome = store
        .export(&tenant("acme")?, &Selection::all(), &mut |e| {
            seen.push(e.time);
            ControlFlow::Continue(())
        })
        .map_err(|e| e.to_string())?;
    if outcome.returned != 20 || seen.len() != 20 {
        return Err(format!("exported {}", seen.len()));
    }
    let split = at("2026-11-02T00:00:00Z")?;
    let first_new = seen.iter().position(|t| *t >= split).unwrap_or(seen.len());
    if seen.iter().skip(first_new).any(|t| *t < split) {
        return Err("export is not day by day from the oldest".into());
    }
    let mut stopped = 0;
    store
        .export(&tenant("acme")?, &Selection::all(), &mut |_| {
            stopped += 1;
            if stopped == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .map_err(|e| e.to_string())?;
    if stopped != 3 {
        return Err(format!("export went on after Break: {stopped}"));
    }
    Ok(())
}
