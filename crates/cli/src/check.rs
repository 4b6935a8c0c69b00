//! `shieldwall check baseline`: evaluate baseline policies (Wazuh SCA format) against the
//! local host, a root directory or single configuration files, and report per check.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use shieldwall_baseline::{
    Evaluator, Format, Limits, Policy, PolicyReport, Target, render, shipped,
};

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check configuration against baseline policies in Wazuh's SCA format: Wazuh's CIS
    /// policies as they are, your own, or the ones we ship (linux_host, mysql, postgresql,
    /// nginx, apache_httpd, tomcat, bind, cisco_ios, huawei_vrp, juniper_junos; see
    /// --list-policies). See docs/baseline.md.
    ///
    /// Targets: `local` (this host), `root:DIR` (an image or container filesystem; commands
    /// are not run unless --chroot), `file:PATH` (one configuration file, which the policy
    /// names `$target_file`; more with --var), `ssh:[USER@]HOST[:PORT]` (a running host over
    /// SSH, nothing installed there; its key must be in --known-hosts).
    ///
    /// Exits with status 0 when every policy ran (whatever the results), 2 when a policy did
    /// not load (the others still run and are reported) or the target is unusable.
    ///
    /// Examples:
    ///   shieldwall check baseline --policy linux_host
    ///   shieldwall check baseline --policy cis_debian12.yml --target root:/srv/images/web --chroot --format html --output web.html
    ///   shieldwall check baseline --policy cisco_ios --target file:router1.cfg --format json
    ///   shieldwall check baseline --policy postgresql --target file:postgresql.conf --var pg_hba_file=pg_hba.conf
    ///   shieldwall check baseline --policy linux_host --target ssh:root@db1.example --ssh-key ~/.ssh/audit_ed25519
    ///   shieldwall check baseline --list-policies
    #[command(verbatim_doc_comment)]
    Baseline(BaselineArgs),
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// A policy file, a directory of them (every .yml/.yaml), or a shipped policy's name.
    /// Repeatable.
    #[arg(
        long,
        short = 'p',
        value_name = "FILE|DIR|NAME",
        required_unless_present = "list_policies"
    )]
    pub policy: Vec<String>,
    /// What to check: local, root:DIR, file:PATH or ssh:[USER@]HOST[:PORT].
    #[arg(long, short = 't', default_value = "local", value_name = "TARGET")]
    pub target: String,
    /// For an ssh: target, the private key (readable by its owner only). Default:
    /// ~/.ssh/id_ed25519.
    #[arg(long, value_name = "FILE")]
    pub ssh_key: Option<PathBuf>,
    /// For an ssh: target, the known_hosts file that must list the host's key (it is never
    /// learnt on first use). Default: ~/.ssh/known_hosts.
    #[arg(long, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// With a root:DIR target, run command rules inside it with chroot (needs root). Their
    /// results are marked: the root's programs then see this host's kernel and processes.
    #[arg(long)]
    pub chroot: bool,
    /// Bind a policy variable to a file for a file: target, e.g. pg_hba_file=/etc/pg_hba.conf.
    #[arg(long, value_name = "NAME=PATH")]
    pub var: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = BaselineFormat::Table)]
    pub format: BaselineFormat,
    /// Write the report here instead of standard output (atomically).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Seconds a command rule may run before it is killed (its check is then an error).
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub command_timeout: u64,
    /// Do not run command rules (`c:`) on the local host or an ssh: host: they become not
    /// applicable. A policy's commands run as you (or the ssh user): use this for policies you
    /// have not read.
    #[arg(long)]
    pub no_commands: bool,
    /// Seconds the weak-password search may spend; nothing found in an unfinished search is an
    /// error result, not a pass.
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub password_budget: u64,
    /// List the shipped policies and exit.
    #[arg(long)]
    pub list_policies: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BaselineFormat {
    Table,
    Json,
    Md,
    Html,
    Csv,
}

pub fn run(command: CheckCommand) -> Result<()> {
    match command {
        CheckCommand::Baseline(args) => baseline(args),
    }
}

