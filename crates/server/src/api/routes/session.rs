//! Health, the OpenAPI document, sign-in and sign-out, and the caller's own account and tokens.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use shieldwall_auth::password;
use shieldwall_auth::token::{self, TokenKind};
use shieldwall_store::meta::{AuditKind, AuditOutcome, NewApiToken};

use super::{Body, Id, Params, route};
use crate::access::record;
use crate::api::auth::{Client, Credential, SESSION_COOKIE, SignedIn};
use crate::api::doc::{Body as Out, Guard, Method, RouteDoc, schema};
use crate::api::problem::{Problem, blocking};
use crate::api::views::{
    HealthView, LoginRequest, MeBinding, MeView, NewTokenView, PageQuery, PasswordRequest,
    SessionView, TokenRequest, TokenView, page_size,
};
use crate::api::{AppState, Routes};

route!(HEALTH, Get, "/health", "health", "Liveness: the process serves requests.", Guard::Public,
    query: None, request: None, 200, Out::Json(schema::<HealthView>));
route!(READY, Get, "/ready", "ready", "Readiness: the metadata store answers and the pipeline has reported.", Guard::Public,
    query: None, request: None, 200, Out::Json(schema::<HealthView>));
route!(OPENAPI, Get, "/api/v1/openapi.json", "openapi", "This API's OpenAPI 3.1 document.", Guard::Public,
    query: None, request: None, 200, Out::Json(schema::<serde_json::Map<String, serde_json::Value>>));
route!(LOGIN, Post, "/api/v1/login", "login", "Sign in with name, password and TOTP code; sets the session cookie.", Guard::Public,
    query: None, request: Some(schema::<LoginRequest>), 200, Out::Json(schema::<SessionView>));
route!(LOGOUT, Post, "/api/v1/logout", "logout", "End the console session.", Guard::SignedIn,
    query: None, request: None, 204, Out::Empty);
route!(ME, Get, "/api/v1/me", "me", "Who is asking, and under which bindings.", Guard::SignedIn,
    query: None, request: None, 200, Out::Json(schema::<MeView>));
route!(MY_TOKENS, Get, "/api/v1/me/tokens", "listOwnTokens", "The caller's API tokens.", Guard::SignedIn,
    query: Some(schema::<PageQuery>), request: None, 200, Out::Json(schema::<Vec<TokenView>>));
route!(NEW_TOKEN, Post, "/api/v1/me/tokens", "createOwnToken", "Create an API token for one of the caller's bindings (console sessions only).", Guard::SignedIn,
    query: None, request: Some(schema::<TokenRequest>), 201, Out::Json(schema::<NewTokenView>));
route!(REVOKE_MY_TOKEN, Delete, "/api/v1/me/tokens/{id}", "revokeOwnToken", "Revoke one of the caller's API tokens.", Guard::SignedIn,
    query: None, request: None, 204, Out::Empty);
route!(PASSWORD, Post, "/api/v1/me/password", "changeOwnPassword", "Change the caller's password (console sessions only; other sessions end).", Guard::SignedIn,
    query: None, request: Some(schema::<PasswordRequest>), 204, Out::Empty);

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .add(&HEALTH, get(health))
        .add(&READY, get(ready))
        .add(&OPENAPI, get(openapi))
        .add(&LOGIN, post(login))
        .add(&LOGOUT, post(logout))
        .add(&ME, get(me))
        .add(&MY_TOKENS, get(my_tokens))
        .add(&NEW_TOKEN, post(new_token))
        .add(&REVOKE_MY_TOKEN, delete(revoke_my_token))
        .add(&PASSWORD, post(change_password))
}

async fn health() -> Json<HealthView> {
    Json(HealthView {
        status: "ok".to_owned(),
    })
}

async fn ready(State(state): State<AppState>) -> Response {
    let meta = state.meta.clone();
    let store = blocking(move || Ok(meta.schema_version()?)).await;
    let status = match (store, state.status.get()) {
        (Err(_), _) => "the metadata store does not answer",
        (Ok(_), None) => "the pipeline has not reported yet",
        (Ok(_), Some(_)) => "ok",
    };
    let code = if status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if code == StatusCode::OK {
        (
            code,
            Json(HealthView {
                status: status.to_owned(),
            }),
        )
            .into_response()
    } else {
        Problem::new(code, "not-ready", "Not ready", status).into_response()
    }
}

async fn openapi(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        state.openapi.as_str().to_owned(),
    )
        .into_response()
}

