//! `shieldwall alerts list|show|ack|close|reopen|assign|comment`: alert handling on the data
//! directory's MetaStore (also while the server runs).

use std::io::{self, BufWriter, Write};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;
use shieldwall_core::{AlertState, Severity, TenantId};
use shieldwall_store::meta::{
    AlertAction, AlertChange, AlertFilter, MetaStore, SqliteMetaStore, StoredAlert,
};

use crate::args::DataLocation;

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts, newest first.
    List(ListArgs),
    /// Show one alert with its events, tags and history.
    Show(ShowArgs),
    /// Acknowledge a new alert (someone is on it).
    Ack(ChangeArgs),
    /// Close an alert with its resolution.
    Close(CloseArgs),
    /// Reopen a closed alert (it becomes acknowledged).
    Reopen(ChangeArgs),
    /// Assign an alert to someone, or to nobody.
    Assign(AssignArgs),
    /// Add a comment to an alert.
    Comment(CommentArgs),
}

#[derive(Debug, Args)]
pub struct Common {
    #[command(flatten)]
    pub location: DataLocation,
    /// The tenant whose alerts these are.
    #[arg(long, default_value = "default")]
    pub tenant: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text.
    Table,
    /// JSON.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    New,
    Acknowledged,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub common: Common,
    /// Only alerts in this state.
    #[arg(long, value_enum)]
    pub state: Option<StateArg>,
    /// Only alerts of this severity or higher.
    #[arg(long, value_enum)]
    pub severity: Option<SeverityArg>,
    /// Only alerts of this rule (its id, or title when it has none).
    #[arg(long)]
    pub rule: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Only alerts older than this id (the next page).
    #[arg(long, value_name = "ID")]
    pub before: Option<u64>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub common: Common,
    /// The alert id.
    pub id: u64,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ChangeArgs {
    #[command(flatten)]
    pub common: Common,
    /// The alert id.
    pub id: u64,
    /// Who makes the change, for the history (default: $USER).
    #[arg(long = "as", value_name = "NAME")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct CloseArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// How it was resolved (false positive, blocked, fixed...).
    #[arg(long)]
    pub resolution: String,
}

#[derive(Debug, Args)]
pub struct AssignArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The assignee; leave out to unassign.
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct CommentArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The comment.
    pub text: String,
}

pub fn run(command: AlertsCommand) -> Result<()> {
    match command {
        AlertsCommand::List(args) => list(args),
        AlertsCommand::Show(args) => show(args),
        AlertsCommand::Ack(args) => change(args, AlertAction::Acknowledge),
        AlertsCommand::Close(args) => change(
            args.change,
            AlertAction::Close {
                resolution: args.resolution,
            },
        ),
        AlertsCommand::Reopen(args) => change(args, AlertAction::Reopen),
        AlertsCommand::Assign(args) => {
            change(args.change, AlertAction::Assign { assignee: args.to })
        }
        AlertsCommand::Comment(args) => {
            change(args.change, AlertAction::Comment { text: args.text })
        }
    }
}

fn open(common: &Common) -> Result<(SqliteMetaStore, TenantId)> {
    let tenant = TenantId::new(common.tenant.as_str())
        .with_context(|| format!("--tenant {:?}", common.tenant))?;
    let path = crate::store_cmd::data_dir(&common.location)?.join("meta.sqlite");
    if !path.exists() {
        bail!(
            "{}: no metadata database (has `shieldwall serve` run on this data directory?)",
            path.display()
        );
    }
    let meta =
        SqliteMetaStore::open(&path).with_context(|| format!("opening {}", path.display()))?;
    Ok((meta, tenant))
}

/// `text` safe for a terminal: control characters (which log text may carry, to move the
/// cursor or rewrite the screen) are written as escapes.
pub(crate) fn shown(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

fn state_name(state: AlertState) -> &'static str {
    shieldwall_store::meta::alerts::name(state)
}

