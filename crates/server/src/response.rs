//! Response actions (`[[response]]`, docs/alerts.md): a named, allow-listed command run when an
//! alert of a rule whose policy names it is raised, with the alert's group values as arguments.
//! Off unless configured and named by a rule. No shell: the command is an absolute path run with
//! a fixed argument list, an empty environment but `PATH`, no standard input, and a time limit;
//! each value is checked against the action's `allow` kind before it is passed, and its result
//! (exit status and the start of its output) is recorded in the alert's history.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;
use shieldwall_core::TenantId;
use shieldwall_store::meta::{AlertAction, AlertChange, MetaStore};
use tokio::sync::mpsc;

/// Jobs waiting to run; past it a job is refused and the refusal recorded.
const QUEUE: usize = 1024;
/// The most output kept in the history.
const MAX_OUTPUT: usize = 2048;

/// What values an action accepts for its placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allow {
    /// An IPv4 or IPv6 address.
    Ip,
    /// An IP address on the public internet: what a block action should take, since source
    /// addresses in logs can be forged to name the gateway, a resolver or the server itself.
    PublicIp,
    /// A host name: letters, digits, dots and hyphens.
    Hostname,
    /// Letters, digits, `.`, `_`, `@` and `-` (an account name).
    Word,
}

impl Allow {
    /// Whether `value` may be passed: of the kind, at most 253 bytes, and never starting with
    /// `-` (which the command could read as an option).
    pub fn accepts(self, value: &str) -> bool {
        if value.is_empty() || value.len() > 253 || value.starts_with('-') {
            return false;
        }
        match self {
            Allow::Ip => value.parse::<std::net::IpAddr>().is_ok(),
            Allow::PublicIp => value
                .parse::<std::net::IpAddr>()
                .is_ok_and(shieldwall_notify::address::is_public),
            Allow::Hostname => value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            Allow::Word => value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-')),
        }
    }
}

/// One `[[response]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSettings {
    /// How rules name it (`response = "block-address"` in alerting.toml).
    pub name: String,
    /// The program: an absolute path.
    pub command: PathBuf,
    /// Its arguments; `{field}` is replaced by the alert's value of that group field
    /// (`{src_endpoint.ip}`), `{alert}` by the alert id, `{tenant}` by the tenant.
    #[serde(default)]
    pub args: Vec<String>,
    /// What the field values must be. Default: word.
    #[serde(default = "default_allow")]
    pub allow: Allow,
    /// Seconds it may run. Default: 10.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_allow() -> Allow {
    Allow::Word
}

fn default_timeout() -> u64 {
    10
}

impl ResponseSettings {
    /// Checks that the command is an absolute path to an executable file that only its owner
    /// may change.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        let error = |reason: String| format!("[[response]] {name:?}: {reason}");
        if !self.command.is_absolute() {
            return Err(error(format!(
                "command {} is not an absolute path",
                self.command.display()
            )));
        }
        let meta = std::fs::metadata(&self.command)
            .map_err(|e| error(format!("{}: {e}", self.command.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode();
            if mode & 0o111 == 0 || !meta.is_file() {
                return Err(error(format!(
                    "{} is not an executable file",
                    self.command.display()
                )));
            }
            if mode & 0o022 != 0 {
                return Err(error(format!(
                    "{} may be changed by others (mode {:o})",
                    self.command.display(),
                    mode & 0o777
                )));
            }
        }
        Ok(())
    }

    /// The arguments for an alert, or why a value is refused.
    pub fn arguments(
        &self,
        tenant: &str,
        alert: u64,
        group: &BTreeMap<String, String>,
    ) -> Result<Vec<String>, String> {
        let mut out = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            let mut result = String::new();
            let mut rest = arg.as_str();
            while let Some(start) = rest.find('{') {
                result.push_str(rest.get(..start).unwrap_or(""));
                let after = rest.get(start + 1..).unwrap_or("");
                // A placeholder is a name in braces; other braces (nft's sets) are text.
                let name_len = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
                    .unwrap_or(after.len());
                let (field, tail) = after.split_at(name_len);
                let Some(tail) = tail.strip_prefix('}').filter(|_| !field.is_empty()) else {
                    result.push('{');
                    rest = after;
                    continue;
                };
                let value = match field {
                    "alert" => alert.to_string(),
                    "tenant" => tenant.to_owned(),
                    _ => {
                        let value = group
                            .get(field)
                            .ok_or_else(|| format!("the alert has no value for {{{field}}}"))?;
                        if !self.allow.accepts(value) {
                            return Err(format!(
                                "{{{field}}} = {value:?} is not a {:?} value; refused",
                                self.allow
                            ));
                        }
                        value.clone()
                    }
                };
                result.push_str(&value);
                rest = tail;
            }
            result.push_str(rest);
            out.push(result);
        }
        Ok(out)
    }
}

/// A response to run for a raised alert.
#[derive(Debug, Clone)]
pub struct Job {
    /// The action's name.
    pub action: String,
    /// The alert's tenant.
    pub tenant: TenantId,
    /// The alert.
    pub alert: u64,
    /// Its group values.
    pub group: BTreeMap<String, String>,
}

/// The response actions and the queue to their runner.
pub struct Responder {
    actions: BTreeMap<String, ResponseSettings>,
    queue: mpsc::Sender<Job>,
    meta: Arc<dyn MetaStore>,
}

