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

use std::borrow::Cow;

use serde_json::{Map, Value};
use shieldwall_core::{Event, EventClass, Severity, event::Action};

use super::common::{
    self, Budget, at, contains_ignore_case, http_activity, http_status, letter_set, port, str_at,
    text_ref, time_value,
};
use crate::registry::{JsonParser, Message};

/// The parser id.
pub const ID: &str = "modsecurity-audit";

/// The most rule matches read from one record.
const MAX_MATCHES: usize = 256;

/// ModSecurity v2/v3 and Coraza JSON audit records, registered under the key `transaction`.
#[derive(Debug, Default)]
pub struct ModSecurity;

/// One rule match, whatever the shape it came from, borrowing from the record.
#[derive(Debug, Default)]
struct Match<'a> {
    rule_id: Option<Cow<'a, str>>,
    msg: Option<Cow<'a, str>>,
    severity: Option<Severity>,
    tags: Vec<&'a str>,
    denied: bool,
    /// The attack type the match names (see [`kind_of`]), worked out once.
    kind: Option<&'static str>,
}

impl<'a> Match<'a> {
    /// Works out the attack type once the match is read.
    fn with_kind(mut self) -> Match<'a> {
        self.kind = kind_of(&self);
        self
    }

    fn is_scoring(&self) -> bool {
        is_scoring(self.rule_id.as_deref())
    }
}

impl JsonParser for ModSecurity {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, o: &mut Map<String, Value>, message: &Message<'_>, event: &mut Event) -> bool {
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
        http.method = view.method.map(str::to_owned);
        http.url = view.uri.map(str::to_owned);
        http.version = view.version.as_deref().map(str::to_owned);
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
        if let (Some(p), Some(version)) = (event.product.as_mut(), view.producer) {
            p.version = Some(version.to_owned());
        }
        event.status = view.status.and_then(http_status);
        if let Some(uri) = view.uri {
            event.target = Some(format!("url:{}", common::url_path(uri)));
        }

        if view.matches.is_empty() {
            let method = view.method.unwrap_or("");
            event.set_parsed(ID, EventClass::HttpActivity, http_activity(method));
            event.activity = view.method.map(str::to_owned);
        } else {
            finding(event, &view);
        }
        // The view borrows the record; what the event needs of it has been copied.
        drop(view);

        let mut budget = Budget::for_text(message.text);
        common::keep_object(event, &mut budget, o);
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
    method: Option<&'a str>,
    uri: Option<&'a str>,
    version: Option<Cow<'a, str>>,
    status: Option<u16>,
    request_headers: Option<&'a Map<String, Value>>,
    producer: Option<&'a str>,
    coraza: bool,
    detection_only: bool,
    intercepted: bool,
    matches: Vec<Match<'a>>,
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
            .any(|s| contains_ignore_case(s, "coraza"))
    }) || tx.contains_key("unix_timestamp");
    let engine = producer
        .and_then(|p| p.get("secrules_engine").or_else(|| p.get("rule_engine")))
        .and_then(Value::as_str)
        .unwrap_or("");
    let version = request
        .and_then(|r| r.get("http_version"))
        .and_then(|v| match v {
            Value::Number(n) => Some(Cow::Owned(format!("HTTP/{n}"))),
            Value::String(s) if s.starts_with("HTTP") => Some(Cow::Borrowed(s.as_str())),
            Value::String(s) if !s.is_empty() => Some(Cow::Owned(format!("HTTP/{s}"))),
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
        method: request.and_then(|r| str_at(r, &["method"])),
        uri: request.and_then(|r| str_at(r, &["uri"])),
        version,
        status: response
            .and_then(|r| r.get("http_code").or_else(|| r.get("status")))
            .and_then(port),
        request_headers: request
            .and_then(|r| r.get("headers"))
            .and_then(Value::as_object),
        producer: producer_text,
        coraza,
        detection_only: engine.eq_ignore_ascii_case("DetectionOnly"),
        intercepted: false,
        matches,
    }
}

