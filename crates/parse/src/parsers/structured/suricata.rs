//! Suricata EVE JSON (`eve.json`): alerts become Detection Findings, `flow`/`netflow` Network
//! Activity, `http` HTTP Activity, `dns` DNS Activity, and every other `event_type` (`fileinfo`,
//! `anomaly`, `tls`, `stats`, ...) a Base event that keeps its fields.
//!
//! Field reference: the Suricata user guide, "Eve JSON Format". Every top-level field is kept in
//! [`Event::vendor`] under its own name, nested objects as they are (`alert`, `http`), so that
//! `vendor.alert.signature_id` and `vendor.http.hostname` name their fields.

use serde_json::{Map, Value};
use shieldwall_core::{
    Event, EventClass, Severity,
    event::{Action, Connection, Status},
};

use super::common::{
    self, Budget, at, http_activity, http_status, port, str_at, text, time_value, unsigned,
};
use crate::registry::{JsonParser, Message};

/// The parser id.
pub const ID: &str = "suricata-eve";

/// Event types Suricata writes; a record with one of these and a `timestamp` is EVE even without
/// addresses (`stats`).
const KNOWN_TYPES: &[&str] = &[
    "alert",
    "anomaly",
    "bittorrent-dht",
    "dcerpc",
    "dhcp",
    "dnp3",
    "dns",
    "drop",
    "engine",
    "fileinfo",
    "flow",
    "frame",
    "ftp",
    "ftp_data",
    "http",
    "http2",
    "ike",
    "krb5",
    "modbus",
    "mqtt",
    "netflow",
    "nfs",
    "pgsql",
    "quic",
    "rdp",
    "rfb",
    "sip",
    "smb",
    "smtp",
    "snmp",
    "ssh",
    "stats",
    "tftp",
    "tls",
];

/// Suricata EVE JSON, registered under the top-level key `event_type`.
#[derive(Debug, Default)]
pub struct Suricata;

impl JsonParser for Suricata {
    fn id(&self) -> &str {
        ID
    }

    fn parse(
        &self,
        object: &mut Map<String, Value>,
        message: &Message<'_>,
        event: &mut Event,
    ) -> bool {
        if !read(object, message, event) {
            return false;
        }
        let mut budget = Budget::for_text(message.text);
        common::keep_object(event, &mut budget, object);
        budget.finish(event);
        true
    }
}

/// Fills the normalised fields from the record, by reference; `false` if it is not EVE.
fn read(o: &Map<String, Value>, message: &Message<'_>, event: &mut Event) -> bool {
    let Some(event_type) = str_at(o, &["event_type"]) else {
        return false;
    };
    let Some(time) = o
        .get("timestamp")
        .and_then(|t| time_value(t, message.context))
    else {
        return false;
    };
    if !(o.contains_key("src_ip") || o.contains_key("flow_id") || KNOWN_TYPES.contains(&event_type))
    {
        return false;
    }
    common::set_time(event, Some(time));
    event.set_product("OISF", "Suricata");
    if let Some(host) = str_at(o, &["host"]) {
        event.device.get_or_insert_with(Default::default).hostname = Some(host.to_owned());
    }
    endpoints(o, event);

    match event_type {
        "alert" | "drop" if o.get("alert").is_some_and(Value::is_object) => alert(o, event),
        "flow" | "netflow" => {
            event.set_parsed(ID, EventClass::NetworkActivity, 6);
            event.activity = Some("traffic".to_owned());
            let bytes = match event_type {
                "flow" => {
                    let up = at(o, &["flow", "bytes_toserver"]).and_then(unsigned);
                    let down = at(o, &["flow", "bytes_toclient"]).and_then(unsigned);
                    match (up, down) {
                        (None, None) => None,
                        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
                    }
                }
                _ => at(o, &["netflow", "bytes"]).and_then(unsigned),
            };
            if let Some(bytes) = bytes {
                event
                    .connection
                    .get_or_insert_with(Connection::default)
                    .bytes = Some(bytes);
            }
            event.feature = Some(event_type.to_owned());
        }
        "http" => {
            let method = str_at(o, &["http", "http_method"]).unwrap_or("");
            event.set_parsed(ID, EventClass::HttpActivity, http_activity(method));
            event.feature = Some("http".to_owned());
        }
        "dns" => dns(o, event),
        other => {
            event.set_parsed(ID, EventClass::Base, 0);
            event.feature = Some(other.to_owned());
            if let Some(anomaly) = str_at(o, &["anomaly", "event"]) {
                event.message = Some(anomaly.to_owned());
                event.feature = Some(format!("anomaly:{anomaly}"));
            }
        }
    }
    http(o, event);
    true
}

