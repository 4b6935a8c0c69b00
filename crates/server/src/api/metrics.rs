//! Prometheus metrics (text format 0.0.4), served to system administrators: API requests and
//! their latency per route, and from the server's latest status the ingest counters, queue
//! depths, drops, rule evaluation and alert counts.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::run::Status;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Latency {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The API's own counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<MetricsInner>,
}

#[derive(Debug, Default)]
struct MetricsInner {
    /// (method, route, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// (method, route) → latency.
    latency: BTreeMap<(String, String), Latency>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        *inner
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let latency = inner
            .latency
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        latency.count += 1;
        latency.sum += seconds;
        for (bucket, bound) in latency.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
    }
}

/// The latest status the server wrote, for metrics and the sources' health.
#[derive(Debug, Default)]
pub struct StatusCell(Mutex<Option<Status>>);

impl StatusCell {
    /// Replaces the status.
    pub fn set(&self, status: Status) {
        if let Ok(mut cell) = self.0.lock() {
            *cell = Some(status);
        }
    }

    /// A copy of the latest status, if one was written.
    pub fn get(&self) -> Option<Status> {
        self.0.lock().ok().and_then(|cell| cell.clone())
    }
}

/// The middleware that counts requests by matched route (never by raw path, which a client
/// chooses: the label set stays bounded).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    // A client chooses the method too: anything but the usual ones is counted as one label.
    let method = match request.method().as_str() {
        known @ ("GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "OPTIONS" | "PATCH") => known,
        _ => "other",
    }
    .to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

fn label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics text.
pub fn render(metrics: &Metrics, status: Option<&Status>) -> String {
    let mut out = String::new();
    if let Ok(inner) = metrics.inner.lock() {
        out.push_str("# HELP shieldwall_api_requests_total API requests by route and status.\n# TYPE shieldwall_api_requests_total counter\n");
        for ((method, route, code), count) in &inner.requests {
            let _ = writeln!(
                out,
                "shieldwall_api_requests_total{{method=\"{method}\",route=\"{}\",status=\"{code}\"}} {count}",
                label(route)
            );
        }
        out.push_str("# HELP shieldwall_api_request_duration_seconds API latency by route.\n# TYPE shieldwall_api_request_duration_seconds histogram\n");
        for ((method, route), latency) in &inner.latency {
            let route = label(route);
            for (bound, count) in BUCKETS.iter().zip(latency.counts) {
                let _ = writeln!(
                    out,
                    "shieldwall_api_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "shieldwall_api_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"+Inf\"}} {}\nshieldwall_api_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\"}} {}\nshieldwall_api_request_duration_seconds_count{{method=\"{method}\",route=\"{route}\"}} {}",
                latency.count, latency.sum, latency.count
            );
        }
    }
    let Some(status) = status else {
        return out;
    };
    let mut gauge = |name: &str, help: &str, kind: &str, samples: Vec<(String, f64)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let one = |value: u64| vec![(String::new(), value as f64)];
    gauge(
        "shieldwall_spool_pending_records",
        "Records waiting in the spool.",
        "gauge",
        one(status.spool_pending),
    );
    gauge(
        "shieldwall_spool_bytes",
        "Bytes the spool occupies.",
        "gauge",
        one(status.spool_bytes),
    );
    let p = &status.pipeline;
    gauge(
        "shieldwall_pipeline_read_total",
        "Records the pipeline read from the spool.",
        "counter",
        one(p.read),
    );
    gauge(
        "shieldwall_pipeline_written_total",
        "Events written to the store.",
        "counter",
        one(p.written),
    );
    gauge(
        "shieldwall_pipeline_unparsed_total",
        "Records no parser recognised.",
        "counter",
        one(p.unparsed),
    );
    gauge(
        "shieldwall_pipeline_bad_envelopes_total",
        "Spool records that could not be decoded.",
        "counter",
        one(p.bad_envelopes),
    );
    gauge(
        "shieldwall_pipeline_dropped_total",
        "Records dropped by a drop rule.",
        "counter",
        p.dropped
            .iter()
            .map(|(rule, n)| (format!("{{rule=\"{}\"}}", label(rule)), *n as f64))
            .collect(),
    );
    let by_source = |value: fn(&shieldwall_collect::health::SourceSnapshot) -> f64| {
        status
            .sources
            .iter()
            .map(|s| (format!("{{source=\"{}\"}}", label(&s.name)), value(s)))
            .collect::<Vec<_>>()
    };
    gauge(
        "shieldwall_source_accepted_total",
        "Messages a source accepted.",
        "counter",
        by_source(|s| s.accepted as f64),
    );
    gauge(
        "shieldwall_source_dropped_total",
        "Messages a source dropped.",
        "counter",
        by_source(|s| s.dropped as f64),
    );
    gauge(
        "shieldwall_source_rate",
        "Messages per second at the last health check.",
        "gauge",
        by_source(|s| s.rate),
    );
    gauge(
        "shieldwall_source_silent",
        "1 when a source is silent for longer than expected.",
        "gauge",
        by_source(|s| f64::from(u8::from(s.silent))),
    );
    let d = &status.detection;
    gauge(
        "shieldwall_detection_evaluated_total",
        "Events evaluated by detection rules.",
        "counter",
        one(d.evaluated),
    );
    gauge(
        "shieldwall_detection_evaluation_seconds_total",
        "Time spent evaluating detection and correlation rules.",
        "counter",
        vec![(String::new(), d.evaluation_seconds)],
    );
    gauge(
        "shieldwall_alerts_raised_total",
        "Alerts raised.",
        "counter",
        one(d.alerts.raised),
    );
    gauge(
        "shieldwall_alerts_merged_total",
        "Alert repeats merged into an open alert.",
        "counter",
        one(d.alerts.merged),
    );
    gauge(
        "shieldwall_alerts_pending",
        "Alerts waiting to be written.",
        "gauge",
        vec![(String::new(), d.alerts.pending as f64)],
    );
    let n = &status.notifications;
    let per_channel = |map: &BTreeMap<String, u64>| {
        map.iter()
            .map(|(c, v)| (format!("{{channel=\"{}\"}}", label(c)), *v as f64))
            .collect::<Vec<_>>()
    };
    gauge(
        "shieldwall_notifications_delivered_total",
        "Notifications delivered.",
        "counter",
        per_channel(&n.delivered),
    );
    gauge(
        "shieldwall_notifications_failed_total",
        "Notifications given up.",
        "counter",
        per_channel(&n.failed),
    );
    out
}
