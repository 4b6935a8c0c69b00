//! Remote hosts over SSH (russh), with nothing installed on them: every file read, directory
//! walk, process list and command is a command run through one connection, as the login user.
//!
//! The host key must already be in a known_hosts file (never learnt on first use), the client
//! authenticates with a private key file that only its owner may read, and the remote login
//! shell must be a POSIX shell (the reads are `stat`, `head`, `find` and `sh` lines).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use russh::client;
use russh::keys::{
    HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate, check_known_hosts_path, load_secret_key,
};
use russh::{ChannelMsg, Disconnect};

/// How long connecting and authenticating may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// After a failed connection, calls fail with its reason for this long instead of each trying
/// again (a policy makes hundreds of reads).
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSpec {
    /// The login user.
    pub user: String,
    /// Host name or address.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The private key file.
    pub key: PathBuf,
    /// The known_hosts file holding the host's key.
    pub known_hosts: PathBuf,
}

impl SshSpec {
    /// `[user@]host[:port]`, an IPv6 address in brackets (`[::1]:2222`); the user defaults to
    /// root, the port to 22.
    pub fn parse(text: &str, key: PathBuf, known_hosts: PathBuf) -> Result<SshSpec, String> {
        let bad = |why: &str| format!("ssh target `{text}`: {why}");
        let (user, rest) = match text.rsplit_once('@') {
            Some((user, rest)) => (user, rest),
            None => ("root", text),
        };
        if user.is_empty() || user.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("the user name is empty or has spaces"));
        }
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| bad("an unclosed ["))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(bad("text after the ]")),
            }
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
        {
            return Err(bad("expected a host name or address"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port is not 1 to 65535"))?,
            None => 22,
        };
        Ok(SshSpec {
            user: user.to_owned(),
            host: host.to_owned(),
            port,
            key,
            known_hosts,
        })
    }

    /// `ssh:user@host:port`.
    pub fn describe(&self) -> String {
        if self.host.contains(':') {
            format!("ssh:{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            format!("ssh:{}@{}:{}", self.user, self.host, self.port)
        }
    }
}

/// What a remote command gave.
#[derive(Debug, Default)]
pub struct Exec {
    /// Its standard output, up to the cap.
    pub stdout: Vec<u8>,
    /// Its standard error, up to the cap.
    pub stderr: Vec<u8>,
    /// Its exit status.
    pub status: Option<u32>,
    /// The signal that ended it.
    pub signal: Option<String>,
    /// Output went past the cap and was cut.
    pub truncated: bool,
}

impl Exec {
    /// Standard error as text, trimmed, for messages.
    pub fn error_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

enum Connection {
    None,
    Up(Arc<client::Handle<Verifier>>),
    Failed(Instant, String),
}

/// A remote host, connected on first use and again after the connection drops.
pub struct SshHost {
    spec: SshSpec,
    runtime: OnceLock<Result<tokio::runtime::Runtime, String>>,
    connection: tokio::sync::Mutex<Connection>,
}

impl std::fmt::Debug for SshHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshHost").field("spec", &self.spec).finish()
    }
}