fn baseline(args: BaselineArgs) -> Result<()> {
    if args.list_policies {
        let mut out = String::new();
        for policy in shipped::all() {
            let p = policy
                .load()
                .with_context(|| format!("shipped policy {}", policy.name))?;
            out.push_str(&format!(
                "{:<16} {:>4} checks  {}\n",
                policy.name,
                p.checks.len(),
                p.name
            ));
        }
        crate::output::print(&out)?;
        return Ok(());
    }
    let target = parse_target(&args)?;
    let mut policies = Vec::new();
    let mut failed = 0usize;
    for spec in &args.policy {
        for loaded in load_policies(spec)? {
            match loaded {
                Ok(policy) => policies.push(policy),
                Err(error) => {
                    failed += 1;
                    eprintln!("error: policy not loaded: {error}");
                }
            }
        }
    }
    for policy in &policies {
        for (check, rule, reason) in policy.unsupported_rules() {
            eprintln!(
                "warning: {}:{}: check {}: rule cannot be evaluated ({reason}); the check will be an error",
                policy.source.display(),
                rule.line,
                check.id
            );
        }
    }
    let limits = Limits {
        command_timeout: std::time::Duration::from_secs(args.command_timeout),
        password_budget: std::time::Duration::from_secs(args.password_budget),
        ..Limits::default()
    };
    let show_progress = std::io::stderr().is_terminal();
    let mut evaluator = Evaluator::new(&target, limits);
    let mut reports: Vec<PolicyReport> = Vec::new();
    for policy in &policies {
        let mut progress = |done: usize, total: usize| {
            if show_progress {
                eprint!("\r{}: {done}/{total} checks", policy.id);
                if done == total {
                    eprintln!();
                }
            }
        };
        reports.push(evaluator.policy(policy, &mut progress));
    }
    let format = match args.format {
        BaselineFormat::Table => Format::Table,
        BaselineFormat::Json => Format::Json,
        BaselineFormat::Md => Format::Markdown,
        BaselineFormat::Html => Format::Html,
        BaselineFormat::Csv => Format::Csv,
    };
    let text = render(&reports, format).map_err(anyhow::Error::msg)?;
    crate::output::emit(&text, args.output.as_deref())?;
    if failed > 0 {
        bail!("{failed} policy file(s) did not load (reported above); the others were checked");
    }
    Ok(())
}

fn parse_target(args: &BaselineArgs) -> Result<Target> {
    let mut vars = BTreeMap::new();
    for binding in &args.var {
        let Some((name, path)) = binding.split_once('=') else {
            bail!("--var {binding}: expected NAME=PATH");
        };
        vars.insert(name.to_owned(), PathBuf::from(path));
    }
    let ssh = args.target.strip_prefix("ssh:");
    if args.no_commands && args.target != "local" && ssh.is_none() {
        bail!(
            "--no-commands applies to local and ssh: targets (root: and file: targets run no commands unless --chroot)"
        );
    }
    if ssh.is_none() && (args.ssh_key.is_some() || args.known_hosts.is_some()) {
        bail!("--ssh-key and --known-hosts apply to ssh: targets only");
    }
    if ssh.is_some() && (args.chroot || !vars.is_empty()) {
        bail!("--chroot and --var do not apply to ssh: targets");
    }
    let target = match ssh {
        Some(host) => {
            let home = || {
                std::env::var_os("HOME").map(PathBuf::from).ok_or_else(|| {
                    anyhow::anyhow!("HOME is not set: give --ssh-key and --known-hosts")
                })
            };
            let key = match &args.ssh_key {
                Some(key) => key.clone(),
                None => home()?.join(".ssh/id_ed25519"),
            };
            let known_hosts = match &args.known_hosts {
                Some(file) => file.clone(),
                None => home()?.join(".ssh/known_hosts"),
            };
            Target::ssh(host, key, known_hosts).map_err(anyhow::Error::msg)?
        }
        None => Target::parse(&args.target, args.chroot, &vars, Path::new("."))
            .map_err(anyhow::Error::msg)?,
    };
    Ok(if args.no_commands {
        target.without_commands("commands disabled by --no-commands")
    } else {
        target
    })
}

/// The policies `spec` names: a file, every policy file of a directory, or a shipped policy.
fn load_policies(spec: &str) -> Result<Vec<Result<Policy, shieldwall_baseline::PolicyError>>> {
    shipped::resolve(spec, Path::new(".")).map_err(anyhow::Error::msg)
}
