//! `shieldwall.toml`: the server's configuration, read strictly (`docs/configuration.md`).
//!
//! Every `[[sources]]` entry has a `type`, the fields of that source type (see
//! `shieldwall_collect::sources`), and the handling fields every source shares: `time_zone`,
//! `syslog`, `parsers`, `expect_within_secs`, `drop` and `merge`. The handling fields are taken out
//! first and the rest must be exactly the source type's fields, so a misspelt field is an error
//! naming the entry's line, never a silently ignored setting. Relative paths are resolved against
//! the configuration file's directory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use access::{ApiSettings, AuditSettings, AuthSettings, PasswordCost};
use jiff::tz::TimeZone;
use serde::Deserialize;
use shieldwall_collect::sources::{
    file::FileConfig, http::HttpConfig, relp::RelpConfig, tcp::TcpConfig, udp::UdpConfig,
};
use shieldwall_parse::SyslogLayer;
use shieldwall_parse::filter::{DropRuleConfig, MergeConfig};

/// The largest configuration file read.
pub const MAX_CONFIG_BYTES: usize = 4 << 20;

/// A configuration error, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct ConfigError {
    /// The configuration file.
    pub file: PathBuf,
    /// 1-based line; 0 when the whole file is concerned.
    pub line: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where the spool, events and state live.
    pub data_dir: PathBuf,
    /// Spool limits.
    pub spool: SpoolSettings,
    /// Pipeline tuning.
    pub pipeline: PipelineSettings,
    /// User parser directories.
    pub parsers: ParserSettings,
    /// Detection rules.
    pub detection: DetectionSettings,
    /// Source health checks.
    pub health: HealthSettings,
    /// The event store.
    pub store: StoreSettings,
    /// The sources, in file order.
    pub sources: Vec<SourceEntry>,
    /// Alert notification channels (`[[notify]]`, docs/notifications.md), paths resolved.
    pub notify: Vec<shieldwall_notify::ChannelSettings>,
    /// Response actions (`[[response]]`, docs/alerts.md).
    pub response: Vec<crate::response::ResponseSettings>,
    /// The HTTPS API (`[api]`).
    pub api: ApiSettings,
    /// Sign-in (`[auth]`).
    pub auth: AuthSettings,
    /// The audit trail (`[audit]`).
    pub audit: AuditSettings,
    /// Scheduled baseline checks (`[[baseline]]`).
    pub baseline: Vec<crate::baseline::BaselineJob>,
    /// Scheduled reports (`[[report]]`), checked against `notify`.
    pub reports: Vec<crate::report_schedule::Schedule>,
    /// The configuration file's folder: relative paths of baseline jobs start there.
    pub base_dir: PathBuf,
}

/// Spool limits (`[spool]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolSettings {
    /// The quota in bytes; beyond it sources apply back-pressure. Default: 1 GiB.
    #[serde(default = "default_spool_bytes")]
    pub max_bytes: u64,
    /// Segment size in bytes. Default: 64 MiB.
    #[serde(default = "default_segment_bytes")]
    pub segment_bytes: u64,
}

/// The event store (`[store]`), in `<data_dir>/store`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// How far back, in receive time, event ids are remembered to drop duplicates (replays after
    /// a crash, client retries). Default: 1800 (30 minutes).
    #[serde(default = "default_dedupe_window_secs")]
    pub dedupe_window_secs: u64,
    /// Days (tenant, UTC day) indexed at once; more are committed and closed. Default: 4.
    #[serde(default = "default_max_open_writers")]
    pub max_open_writers: usize,
    /// Indexing memory per open day, in MiB (at least 15). Default: 64.
    #[serde(default = "default_writer_memory_mb")]
    pub writer_memory_mb: usize,
    /// Also write every event as NDJSON to `<data_dir>/events/<tenant>/<day>.ndjson`, for
    /// archiving or forwarding. Default: false.
    #[serde(default)]
    pub ndjson_copy: bool,
    /// How often the tenants' retention policies (`shieldwall store retention`) are applied, in
    /// seconds; also once at the start. Default: 3600.
    #[serde(default = "default_retention_check_secs")]
    pub retention_check_secs: u64,
}

