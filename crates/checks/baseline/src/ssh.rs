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
use russh::keys::known_hosts::known_host_keys_path;
use russh::keys::{
    HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate, check_known_hosts_path, load_secret_key,
};
use russh::{Channel, ChannelMsg, Disconnect, Sig};

use crate::command::EXIT_GRACE;

/// How long connecting and authenticating may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// After a failed connection, calls fail with its reason for this long instead of each trying
/// again (a policy makes hundreds of reads).
const RETRY_AFTER: Duration = Duration::from_secs(30);
/// A connection unused this long is closed and made again (so a daily job checks the host key
/// and the key file anew each run, and holds no session on the host in between).
const IDLE_CLOSE: Duration = Duration::from_secs(60);
/// Sessions open on one host at once: below the strictest `MaxSessions` hardening guides ask
/// for, so that a hardened host does not refuse our channels.
const MAX_SESSIONS: usize = 4;
/// Room for what the login shell's startup files print before the command's own output.
const STARTUP_NOISE: usize = 64 * 1024;

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
    Up(Arc<client::Handle<Verifier>>, Instant),
    Failed(Instant, String),
}

/// A remote host, connected on first use and again after the connection drops.
pub struct SshHost {
    spec: SshSpec,
    runtime: OnceLock<Result<tokio::runtime::Runtime, String>>,
    connection: tokio::sync::Mutex<Connection>,
    sessions: tokio::sync::Semaphore,
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
            sessions: tokio::sync::Semaphore::new(MAX_SESSIONS),
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
    /// each output, waiting at most `timeout` once the session is open. Blocks; call it from
    /// plain threads, not from async code. What the login shell's startup files print is cut
    /// off: the command's output starts after a random marker.
    pub fn exec(&self, command: &str, timeout: Duration, cap: usize) -> Result<Exec, String> {
        let runtime = self.runtime()?;
        let marker = nonce()?;
        // The host ends the command a second after we stop waiting: sshd does not pass signals
        // on for root logins, and a closed session does not end a command that never writes.
        let secs = timeout.as_secs().saturating_add(1);
        let wrapped = format!(
            "printf '%s\\n' {marker}; printf '%s\\n' {marker} >&2; \
             if command -v timeout >/dev/null 2>&1; then exec timeout -s KILL {secs} sh -c {q}; \
             else exec sh -c {q}; fi",
            q = quote(command)
        );
        runtime.block_on(async {
            let _session = self
                .sessions
                .acquire()
                .await
                .map_err(|e| format!("{}: {e}", self.spec.describe()))?;
            let mut channel = self.open_channel().await?;
            channel
                .exec(true, wrapped)
                .await
                .map_err(|e| format!("{}: starting a command: {e}", self.spec.describe()))?;
            let mut out = Exec::default();
            let collected = tokio::time::timeout(
                timeout,
                collect(&mut channel, &mut out, cap.saturating_add(STARTUP_NOISE)),
            )
            .await;
            // A command past its time is killed (sshd signals its process group) and its
            // session closed, so neither lingers on the host nor holds one of its sessions.
            if collected.is_err() {
                let _ = channel.signal(Sig::KILL).await;
            }
            let _ = channel.close().await;
            if collected.is_err() {
                return Err(format!(
                    "{}: no answer within {} s: killed",
                    self.spec.describe(),
                    timeout.as_secs()
                ));
            }
            if !strip_before(&mut out.stdout, &marker) {
                return Err(format!(
                    "{}: the login shell did not run the command{}",
                    self.spec.describe(),
                    first_line(&out.stderr)
                ));
            }
            strip_before(&mut out.stderr, &marker);
            for stream in [&mut out.stdout, &mut out.stderr] {
                if stream.len() > cap {
                    stream.truncate(cap);
                    out.truncated = true;
                }
            }
            if out.status.is_none() && out.signal.is_none() {
                return Err(format!(
                    "{}: the connection closed before the command ended",
                    self.spec.describe()
                ));
            }
            Ok(out)
        })
    }

