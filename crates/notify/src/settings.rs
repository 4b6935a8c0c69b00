//! A notification channel as `shieldwall.toml` declares it (`[[notify]]`), checked and built.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use shieldwall_core::Severity;

use crate::email::{Email, EmailTls};
use crate::syslog::Syslog;
use crate::webhook::Webhook;
use crate::{ConfigError, DeliveryError, Message};

/// The kinds of channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// HTTPS POST of the alert as JSON, HMAC-signed.
    Webhook,
    /// E-mail over SMTP.
    Email,
    /// RFC 5424 messages over TLS (RFC 5425).
    Syslog,
}

/// One `[[notify]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    /// How alerts refer to it.
    pub name: String,
    /// What it is.
    pub kind: ChannelKind,
    /// Only alerts of this severity or higher. Default: all.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Only alerts of these tenants. Default: every tenant.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Whether alerts go to this channel at all. `false` for an e-mail channel that only
    /// carries scheduled reports (`[[report]]`). Default: true.
    #[serde(default = "default_alerts")]
    pub alerts: bool,
    /// webhook: the URL (`https://`; `http://` only with `allow_plain`).
    #[serde(default)]
    pub url: Option<String>,
    /// webhook: a file holding the HMAC key (its first line), readable by the owner only.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// email and syslog: the server's host name.
    #[serde(default)]
    pub host: Option<String>,
    /// email and syslog: the port. Default: 587 (email with STARTTLS), 465 (email with TLS),
    /// 6514 (syslog).
    #[serde(default)]
    pub port: Option<u16>,
    /// email: `starttls` (default), `tls` (from the first byte), or `none` (plain; only on
    /// explicit setting).
    #[serde(default)]
    pub tls: Option<EmailTls>,
    /// email: the sender.
    #[serde(default)]
    pub from: Option<String>,
    /// email: the recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// email: the user to authenticate as (AUTH PLAIN, only over TLS).
    #[serde(default)]
    pub username: Option<String>,
    /// email: a file holding the password (its first line), readable by the owner only.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Extra trusted CA certificates (PEM), besides the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Allow a target on a loopback, private or reserved address. Default: false.
    #[serde(default)]
    pub allow_private: bool,
    /// webhook: allow `http://`. Default: false.
    #[serde(default)]
    pub allow_plain: bool,
    /// Seconds an attempt may take. Default: 20.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    20
}

fn default_alerts() -> bool {
    true
}

/// A channel ready to deliver.
#[derive(Debug, Clone)]
pub enum Channel {
    /// A webhook.
    Webhook(Webhook),
    /// E-mail.
    Email(Email),
    /// Syslog over TLS.
    Syslog(Syslog),
}

