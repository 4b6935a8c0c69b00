//! System administration: tenants, accounts, bindings in any scope, every API token, the
//! system's audit chain, metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use jiff::Timestamp;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use shieldwall_core::{Role, Scope, TenantId};
use shieldwall_store::meta::{AuditKind, AuditOutcome, Tenant};

use super::{Body, Id, Params, route};
use crate::access::record;
use crate::api::auth::{Authorised, can};
use crate::api::doc::{Body as Out, Guard, Method, RouteDoc, schema};
use crate::api::problem::{Problem, blocking};
use crate::api::views::{
    AccountRequest, AccountView, AuditPage, AuditQuery, BindingView, DisabledRequest,
    NewAccountView, PageQuery, RoleName, TenantRequest, TenantView, TokenView, page_size,
};
use crate::api::{AppState, Routes, metrics};
use shieldwall_auth::permission::Action;

/// A binding to create in any scope (system administrators of the whole system).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopedBindingRequest {
    /// The account.
    #[schemars(range(min = 1))]
    pub account_id: u64,
    /// A tenant id, or `*` for the whole system.
    #[schemars(regex(pattern = r"^(\*|[a-z0-9][a-z0-9_-]{0,62})$"))]
    pub scope: String,
    /// The role.
    pub role: RoleName,
}

route!(TENANTS, Get, "/api/v1/system/tenants", "listTenants", "Every tenant.",
    Guard::Permission(Action::ManageTenants), query: None, request: None, 200,
    Out::Json(schema::<Vec<TenantView>>));
route!(NEW_TENANT, Post, "/api/v1/system/tenants", "createTenant", "Create a tenant.",
    Guard::Permission(Action::ManageTenants), query: None,
    request: Some(schema::<TenantRequest>), 201, Out::Json(schema::<TenantView>));
route!(ACCOUNTS, Get, "/api/v1/system/accounts", "listAccounts", "Every account, by id.",
    Guard::Permission(Action::ManageAccounts), query: Some(schema::<PageQuery>), request: None,
    200, Out::Json(schema::<Vec<AccountView>>));
route!(NEW_ACCOUNT, Post, "/api/v1/system/accounts", "createAccount",
    "Create an account with system-wide roles (system_admin or audit_admin) or none.",
    Guard::Permission(Action::ManageAccounts), query: None,
    request: Some(schema::<AccountRequest>), 201, Out::Json(schema::<NewAccountView>));
route!(DISABLE, Put, "/api/v1/system/accounts/{id}/disabled", "setAccountDisabled",
    "Disable or enable an account (disabling ends its sessions).",
    Guard::Permission(Action::ManageAccounts), query: None,
    request: Some(schema::<DisabledRequest>), 204, Out::Empty);
route!(NEW_BINDING, Post, "/api/v1/system/bindings", "createBinding",
    "Bind an account to a role in any tenant or system-wide.",
    Guard::Permission(Action::ManageAccounts), query: None,
    request: Some(schema::<ScopedBindingRequest>), 201, Out::Json(schema::<BindingView>));
route!(REMOVE_BINDING, Delete, "/api/v1/system/bindings/{id}", "removeBinding",
    "Remove a binding in any scope (and the API tokens under it).",
    Guard::Permission(Action::ManageAccounts), query: None, request: None, 204, Out::Empty);
route!(TOKENS, Get, "/api/v1/system/tokens", "listTokens", "Every API token.",
    Guard::Permission(Action::ManageAccounts), query: Some(schema::<PageQuery>), request: None,
    200, Out::Json(schema::<Vec<TokenView>>));
route!(REVOKE_TOKEN, Delete, "/api/v1/system/tokens/{id}", "revokeToken",
    "Revoke any API token.", Guard::Permission(Action::ManageAccounts), query: None,
    request: None, 204, Out::Empty);
route!(AUDIT, Get, "/api/v1/system/audit", "listSystemAudit",
    "The system's audit chain (logins, accounts, tenants), newest first.",
    Guard::Permission(Action::ReadAudit), query: Some(schema::<AuditQuery>), request: None,
    200, Out::Json(schema::<AuditPage>));
route!(AUDIT_EXPORT, Get, "/api/v1/system/audit/export", "exportSystemAudit",
    "The whole system audit chain as NDJSON, oldest first, with hashes.",
    Guard::Permission(Action::ExportAudit), query: None, request: None, 200,
    Out::Text("application/x-ndjson"));