fn v3_match(m: &Value) -> Option<Match<'_>> {
    let m = m.as_object()?;
    let details = m
        .get("details")
        .or_else(|| m.get("data"))
        .and_then(Value::as_object);
    let field = |names: &[&str]| {
        details
            .and_then(|d| names.iter().find_map(|n| d.get(*n)))
            .and_then(text_ref)
    };
    let tags = details
        .and_then(|d| d.get("tags"))
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).take(32).collect())
        .unwrap_or_default();
    Some(
        Match {
            rule_id: field(&["ruleId", "id"]),
            msg: str_at(m, &["message"])
                .map(Cow::Borrowed)
                .or_else(|| field(&["msg"])),
            severity: field(&["severity"]).as_deref().and_then(modsec_severity),
            tags,
            denied: false,
            kind: None,
        }
        .with_kind(),
    )
}

fn v2_view<'a>(o: &'a Map<String, Value>, tx: &'a Map<String, Value>) -> View<'a> {
    let request = o.get("request").and_then(Value::as_object);
    let response = o.get("response").and_then(Value::as_object);
    let audit = o.get("audit_data").and_then(Value::as_object);
    let line = request
        .and_then(|r| str_at(r, &["request_line"]))
        .unwrap_or("");
    let mut parts = line.split(' ');
    let method = parts.next().filter(|m| !m.is_empty());
    let uri = parts.next().filter(|u| !u.is_empty());
    let version = parts.next().filter(|v| !v.is_empty()).map(Cow::Borrowed);
    let producer = audit.and_then(|a| a.get("producer")).and_then(|p| match p {
        Value::Array(items) => items.first().and_then(Value::as_str),
        Value::String(s) => Some(s.as_str()),
        _ => None,
    });
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
fn v2_match(s: &str) -> Match<'_> {
    let bytes = s.as_bytes();
    let mut m = Match {
        denied: s.starts_with("Access denied")
            || memchr::memmem::find(bytes, b". Access denied").is_some(),
        ..Match::default()
    };
    let mut at = 0;
    let mut items = 0;
    while let Some(open) = bytes
        .get(at..)
        .and_then(|rest| memchr::memchr(b'[', rest))
        .map(|i| at + i)
    {
        items += 1;
        if items > 64 {
            break;
        }
        // `[name "`: one to sixteen letters, a space and a quote.
        let name_start = open + 1;
        let name_len = bytes.get(name_start..).map_or(0, |rest| {
            rest.iter()
                .take(17)
                .take_while(|b| b.is_ascii_alphabetic())
                .count()
        });
        let value_start = name_start + name_len + 2;
        if name_len == 0
            || name_len > 16
            || bytes.get(name_start + name_len..value_start) != Some(b" \"".as_slice())
        {
            at = name_start;
            continue;
        }
        let Some(end) = value_end(bytes, value_start) else {
            break;
        };
        let name = s.get(name_start..name_start + name_len).unwrap_or("");
        let value = s.get(value_start..end).unwrap_or("");
        match name {
            "id" => m.rule_id = Some(Cow::Borrowed(value)),
            "msg" if value.contains("\\\"") => {
                m.msg = Some(Cow::Owned(value.replace("\\\"", "\"")));
            }
            "msg" => m.msg = Some(Cow::Borrowed(value)),
            "severity" => m.severity = modsec_severity(value),
            "tag" if m.tags.len() < 32 => m.tags.push(value),
            _ => {}
        }
        at = end + 2;
    }
    m.with_kind()
}

/// Where a `[name "value"]` value that starts at `start` ends: the next `"]` whose quote is not
/// escaped by a backslash.
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    loop {
        let found = i + memchr::memchr2(b'\\', b'"', bytes.get(i..)?)?;
        if bytes.get(found) == Some(&b'\\') {
            i = found + 2;
        } else if bytes.get(found + 1) == Some(&b']') {
            return Some(found);
        } else {
            i = found + 1;
        }
    }
}

