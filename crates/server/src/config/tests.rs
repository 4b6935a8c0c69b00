//! Tests of configuration reading: defaults, handling fields, located errors.

use super::*;

fn ok(text: &str) -> ServeConfig {
    parse(Path::new("/etc/shieldwall/shieldwall.toml"), text).unwrap()
}

fn err(text: &str) -> ConfigError {
    parse(Path::new("conf.toml"), text).unwrap_err()
}

#[test]
fn a_full_configuration_reads_with_defaults_and_relative_paths() {
    let c = ok(r#"
data_dir = "data"

[parsers]
dirs = ["parsers"]

[[sources]]
type = "syslog-udp"
name = "fw"
listen = "127.0.0.1:5514"
time_zone = "Europe/Berlin"
expect_within_secs = 300

[[sources]]
type = "syslog-tcp"
name = "hosts"
listen = "127.0.0.1:6601"
parsers = ["sshd"]
syslog = "auto"
[[sources.drop]]
message_regex = "^Connection closed"
[sources.merge]
window_secs = 10
[sources.tls]
cert_file = "tls/cert.pem"
key_file = "/abs/key.pem"

[[sources]]
type = "relp"
name = "relp"
listen = "127.0.0.1:2514"

[[sources]]
type = "file"
name = "auth"
paths = ["logs/auth.log"]

[[sources]]
type = "http"
name = "api"
listen = "127.0.0.1:8443"
token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
plain_http = true
syslog = "off"
"#);
    assert_eq!(c.data_dir, Path::new("/etc/shieldwall/data"));
    assert_eq!(c.parsers.dirs, [PathBuf::from("/etc/shieldwall/parsers")]);
    assert_eq!(c.spool.max_bytes, 1 << 30);
    assert_eq!(c.sources.len(), 5);
    let fw = &c.sources[0];
    assert_eq!(
        (fw.name.as_str(), fw.tenant.as_str(), fw.line),
        ("fw", "default", 7)
    );
    assert_eq!(fw.handling.expect_within, Some(Duration::from_secs(300)));
    assert!(matches!(fw.transport, Transport::Udp(_)));
    let hosts = &c.sources[1];
    assert_eq!(hosts.handling.parsers, ["sshd"]);
    assert_eq!(hosts.handling.drop.len(), 1);
    assert_eq!(hosts.handling.merge.as_ref().unwrap().window_secs, 10);
    let Transport::Tcp(tcp) = &hosts.transport else {
        panic!("tcp")
    };
    let tls = tcp.tls.as_ref().unwrap();
    assert_eq!(tls.cert_file, Path::new("/etc/shieldwall/tls/cert.pem"));
    assert_eq!(tls.key_file, Path::new("/abs/key.pem"));
    assert!(matches!(c.sources[2].transport, Transport::Relp(_)));
    let Transport::File(file) = &c.sources[3].transport else {
        panic!("file")
    };
    assert_eq!(file.paths, [PathBuf::from("/etc/shieldwall/logs/auth.log")]);
    assert_eq!(
        file.state_dir,
        Path::new("/etc/shieldwall/data/state"),
        "defaults under data_dir"
    );
    assert_eq!(c.sources[4].handling.syslog, SyslogLayer::Off);
}

#[test]
fn errors_name_the_line_and_the_field() {
    let e = err(
        "data_dir = \"d\"\n\n[[sources]]\ntype = \"syslog-udp\"\nname = \"fw\"\nlissten = \"127.0.0.1:1\"\n",
    );
    assert_eq!(e.line, 3);
    assert!(e.message.contains("source `fw`"), "{e}");
    assert!(e.message.contains("lissten"), "{e}");

    let e = err(
        "data_dir = \"d\"\n[[sources]]\ntype = \"syslog-carrier-pigeon\"\nname = \"x\"\nlisten = \"127.0.0.1:1\"\n",
    );
    assert!(e.message.contains("unknown source type"), "{e}");
    assert_eq!(e.line, 2);

    let e = err("data_dir = \"d\"\n[[sources]]\nname = \"x\"\n");
    assert!(e.message.contains("needs a `type`"), "{e}");

    let e = err(
        "data_dir = \"d\"\n[[sources]]\ntype = \"syslog-udp\"\nname = \"x\"\nlisten = \"127.0.0.1:1\"\ntime_zone = \"Mars/Olympus\"\n",
    );
    assert!(e.message.contains("unknown time_zone"), "{e}");

    let e = err(
        "data_dir = \"d\"\n[[sources]]\ntype = \"syslog-udp\"\nname = \"x\"\nlisten = \"127.0.0.1:1\"\n[[sources]]\ntype = \"syslog-udp\"\nname = \"x\"\nlisten = \"127.0.0.1:2\"\n",
    );
    assert!(e.message.contains("unique"), "{e}");
    assert_eq!(e.line, 6);

    let e = err("data_dir = \"d\"\n[spool]\nmax_byte = 3\n");
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("max_byte"), "{e}");

    let e = err("[spool]\n");
    assert!(e.message.contains("data_dir"), "{e}");
    assert!(e.to_string().starts_with("conf.toml:"), "{e}");
}

