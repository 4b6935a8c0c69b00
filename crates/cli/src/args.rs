//! Command-line arguments, as clap parses them; resolved into typed values in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Shieldwall: the security management centre for cloud customers.
///
/// Start with `shieldwall plan examples/b2b-cloud.toml`: from a description of your cloud
/// deployment it tells you which security duties are yours, your provider's and your third
/// parties', which security capabilities carry them, which CSA CCM controls they fulfil, and where
/// the gaps are.
#[derive(Debug, Parser)]
#[command(
    name = "shieldwall",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compute the responsibility plan of a deployment manifest.
    ///
    /// The plan has four parts: (1) the responsibility matrix per workload, (2) the capabilities
    /// each party owes with their supplier and evidence status, (3) CCM coverage per control and
    /// per domain, (4) the gaps, ordered by risk score. See docs/manifest.md for the manifest
    /// format and `shieldwall schema manifest` for its JSON schema.
    ///
    /// Examples:
    ///   shieldwall plan examples/b2b-cloud.toml
    ///   shieldwall plan examples/saas-office.toml --format html --output plan.html
    ///   shieldwall plan m.toml --format json --as-of 2026-06-30 | jq '.gaps[:5]'
    ///   shieldwall plan m.toml --oscal-dir oscal/ --output plan.html --format html
    #[command(verbatim_doc_comment)]
    Plan(PlanArgs),
    /// Browse the catalog: capabilities, responsibilities, categories and CCM controls.
    ///
    /// Examples:
    ///   shieldwall catalog capabilities
    ///   shieldwall catalog controls --framework ccm-3.0.1 --format csv
    ///   shieldwall catalog show waf
    ///   shieldwall catalog show ccm-4.0.13:LOG-05
    #[command(verbatim_doc_comment)]
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Parse log lines and print the normalised events as NDJSON: test a parser before deploying.
    ///
    /// Each input line is one message, with or without a syslog header. The built-in parsers
    /// apply, plus the user parsers of every --parsers directory. Lines nothing recognises are
    /// printed as unparsed events with their raw text. With --summary, counts by parser are
    /// printed instead of events.
    ///
    /// Examples:
    ///   shieldwall parse < /var/log/auth.log
    ///   shieldwall parse --source web --parser nginx-access --no-syslog access.log
    ///   shieldwall parse --parsers parsers/ --summary app.log
    #[command(verbatim_doc_comment)]
    Parse(ParseArgs),
    /// Run the collectors and the pipeline: accept logs from the configured sources, spool them
    /// durably, parse and normalise them, and keep them as events under the data directory.
    ///
    /// Stops cleanly on Ctrl-C or SIGTERM: sources stop accepting, the spool is drained, held
    /// merge groups are written. See docs/configuration.md for shieldwall.toml.
    ///
    /// Example:
    ///   shieldwall serve --config examples/shieldwall.toml
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),
    /// Load a file of log lines (or standard input) through the spool and the pipeline into
    /// the data directory, as if a source had received them.
    ///
    /// Plain lines or NDJSON, gzip-compressed or not (detected). The server must not be running
    /// on the same data directory (send to its http source instead). The handling settings
    /// (time zone, parsers, drop and merge rules) of the configured source named by --source
    /// apply.
    ///
    /// Examples:
    ///   shieldwall import --config shieldwall.toml /var/log/auth.log
    ///   zcat old.log.gz | shieldwall import --config shieldwall.toml --source linux-hosts -
    ///   shieldwall import --config shieldwall.toml --ndjson --skip-invalid events.ndjson.gz
    #[command(verbatim_doc_comment)]
    Import(ImportLogsArgs),
    /// Search stored events with the query language (docs/query.md), newest first.
    ///
    /// Reads the store of the configuration's data directory (or --store DIR); a running
    /// server may keep writing meanwhile. Times for --from and --to: RFC 3339, a date, now,
    /// now-15m, now-2h, now-7d.
    ///
    /// Examples:
    ///   shieldwall search 'parser:sshd AND status:failure' --from now-1h
    ///   shieldwall search 'src_endpoint.ip:"203.0.113.7"' --format json | jq .raw
    ///   shieldwall search 'attack_type:*' --fields time,attack_type,src_endpoint.ip,target
    ///   shieldwall search 'user.name:root' --count --from 2026-11-01 --to 2026-11-08
    #[command(verbatim_doc_comment)]
    Search(SearchArgs),
    /// Statistics of stored events: counts by log kind, source, attack type, source address,
    /// target and user, optionally per time interval.
    ///
    /// Examples:
    ///   shieldwall stats --from now-24h
    ///   shieldwall stats --query 'log_kind:security_event' --histogram 1h --format json
    #[command(verbatim_doc_comment)]
    Stats(StatsArgs),
    /// Write stored events as NDJSON (one event per line, as `shieldwall parse` prints them),
    /// day by day from the oldest.
    ///
    /// Examples:
    ///   shieldwall export --from 2026-11-01 --to 2026-11-02 --output day.ndjson
    ///   shieldwall export --query 'parser:modsecurity-audit' | gzip > waf.ndjson.gz
    #[command(verbatim_doc_comment)]
    Export(ExportArgs),
    /// Check and try Sigma detection rules (docs/detection.md).
    ///
    /// Examples:
    ///   shieldwall rules check rules/ --format json
    ///   shieldwall rules test rules/ events.ndjson --pipeline windows-evtx
    #[command(verbatim_doc_comment)]
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Handle alerts: list, show, acknowledge, close, reopen, assign, comment. Works on the
    /// data directory's metadata database, also while the server runs; every change is recorded
    /// with who and when.
    ///
    /// Examples:
    ///   shieldwall alerts list --state new --severity high
    ///   shieldwall alerts show 42
    ///   shieldwall alerts close 42 --resolution "address blocked at the firewall"
    #[command(verbatim_doc_comment)]
    Alerts {
        #[command(subcommand)]
        command: crate::alerts::AlertsCommand,
    },
    /// Accounts: create the first system administrator.
    ///
    /// Example:
    ///   shieldwall admin init --name alice
    #[command(verbatim_doc_comment)]
    Admin {
        #[command(subcommand)]
        command: crate::admin::AdminCommand,
    },
    /// The audit trail: verify its hash chains and signed heads, sign the heads, list records.
    ///
    /// Examples:
    ///   shieldwall audit verify
    ///   shieldwall audit list --chain '*' --kind login
    #[command(verbatim_doc_comment)]
    Audit {
        #[command(subcommand)]
        command: crate::audit::AuditCommand,
    },
    /// Run check modules: baseline configuration checks against the local host, a root
    /// directory or configuration files (docs/baseline.md).
    ///
    /// Examples:
    ///   shieldwall check baseline --policy linux_host
    ///   shieldwall check baseline --policy cisco_ios --target file:router1.cfg --format json
    #[command(verbatim_doc_comment)]
    Check {
        #[command(subcommand)]
        command: crate::check::CheckCommand,
    },
    /// Manage the event store: retention policies, deletion by query, backup and restore,
    /// import of exported events, and a check of what is stored.
    ///
    /// Examples:
    ///   shieldwall store retention set --tenant default --max-age-days 180 --max-size 200G
    ///   shieldwall store retention show
    ///   shieldwall store delete 'user.name:test*' --tenant default --yes
    ///   shieldwall store backup /backups/2026-11-29          # also while the server runs
    ///   shieldwall store restore /backups/2026-11-29 --data-dir /var/lib/shieldwall-restored
    ///   shieldwall store import exported.ndjson
    ///   shieldwall store check
    #[command(verbatim_doc_comment)]
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Print a machine-readable schema.
    Schema {
        /// Which schema.
        #[arg(value_enum)]
        which: SchemaKind,
        /// (openapi) Refuse to print when the API changed incompatibly from this earlier copy.
        #[arg(long, value_name = "FILE")]
        against: Option<PathBuf>,
    },
}