    /// A new session channel; a connection that refuses one (closed, or out of sessions) is
    /// dropped and made again, once.
    async fn open_channel(&self) -> Result<Channel<client::Msg>, String> {
        let handle = self.connected().await?;
        match handle.channel_open_session().await {
            Ok(channel) => Ok(channel),
            Err(first) => {
                self.forget(&handle).await;
                let handle = self.connected().await?;
                handle.channel_open_session().await.map_err(|e| {
                    format!(
                        "{}: opening a session: {e} (before reconnecting: {first})",
                        self.spec.describe()
                    )
                })
            }
        }
    }

    async fn forget(&self, handle: &Arc<client::Handle<Verifier>>) {
        let mut state = self.connection.lock().await;
        if matches!(&*state, Connection::Up(current, _) if Arc::ptr_eq(current, handle)) {
            *state = Connection::None;
        }
    }

    async fn connected(&self) -> Result<Arc<client::Handle<Verifier>>, String> {
        let mut state = self.connection.lock().await;
        match &mut *state {
            Connection::Up(handle, used) if !handle.is_closed() && used.elapsed() < IDLE_CLOSE => {
                *used = Instant::now();
                return Ok(Arc::clone(handle));
            }
            Connection::Up(handle, _) => {
                let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
            }
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
                *state = Connection::Up(Arc::clone(&handle), Instant::now());
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
        // The host's keys as known_hosts lists them: a file that cannot be read is said so, and
        // the host is asked for a key of a listed type (it may hold several).
        std::fs::File::open(&spec.known_hosts)
            .map_err(|e| format!("known hosts {}: {e}", spec.known_hosts.display()))?;
        let listed = known_host_keys_path(&spec.host, spec.port, &spec.known_hosts)
            .map_err(|e| format!("known hosts {}: {e}", spec.known_hosts.display()))?;
        let mut algorithms: Vec<russh::keys::Algorithm> = Vec::new();
        for (_, key) in &listed {
            if !algorithms.contains(&key.algorithm()) {
                algorithms.push(key.algorithm());
            }
        }
        let verdict = Arc::new(Mutex::new(None));
        let verifier = Verifier {
            spec: spec.clone(),
            verdict: Arc::clone(&verdict),
        };
        let mut config = client::Config {
            inactivity_timeout: Some(Duration::from_secs(600)),
            keepalive_interval: Some(Duration::from_secs(30)),
            nodelay: true,
            ..client::Config::default()
        };
        if !algorithms.is_empty() {
            config.preferred.key = std::borrow::Cow::Owned(algorithms);
        }
        let config = Arc::new(config);
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
    load_secret_key(path, None).map_err(|e| match e {
        russh::keys::Error::KeyIsEncrypted => format!(
            "ssh key {}: protected by a passphrase, which is not supported",
            path.display()
        ),
        other => format!("ssh key {}: {other}", path.display()),
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

/// Gathers a channel's output until it closes, or until a short grace after its command
/// exited (a background child may hold the output open).
async fn collect(channel: &mut Channel<client::Msg>, out: &mut Exec, cap: usize) {
    let mut exited = false;
    loop {
        let next = if exited {
            match tokio::time::timeout(EXIT_GRACE, channel.wait()).await {
                Ok(next) => next,
                Err(_) => break,
            }
        } else {
            channel.wait().await
        };
        let Some(message) = next else { break };
        match message {
            ChannelMsg::Data { data } => keep(&mut out.stdout, &data, cap, &mut out.truncated),
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                keep(&mut out.stderr, &data, cap, &mut out.truncated);
            }
            ChannelMsg::ExitStatus { exit_status } => {
                out.status = Some(exit_status);
                exited = true;
            }
            ChannelMsg::ExitSignal { signal_name, .. } => {
                out.signal = Some(format!("{signal_name:?}"));
                exited = true;
            }
            _ => {}
        }
    }
}

/// Removes everything up to and including the line `marker`; false when it is not there.
fn strip_before(stream: &mut Vec<u8>, marker: &str) -> bool {
    let line = format!("{marker}\n");
    match stream
        .windows(line.len())
        .position(|w| w == line.as_bytes())
    {
        Some(at) => {
            stream.drain(..at + line.len());
            true
        }
        None => false,
    }
}

fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.lines().find(|l| !l.trim().is_empty()) {
        Some(line) => format!(": {}", line.trim()),
        None => String::new(),
    }
}

/// 128 random bits in hex: a marker no file or startup file will happen to print.
pub(crate) fn nonce() -> Result<String, String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "no randomness for the SSH marker".to_owned())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
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
