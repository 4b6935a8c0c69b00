//! Who is asking, and may they: the extractors every handler takes. [`Authorised`] is the only
//! way a handler gets a [`Grant`], and with it the one scope (tenant) it may hand to the store;
//! a handler that does not take one cannot reach a tenant's data. Refusals are recorded in the
//! audit trail.

use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{Method, header};
use jiff::Timestamp;
use serde_json::json;
use shieldwall_auth::permission::{Grant, Principal, authorise};
use shieldwall_auth::token;
use shieldwall_core::Scope;
use shieldwall_store::meta::{AuditKind, AuditOutcome};
use subtle::ConstantTimeEq;

use super::AppState;
use super::problem::{Problem, blocking};
use crate::access::{Origin, record};

/// The console session's cookie.
pub const SESSION_COOKIE: &str = "sw_session";
/// The header the console echoes its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The client's address, put on every request by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// How the principal proved itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A console session (the token from its cookie).
    Session(String),
    /// An API token.
    Token,
}

/// A signed-in principal, with where the request comes from.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who.
    pub principal: Principal,
    /// How.
    pub credential: Credential,
    /// For the audit trail.
    pub origin: Origin,
}

/// The client address of a request, as the audit trail records it.
pub fn address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ClientAddr>()
        .map_or_else(|| "unknown".to_owned(), |a| a.0.ip().to_string())
}

/// The client address of a request, as an extractor.
#[derive(Debug, Clone)]
pub struct Client(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(address(parts)))
    }
}

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let address = address(parts);
        let now = Timestamp::now();
        let access = state.access.clone();
        if let Some(presented) = bearer(parts) {
            let presented = presented.to_owned();
            let principal = blocking(move || Ok(access.api_token(&presented, now)?)).await?;
            return Ok(SignedIn {
                origin: Origin {
                    address,
                    actor: principal.account.clone(),
                },
                principal,
                credential: Credential::Token,
            });
        }
        let Some(session) = cookie(parts, SESSION_COOKIE).map(str::to_owned) else {
            return Err(Problem::unauthenticated(
                "sign in (POST /api/v1/login) or send an API token as a bearer token",
            ));
        };
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let expected = token::csrf_token(&session);
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(Problem::forbidden(
                    "a console request that changes something must send the session's CSRF token in the X-CSRF-Token header",
                ));
            }
        }
        let presented = session.clone();
        let principal = blocking(move || Ok(access.session(&presented, now)?)).await?;
        Ok(SignedIn {
            origin: Origin {
                address,
                actor: principal.account.clone(),
            },
            principal,
            credential: Credential::Session(session),
        })
    }
}

pub use shieldwall_auth::permission::{Permission, can};

/// A request allowed to take `P`'s action in the scope of its path: its tenant, or the system
/// for routes without one.
#[derive(Debug)]
pub struct Authorised<P: Permission> {
    /// The proof, with the scope.
    pub grant: Grant,
    /// For the audit trail.
    pub origin: Origin,
    /// How the principal signed in.
    pub credential: Credential,
    permission: PhantomData<P>,
}

impl<P: Permission> Authorised<P> {
    /// The tenant of a tenant route.
    pub fn tenant(&self) -> Result<&shieldwall_core::TenantId, Problem> {
        self.grant
            .tenant()
            .ok_or_else(|| Problem::internal("a tenant route was authorised system-wide"))
    }
}

impl<P: Permission> FromRequestParts<AppState> for Authorised<P> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let signed_in = SignedIn::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| Problem::invalid(e.to_string()))?;
        let scope = match params.iter().find(|(name, _)| *name == "tenant") {
            Some((_, tenant)) => tenant
                .parse::<Scope>()
                .ok()
                .filter(|scope| *scope != Scope::System)
                .ok_or_else(|| Problem::not_found(format!("{tenant:?} is not a tenant id")))?,
            None => Scope::System,
        };
        match authorise(&signed_in.principal, &scope, P::ACTION) {
            Ok(grant) => Ok(Authorised {
                grant,
                origin: signed_in.origin,
                credential: signed_in.credential,
                permission: PhantomData,
            }),
            Err(denied) => {
                let meta = state.meta.clone();
                // A refusal in a tenant that does not exist goes to the system chain: a caller
                // cannot make chains by naming tenants.
                let chain = match &scope {
                    Scope::Tenant(tenant) => {
                        let meta = meta.clone();
                        let tenant = tenant.clone();
                        let known =
                            blocking(move || Ok(meta.tenants()?.iter().any(|t| t.id == tenant)))
                                .await?;
                        if known { scope.clone() } else { Scope::System }
                    }
                    Scope::System => Scope::System,
                };
                let audit = record(
                    chain,
                    Timestamp::now(),
                    AuditKind::Denied,
                    &signed_in.origin,
                    parts.uri.path(),
                    &format!("{} {}", parts.method, parts.uri.path()),
                    AuditOutcome::Denied,
                )
                .with_detail(json!({"permission": P::ACTION, "reason": denied.to_string()}));
                blocking(move || Ok(meta.append_audit(&audit)?)).await?;
                Err(Problem::forbidden(denied.to_string()))
            }
        }
    }
}
