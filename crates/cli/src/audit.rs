//! `shieldwall audit verify|sign|list`: the audit trail from the command line. Reading it is
//! itself recorded.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;
use serde_json::json;
use shieldwall_auth::signing::{AuditSigner, AuditVerifier, public_key_path};
use shieldwall_core::Scope;
use shieldwall_server::access::record;
use shieldwall_server::audit_trail::{self, HeadSigner};
use shieldwall_store::meta::{AuditFilter, AuditKind, AuditOutcome, AuditTrail};

use crate::admin::{locate, operator};
use crate::args::DataLocation;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every chain of the audit trail: each record against its hash and its predecessor,
    /// each chain against its signed heads (and those of an export file). Names the first bad
    /// record and exits with status 1 when anything fails.
    ///
    /// Examples:
    ///   shieldwall audit verify
    ///   shieldwall audit verify --heads /mnt/remote/audit-heads.jsonl --format json
    #[command(verbatim_doc_comment)]
    Verify(VerifyArgs),
    /// Sign the chain heads now (the server does it every `[audit] sign_every_secs`).
    Sign(SignArgs),
    /// List audit records of one chain (a tenant, or `*` for system-wide actions), newest first.
    ///
    /// Examples:
    ///   shieldwall audit list --chain '*' --kind login
    ///   shieldwall audit list --chain acme --since 2026-11-01T00:00:00Z --format json
    #[command(verbatim_doc_comment)]
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An export file of signed heads (`[audit] export_heads`) to check against as well.
    #[arg(long, value_name = "FILE")]
    pub heads: Option<PathBuf>,
    /// The public key (hex) to check signatures with. Default: the signing key's `.pub` file.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub location: DataLocation,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub location: DataLocation,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The chain: a tenant id, or `*` for system-wide actions (logins, accounts, tenants).
    #[arg(long)]
    pub chain: String,
    /// Only records at or after this time (RFC 3339).
    #[arg(long)]
    pub since: Option<Timestamp>,
    /// Only records of this type: login, logout, change, search, denied, audit_read.
    #[arg(long)]
    pub kind: Option<String>,
    /// Only records of this actor.
    #[arg(long)]
    pub actor: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub location: DataLocation,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Sign(args) => sign(args),
        AuditCommand::List(args) => list(args),
    }
}

fn verify(args: VerifyArgs) -> Result<()> {
    let located = locate(&args.location)?;
    let meta = located.meta()?;
    let public = args
        .public_key
        .unwrap_or_else(|| public_key_path(&located.audit.signing_key_path(&located.data_dir)));
    let verifier = AuditVerifier::from_public_file(&public)
        .context("reading the audit public key (give --public-key)")?;
    let exported = match &args.heads {
        Some(path) => audit_trail::read_export(path)?,
        None => Vec::new(),
    };
    let verification = audit_trail::verify(
        meta.as_ref(),
        &verifier,
        &exported,
        located.audit.retention_days,
        Timestamp::now(),
    )?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&verification)?),
        Format::Text => {
            for chain in &verification.chains {
                let name = if chain.chain == Scope::SYSTEM {
                    "* (system)"
                } else {
                    &chain.chain
                };
                let state = match &chain.problem {
                    None => "ok".to_owned(),
                    Some(problem) => {
                        format!("FAILED at record {}: {}", problem.seq, problem.detail)
                    }
                };
                println!(
                    "chain {name}: {} records, last {}, signed up to {}, {} unsigned: {state}",
                    chain.records,
                    chain.last_seq.map_or("-".to_owned(), |s| s.to_string()),
                    chain
                        .signed_seq
                        .map_or("nothing".to_owned(), |s| s.to_string()),
                    chain.unsigned,
                );
            }
            for problem in &verification.head_problems {
                println!("signed heads: {problem}");
            }
            println!("{} signed heads checked", verification.heads_checked);
        }
    }
    if !verification.ok() {
        let first = verification
            .chains
            .iter()
            .find_map(|c| c.problem.as_ref().map(ToString::to_string))
            .or_else(|| verification.head_problems.first().cloned())
            .unwrap_or_default();
        bail!("the audit trail does not verify: {first}");
    }
    Ok(())
}

fn sign(args: SignArgs) -> Result<()> {
    let located = locate(&args.location)?;
    let meta = located.meta()?;
    let signer = AuditSigner::load_or_create(&located.audit.signing_key_path(&located.data_dir))?;
    let heads = HeadSigner::new(meta, signer, located.audit.export_heads.clone())
        .sign_now(Timestamp::now())?;
    println!("signed {} chain head(s)", heads.len());
    Ok(())
}

fn list(args: ListArgs) -> Result<()> {
    let located = locate(&args.location)?;
    let meta = located.meta()?;
    let chain: Scope = args
        .chain
        .parse()
        .with_context(|| format!("--chain {:?}", args.chain))?;
    let kind = match &args.kind {
        Some(text) => Some(AuditKind::parse(text).with_context(|| {
            format!("--kind {text:?}: use login, logout, change, search, denied or audit_read")
        })?),
        None => None,
    };
    let filter = AuditFilter {
        chain: chain.clone(),
        since: args.since,
        until: None,
        kind,
        actor: args.actor.clone(),
        before_seq: None,
        after_seq: None,
        limit: args.limit,
    };
    // The read is recorded before it happens, so that no read goes unrecorded.
    let now = Timestamp::now();
    let read = record(
        chain.clone(),
        now,
        AuditKind::AuditRead,
        &operator(),
        &format!("audit:{chain}"),
        "list",
        AuditOutcome::Success,
    )
    .with_detail(
        json!({"kind": args.kind, "actor": args.actor, "since": args.since, "limit": args.limit}),
    );
    meta.append_audit(&read)?;
    let records = meta.audit_records(&filter)?;
    match args.format {
        Format::Json => {
            for r in &records {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        Format::Text => {
            for r in &records {
                let x = &r.record;
                println!(
                    "{:>6} {} {:<10} {:<8} {} from {} {} {} {}",
                    r.seq,
                    x.at,
                    x.kind.as_str(),
                    x.outcome.as_str(),
                    crate::alerts::shown(&x.actor),
                    crate::alerts::shown(&x.address),
                    crate::alerts::shown(&x.action),
                    crate::alerts::shown(&x.object),
                    if x.detail.is_null() {
                        String::new()
                    } else {
                        crate::alerts::shown(&x.detail.to_string())
                    },
                );
            }
        }
    }
    Ok(())
}