impl Responder {
    /// Checks every action and starts the runner in the current runtime.
    pub fn start(
        actions: &[ResponseSettings],
        meta: Arc<dyn MetaStore>,
    ) -> Result<Arc<Responder>, String> {
        let mut by_name = BTreeMap::new();
        for a in actions {
            a.check()?;
            if by_name.insert(a.name.clone(), a.clone()).is_some() {
                return Err(format!("[[response]] {:?} is declared twice", a.name));
            }
        }
        let (queue, jobs) = mpsc::channel(QUEUE);
        let responder = Arc::new(Responder {
            actions: by_name,
            queue,
            meta,
        });
        tokio::spawn(run(Arc::clone(&responder), jobs));
        Ok(responder)
    }

    /// Whether `name` is a configured action.
    pub fn knows(&self, name: &str) -> bool {
        self.actions.contains_key(name)
    }

    /// Queues a job; a full queue or an unknown action is recorded in the alert's history
    /// rather than dropped silently.
    pub fn submit(&self, job: Job) {
        if !self.knows(&job.action) {
            let detail = format!("{}: no such [[response]] action is configured", job.action);
            record(self.meta.as_ref(), &job, detail);
            return;
        }
        if let Err(e) = self.queue.try_send(job) {
            let job = match e {
                mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job) => {
                    job
                }
            };
            let detail = format!("{}: not run, {QUEUE} responses already waiting", job.action);
            record(self.meta.as_ref(), &job, detail);
        }
    }
}

fn record(meta: &dyn MetaStore, job: &Job, detail: String) {
    tracing::warn!(
        tenant = job.tenant.as_str(),
        alert = job.alert,
        action = job.action.as_str(),
        "response: {detail}"
    );
    let change = AlertChange {
        action: AlertAction::Comment { text: detail },
        actor: format!("response:{}", job.action),
        at: Timestamp::now(),
    };
    if let Err(e) = meta.change_alert(&job.tenant, job.alert, &change) {
        tracing::error!("recording the response to alert {} failed: {e}", job.alert);
    }
}

async fn run(responder: Arc<Responder>, mut jobs: mpsc::Receiver<Job>) {
    while let Some(job) = jobs.recv().await {
        let Some(action) = responder.actions.get(&job.action) else {
            continue;
        };
        let detail = match action.arguments(job.tenant.as_str(), job.alert, &job.group) {
            Err(reason) => format!("{}: not run: {reason}", job.action),
            Ok(args) => execute(action, &args).await,
        };
        let meta = Arc::clone(&responder.meta);
        let _ = tokio::task::spawn_blocking(move || record(meta.as_ref(), &job, detail)).await;
    }
}

/// Runs the command; returns what happened, for the history.
async fn execute(action: &ResponseSettings, args: &[String]) -> String {
    let mut command = tokio::process::Command::new(&action.command);
    command
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let shown = format!("{} {}", action.command.display(), args.join(" "));
    let limit = Duration::from_secs(action.timeout_secs.clamp(1, 600));
    match tokio::time::timeout(limit, command.output()).await {
        Err(_) => format!(
            "{}: `{shown}` killed after {} s",
            action.name,
            limit.as_secs()
        ),
        Ok(Err(e)) => format!("{}: `{shown}` could not start: {e}", action.name),
        Ok(Ok(output)) => {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            let text = text.trim();
            let excerpt: String = text.chars().take(MAX_OUTPUT).collect();
            format!(
                "{}: `{shown}` exited with {}{}",
                action.name,
                output
                    .status
                    .code()
                    .map_or_else(|| "a signal".to_owned(), |c| c.to_string()),
                if excerpt.is_empty() {
                    String::new()
                } else {
                    format!(": {excerpt}")
                }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_before_they_become_arguments() {
        let action = ResponseSettings {
            name: "block".into(),
            command: "/usr/sbin/nft".into(),
            args: vec![
                "add".into(),
                "element".into(),
                "inet filter blocked { {src_endpoint.ip} }".into(),
                "--comment=alert-{alert}".into(),
            ],
            allow: Allow::Ip,
            timeout_secs: 5,
        };
        let group = |ip: &str| BTreeMap::from([("src_endpoint.ip".to_owned(), ip.to_owned())]);
        assert_eq!(
            action.arguments("acme", 7, &group("203.0.113.9")).unwrap(),
            [
                "add",
                "element",
                "inet filter blocked { 203.0.113.9 }",
                "--comment=alert-7"
            ]
        );
        for bad in ["203.0.113.9; rm -rf /", "-i", "", "2001:db8::1 x"] {
            assert!(action.arguments("acme", 7, &group(bad)).is_err(), "{bad:?}");
        }
        assert!(
            action
                .arguments("acme", 7, &BTreeMap::new())
                .unwrap_err()
                .contains("no value")
        );
        assert!(Allow::PublicIp.accepts("203.0.114.9") && !Allow::PublicIp.accepts("10.0.0.1"));
        assert!(!Allow::PublicIp.accepts("127.0.0.1") && Allow::Ip.accepts("127.0.0.1"));
        assert!(Allow::Word.accepts("svc_backup@corp"));
        assert!(!Allow::Word.accepts("a b"));
        assert!(Allow::Hostname.accepts("web-1.example.com"));
        assert!(!Allow::Hostname.accepts("web1;reboot"));
    }
}