route!(METRICS, Get, "/api/v1/system/metrics", "metrics",
    "Prometheus metrics: ingest, queues, drops, rule evaluation, alerts, API latency.",
    Guard::Permission(Action::ReadMetrics), query: None, request: None, 200,
    Out::Text("text/plain"));

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .add(&TENANTS, get(tenants))
        .add(&NEW_TENANT, post(new_tenant))
        .add(&ACCOUNTS, get(accounts))
        .add(&NEW_ACCOUNT, post(new_account))
        .add(&DISABLE, put(set_disabled))
        .add(&NEW_BINDING, post(new_binding))
        .add(&REMOVE_BINDING, delete(remove_binding))
        .add(&TOKENS, get(tokens))
        .add(&REVOKE_TOKEN, delete(revoke_token))
        .add(&AUDIT, get(audit))
        .add(&AUDIT_EXPORT, get(audit_export))
        .add(&METRICS, get(metrics_text))
}

async fn tenants(
    _: Authorised<can::ManageTenants>,
    State(state): State<AppState>,
) -> Result<Json<Vec<TenantView>>, Problem> {
    let meta = state.meta.clone();
    let tenants = blocking(move || Ok(meta.tenants()?)).await?;
    Ok(Json(tenants.iter().map(TenantView::from).collect()))
}

async fn new_tenant(
    auth: Authorised<can::ManageTenants>,
    State(state): State<AppState>,
    Body(request): Body<TenantRequest>,
) -> Result<(StatusCode, Json<TenantView>), Problem> {
    let id = TenantId::new(request.id.as_str()).map_err(|e| Problem::invalid(e.to_string()))?;
    let now = Timestamp::now();
    let tenant = Tenant {
        id,
        name: request.name,
        created_at: now,
    };
    let audit = record(
        Scope::System,
        now,
        AuditKind::Change,
        &auth.origin,
        &format!("tenant:{}", tenant.id),
        "create_tenant",
        AuditOutcome::Success,
    )
    .with_detail(json!({"name": tenant.name}));
    let meta = state.meta.clone();
    let created = tenant.clone();
    blocking(move || Ok(meta.create_tenant(&created, &audit)?)).await?;
    Ok((StatusCode::CREATED, Json((&tenant).into())))
}

async fn accounts(
    _: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Params(page): Params<PageQuery>,
) -> Result<Json<Vec<AccountView>>, Problem> {
    let limit = page_size(page.limit)?;
    let meta = state.meta.clone();
    let accounts =
        blocking(move || Ok(meta.accounts(None, page.after.unwrap_or(0), limit)?)).await?;
    Ok(Json(accounts.iter().map(AccountView::from).collect()))
}

