//! Errors of the API as RFC 9457 problem details (`application/problem+json`): one shape for
//! every failure, with a stable `type` per kind, so that clients branch on `type`, not on text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Serialize;
use shieldwall_store::meta::MetaError;

use crate::access::AccessError;

/// A problem detail.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:shieldwall:problem:<kind>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case.
    pub detail: String,
    /// Seconds to wait before trying again (with status 429).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem of `kind` with `status`.
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:shieldwall:problem:{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed or invalid.
    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
            detail,
        )
    }

    /// 401: no valid credentials.
    pub fn unauthenticated(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Not signed in",
            detail,
        )
    }

    /// 403: not allowed.
    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
    }

    /// 404: nothing there (for this principal).
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// 409: conflicts with what exists.
    pub fn conflict(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// 500: our fault; the detail is logged, not shown.
    pub fn internal(detail: impl std::fmt::Display) -> Problem {
        tracing::error!("API: {detail}");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed; the error is in its log",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<MetaError> for Problem {
    fn from(error: MetaError) -> Problem {
        match error {
            MetaError::Invalid { .. }
            | MetaError::InvalidAlert { .. }
            | MetaError::InvalidDeletion { .. } => Problem::invalid(error.to_string()),
            MetaError::InvalidRetention { .. } => Problem::invalid(error.to_string()),
            MetaError::Exists { .. } | MetaError::SeparationOfDuties { .. } => {
                Problem::conflict(error.to_string())
            }
            MetaError::AlertState { .. } => Problem::conflict(error.to_string()),
            MetaError::NotFound { .. } | MetaError::NoSuchAlert { .. } => {
                Problem::not_found(error.to_string())
            }
            other => Problem::internal(other),
        }
    }
}

impl From<AccessError> for Problem {
    fn from(error: AccessError) -> Problem {
        match error {
            AccessError::Store(e) => e.into(),
            AccessError::InvalidCredentials | AccessError::Unauthenticated => {
                Problem::unauthenticated(error.to_string())
            }
            AccessError::TooSoon { retry_after_secs } => Problem {
                retry_after: Some(retry_after_secs),
                ..Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-attempts",
                    "Too many attempts",
                    error.to_string(),
                )
            },
            AccessError::Password(e) => Problem::invalid(e.to_string()),
            AccessError::AlreadyInitialised(_) => Problem::conflict(error.to_string()),
            other => Problem::internal(other),
        }
    }
}

/// Runs store work on a blocking thread (SQLite and tantivy calls block).
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(Problem::internal)?
}