fn default_retention_check_secs() -> u64 {
    3600
}

fn default_dedupe_window_secs() -> u64 {
    1800
}

fn default_max_open_writers() -> usize {
    4
}

fn default_writer_memory_mb() -> usize {
    64
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            dedupe_window_secs: default_dedupe_window_secs(),
            max_open_writers: default_max_open_writers(),
            writer_memory_mb: default_writer_memory_mb(),
            ndjson_copy: false,
            retention_check_secs: default_retention_check_secs(),
        }
    }
}

impl StoreSettings {
    /// The store's configuration.
    pub fn store_config(&self) -> shieldwall_store::StoreConfig {
        shieldwall_store::StoreConfig {
            dedupe_window: Duration::from_secs(self.dedupe_window_secs),
            dedupe_capacity: shieldwall_store::StoreConfig::default().dedupe_capacity,
            max_open_writers: self.max_open_writers.max(1),
            writer_memory: self.writer_memory_mb.max(15) << 20,
        }
    }
}

/// Pipeline tuning (`[pipeline]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSettings {
    /// Spool records processed per step. Default: 4096.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Milliseconds to wait when the spool is empty. Default: 20.
    #[serde(default = "default_idle_ms")]
    pub idle_ms: u64,
    /// Events gathered before one write to the store (one commit). Default: 16384.
    #[serde(default = "default_flush_events")]
    pub flush_events: usize,
    /// The longest an event waits for that write, in milliseconds (and so the most a search
    /// lags behind ingest under load); an idle spool writes at once. Default: 1000.
    #[serde(default = "default_flush_ms")]
    pub flush_ms: u64,
    /// A maintenance switch: while this file exists the pipeline reads nothing from the spool (the
    /// sources keep spooling until the quota). Relative to the configuration file. Default: none.
    #[serde(default)]
    pub pause_file: Option<PathBuf>,
}

/// User parsers (`[parsers]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParserSettings {
    /// Directories of parser files. Default: none.
    #[serde(default)]
    pub dirs: Vec<PathBuf>,
    /// Seconds between checks for changed parser files. Default: 5.
    #[serde(default = "default_reload_secs")]
    pub reload_secs: u64,
}

/// Detection rules (`[detection]`, docs/detection.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionSettings {
    /// The directory that holds one rule directory per tenant (`RULES_DIR/<tenant>/`), relative
    /// to the configuration file. Default: none (no detection).
    #[serde(default)]
    pub rules_dir: Option<PathBuf>,
    /// Seconds between checks for changed rule files. Default: 5.
    #[serde(default = "default_reload_secs")]
    pub reload_secs: u64,
    /// Values of `expand` placeholders (`Admins = ["root", "adm_*"]`). Default: none.
    #[serde(default)]
    pub placeholders: std::collections::BTreeMap<String, Vec<String>>,
    /// Seconds an event may arrive behind the newest event time of its tenant and still be
    /// correlated as if in order (docs/correlation.md). Correlation hits wait this long.
    /// Default: 60.
    #[serde(default = "default_lateness_secs")]
    pub lateness_secs: u64,
    /// Correlation groups kept per tenant; past it the least recently active eighth is
    /// dropped (and counted). Default: 500000.
    #[serde(default = "default_max_groups")]
    pub max_groups: usize,
}

fn default_lateness_secs() -> u64 {
    60
}

fn default_max_groups() -> usize {
    500_000
}

/// Source health (`[health]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSettings {
    /// Seconds between health checks. Default: 10.
    #[serde(default = "default_check_secs")]
    pub check_secs: u64,
}

fn default_spool_bytes() -> u64 {
    1 << 30
}
fn default_segment_bytes() -> u64 {
    64 << 20
}
fn default_batch() -> usize {
    4096
}
fn default_idle_ms() -> u64 {
    20
}
fn default_flush_events() -> usize {
    16384
}
fn default_flush_ms() -> u64 {
    1000
}
fn default_reload_secs() -> u64 {
    5
}
fn default_check_secs() -> u64 {
    10
}

