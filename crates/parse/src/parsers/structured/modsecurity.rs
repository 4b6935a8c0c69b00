//! ModSecurity and Coraza JSON audit logs (`SecAuditLogFormat JSON`).
//!
//! Three shapes are read, all keyed by a top-level `transaction` object:
//!
//! * ModSecurity v3 (libmodsecurity): everything under `transaction`, rule matches in
//!   `transaction.messages[].details` (`ruleId`, `severity` as a number, `tags`).
//! * Coraza: the v3 shape, with matches either under `transaction.messages` or top-level
//!   `messages`, details under `data` (`id`, `msg`) and the status in `response.status`.
//! * ModSecurity v2 (Apache `mod_security2`): `transaction`, `request` (`request_line`),
//!   `response` (`status`) and `audit_data`, whose `messages` are the error-log strings
//!   (`Warning. ... [id "942100"] [msg "..."] [tag "attack-sqli"]`) and whose `action` says
//!   whether the request was intercepted.
//!
//! A record with rule matches is a Detection Finding: the attack type is voted from the OWASP CRS
//! tags of the matches (`attack-sqli`, `attack-xss`, ...), falling back to the CRS rule-id ranges
//! when a match carries no tags (libmodsecurity 3.0.9 drops the tags of its libinjection rules),
//! and the anomaly-scoring rules (949/959/980) never decide it. The action is Denied when the
//! response is 403 or the engine says it intercepted, Observed when the engine only detects. A
//! record without matches is HTTP Activity.

use serde_json::{Map, Value};
use shieldwall_core::{Event, EventClass, Severity, event::Action};

use super::common::{self, Budget, at, http_activity, http_status, port, str_at, text, time_value};
use crate::registry::{JsonParser, Message};

/// The parser id.
pub const ID: &str = "modsecurity-audit";

/// The most rule matches read from one record.
const MAX_MATCHES: usize = 256;

/// ModSecurity v2/v3 and Coraza JSON audit records, registered under the key `transaction`.
#[derive(Debug, Default)]
pub struct ModSecurity;

/// One rule match, whatever the shape it came from.
#[derive(Debug, Default)]
struct Match {
    rule_id: Option<String>,
    msg: Option<String>,
    severity: Option<Severity>,
    tags: Vec<String>,
    denied: bool,
}

impl JsonParser for ModSecurity {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, o: &Map<String, Value>, message: &Message<'_>, event: &mut Event) -> bool {
        let Some(tx) = o.get("transaction").and_then(Value::as_object) else {
            return false;
        };
        let v2 = o.contains_key("audit_data") || tx.contains_key("remote_address");
        let v3 = tx.contains_key("client_ip")
            || (tx.get("request").is_some_and(Value::is_object) && tx.contains_key("producer"));
        if !(v2 || v3) {
            return false;
        }
        let view = if v2 { v2_view(o, tx) } else { v3_view(o, tx) };

        common::set_time(
            event,
            view.time.and_then(|t| time_value(t, message.context)),
        );
        if let Some(ip) = view.client_ip {
            event.src().ip = Some(ip.to_owned());
        }
        if let Some(p) = view.client_port {
            event.src().port = Some(p);
        }
        if let Some(ip) = view.server_ip {
            event.dst().ip = Some(ip.to_owned());
        }
        if let Some(p) = view.server_port {
            event.dst().port = Some(p);
        }
        let http = event.http_mut();
        http.method = view.method.clone();
        http.url = view.uri.clone();
        http.version = view.version.clone();
        http.status_code = view.status;
        if let Some(headers) = view.request_headers {
            http.user_agent = header(headers, "user-agent").map(str::to_owned);
            http.referrer = header(headers, "referer").map(str::to_owned);
            if let Some(host) = header(headers, "host") {
                event.dst().hostname = Some(host.to_owned());
            }
        }
        let product = if view.coraza { "Coraza" } else { "ModSecurity" };
        event.set_product("OWASP", product);
        if let (Some(p), Some(version)) = (event.product.as_mut(), view.producer.clone()) {
            p.version = Some(version);
        }
        event.status = view.status.and_then(http_status);
        if let Some(uri) = view.uri.as_deref() {
            event.target = Some(format!("url:{}", common::url_path(uri)));
        }

