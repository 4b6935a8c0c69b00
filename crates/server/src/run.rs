//! One process: the sources, the spool writer, the pipeline, parser reloading and source health.
//!
//! [`Server::start`] opens the spool (reporting what recovery found), starts the spool writer,
//! binds every source (so that a port in use fails the start, not later), and starts the
//! pipeline thread. [`Server::shutdown`] stops the sources, lets the writer finish what they
//! handed it, lets the pipeline drain the spool, and releases held merge groups. A crash at any
//! point loses nothing that a source acknowledged: the next start replays the spool from its
//! acknowledgement mark.
//!
//! While the configured `[pipeline] pause_file` exists, the pipeline reads nothing (a maintenance
//! switch); the sources keep spooling until the quota. A shutdown while paused does not drain:
//! the unprocessed records stay in the spool for the next start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;
use shieldwall_collect::pipeline::{FlushPolicy, Pipeline, PipelineStats, SourceRules};
use shieldwall_collect::sources::{
    SourceError, file, http::HttpSource, relp::RelpSource, tcp::TcpSource, udp::UdpSource,
};
use shieldwall_collect::{
    HealthBoard, HealthChange, Ingest, IngestConfig, IngestHandle, RecoveryReport, SourceSnapshot,
    Spool, SpoolConfig,
};
use shieldwall_core::event::{EventClass, LogKind};
use shieldwall_core::{Event, RecordId, Severity, TenantId};
use shieldwall_parse::filter::{DropRule, Merger};
use shieldwall_parse::{Normaliser, Registry, SourceProfile};
use shieldwall_store::meta::{MetaStore, SqliteMetaStore};
use shieldwall_store::{EventStore, TantivyStore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{ServeConfig, Transport};
use crate::detection::{Detection, DetectionSnapshot};
use crate::notifier;
use crate::parsers::ParserFiles;
use crate::store_sink::{StoreCounters, StoreSink, StoreSnapshot};

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A directory or file of the data directory is unusable.
    #[error("{}: {message}", path.display())]
    DataDir {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The spool could not be opened.
    #[error(transparent)]
    Spool(#[from] shieldwall_collect::SpoolError),
    /// A source could not start.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The configuration is inconsistent with the parsers (a source names an unknown parser, a
    /// drop rule does not compile).
    #[error("{0}")]
    Setup(String),
    /// The pipeline failed.
    #[error("pipeline: {0}")]
    Pipeline(String),
    /// The event store cannot be opened.
    #[error("event store: {0}")]
    Store(String),
}

/// What the start found and set up.
#[derive(Debug, Clone)]
pub struct Started {
    /// What spool recovery found (damaged segments set aside, torn tails cut).
    pub recovery: RecoveryReport,
    /// Each source's name and bound address.
    pub addresses: Vec<(String, SocketAddr)>,
    /// Parser files rejected at start; the others are in service.
    pub parser_errors: Vec<String>,
    /// The API's address, when it serves.
    pub api: Option<SocketAddr>,
}

/// The status written to `<data_dir>/status.json` at every health check.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// When it was written.
    pub time: Timestamp,
    /// Each source.
    pub sources: Vec<SourceSnapshot>,
    /// Records waiting in the spool.
    pub spool_pending: u64,
    /// Bytes the spool occupies.
    pub spool_bytes: u64,
    /// The pipeline's counters.
    pub pipeline: PipelineStats,
    /// Parser files currently rejected.
    pub parser_errors: Vec<String>,
    /// Whether the pipeline is paused by its `pause_file`.
    pub pipeline_paused: bool,
    /// What the event store took since the start.
    pub store: StoreSnapshot,
    /// Store partitions that cannot be read.
    pub store_unreadable: Vec<String>,
    /// Detection rules in service and their matches.
    pub detection: DetectionSnapshot,
    /// Notifications delivered, retried and given up, by channel.
    pub notifications: notifier::NotifyCounts,
}

/// A running server.
pub struct Server {
    started: Started,
    shutdown: CancellationToken,
    sources: JoinSet<Result<(), SourceError>>,
    ingest: Option<(Ingest, IngestHandle)>,
    pipeline_stop: Arc<AtomicBool>,
    pipeline: Option<JoinHandle<Result<PipelineStats, ServeError>>>,
    /// The API and the audit signer, stopped with `shutdown`.
    background: JoinSet<()>,
    report_mailer: Option<Arc<crate::report_mailer::Mailer>>,
}

impl Server {
    /// Starts everything the configuration describes. Must be called inside a tokio runtime.
    pub async fn start(config: ServeConfig) -> Result<Server, ServeError> {
        Server::start_with(config, true).await
    }

    /// Starts the spool writer and the pipeline, and the sources only when `listen` is true
    /// (`shieldwall import` feeds the spool itself; the sources' handling settings still apply
    /// to their names).
    pub async fn start_with(config: ServeConfig, listen: bool) -> Result<Server, ServeError> {
        let spool_dir = config.data_dir.join("spool");
        let events_dir = config.data_dir.join("events");
        let store_dir = config.data_dir.join("store");
        for dir in [&config.data_dir, &spool_dir] {
            std::fs::create_dir_all(dir).map_err(|e| ServeError::DataDir {
                path: dir.clone(),
                message: e.to_string(),
            })?;
        }
        let mut spool_config = SpoolConfig::new(&spool_dir);
        spool_config.max_bytes = config.spool.max_bytes;
        spool_config.segment_bytes = config.spool.segment_bytes;
        let (spool, recovery) = Spool::open(spool_config)?;
        // Opened before the sources, so that a store of an unknown version, or one another
        // process writes, stops the start before anything is accepted.
        let store = Arc::new(
            TantivyStore::open(&store_dir, config.store.store_config())
                .map_err(|e| ServeError::Store(e.to_string()))?,
        );
        for damaged in store.unreadable() {
            tracing::error!(
                "event store: a partition cannot be read and is left out of searches: {damaged}"
            );
        }
        let store_counters = Arc::new(StoreCounters::default());
        let meta_path = config.data_dir.join("meta.sqlite");
        let meta: Arc<dyn MetaStore> = Arc::new(
            SqliteMetaStore::open(&meta_path).map_err(|e| ServeError::Store(e.to_string()))?,
        );
        let spool = Arc::new(Mutex::new(spool));
        let (ingest, handle) = Ingest::start(Arc::clone(&spool), IngestConfig::default())
            .map_err(|e| ServeError::Pipeline(format!("cannot start the spool writer: {e}")))?;

        let board = Arc::new(HealthBoard::new());
        let mut parser_files = ParserFiles::new(config.parsers.dirs.clone());
        parser_files.refresh();
        let normaliser = build_normaliser(&config, &parser_files)?;
        let rules = build_rules(&config)?;

        let channels = Arc::new(
            notifier::Channels::build(&config.notify, Path::new("")).map_err(ServeError::Setup)?,
        );
        let shutdown = CancellationToken::new();
        let mut background = JoinSet::new();
        let mut report_mailer = None;
        let status_cell = Arc::new(crate::api::StatusCell::default());
        let api = if listen {
            ensure_tenants(meta.as_ref(), &config)?;
            start_audit_signer(&config, Arc::clone(&meta), &shutdown, &mut background)?;
            // Policies load and targets resolve now, so that a bad job stops the start.
            let jobs = crate::baseline::prepare(&config.baseline, &config.base_dir)
                .map_err(ServeError::Setup)?;
            let baseline = Arc::new(crate::baseline_runs::Runner::new(
                jobs,
                Arc::clone(&meta),
                Arc::clone(&channels),
                &config.data_dir,
                config.api.uploaded_command_rules,
            ));
            if !baseline.jobs().is_empty() {
                background.spawn(crate::baseline_runs::schedule(
                    Arc::clone(&baseline),
                    shutdown.child_token(),
                ));
            }
            if !config.reports.is_empty() {
                let mailer = Arc::new(crate::report_mailer::Mailer::new(
                    Arc::clone(&meta),
                    Arc::clone(&store) as Arc<dyn shieldwall_store::EventStore>,
                    config.data_dir.clone(),
                    Arc::clone(&channels),
                    Arc::new(config.reports.clone()),
                ));
                background.spawn(crate::report_mailer::run(
                    Arc::clone(&mailer),
                    shutdown.child_token(),
                ));
                report_mailer = Some(mailer);
            }
            if config.api.enabled {
                let address = start_api(
                    &config,
                    Arc::clone(&meta),
                    Arc::clone(&store) as Arc<dyn shieldwall_store::EventStore>,
                    Arc::clone(&status_cell),
                    baseline,
                    &shutdown,
                    &mut background,
                )
                .await?;
                Some(address)
            } else {
                None
            }
        } else {
            None
        };
        let mut sources = JoinSet::new();
        let mut addresses = Vec::new();
        let now = Timestamp::now();
        for entry in config.sources.iter().filter(|_| listen) {
            let expect = entry.handling.expect_within;
            let token = shutdown.child_token();
            let h = handle.clone();
            match &entry.transport {
                Transport::Udp(c) => {
                    let source = UdpSource::bind(c.clone()).await?;
                    addresses.push((entry.name.clone(), source.local_addr()));
                    let stats = board.register(
                        &entry.name,
                        shieldwall_collect::sources::udp::KIND,
                        expect,
                        now,
                    );
                    sources.spawn(source.serve(h, stats, token));
                }
                Transport::Tcp(c) => {
                    let kind = c.kind();
                    let source = TcpSource::bind(c.clone()).await?;
                    addresses.push((entry.name.clone(), source.local_addr()));
                    let stats = board.register(&entry.name, kind, expect, now);
                    sources.spawn(source.serve(h, stats, token));
                }
                Transport::Relp(c) => {
                    let source = RelpSource::bind(c.clone()).await?;
                    addresses.push((entry.name.clone(), source.local_addr()));
                    let stats = board.register(
                        &entry.name,
                        shieldwall_collect::sources::relp::KIND,
                        expect,
                        now,
                    );
                    sources.spawn(source.serve(h, stats, token));
                }
                Transport::File(c) => {
                    // Opened here so that an unusable path or state directory fails the start.
                    let source = file::FileSource::open(c.clone())?;
                    let stats = board.register(&entry.name, file::KIND, expect, now);
                    sources.spawn(source.serve(h, stats, token));
                }
                Transport::Http(c) => {
                    let source = HttpSource::bind(c.clone()).await?;
                    addresses.push((entry.name.clone(), source.local_addr()));
                    let stats = board.register(
                        &entry.name,
                        shieldwall_collect::sources::http::KIND,
                        expect,
                        now,
                    );
                    sources.spawn(source.serve(h, stats, token));
                }
            }
        }

        let notify_counts: notifier::Counts = Arc::default();
        if !channels.is_empty() {
            tokio::spawn(notifier::run(
                Arc::clone(&meta),
                Arc::clone(&channels),
                Arc::clone(&notify_counts),
                shutdown.child_token(),
            ));
        }
        let responder = crate::response::Responder::start(&config.response, Arc::clone(&meta))
            .map_err(ServeError::Setup)?;
        let detection = Detection::start(
            &config.detection,
            Arc::clone(&meta),
            Arc::clone(&channels),
            responder,
        )
        .map_err(ServeError::Pipeline)?;
        let sink = detection
            .sink(Box::new(StoreSink::new(
                Arc::clone(&store),
                config.store.ndjson_copy.then_some(events_dir.as_path()),
                Arc::clone(&store_counters),
            )))
            .map_err(ServeError::Pipeline)?;
        let mut pipeline = Pipeline::new(Arc::clone(&spool), normaliser, rules, Box::new(sink))
            .map_err(|e| ServeError::Pipeline(e.to_string()))?;
        pipeline.set_flush_policy(FlushPolicy {
            events: config.pipeline.flush_events,
            interval: jiff::SignedDuration::from_millis(
                i64::try_from(config.pipeline.flush_ms).unwrap_or(i64::MAX),
            ),
        });
        let parser_errors = parser_files.errors();
        let pipeline_stop = Arc::new(AtomicBool::new(false));
        let worker = PipelineWorker {
            pipeline,
            spool,
            board,
            parser_files,
            detection,
            config: config.clone(),
            stop: Arc::clone(&pipeline_stop),
            store,
            store_counters,
            meta,
            tenants: config
                .sources
                .iter()
                .map(|s| (s.name.clone(), s.tenant.clone()))
                .collect(),
            paused: false,
            notify_counts,
            status_cell,
        };
        let pipeline = std::thread::Builder::new()
            .name("pipeline".into())
            .spawn(move || worker.run())
            .map_err(|e| ServeError::Pipeline(format!("cannot start the pipeline thread: {e}")))?;
        Ok(Server {
            started: Started {
                recovery,
                addresses,
                parser_errors,
                api,
            },
            background,
            shutdown,
            sources,
            ingest: Some((ingest, handle)),
            pipeline_stop,
            pipeline: Some(pipeline),
            report_mailer,
        })
    }

    /// The scheduled reports' mailer, when `[[report]]` schedules are configured.
    pub fn report_mailer(&self) -> Option<&Arc<crate::report_mailer::Mailer>> {
        self.report_mailer.as_ref()
    }

    /// What the start found and set up.
    pub fn started(&self) -> &Started {
        &self.started
    }

    /// A handle to submit to the spool directly (imports).
    pub fn ingest(&self) -> Option<IngestHandle> {
        self.ingest.as_ref().map(|(_, h)| h.clone())
    }

    /// Waits until a source stops with an error (the server cannot go on) or `stop` resolves.
    pub async fn run_until(
        &mut self,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), ServeError> {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return Ok(()),
                joined = self.sources.join_next(), if !self.sources.is_empty() => {
                    match joined {
                        Some(Ok(Err(e))) => return Err(e.into()),
                        Some(Err(e)) => return Err(ServeError::Pipeline(format!("a source task failed: {e}"))),
                        _ => {}
                    }
                }
            }
        }
    }

    /// Stops the sources, lets the spool writer and the pipeline finish (the pipeline drains the
    /// spool unless its pause file exists), and returns the pipeline's final counters.
    pub async fn shutdown(mut self) -> Result<PipelineStats, ServeError> {
        self.shutdown.cancel();
        while self.background.join_next().await.is_some() {}
        while let Some(joined) = self.sources.join_next().await {
            if let Ok(Err(e)) = joined {
                tracing::warn!("source stopped with an error during shutdown: {e}");
            }
        }
        if let Some((ingest, handle)) = self.ingest.take() {
            drop(handle);
            tokio::task::spawn_blocking(move || ingest.join())
                .await
                .map_err(|e| ServeError::Pipeline(e.to_string()))?;
        }
        self.pipeline_stop.store(true, Ordering::Release);
        match self.pipeline.take() {
            Some(thread) => tokio::task::spawn_blocking(move || thread.join())
                .await
                .map_err(|e| ServeError::Pipeline(e.to_string()))?
                .map_err(|_| ServeError::Pipeline("the pipeline thread panicked".into()))?,
            None => Ok(PipelineStats::default()),
        }
    }
}

