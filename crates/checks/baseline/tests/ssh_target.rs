//! `ssh:` targets against a real OpenSSH server on 127.0.0.1, started by the test with its own
//! host key, client key and configuration: a host checked over SSH gives the results the same
//! host gives checked locally, check by check (our Linux policy and Wazuh's CIS Debian 12), and
//! an unknown or changed host key, a refused key, a key others may read and a host that does
//! not answer give error results naming the cause, never a crash or a silent pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shieldwall_baseline::{CheckStatus, Evaluator, Limits, Policy, PolicyReport, Target, shipped};

struct Sshd {
    child: Child,
    port: u16,
    user: String,
    dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sshd {
    fn key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    fn target(&self) -> Target {
        Target::ssh(
            &format!("{}@127.0.0.1:{}", self.user, self.port),
            self.key(),
            self.known_hosts(),
        )
        .unwrap()
    }
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "shieldwall-test",
            "-f",
        ])
        .arg(path)
        .status()
        .expect("ssh-keygen (Debian package openssh-client)");
    assert!(status.success());
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Starts sshd on a free loopback port, for the current user, with public keys only.
fn start(test: &str) -> Option<Sshd> {
    let binary = shieldwall_testkit::sshd(test)?;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    keygen(&path("host_key"));
    keygen(&path("client_key"));
    std::fs::copy(path("client_key.pub"), path("authorized_keys")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host_key = std::fs::read_to_string(path("host_key.pub")).unwrap();
    let mut words = host_key.split_whitespace();
    let (kind, blob) = (words.next().unwrap(), words.next().unwrap());
    std::fs::write(
        path("known_hosts"),
        format!("[127.0.0.1]:{port} {kind} {blob}\n"),
    )
    .unwrap();
    std::fs::write(
        path("sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\n\
             AuthorizedKeysFile {}\nStrictModes no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nUsePAM no\n\
             PermitRootLogin prohibit-password\nLogLevel ERROR\n",
            path("host_key").display(),
            path("sshd.pid").display(),
            path("authorized_keys").display(),
        ),
    )
    .unwrap();
    // Debian's sshd wants its privilege separation directory.
    if shieldwall_testkit::is_root() {
        let _ = std::fs::create_dir_all("/run/sshd");
    }
    let child = Command::new(&binary)
        .args(["-D", "-e", "-f"])
        .arg(path("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let sshd = Sshd {
        child,
        port,
        user: current_user(),
        dir,
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "sshd did not listen on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(sshd)
}

fn limits() -> Limits {
    Limits {
        password_budget: Duration::from_secs(5),
        ..Limits::default()
    }
}

fn run(target: &Target, policy: &Policy) -> (PolicyReport, Duration) {
    let started = Instant::now();
    let report = Evaluator::new(target, limits()).policy(policy, &mut |_, _| {});
    (report, started.elapsed())
}

/// Checks whose results depend on the moment, not on how the host is reached.
fn comparable(report: &PolicyReport, check: &str) -> bool {
    report
        .checks
        .iter()
        .find(|c| c.id == check)
        .is_some_and(|c| {
            // An unfinished weak-password search depends on the speed of the run.
            !c.reason
                .as_deref()
                .is_some_and(|r| r.contains("undecided") || r.contains("budget"))
        })
}

fn compare(policy: &Policy, sshd: &Sshd) {
    let (local, local_time) = run(&Target::local(), policy);
    let (remote, remote_time) = run(&sshd.target(), policy);
    eprintln!(
        "{}: {} checks, local {:.2} s, over ssh {:.2} s; local {:?}, ssh {:?}",
        policy.id,
        local.checks.len(),
        local_time.as_secs_f64(),
        remote_time.as_secs_f64(),
        local.summary,
        remote.summary
    );
    assert_eq!(
        remote.target,
        format!("ssh:{}@127.0.0.1:{}", sshd.user, sshd.port)
    );
    let mut differences = Vec::new();
    for (l, r) in local.checks.iter().zip(&remote.checks) {
        assert_eq!(l.id, r.id);
        if l.result != r.result && comparable(&local, &l.id) && comparable(&remote, &r.id) {
            differences.push(format!(
                "{} {:?}: local {:?} ({:?}), ssh {:?} ({:?})",
                l.id, l.title, l.result, l.reason, r.result, r.reason
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} checks differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    // The remote run really read the host: most checks were decided, none by a transport error.
    let decided = remote.summary.pass + remote.summary.fail;
    assert!(decided * 2 > remote.checks.len(), "{:?}", remote.summary);
    assert!(
        !remote
            .checks
            .iter()
            .any(|c| c.reason.as_deref().is_some_and(|r| r.contains("ssh:"))),
        "a transport error in a result"
    );
}

#[test]
fn our_linux_policy_over_ssh_gives_the_local_results() {
    let Some(sshd) = start("our_linux_policy_over_ssh_gives_the_local_results") else {
        return;
    };
    let policy = shipped::find("linux_host").unwrap().load().unwrap();
    compare(&policy, &sshd);
}

#[test]
fn wazuh_cis_debian12_over_ssh_gives_the_local_results() {
    let test = "wazuh_cis_debian12_over_ssh_gives_the_local_results";
    let Some(path) = shieldwall_testkit::shared_path(
        "testdata/sca/wazuh/ruleset/sca/debian/cis_debian12.yml",
        test,
    ) else {
        return;
    };
    let Some(sshd) = start(test) else {
        return;
    };
    let policy = Policy::load(&path).unwrap();
    compare(&policy, &sshd);
}

fn one_check_result(target: &Target) -> (CheckStatus, String) {
    let policy = Policy::parse(
        Path::new("probe.yml"),
        "policy:\n  id: probe\n  file: probe.yml\n  name: probe\n  description: probe\n\
         checks:\n  - id: 1\n    name: passwd\n    condition: all\n    rules:\n      \
         - 'f:/etc/passwd -> r:^root:'\n",
    )
    .unwrap();
    let (report, _) = run(target, &policy);
    let check = &report.checks[0];
    (check.result, check.reason.clone().unwrap_or_default())
}

#[test]
fn a_host_key_not_listed_or_changed_is_refused() {
    let Some(sshd) = start("a_host_key_not_listed_or_changed_is_refused") else {
        return;
    };
    assert_eq!(one_check_result(&sshd.target()).0, CheckStatus::Pass);

    std::fs::write(sshd.known_hosts(), "").unwrap();
    let (result, reason) = one_check_result(&sshd.target());
    assert_eq!(result, CheckStatus::Error);
    assert!(
        reason.contains("is not in") && reason.contains("SHA256:"),
        "{reason}"
    );

    keygen(&sshd.dir.path().join("other_key"));
    let other = std::fs::read_to_string(sshd.dir.path().join("other_key.pub")).unwrap();
    let mut words = other.split_whitespace();
    std::fs::write(
        sshd.known_hosts(),
        format!(
            "[127.0.0.1]:{} {} {}\n",
            sshd.port,
            words.next().unwrap(),
            words.next().unwrap()
        ),
    )
    .unwrap();
    let (result, reason) = one_check_result(&sshd.target());
    assert_eq!(result, CheckStatus::Error);
    assert!(
        reason.contains("differs from the one on line 1"),
        "{reason}"
    );
}

#[test]
fn a_refused_or_exposed_key_and_a_silent_host_are_errors() {
    let Some(sshd) = start("a_refused_or_exposed_key_and_a_silent_host_are_errors") else {
        return;
    };
    // A key the host does not list.
    let stranger = sshd.dir.path().join("stranger");
    keygen(&stranger);
    let target = Target::ssh(
        &format!("{}@127.0.0.1:{}", sshd.user, sshd.port),
        stranger.clone(),
        sshd.known_hosts(),
    )
    .unwrap();
    let (result, reason) = one_check_result(&target);
    assert_eq!(result, CheckStatus::Error);
    assert!(reason.contains("does not accept key"), "{reason}");

    // A key others may read is not used at all.
    std::fs::set_permissions(sshd.key(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (result, reason) = one_check_result(&sshd.target());
    assert_eq!(result, CheckStatus::Error);
    assert!(reason.contains("chmod 600"), "{reason}");
    std::fs::set_permissions(sshd.key(), std::fs::Permissions::from_mode(0o600)).unwrap();

    // Nothing listens: an error, quickly.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = Target::ssh(
        &format!("{}@127.0.0.1:{closed}", sshd.user),
        sshd.key(),
        sshd.known_hosts(),
    )
    .unwrap();
    let started = Instant::now();
    let (result, reason) = one_check_result(&target);
    assert_eq!(result, CheckStatus::Error);
    assert!(reason.contains("127.0.0.1"), "{reason}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_command_past_its_timeout_is_killed_and_frees_its_session() {
    let Some(sshd) = start("a_command_past_its_timeout_is_killed_and_frees_its_session") else {
        return;
    };
    let target = sshd.target();
    let short = Limits {
        command_timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    // More hung commands than the host's default MaxSessions (10): each must be killed and its
    // session closed, or the later ones could not open theirs.
    for _ in 0..12 {
        let started = Instant::now();
        let outcome = target.run("sleep 300", &short);
        assert!(
            matches!(&outcome, Err(shieldwall_baseline::Presence::Error(e)) if e.contains("killed")),
            "{outcome:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    let echo = target.run("echo still-here", &short).unwrap();
    assert_eq!(echo.text.trim(), "still-here");
    // No sleep of ours is left on the host (the last is ended a second after its timeout).
    let started = Instant::now();
    loop {
        let left = Command::new("pgrep")
            .args(["-f", "^sleep 300$"])
            .output()
            .unwrap();
        let left = String::from_utf8_lossy(&left.stdout).trim().to_owned();
        if left.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "killed commands still run: {left}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