/// Reads the first line of a secret file, refusing one that others may read.
pub(crate) fn read_secret(path: &Path, what: &str) -> Result<String, ConfigError> {
    let error = |reason: String| ConfigError(format!("{what} {}: {reason}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| error(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(error(format!(
                "readable by others (mode {:o}); chmod 600 it",
                meta.permissions().mode() & 0o777
            )));
        }
    }
    if meta.len() > 64 * 1024 {
        return Err(error("larger than 64 KiB".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let secret = text.lines().next().unwrap_or("").trim().to_owned();
    if secret.is_empty() {
        return Err(error("empty".into()));
    }
    Ok(secret)
}

impl ChannelSettings {
    /// Whether alerts of `tenant` at `severity` go to this channel.
    pub fn wants(&self, tenant: &str, severity: Severity) -> bool {
        self.alerts
            && self.min_severity.is_none_or(|min| severity >= min)
            && (self.tenants.is_empty() || self.tenants.iter().any(|t| t == tenant || t == "*"))
    }

    /// Checks the settings and builds the channel (reading its secrets); paths are relative
    /// to `base` (the configuration file's directory).
    pub fn build(&self, base: &Path) -> Result<Channel, ConfigError> {
        let name = &self.name;
        let error = |reason: String| ConfigError(format!("[[notify]] {name:?}: {reason}"));
        if name.trim().is_empty() {
            return Err(ConfigError("[[notify]]: a channel needs a name".into()));
        }
        let path = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                base.join(p)
            }
        };
        let ca = self.ca_file.as_ref().map(path);
        let timeout = Duration::from_secs(self.timeout_secs.clamp(1, 300));
        let unused = |fields: &[(&str, bool)]| -> Result<(), ConfigError> {
            match fields.iter().find(|(_, set)| *set) {
                Some((field, _)) => Err(error(format!(
                    "`{field}` does not apply to a {:?} channel",
                    self.kind
                ))),
                None => Ok(()),
            }
        };
        match self.kind {
            ChannelKind::Webhook => {
                unused(&[
                    ("host", self.host.is_some()),
                    ("port", self.port.is_some()),
                    ("from", self.from.is_some()),
                    ("to", !self.to.is_empty()),
                    ("tls", self.tls.is_some()),
                    ("username", self.username.is_some()),
                    ("password_file", self.password_file.is_some()),
                ])?;
                let url = self
                    .url
                    .as_deref()
                    .ok_or_else(|| error("a webhook needs `url`".into()))?;
                let secret_file = self
                    .secret_file
                    .as_ref()
                    .ok_or_else(|| error("a webhook needs `secret_file` (the HMAC key)".into()))?;
                let secret =
                    read_secret(&path(secret_file), "secret_file").map_err(|e| error(e.0))?;
                Webhook::new(
                    url,
                    secret.into_bytes(),
                    ca.as_deref(),
                    self.allow_private,
                    self.allow_plain,
                    timeout,
                )
                .map(Channel::Webhook)
                .map_err(|e| error(e.0))
            }
            ChannelKind::Email => {
                unused(&[
                    ("url", self.url.is_some()),
                    ("secret_file", self.secret_file.is_some()),
                    ("allow_plain", self.allow_plain),
                ])?;
                let host = self
                    .host
                    .clone()
                    .ok_or_else(|| error("an email channel needs `host`".into()))?;
                let from = self
                    .from
                    .clone()
                    .ok_or_else(|| error("an email channel needs `from`".into()))?;
                if self.to.is_empty() {
                    return Err(error("an email channel needs at least one `to`".into()));
                }
                let password = match (&self.username, &self.password_file) {
                    (Some(_), Some(p)) => {
                        Some(read_secret(&path(p), "password_file").map_err(|e| error(e.0))?)
                    }
                    (None, None) => None,
                    _ => return Err(error("`username` and `password_file` go together".into())),
                };
                let tls = self.tls.unwrap_or(EmailTls::Starttls);
                Email::new(
                    host,
                    self.port,
                    tls,
                    from,
                    self.to.clone(),
                    self.username.clone().zip(password),
                    ca.as_deref(),
                    self.allow_private,
                    timeout,
                )
                .map(Channel::Email)
                .map_err(|e| error(e.0))
            }
            ChannelKind::Syslog => {
                unused(&[
                    ("url", self.url.is_some()),
                    ("secret_file", self.secret_file.is_some()),
                    ("from", self.from.is_some()),
                    ("to", !self.to.is_empty()),
                    ("tls", self.tls.is_some()),
                    ("username", self.username.is_some()),
                    ("password_file", self.password_file.is_some()),
                    ("allow_plain", self.allow_plain),
                ])?;
                let host = self
                    .host
                    .clone()
                    .ok_or_else(|| error("a syslog channel needs `host`".into()))?;
                Syslog::new(
                    host,
                    self.port.unwrap_or(6514),
                    ca.as_deref(),
                    self.allow_private,
                    timeout,
                )
                .map(Channel::Syslog)
                .map_err(|e| error(e.0))
            }
        }
    }
}

impl Channel {
    /// One attempt to send a mail (a scheduled report); only e-mail channels carry mail, and
    /// the configuration refuses any other for reports.
    pub async fn deliver_mail(&self, mail: &crate::email::Mail) -> Result<(), DeliveryError> {
        match self {
            Channel::Email(e) => e.deliver_mail(mail).await,
            Channel::Webhook(_) | Channel::Syslog(_) => Err(DeliveryError::permanent(
                "only an email channel carries reports".into(),
            )),
        }
    }

    /// One attempt to deliver `message`.
    pub async fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        match self {
            Channel::Webhook(w) => w.deliver(message).await,
            Channel::Email(e) => e.deliver(message).await,
            Channel::Syslog(s) => s.deliver(message).await,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn settings(alerts: Option<bool>) -> ChannelSettings {
        let mut table = serde_json::json!({
            "name": "soc-mail",
            "kind": "email",
            "tenants": ["acme"],
            "min_severity": "medium",
        });
        if let Some(alerts) = alerts {
            table["alerts"] = alerts.into();
        }
        serde_json::from_value(table).unwrap()
    }

    #[test]
    fn a_channel_takes_the_alerts_its_filters_let_through_unless_it_carries_reports_only() {
        let channel = settings(None);
        assert!(channel.alerts, "alerts go to a channel by default");
        assert!(channel.wants("acme", Severity::High));
        assert!(!channel.wants("acme", Severity::Low));
        assert!(!channel.wants("beta", Severity::Critical));
        assert!(!settings(Some(false)).wants("acme", Severity::Critical));
    }
}