/// ModSecurity severities: 0 EMERGENCY to 7 DEBUG, as numbers or names.
fn modsec_severity(s: &str) -> Option<Severity> {
    const LEVELS: &[(&str, u8)] = &[
        ("0", 2),
        ("EMERGENCY", 2),
        ("1", 2),
        ("ALERT", 2),
        ("2", 2),
        ("CRITICAL", 2),
        ("3", 3),
        ("ERROR", 3),
        ("4", 4),
        ("WARNING", 4),
        ("5", 5),
        ("NOTICE", 5),
        ("6", 6),
        ("INFO", 6),
        ("7", 6),
        ("DEBUG", 6),
    ];
    let s = s.trim();
    let level = LEVELS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(s))
        .map(|(_, level)| *level)?;
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
    const TAGS: &[(&str, &str)] = &[
        ("attack-sqli", "sql_injection"),
        ("attack-xss", "xss"),
        ("attack-rce", "remote_code_execution"),
        ("attack-lfi", "local_file_inclusion"),
        ("attack-rfi", "remote_file_inclusion"),
        ("attack-injection-php", "php_injection"),
        ("attack-injection-java", "java_injection"),
        ("attack-java", "java_injection"),
        ("attack-injection-nodejs", "nodejs_injection"),
        ("attack-nodejs", "nodejs_injection"),
        ("attack-injection-ruby", "ruby_injection"),
        ("attack-injection-generic", "injection"),
        ("attack-fixation", "session_fixation"),
        ("attack-ssrf", "ssrf"),
        ("attack-dos", "denial_of_service"),
        ("attack-disclosure", "information_disclosure"),
        ("attack-multipart", "multipart_attack"),
        ("attack-multipart-header", "multipart_attack"),
        ("attack-protocol", "protocol_violation"),
        ("attack-reputation-scanner", "scanner"),
        ("attack-scanner", "scanner"),
        ("scanner", "scanner"),
        ("attack-reputation-ip", "bad_reputation"),
        ("attack-generic", "generic"),
    ];
    // Every tag of the table is `attack-...` or `scanner`: others need not be looked up.
    let maybe_listed = tag
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("attack-") || p.eq_ignore_ascii_case("scanner"));
    if maybe_listed && let Some((_, kind)) = TAGS.iter().find(|(t, _)| t.eq_ignore_ascii_case(tag))
    {
        return Some(kind);
    }
    // CRS 2 tags: OWASP_CRS/WEB_ATTACK/SQL_INJECTION and friends, matched anywhere in the tag.
    // A word is only searched for when the tag has all of its letters (most CRS 3 tags, such
    // as `capec/1000/152/248/66` or `paranoia-level/1`, have none of the words' letter sets).
    let letters = letter_set(tag.as_bytes());
    CRS2.iter()
        .find(|(word, _, set)| letters & set == *set && contains_ignore_case(tag, word))
        .map(|(_, kind, _)| *kind)
}

/// The CRS 2 words, in order of precedence, with their kinds and letter sets.
const CRS2: [(&str, &str, u64); 9] = [
    crs2("SQL_INJECTION", "sql_injection"),
    crs2("/XSS", "xss"),
    crs2("COMMAND_INJECTION", "remote_code_execution"),
    crs2("DIR_TRAVERSAL", "local_file_inclusion"),
    crs2("FILE_INJECTION", "local_file_inclusion"),
    crs2("RFI", "remote_file_inclusion"),
    crs2("SECURITY_SCANNER", "scanner"),
    crs2("PROTOCOL_VIOLATION", "protocol_violation"),
    crs2("PROTOCOL_ANOMALY", "protocol_violation"),
];

