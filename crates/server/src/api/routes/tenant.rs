//! The tenant routes: events, alerts, the tenant's audit chain, its accounts, bindings and
//! tokens, its sources. The tenant comes from the path and reaches the store only through the
//! handler's `Authorised` grant.

use std::ops::ControlFlow;

use axum::Json;
use axum::body::{Body as ResponseBody, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use jiff::Timestamp;
use serde_json::json;
use shieldwall_auth::permission::Action;
use shieldwall_core::Scope;
use shieldwall_query::Aggregation;
use shieldwall_store::Selection;
use shieldwall_store::meta::{
    AlertAction, AlertChange, AlertFilter, AuditFilter, AuditKind, AuditOutcome,
};

use super::route;
use super::system::{bind, create_account, list_tokens, revoke, unbind};
use super::{Body, Id, Params};
use crate::access::{Origin, record};
use crate::api::auth::{Authorised, can};
use crate::api::doc::{Body as Out, Guard, Method, RouteDoc, schema};
use crate::api::problem::{Problem, blocking};
use crate::api::views::{
    AccountRequest, AccountView, AggregateQuery, AggregateView, AlertActionRequest, AlertDetail,
    AlertPage, AlertQuery, AlertView, AuditPage, AuditQuery, AuditRecordView, BindingRequest,
    BindingView, EventPage, EventQuery, NewAccountView, PageQuery, SourceView, TokenView,
    page_size,
};
use crate::api::{AppState, Routes, stream};

route!(EVENTS, Get, "/api/v1/tenants/{tenant}/events", "searchEvents",
    "Search the tenant's events, newest first (the search is recorded in the audit trail).",
    Guard::Permission(Action::ReadEvents), query: Some(schema::<EventQuery>), request: None,
    200, Out::Json(schema::<EventPage>));
route!(AGGREGATE, Get, "/api/v1/tenants/{tenant}/events/aggregate", "aggregateEvents",
    "Count, top values, histogram and distinct counts over the tenant's matching events.",
    Guard::Permission(Action::ReadEvents), query: Some(schema::<AggregateQuery>),
    request: None, 200, Out::Json(schema::<AggregateView>));
route!(ALERTS, Get, "/api/v1/tenants/{tenant}/alerts", "listAlerts",
    "The tenant's alerts, newest first.", Guard::Permission(Action::ReadAlerts),
    query: Some(schema::<AlertQuery>), request: None, 200, Out::Json(schema::<AlertPage>));
route!(ALERT, Get, "/api/v1/tenants/{tenant}/alerts/{id}", "getAlert",
    "One alert with its history.", Guard::Permission(Action::ReadAlerts), query: None,
    request: None, 200, Out::Json(schema::<AlertDetail>));
route!(ALERT_ACTION, Post, "/api/v1/tenants/{tenant}/alerts/{id}/actions", "changeAlert",
    "Acknowledge, close, reopen, assign or comment on an alert.",
    Guard::Permission(Action::HandleAlerts), query: None,
    request: Some(schema::<AlertActionRequest>), 200, Out::Json(schema::<AlertView>));
route!(AUDIT, Get, "/api/v1/tenants/{tenant}/audit", "listTenantAudit",
    "The tenant's audit chain, newest first (the read is recorded).",
    Guard::Permission(Action::ReadAudit), query: Some(schema::<AuditQuery>), request: None,
    200, Out::Json(schema::<AuditPage>));
route!(AUDIT_EXPORT, Get, "/api/v1/tenants/{tenant}/audit/export", "exportTenantAudit",
    "The tenant's whole audit chain as NDJSON, oldest first, with hashes.",
    Guard::Permission(Action::ExportAudit), query: None, request: None, 200,
    Out::Text("application/x-ndjson"));
route!(ACCOUNTS, Get, "/api/v1/tenants/{tenant}/accounts", "listTenantAccounts",
    "Accounts holding a role in the tenant.", Guard::Permission(Action::ManageAccounts),
    query: Some(schema::<PageQuery>), request: None, 200,
    Out::Json(schema::<Vec<AccountView>>));
route!(NEW_ACCOUNT, Post, "/api/v1/tenants/{tenant}/accounts", "createTenantAccount",
    "Create an account with roles in the tenant.", Guard::Permission(Action::ManageAccounts),
    query: None, request: Some(schema::<AccountRequest>), 201,
    Out::Json(schema::<NewAccountView>));
route!(NEW_BINDING, Post, "/api/v1/tenants/{tenant}/bindings", "createTenantBinding",
    "Give an account a role in the tenant.", Guard::Permission(Action::ManageAccounts),
    query: None, request: Some(schema::<BindingRequest>), 201,
    Out::Json(schema::<BindingView>));
route!(REMOVE_BINDING, Delete, "/api/v1/tenants/{tenant}/bindings/{id}",
    "removeTenantBinding", "Remove a role binding of the tenant (and its API tokens).",
    Guard::Permission(Action::ManageAccounts), query: None, request: None, 204, Out::Empty);
route!(TOKENS, Get, "/api/v1/tenants/{tenant}/tokens", "listTenantTokens",
    "API tokens acting in the tenant.", Guard::Permission(Action::ManageAccounts),
    query: Some(schema::<PageQuery>), request: None, 200, Out::Json(schema::<Vec<TokenView>>));
route!(REVOKE_TOKEN, Delete, "/api/v1/tenants/{tenant}/tokens/{id}", "revokeTenantToken",
    "Revoke an API token acting in the tenant.", Guard::Permission(Action::ManageAccounts),
    query: None, request: None, 204, Out::Empty);
route!(SOURCES, Get, "/api/v1/tenants/{tenant}/sources", "listSources",
    "The tenant's log sources and their health.", Guard::Permission(Action::ReadSources),
    query: None, request: None, 200, Out::Json(schema::<Vec<SourceView>>));

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .add(&EVENTS, get(search))
        .add(&AGGREGATE, get(aggregate))
        .add(&ALERTS, get(alerts))
        .add(&ALERT, get(alert))
        .add(&ALERT_ACTION, post(change_alert))
        .add(&AUDIT, get(audit))
        .add(&AUDIT_EXPORT, get(audit_export))
        .add(&ACCOUNTS, get(accounts))
        .add(&NEW_ACCOUNT, post(new_account))
        .add(&NEW_BINDING, post(new_binding))
        .add(&REMOVE_BINDING, delete(remove_binding))
        .add(&TOKENS, get(tokens))
        .add(&REVOKE_TOKEN, delete(revoke_token))
        .add(&SOURCES, get(sources))
}

