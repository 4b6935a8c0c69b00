//! `shieldwall admin init`: the first system administrator, made explicitly (there is no default
//! account or password anywhere), and what the account-related commands share: where the data
//! directory and the key files are, and who the local operator is.

use std::io::{self, BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use jiff::{SignedDuration, Timestamp};
use shieldwall_auth::secret_box::SecretBox;
use shieldwall_server::access::{Access, Origin, SessionLimits};
use shieldwall_server::config::{AuditSettings, AuthSettings};
use shieldwall_store::meta::{MetaStore, SqliteMetaStore};

use crate::args::DataLocation;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the first system administrator (refused once one exists).
    ///
    /// Prints the TOTP enrolment (an otpauth:// URI and the secret in base32) once: add it to an
    /// authenticator app now; every login needs its code.
    ///
    /// Examples:
    ///   shieldwall admin init --name alice
    ///   printf '%s\n' "$PASSWORD" | shieldwall admin init --name alice --password-stdin
    #[command(verbatim_doc_comment)]
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The account name (letters, digits, '.', '_', '-', '@').
    #[arg(long)]
    pub name: String,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub location: DataLocation,
}

pub fn run(command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::Init(args) => init(args),
    }
}

/// The data directory and the settings the account and audit commands need.
pub(crate) struct Located {
    pub data_dir: PathBuf,
    pub auth: AuthSettings,
    pub audit: AuditSettings,
}

pub(crate) fn locate(location: &DataLocation) -> Result<Located> {
    if let Some(dir) = &location.data_dir {
        return Ok(Located {
            data_dir: dir.clone(),
            auth: AuthSettings::default(),
            audit: AuditSettings::default(),
        });
    }
    let config = shieldwall_server::config::load(&location.config)
        .with_context(|| format!("reading {} (or give --data-dir)", location.config.display()))?;
    Ok(Located {
        data_dir: config.data_dir,
        auth: config.auth,
        audit: config.audit,
    })
}

impl Located {
    pub(crate) fn meta(&self) -> Result<Arc<SqliteMetaStore>> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let path = self.data_dir.join("meta.sqlite");
        Ok(Arc::new(
            SqliteMetaStore::open(&path).with_context(|| format!("opening {}", path.display()))?,
        ))
    }
}

/// The local operator, as the audit trail names them: `cli:<login name>`.
pub(crate) fn operator() -> Origin {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| uid().map_or_else(|| "unknown".to_owned(), |u| format!("uid={u}")));
    Origin {
        address: "local".to_owned(),
        actor: format!("cli:{user}"),
    }
}

/// Appends a record of the local operator to the audit trail of `meta`.
pub(crate) fn record_local(
    meta: &dyn shieldwall_store::MetaStore,
    chain: shieldwall_core::Scope,
    kind: shieldwall_store::meta::AuditKind,
    object: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let record = shieldwall_server::access::record(
        chain,
        Timestamp::now(),
        kind,
        &operator(),
        object,
        action,
        shieldwall_store::meta::AuditOutcome::Success,
    )
    .with_detail(detail);
    meta.append_audit(&record)
        .context("recording the command in the audit trail")?;
    Ok(())
}

/// The real user id of this process, when the system says (Linux: the owner of /proc/self).
fn uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    None
}

fn read_password(from_stdin: bool) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    if !io::stdin().is_terminal() {
        bail!("no terminal to prompt for the password on: give --password-stdin and pipe it");
    }
    let first = rpassword::prompt_password("Password (at least 12 characters): ")
        .context("reading the password")?;
    let second = rpassword::prompt_password("Password again: ").context("reading the password")?;
    if first != second {
        bail!("the two passwords differ; nothing was created");
    }
    Ok(first)
}

fn init(args: InitArgs) -> Result<()> {
    let located = locate(&args.location)?;
    let meta: Arc<dyn MetaStore> = located.meta()?;
    let key_path = located.auth.secret_key_path(&located.data_dir);
    let secrets = SecretBox::load_or_create(&key_path)?;
    let password = read_password(args.password_stdin)?;
    let access = Access::new(
        meta,
        secrets,
        located.auth.password_cost.cost(),
        SessionLimits {
            lifetime: SignedDuration::from_hours(12),
            idle: SignedDuration::from_mins(30),
        },
    );
    let enrolled = access
        .init_admin(&args.name, &password, &operator(), Timestamp::now())
        .context("creating the first system administrator")?;
    println!(
        "Created system administrator {:?} (account {}).",
        enrolled.account.name, enrolled.account.id
    );
    println!();
    println!("Add this to an authenticator app now; it is shown only once:");
    println!("  {}", enrolled.otpauth_uri);
    println!("  secret (base32): {}", enrolled.secret_base32);
    println!();
    println!(
        "The TOTP secret is sealed with {}; keep that file with the data directory's backups, apart from them.",
        key_path.display()
    );
    Ok(())
}