const fn crs2(word: &'static str, kind: &'static str) -> (&'static str, &'static str, u64) {
    (word, kind, letter_set(word.as_bytes()))
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

fn kind_of(m: &Match<'_>) -> Option<&'static str> {
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
    event.activity = view.method.map(str::to_owned);

    // Vote: the technique named by most matches; ties go to the earlier one. Weak kinds count
    // only when no technique was seen, in the order scanner, protocol, generic.
    let mut votes: Vec<(&'static str, usize, usize)> = Vec::new();
    for (i, m) in view.matches.iter().enumerate() {
        if m.is_scoring() {
            continue;
        }
        if let Some(kind) = m.kind {
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
            .find(|m| !m.is_scoring() && m.kind == Some(kind)),
        None => view.matches.iter().find(|m| !m.is_scoring()),
    }
    .or_else(|| view.matches.first());

    event.attack_type = chosen.map(|(k, _, _)| k.to_owned());
    if let Some(lead) = lead {
        let category = lead
            .tags
            .iter()
            .find(|t| t.starts_with("attack-") && kind_of_tag(t).is_some())
            .map(|t| (*t).to_owned());
        let rule_id = lead.rule_id.as_deref().map(str::to_owned);
        let msg = lead.msg.as_deref().map(str::to_owned);
        let detection = event.detection_mut();
        detection.rule_uid.clone_from(&rule_id);
        detection.title.clone_from(&msg);
        detection.category = category;
        event.feature = rule_id;
        event.message = msg;
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
        .filter_map(|m| m.rule_id.as_deref().map(|id| Value::String(id.to_owned())))
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
        // Brackets in free text and values, names that are not items, escapes at the end.
        let m = v2_match(
            r#"Matched "[a-z]+" at ARGS. [file "/x.conf"] [bad-name "x"] [data "a \"]\" b"] [id "942100"] [tag "x\\"] [tag "y"] [msg "m\"#,
        );
        assert!(!m.denied);
        assert_eq!(m.rule_id.as_deref(), Some("942100"));
        assert_eq!(m.tags, [r"x\\", "y"]);
        assert_eq!(m.msg, None);
        assert!(v2_match("Warning. Access denied").denied);
        assert!(!v2_match("Warning. access denied").denied);
        assert_eq!(v2_match(r#"[id "7"]"#).rule_id.as_deref(), Some("7"));
        assert_eq!(v2_match(r#"[id "7"]x"#).rule_id.as_deref(), Some("7"));
        assert_eq!(
            v2_match(r#"[idx"7"] [id "8"]"#).rule_id.as_deref(),
            Some("8")
        );
        assert_eq!(
            v2_match(r#"[abcdefghijklmnopq "7"] [id "9"]"#)
                .rule_id
                .as_deref(),
            Some("9")
        );
        assert_eq!(v2_match(r#"[id "\"]"#).rule_id, None);
        assert_eq!(v2_match(r#"[id ""]"#).rule_id.as_deref(), Some(""));
    }

    #[test]
    fn crs2_words_are_found_anywhere_without_regard_to_case() {
        assert!(contains_ignore_case(
            "owasp_crs/web_attack/sql_injection",
            "SQL_INJECTION"
        ));
        assert!(contains_ignore_case("RFI", "RFI"));
        assert!(contains_ignore_case("x/rfi", "RFI"));
        assert!(!contains_ignore_case("RF", "RFI"));
        assert!(!contains_ignore_case("R-F-I", "RFI"));
        assert!(contains_ignore_case("anything", ""));
        assert_eq!(
            kind_of_tag("owasp_crs/web_attack/rfi"),
            Some("remote_file_inclusion")
        );
        assert_eq!(kind_of_tag("ATTACK-SQLI"), Some("sql_injection"));
        assert_eq!(kind_of_tag("WEB_ATTACK/XSS"), Some("xss"));
        assert_eq!(kind_of_tag("capec/1000/152/248/66"), None);
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