#[test]
fn the_pause_file_is_optional_and_resolved_against_the_configuration() {
    assert_eq!(ok("data_dir = \"d\"\n").pipeline.pause_file, None);
    let c = ok("data_dir = \"d\"\n[pipeline]\npause_file = \"run/pause\"\n");
    assert_eq!(
        c.pipeline.pause_file.as_deref(),
        Some(Path::new("/etc/shieldwall/run/pause"))
    );
    let c = ok("data_dir = \"d\"\n[pipeline]\npause_file = \"/srv/pause\"\n");
    assert_eq!(
        c.pipeline.pause_file.as_deref(),
        Some(Path::new("/srv/pause"))
    );
}

#[test]
fn the_api_is_https_on_loopback_by_default_and_plain_only_on_loopback() {
    let c = ok("data_dir = \"data\"\n");
    assert!(c.api.enabled && !c.api.plain_http);
    assert_eq!(c.api.listen.to_string(), "127.0.0.1:8443");
    assert_eq!(c.auth.password_cost, PasswordCost::Owasp);
    assert_eq!(
        c.audit.signing_key_path(&c.data_dir),
        Path::new("/etc/shieldwall/data/keys/audit-signing.key")
    );
    let c = ok(
        "data_dir = \"d\"\n[api]\nlisten = \"[::1]:9000\"\nplain_http = true\n[audit]\nexport_heads = \"heads.jsonl\"\n",
    );
    assert!(c.api.plain_http);
    assert_eq!(
        c.audit.export_heads.unwrap(),
        Path::new("/etc/shieldwall/heads.jsonl")
    );

    let e = err("data_dir = \"d\"\n\n[api]\nlisten = \"0.0.0.0:8080\"\nplain_http = true\n");
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("only on a loopback address"), "{e}");
    let e = err("data_dir = \"d\"\n[api]\ntls_cert = \"c.pem\"\n");
    assert!(e.message.contains("go together"), "{e}");
    let e = err("data_dir = \"d\"\n[audit]\nsign_every_secs = 0\n");
    assert_eq!(e.line, 2, "{e}");
    let e = err("data_dir = \"d\"\n[auth]\npassword_cost = \"cheap\"\n");
    assert!(e.message.contains("unknown variant"), "{e}");
}

#[test]
fn report_schedules_are_checked_against_the_channels_with_their_line() {
    let channel = "data_dir = \"d\"\n[[notify]]\nname = \"soc-mail\"\nkind = \"email\"\nhost = \"mail.example.com\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\n";
    let report = "[[report]]\nname = \"acme-daily\"\ntenant = \"acme\"\nevery = \"daily\"\nchannels = [\"soc-mail\"]\n";
    let c = ok(&format!("{channel}{report}"));
    assert_eq!(c.reports.len(), 1);
    assert_eq!(c.reports[0].describe(), "daily at 06:00 UTC");
    let twice = err(&format!("{channel}{report}{report}"));
    assert!(twice.message.contains("declared twice"), "{twice}");
    assert_eq!(twice.line, 13);
    let unknown = err(&format!("{channel}{}", report.replace("soc-mail", "pager")));
    assert!(unknown.message.contains("\"pager\""), "{unknown}");
    assert_eq!(unknown.line, 8);
}