impl Default for SpoolSettings {
    fn default() -> Self {
        SpoolSettings {
            max_bytes: default_spool_bytes(),
            segment_bytes: default_segment_bytes(),
        }
    }
}
impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            batch: default_batch(),
            idle_ms: default_idle_ms(),
            flush_events: default_flush_events(),
            flush_ms: default_flush_ms(),
            pause_file: None,
        }
    }
}
impl Default for DetectionSettings {
    fn default() -> Self {
        DetectionSettings {
            rules_dir: None,
            reload_secs: default_reload_secs(),
            placeholders: std::collections::BTreeMap::new(),
            lateness_secs: default_lateness_secs(),
            max_groups: default_max_groups(),
        }
    }
}
impl Default for ParserSettings {
    fn default() -> Self {
        ParserSettings {
            dirs: Vec::new(),
            reload_secs: default_reload_secs(),
        }
    }
}
impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            check_secs: default_check_secs(),
        }
    }
}

/// One configured source.
#[derive(Debug, Clone)]
pub struct SourceEntry {
    /// Its name.
    pub name: String,
    /// Its tenant.
    pub tenant: String,
    /// The transport and its settings.
    pub transport: Transport,
    /// How its messages are parsed, filtered and watched.
    pub handling: Handling,
    /// The line of its `[[sources]]` header.
    pub line: usize,
}

/// The transport of a source.
#[derive(Debug, Clone)]
pub enum Transport {
    /// `syslog-udp`.
    Udp(UdpConfig),
    /// `syslog-tcp` (and TLS with a `[sources.tls]` table).
    Tcp(TcpConfig),
    /// `http`.
    Http(HttpConfig),
    /// `relp`.
    Relp(RelpConfig),
    /// `file`.
    File(FileConfig),
}

impl Transport {
    /// The source's name and tenant.
    pub fn name_and_tenant(&self) -> (&str, &str) {
        match self {
            Transport::Udp(c) => (&c.name, &c.tenant),
            Transport::Tcp(c) => (&c.name, &c.tenant),
            Transport::Http(c) => (&c.name, &c.tenant),
            Transport::Relp(c) => (&c.name, &c.tenant),
            Transport::File(c) => (&c.name, &c.tenant),
        }
    }
}

