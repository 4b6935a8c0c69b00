//! The settings of the API, of sign-in and of the audit trail: `[api]`, `[auth]` and `[audit]`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The HTTPS API (`[api]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettings {
    /// Serve the API. Default: true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Address to listen on. Default: 127.0.0.1:8443 (set an outside address deliberately).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// PEM certificate chain. With `tls_key`; without both, a self-signed certificate is made on
    /// first start and kept in `<data_dir>/tls/`.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS: only on a loopback address. Default: false.
    #[serde(default)]
    pub plain_http: bool,
    /// Hours a console session lasts at most. Default: 12.
    #[serde(default = "default_session_hours")]
    pub session_hours: u32,
    /// Minutes of inactivity that end a console session. Default: 30.
    #[serde(default = "default_idle_minutes")]
    pub idle_minutes: u32,
    /// Days an API token lives when its creator does not say. Default: 90; at most 366.
    #[serde(default = "default_token_days")]
    pub token_days: u32,
    /// Concurrent connections at most. Default: 256.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Largest request body, in bytes (rule and manifest uploads). Default: 4 MiB.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Run the command (`c:`) rules of baseline policies uploaded through the API. Off, they
    /// are not applicable, with that reason: an upload would otherwise run programs of its
    /// author's choosing on the checked host. Default: false.
    #[serde(default)]
    pub uploaded_command_rules: bool,
}

/// Sign-in (`[auth]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// The key file that seals TOTP secrets. Default: `<data_dir>/keys/secret.key`; kept apart
    /// from the database, owner-only.
    #[serde(default)]
    pub secret_key: Option<PathBuf>,
    /// `owasp` (Argon2id m=19456 KiB, t=2, p=1) or, for tests only, `test-only`.
    #[serde(default)]
    pub password_cost: PasswordCost,
}

/// How expensive password hashes are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PasswordCost {
    /// OWASP's Argon2id parameters.
    #[default]
    Owasp,
    /// Cheap hashes for test suites; never in production.
    TestOnly,
}

impl PasswordCost {
    /// The Argon2id parameters.
    pub fn cost(self) -> shieldwall_auth::password::Cost {
        match self {
            PasswordCost::Owasp => shieldwall_auth::password::Cost::OWASP,
            PasswordCost::TestOnly => shieldwall_auth::password::Cost::TEST_ONLY,
        }
    }
}

/// The audit trail (`[audit]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// The Ed25519 key that signs chain heads. Default: `<data_dir>/keys/audit-signing.key`; its
    /// public key is written beside it as `.pub`.
    #[serde(default)]
    pub signing_key: Option<PathBuf>,
    /// Seconds between signings of the chain heads: the longest time in which records cut from
    /// the end of a chain could go unnoticed. Default: 60.
    #[serde(default = "default_sign_secs")]
    pub sign_every_secs: u64,
    /// A file (on another disk or host, ideally) to which every signed head is appended as a
    /// JSON line. Default: none.
    #[serde(default)]
    pub export_heads: Option<PathBuf>,
    /// Days to keep audit records; older ones are purged, up to the latest signed head. Default:
    /// none (keep everything).
    #[serde(default)]
    pub retention_days: Option<u32>,
}

fn yes() -> bool {
    true
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8443))
}
fn default_session_hours() -> u32 {
    12
}
fn default_idle_minutes() -> u32 {
    30
}
fn default_token_days() -> u32 {
    90
}
fn default_max_connections() -> usize {
    256
}
fn default_max_body_bytes() -> usize {
    4 << 20
}
fn default_sign_secs() -> u64 {
    60
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            enabled: true,
            listen: default_listen(),
            tls_cert: None,
            tls_key: None,
            plain_http: false,
            session_hours: default_session_hours(),
            idle_minutes: default_idle_minutes(),
            token_days: default_token_days(),
            max_connections: default_max_connections(),
            max_body_bytes: default_max_body_bytes(),
            uploaded_command_rules: false,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            secret_key: None,
            password_cost: PasswordCost::Owasp,
        }
    }
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            signing_key: None,
            sign_every_secs: default_sign_secs(),
            export_heads: None,
            retention_days: None,
        }
    }
}

impl ApiSettings {
    /// Checks what serde cannot; the message names the key.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.plain_http && !self.listen.ip().is_loopback() {
            return Err(format!(
                "[api] plain_http = true is allowed only on a loopback address, not {}; use TLS (the default) to listen elsewhere",
                self.listen
            ));
        }
        if self.plain_http && (self.tls_cert.is_some() || self.tls_key.is_some()) {
            return Err(
                "[api] plain_http = true and tls_cert/tls_key contradict each other; keep one"
                    .to_owned(),
            );
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("[api] tls_cert and tls_key go together: give both, or neither for a self-signed certificate".to_owned());
        }
        if self.session_hours == 0 || self.idle_minutes == 0 {
            return Err("[api] session_hours and idle_minutes must be at least 1".to_owned());
        }
        if !(1..=366).contains(&self.token_days) {
            return Err("[api] token_days must be between 1 and 366".to_owned());
        }
        if self.max_connections == 0 || self.max_body_bytes < 1024 {
            return Err(
                "[api] max_connections must be at least 1 and max_body_bytes at least 1024"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// Resolves relative certificate paths against the configuration's directory.
    pub(crate) fn resolve(&mut self, base: &Path) {
        for path in [&mut self.tls_cert, &mut self.tls_key]
            .into_iter()
            .flatten()
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}

impl AuthSettings {
    /// The secret key file.
    pub fn secret_key_path(&self, data_dir: &Path) -> PathBuf {
        self.secret_key
            .clone()
            .unwrap_or_else(|| data_dir.join("keys").join("secret.key"))
    }
}

impl AuditSettings {
    /// The signing key file.
    pub fn signing_key_path(&self, data_dir: &Path) -> PathBuf {
        self.signing_key
            .clone()
            .unwrap_or_else(|| data_dir.join("keys").join("audit-signing.key"))
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(1..=86_400).contains(&self.sign_every_secs) {
            return Err("[audit] sign_every_secs must be between 1 and 86400".to_owned());
        }
        if self.retention_days == Some(0) {
            return Err(
                "[audit] retention_days must be at least 1 (leave it out to keep everything)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    pub(crate) fn resolve(&mut self, base: &Path) {
        for path in [&mut self.signing_key, &mut self.export_heads]
            .into_iter()
            .flatten()
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}

impl AuthSettings {
    pub(crate) fn resolve(&mut self, base: &Path) {
        if let Some(path) = &mut self.secret_key
            && path.is_relative()
        {
            *path = base.join(&*path);
        }
    }
}