impl Drop for SshHost {
    fn drop(&mut self) {
        // Dropped from async code (a server shutting down), a runtime may not block.
        if let Some(Ok(runtime)) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl SshHost {
    /// A host to connect to when first asked.
    pub fn new(spec: SshSpec) -> SshHost {
        SshHost {
            spec,
            runtime: OnceLock::new(),
            connection: tokio::sync::Mutex::new(Connection::None),
        }
    }

    /// Where it is.
    pub fn spec(&self) -> &SshSpec {
        &self.spec
    }

    fn runtime(&self) -> Result<&tokio::runtime::Runtime, String> {
        self.runtime
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("ssh-target")
                    .enable_io()
                    .enable_time()
                    .build()
                    .map_err(|e| format!("cannot start the SSH runtime: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Runs `command` (a line for the remote login shell) and collects up to `cap` bytes of
    /// each output, waiting at most `timeout`. Blocks; call it from plain threads, not from
    /// async code.
    pub fn exec(&self, command: &str, timeout: Duration, cap: usize) -> Result<Exec, String> {
        let runtime = self.runtime()?;
        runtime.block_on(async {
            match tokio::time::timeout(timeout, self.exec_async(command, cap)).await {
                Ok(result) => result,
                // The remote process is not signalled (OpenSSH ignores signal requests): it
                // goes on until it ends or the connection closes.
                Err(_) => Err(format!(
                    "{}: no answer within {} s",
                    self.spec.describe(),
                    timeout.as_secs()
                )),
            }
        })
    }

    async fn exec_async(&self, command: &str, cap: usize) -> Result<Exec, String> {
        let handle = self.connected().await?;
        let failed = |what: &str, e: russh::Error| format!("{}: {what}: {e}", self.spec.describe());
        let mut channel = handle
            .channel_open_session()
            .await
            .map_err(|e| failed("opening a channel", e))?;
        channel
            .exec(true, command)
            .await
            .map_err(|e| failed("starting a command", e))?;
        let mut out = Exec::default();
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Data { data } => keep(&mut out.stdout, &data, cap, &mut out.truncated),
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    keep(&mut out.stderr, &data, cap, &mut out.truncated);
                }
                ChannelMsg::ExitStatus { exit_status } => out.status = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    out.signal = Some(format!("{signal_name:?}"));
                }
                _ => {}
            }
        }
        if out.status.is_none() && out.signal.is_none() {
            return Err(format!(
                "{}: the connection closed before the command ended",
                self.spec.describe()
            ));
        }
        Ok(out)
    }

    async fn connected(&self) -> Result<Arc<client::Handle<Verifier>>, String> {
        let mut state = self.connection.lock().await;
        match &*state {
            Connection::Up(handle) if !handle.is_closed() => return Ok(Arc::clone(handle)),
            Connection::Failed(at, reason) if at.elapsed() < RETRY_AFTER => {
                return Err(reason.clone());
            }
            _ => {}
        }
        let result = match tokio::time::timeout(CONNECT_TIMEOUT, self.connect()).await {
            Ok(result) => result,
            Err(_) => Err(format!(
                "{}: no connection within {} s",
                self.spec.describe(),
                CONNECT_TIMEOUT.as_secs()
            )),
        };
        match result {
            Ok(handle) => {
                let handle = Arc::new(handle);
                *state = Connection::Up(Arc::clone(&handle));
                Ok(handle)
            }
            Err(reason) => {
                *state = Connection::Failed(Instant::now(), reason.clone());
                Err(reason)
            }
        }
    }

    async fn connect(&self) -> Result<client::Handle<Verifier>, String> {
        let spec = &self.spec;
        let target = spec.describe();
        let key = load_key(&spec.key)?;
        let verdict = Arc::new(Mutex::new(None));
        let verifier = Verifier {
            spec: spec.clone(),
            verdict: Arc::clone(&verdict),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(Duration::from_secs(600)),
            keepalive_interval: Some(Duration::from_secs(30)),
            nodelay: true,
            ..client::Config::default()
        });
        let connected = client::connect(config, (spec.host.as_str(), spec.port), verifier).await;
        let mut handle = match connected {
            Ok(handle) => handle,
            Err(e) => {
                let refused = verdict.lock().ok().and_then(|mut v| v.take());
                return Err(refused.unwrap_or_else(|| format!("{target}: {e}")));
            }
        };
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .map_err(|e| format!("{target}: {e}"))?
            .flatten();
        let auth = handle
            .authenticate_publickey(
                spec.user.clone(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await
            .map_err(|e| format!("{target}: authenticating: {e}"))?;
        if !auth.success() {
            let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
            return Err(format!(
                "{target}: the host does not accept key {} for user {}",
                spec.key.display(),
                spec.user
            ));
        }
        Ok(handle)
    }
}

fn keep(into: &mut Vec<u8>, data: &[u8], cap: usize, truncated: &mut bool) {
    let room = cap.saturating_sub(into.len());
    if data.len() > room {
        *truncated = true;
    }
    into.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
}

/// Reads the private key, refusing one that others may read (as OpenSSH does).
fn load_key(path: &std::path::Path) -> Result<russh::keys::PrivateKey, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("ssh key {}: {e}", path.display()))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "ssh key {} may be read by others (mode {:o}): chmod 600 it",
            path.display(),
            mode & 0o777
        ));
    }
    load_secret_key(path, None).map_err(|e| {
        format!(
            "ssh key {}: {e} (keys protected by a passphrase are not supported)",
            path.display()
        )
    })
}

/// Accepts the host's key only when the known_hosts file lists it for this host and port.
struct Verifier {
    spec: SshSpec,
    verdict: Arc<Mutex<Option<String>>>,
}

impl Verifier {
    fn refuse(&self, reason: String) -> Result<bool, russh::Error> {
        if let Ok(mut verdict) = self.verdict.lock() {
            *verdict = Some(reason);
        }
        Ok(false)
    }
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let spec = &self.spec;
        let target = spec.describe();
        let file = spec.known_hosts.display().to_string();
        let key = match offered {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                return self.refuse(format!(
                    "{target}: the host offers a certificate; list its plain host key in {file}"
                ));
            }
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256);
        match check_known_hosts_path(&spec.host, spec.port, key, &spec.known_hosts) {
            Ok(true) => Ok(true),
            Ok(false) => self.refuse(format!(
                "{target}: its host key ({} {fingerprint}) is not in {file}; check the \
                 fingerprint with the host's administrator, then add the key (ssh-keyscan -p {} {})",
                key.algorithm(),
                spec.port,
                spec.host
            )),
            Err(russh::keys::Error::KeyChanged { line }) => self.refuse(format!(
                "{target}: its host key ({fingerprint}) differs from the one on line {line} of \
                 {file}: the host was reinstalled or someone is in between; not connecting"
            )),
            Err(e) => self.refuse(format!("{target}: known hosts {file}: {e}")),
        }
    }
}

/// Quotes a word for a POSIX shell.
pub fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<SshSpec, String> {
        SshSpec::parse(text, PathBuf::from("k"), PathBuf::from("kh"))
    }

    #[test]
    fn targets_parse_with_user_and_port_defaults() -> Result<(), String> {
        let s = spec("db1.example")?;
        assert_eq!(
            (s.user.as_str(), s.host.as_str(), s.port),
            ("root", "db1.example", 22)
        );
        let s = spec("audit@10.0.0.5:2222")?;
        assert_eq!(
            (s.user.as_str(), s.host.as_str(), s.port),
            ("audit", "10.0.0.5", 2222)
        );
        let s = spec("[::1]:2200")?;
        assert_eq!((s.host.as_str(), s.port), ("::1", 2200));
        assert_eq!(s.describe(), "ssh:root@[::1]:2200");
        for bad in ["", "@h", "h:0", "h:x", "[::1", "a b", "h;rm", "u@[::1]x"] {
            assert!(spec(bad).is_err(), "{bad:?} was taken");
        }
        Ok(())
    }

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(reboot)"), "'$(reboot)'");
    }
}