/// The flow's addresses, ports and protocol.
fn endpoints(o: &Map<String, Value>, event: &mut Event) {
    if let Some(ip) = str_at(o, &["src_ip"]) {
        event.src().ip = Some(ip.to_owned());
    }
    if let Some(p) = o.get("src_port").and_then(port) {
        event.src().port = Some(p);
    }
    if let Some(ip) = str_at(o, &["dest_ip"]) {
        event.dst().ip = Some(ip.to_owned());
    }
    if let Some(p) = o.get("dest_port").and_then(port) {
        event.dst().port = Some(p);
    }
    if let Some(iface) = str_at(o, &["in_iface"]) {
        event.src().interface = Some(iface.to_owned());
    }
    if let Some(proto) = str_at(o, &["proto"]) {
        event
            .connection
            .get_or_insert_with(Connection::default)
            .protocol = Some(common::protocol(proto));
    }
}

fn alert(o: &Map<String, Value>, event: &mut Event) {
    event.set_parsed(ID, EventClass::DetectionFinding, 1);
    event.activity = Some("alert".to_owned());
    let sid = at(o, &["alert", "signature_id"]).and_then(text);
    let signature = str_at(o, &["alert", "signature"]);
    let category = str_at(o, &["alert", "category"]);
    let detection = event.detection_mut();
    detection.rule_uid = sid.clone();
    detection.title = signature.map(str::to_owned);
    detection.category = category.map(str::to_owned);
    event.feature = sid;
    event.message = signature.map(str::to_owned);
    event.severity = at(o, &["alert", "severity"])
        .and_then(unsigned)
        .map(|s| match s {
            1 => Severity::High,
            2 => Severity::Medium,
            3 => Severity::Low,
            _ => Severity::Info,
        });
    event.action = str_at(o, &["alert", "action"]).and_then(|a| match a {
        "allowed" => Some(Action::Allowed),
        "blocked" | "drop" | "rejected" => Some(Action::Denied),
        _ => common::action_word(a),
    });
    event.attack_type = category
        .and_then(attack_type)
        .or_else(|| signature.and_then(attack_from_signature))
        .map(str::to_owned);
    event.target = match (
        str_at(o, &["http", "hostname"]),
        str_at(o, &["http", "url"]),
        str_at(o, &["dest_ip"]),
    ) {
        (_, Some(url), _) => Some(format!("url:{}", common::url_path(url))),
        (Some(host), None, _) => Some(format!("host:{host}")),
        (None, None, Some(ip)) => Some(format!("ip:{ip}")),
        _ => None,
    };
}

/// The attack type of the standard classification categories (`classification.config`).
fn attack_type(category: &str) -> Option<&'static str> {
    let c = category.to_ascii_lowercase();
    let kind = if c.contains("trojan") || c.contains("malware") || c.contains("command and control")
    {
        "malware"
    } else if c.contains("web application attack") {
        "web_attack"
    } else if c.contains("privilege gain") {
        "privilege_escalation"
    } else if c.contains("denial of service") {
        "denial_of_service"
    } else if c.contains("network scan") || c.contains("scan") {
        "scan"
    } else if c.contains("information leak") {
        "information_leak"
    } else if c.contains("exploit") || c.contains("shellcode") || c.contains("executable code") {
        "exploit"
    } else if c.contains("login") || c.contains("default username") {
        "credential_access"
    } else if c.contains("policy violation") || c.contains("inappropriate content") {
        "policy_violation"
    } else if c.contains("bad traffic") || c.contains("suspicious") || c.contains("unusual") {
        "suspicious_traffic"
    } else if c.contains("protocol command decode") {
        "protocol_anomaly"
    } else if c.contains("attack") {
        "attack"
    } else {
        return None;
    };
    Some(kind)
}