fn list(args: ListArgs) -> Result<()> {
    let (meta, tenant) = open(&args.common)?;
    let alerts = meta.alerts(&AlertFilter {
        tenant: Some(tenant),
        state: args.state.map(|s| match s {
            StateArg::New => AlertState::New,
            StateArg::Acknowledged => AlertState::Acknowledged,
            StateArg::Closed => AlertState::Closed,
        }),
        rule_id: args.rule,
        min_severity: args.severity.map(|s| match s {
            SeverityArg::Info => Severity::Info,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        }),
        before: args.before,
        limit: args.limit,
    })?;
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        Format::Json => {
            for alert in &alerts {
                serde_json::to_writer(&mut out, alert)?;
                writeln!(out)?;
            }
        }
        Format::Table => {
            writeln!(out, "ID\tSTATE\tSEVERITY\tCOUNT\tLAST SEEN\tTITLE\tGROUP")?;
            for a in &alerts {
                let group: Vec<String> = a
                    .group
                    .iter()
                    .map(|(k, v)| format!("{}={}", shown(k), shown(v)))
                    .collect();
                writeln!(
                    out,
                    "{}\t{}\t{:?}\t{}\t{}\t{}\t{}",
                    a.id,
                    state_name(a.state),
                    a.severity,
                    a.count,
                    a.last_seen,
                    shown(&a.title),
                    group.join(",")
                )?;
            }
            if alerts.len() == args.limit
                && let Some(last) = alerts.last()
            {
                writeln!(out, "(more: --before {})", last.id)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn show(args: ShowArgs) -> Result<()> {
    let (meta, tenant) = open(&args.common)?;
    let Some(alert) = meta.alert(&tenant, args.id)? else {
        bail!("tenant {:?} has no alert {}", tenant.as_str(), args.id);
    };
    let history = meta.alert_history(&tenant, args.id)?;
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"alert": alert, "history": history}),
            )?;
            writeln!(out)?;
        }
        Format::Table => write_alert(&mut out, &alert, &history)?,
    }
    out.flush()?;
    Ok(())
}

fn write_alert(
    out: &mut impl Write,
    a: &StoredAlert,
    history: &[shieldwall_store::meta::AlertHistoryEntry],
) -> Result<()> {
    writeln!(
        out,
        "alert {} ({:?} {}): {}",
        a.id, a.source, a.rule_id, a.title
    )?;
    writeln!(out, "  state:      {}", state_name(a.state))?;
    writeln!(out, "  severity:   {:?} (level {})", a.severity, a.level)?;
    if let Some(author) = &a.author {
        let licence = a.license.as_deref().unwrap_or("licence not stated");
        writeln!(out, "  rule by:    {} ({})", shown(author), shown(licence))?;
    }
    writeln!(
        out,
        "  seen:       {} times, {} to {}",
        a.count, a.first_seen, a.last_seen
    )?;
    for (k, v) in &a.group {
        writeln!(out, "  {}: {}", shown(k), shown(v))?;
    }
    writeln!(out, "  ATT&CK:     {}", a.attack.join(", "))?;
    writeln!(out, "  CCM 4.0.13: {}", a.controls.join(", "))?;
    if let Some(who) = &a.assignee {
        writeln!(out, "  assignee:   {}", shown(who))?;
    }
    if let Some(r) = &a.resolution {
        writeln!(out, "  resolution: {}", shown(r))?;
    }
    let shown: Vec<String> = a.events.iter().take(10).map(ToString::to_string).collect();
    writeln!(
        out,
        "  events:     {}{}",
        shown.join(" "),
        if a.events.len() > 10 {
            format!(" (and {} more)", a.events.len() - 10)
        } else {
            String::new()
        }
    )?;
    writeln!(out, "history:")?;
    for h in history {
        writeln!(
            out,
            "  {}  {}  {}{}",
            h.at,
            h.actor,
            h.action,
            h.detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}

fn change(args: ChangeArgs, action: AlertAction) -> Result<()> {
    let (meta, tenant) = open(&args.common)?;
    let actor = args
        .actor
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "cli".to_owned());
    let name = action.name();
    let detail = serde_json::to_value(&action).unwrap_or_default();
    let now = Timestamp::now();
    let audit = shieldwall_server::access::record(
        shieldwall_core::Scope::Tenant(tenant.clone()),
        now,
        shieldwall_store::meta::AuditKind::Change,
        &crate::admin::operator(),
        &format!("alert:{}", args.id),
        "change_alert",
        shieldwall_store::meta::AuditOutcome::Success,
    )
    .with_detail(detail);
    let alert = meta.change_alert_audited(
        &tenant,
        args.id,
        &AlertChange {
            action,
            actor,
            at: now,
        },
        &audit,
    )?;
    println!(
        "alert {} {name}; now {}{}",
        alert.id,
        state_name(alert.state),
        alert
            .assignee
            .as_deref()
            .map(|a| format!(", assigned to {a}"))
            .unwrap_or_default()
    );
    Ok(())
}