/// Records every tenant the sources name, so that bindings can be made to it.
fn ensure_tenants(meta: &dyn MetaStore, config: &ServeConfig) -> Result<(), ServeError> {
    let known = meta
        .tenants()
        .map_err(|e| ServeError::Store(e.to_string()))?;
    let mut wanted: Vec<&str> = config
        .sources
        .iter()
        .map(|s| s.tenant.as_str())
        .chain(config.baseline.iter().map(|j| j.tenant.as_str()))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    for &name in &wanted {
        if known.iter().any(|t| t.id.as_str() == name) {
            continue;
        }
        let id = TenantId::new(name).map_err(|e| ServeError::Setup(e.to_string()))?;
        let now = Timestamp::now();
        let tenant = shieldwall_store::meta::Tenant {
            id,
            name: name.to_owned(),
            created_at: now,
        };
        let origin = crate::access::Origin {
            address: "local".to_owned(),
            actor: "server".to_owned(),
        };
        let audit = crate::access::record(
            shieldwall_core::Scope::System,
            now,
            shieldwall_store::meta::AuditKind::Change,
            &origin,
            &format!("tenant:{name}"),
            "create_tenant",
            shieldwall_store::meta::AuditOutcome::Success,
        )
        .with_detail(
            serde_json::json!({"reason": "named by a source or baseline job in the configuration"}),
        );
        match meta.create_tenant(&tenant, &audit) {
            Ok(()) | Err(shieldwall_store::meta::MetaError::Exists { .. }) => {}
            Err(e) => return Err(ServeError::Store(e.to_string())),
        }
    }
    // A report is of a tenant that has data: a misspelt name would mail empty reports forever.
    for schedule in &config.reports {
        let name = schedule.tenant.as_str();
        if !known.iter().any(|t| t.id.as_str() == name) && !wanted.contains(&name) {
            return Err(ServeError::Setup(format!(
                "[[report]] {:?}: there is no tenant {:?} (tenants come from sources, baseline jobs or the API)",
                schedule.name,
                schedule.tenant.as_str()
            )));
        }
    }
    Ok(())
}