/// Creates an account with `roles` in `scope` (shared with the tenant route).
pub(super) async fn create_account(
    state: &AppState,
    origin: &crate::access::Origin,
    scope: Scope,
    request: AccountRequest,
) -> Result<(StatusCode, Json<NewAccountView>), Problem> {
    let access = state.access.clone();
    let origin = origin.clone();
    let view = blocking(move || {
        let now = Timestamp::now();
        let (account, secret) = access.new_credentials(&request.name, &request.password, now)?;
        let bindings: Vec<(Scope, Role)> = request
            .roles
            .iter()
            .map(|role| (scope.clone(), Role::from(*role)))
            .collect();
        let audit = record(
            Scope::System,
            now,
            AuditKind::Change,
            &origin,
            &format!("account:{}", request.name),
            "create_account",
            AuditOutcome::Success,
        )
        .with_detail(json!({"scope": scope, "roles": request.roles}));
        let created = access.meta().create_account(&account, &bindings, &audit)?;
        Ok(NewAccountView {
            otpauth_uri: secret.otpauth_uri(crate::access::TOTP_ISSUER, &created.name),
            account: (&created).into(),
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn new_account(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Body(request): Body<AccountRequest>,
) -> Result<(StatusCode, Json<NewAccountView>), Problem> {
    create_account(&state, &auth.origin, Scope::System, request).await
}

async fn set_disabled(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Id(id): Id,
    Body(request): Body<DisabledRequest>,
) -> Result<StatusCode, Problem> {
    let meta = state.meta.clone();
    blocking(move || {
        let action = if request.disabled {
            "disable_account"
        } else {
            "enable_account"
        };
        let audit = record(
            Scope::System,
            Timestamp::now(),
            AuditKind::Change,
            &auth.origin,
            &format!("account:{id}"),
            action,
            AuditOutcome::Success,
        );
        Ok(meta.set_disabled(id, request.disabled, &audit)?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn new_binding(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Body(request): Body<ScopedBindingRequest>,
) -> Result<(StatusCode, Json<BindingView>), Problem> {
    let scope: Scope = request
        .scope
        .parse()
        .map_err(|e| Problem::invalid(format!("scope: {e}")))?;
    bind(
        &state,
        &auth.origin,
        scope,
        request.account_id,
        request.role,
    )
    .await
}

/// Binds an account in a scope (shared with the tenant route).
pub(super) async fn bind(
    state: &AppState,
    origin: &crate::access::Origin,
    scope: Scope,
    account_id: u64,
    role: RoleName,
) -> Result<(StatusCode, Json<BindingView>), Problem> {
    let meta = state.meta.clone();
    let origin = origin.clone();
    let binding = blocking(move || {
        let now = Timestamp::now();
        let audit = record(
            scope.clone(),
            now,
            AuditKind::Change,
            &origin,
            &format!("account:{account_id}"),
            "bind",
            AuditOutcome::Success,
        )
        .with_detail(json!({"scope": scope, "role": role}));
        Ok(meta.add_binding(account_id, &scope, role.into(), now, &audit)?)
    })
    .await?;
    Ok((StatusCode::CREATED, Json((&binding).into())))
}

/// Removes a binding, which must be in `scope` when one is given (shared with the tenant route).
pub(super) async fn unbind(
    state: &AppState,
    origin: &crate::access::Origin,
    scope: Option<Scope>,
    id: u64,
) -> Result<StatusCode, Problem> {
    let meta = state.meta.clone();
    let origin = origin.clone();
    blocking(move || {
        let binding = meta
            .binding(id)?
            .filter(|b| scope.as_ref().is_none_or(|s| *s == b.scope))
            .ok_or_else(|| Problem::not_found(format!("no role binding {id} here")))?;
        let audit = record(
            binding.scope.clone(),
            Timestamp::now(),
            AuditKind::Change,
            &origin,
            &format!("account:{}", binding.account_id),
            "unbind",
            AuditOutcome::Success,
        )
        .with_detail(json!({"binding": id, "role": binding.role}));
        Ok(meta.remove_binding(id, &audit)?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_binding(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, Problem> {
    unbind(&state, &auth.origin, None, id).await
}

async fn tokens(
    _: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Params(page): Params<PageQuery>,
) -> Result<Json<Vec<TokenView>>, Problem> {
    list_tokens(&state, None, page).await
}

/// A page of API tokens, of bindings in `scope` when one is given (shared with the tenant route).
pub(super) async fn list_tokens(
    state: &AppState,
    scope: Option<Scope>,
    page: PageQuery,
) -> Result<Json<Vec<TokenView>>, Problem> {
    let limit = page_size(page.limit)?;
    let meta = state.meta.clone();
    let tokens = blocking(move || {
        Ok(meta.api_tokens(None, scope.as_ref(), page.after.unwrap_or(0), limit)?)
    })
    .await?;
    Ok(Json(tokens.iter().map(TokenView::from).collect()))
}

/// Revokes a token, which must be under a binding in `scope` when one is given.
pub(super) async fn revoke(
    state: &AppState,
    origin: &crate::access::Origin,
    scope: Option<Scope>,
    id: u64,
) -> Result<StatusCode, Problem> {
    let meta = state.meta.clone();
    let origin = origin.clone();
    blocking(move || {
        let found = meta
            .api_tokens(None, scope.as_ref(), id - 1, 1)?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| Problem::not_found(format!("no API token {id} here")))?;
        let now = Timestamp::now();
        let audit = record(
            found.binding.scope.clone(),
            now,
            AuditKind::Change,
            &origin,
            &format!("token:{}", found.name),
            "revoke_token",
            AuditOutcome::Success,
        )
        .with_detail(json!({"token": id, "account": found.account}));
        meta.revoke_api_token(id, now, &audit)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn revoke_token(
    auth: Authorised<can::ManageAccounts>,
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<StatusCode, Problem> {
    revoke(&state, &auth.origin, None, id).await
}

async fn audit(
    auth: Authorised<can::ReadAudit>,
    State(state): State<AppState>,
    Params(query): Params<AuditQuery>,
) -> Result<Json<AuditPage>, Problem> {
    super::tenant::audit_page(&state, &auth.origin, Scope::System, query).await
}

async fn audit_export(
    auth: Authorised<can::ExportAudit>,
    State(state): State<AppState>,
) -> Result<Response, Problem> {
    super::tenant::audit_ndjson(&state, &auth.origin, Scope::System).await
}

async fn metrics_text(_: Authorised<can::ReadMetrics>, State(state): State<AppState>) -> Response {
    let text = metrics::render(&state.metrics, state.status.get().as_ref());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response()
}