async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    Body(request): Body<LoginRequest>,
) -> Result<Response, Problem> {
    let access = state.access.clone();
    let secure = !state.settings.plain_http;
    let lifetime = state.settings.session_hours;
    let logged_in = blocking(move || {
        Ok(access.login(
            &request.name,
            &request.password,
            &request.code,
            &client,
            Timestamp::now(),
        )?)
    })
    .await?;
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        logged_in.session,
        u64::from(lifetime) * 3600,
        if secure { "; Secure" } else { "" }
    );
    let view = SessionView {
        account: (&logged_in.account).into(),
        csrf: logged_in.csrf,
        expires_at: logged_in.expires_at,
    };
    let mut response = Json(view).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn logout(State(state): State<AppState>, who: SignedIn) -> Result<Response, Problem> {
    let Credential::Session(session) = who.credential else {
        return Err(Problem::invalid(
            "an API token has no session to end; revoke it instead",
        ));
    };
    let access = state.access.clone();
    blocking(move || Ok(access.logout(&session, &who.origin, Timestamp::now())?)).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("sw_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

async fn me(who: SignedIn) -> Response {
    let mut response = Json(MeView {
        account: who.principal.account.clone(),
        bindings: who
            .principal
            .bindings
            .iter()
            .map(|(id, scope, role)| MeBinding {
                id: *id,
                scope: scope.as_str().to_owned(),
                role: (*role).into(),
            })
            .collect(),
        token: who.principal.token_id.is_some(),
        csrf: match &who.credential {
            Credential::Session(session) => Some(shieldwall_auth::token::csrf_token(session)),
            Credential::Token => None,
        },
    })
    .into_response();
    // It carries the CSRF token.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The one binding an API token acts under (`None` for a console session).
fn own_binding(who: &SignedIn) -> Option<u64> {
    match who.credential {
        Credential::Token => who.principal.bindings.first().map(|(id, _, _)| *id),
        Credential::Session(_) => None,
    }
}

async fn my_tokens(
    State(state): State<AppState>,
    who: SignedIn,
    Params(page): Params<PageQuery>,
) -> Result<Json<Vec<TokenView>>, Problem> {
    let limit = page_size(page.limit)?;
    let meta = state.meta.clone();
    let account = who.principal.account_id;
    let only = own_binding(&who);
    let tokens = blocking(move || {
        Ok(meta.api_tokens(Some(account), None, page.after.unwrap_or(0), limit)?)
    })
    .await?;
    let tokens: Vec<_> = tokens
        .into_iter()
        .filter(|t| only.is_none_or(|b| t.binding.id == b))
        .collect();
    Ok(Json(tokens.iter().map(TokenView::from).collect()))
}

async fn new_token(
    State(state): State<AppState>,
    who: SignedIn,
    Body(request): Body<TokenRequest>,
) -> Result<(StatusCode, Json<NewTokenView>), Problem> {
    if who.credential == Credential::Token {
        return Err(Problem::forbidden(
            "API tokens are created from a console session (with its second factor), not by another token",
        ));
    }
    let Some((_, scope, role)) = who
        .principal
        .bindings
        .iter()
        .find(|(id, _, _)| *id == request.binding_id)
    else {
        return Err(Problem::not_found(format!(
            "you hold no binding {}",
            request.binding_id
        )));
    };
    let days = request.days.unwrap_or(state.settings.token_days);
    if !(1..=366).contains(&days) {
        return Err(Problem::invalid("days must be between 1 and 366"));
    }
    let issued = token::issue(TokenKind::Api).map_err(Problem::internal)?;
    let now = Timestamp::now();
    let new = NewApiToken {
        digest: issued.digest,
        binding_id: request.binding_id,
        name: request.name.clone(),
        created_at: now,
        expires_at: now + SignedDuration::from_hours(24 * i64::from(days)),
    };
    let audit = record(
        scope.clone(),
        now,
        AuditKind::Change,
        &who.origin,
        &format!("token:{}", request.name),
        "create_token",
        AuditOutcome::Success,
    )
    .with_detail(json!({"binding": request.binding_id, "role": role, "days": days}));
    let meta = state.meta.clone();
    let created = blocking(move || Ok(meta.create_api_token(&new, &audit)?)).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenView {
            token: issued.text.clone(),
            details: (&created).into(),
        }),
    ))
}

async fn revoke_my_token(
    State(state): State<AppState>,
    who: SignedIn,
    Id(id): Id,
) -> Result<StatusCode, Problem> {
    let meta = state.meta.clone();
    let account = who.principal.account_id;
    let only = own_binding(&who);
    blocking(move || {
        // Only the caller's own tokens are found here (an API token: only those of its own
        // binding); another's id is "not found".
        let mine = meta.api_tokens(Some(account), None, id - 1, 1)?;
        let Some(token) = mine
            .into_iter()
            .find(|t| t.id == id && only.is_none_or(|b| t.binding.id == b))
        else {
            return Err(Problem::not_found(format!("you have no API token {id}")));
        };
        let now = Timestamp::now();
        let audit = record(
            token.binding.scope.clone(),
            now,
            AuditKind::Change,
            &who.origin,
            &format!("token:{}", token.name),
            "revoke_token",
            AuditOutcome::Success,
        );
        meta.revoke_api_token(id, now, &audit)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change_password(
    State(state): State<AppState>,
    who: SignedIn,
    Body(request): Body<PasswordRequest>,
) -> Result<StatusCode, Problem> {
    if who.credential == Credential::Token {
        return Err(Problem::forbidden(
            "a password is changed from a console session",
        ));
    }
    let access = state.access.clone();
    blocking(move || {
        let meta = access.meta();
        // Under the login backoff, and a wrong password is recorded as a failed login: a stolen
        // session cannot be used to guess the password at leisure.
        access
            .recheck_password(
                &who.principal.account,
                &request.current,
                &who.origin.address,
                Timestamp::now(),
            )
            .map_err(|e| match e {
                crate::access::AccessError::InvalidCredentials => {
                    Problem::forbidden("the current password is wrong")
                }
                other => other.into(),
            })?;
        let hash = password::hash(&request.new, access.cost())
            .map_err(|e| Problem::invalid(e.to_string()))?;
        let audit = record(
            shieldwall_core::Scope::System,
            Timestamp::now(),
            AuditKind::Change,
            &who.origin,
            &format!("account:{}", who.principal.account),
            "change_password",
            AuditOutcome::Success,
        );
        meta.set_password(who.principal.account_id, &hash, &audit)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