        if view.matches.is_empty() {
            let method = view.method.as_deref().unwrap_or("");
            event.set_parsed(ID, EventClass::HttpActivity, http_activity(method));
            event.activity = view.method.clone();
        } else {
            finding(event, &view);
        }

        let mut budget = Budget::new();
        common::flatten(event, &mut budget, "", o, &[]);
        budget.finish(event);
        true
    }
}

/// What the three shapes have in common.
#[derive(Debug, Default)]
struct View<'a> {
    time: Option<&'a Value>,
    client_ip: Option<&'a str>,
    client_port: Option<u16>,
    server_ip: Option<&'a str>,
    server_port: Option<u16>,
    method: Option<String>,
    uri: Option<String>,
    version: Option<String>,
    status: Option<u16>,
    request_headers: Option<&'a Map<String, Value>>,
    producer: Option<String>,
    coraza: bool,
    detection_only: bool,
    intercepted: bool,
    matches: Vec<Match>,
}

fn v3_view<'a>(o: &'a Map<String, Value>, tx: &'a Map<String, Value>) -> View<'a> {
    let request = tx.get("request").and_then(Value::as_object);
    let response = tx.get("response").and_then(Value::as_object);
    let producer = tx.get("producer").and_then(Value::as_object);
    let producer_text = producer
        .and_then(|p| p.get("modsecurity").or_else(|| p.get("connector")))
        .and_then(Value::as_str);
    let coraza = producer.is_some_and(|p| {
        p.values()
            .filter_map(Value::as_str)
            .any(|s| s.to_ascii_lowercase().contains("coraza"))
    }) || tx.contains_key("unix_timestamp");
    let engine = producer
        .and_then(|p| p.get("secrules_engine").or_else(|| p.get("rule_engine")))
        .and_then(Value::as_str)
        .unwrap_or("");
    let version = request
        .and_then(|r| r.get("http_version"))
        .and_then(|v| match v {
            Value::Number(n) => Some(format!("HTTP/{n}")),
            Value::String(s) if s.starts_with("HTTP") => Some(s.clone()),
            Value::String(s) if !s.is_empty() => Some(format!("HTTP/{s}")),
            _ => None,
        });
    let list = tx
        .get("messages")
        .or_else(|| o.get("messages"))
        .and_then(Value::as_array);
    let matches = list
        .map(|l| l.iter().take(MAX_MATCHES).filter_map(v3_match).collect())
        .unwrap_or_default();
    View {
        time: tx
            .get("time_stamp")
            .or_else(|| tx.get("timestamp"))
            .or_else(|| tx.get("unix_timestamp")),
        client_ip: str_at(tx, &["client_ip"]),
        client_port: tx.get("client_port").and_then(port),
        server_ip: str_at(tx, &["host_ip"]),
        server_port: tx.get("host_port").and_then(port),
        method: request
            .and_then(|r| str_at(r, &["method"]))
            .map(str::to_owned),
        uri: request.and_then(|r| str_at(r, &["uri"])).map(str::to_owned),
        version,
        status: response
            .and_then(|r| r.get("http_code").or_else(|| r.get("status")))
            .and_then(port),
        request_headers: request
            .and_then(|r| r.get("headers"))
            .and_then(Value::as_object),
        producer: producer_text.map(str::to_owned),
        coraza,
        detection_only: engine.eq_ignore_ascii_case("DetectionOnly"),
        intercepted: false,
        matches,
    }
}

fn v3_match(m: &Value) -> Option<Match> {
    let m = m.as_object()?;
    let details = m
        .get("details")
        .or_else(|| m.get("data"))
        .and_then(Value::as_object);
    let field = |names: &[&str]| {
        details
            .and_then(|d| names.iter().find_map(|n| d.get(*n)))
            .and_then(text)
    };
    let tags = details
        .and_then(|d| d.get("tags"))
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .take(32)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Some(Match {
        rule_id: field(&["ruleId", "id"]),
        msg: str_at(m, &["message"])
            .map(str::to_owned)
            .or_else(|| field(&["msg"])),
        severity: field(&["severity"]).as_deref().and_then(modsec_severity),
        tags,
        denied: false,
    })
}

