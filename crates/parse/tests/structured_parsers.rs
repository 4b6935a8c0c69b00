//! Integration tests of the structured-format parsers (Suricata EVE, ModSecurity/Coraza audit
//! logs, Kubernetes audit, AWS CloudTrail, Windows events as JSON, generic JSON, CEF, LEEF and
//! key=value), run through `parsers::builtin()` and `Registry::parse` so that dispatch is tested
//! too. Samples live in `tests/samples/structured/`; `SOURCES.md` there says where each came
//! from. The SigmaHQ regression data is read from the shared folder (see `shieldwall-testkit`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jiff::{Timestamp, tz::TimeZone};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use shieldwall_core::{
    Event, EventClass, EventParse, LogKind, RecordId, Severity, TenantId, TimeStatus,
    event::{Action, Status},
};
use shieldwall_parse::parsers::structured::{cloudtrail, common};
use shieldwall_parse::{Message, ParseContext, Registry, parsers, syslog};

// ------------------------------------------------------------------------------------------------
// Harness

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| parsers::builtin().unwrap())
}

const RECEIVED: &str = "2026-11-29T02:00:00Z";

fn context() -> ParseContext {
    ParseContext::new(RECEIVED.parse().unwrap(), TimeZone::UTC)
}

fn blank(raw: &str) -> Event {
    Event::unparsed(
        RecordId::derive("test", &[raw]),
        TenantId::default(),
        "test",
        RECEIVED.parse().unwrap(),
        raw,
    )
}

/// Parses `text` as a message with an optional program name; the raw text is `raw`.
fn parse_message(program: Option<&str>, text: &str, raw: &str) -> (Option<String>, Event) {
    let ctx = context();
    let message = Message {
        source: "test",
        program,
        pid: None,
        hostname: None,
        text,
        context: &ctx,
    };
    let mut event = blank(raw);
    let id = registry().parse(&message, &mut event).map(str::to_owned);
    assert_eq!(event.raw, raw, "the raw text is never changed");
    (id, event)
}

/// A line as a non-syslog source delivers it.
fn parse(text: &str) -> (Option<String>, Event) {
    parse_message(None, text, text)
}

/// A syslog line: the syslog layer picks the program and the message first.
fn parse_syslog(line: &str) -> (Option<String>, Event) {
    let m = syslog::parse(line.as_bytes(), &context());
    parse_message(m.app_name.as_deref(), &m.message, line)
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples/structured")
}

fn lines(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(samples_dir().join(name)).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses line `n` (1-based) of a sample file and checks the parser that took it.
fn sample(name: &str, n: usize, parser: &str) -> Event {
    let line = &lines(name)[n - 1];
    let (id, event) = if name.ends_with(".jsonl")
        || line.starts_with("CEF:")
        || line.starts_with("LEEF:")
        || !line.starts_with(|c: char| c.is_ascii_uppercase())
    {
        parse(line)
    } else {
        parse_syslog(line)
    };
    assert_eq!(id.as_deref(), Some(parser), "{name}:{n}: {line}");
    assert_eq!(event.parse, EventParse::Parsed);
    assert_eq!(event.parser.as_deref(), Some(parser));
    event
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn v<'a>(event: &'a Event, key: &str) -> &'a Value {
    event
        .vendor
        .get(key)
        .unwrap_or_else(|| panic!("vendor has no `{key}`: {:?}", event.vendor.keys()))
}

/// The vendor value at a dotted path into nested values (`alert.signature_id` is the
/// `signature_id` of the object kept under `alert`), read by walking the JSON; checks that
/// [`Event::text_field`] reaches the same value by the same path.
fn vp<'a>(event: &'a Event, path: &str) -> &'a Value {
    let mut parts = path.split('.');
    let mut value = v(event, parts.next().unwrap());
    for part in parts {
        value = value
            .get(part)
            .unwrap_or_else(|| panic!("vendor.{path}: no `{part}` in {value}"));
    }
    let text = event
        .text_field(&format!("vendor.{path}"))
        .unwrap_or_else(|| panic!("text_field(vendor.{path}) is None"));
    let expected = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    assert_eq!(text, expected, "text_field(vendor.{path})");
    assert!(
        !event.vendor.contains_key(path),
        "vendor.{path} is kept nested, not under a flattened key"
    );
    value
}

// ------------------------------------------------------------------------------------------------
// Every sample record parses, with the expected parser

#[test]
fn every_sample_record_parses_with_its_parser() {
    let expected: &[(&str, &str)] = &[
        ("suricata.jsonl", "suricata-eve"),
        ("modsecurity_v3.jsonl", "modsecurity-audit"),
        ("modsecurity_v2.jsonl", "modsecurity-audit"),
        ("k8s_audit.jsonl", "k8s-audit"),
        ("cloudtrail.jsonl", "aws-cloudtrail"),
        ("windows_winlogbeat.jsonl", "windows-event-json"),
        ("windows_nxlog_derived.jsonl", "windows-event-json"),
        ("json_generic.jsonl", "json"),
        ("cef.log", "cef"),
        ("leef.log", "leef"),
        ("kv_logfmt.log", "kv"),
        ("kv_fortigate.log", "kv"),
    ];
    let mut total = 0;
    for (file, parser) in expected {
        let count = lines(file).len();
        assert!(count > 0, "{file} is empty");
        for n in 1..=count {
            let event = sample(file, n, parser);
            assert!(event.vendor.len() <= common::MAX_VENDOR_ENTRIES);
            total += 1;
        }
    }
    // Every file in the folder is covered above.
    let mut files: Vec<String> = std::fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f != "SOURCES.md")
        .collect();
    files.sort();
    let mut listed: Vec<String> = expected.iter().map(|(f, _)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(files, listed);
    assert!(total >= 60, "{total} sample records");
}

// ------------------------------------------------------------------------------------------------
// Suricata EVE

