//! Tests of user-defined parsers: loading errors with positions, each method, each mapping.

use std::path::Path;

use jiff::tz::TimeZone;
use shieldwall_core::event::Status;
use shieldwall_core::{EventParse, RecordId, TenantId};

use super::*;
use crate::ParseContext;

fn registry(yaml: &str) -> Registry {
    let parsers = compile(Path::new("test.yaml"), yaml).unwrap();
    let mut r = Registry::new();
    register(&mut r, parsers).unwrap();
    r
}

fn parse(r: &Registry, source: &str, program: Option<&str>, text: &str) -> Event {
    let ctx = ParseContext::new(
        "2026-05-01T12:00:00Z".parse().unwrap(),
        TimeZone::fixed(jiff::tz::offset(2)),
    );
    let message = Message {
        source,
        program,
        pid: None,
        hostname: None,
        text,
        context: &ctx,
    };
    let mut e = Event::unparsed(
        RecordId::derive("event", &["t"]),
        TenantId::default(),
        source,
        ctx.received,
        text,
    );
    r.parse(&message, &mut e);
    e
}

fn error(yaml: &str) -> UserParserError {
    match compile(Path::new("bad.yaml"), yaml) {
        Ok(_) => panic!("expected an error for:\n{yaml}"),
        Err(e) => e,
    }
}

const LOGIN: &str = r#"
parsers:
  - id: acme-login
    description: ACME VPN logins
    match:
      program: [acmevpn]
    method:
      regex: '^LOGIN user=(?P<user>\S+) from (?P<ip>[0-9.]+):(?P<port>\d+) result=(?P<result>\w+) at (?P<ts>\S+ \S+)$'
    class: authentication
    activity_id: 1
    map:
      user.name: "{user}"
      target: "user:{user}"
      src_endpoint.ip: "{ip}"
      src_endpoint.port: "{port}"
      status: { from: result, values: { ok: success, denied: failure } }
      time: "{ts}"
"#;

#[test]
fn regex_parser_maps_fields_and_keeps_the_rest_in_vendor() {
    let r = registry(LOGIN);
    let e = parse(
        &r,
        "s",
        Some("acmevpn"),
        "LOGIN user=alice from 192.0.2.4:5555 result=denied at 2026-05-01 13:59:00",
    );
    assert_eq!(e.parse, EventParse::Parsed);
    assert_eq!(e.parser.as_deref(), Some("acme-login"));
    assert_eq!(e.class, EventClass::Authentication);
    assert_eq!(e.type_uid(), 300_201);
    assert_eq!(e.user.as_ref().unwrap().name.as_deref(), Some("alice"));
    assert_eq!(e.target.as_deref(), Some("user:alice"));
    let src = e.src_endpoint.as_ref().unwrap();
    assert_eq!(
        (src.ip.as_deref(), src.port),
        (Some("192.0.2.4"), Some(5555))
    );
    assert_eq!(e.status, Some(Status::Failure));
    // Local time in the source's zone (UTC+2).
    assert_eq!(e.time, "2026-05-01T11:59:00Z".parse().unwrap());
    assert_eq!(e.time_status, TimeStatus::Inferred);
    assert!(
        e.vendor.is_empty(),
        "every capture was used: {:?}",
        e.vendor
    );
}

#[test]
fn a_line_the_regex_does_not_match_stays_unparsed() {
    let r = registry(LOGIN);
    let e = parse(&r, "s", Some("acmevpn"), "LOGOUT user=alice");
    assert_eq!(e.parse, EventParse::Unparsed);
    let other_program = parse(
        &r,
        "s",
        Some("other"),
        "LOGIN user=alice from 1.2.3.4:1 result=ok at 2026-05-01 13:59:00",
    );
    assert_eq!(
        other_program.parse,
        EventParse::Unparsed,
        "only offered to its program"
    );
}