fn v2_view<'a>(o: &'a Map<String, Value>, tx: &'a Map<String, Value>) -> View<'a> {
    let request = o.get("request").and_then(Value::as_object);
    let response = o.get("response").and_then(Value::as_object);
    let audit = o.get("audit_data").and_then(Value::as_object);
    let line = request
        .and_then(|r| str_at(r, &["request_line"]))
        .unwrap_or("");
    let mut parts = line.split(' ');
    let method = parts.next().filter(|m| !m.is_empty()).map(str::to_owned);
    let uri = parts.next().filter(|u| !u.is_empty()).map(str::to_owned);
    let version = parts.next().filter(|v| !v.is_empty()).map(str::to_owned);
    let producer = audit
        .and_then(|a| a.get("producer"))
        .and_then(|p| match p {
            Value::Array(items) => items.first().and_then(Value::as_str),
            Value::String(s) => Some(s.as_str()),
            _ => None,
        })
        .map(str::to_owned);
    let matches = audit
        .and_then(|a| a.get("messages"))
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .take(MAX_MATCHES)
                .filter_map(Value::as_str)
                .map(v2_match)
                .collect()
        })
        .unwrap_or_default();
    View {
        time: tx.get("time"),
        client_ip: str_at(tx, &["remote_address"]),
        client_port: tx.get("remote_port").and_then(port),
        server_ip: str_at(tx, &["local_address"]),
        server_port: tx.get("local_port").and_then(port),
        method,
        uri,
        version,
        status: response.and_then(|r| r.get("status")).and_then(port),
        request_headers: request
            .and_then(|r| r.get("headers"))
            .and_then(Value::as_object),
        producer,
        coraza: false,
        detection_only: audit
            .and_then(|a| str_at(a, &["engine_mode"]))
            .is_some_and(|m| m.eq_ignore_ascii_case("DETECTION_ONLY")),
        intercepted: audit
            .and_then(|a| at(a, &["action", "intercepted"]))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        matches,
    }
}

/// Reads one ModSecurity v2 error-log message: free text, then `[name "value"]` items.
fn v2_match(s: &str) -> Match {
    let mut m = Match {
        denied: s.starts_with("Access denied") || s.contains(". Access denied"),
        ..Match::default()
    };
    let mut rest = s;
    let mut items = 0;
    while let Some(open) = rest.find('[') {
        items += 1;
        if items > 64 {
            break;
        }
        let Some(after) = rest.get(open + 1..) else {
            break;
        };
        let Some((name, value_and_rest)) = after.split_once(" \"") else {
            break;
        };
        if name.is_empty() || name.len() > 16 || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            rest = after;
            continue;
        }
        // The value runs to the next unescaped `"]`.
        let bytes = value_and_rest.as_bytes();
        let mut end = None;
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'\\' => i += 2,
                b'"' if bytes.get(i + 1) == Some(&b']') => {
                    end = Some(i);
                    break;
                }
                _ => i += 1,
            }
        }
        let Some(end) = end else {
            break;
        };
        let value = value_and_rest.get(..end).unwrap_or("");
        match name {
            "id" => m.rule_id = Some(value.to_owned()),
            "msg" => m.msg = Some(value.replace("\\\"", "\"")),
            "severity" => m.severity = modsec_severity(value),
            "tag" if m.tags.len() < 32 => m.tags.push(value.to_owned()),
            _ => {}
        }
        rest = value_and_rest.get(end + 2..).unwrap_or("");
    }
    m
}

/// ModSecurity severities: 0 EMERGENCY to 7 DEBUG, as numbers or names.
fn modsec_severity(s: &str) -> Option<Severity> {
    let level = match s.trim().to_ascii_uppercase().as_str() {
        "0" | "EMERGENCY" | "1" | "ALERT" | "2" | "CRITICAL" => 2,
        "3" | "ERROR" => 3,
        "4" | "WARNING" => 4,
        "5" | "NOTICE" => 5,
        "6" | "INFO" | "7" | "DEBUG" => 6,
        _ => return None,
    };
    Some(match level {
        2 => Severity::Critical,
        3 => Severity::High,
        4 => Severity::Medium,
        5 => Severity::Low,
        _ => Severity::Info,
    })
}