/// The handling fields every source shares.
#[derive(Debug, Clone)]
pub struct Handling {
    /// The zone of the source's clock.
    pub time_zone: TimeZone,
    /// Whether its messages carry a syslog header.
    pub syslog: SyslogLayer,
    /// Parser ids its messages are offered first.
    pub parsers: Vec<String>,
    /// Drop rules.
    pub drop: Vec<DropRuleConfig>,
    /// Merging of repeats.
    pub merge: Option<MergeConfig>,
    /// The longest silence that is normal.
    pub expect_within: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    data_dir: PathBuf,
    #[serde(default)]
    spool: SpoolSettings,
    #[serde(default)]
    pipeline: PipelineSettings,
    #[serde(default)]
    parsers: ParserSettings,
    #[serde(default)]
    detection: DetectionSettings,
    #[serde(default)]
    health: HealthSettings,
    #[serde(default)]
    store: StoreSettings,
    #[serde(default)]
    sources: Vec<toml::Spanned<toml::Table>>,
    #[serde(default)]
    notify: Vec<shieldwall_notify::ChannelSettings>,
    #[serde(default)]
    response: Vec<crate::response::ResponseSettings>,
    #[serde(default)]
    api: ApiSettings,
    #[serde(default)]
    auth: AuthSettings,
    #[serde(default)]
    audit: AuditSettings,
    #[serde(default)]
    baseline: Vec<toml::Spanned<crate::baseline::BaselineJob>>,
    #[serde(default)]
    report: Vec<toml::Spanned<crate::report_schedule::ReportSchedule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHandling {
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    syslog: SyslogLayer,
    #[serde(default)]
    parsers: Vec<String>,
    #[serde(default)]
    drop: Vec<DropRuleConfig>,
    #[serde(default)]
    merge: Option<MergeConfig>,
    #[serde(default)]
    expect_within_secs: Option<u64>,
}

const HANDLING_KEYS: &[&str] = &[
    "time_zone",
    "syslog",
    "parsers",
    "drop",
    "merge",
    "expect_within_secs",
];

/// The source types, as `type = "..."` names them.
pub const SOURCE_TYPES: &[&str] = &["syslog-udp", "syslog-tcp", "relp", "http", "file"];

/// Reads the configuration file at `path`.
pub fn load(path: &Path) -> Result<ServeConfig, ConfigError> {
    let whole = |message: String| ConfigError {
        file: path.to_owned(),
        line: 0,
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    if meta.len() > MAX_CONFIG_BYTES as u64 {
        return Err(whole(format!(
            "the file is {} bytes; a configuration may be at most {MAX_CONFIG_BYTES}",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| whole(format!("cannot read: {e}")))?;
    parse(path, &text)
}

/// Parses configuration text; `path` locates errors and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> Result<ServeConfig, ConfigError> {
    let line_of = |offset: usize| {
        1 + text
            .as_bytes()
            .get(..offset)
            .map_or(0, |t| t.iter().filter(|&&b| b == b'\n').count())
    };
    let error = |line: usize, message: String| ConfigError {
        file: path.to_owned(),
        line,
        message,
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(s.start));
        error(line, e.message().to_owned())
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
    let data_dir = resolve(raw.data_dir.clone());
    let mut sources = Vec::with_capacity(raw.sources.len());
    let mut names = HashSet::new();
    for spanned in raw.sources {
        let line = line_of(spanned.span().start);
        let mut table = spanned.into_inner();
        let mut handling_table = toml::Table::new();
        for key in HANDLING_KEYS {
            if let Some(v) = table.remove(*key) {
                handling_table.insert((*key).to_owned(), v);
            }
        }
        let kind = match table.remove("type") {
            Some(toml::Value::String(k)) => k,
            Some(other) => {
                return Err(error(
                    line,
                    format!("source `type` must be a string, found {}", other.type_str()),
                ));
            }
            None => {
                return Err(error(
                    line,
                    format!(
                        "a source needs a `type`: one of {}",
                        SOURCE_TYPES.join(", ")
                    ),
                ));
            }
        };
        let name = table
            .get("name")
            .and_then(toml::Value::as_str)
            .unwrap_or("")
            .to_owned();
        let context = |m: String| {
            let who = if name.is_empty() {
                String::new()
            } else {
                format!("source `{name}`: ")
            };
            error(line, format!("{who}{m}"))
        };
        if kind == "file" && !table.contains_key("state_dir") {
            let state = data_dir.join("state");
            table.insert(
                "state_dir".into(),
                toml::Value::String(state.display().to_string()),
            );
        }
        let value = toml::Value::Table(table);
        let transport = match kind.as_str() {
            "syslog-udp" => Transport::Udp(typed(value, &context)?),
            "syslog-tcp" => Transport::Tcp(typed(value, &context)?),
            "relp" => Transport::Relp(typed(value, &context)?),
            "http" => Transport::Http(typed(value, &context)?),
            "file" => Transport::File(typed(value, &context)?),
            other => {
                return Err(context(format!(
                    "unknown source type `{other}`; expected one of {}",
                    SOURCE_TYPES.join(", ")
                )));
            }
        };
        let (name, tenant) = {
            let (n, t) = transport.name_and_tenant();
            (n.to_owned(), t.to_owned())
        };
        if !names.insert(name.clone()) {
            return Err(context(
                "two sources have this name; names must be unique".into(),
            ));
        }
        let handling: RawHandling = toml::Value::Table(handling_table)
            .try_into()
            .map_err(|e: toml::de::Error| context(e.message().to_owned()))?;
        let time_zone = match &handling.time_zone {
            None => TimeZone::UTC,
            Some(zone) => TimeZone::get(zone).map_err(|_| {
                context(format!(
                    "unknown time_zone `{zone}`; use an IANA name such as UTC or Europe/Berlin"
                ))
            })?,
        };
        let transport = match transport {
            Transport::Tcp(mut c) => {
                if let Some(tls) = &mut c.tls {
                    resolve_tls(tls, &resolve);
                }
                Transport::Tcp(c)
            }
            Transport::Http(mut c) => {
                if let Some(tls) = &mut c.tls {
                    resolve_tls(tls, &resolve);
                }
                Transport::Http(c)
            }
            Transport::Relp(mut c) => {
                if let Some(tls) = &mut c.tls {
                    resolve_tls(tls, &resolve);
                }
                Transport::Relp(c)
            }
            Transport::File(mut c) => {
                c.paths = c.paths.into_iter().map(&resolve).collect();
                c.state_dir = resolve(std::mem::take(&mut c.state_dir));
                Transport::File(c)
            }
            other => other,
        };
        sources.push(SourceEntry {
            name,
            tenant,
            transport,
            handling: Handling {
                time_zone,
                syslog: handling.syslog,
                parsers: handling.parsers,
                drop: handling.drop,
                merge: handling.merge,
                expect_within: handling.expect_within_secs.map(Duration::from_secs),
            },
            line,
        });
    }
    let mut parsers = raw.parsers;
    parsers.dirs = parsers.dirs.into_iter().map(resolve).collect();
    let mut pipeline = raw.pipeline;
    pipeline.pause_file = pipeline.pause_file.map(resolve);
    let mut detection = raw.detection;
    detection.rules_dir = detection.rules_dir.map(resolve);
    let mut notify = raw.notify;
    let mut channel_names = HashSet::new();
    for channel in &mut notify {
        if !channel_names.insert(channel.name.clone()) {
            return Err(error(
                0,
                format!("[[notify]] {:?} is declared twice", channel.name),
            ));
        }
        channel.secret_file = channel.secret_file.take().map(resolve);
        channel.password_file = channel.password_file.take().map(resolve);
        channel.ca_file = channel.ca_file.take().map(resolve);
    }
    // Section-level checks point at the section's header, or at the top when it is absent.
    let section_line = |name: &str| text.find(&format!("[{name}]")).map_or(0, &line_of);
    let (mut api, mut auth, mut audit) = (raw.api, raw.auth, raw.audit);
    api.validate().map_err(|m| error(section_line("api"), m))?;
    audit
        .validate()
        .map_err(|m| error(section_line("audit"), m))?;
    api.resolve(base);
    auth.resolve(base);
    audit.resolve(base);
    let mut baseline = Vec::with_capacity(raw.baseline.len());
    let mut job_names = HashSet::new();
    for spanned in raw.baseline {
        let line = line_of(spanned.span().start);
        let job = spanned.into_inner();
        job.validate().map_err(|m| error(line, m))?;
        if !job_names.insert(job.name.clone()) {
            return Err(error(
                line,
                format!("[[baseline]] `{}` is declared twice", job.name),
            ));
        }
        baseline.push(job);
    }
    let mut reports: Vec<crate::report_schedule::Schedule> = Vec::with_capacity(raw.report.len());
    for spanned in raw.report {
        let line = line_of(spanned.span().start);
        let schedule = spanned
            .get_ref()
            .check(&notify)
            .map_err(|m| error(line, m))?;
        if reports.iter().any(|r| r.name == schedule.name) {
            return Err(error(
                line,
                format!("[[report]] {:?} is declared twice", schedule.name),
            ));
        }
        reports.push(schedule);
    }
    Ok(ServeConfig {
        data_dir,
        spool: raw.spool,
        pipeline,
        parsers,
        detection,
        health: raw.health,
        store: raw.store,
        sources,
        notify,
        response: raw.response,
        api,
        auth,
        audit,
        baseline,
        reports,
        base_dir: base.to_path_buf(),
    })
}

/// Deserialises a source table into its type's configuration, locating errors.
fn typed<T: serde::de::DeserializeOwned>(
    value: toml::Value,
    context: &impl Fn(String) -> ConfigError,
) -> Result<T, ConfigError> {
    value
        .try_into()
        .map_err(|e: toml::de::Error| context(e.message().to_owned()))
}

fn resolve_tls(
    tls: &mut shieldwall_collect::sources::tls::TlsConfig,
    resolve: &impl Fn(PathBuf) -> PathBuf,
) {
    tls.cert_file = resolve(std::mem::take(&mut tls.cert_file));
    tls.key_file = resolve(std::mem::take(&mut tls.key_file));
    if let Some(ca) = tls.client_ca_file.take() {
        tls.client_ca_file = Some(resolve(ca));
    }
}

#[cfg(test)]
mod tests;

mod access;