/// Where the event store is: `<data_dir>/store`, or a store directory named directly (a backup).
#[derive(Debug, Args)]
pub struct StoreLocation {
    #[command(flatten)]
    pub data: DataLocation,
    /// The store directory itself (instead of --config or --data-dir).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
}

/// Where the data directory is.
#[derive(Debug, Args)]
pub struct DataLocation {
    /// The server configuration, for its data directory.
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        default_value = "shieldwall.toml"
    )]
    pub config: PathBuf,
    /// The data directory itself (instead of --config).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load every rule under a directory (or one file) and report what loads and what does not,
    /// with file, line and reason; exits 2 when any rule fails.
    Check(RulesCheckArgs),
    /// Show which events fire which rules: the events are JSON objects, one per line or one
    /// after the other (`-` reads standard input).
    Test(RulesTestArgs),
}

#[derive(Debug, Args)]
pub struct RuleSource {
    /// A rule file, or a directory searched recursively for .yml and .yaml files.
    pub rules: PathBuf,
    /// Values of an `expand` placeholder: NAME=VALUE (repeat for more values or names).
    #[arg(long = "placeholder", value_name = "NAME=VALUE")]
    pub placeholders: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RulesCheckArgs {
    #[command(flatten)]
    pub source: RuleSource,
    /// Output format: table, or JSON ({"loaded": N, "failed": [...]}).
    #[arg(long, short = 'f', value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
}

#[derive(Debug, Args)]
pub struct RulesTestArgs {
    #[command(flatten)]
    pub source: RuleSource,
    /// The events (JSON), or - for standard input.
    pub events: PathBuf,
    /// Honour each rule's logsource through a pipeline: built in, `windows-evtx` (Windows
    /// events as evtx_dump writes them) or `shieldwall-event` (what `shieldwall parse` prints),
    /// or a pipeline file. Without it every rule runs on every event, fields looked up as written.
    #[arg(long, value_name = "NAME|FILE")]
    pub pipeline: Option<String>,
    /// Output format: table (one line per match), or JSON (one line per event with its matches).
    #[arg(long, short = 'f', value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
    /// Evaluate every rule of the event's logsources, without the literal prefilter (the
    /// matches are the same; for comparison and diagnosis).
    #[arg(long)]
    pub no_prefilter: bool,
    /// The field holding each event's time (RFC 3339 text, or seconds since the epoch), which
    /// correlation rules need.
    #[arg(long, value_name = "FIELD", default_value = "time")]
    pub time_field: String,
    /// How far out of time order an event may come and still be correlated as if in order.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub lateness: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// Text.
    Table,
    /// JSON.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Retention policies per tenant (kept in the data directory's meta.sqlite; the server
    /// applies them every [store] retention_check_secs).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Delete a tenant's events matching a query (the server must be stopped); recorded.
    Delete(StoreDeleteArgs),
    /// Copy the committed events and the metadata into a new directory, also while the server
    /// runs (each day as of one of its commits).
    Backup(StoreBackupArgs),
    /// Restore a backup into a data directory that has no store yet.
    Restore(StoreRestoreArgs),
    /// Add events exported with `shieldwall export` (the server must be stopped); events
    /// already stored are skipped by id.
    Import(StoreImportArgs),
    /// Count each tenant's events and bytes, and name days that cannot be read (exit 2).
    Check(DataLocation),
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Set a tenant's policy: the oldest days beyond either limit are removed.
    Set {
        #[command(flatten)]
        location: DataLocation,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// Keep this many days of events (by event time).
        #[arg(long, value_name = "DAYS")]
        max_age_days: Option<u32>,
        /// Keep at most this much on disk (500M, 20G, 1T).
        #[arg(long, value_name = "SIZE")]
        max_size: Option<String>,
    },
    /// Remove a tenant's policy: its events are kept until deleted.
    Clear {
        #[command(flatten)]
        location: DataLocation,
        /// The tenant.
        #[arg(long)]
        tenant: String,
    },
    /// List the policies.
    Show {
        #[command(flatten)]
        location: DataLocation,
    },
    /// Apply the policies now (the server must be stopped; it applies them itself).
    Apply {
        #[command(flatten)]
        location: DataLocation,
    },
}

#[derive(Debug, Args)]
pub struct StoreDeleteArgs {
    /// The query selecting the events to delete (docs/query.md).
    pub query: String,
    #[command(flatten)]
    pub location: DataLocation,
    /// The tenant whose events to delete.
    #[arg(long)]
    pub tenant: String,
    /// Earliest event time (inclusive).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Latest event time (exclusive).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Who asks, for the record.
    #[arg(long, default_value = "cli", value_name = "NAME")]
    pub requested_by: String,
    /// Delete; without it only the number of matching events is printed.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct StoreBackupArgs {
    /// A new or empty directory for the backup.
    pub destination: PathBuf,
    #[command(flatten)]
    pub location: DataLocation,
}

#[derive(Debug, Args)]
pub struct StoreRestoreArgs {
    /// The backup directory (as written by `store backup`).
    pub backup: PathBuf,
    #[command(flatten)]
    pub location: DataLocation,
}

#[derive(Debug, Args)]
pub struct StoreImportArgs {
    /// NDJSON events as `shieldwall export` writes them, or - for standard input.
    pub input: PathBuf,
    #[command(flatten)]
    pub location: DataLocation,
    /// Skip lines that are not events (reported) instead of stopping.
    #[arg(long)]
    pub skip_invalid: bool,
}

/// Whose events, and when.
#[derive(Debug, Args)]
pub struct TenantRange {
    /// The tenant.
    #[arg(long, default_value = "default")]
    pub tenant: String,
    /// Earliest event time (inclusive): RFC 3339, a date, now, now-15m, now-2h, now-7d.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Latest event time (exclusive).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}

/// How events and statistics are printed.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EventFormat {
    /// Tab-separated columns with a header.
    Table,
    /// NDJSON, one whole event per line (statistics: one JSON document).
    Json,
    /// CSV with a header; cells that a spreadsheet would run as formulas are prefixed with '.
    Csv,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query (docs/query.md); * or empty: every event.
    #[arg(default_value = "*")]
    pub query: String,
    #[command(flatten)]
    pub location: StoreLocation,
    #[command(flatten)]
    pub range: TenantRange,
    /// The most events printed (the newest).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = EventFormat::Table)]
    pub format: EventFormat,
    /// Columns of table and CSV output: event field paths, comma-separated.
    #[arg(long, value_name = "FIELDS")]
    pub fields: Option<String>,
    /// Print only the number of matching events.
    #[arg(long)]
    pub count: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub location: StoreLocation,
    /// Restrict to the events of this query.
    #[arg(long, default_value = "*")]
    pub query: String,
    #[command(flatten)]
    pub range: TenantRange,
    /// How many values per field.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Also count events per interval (1m, 1h, 1d...).
    #[arg(long, value_name = "INTERVAL")]
    pub histogram: Option<String>,
    /// Output format (table or json).
    #[arg(long, short = 'f', value_enum, default_value_t = EventFormat::Table)]
    pub format: EventFormat,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub location: StoreLocation,
    /// Export only the events of this query.
    #[arg(long, default_value = "*")]
    pub query: String,
    #[command(flatten)]
    pub range: TenantRange,
    /// Write here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Read this file instead of standard input (- for standard input).
    pub input: Option<PathBuf>,
    /// The source name the lines are attributed to (user parsers may match on it).
    #[arg(long, default_value = "stdin")]
    pub source: String,
    /// Offer every line to these parsers first, in order (ids as in `--list`).
    #[arg(long = "parser", value_name = "ID")]
    pub parser_ids: Vec<String>,
    /// A directory of user parser files (*.yaml); may be repeated.
    #[arg(long = "parsers", value_name = "DIR")]
    pub parser_dirs: Vec<PathBuf>,
    /// Time zone of timestamps that carry no offset (IANA name such as Europe/Berlin).
    #[arg(long, default_value = "UTC", value_name = "ZONE")]
    pub time_zone: String,
    /// The lines have no syslog header: offer each whole line to the parsers.
    #[arg(long)]
    pub no_syslog: bool,
    /// Print counts by parser instead of events.
    #[arg(long)]
    pub summary: bool,
    /// List the available parser ids and exit.
    #[arg(long)]
    pub list: bool,
    /// The longest line kept, in bytes; longer lines are cut and marked.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_line: usize,
}

#[derive(Debug, Args)]
pub struct ImportLogsArgs {
    /// The file to import, or - for standard input.
    pub input: PathBuf,
    /// The configuration file (for the data directory and the source's handling).
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        default_value = "shieldwall.toml"
    )]
    pub config: PathBuf,
    /// The source name the lines are attributed to.
    #[arg(long, default_value = "import")]
    pub source: String,
    /// Each line must be a JSON value; a line that is not stops the import.
    #[arg(long)]
    pub ndjson: bool,
    /// With --ndjson, skip invalid lines (they are reported) instead of stopping.
    #[arg(long, requires = "ndjson")]
    pub skip_invalid: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file.
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        default_value = "shieldwall.toml"
    )]
    pub config: PathBuf,
    /// Log level of the server's own messages (error, warn, info, debug), or a tracing filter.
    #[arg(long, default_value = "info", value_name = "LEVEL")]
    pub log: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// The JSON schema of the deployment manifest.
    Manifest,
    /// The OpenAPI 3.1 document of the server's API (docs/openapi.json).
    Openapi,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The deployment manifest (TOML), or - for standard input.
    pub manifest: PathBuf,
    /// Judge evidence as of this day (YYYY-MM-DD); default: today (UTC).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = PlanFormat::Table)]
    pub format: PlanFormat,
    /// CCM version to compute coverage for.
    #[arg(long, value_enum, default_value_t = CoverageFramework::Ccm4013)]
    pub framework: CoverageFramework,
    /// Evidence records observed by Shieldwall modules (NDJSON, one Evidence record a line).
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// Module evidence older than this many days no longer counts as verified.
    #[arg(long, value_name = "DAYS", default_value_t = 30, value_parser = clap::value_parser!(i32).range(1..=3650))]
    pub evidence_max_age: i32,
    /// Write to this file (atomically: nothing is written if anything fails) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the four OSCAL documents (catalog.json, profile.json, ssp.json,
    /// component-definition.json) into this directory, which must exist. They reference each
    /// other by file name, so keep them together.
    #[arg(long, value_name = "DIR")]
    pub oscal_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Aligned tables for a terminal.
    Table,
    /// The documented JSON report (docs/plan-json.md).
    Json,
    /// Markdown.
    Md,
    /// One self-contained HTML page for people and auditors.
    Html,
    /// One long-format CSV table.
    Csv,
    /// OSCAL 1.2.1 system security plan (imports profile.json).
    OscalSsp,
    /// OSCAL 1.2.1 component definition of the capabilities.
    OscalComponent,
    /// OSCAL 1.2.1 titles-only CCM catalog (catalog.json).
    OscalCatalog,
    /// OSCAL 1.2.1 profile including the whole catalog (profile.json, imports catalog.json).
    OscalProfile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoverageFramework {
    /// CSA CCM v4.0.13 (our mapping).
    #[value(name = "ccm-4.0.13")]
    Ccm4013,
    /// CSA CCM v3.0.1 (derived through CSA's crosswalk).
    #[value(name = "ccm-3.0.1")]
    Ccm301,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// The security capabilities of guideline section 3.2, with owners and CCM links.
    Capabilities(ListArgs),
    /// The responsibilities of guideline sections 2.2 to 2.5, with owner per service model.
    Responsibilities(ListArgs),
    /// The technology categories of figure 3-1 and their owner per service model.
    Categories(ListArgs),
    /// CCM controls of one version: ids, domains, titles, ownership per service model.
    Controls(ControlsArgs),
    /// One entry in full: a capability, responsibility, category, area, service type, module or
    /// control (FRAMEWORK:ID or a bare CCM v4.0.13 id).
    Show(ShowArgs),
    /// Import the full control text from your own copy of CSA's official CCM file (XLSX or JSON).
    ///
    /// The text stays in your data directory and is shown by `catalog show`; Shieldwall never
    /// ships it. The CCM version is recognised from the control ids unless --framework says it.
    ///
    /// Example:
    ///   shieldwall catalog import-ccm ~/Downloads/CCMv4.0.13.xlsx
    #[command(verbatim_doc_comment)]
    ImportCcm(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSA's CCM workbook (.xlsx) or a JSON export of it.
    pub file: PathBuf,
    /// The CCM version the file holds; recognised from its control ids if absent.
    #[arg(long, value_enum)]
    pub framework: Option<AnyFramework>,
    /// Where to keep the text (default: $SHIELDWALL_DATA_DIR, else the user's data directory).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct ControlsArgs {
    /// CCM version.
    #[arg(long, value_enum, default_value_t = AnyFramework::Ccm4013)]
    pub framework: AnyFramework,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The id to show.
    pub id: String,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Where imported CCM text is kept (default: $SHIELDWALL_DATA_DIR, else the user's data directory).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned text.
    Table,
    /// JSON (docs/catalog-json.md).
    Json,
    /// Markdown.
    Md,
    /// CSV.
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnyFramework {
    /// CSA CCM v4.0.13.
    #[value(name = "ccm-4.0.13")]
    Ccm4013,
    /// CSA CCM v3.0.1.
    #[value(name = "ccm-3.0.1")]
    Ccm301,
    /// CSA CCM v4.1.0 (browse only).
    #[value(name = "ccm-4.1.0")]
    Ccm410,
}