/// The CRS rules that only add up or report anomaly scores.
fn is_scoring(rule_id: Option<&str>) -> bool {
    rule_id
        .is_some_and(|id| id.starts_with("949") || id.starts_with("959") || id.starts_with("980"))
}

/// The attack type a CRS tag names.
fn kind_of_tag(tag: &str) -> Option<&'static str> {
    let t = tag.to_ascii_lowercase();
    let kind = match t.as_str() {
        "attack-sqli" => "sql_injection",
        "attack-xss" => "xss",
        "attack-rce" => "remote_code_execution",
        "attack-lfi" => "local_file_inclusion",
        "attack-rfi" => "remote_file_inclusion",
        "attack-injection-php" => "php_injection",
        "attack-injection-java" | "attack-java" => "java_injection",
        "attack-injection-nodejs" | "attack-nodejs" => "nodejs_injection",
        "attack-injection-ruby" => "ruby_injection",
        "attack-injection-generic" => "injection",
        "attack-fixation" => "session_fixation",
        "attack-ssrf" => "ssrf",
        "attack-dos" => "denial_of_service",
        "attack-disclosure" => "information_disclosure",
        "attack-multipart" | "attack-multipart-header" => "multipart_attack",
        "attack-protocol" => "protocol_violation",
        "attack-reputation-scanner" | "attack-scanner" | "scanner" => "scanner",
        "attack-reputation-ip" => "bad_reputation",
        "attack-generic" => "generic",
        _ => {
            // CRS 2 tags: OWASP_CRS/WEB_ATTACK/SQL_INJECTION and friends.
            let upper = tag.to_ascii_uppercase();
            if upper.contains("SQL_INJECTION") {
                "sql_injection"
            } else if upper.contains("/XSS") {
                "xss"
            } else if upper.contains("COMMAND_INJECTION") {
                "remote_code_execution"
            } else if upper.contains("DIR_TRAVERSAL") || upper.contains("FILE_INJECTION") {
                "local_file_inclusion"
            } else if upper.contains("RFI") {
                "remote_file_inclusion"
            } else if upper.contains("SECURITY_SCANNER") {
                "scanner"
            } else if upper.contains("PROTOCOL_VIOLATION") || upper.contains("PROTOCOL_ANOMALY") {
                "protocol_violation"
            } else {
                return None;
            }
        }
    };
    Some(kind)
}

/// The attack type of a CRS rule from its id range, for matches without tags.
fn kind_of_rule(rule_id: &str) -> Option<&'static str> {
    let family = rule_id.get(..3)?;
    let kind = match family {
        "913" => "scanner",
        "920" | "921" => "protocol_violation",
        "922" => "multipart_attack",
        "930" => "local_file_inclusion",
        "931" => "remote_file_inclusion",
        "932" => "remote_code_execution",
        "933" => "php_injection",
        "934" => "nodejs_injection",
        "941" => "xss",
        "942" => "sql_injection",
        "943" => "session_fixation",
        "944" => "java_injection",
        "950" | "951" | "952" | "953" | "954" | "955" | "956" => "information_disclosure",
        _ => return None,
    };
    Some(kind)
}

/// Kinds that describe circumstances rather than an attack technique; any technique beats them.
const WEAK_KINDS: &[&str] = &["generic", "protocol_violation", "scanner", "bad_reputation"];

fn kind_of(m: &Match) -> Option<&'static str> {
    let from_tags = m
        .tags
        .iter()
        .filter_map(|t| kind_of_tag(t))
        .fold(None, |best, k| match best {
            Some(b) if !WEAK_KINDS.contains(&b) => Some(b),
            _ => Some(k),
        });
    from_tags.or_else(|| m.rule_id.as_deref().and_then(kind_of_rule))
}