/// Emerging Threats signature names carry the family after the ruleset prefix (`ET SCAN ...`).
fn attack_from_signature(signature: &str) -> Option<&'static str> {
    let mut words = signature.split_whitespace();
    let _ruleset = words.next()?;
    let kind = match words.next()? {
        "SCAN" => "scan",
        "MALWARE" | "TROJAN" | "MOBILE_MALWARE" | "CNC" => "malware",
        "EXPLOIT" | "EXPLOIT_KIT" | "SHELLCODE" => "exploit",
        "WEB_SERVER" | "WEB_SPECIFIC_APPS" | "WEB_CLIENT" => "web_attack",
        "DOS" => "denial_of_service",
        "PHISHING" => "phishing",
        _ => return None,
    };
    Some(kind)
}

fn dns(o: &Map<String, Value>, event: &mut Event) {
    let kind = str_at(o, &["dns", "type"]).unwrap_or("");
    let response = matches!(kind, "answer" | "response");
    event.set_parsed(ID, EventClass::DnsActivity, if response { 2 } else { 1 });
    event.activity = Some(if response { "response" } else { "query" }.to_owned());
    let name = str_at(o, &["dns", "rrname"]).or_else(|| {
        at(o, &["dns", "queries"])
            .and_then(Value::as_array)
            .and_then(|q| q.first())
            .and_then(|q| q.get("rrname"))
            .and_then(Value::as_str)
    });
    if let Some(name) = name {
        event.query = Some(name.to_owned());
        event.target = Some(format!("domain:{name}"));
    }
    let rrtype = str_at(o, &["dns", "rrtype"]).unwrap_or("");
    event.feature = Some(format!(
        "dns:{}",
        if rrtype.is_empty() { kind } else { rrtype }
    ));
    if let Some(rcode) = str_at(o, &["dns", "rcode"]) {
        event.status = Some(if rcode.eq_ignore_ascii_case("NOERROR") {
            Status::Success
        } else {
            Status::Failure
        });
        event.status_detail = Some(rcode.to_owned());
    }
}

/// The `http` object, present on `http` events and on alerts and file events of HTTP flows.
fn http(o: &Map<String, Value>, event: &mut Event) {
    let Some(h) = o.get("http").and_then(Value::as_object) else {
        return;
    };
    let status_code = h.get("status").and_then(port);
    let is_http_event = event.class == EventClass::HttpActivity;
    let http = event.http_mut();
    if let Some(m) = str_at(h, &["http_method"]) {
        http.method = Some(m.to_owned());
    }
    if let Some(u) = str_at(h, &["url"]) {
        http.url = Some(u.to_owned());
    }
    if let Some(v) = str_at(h, &["protocol"]) {
        http.version = Some(v.to_owned());
    }
    if let Some(ua) = str_at(h, &["http_user_agent"]) {
        http.user_agent = Some(ua.to_owned());
    }
    if let Some(r) = str_at(h, &["http_refer"]) {
        http.referrer = Some(r.to_owned());
    }
    http.status_code = status_code;
    http.response_bytes = h.get("length").and_then(unsigned);
    if let Some(host) = str_at(h, &["hostname"]) {
        event.dst().hostname = Some(host.to_owned());
    }
    if is_http_event {
        event.activity = str_at(h, &["http_method"]).map(str::to_owned);
        event.status = status_code.and_then(http_status);
        if let Some(url) = str_at(h, &["url"]) {
            event.target = Some(format!("url:{}", common::url_path(url)));
        }
    }
}
