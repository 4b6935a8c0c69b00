//! A real SMTP server for tests: aiosmtpd (`tools/test/smtp_server.py`, from the project's
//! virtualenv) on 127.0.0.1, which writes each accepted mail to `out/N.eml` and what it saw of
//! it (envelope, TLS, authentication, MIME parts as Python's email parser reads them) to
//! `out/N.json`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::{skip_or_fail, workspace_root};

/// Python with aiosmtpd: the project's virtualenv, or `SHIELDWALL_TEST_PYTHON`; `None` after
/// [`skip_or_fail`] when it cannot import aiosmtpd.
pub fn python(test: &str) -> Option<PathBuf> {
    let python = std::env::var_os("SHIELDWALL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip_or_fail(
            &format!(
                "{test}: SKIPPED: {} cannot import aiosmtpd. Install it with `python3 -m venv .venv && .venv/bin/pip install -r tools/test/requirements.txt` (the README test command does this).",
                python.display()
            ),
            "the e-mail channel must be tested against a real SMTP server",
        );
        return None;
    }
    Some(python)
}

/// How the server is set up.
#[derive(Debug, Default, Clone, Copy)]
pub struct Options<'a> {
    /// Certificate and key: STARTTLS offered and required.
    pub tls: Option<(&'a Path, &'a Path)>,
    /// User and password: AUTH required (over TLS).
    pub login: Option<(&'a str, &'a str)>,
    /// The SIZE limit stated and enforced.
    pub size_limit: Option<usize>,
    /// The port; a free one when `None`.
    pub port: Option<u16>,
}

/// A running server, stopped when dropped.
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Where it writes what it accepts.
    pub out: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on 127.0.0.1 (free when asked; the caller binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}

/// Starts the server, writing under `dir`; returns once it listens.
pub fn start(python: &Path, dir: &Path, options: Options<'_>) -> Server {
    let port = options.port.unwrap_or_else(free_port);
    let out = dir.join(format!("mail-{port}"));
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    let mut command = Command::new(python);
    command
        .arg(workspace_root().join("tools/test/smtp_server.py"))
        .args(["--port", &port.to_string(), "--out"])
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Some((cert, key)) = options.tls {
        command.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    if let Some((user, password)) = options.login {
        command.args(["--user", user, "--password", password]);
    }
    if let Some(limit) = options.size_limit {
        command.args(["--size-limit", &limit.to_string()]);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the SMTP server: {e}"));
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    assert_eq!(line.trim(), "ready", "the SMTP server did not start");
    Server { child, port, out }
}