fn finding(event: &mut Event, view: &View<'_>) {
    event.set_parsed(ID, EventClass::DetectionFinding, 1);
    event.activity = view.method.clone();

    // Vote: the technique named by most matches; ties go to the earlier one. Weak kinds count
    // only when no technique was seen, in the order scanner, protocol, generic.
    let mut votes: Vec<(&'static str, usize, usize)> = Vec::new();
    for (i, m) in view.matches.iter().enumerate() {
        if is_scoring(m.rule_id.as_deref()) {
            continue;
        }
        if let Some(kind) = kind_of(m) {
            match votes.iter_mut().find(|(k, _, _)| *k == kind) {
                Some(entry) => entry.1 += 1,
                None => votes.push((kind, 1, i)),
            }
        }
    }
    let strong = votes
        .iter()
        .filter(|(k, _, _)| !WEAK_KINDS.contains(k))
        .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
        .copied();
    let chosen = strong.or_else(|| {
        ["scanner", "bad_reputation", "protocol_violation", "generic"]
            .iter()
            .find_map(|weak| votes.iter().find(|(k, _, _)| k == weak).copied())
    });
    let lead = match chosen {
        Some((kind, _, _)) => view
            .matches
            .iter()
            .find(|m| !is_scoring(m.rule_id.as_deref()) && kind_of(m) == Some(kind)),
        None => view
            .matches
            .iter()
            .find(|m| !is_scoring(m.rule_id.as_deref())),
    }
    .or_else(|| view.matches.first());

    event.attack_type = chosen.map(|(k, _, _)| k.to_owned());
    if let Some(lead) = lead {
        let category = lead
            .tags
            .iter()
            .find(|t| kind_of_tag(t).is_some() && t.starts_with("attack-"))
            .cloned();
        let detection = event.detection_mut();
        detection.rule_uid = lead.rule_id.clone();
        detection.title = lead.msg.clone();
        detection.category = category;
        event.feature = lead.rule_id.clone();
        event.message = lead.msg.clone();
    }
    event.severity = view.matches.iter().filter_map(|m| m.severity).max();
    let denied =
        view.intercepted || view.status == Some(403) || view.matches.iter().any(|m| m.denied);
    event.action = Some(if denied {
        Action::Denied
    } else if view.detection_only {
        Action::Observed
    } else {
        Action::Allowed
    });
    let ids: Vec<Value> = view
        .matches
        .iter()
        .filter_map(|m| m.rule_id.clone().map(Value::String))
        .collect();
    event
        .unmapped
        .insert("rule_ids".to_owned(), Value::Array(ids));
}

/// A request header by name, without regard to case.
fn header<'a>(headers: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_messages_are_read_item_by_item() {
        let m = v2_match(
            r#"Access denied with code 403 (phase 2). Operator GE matched 5 at TX:anomaly_score. [file "/x.conf"] [line "94"] [id "949110"] [msg "Inbound \"Anomaly\" Score"] [severity "CRITICAL"] [tag "attack-generic"] [tag "x"]"#,
        );
        assert!(m.denied);
        assert_eq!(m.rule_id.as_deref(), Some("949110"));
        assert_eq!(m.msg.as_deref(), Some(r#"Inbound "Anomaly" Score"#));
        assert_eq!(m.severity, Some(Severity::Critical));
        assert_eq!(m.tags, ["attack-generic", "x"]);
        let broken = v2_match(r#"Warning. [id "1"] [msg "unterminated"#);
        assert_eq!(broken.rule_id.as_deref(), Some("1"));
        assert_eq!(broken.msg, None);
    }

    #[test]
    fn rule_ranges_and_tags_name_attacks() {
        assert_eq!(kind_of_rule("942100"), Some("sql_injection"));
        assert_eq!(kind_of_rule("9"), None);
        assert_eq!(kind_of_tag("attack-rce"), Some("remote_code_execution"));
        assert_eq!(
            kind_of_tag("OWASP_CRS/WEB_ATTACK/SQL_INJECTION"),
            Some("sql_injection")
        );
        assert_eq!(kind_of_tag("paranoia-level/1"), None);
    }
}