#[test]
fn suricata_alert_is_a_detection_finding() {
    let e = sample("suricata.jsonl", 1, "suricata-eve");
    assert_eq!(e.class, EventClass::DetectionFinding);
    assert_eq!(e.type_uid(), 200_401);
    assert_eq!(e.log_kind, LogKind::SecurityEvent);
    assert_eq!(e.time, ts("2011-08-12T12:52:57.71636Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    let d = e.detection.as_ref().unwrap();
    assert_eq!(d.rule_uid.as_deref(), Some("2017318"));
    assert_eq!(
        d.title.as_deref(),
        Some("ET CURRENT_EVENTS SUSPICIOUS IRC - PRIVMSG *.(exe|tar|tgz|zip)  download command")
    );
    assert_eq!(d.category.as_deref(), Some("Potentially Bad Traffic"));
    assert_eq!(e.severity, Some(Severity::Medium));
    assert_eq!(e.action, Some(Action::Allowed));
    assert_eq!(e.attack_type.as_deref(), Some("suspicious_traffic"));
    assert_eq!(e.feature.as_deref(), Some("2017318"));
    assert_eq!(e.message, d.title);
    let src = e.src_endpoint.as_ref().unwrap();
    assert_eq!(
        (src.ip.as_deref(), src.port),
        (Some("147.32.84.165"), Some(1181))
    );
    let dst = e.dst_endpoint.as_ref().unwrap();
    assert_eq!(
        (dst.ip.as_deref(), dst.port),
        (Some("78.40.125.4"), Some(6667))
    );
    assert_eq!(
        e.connection.as_ref().unwrap().protocol.as_deref(),
        Some("tcp")
    );
    assert_eq!(e.target.as_deref(), Some("ip:78.40.125.4"));
    let product = e.product.as_ref().unwrap();
    assert_eq!(product.name.as_deref(), Some("Suricata"));
    assert_eq!(vp(&e, "alert.signature_id"), 2_017_318);
    assert_eq!(vp(&e, "alert.rev"), 4);
    assert_eq!(vp(&e, "flow.bytes_toclient"), 4520);
    assert_eq!(v(&e, "flow_id"), 1_031_464_864_740_687u64);
    assert_eq!(
        v(&e, "payload_printable"),
        "PRIVMSG #zarasa48 : smss.exe (368)\r\n"
    );
}

#[test]
fn suricata_doc_alerts_keep_metadata_and_read_zoneless_times() {
    let e = sample("suricata.jsonl", 8, "suricata-eve");
    assert_eq!(
        e.detection.as_ref().unwrap().rule_uid.as_deref(),
        Some("2018358")
    );
    assert_eq!(vp(&e, "metadata.flowbits"), &json!(["http.dottedquadhost"]));
    assert_eq!(v(&e, "app_proto"), "http");
    assert_eq!(e.time, ts("2017-04-07T21:24:37.251547Z"));

    // The 6.0 user guide's example has no offset and a placeholder address.
    let e = sample("suricata.jsonl", 9, "suricata-eve");
    assert_eq!(e.time, ts("2009-11-24T21:27:09.534255Z"));
    assert_eq!(e.time_status, TimeStatus::Inferred);
    assert_eq!(e.severity, Some(Severity::High));
    assert_eq!(e.attack_type.as_deref(), Some("malware"));
    assert_eq!(
        e.dst_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("x.x.250.50")
    );
}

#[test]
fn suricata_protocol_events() {
    let dns = sample("suricata.jsonl", 2, "suricata-eve");
    assert_eq!((dns.class, dns.activity_id), (EventClass::DnsActivity, 1));
    assert_eq!(dns.query.as_deref(), Some("irc.freenode.net"));
    assert_eq!(dns.target.as_deref(), Some("domain:irc.freenode.net"));
    assert_eq!(dns.feature.as_deref(), Some("dns:A"));
    assert_eq!(
        dns.connection.as_ref().unwrap().protocol.as_deref(),
        Some("udp")
    );
    assert_eq!(vp(&dns, "dns.id"), 553);

    let fileinfo = sample("suricata.jsonl", 3, "suricata-eve");
    assert_eq!(fileinfo.class, EventClass::Base);
    assert_eq!(fileinfo.log_kind, LogKind::BehaviourEvent);
    assert_eq!(fileinfo.feature.as_deref(), Some("fileinfo"));
    assert_eq!(
        vp(&fileinfo, "fileinfo.sha256"),
        "2e4c462b3424afcc04f43429d5f001e4ef9a28143bfeefb9af2254b4df3a7c1a"
    );
    let http = fileinfo.http.as_ref().unwrap();
    assert_eq!(http.status_code, Some(301));
    assert_eq!(http.response_bytes, Some(301));

    let flow = sample("suricata.jsonl", 4, "suricata-eve");
    assert_eq!(
        (flow.class, flow.activity_id),
        (EventClass::NetworkActivity, 6)
    );
    assert_eq!(flow.connection.as_ref().unwrap().bytes, Some(486));
    assert_eq!(vp(&flow, "flow.reason"), "timeout");

    let h = sample("suricata.jsonl", 5, "suricata-eve");
    assert_eq!((h.class, h.activity_id), (EventClass::HttpActivity, 3));
    let http = h.http.as_ref().unwrap();
    assert_eq!(http.method.as_deref(), Some("GET"));
    assert_eq!(
        http.user_agent.as_deref(),
        Some("Google Update/1.3.21.65;winhttp")
    );
    assert_eq!(http.version.as_deref(), Some("HTTP/1.1"));
    assert!(
        http.url
            .as_deref()
            .unwrap()
            .starts_with("/service/check2?appid=")
    );
    assert_eq!(h.target.as_deref(), Some("url:/service/check2"));
    assert_eq!(
        h.dst_endpoint.as_ref().unwrap().hostname.as_deref(),
        Some("cr-tools.clients.google.com")
    );

    let netflow = sample("suricata.jsonl", 6, "suricata-eve");
    assert_eq!(netflow.class, EventClass::NetworkActivity);
    assert_eq!(netflow.connection.as_ref().unwrap().bytes, Some(486));

    let quic = sample("suricata.jsonl", 7, "suricata-eve");
    assert_eq!(quic.class, EventClass::Base);
    assert_eq!(vp(&quic, "quic.sni"), "stats.g.doubleclick.net");

    let anomaly = sample("suricata.jsonl", 10, "suricata-eve");
    assert_eq!(anomaly.class, EventClass::Base);
    assert_eq!(
        anomaly.message.as_deref(),
        Some("decoder.udp.pkt_too_small")
    );
    assert_eq!(
        anomaly.feature.as_deref(),
        Some("anomaly:decoder.udp.pkt_too_small")
    );
    assert_eq!(anomaly.time, ts("1970-01-01T00:04:21Z"));
}

// ------------------------------------------------------------------------------------------------
// ModSecurity and Coraza

#[test]
fn modsecurity_v3_sqli_is_a_denied_detection() {
    let e = sample("modsecurity_v3.jsonl", 1, "modsecurity-audit");
    assert_eq!((e.class, e.activity_id), (EventClass::DetectionFinding, 1));
    // libmodsecurity 3.0.9 logs no tags for 942100; its CRS rule range names the attack.
    assert_eq!(e.attack_type.as_deref(), Some("sql_injection"));
    let d = e.detection.as_ref().unwrap();
    assert_eq!(d.rule_uid.as_deref(), Some("942100"));
    assert_eq!(
        d.title.as_deref(),
        Some("SQL Injection Attack Detected via libinjection")
    );
    assert_eq!(e.feature.as_deref(), Some("942100"));
    assert_eq!(e.severity, Some(Severity::Critical));
    assert_eq!(e.action, Some(Action::Denied));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.activity.as_deref(), Some("GET"));
    let http = e.http.as_ref().unwrap();
    assert_eq!(http.method.as_deref(), Some("GET"));
    assert_eq!(http.url.as_deref(), Some("/?id=1%27%20OR%201=1--"));
    assert_eq!(http.version.as_deref(), Some("HTTP/1.1"));
    assert_eq!(http.status_code, Some(403));
    assert_eq!(
        http.user_agent.as_deref(),
        Some("Mozilla/5.0 (X11; Linux x86_64)")
    );
    assert_eq!(e.target.as_deref(), Some("url:/"));
    assert_eq!(
        e.src_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(e.src_endpoint.as_ref().unwrap().port, Some(55528));
    assert_eq!(e.dst_endpoint.as_ref().unwrap().port, Some(18080));
    assert_eq!(
        e.dst_endpoint.as_ref().unwrap().hostname.as_deref(),
        Some("127.0.0.1:18080")
    );
    // ctime without a zone: read in the source's zone (UTC here).
    assert_eq!(e.time, ts("2026-11-29T01:41:19Z"));
    assert_eq!(e.time_status, TimeStatus::Inferred);
    let product = e.product.as_ref().unwrap();
    assert_eq!(product.name.as_deref(), Some("ModSecurity"));
    assert_eq!(
        product.version.as_deref(),
        Some("ModSecurity v3.0.9 (Linux)")
    );
    assert_eq!(
        e.unmapped["rule_ids"],
        json!(["920350", "942100", "949110"])
    );
    assert_eq!(vp(&e, "transaction.unique_id"), "179591647933.404098");
    assert_eq!(
        vp(&e, "transaction.request.headers.Host"),
        "127.0.0.1:18080"
    );
}

#[test]
fn modsecurity_attack_types_are_voted_from_crs_tags() {
    let expect = |file: &str, n: usize, kind: &str, rule: &str| {
        let e = sample(file, n, "modsecurity-audit");
        assert_eq!(e.class, EventClass::DetectionFinding, "{file}:{n}");
        assert_eq!(e.attack_type.as_deref(), Some(kind), "{file}:{n}");
        assert_eq!(
            e.detection.as_ref().unwrap().rule_uid.as_deref(),
            Some(rule),
            "{file}:{n}"
        );
        e
    };
    let xss = expect("modsecurity_v3.jsonl", 2, "xss", "941100");
    assert_eq!(
        xss.detection.as_ref().unwrap().category.as_deref(),
        Some("attack-xss")
    );
    // LFI (four matches) beats the one RCE match of `cat /etc/passwd`.
    expect("modsecurity_v3.jsonl", 3, "local_file_inclusion", "930100");
    expect("modsecurity_v3.jsonl", 4, "remote_code_execution", "932100");
    expect("modsecurity_v3.jsonl", 5, "scanner", "913100");
    expect("modsecurity_v3.jsonl", 6, "remote_file_inclusion", "931100");
    expect("modsecurity_v3.jsonl", 8, "sql_injection", "942100");
    expect("modsecurity_v3.jsonl", 9, "scanner", "913100");
    expect("modsecurity_v3.jsonl", 10, "php_injection", "933140");

    // Only the numeric-Host rule fired and the request went through.
    let allowed = expect("modsecurity_v3.jsonl", 7, "protocol_violation", "920350");
    assert_eq!(allowed.action, Some(Action::Allowed));
    assert_eq!(allowed.status, Some(Status::Success));
    assert_eq!(allowed.severity, Some(Severity::Medium));
}

#[test]
fn modsecurity_without_matches_is_http_activity() {
    let e = sample("modsecurity_v3.jsonl", 11, "modsecurity-audit");
    assert_eq!((e.class, e.activity_id), (EventClass::HttpActivity, 3));
    assert!(e.detection.is_none() && e.attack_type.is_none() && e.action.is_none());
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(e.target.as_deref(), Some("url:/login/"));
    let http = e.http.as_ref().unwrap();
    assert_eq!(http.url.as_deref(), Some("/login/?next=/home"));
    assert_eq!(http.status_code, Some(200));
    assert_eq!(
        http.user_agent.as_deref(),
        Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
    );

    let e = sample("modsecurity_v2.jsonl", 6, "modsecurity-audit");
    assert_eq!(e.class, EventClass::HttpActivity);
    assert_eq!(
        e.product.as_ref().unwrap().version.as_deref(),
        Some("ModSecurity for Apache/2.9.7 (http://www.modsecurity.org/)")
    );
}

#[test]
fn modsecurity_v2_messages_are_read_from_the_error_strings() {
    let e = sample("modsecurity_v2.jsonl", 1, "modsecurity-audit");
    assert_eq!(e.class, EventClass::DetectionFinding);
    assert_eq!(e.attack_type.as_deref(), Some("sql_injection"));
    let d = e.detection.as_ref().unwrap();
    assert_eq!(d.rule_uid.as_deref(), Some("942100"));
    assert_eq!(
        d.title.as_deref(),
        Some("SQL Injection Attack Detected via libinjection")
    );
    assert_eq!(d.category.as_deref(), Some("attack-sqli"));
    assert_eq!(e.severity, Some(Severity::Critical));
    assert_eq!(e.action, Some(Action::Denied));
    assert_eq!(e.time, ts("2026-11-29T01:41:48.778841Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    let http = e.http.as_ref().unwrap();
    assert_eq!(http.method.as_deref(), Some("GET"));
    assert_eq!(http.url.as_deref(), Some("/?id=1%27%20OR%201=1--"));
    assert_eq!(http.version.as_deref(), Some("HTTP/1.1"));
    assert_eq!(http.status_code, Some(403));
    assert_eq!(e.src_endpoint.as_ref().unwrap().port, Some(51014));
    assert_eq!(
        e.dst_endpoint.as_ref().unwrap().hostname.as_deref(),
        Some("localhost")
    );
    assert_eq!(vp(&e, "audit_data.action.intercepted"), true);

    for (n, kind) in [
        (2, "xss"),
        (3, "remote_code_execution"),
        (4, "local_file_inclusion"),
        (5, "scanner"),
    ] {
        let e = sample("modsecurity_v2.jsonl", n, "modsecurity-audit");
        assert_eq!(e.attack_type.as_deref(), Some(kind), "line {n}");
        assert_eq!(e.action, Some(Action::Denied));
    }
}

#[test]
fn coraza_shape_is_read() {
    // Constructed, not captured (see SOURCES.md): the v3 shape with the spellings Coraza's
    // audit-log writer uses: `response.status`, top-level `messages`, details under `data`.
    let line = r#"{"transaction":{"timestamp":"2024/01/10 09:30:01","unix_timestamp":1704879001000000000,"id":"cEzXQbVGjjCTwSlwQUf","client_ip":"192.0.2.10","client_port":51234,"host_ip":"192.0.2.1","host_port":80,"request":{"method":"GET","uri":"/?q=<script>","http_version":"HTTP/1.1","headers":{"user-agent":["curl/8.5.0"]}},"response":{"status":403},"producer":{"connector":"coraza-caddy","version":"v3.0.0","rule_engine":"On"}},"messages":[{"message":"XSS Attack Detected via libinjection","data":{"id":941100,"msg":"XSS Attack Detected via libinjection","severity":2,"tags":["attack-xss"]}}]}"#;
    let (id, e) = parse(line);
    assert_eq!(id.as_deref(), Some("modsecurity-audit"));
    assert_eq!(e.product.as_ref().unwrap().name.as_deref(), Some("Coraza"));
    assert_eq!(e.attack_type.as_deref(), Some("xss"));
    assert_eq!(
        e.detection.as_ref().unwrap().rule_uid.as_deref(),
        Some("941100")
    );
    assert_eq!(e.action, Some(Action::Denied));
    assert_eq!(
        e.src_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("192.0.2.10")
    );
    assert_eq!(e.time, ts("2024-01-10T09:30:01Z"));
}

// ------------------------------------------------------------------------------------------------
// Kubernetes audit

#[test]
fn k8s_create_secret_is_api_activity() {
    let e = sample("k8s_audit.jsonl", 1, "k8s-audit");
    assert_eq!((e.class, e.activity_id), (EventClass::ApiActivity, 1));
    assert_eq!(e.type_uid(), 600_301);
    assert_eq!(e.activity.as_deref(), Some("create"));
    assert_eq!(
        e.actor
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("minikube-user")
    );
    assert_eq!(
        e.src_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("10.0.2.15")
    );
    assert_eq!(
        e.http.as_ref().unwrap().user_agent.as_deref(),
        Some("kubectl/v1.13.3 (linux/amd64) kubernetes/721bfa7")
    );
    assert_eq!(
        e.http.as_ref().unwrap().url.as_deref(),
        Some("/api/v1/namespaces/sysdig-agent/secrets")
    );
    assert_eq!(
        e.target.as_deref(),
        Some("k8s:secrets/sysdig-agent/sysdig-agent")
    );
    assert_eq!(e.feature.as_deref(), Some("create secrets"));
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(e.action, Some(Action::Allowed));
    assert_eq!(e.time, ts("2019-11-18T04:40:56.739299Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    assert_eq!(
        vp(&e, "user.groups"),
        &json!(["system:masters", "system:authenticated"])
    );
    assert_eq!(vp(&e, "objectRef.resource"), "secrets");
    assert_eq!(v(&e, "auditID"), "c07ab0e2-9b07-4cc6-8e3b-91ac69586a1f");
    assert_eq!(vp(&e, "responseStatus.code"), 201);
}

#[test]
fn k8s_exec_namespace_and_delete() {
    // Falco's trace has no apiVersion; kind, auditID, verb and stage identify it.
    let exec = sample("k8s_audit.jsonl", 2, "k8s-audit");
    assert_eq!(exec.activity_id, 1);
    assert_eq!(
        exec.target.as_deref(),
        Some("k8s:pods/default/nginx-deployment-7998647bdf-phvq7/exec")
    );
    assert_eq!(exec.feature.as_deref(), Some("create pods/exec"));
    assert_eq!(
        exec.status,
        Some(Status::Success),
        "101 Switching Protocols succeeded"
    );

    let ns = sample("k8s_audit.jsonl", 3, "k8s-audit");
    assert_eq!(ns.target.as_deref(), Some("k8s:namespaces/foo"));
    assert_eq!(
        ns.actor
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("system:anonymous")
    );

    let delete = sample("k8s_audit.jsonl", 4, "k8s-audit");
    assert_eq!(delete.activity_id, 4);
    assert_eq!(
        delete.target.as_deref(),
        Some("k8s:secrets/default/example-secret")
    );
}

#[test]
fn k8s_forbidden_request_fails_and_is_denied() {
    // The delete record above, changed as the API server writes a refused request.
    let mut record: Value = serde_json::from_str(&lines("k8s_audit.jsonl")[3]).unwrap();
    record["responseStatus"] = json!({"metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403, "message": "secrets \"example-secret\" is forbidden"});
    record["annotations"]["authorization.k8s.io/decision"] = json!("forbid");
    let (id, e) = parse(&record.to_string());
    assert_eq!(id.as_deref(), Some("k8s-audit"));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.action, Some(Action::Denied));
    assert_eq!(
        e.status_detail.as_deref(),
        Some("secrets \"example-secret\" is forbidden")
    );
}

// ------------------------------------------------------------------------------------------------
// CloudTrail

#[test]
fn cloudtrail_console_login_is_authentication() {
    let ok = sample("cloudtrail.jsonl", 1, "aws-cloudtrail");
    assert_eq!((ok.class, ok.activity_id), (EventClass::Authentication, 1));
    assert_eq!(ok.status, Some(Status::Success));
    let user = ok.user.as_ref().unwrap();
    assert_eq!(user.name.as_deref(), Some("anaya"));
    assert_eq!(
        user.uid.as_deref(),
        Some("arn:aws:iam::111122223333:user/anaya")
    );
    assert_eq!(user.domain.as_deref(), Some("111122223333"));
    assert_eq!(ok.target.as_deref(), Some("user:anaya"));
    assert_eq!(
        ok.src_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("192.0.2.0")
    );
    assert_eq!(ok.time, ts("2018-08-29T16:24:34Z"));
    assert_eq!(ok.feature.as_deref(), Some("ConsoleLogin"));
    assert_eq!(ok.query.as_deref(), Some("signin:ConsoleLogin"));
    assert_eq!(vp(&ok, "additionalEventData.MFAUsed"), "No");
    assert_eq!(vp(&ok, "responseElements.ConsoleLogin"), "Success");
    assert_eq!(
        vp(&ok, "userIdentity.arn"),
        "arn:aws:iam::111122223333:user/anaya"
    );

    let failed = sample("cloudtrail.jsonl", 2, "aws-cloudtrail");
    assert_eq!(failed.class, EventClass::Authentication);
    assert_eq!(failed.status, Some(Status::Failure));
    assert_eq!(
        failed.status_detail.as_deref(),
        Some("Failed authentication")
    );

    let root = sample("cloudtrail.jsonl", 4, "aws-cloudtrail");
    assert_eq!(root.user.as_ref().unwrap().name.as_deref(), Some("root"));
    assert_eq!(root.status, Some(Status::Failure));
}

#[test]
fn cloudtrail_api_calls() {
    let mfa = sample("cloudtrail.jsonl", 3, "aws-cloudtrail");
    assert_eq!((mfa.class, mfa.activity_id), (EventClass::ApiActivity, 2));

    let start = sample("cloudtrail.jsonl", 5, "aws-cloudtrail");
    assert_eq!(
        (start.class, start.activity_id),
        (EventClass::ApiActivity, 3)
    );
    assert_eq!(start.query.as_deref(), Some("ec2:StartInstances"));
    assert_eq!(start.activity.as_deref(), Some("StartInstances"));
    assert_eq!(start.target.as_deref(), Some("instance:i-ebeaf9e2"));
    assert_eq!(start.status, Some(Status::Success));
    let actor = start.actor.as_ref().unwrap().user.as_ref().unwrap();
    assert_eq!(actor.name.as_deref(), Some("Alice"));
    assert_eq!(
        actor.uid.as_deref(),
        Some("arn:aws:iam::123456789012:user/Alice")
    );
    assert_eq!(
        start.http.as_ref().unwrap().user_agent.as_deref(),
        Some("ec2-api-tools 1.6.12.2")
    );
    assert_eq!(
        vp(&start, "responseElements.instancesSet.items"),
        &json!([{"instanceId": "i-ebeaf9e2", "currentState": {"code": 0, "name": "pending"}, "previousState": {"code": 80, "name": "stopped"}}])
    );

    let key_pair = sample("cloudtrail.jsonl", 6, "aws-cloudtrail");
    assert_eq!(key_pair.activity_id, 1);
    assert_eq!(key_pair.target, None);
    assert_eq!(
        vp(
            &key_pair,
            "userIdentity.sessionContext.attributes.mfaAuthenticated"
        ),
        "false"
    );

    // Sigma's CloudTrail rules name the original fields: top-level, and nested by path.
    for (path, expected) in [
        ("vendor.eventSource", "ec2.amazonaws.com"),
        ("vendor.eventName", "StartInstances"),
        (
            "vendor.userIdentity.arn",
            "arn:aws:iam::123456789012:user/Alice",
        ),
        ("vendor.userIdentity.type", "IAMUser"),
        (
            "vendor.requestParameters.instancesSet.items.0.instanceId",
            "i-ebeaf9e2",
        ),
        (
            "vendor.responseElements.instancesSet.items.0.currentState.code",
            "0",
        ),
    ] {
        assert_eq!(start.text_field(path).as_deref(), Some(expected), "{path}");
    }
    assert_eq!(
        start.text_field("vendor.requestParameters").as_deref(),
        Some(r#"{"instancesSet":{"items":[{"instanceId":"i-ebeaf9e2"}]}}"#)
    );
    assert_eq!(
        start.vendor.len(),
        10,
        "the record's top-level keys, nothing else: {:?}",
        start.vendor.keys()
    );

    let create_user = sample("cloudtrail.jsonl", 7, "aws-cloudtrail");
    assert_eq!(create_user.activity_id, 1);
    assert_eq!(create_user.target.as_deref(), Some("user:Bob"));
    assert_eq!(create_user.query.as_deref(), Some("iam:CreateUser"));

    let error = sample("cloudtrail.jsonl", 9, "aws-cloudtrail");
    assert_eq!(
        (error.class, error.activity_id),
        (EventClass::ApiActivity, 3)
    );
    assert_eq!(error.status, Some(Status::Failure));
    assert_eq!(
        error.status_detail.as_deref(),
        Some("TrailNotFoundException: Unknown trail: myTrail2 for the user: 123456789012")
    );
    assert_eq!(error.target.as_deref(), Some("name:myTrail2"));
}

#[test]
fn cloudtrail_file_wrapper_is_split_by_the_helper() {
    let records: Vec<Value> = lines("cloudtrail.jsonl")
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let file = json!({ "Records": records });
    let split = cloudtrail::split_records(&file).unwrap();
    assert_eq!(split.len(), 9);
    for record in split {
        let (id, _) = parse(&record.to_string());
        assert_eq!(id.as_deref(), Some("aws-cloudtrail"));
    }
    // The wrapper itself is not a record: generic JSON takes it.
    let (id, _) = parse(&file.to_string());
    assert_eq!(id.as_deref(), Some("json"));
}

// ------------------------------------------------------------------------------------------------
// Windows

#[test]
fn winlogbeat_logon() {
    let e = sample("windows_winlogbeat.jsonl", 1, "windows-event-json");
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.activity.as_deref(), Some("logon"));
    assert_eq!(e.status, Some(Status::Success));
    let user = e.user.as_ref().unwrap();
    assert_eq!(user.name.as_deref(), Some("vagrant"));
    assert_eq!(user.domain.as_deref(), Some("VAGRANT-2012-R2"));
    assert_eq!(
        user.uid.as_deref(),
        Some("S-1-5-21-3541430928-2051711210-1391384369-1001")
    );
    let actor = e.actor.as_ref().unwrap();
    assert_eq!(
        actor.user.as_ref().unwrap().name.as_deref(),
        Some("VAGRANT-2012-R2$")
    );
    assert_eq!(
        actor.process.as_ref().unwrap().name.as_deref(),
        Some("winlogon.exe")
    );
    let src = e.src_endpoint.as_ref().unwrap();
    assert_eq!(src.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(src.port, None, "port 0 is no port");
    assert_eq!(src.hostname.as_deref(), Some("VAGRANT-2012-R2"));
    assert_eq!(e.target.as_deref(), Some("user:vagrant"));
    assert_eq!(e.feature.as_deref(), Some("4624"));
    assert_eq!(e.time, ts("2019-03-29T21:10:40.3805426Z"));
    assert_eq!(
        e.device.as_ref().unwrap().hostname.as_deref(),
        Some("vagrant-2012-r2")
    );
    assert_eq!(e.severity, Some(Severity::Info));
    // Sigma's field names.
    assert_eq!(v(&e, "EventID"), 4624);
    assert_eq!(v(&e, "Channel"), "Security");
    assert_eq!(
        v(&e, "Provider_Name"),
        "Microsoft-Windows-Security-Auditing"
    );
    assert_eq!(v(&e, "Computer"), "vagrant-2012-r2");
    assert_eq!(v(&e, "LogonType"), "2");
    assert_eq!(v(&e, "TargetUserName"), "vagrant");
    assert_eq!(v(&e, "EventRecordID"), 1542);
    assert_eq!(vp(&e, "winlog.task"), "Logon");
    assert_eq!(vp(&e, "winlog.record_id"), 1542);
    // The data fields were moved to the top level, not copied.
    assert!(v(&e, "winlog").get("event_data").is_none());
    assert!(!e.vendor.keys().any(|k| k.starts_with("winlog.")));
}

#[test]
fn winlogbeat_process_account_and_other_events() {
    let p = sample("windows_winlogbeat.jsonl", 2, "windows-event-json");
    assert_eq!((p.class, p.activity_id), (EventClass::ProcessActivity, 1));
    let process = p.actor.as_ref().unwrap().process.as_ref().unwrap();
    assert_eq!(
        process.path.as_deref(),
        Some(r"C:\Windows\System32\wevtutil.exe")
    );
    assert_eq!(process.name.as_deref(), Some("wevtutil.exe"));
    assert_eq!(
        process.cmd_line.as_deref(),
        Some(r#""C:\Windows\system32\wevtutil.exe" cl Security"#)
    );
    assert_eq!(process.pid, Some(0x11cc));
    assert_eq!(
        p.actor
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("vagrant")
    );
    assert_eq!(
        p.target.as_deref(),
        Some(r"process:C:\Windows\System32\wevtutil.exe")
    );
    assert_eq!(
        v(&p, "ParentProcessName"),
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
    );

    let a = sample("windows_winlogbeat.jsonl", 3, "windows-event-json");
    assert_eq!((a.class, a.activity_id), (EventClass::AccountChange, 1));
    assert_eq!(
        a.user.as_ref().unwrap().name.as_deref(),
        Some("elastictest1")
    );
    assert_eq!(
        a.user.as_ref().unwrap().uid.as_deref(),
        Some("S-1-5-21-101361758-2486510592-3018839910-1005")
    );
    assert_eq!(
        a.actor
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("Administrator")
    );
    assert_eq!(a.target.as_deref(), Some("user:elastictest1"));
    assert_eq!(a.status, Some(Status::Success));

    let other = sample("windows_winlogbeat.jsonl", 4, "windows-event-json");
    assert_eq!((other.class, other.activity_id), (EventClass::Base, 0));
    assert_eq!(other.log_kind, LogKind::BehaviourEvent);
    assert_eq!(v(&other, "EventID"), 4747);
    assert!(
        other
            .message
            .as_deref()
            .unwrap()
            .starts_with("A member was removed")
    );
}

#[test]
fn nxlog_flat_records() {
    let logon = sample("windows_nxlog_derived.jsonl", 1, "windows-event-json");
    assert_eq!(logon.class, EventClass::Authentication);
    assert_eq!(
        logon.user.as_ref().unwrap().name.as_deref(),
        Some("vagrant")
    );
    assert_eq!(v(&logon, "EventID"), 4624);
    assert_eq!(
        v(&logon, "Provider_Name"),
        "Microsoft-Windows-Security-Auditing"
    );
    assert_eq!(v(&logon, "Computer"), "vagrant-2012-r2");
    assert_eq!(v(&logon, "Hostname"), "vagrant-2012-r2");
    // NXLog writes local time without a zone.
    assert_eq!(logon.time, ts("2019-03-29T21:10:40Z"));
    assert_eq!(logon.time_status, TimeStatus::Inferred);

    let sysmon = sample("windows_nxlog_derived.jsonl", 2, "windows-event-json");
    assert_eq!(
        (sysmon.class, sysmon.activity_id),
        (EventClass::ProcessActivity, 1)
    );
    let actor = sysmon.actor.as_ref().unwrap();
    let process = actor.process.as_ref().unwrap();
    assert_eq!(process.cmd_line.as_deref(), Some("sc  stop mpssvc"));
    assert_eq!(process.path.as_deref(), Some(r"C:\Windows\System32\sc.exe"));
    assert_eq!(process.pid, Some(3424));
    let user = actor.user.as_ref().unwrap();
    assert_eq!(
        (user.domain.as_deref(), user.name.as_deref()),
        (Some("AR-WIN-1"), Some("Administrator"))
    );
    assert_eq!(
        sysmon.product.as_ref().unwrap().name.as_deref(),
        Some("Sysmon")
    );
}

/// The JSON objects of one regression-data file (concatenated, pretty-printed) with their text.
fn objects_of(path: &Path) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    let mut start = 0;
    while let Some(item) = stream.next() {
        let value = item.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let end = stream.byte_offset();
        out.push((text[start..end].trim().to_owned(), value));
        start = end;
    }
    out
}

fn regression_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            regression_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "json" || e == "jsoncls")
        {
            out.push(path);
        }
    }
}

#[test]
fn every_sigma_regression_event_parses_with_sigma_field_names() {
    let Some(root) = shieldwall_testkit::shared_path(
        "testdata/sigma/regression_data",
        "every_sigma_regression_event_parses_with_sigma_field_names",
    ) else {
        return;
    };
    let mut files = Vec::new();
    regression_files(&root, &mut files);
    assert!(files.len() >= 200, "{} files", files.len());
    let mut objects = 0;
    let mut processes = 0;
    for file in &files {
        for (text, value) in objects_of(file) {
            objects += 1;
            let (id, e) = parse(&text);
            assert_eq!(
                id.as_deref(),
                Some("windows-event-json"),
                "{}",
                file.display()
            );
            let system = &value["Event"]["System"];
            assert_eq!(v(&e, "EventID"), &system["EventID"], "{}", file.display());
            assert!(v(&e, "EventID").is_u64());
            assert_eq!(v(&e, "Channel"), &system["Channel"]);
            assert_eq!(v(&e, "Computer"), &system["Computer"]);
            assert_eq!(
                v(&e, "Provider_Name"),
                &system["Provider"]["#attributes"]["Name"]
            );
            assert_eq!(e.time_status, TimeStatus::Stated);
            assert_eq!(
                e.time,
                ts(system["TimeCreated"]["#attributes"]["SystemTime"]
                    .as_str()
                    .unwrap())
            );
            if let Some(data) = value["Event"]["EventData"].as_object() {
                for (key, expected) in data.iter().filter(|(k, _)| *k != "#attributes") {
                    assert_eq!(v(&e, key), expected, "{} {key}", file.display());
                }
            }
            if system["EventID"] == 1 && system["Channel"] == "Microsoft-Windows-Sysmon/Operational"
            {
                processes += 1;
                assert_eq!(e.class, EventClass::ProcessActivity);
                let process = e.actor.as_ref().unwrap().process.as_ref().unwrap();
                assert_eq!(
                    process.cmd_line.as_deref(),
                    value["Event"]["EventData"]["CommandLine"].as_str()
                );
                assert_eq!(
                    process.path.as_deref(),
                    value["Event"]["EventData"]["Image"].as_str()
                );
            }
        }
    }
    assert!(objects >= 230, "{objects} events");
    assert!(processes >= 100, "{processes} process creations");
}

#[test]
fn sigma_samples_field_by_field() {
    let Some(root) = shieldwall_testkit::shared_path(
        "testdata/sigma/regression_data",
        "sigma_samples_field_by_field",
    ) else {
        return;
    };
    let sc = root.join("rules/windows/process_creation/proc_creation_win_sc_stop_service/81bcb81b-5b1f-474b-b373-52c871aaa7b1.json");
    let (text, _) = objects_of(&sc).remove(0);
    let (_, e) = parse(&text);
    assert_eq!((e.class, e.activity_id), (EventClass::ProcessActivity, 1));
    assert_eq!(e.feature.as_deref(), Some("1"));
    assert_eq!(e.severity, Some(Severity::Info));
    assert_eq!(
        e.device.as_ref().unwrap().hostname.as_deref(),
        Some("ar-win-1")
    );
    assert_eq!(e.time, ts("2025-10-22T20:33:27.276702Z"));
    let process = e.actor.as_ref().unwrap().process.as_ref().unwrap();
    assert_eq!(process.pid, Some(3424));
    assert_eq!(process.name.as_deref(), Some("sc.exe"));
    assert_eq!(v(&e, "ParentImage"), r"C:\Windows\System32\cmd.exe");
    assert_eq!(
        v(&e, "Provider_Guid"),
        "5770385F-C22A-43E0-BF4C-06F5698FFBD9"
    );
    assert_eq!(v(&e, "Execution_ProcessID"), 3168);
    assert_eq!(v(&e, "Security_UserID"), "S-1-5-18");
    assert_eq!(v(&e, "EventRecordID"), 256_875);
    assert_eq!(v(&e, "Keywords"), "0x8000000000000000");

    // UserData events keep their fields under their own names.
    let wmi = root.join("rules/windows/builtin/wmi/win_wmi_activity_nteventlogfile_cleareventlog/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.json");
    let (text, _) = objects_of(&wmi).remove(0);
    let (_, e) = parse(&text);
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(v(&e, "EventID"), 5858);
    assert_eq!(v(&e, "ResultCode"), "0x80041003");
    assert!(
        v(&e, "Operation")
            .as_str()
            .unwrap()
            .ends_with("::cleareventlog")
    );
}

/// The same event in the xmltodict spelling (`@Name`, `#text`, a `Data` list, a string EventID
/// with qualifiers) gives the same Sigma fields as the `evtx_dump` spelling.
#[test]
fn xml_to_json_spellings_agree() {
    let evtx = json!({"Event": {"System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
        "EventID": 4625,
        "Channel": "Security",
        "Computer": "dc01",
        "Keywords": "0x8010000000000000",
        "TimeCreated": {"#attributes": {"SystemTime": "2024-05-01T10:00:00.000Z"}}},
        "EventData": {"TargetUserName": "bob", "IpAddress": "198.51.100.7", "IpPort": "51515",
                      "LogonType": "3", "Status": "0xc000006d", "SubStatus": "0xc000006a"}}});
    let xmltodict = json!({"Event": {"@xmlns": "http://schemas.microsoft.com/win/2004/08/events/event", "System": {
        "Provider": {"@Name": "Microsoft-Windows-Security-Auditing"},
        "EventID": {"@Qualifiers": "0", "#text": "4625"},
        "Channel": "Security",
        "Computer": "dc01",
        "Keywords": "0x8010000000000000",
        "TimeCreated": {"@SystemTime": "2024-05-01T10:00:00.000Z"}},
        "EventData": {"Data": [
            {"@Name": "TargetUserName", "#text": "bob"},
            {"@Name": "IpAddress", "#text": "198.51.100.7"},
            {"@Name": "IpPort", "#text": "51515"},
            {"@Name": "LogonType", "#text": "3"},
            {"@Name": "Status", "#text": "0xc000006d"},
            {"@Name": "SubStatus", "#text": "0xc000006a"}]}}});
    // nsyslog's `winevtparser` writes named data as an object under `Data`.
    let mut data_object = evtx.clone();
    let fields = data_object["Event"]["EventData"].take();
    data_object["Event"]["EventData"] = json!({ "Data": fields });
    let (_, a) = parse(&evtx.to_string());
    let (_, b) = parse(&xmltodict.to_string());
    let (_, c) = parse(&data_object.to_string());
    for e in [&a, &b, &c] {
        assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
        assert_eq!(e.status, Some(Status::Failure));
        assert_eq!(e.status_detail.as_deref(), Some("0xc000006a"));
        assert_eq!(
            e.src_endpoint.as_ref().unwrap().ip.as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(e.src_endpoint.as_ref().unwrap().port, Some(51515));
        assert_eq!(v(e, "EventID"), 4625);
        assert_eq!(v(e, "TargetUserName"), "bob");
        assert_eq!(v(e, "Provider_Name"), "Microsoft-Windows-Security-Auditing");
        assert_eq!(e.time, ts("2024-05-01T10:00:00Z"));
    }
    assert_eq!(v(&b, "EventID_Qualifiers"), "0");
    // System, EventData and UserData are kept flat; what is left of `Event` stays nested.
    assert_eq!(
        vp(&b, "Event.@xmlns"),
        "http://schemas.microsoft.com/win/2004/08/events/event"
    );
    assert_eq!(v(&b, "Event").as_object().unwrap().len(), 1);
    assert!(!a.vendor.contains_key("Event"));
    assert_eq!(v(&a, "TimeCreated_SystemTime"), "2024-05-01T10:00:00.000Z");
    assert_eq!(v(&b, "TimeCreated_SystemTime"), "2024-05-01T10:00:00.000Z");
}

// ------------------------------------------------------------------------------------------------
// Generic JSON

#[test]
fn generic_json_lifts_time_message_and_level() {
    let e = sample("json_generic.jsonl", 1, "json");
    assert_eq!((e.class, e.activity_id), (EventClass::Base, 0));
    assert_eq!(e.time, ts("2026-11-29T01:51:36.607Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    assert_eq!(e.message.as_deref(), Some("Starting node_exporter"));
    assert_eq!(e.severity, Some(Severity::Info));
    assert_eq!(v(&e, "caller"), "node_exporter.go:180");
    assert_eq!(
        v(&e, "version"),
        "(version=1.5.0, branch=debian/sid, revision=1.5.0-1+b6)"
    );

    let warn = sample("json_generic.jsonl", 3, "json");
    assert_eq!(warn.severity, Some(Severity::Medium));

    let nested = json!({"ts": 1_700_000_000_123i64, "level": 50, "source": {"ip": "192.0.2.4", "port": 4444},
        "destination": {"ip": "::ffff:198.51.100.9", "port": "443"}, "user": {"name": "carol"},
        "deep": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}});
    let (id, e) = parse(&nested.to_string());
    assert_eq!(id.as_deref(), Some("json"));
    assert_eq!(e.time, ts("2023-11-14T22:13:20.123Z"));
    assert_eq!(e.severity, Some(Severity::High));
    assert_eq!(
        e.src_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("192.0.2.4")
    );
    assert_eq!(e.src_endpoint.as_ref().unwrap().port, Some(4444));
    assert_eq!(
        e.dst_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("198.51.100.9")
    );
    assert_eq!(e.dst_endpoint.as_ref().unwrap().port, Some(443));
    assert_eq!(
        e.actor
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("carol")
    );
    assert_eq!(vp(&e, "source.ip"), "192.0.2.4");
    // Nested objects are kept as they are, not flattened, and reached by path.
    assert_eq!(vp(&e, "deep.a.b.c.d.e.f.g"), &json!({"h": {"i": 1}}));
    assert_eq!(vp(&e, "deep.a.b.c.d.e.f.g.h.i"), 1);
    assert_eq!(
        v(&e, "destination"),
        &json!({"ip": "::ffff:198.51.100.9", "port": "443"})
    );
    let keys: Vec<&str> = e.vendor.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["deep", "destination", "level", "source", "ts", "user"]
    );
}

#[test]
fn generic_json_bounds_what_it_copies() {
    let mut big = Map::new();
    for i in 0..2000 {
        big.insert(
            format!("field{i:04}"),
            json!({"value": i, "text": "x".repeat(10)}),
        );
    }
    let text = Value::Object(big).to_string();
    let (id, e) = parse(&text);
    assert_eq!(id.as_deref(), Some("json"));
    assert_eq!(e.vendor.len(), common::MAX_VENDOR_ENTRIES);
    assert_eq!(e.unmapped[common::TRUNCATED_KEY], true);

    let huge_value = json!({"blob": "y".repeat(common::MAX_VENDOR_BYTES + 10), "small": 1});
    let (_, e) = parse(&huge_value.to_string());
    assert!(!e.vendor.contains_key("blob"));
    assert_eq!(v(&e, "small"), 1);
    assert_eq!(e.unmapped[common::TRUNCATED_KEY], true);
}

// ------------------------------------------------------------------------------------------------
// CEF

#[test]
fn cef_spec_examples() {
    let e = sample("cef.log", 1, "cef");
    assert_eq!((e.class, e.activity_id), (EventClass::DetectionFinding, 1));
    assert_eq!(e.severity, Some(Severity::Critical));
    let d = e.detection.as_ref().unwrap();
    assert_eq!(d.rule_uid.as_deref(), Some("100"));
    assert_eq!(d.title.as_deref(), Some("worm successfully stopped"));
    assert_eq!(e.attack_type.as_deref(), Some("malware"));
    assert_eq!(e.message.as_deref(), Some("worm successfully stopped"));
    let product = e.product.as_ref().unwrap();
    assert_eq!(
        (
            product.vendor_name.as_deref(),
            product.name.as_deref(),
            product.version.as_deref()
        ),
        (Some("Security"), Some("threatmanager"), Some("1.0"))
    );
    let src = e.src_endpoint.as_ref().unwrap();
    assert_eq!(
        (src.ip.as_deref(), src.port),
        (Some("10.0.0.1"), Some(1232))
    );
    assert_eq!(
        e.dst_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("2.1.2.2")
    );
    assert_eq!(e.target.as_deref(), Some("ip:2.1.2.2"));
    assert_eq!(v(&e, "deviceEventClassId"), "100");
    assert_eq!(v(&e, "spt"), "1232");
    assert_eq!(v(&e, "cefVersion"), "0");

    let pipe = sample("cef.log", 2, "cef");
    assert_eq!(
        pipe.detection.as_ref().unwrap().title.as_deref(),
        Some("detected a | in message")
    );
    assert_eq!(v(&pipe, "act"), "blocked a |");
    assert_eq!(pipe.action, Some(Action::Denied));
    assert_eq!(
        pipe.dst_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("1.1.1.1")
    );

    let backslash = sample("cef.log", 3, "cef");
    assert_eq!(
        backslash.detection.as_ref().unwrap().title.as_deref(),
        Some(r"detected a \ in packet")
    );
    assert_eq!(v(&backslash, "act"), r"blocked a \");

    let equals = sample("cef.log", 4, "cef");
    assert_eq!(v(&equals, "act"), "blocked a =");
    assert_eq!(v(&equals, "dst"), "1.1.1.1");
}

#[test]
fn cef_after_a_syslog_tag_and_vendor_fields() {
    // FortiOS writes `CEF: 0|`, which RFC 3164 reads as the tag `CEF`.
    let e = sample("cef.log", 5, "cef");
    assert_eq!(e.class, EventClass::DetectionFinding);
    assert_eq!(e.severity, Some(Severity::High));
    assert_eq!(
        e.detection.as_ref().unwrap().category.as_deref(),
        Some("event:system")
    );
    assert_eq!(e.user.as_ref().unwrap().name.as_deref(), Some("admin1"));
    assert_eq!(e.target.as_deref(), Some("user:admin1"));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.status_detail.as_deref(), Some("name_invalid"));
    assert_eq!(e.activity.as_deref(), Some("login"));
    assert_eq!(e.action, None);
    assert_eq!(
        e.actor
            .as_ref()
            .unwrap()
            .process
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("https(172.16.200.254)")
    );
    assert_eq!(
        e.message.as_deref(),
        Some(
            "Administrator admin1 login failed from https(172.16.200.254) because of invalid user name"
        )
    );
    assert_eq!(v(&e, "FTNTFGTlogdesc"), "Admin login failed");
    assert_eq!(v(&e, "deviceExternalId"), "FGT5HD3915800610");

    let kemp = sample("cef.log", 6, "cef");
    assert_eq!(kemp.class, EventClass::Base);
    assert_eq!(kemp.severity, Some(Severity::Low));
    assert_eq!(kemp.message.as_deref(), Some("Accept"));
    assert_eq!(v(&kemp, "vs"), "10.35.56.32:80");
    let slave = sample("cef.log", 7, "cef");
    assert_eq!(v(&slave, "event"), "Slave accept");
}

#[test]
fn cef_custom_labels_times_and_http() {
    // Constructed records (see SOURCES.md): they exercise the extension keys the real samples
    // above lack (custom labels, rt, request, bytes, filePath) and the firewall branch.
    let line = r"CEF:0|Trend Micro|Deep Security Agent|10.0|1001111|Test Intrusion Prevention Rule|3|cn1=1 cn1Label=Host ID dvchost=hostname cs1=web attack cs1Label=Rule Group rt=Jan 18 2019 11:07:53 UTC request=http://www.example.com/index.html?a\=b requestMethod=GET requestClientApplication=curl/8.0 act=Log proto=TCP in=100 out=200 filePath=C:\\Temp\\x.exe";
    let (id, e) = parse(line);
    assert_eq!(id.as_deref(), Some("cef"));
    assert_eq!((e.class, e.activity_id), (EventClass::HttpActivity, 3));
    assert_eq!(e.time, ts("2019-01-18T11:07:53Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    assert_eq!(e.unmapped["Host ID"], "1");
    assert_eq!(e.unmapped["Rule Group"], "web attack");
    let http = e.http.as_ref().unwrap();
    assert_eq!(
        http.url.as_deref(),
        Some("http://www.example.com/index.html?a=b")
    );
    assert_eq!(http.user_agent.as_deref(), Some("curl/8.0"));
    assert_eq!(e.action, Some(Action::Observed));
    assert_eq!(e.connection.as_ref().unwrap().bytes, Some(300));
    assert_eq!(
        e.connection.as_ref().unwrap().protocol.as_deref(),
        Some("tcp")
    );
    assert_eq!(e.file.as_deref(), Some(r"C:\Temp\x.exe"));
    assert_eq!(
        e.device.as_ref().unwrap().hostname.as_deref(),
        Some("hostname")
    );
    // Epoch milliseconds in rt; a firewall decision is network activity.
    let (_, e) =
        parse("CEF:0|V|FW|1|42|Deny|5|rt=1545938140123 src=192.0.2.1 dst=198.51.100.2 act=deny");
    assert_eq!(e.time, ts("2018-12-27T19:15:40.123Z"));
    assert_eq!((e.class, e.activity_id), (EventClass::NetworkActivity, 5));
    assert_eq!(e.status, Some(Status::Failure));
    // Named severities.
    let (_, e) = parse("CEF:1|V|P|1|7|n|Very-High|");
    assert_eq!(e.severity, Some(Severity::Critical));
    assert_eq!(e.class, EventClass::DetectionFinding);
}

// ------------------------------------------------------------------------------------------------
// LEEF

#[test]
fn leef_ibm_examples() {
    for n in [1, 2] {
        let e = sample("leef.log", n, "leef");
        assert_eq!(e.class, EventClass::DetectionFinding, "line {n}");
        assert_eq!(e.severity, Some(Severity::Medium));
        assert_eq!(
            e.detection.as_ref().unwrap().category.as_deref(),
            Some("anomaly")
        );
        let src = e.src_endpoint.as_ref().unwrap();
        assert_eq!((src.ip.as_deref(), src.port), (Some("192.0.2.0"), Some(81)));
        let dst = e.dst_endpoint.as_ref().unwrap();
        assert_eq!(
            (dst.ip.as_deref(), dst.port),
            (Some("172.50.123.1"), Some(21))
        );
        assert_eq!(
            e.actor
                .as_ref()
                .unwrap()
                .user
                .as_ref()
                .unwrap()
                .name
                .as_deref(),
            Some("joe.black")
        );
        assert_eq!(v(&e, "usrName"), "joe.black");
    }
    let e = sample("leef.log", 1, "leef");
    assert_eq!(e.feature.as_deref(), Some("15345"));
    assert_eq!(
        e.product.as_ref().unwrap().version.as_deref(),
        Some("4.0 SP1")
    );
    let e = sample("leef.log", 2, "leef");
    assert_eq!(
        e.product.as_ref().unwrap().name.as_deref(),
        Some("StealthWatch")
    );
    assert_eq!(v(&e, "leefVersion"), "2.0");
}

#[test]
fn leef_vendor_records() {
    // CyberArk PTA puts pipes inside its first attribute; devTime is epoch milliseconds.
    let e = sample("leef.log", 3, "leef");
    assert_eq!(e.class, EventClass::Base);
    assert_eq!(v(&e, "Cat"), "Suspected credentials theft|sev=8|src=src1");
    assert_eq!(v(&e, "suser"), "mike2");
    assert_eq!(e.time, ts("2014-01-01T12:00:00Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    assert_eq!(
        e.dst_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("192.168.0.1")
    );

    // PAN-OS's LEEF 2.0 template, with `x7C` (a pipe) as the delimiter.
    let e = sample("leef.log", 4, "leef");
    assert_eq!(v(&e, "cat"), "$type");
    assert_eq!(v(&e, "msg"), "$cmd");
    assert_eq!(e.feature.as_deref(), Some("$result"));
    assert_eq!(
        e.time,
        ts(RECEIVED),
        "an unreadable devTime leaves the receive time"
    );
}

#[test]
fn leef_devtime_format_and_login_events() {
    let line = "LEEF:2.0|Vendor|Product|1.2|Logon|x09|devTime=2019-01-18 11:07:53.520 +0700\tdevTimeFormat=yyyy-MM-dd HH:mm:ss.SSS Z\tisLoginEvent=true\tusrName=alice\tdomain=CORP\tsrc=203.0.113.9\tproto=6";
    let (id, e) = parse(line);
    assert_eq!(id.as_deref(), Some("leef"));
    assert_eq!((e.class, e.activity_id), (EventClass::Authentication, 1));
    assert_eq!(e.time, ts("2019-01-18T04:07:53.52Z"));
    assert_eq!(e.user.as_ref().unwrap().name.as_deref(), Some("alice"));
    assert_eq!(e.user.as_ref().unwrap().domain.as_deref(), Some("CORP"));
    assert_eq!(e.target.as_deref(), Some("user:alice"));
    assert_eq!(e.status, Some(Status::Success));
    assert_eq!(
        e.connection.as_ref().unwrap().protocol.as_deref(),
        Some("tcp")
    );
    // Through syslog, with the LEEF header after the hostname.
    let (id, e) = parse_syslog(
        "<13>Jan 18 11:07:53 192.168.1.1 LEEF:1.0|V|P|1|E|src=10.1.1.1\tdst=10.2.2.2\tsev=1",
    );
    assert_eq!(id.as_deref(), Some("leef"));
    assert_eq!(
        (e.class, e.severity),
        (EventClass::NetworkActivity, Some(Severity::Low))
    );
}

// ------------------------------------------------------------------------------------------------
// key=value

#[test]
fn kv_fortigate_event() {
    let e = sample("kv_fortigate.log", 1, "kv");
    assert_eq!((e.class, e.activity_id), (EventClass::Base, 0));
    assert_eq!(
        e.src_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("172.16.200.254")
    );
    assert_eq!(
        e.dst_endpoint.as_ref().unwrap().ip.as_deref(),
        Some("172.16.200.1")
    );
    assert_eq!(
        e.actor
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("admin1")
    );
    assert_eq!(e.activity.as_deref(), Some("login"));
    assert_eq!(e.status, Some(Status::Failure));
    assert_eq!(e.severity, Some(Severity::Critical));
    assert_eq!(
        e.message.as_deref(),
        Some(
            "Administrator admin1 login failed from https(172.16.200.254) because of invalid user name"
        )
    );
    assert_eq!(e.time, ts("2018-12-27T19:15:40Z"));
    assert_eq!(v(&e, "logid"), "0100032002");
    assert_eq!(v(&e, "logdesc"), "Admin login failed");
    assert_eq!(v(&e, "ui"), "https(172.16.200.254)");
}

#[test]
fn kv_logfmt() {
    let e = sample("kv_logfmt.log", 1, "kv");
    assert_eq!(e.time, ts("2026-11-29T01:51:33.6Z"));
    assert_eq!(e.time_status, TimeStatus::Stated);
    assert_eq!(e.message.as_deref(), Some("Starting node_exporter"));
    assert_eq!(e.severity, Some(Severity::Info));
    assert_eq!(v(&e, "caller"), "node_exporter.go:180");
    assert_eq!(
        v(&e, "version"),
        "(version=1.5.0, branch=debian/sid, revision=1.5.0-1+b6)"
    );
    let flag = sample("kv_logfmt.log", 4, "kv");
    assert_eq!(
        v(&flag, "flag"),
        "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
    );
    let listening = sample("kv_logfmt.log", 7, "kv");
    assert_eq!(listening.dst_endpoint, None);
    assert_eq!(v(&listening, "address"), "127.0.0.1:19100");
    let error = sample("kv_logfmt.log", 8, "kv");
    assert_eq!(error.severity, Some(Severity::High));
    assert_eq!(v(&error, "err"), "listen tcp: address 99999: invalid port");
}

// ------------------------------------------------------------------------------------------------
// Dispatch and refusals

#[test]
fn refusals_fall_through_and_leave_no_trace() {
    // Prose is not key=value, and nothing else takes it.
    let (id, e) = parse("the value x=1 was too large for the buffer");
    assert_eq!(id, None);
    assert_eq!(e, blank("the value x=1 was too large for the buffer"));
    // Keys that route to a specific parser, in a record of another kind.
    for text in [
        r#"{"event_type":"custom","note":"no timestamp"}"#,
        r#"{"transaction":"abc","amount":3}"#,
        r#"{"kind":"Event","auditID":"x"}"#,
        r#"{"eventVersion":"1.0","eventName":"x"}"#,
        r#"{"EventID":"not a number","Channel":"Security"}"#,
        r#"{"Event":{"System":{"Channel":"Security"}}}"#,
        r#"{"winlog":{"channel":"Security"}}"#,
        r#"{"kind": 0}"#,
    ] {
        let (id, e) = parse(text);
        assert_eq!(id.as_deref(), Some("json"), "{text}");
        assert!(
            e.http.is_none() && e.detection.is_none() && e.user.is_none(),
            "{text}"
        );
        assert_eq!(e.class, EventClass::Base);
    }
    // Not CEF after all: the kv fallback takes what looks like pairs.
    let (id, _) = parse("CEF:broken a=1 b=2");
    assert_eq!(id.as_deref(), Some("kv"));
    // Not JSON objects.
    assert_eq!(parse("[1,2,3]").0, None);
    assert_eq!(parse("{").0, None);
    // An empty object is nothing to parse.
    assert_eq!(parse("{}").0, None);
}

// ------------------------------------------------------------------------------------------------
// Properties: nothing panics, the raw text is kept, the bounds hold

fn all_sample_lines() -> &'static [String] {
    static LINES: OnceLock<Vec<String>> = OnceLock::new();
    LINES.get_or_init(|| {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(samples_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n != "SOURCES.md") {
                all.extend(lines(path.file_name().unwrap().to_str().unwrap()));
            }
        }
        all
    })
}

fn check(text: &str) {
    let (id, e) = parse(text);
    let (_, e2) = parse_syslog(text);
    for event in [&e, &e2] {
        assert!(event.vendor.len() <= common::MAX_VENDOR_ENTRIES + 8);
        assert!(event.unmapped.len() <= 70);
        if event.parse == EventParse::Unparsed {
            assert!(event.parser.is_none());
        }
    }
    assert_eq!(id.is_some(), e.parse == EventParse::Parsed);
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("4624"),
            Just("2024-01-01T00:00:00Z"),
            Just("Sun Nov 29 01:41:19 2026"),
            Just("1545938140123"),
            Just("0x11cc"),
            Just("-"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    let keys = prop_oneof![
        Just("event_type".to_owned()),
        Just("timestamp".to_owned()),
        Just("transaction".to_owned()),
        Just("messages".to_owned()),
        Just("auditID".to_owned()),
        Just("kind".to_owned()),
        Just("verb".to_owned()),
        Just("stage".to_owned()),
        Just("eventVersion".to_owned()),
        Just("eventSource".to_owned()),
        Just("eventName".to_owned()),
        Just("eventTime".to_owned()),
        Just("EventID".to_owned()),
        Just("Channel".to_owned()),
        Just("winlog".to_owned()),
        Just("event_id".to_owned()),
        Just("Event".to_owned()),
        Just("System".to_owned()),
        Just("EventData".to_owned()),
        Just("Data".to_owned()),
        Just("@Name".to_owned()),
        Just("#text".to_owned()),
        Just("#attributes".to_owned()),
        Just("alert".to_owned()),
        Just("src_ip".to_owned()),
        ".{0,6}",
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        check(&text);
    }

    #[test]
    fn arbitrary_prefixed_text_never_panics(
        prefix in prop_oneof![Just("CEF:"), Just("LEEF:"), Just("CEF:0|"), Just("LEEF:2.0|a|b|c|d|"), Just("{\""), Just("a=1 ")],
        rest in r#"[ -~\t|=\\"'^x0-9a-f]{0,200}"#,
    ) {
        check(&format!("{prefix}{rest}"));
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value()) {
        check(&value.to_string());
        let wrapped = json!({"Event": {"System": value.clone(), "EventData": value.clone()}, "transaction": value.clone(), "winlog": value});
        check(&wrapped.to_string());
    }

    #[test]
    fn mutated_samples_never_panic(
        index in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let lines = all_sample_lines();
        let mut bytes = lines[index.index(lines.len())].clone().into_bytes();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len().max(1));
            match op {
                0 if !bytes.is_empty() => { bytes.remove(i.min(bytes.len() - 1)); }
                1 => bytes.insert(i.min(bytes.len()), byte),
                _ if !bytes.is_empty() => { let j = i.min(bytes.len() - 1); bytes[j] = byte; }
                _ => {}
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        check(&text);
    }
}