/// The longest query text the API takes, in characters (a URL carries it, percent-encoded, within
/// the connection's 96 KiB header limit; the query language itself allows more, for files).
const MAX_API_QUERY: usize = 4096;

fn selection(q: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<Selection, Problem> {
    let text = q.unwrap_or("");
    if text.chars().count() > MAX_API_QUERY {
        return Err(Problem::invalid(format!(
            "the query has {} characters; the API takes at most {MAX_API_QUERY}",
            text.chars().count()
        )));
    }
    let query = if text.trim().is_empty() {
        shieldwall_query::Query::All
    } else {
        shieldwall_query::parse(text).map_err(|e| Problem::invalid(e.render(text)))?
    };
    let now = Timestamp::now();
    let time = |text: Option<&str>, name: &str| {
        text.map(|t| {
            shieldwall_query::parse_time(t, now)
                .map_err(|e| Problem::invalid(format!("{name} {t:?}: {e}")))
        })
        .transpose()
    };
    Ok(Selection {
        query,
        from: time(from, "from")?,
        to: time(to, "to")?,
    })
}

async fn search(
    auth: Authorised<can::ReadEvents>,
    State(state): State<AppState>,
    Params(query): Params<EventQuery>,
) -> Result<Json<EventPage>, Problem> {
    let tenant = auth.tenant()?.clone();
    let limit = page_size(query.limit)?;
    let selection = selection(
        query.q.as_deref(),
        query.from.as_deref(),
        query.to.as_deref(),
    )?;
    let audit = record(
        Scope::Tenant(tenant.clone()),
        Timestamp::now(),
        AuditKind::Search,
        &auth.origin,
        "events",
        "search",
        AuditOutcome::Success,
    )
    .with_detail(json!({"q": query.q, "from": query.from, "to": query.to, "limit": limit}));
    let (meta, events) = (state.meta.clone(), state.events.clone());
    let page = blocking(move || {
        meta.append_audit(&audit)?;
        let mut found = Vec::new();
        let outcome = events
            .search(&tenant, &selection, limit, &mut |event| {
                found.push(event);
                ControlFlow::Continue(())
            })
            .map_err(Problem::internal)?;
        let next_to = (found.len() == limit)
            .then(|| found.last().map(|e| e.time.to_string()))
            .flatten();
        let events = found
            .iter()
            .filter_map(|e| match serde_json::to_value(e) {
                Ok(serde_json::Value::Object(map)) => Some(map),
                _ => None,
            })
            .collect();
        Ok(EventPage {
            events,
            next_to,
            unreadable: outcome.unreadable,
        })
    })
    .await?;
    Ok(Json(page))
}

fn fields(list: Option<&str>) -> Vec<String> {
    list.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn aggregate(
    auth: Authorised<can::ReadEvents>,
    State(state): State<AppState>,
    Params(query): Params<AggregateQuery>,
) -> Result<Json<AggregateView>, Problem> {
    let tenant = auth.tenant()?.clone();
    let selection = selection(
        query.q.as_deref(),
        query.from.as_deref(),
        query.to.as_deref(),
    )?;
    let top = query.top.unwrap_or(10);
    if !(1..=1000).contains(&top) {
        return Err(Problem::invalid("top must be between 1 and 1000"));
    }
    let mut aggregations = Vec::new();
    for field in fields(query.count_by.as_deref()) {
        check_field(&field)?;
        aggregations.push(Aggregation::CountBy { field, top });
    }
    if let Some(interval) = &query.interval {
        let interval = shieldwall_query::parse_interval(interval)
            .map_err(|e| Problem::invalid(format!("interval: {e}")))?;
        aggregations.push(Aggregation::Histogram { interval });
    }
    for field in fields(query.distinct.as_deref()) {
        check_field(&field)?;
        aggregations.push(Aggregation::Distinct { field });
    }
    if aggregations.len() > 16 {
        return Err(Problem::invalid("at most 16 aggregations per request"));
    }
    let audit = record(
        Scope::Tenant(tenant.clone()),
        Timestamp::now(),
        AuditKind::Search,
        &auth.origin,
        "events",
        "aggregate",
        AuditOutcome::Success,
    )
    .with_detail(json!({"q": query.q, "from": query.from, "to": query.to,
        "count_by": query.count_by, "interval": query.interval, "distinct": query.distinct}));
    let (meta, events) = (state.meta.clone(), state.events.clone());
    let view = blocking(move || {
        meta.append_audit(&audit)?;
        let total = events
            .count(&tenant, &selection)
            .map_err(Problem::internal)?;
        let results = events
            .aggregate(&tenant, &selection, &aggregations)
            .map_err(Problem::internal)?
            .iter()
            .filter_map(|r| match serde_json::to_value(r) {
                Ok(serde_json::Value::Object(map)) => Some(map),
                _ => None,
            })
            .collect();
        Ok(AggregateView { total, results })
    })
    .await?;
    Ok(Json(view))
}

fn check_field(field: &str) -> Result<(), Problem> {
    if shieldwall_query::is_field_name(field) {
        Ok(())
    } else {
        Err(Problem::invalid(format!("{field:?} is not a field name")))
    }
}

async fn alerts(
    auth: Authorised<can::ReadAlerts>,
    State(state): State<AppState>,
    Params(query): Params<AlertQuery>,
) -> Result<Json<AlertPage>, Problem> {
    let limit = page_size(query.limit)?;
    let filter = AlertFilter {
        tenant: Some(auth.tenant()?.clone()),
        state: query.state.map(|s| match s {
            crate::api::views::AlertStateName::New => shieldwall_core::AlertState::New,
            crate::api::views::AlertStateName::Acknowledged => {
                shieldwall_core::AlertState::Acknowledged
            }
            crate::api::views::AlertStateName::Closed => shieldwall_core::AlertState::Closed,
        }),
        rule_id: query.rule.clone(),
        min_severity: query.min_severity.map(Into::into),
        before: query.before,
        limit,
    };
    let meta = state.meta.clone();
    let found = blocking(move || Ok(meta.alerts(&filter)?)).await?;
    let next_before = (found.len() == limit)
        .then(|| found.last().map(|a| a.id))
        .flatten();
    Ok(Json(AlertPage {
        items: found.iter().map(AlertView::from).collect(),
        next_before,
    }))
}

async fn alert(
    auth: Authorised<can::ReadAlerts>,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<AlertDetail>, Problem> {
    let tenant = auth.tenant()?.clone();
    let meta = state.meta.clone();
    let detail = blocking(move || {
        let alert = meta
            .alert(&tenant, id)?
            .ok_or_else(|| Problem::not_found(format!("tenant {tenant} has no alert {id}")))?;
        let history = meta.alert_history(&tenant, id)?;
        Ok(AlertDetail {
            alert: (&alert).into(),
            history: history.iter().map(Into::into).collect(),
        })
    })
    .await?;
    Ok(Json(detail))
}

async fn change_alert(
    auth: Authorised<can::HandleAlerts>,
    State(state): State<AppState>,
    Id(id): Id,
    Body(request): Body<AlertActionRequest>,
) -> Result<Json<AlertView>, Problem> {
    let tenant = auth.tenant()?.clone();
    let action = match request {
        AlertActionRequest::Acknowledge => AlertAction::Acknowledge,
        AlertActionRequest::Close { resolution } => AlertAction::Close { resolution },
        AlertActionRequest::Reopen => AlertAction::Reopen,
        AlertActionRequest::Assign { assignee } => AlertAction::Assign { assignee },
        AlertActionRequest::Comment { text } => AlertAction::Comment { text },
    };
    let now = Timestamp::now();
    let audit = record(
        Scope::Tenant(tenant.clone()),
        now,
        AuditKind::Change,
        &auth.origin,
        &format!("alert:{id}"),
        "change_alert",
        AuditOutcome::Success,
    )
    .with_detail(serde_json::to_value(&action).unwrap_or_default());
    let change = AlertChange {
        action,
        actor: auth.grant.account().to_owned(),
        at: now,
    };
    let meta = state.meta.clone();
    let changed =
        blocking(move || Ok(meta.change_alert_audited(&tenant, id, &change, &audit)?)).await?;
    Ok(Json((&changed).into()))
}

/// A page of a chain's audit records; the read itself is recorded first.
pub(super) async fn audit_page(
    state: &AppState,
    origin: &Origin,
    chain: Scope,
    query: AuditQuery,
) -> Result<Json<AuditPage>, Problem> {
    let limit = page_size(query.limit)?;
    let time = |text: Option<&str>, name: &str| {
        text.map(|t| {
            t.parse::<Timestamp>()
                .map_err(|e| Problem::invalid(format!("{name} {t:?}: {e}")))
        })
        .transpose()
    };
    let filter = AuditFilter {
        chain: chain.clone(),
        since: time(query.since.as_deref(), "since")?,
        until: time(query.until.as_deref(), "until")?,
        kind: query.kind.and_then(|k| {
            serde_json::to_value(k)
                .ok()
                .and_then(|v| v.as_str().and_then(AuditKind::parse))
        }),
        actor: query.actor.clone(),
        before_seq: query.before,
        after_seq: None,
        limit,
    };
    let read = record(
        chain.clone(),
        Timestamp::now(),
        AuditKind::AuditRead,
        origin,
        &format!("audit:{chain}"),
        "list",
        AuditOutcome::Success,
    )
    .with_detail(
        json!({"since": query.since, "until": query.until, "type": query.kind,
        "actor": query.actor, "before": query.before, "limit": limit}),
    );
    let meta = state.meta.clone();
    let records = blocking(move || {
        meta.append_audit(&read)?;
        Ok(meta.audit_records(&filter)?)
    })
    .await?;
    let next_before = (records.len() == limit)
        .then(|| records.last().map(|r| r.seq))
        .flatten();
    Ok(Json(AuditPage {
        items: records.iter().map(AuditRecordView::from).collect(),
        next_before,
    }))
}

/// A whole chain as NDJSON, oldest first, streamed; the export is recorded first.
pub(super) async fn audit_ndjson(
    state: &AppState,
    origin: &Origin,
    chain: Scope,
) -> Result<Response, Problem> {
    let read = record(
        chain.clone(),
        Timestamp::now(),
        AuditKind::AuditRead,
        origin,
        &format!("audit:{chain}"),
        "export",
        AuditOutcome::Success,
    );
    let meta = state.meta.clone();
    {
        let meta = meta.clone();
        blocking(move || Ok(meta.append_audit(&read)?)).await?;
    }
    let body = stream::from_blocking(move |sender| {
        let mut after = 0;
        loop {
            let filter = AuditFilter {
                chain: chain.clone(),
                since: None,
                until: None,
                kind: None,
                actor: None,
                before_seq: None,
                after_seq: Some(after),
                limit: 1000,
            };
            let page = match meta.audit_records(&filter) {
                Ok(page) => page,
                Err(e) => {
                    let _ = sender.blocking_send(Err(std::io::Error::other(e.to_string())));
                    return;
                }
            };
            let Some(last) = page.last().map(|r| r.seq) else {
                return;
            };
            let mut chunk = Vec::new();
            for r in &page {
                if serde_json::to_writer(&mut chunk, &exported(r)).is_err() {
                    return;
                }
                chunk.push(b'\n');
            }
            if sender.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                return;
            }
            after = last;
        }
    });
    let mut response = ResponseBody::new(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}

/// One exported record: the fields exactly as stored and hashed (docs/audit.md gives the hash),
/// so that the export can be checked without the server.
fn exported(record: &shieldwall_store::meta::AuditRecord) -> serde_json::Value {
    let fields = record.record.stored_fields().ok();
    let field = |f: fn(&shieldwall_store::meta::audit::StoredFields) -> &String| {
        fields.as_ref().map(f).cloned().unwrap_or_default()
    };
    json!({
        "seq": record.seq,
        "chain": field(|f| &f.chain),
        "at": field(|f| &f.at),
        "type": field(|f| &f.kind),
        "actor": field(|f| &f.actor),
        "address": field(|f| &f.address),
        "object": field(|f| &f.object),
        "action": field(|f| &f.action),
        "outcome": field(|f| &f.outcome),
        "detail": field(|f| &f.detail),
        "prev_hash": shieldwall_store::meta::audit::to_hex(&record.prev_hash),
        "hash": shieldwall_store::meta::audit::to_hex(&record.hash),
    })
}

async fn audit(
    auth: Authorised<can::ReadAudit>,
    State(state): State<AppState>,
    Params(query): Params<AuditQuery>,
) -> Result<Json<AuditPage>, Problem> {
    audit_page(&state, &auth.origin, auth.grant.scope().clone(), query).await
}

async fn audit_export(
    auth: Authorised<can::ExportAudit>,
    State(state): State<AppState>,
) -> Result<Response, Problem> {
    audit_ndjson(&state, &auth.origin, auth.grant.scope().clone()).await
}

async fn accounts(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Params(page): Params<PageQuery>,
) -> Result<Json<Vec<AccountView>>, Problem> {
    let limit = page_size(page.limit)?;
    let scope = auth.grant.scope().clone();
    let meta = state.meta.clone();
    let accounts =
        blocking(move || Ok(meta.accounts(Some(&scope), page.after.unwrap_or(0), limit)?)).await?;
    // Only the bindings in this tenant are shown: the others are not this tenant's business.
    Ok(Json(
        accounts
            .iter()
            .map(|a| {
                let mut view = AccountView::from(a);
                view.bindings
                    .retain(|b| b.scope == auth.grant.scope().as_str());
                view
            })
            .collect(),
    ))
}

async fn new_account(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Body(request): Body<AccountRequest>,
) -> Result<(StatusCode, Json<NewAccountView>), Problem> {
    create_account(&state, &auth.origin, auth.grant.scope().clone(), request).await
}

async fn new_binding(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Body(request): Body<BindingRequest>,
) -> Result<(StatusCode, Json<BindingView>), Problem> {
    // A tenant's administrator binds only accounts that hold no role anywhere else (made here,
    // or left without a role): other tenants' accounts are not theirs to see or to bind, and the
    // answer is the same whether the account exists or not.
    let meta = state.meta.clone();
    let scope = auth.grant.scope().clone();
    let account_id = request.account_id;
    blocking(move || {
        let foreign = match meta.account(account_id)? {
            None => true,
            Some(account) => account.bindings.iter().any(|b| b.scope != scope),
        };
        if foreign {
            Err(Problem::not_found(format!(
                "no account {account_id} that this tenant can bind"
            )))
        } else {
            Ok(())
        }
    })
    .await?;
    bind(
        &state,
        &auth.origin,
        auth.grant.scope().clone(),
        request.account_id,
        request.role,
    )
    .await
}

async fn remove_binding(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, Problem> {
    unbind(&state, &auth.origin, Some(auth.grant.scope().clone()), id).await
}

async fn tokens(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Params(page): Params<PageQuery>,
) -> Result<Json<Vec<TokenView>>, Problem> {
    list_tokens(&state, Some(auth.grant.scope().clone()), page).await
}

async fn revoke_token(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, Problem> {
    revoke(&state, &auth.origin, Some(auth.grant.scope().clone()), id).await
}

async fn sources(
    auth: Authorised<can::ReadSources>,
    State(state): State<AppState>,
) -> Result<Json<Vec<SourceView>>, Problem> {
    let tenant = auth.tenant()?.as_str().to_owned();
    let status = state.status.get();
    let views = status
        .map(|status| {
            status
                .sources
                .iter()
                .filter(|s| {
                    state
                        .source_tenants
                        .iter()
                        .any(|(name, t)| *name == s.name && *t == tenant)
                })
                .map(|s| SourceView {
                    name: s.name.clone(),
                    kind: s.kind.clone(),
                    accepted: s.accepted,
                    dropped: s.dropped,
                    rate: s.rate,
                    silent: s.silent,
                    last_seen: s.last_seen,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(views))
}