#[test]
fn separator_kv_and_json_methods() {
    let r = registry(
        r#"
parsers:
  - id: csv-fw
    match: { source: [fw], prefix: ["FW,"] }
    method: { separator: { delimiter: ",", fields: [_, action, src, dst, proto], trim: true } }
    class: network_activity
    activity_id: 6
    map:
      action: { from: action, values: { DROP: denied, PASS: allowed }, default: observed }
      src_endpoint.ip: "{src}"
      connection.protocol: "{proto}"
  - id: kv-app
    match: { program: [kvapp] }
    method: { kv: {} }
    map:
      actor.user.name: "{usr}"
  - id: json-app
    match: { program: [jsonapp] }
    method: { json: {} }
    map:
      http.status_code: "{resp.code}"
      message: "{msg}"
"#,
    );
    let e = parse(&r, "fw", None, "FW, DROP ,10.0.0.1,10.0.0.2, TCP");
    assert_eq!(e.parser.as_deref(), Some("csv-fw"));
    assert_eq!(e.action, Some(Action::Denied));
    assert_eq!(
        e.connection.as_ref().unwrap().protocol.as_deref(),
        Some("tcp")
    );
    assert_eq!(
        e.vendor["dst"], "10.0.0.2",
        "unused fields stay under their own names"
    );

    let e = parse(&r, "s", Some("kvapp"), r#"usr=bob op="read file" n=3"#);
    assert_eq!(
        e.actor
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .name
            .as_deref(),
        Some("bob")
    );
    assert_eq!(e.vendor["op"], "read file");

    let e = parse(
        &r,
        "s",
        Some("jsonapp"),
        r#"{"resp":{"code":503},"msg":"busy","n":null}"#,
    );
    assert_eq!(e.http.as_ref().unwrap().status_code, Some(503));
    assert_eq!(e.message.as_deref(), Some("busy"));
    let e = parse(
        &r,
        "s",
        Some("jsonapp"),
        r#"{"resp":{"code":"abc"},"msg":"x"}"#,
    );
    assert_eq!(
        e.unmapped["http.status_code.invalid"], "abc",
        "a value that does not fit is kept"
    );
}

#[test]
fn a_regex_only_parser_is_routed_by_the_pattern_set() {
    let r = registry(
        r#"
parsers:
  - id: legacy
    match: { regex: 'legacy-app\[\d+\]' }
    method: { regex: 'user (?P<u>\w+)' }
    map: { user.name: "{u}" }
"#,
    );
    assert_eq!(
        parse(&r, "s", None, "legacy-app[12] user carol")
            .parser
            .as_deref(),
        Some("legacy")
    );
    assert_eq!(
        parse(&r, "s", None, "other user carol").parse,
        EventParse::Unparsed
    );
}

#[test]
fn load_errors_name_the_line_and_the_reason() {
    let e = error(
        "parsers:\n  - id: x\n    match: { program: [a] }\n    method: { regex: '(?P<u>' }\n",
    );
    assert_eq!((e.line, e.file.as_path()), (4, Path::new("bad.yaml")));
    assert!(e.reason.contains("bad regex"), "{e}");

    let e = error(
        "parsers:\n  - id: x\n    match: { program: [a] }\n    method: { regex: '(?P<u>.)' }\n    map:\n      user.nme: '{u}'\n",
    );
    assert_eq!(e.line, 6);
    assert!(e.reason.contains("did you mean `user.name`"), "{e}");

    let e = error(
        "parsers:\n  - id: x\n    match: { program: [a] }\n    method: { regex: '(?P<u>.)' }\n    map:\n      user.name: '{v}'\n",
    );
    assert!(e.reason.contains("`v` is not extracted"), "{e}");

    let e = error("parsers:\n  - id: x\n    match: {}\n    method: { json: {} }\n");
    assert_eq!(e.line, 3);
    assert!(e.reason.contains("no matcher"), "{e}");

    let e = error(
        "parsers:\n  - id: x\n    match: { program: [a] }\n    method: { json: {} }\n    clas: base\n",
    );
    assert_eq!(e.line, 5, "{e}");
    assert!(e.reason.contains("clas"), "{e}");

    let e = error(
        "parsers:\n  - id: x\n    match: { program: [a] }\n    method: { json: {} }\n    class: authentification\n",
    );
    assert!(e.reason.contains("unknown class"), "{e}");

    let e = error(
        "parsers:\n  - id: x\n    match: { program: [a] }\n    method: { json: {} }\n  - id: x\n    match: { program: [b] }\n    method: { json: {} }\n",
    );
    assert!(e.reason.contains("twice"), "{e}");
    assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
}

#[test]
fn ids_clashing_with_registered_parsers_are_refused() {
    let mut r = registry(LOGIN);
    let again = compile(Path::new("b.yaml"), LOGIN).unwrap();
    assert_eq!(
        register(&mut r, again),
        Err(RegistryError::DuplicateId("acme-login".into()))
    );
    let mixed = compile(
        Path::new("c.yaml"),
        &format!(
            "{LOGIN}  - id: fresh\n    match: {{ program: [x] }}\n    method: {{ kv: {{}} }}\n"
        ),
    )
    .unwrap();
    assert!(register(&mut r, mixed).is_err());
    assert!(
        !r.contains("fresh"),
        "nothing of a clashing set is registered"
    );
}

#[test]
fn templates_escape_braces_and_reject_unbalanced_ones() {
    assert!(parse_template("{{literal}} {x}").is_ok());
    assert!(parse_template("{x").is_err());
    assert!(parse_template("x}").is_err());
    assert!(parse_template("{}").is_err());
}

#[test]
fn kv_splitting_respects_quotes() {
    assert_eq!(
        split_quoted(r#"a=1 b="x y" c=3"#, " "),
        ["a=1", r#"b="x y""#, "c=3"]
    );
    assert_eq!(split_quoted("  a=1  ", " "), ["a=1"]);
}
