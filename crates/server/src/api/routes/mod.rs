//! Every route, grouped: sign-in and the caller's own things, system administration, and the
//! tenant routes. The extractors here turn malformed input into problem details.

mod baseline;
mod compliance;
mod overview;
mod reports;
mod rules;
mod session;
mod system;
mod tenant;

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::problem::Problem;
use super::{AppState, Routes};

/// Declares a route's documentation as a static [`RouteDoc`](super::doc::RouteDoc).
macro_rules! route {
    ($name:ident, $method:ident, $path:literal, $op:literal, $summary:literal, $guard:expr,
     query: $query:expr, request: $request:expr, $status:literal, $response:expr) => {
        static $name: RouteDoc = RouteDoc {
            method: Method::$method,
            path: $path,
            operation: $op,
            summary: $summary,
            guard: $guard,
            query: $query,
            request: $request,
            status: $status,
            response: $response,
        };
    };
}
pub(crate) use route;

/// Every route of the API.
pub(super) fn all(routes: Routes) -> Routes {
    let routes = session::routes(routes);
    let routes = system::routes(routes);
    let routes = tenant::routes(routes);
    let routes = rules::routes(routes);
    let routes = baseline::routes(routes);
    let routes = overview::routes(routes);
    let routes = reports::routes(routes);
    compliance::routes(routes)
}

/// Query parameters, refused as a problem when malformed.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|e| Problem::invalid(e.body_text()))
    }
}

/// A JSON body, refused as a problem when malformed.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Problem> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|j| Body(j.0))
            .map_err(|e| Problem::invalid(e.body_text()))
    }
}

/// The `{id}` of a route: a positive integer, else nothing is there.
pub struct Id(pub u64);

impl FromRequestParts<AppState> for Id {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        path_param(parts, state, "id")
            .await?
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Id)
            .ok_or_else(|| Problem::not_found("no such id"))
    }
}

/// The value of the route's path parameter `key` (empty when it has none).
pub(super) async fn path_param(
    parts: &mut Parts,
    state: &AppState,
    key: &str,
) -> Result<String, Problem> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| Problem::invalid(e.body_text()))?;
    Ok(params
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value.to_owned())
        .unwrap_or_default())
}
