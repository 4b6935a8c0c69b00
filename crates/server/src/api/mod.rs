//! The HTTPS API (axum over hyper and rustls): the routes over everything the server keeps, each
//! behind the one permission it names ([`auth::Authorised`]), documented by the OpenAPI document
//! generated from the same route table ([`doc`]), errors as RFC 9457 problems ([`problem`]).
//!
//! TLS by default, with a self-signed certificate made on first start unless one is configured;
//! plain HTTP only on a loopback address and only when `[api] plain_http = true`. Connections
//! are bounded, headers must arrive within 10 s, bodies are capped.

pub mod auth;
pub mod compat;
pub mod console;
pub mod doc;
pub mod metrics;
pub mod problem;
mod routes;
mod stream;
pub mod tls;
pub mod views;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::MethodRouter;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use shieldwall_collect::sources::tls::TlsServer;
use shieldwall_store::{EventStore, MetaStore};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::access::Access;
use crate::config::ApiSettings;
use auth::ClientAddr;
use doc::RouteDoc;
pub use metrics::{Metrics, StatusCell};

/// Everything a handler reaches.
pub struct ApiContext {
    /// Sign-in.
    pub access: Arc<Access>,
    /// The relational store.
    pub meta: Arc<dyn MetaStore>,
    /// The event store.
    pub events: Arc<dyn EventStore>,
    /// The data directory (tenants' manifests live under it).
    pub data_dir: PathBuf,
    /// The detection rules directory, when one is configured.
    pub rules_dir: Option<PathBuf>,
    /// How rule files are read (placeholders), to check uploads as the loader will.
    pub rule_settings: shieldwall_detect::RuleSettings,
    /// The settings.
    pub settings: ApiSettings,
    /// Counters and latencies.
    pub metrics: Arc<Metrics>,
    /// The server's latest status (sources, pipeline, detection).
    pub status: Arc<StatusCell>,
    /// Each source's name and tenant.
    pub source_tenants: Vec<(String, String)>,
    /// The OpenAPI document, rendered once.
    pub openapi: Arc<String>,
    /// The baseline jobs, their runs and the tenants' uploaded policies.
    pub baseline: Arc<crate::baseline_runs::Runner>,
    /// The scheduled reports (`[[report]]`).
    pub report_schedules: Arc<Vec<crate::report_schedule::Schedule>>,
}

/// The state handlers share.
pub type AppState = Arc<ApiContext>;

/// The router under construction, with the documentation of every route added.
pub struct Routes {
    router: Router<AppState>,
    docs: Vec<&'static RouteDoc>,
}

impl Routes {
    /// Adds a route: its documentation and its handler.
    pub fn add(mut self, doc: &'static RouteDoc, handler: MethodRouter<AppState>) -> Routes {
        self.router = self.router.route(doc.path, handler);
        self.docs.push(doc);
        self
    }
}

/// Every route's documentation, in the order they are served.
pub fn route_docs() -> Vec<&'static RouteDoc> {
    routes::all(Routes {
        router: Router::new(),
        docs: Vec::new(),
    })
    .docs
}

/// The OpenAPI document of the routes served (pretty JSON, as committed in `docs/openapi.json`).
pub fn openapi_json() -> String {
    let mut text = serde_json::to_string_pretty(&doc::openapi(&route_docs())).unwrap_or_default();
    text.push('\n');
    text
}

/// The application: every route, the body limit and the metrics layer.
pub fn app(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    let routes = routes::all(Routes {
        router: Router::new(),
        docs: Vec::new(),
    });
    let tls = !state.settings.plain_http;
    routes
        .router
        .merge(console::router())
        .fallback(|| async { problem::Problem::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            problem::Problem::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this route does not take that method (see /api/v1/openapi.json)",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            max_body,
            read_whole_body,
        ))
        .layer(axum::middleware::from_fn(deadline))
        .layer(axum::middleware::from_fn_with_state(
            tls,
            console::security_headers,
        ))
        .with_state(state)
}

/// Reads the whole request body (up to the limit) before any handler or extractor runs. A
/// request refused before its body was read (an unauthenticated POST, a forbidden upload) would
/// otherwise leave unread bytes on the connection, and closing a socket with unread data makes
/// the kernel reset it: the client may then lose the answer it was sent (seen as "EOF occurred
/// in violation of protocol" under TLS). Bodies are capped, so this holds at most
/// `max_body_bytes` per connection.
async fn read_whole_body(
    axum::extract::State(limit): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(axum::extract::Request::from_parts(
                parts,
                axum::body::Body::from(bytes),
            ))
            .await
        }
        Err(_) => problem::Problem::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            "Request body too large",
            format!("request bodies may be at most {limit} bytes ([api] max_body_bytes)"),
        )
        .into_response(),
    }
}

/// The longest a request may take to arrive and be answered (the answer's body may stream on).
const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// Ends a request that is not answered within [`REQUEST_DEADLINE`]: a client trickling its
/// body holds a connection slot no longer than that.
async fn deadline(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(request)).await {
        Ok(response) => response,
        Err(_) => problem::Problem::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "Request timeout",
            "the request was not received and answered within 30 s",
        )
        .into_response(),
    }
}

/// Serves `app` on `listener` until `shutdown`, over TLS unless `tls` is `None`; at most
/// `max_connections` at once (more are closed at once).
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsServer>,
    app: Router,
    max_connections: usize,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("API: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        while connections.try_join_next().is_some() {}
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!("API: {max_connections} connections open; closing one from {peer}");
            continue;
        };
        let app = app.clone();
        let tls = tls.clone();
        let stop = shutdown.child_token();
        connections.spawn(async move {
            let _permit = permit;
            match tls {
                Some(tls) => match tls.accept(stream).await {
                    Ok((stream, _)) => connection(stream, peer, app, stop).await,
                    Err(e) => tracing::debug!("API: TLS handshake with {peer} failed: {e}"),
                },
                None => connection(stream, peer, app, stop).await,
            }
        });
    }
    // Let requests in flight finish (each connection shuts down gracefully).
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

async fn connection<S>(stream: S, peer: SocketAddr, app: Router, stop: CancellationToken)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = app.map_request(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ClientAddr(peer));
            request
        },
    );
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .max_buf_size(96 * 1024);
    let served = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(served);
    tokio::select! {
        result = served.as_mut() => {
            if let Err(e) = result {
                tracing::debug!("API: connection with {peer}: {e}");
            }
        }
        () = stop.cancelled() => {
            served.as_mut().graceful_shutdown();
            let _ = served.await;
        }
    }
}