/// Signs the audit trail's chain heads periodically (and purges old records when a retention is
/// set), with the key in its own file.
fn start_audit_signer(
    config: &ServeConfig,
    meta: Arc<dyn MetaStore>,
    shutdown: &CancellationToken,
    background: &mut JoinSet<()>,
) -> Result<(), ServeError> {
    let key = config.audit.signing_key_path(&config.data_dir);
    let signer = shieldwall_auth::signing::AuditSigner::load_or_create(&key)
        .map_err(|e| ServeError::Setup(format!("audit signing key: {e}")))?;
    let heads = Arc::new(crate::audit_trail::HeadSigner::new(
        Arc::clone(&meta),
        signer,
        config.audit.export_heads.clone(),
    ));
    background.spawn(crate::audit_trail::run_signing(
        heads,
        std::time::Duration::from_secs(config.audit.sign_every_secs),
        shutdown.child_token(),
    ));
    if let Some(days) = config.audit.retention_days {
        let token = shutdown.child_token();
        background.spawn(async move {
            let mut daily = tokio::time::interval(std::time::Duration::from_secs(86_400));
            loop {
                tokio::select! {
                    _ = daily.tick() => {}
                    () = token.cancelled() => return,
                }
                let meta = Arc::clone(&meta);
                let purged = tokio::task::spawn_blocking(move || {
                    crate::audit_trail::purge(meta.as_ref(), days, Timestamp::now())
                })
                .await;
                match purged {
                    Ok(Ok(n)) if n > 0 => {
                        tracing::info!("audit trail: purged {n} records older than {days} days")
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!("audit trail: purge failed: {e}"),
                    Err(e) => tracing::error!("audit trail: purge task failed: {e}"),
                }
            }
        });
    }
    Ok(())
}

/// Binds and starts the API; returns its address.
async fn start_api(
    config: &ServeConfig,
    meta: Arc<dyn MetaStore>,
    events: Arc<dyn shieldwall_store::EventStore>,
    status: Arc<crate::api::StatusCell>,
    baseline: Arc<crate::baseline_runs::Runner>,
    shutdown: &CancellationToken,
    background: &mut JoinSet<()>,
) -> Result<SocketAddr, ServeError> {
    let settings = &config.api;
    let secrets = shieldwall_auth::secret_box::SecretBox::load_or_create(
        &config.auth.secret_key_path(&config.data_dir),
    )
    .map_err(|e| ServeError::Setup(format!("secret key: {e}")))?;
    let access = Arc::new(crate::access::Access::new(
        Arc::clone(&meta),
        secrets,
        config.auth.password_cost.cost(),
        crate::access::SessionLimits {
            lifetime: jiff::SignedDuration::from_hours(i64::from(settings.session_hours)),
            idle: jiff::SignedDuration::from_mins(i64::from(settings.idle_minutes)),
        },
    ));
    let tls = if settings.plain_http {
        tracing::warn!(
            "API: plain HTTP on {} (plain_http = true); use it only for local testing",
            settings.listen
        );
        None
    } else {
        Some(crate::api::tls::server(settings, &config.data_dir).map_err(ServeError::Setup)?)
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| {
            ServeError::Setup(format!("API: cannot listen on {}: {e}", settings.listen))
        })?;
    let address = listener
        .local_addr()
        .map_err(|e| ServeError::Setup(format!("API: {e}")))?;
    let context = crate::api::ApiContext {
        access,
        meta,
        events,
        data_dir: config.data_dir.clone(),
        rules_dir: config.detection.rules_dir.clone(),
        rule_settings: shieldwall_detect::RuleSettings {
            placeholders: config.detection.placeholders.clone(),
            ..shieldwall_detect::RuleSettings::default()
        },
        settings: settings.clone(),
        metrics: Arc::default(),
        status,
        source_tenants: config
            .sources
            .iter()
            .map(|s| (s.name.clone(), s.tenant.clone()))
            .collect(),
        openapi: Arc::new(crate::api::openapi_json()),
        baseline,
        report_schedules: Arc::new(config.reports.clone()),
    };
    let app = crate::api::app(Arc::new(context));
    background.spawn(crate::api::serve(
        listener,
        tls,
        app,
        settings.max_connections,
        shutdown.child_token(),
    ));
    Ok(address)
}

fn build_normaliser(config: &ServeConfig, files: &ParserFiles) -> Result<Normaliser, ServeError> {
    let mut registry: Registry = files.registry().map_err(ServeError::Setup)?;
    for entry in &config.sources {
        if !entry.handling.parsers.is_empty() {
            registry
                .bind_source(&entry.name, &entry.handling.parsers)
                .map_err(|e| ServeError::Setup(format!("line {}: {e}", entry.line)))?;
        }
    }
    let mut normaliser = Normaliser::new(Arc::new(registry));
    for entry in &config.sources {
        let tenant = TenantId::new(&entry.tenant)
            .map_err(|e| ServeError::Setup(format!("source `{}`: {e}", entry.name)))?;
        normaliser.set_profile(
            &entry.name,
            SourceProfile {
                tenant,
                time_zone: entry.handling.time_zone.clone(),
                syslog: entry.handling.syslog,
            },
        );
    }
    Ok(normaliser)
}

fn build_rules(config: &ServeConfig) -> Result<HashMap<String, SourceRules>, ServeError> {
    let mut rules = HashMap::new();
    for entry in &config.sources {
        let drop = DropRule::compile_all(&entry.handling.drop).map_err(|e| {
            ServeError::Setup(format!(
                "source `{}` (line {}): {e}",
                entry.name, entry.line
            ))
        })?;
        let merge = match &entry.handling.merge {
            Some(m) => Some(Merger::new(m).map_err(|e| {
                ServeError::Setup(format!(
                    "source `{}` (line {}): {e}",
                    entry.name, entry.line
                ))
            })?),
            None => None,
        };
        if !drop.is_empty() || merge.is_some() {
            rules.insert(entry.name.clone(), SourceRules { drop, merge });
        }
    }
    Ok(rules)
}

struct PipelineWorker {
    status_cell: Arc<crate::api::StatusCell>,
    pipeline: Pipeline,
    spool: Arc<Mutex<Spool>>,
    board: Arc<HealthBoard>,
    parser_files: ParserFiles,
    detection: Detection,
    notify_counts: notifier::Counts,
    config: ServeConfig,
    stop: Arc<AtomicBool>,
    tenants: HashMap<String, String>,
    paused: bool,
    store: Arc<TantivyStore>,
    store_counters: Arc<StoreCounters>,
    meta: Arc<dyn MetaStore>,
}

impl PipelineWorker {
    /// Applies every tenant's retention policy; failures are logged and retried next time.
    fn apply_retention(&self) {
        let policies = match self.meta.retention_policies() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("cannot read the retention policies: {e}");
                return;
            }
        };
        let now = Timestamp::now();
        for (tenant, policy) in policies {
            match self.store.apply_retention(&tenant, &policy, now) {
                Ok(report) if !report.removed_days.is_empty() => tracing::info!(
                    tenant = tenant.as_str(),
                    days = ?report.removed_days,
                    freed_bytes = report.freed_bytes,
                    remaining_bytes = report.remaining_bytes,
                    "retention removed old days"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(tenant = tenant.as_str(), "retention failed: {e}"),
            }
        }
    }

    fn run(mut self) -> Result<PipelineStats, ServeError> {
        let idle = Duration::from_millis(self.config.pipeline.idle_ms.max(1));
        let check_every = Duration::from_secs(self.config.health.check_secs.max(1));
        let reload_every = Duration::from_secs(self.config.parsers.reload_secs.max(1));
        let rules_every = Duration::from_secs(self.config.detection.reload_secs.max(1));
        let mut last_rules = Instant::now();
        let retention_every = Duration::from_secs(self.config.store.retention_check_secs.max(1));
        self.apply_retention();
        let mut last_retention = Instant::now();
        // A first status at once, so that readiness and the metrics do not wait a whole interval.
        self.check_health();
        let mut last_check = Instant::now();
        let mut last_reload = Instant::now();
        let mut failures = 0u32;
        loop {
            let stopping = self.stop.load(Ordering::Acquire);
            let read = if self.check_pause() {
                0
            } else {
                match self
                    .pipeline
                    .step(self.config.pipeline.batch, Timestamp::now())
                {
                    Ok(n) => {
                        failures = 0;
                        n
                    }
                    Err(e) => {
                        // The sink or spool failed: nothing was acknowledged; back off and retry,
                        // so that a full disk that frees up resumes without a restart.
                        failures = failures.saturating_add(1);
                        tracing::error!("pipeline step failed (attempt {failures}): {e}");
                        std::thread::sleep(idle * failures.min(50));
                        0
                    }
                }
            };
            if last_check.elapsed() >= check_every {
                last_check = Instant::now();
                self.check_health();
            }
            if last_reload.elapsed() >= reload_every {
                last_reload = Instant::now();
                self.reload_parsers();
            }
            if last_rules.elapsed() >= rules_every {
                last_rules = Instant::now();
                self.detection.reload();
                self.detection.tick();
            }
            if last_retention.elapsed() >= retention_every {
                last_retention = Instant::now();
                self.apply_retention();
            }
            if read == 0 {
                if stopping {
                    break;
                }
                std::thread::sleep(idle);
            }
        }
        self.pipeline
            .finish()
            .map_err(|e| ServeError::Pipeline(e.to_string()))?;
        self.detection.finish();
        self.check_health();
        Ok(self.pipeline.stats().clone())
    }

    /// Whether the pause file exists now; logs when the pipeline pauses and resumes.
    fn check_pause(&mut self) -> bool {
        let Some(file) = &self.config.pipeline.pause_file else {
            return false;
        };
        let paused = file.exists();
        if paused != self.paused {
            if paused {
                tracing::warn!(
                    "pipeline paused: {} exists; the spool fills until it is removed",
                    file.display()
                );
            } else {
                tracing::info!("pipeline resumed: {} is gone", file.display());
            }
            self.paused = paused;
        }
        paused
    }

    fn reload_parsers(&mut self) {
        if !self.parser_files.refresh() {
            return;
        }
        match build_normaliser(&self.config, &self.parser_files) {
            Ok(normaliser) => {
                self.pipeline.set_normaliser(normaliser);
                tracing::info!("parsers reloaded");
            }
            Err(e) => tracing::error!("parsers not reloaded, the running set stays: {e}"),
        }
        for error in self.parser_files.errors() {
            tracing::error!("parser file rejected: {error}");
        }
    }

    fn check_health(&mut self) {
        let now = Timestamp::now();
        let (snapshots, changes) = self.board.check(now);
        let events: Vec<Event> = changes
            .iter()
            .map(|c| health_event(c, now, &self.tenants))
            .collect();
        if let Err(e) = self.pipeline.write_internal(&events) {
            tracing::error!("cannot write source health events: {e}");
        }
        let (pending, bytes) = match self.spool.lock() {
            Ok(s) => (s.pending(), s.bytes()),
            Err(_) => (0, 0),
        };
        let status = Status {
            time: now,
            sources: snapshots,
            spool_pending: pending,
            spool_bytes: bytes,
            pipeline: self.pipeline.stats().clone(),
            parser_errors: self.parser_files.errors(),
            pipeline_paused: self.paused,
            store: self.store_counters.snapshot(),
            store_unreadable: self.store.unreadable(),
            detection: self.detection.counters().snapshot(),
            notifications: self
                .notify_counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        };
        if let Err(e) = write_status(&self.config.data_dir, &status) {
            tracing::warn!("cannot write status.json: {e}");
        }
        self.status_cell.set(status);
    }
}

/// The status event for a health change: a status-monitoring event from Shieldwall itself.
fn health_event(change: &HealthChange, now: Timestamp, tenants: &HashMap<String, String>) -> Event {
    let (source, activity, severity, message) = match change {
        HealthChange::Silent {
            source,
            last_seen,
            expected_secs,
        } => {
            let since = last_seen.map_or_else(|| "the start".to_owned(), |t| t.to_string());
            (
                source,
                "source_silent",
                Severity::Medium,
                format!(
                    "source {source} has sent nothing since {since}, longer than the expected {expected_secs} s"
                ),
            )
        }
        HealthChange::Resumed { source } => (
            source,
            "source_resumed",
            Severity::Info,
            format!("source {source} sends again"),
        ),
    };
    let tenant = tenants
        .get(source)
        .and_then(|t| TenantId::new(t).ok())
        .unwrap_or_default();
    let raw = serde_json::to_string(change).unwrap_or_default();
    let nanos = now.as_nanosecond().to_string();
    let mut event = Event::unparsed(
        RecordId::derive("health", &[tenant.as_str(), source, &nanos]),
        tenant,
        "shieldwall",
        now,
        raw,
    );
    event.set_parsed("shieldwall-health", EventClass::Base, 99);
    event.log_kind = LogKind::StatusMonitoring;
    event.time_status = shieldwall_core::TimeStatus::Stated;
    event.target = Some(format!("source:{source}"));
    event.set_product("Shieldwall", "shieldwall");
    event.activity = Some(activity.to_owned());
    event.feature = Some(format!("shieldwall:{activity}"));
    event.severity = Some(severity);
    event.message = Some(message);
    event
}

fn write_status(dir: &Path, status: &Status) -> std::io::Result<()> {
    let path = dir.join("status.json");
    let tmp = dir.join("status.json.tmp");
    let text = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(tmp, path)
}
