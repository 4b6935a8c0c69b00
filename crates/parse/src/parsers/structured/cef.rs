//! ArcSight Common Event Format (CEF):
//! `CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension`.
//!
//! The header's fields may contain `\|` and `\\`; the extension is `key=value` pairs separated by
//! spaces, where values may contain spaces and escape `\=`, `\\`, `\n` and `\r`. A key starts
//! after a space and ends at an unescaped `=`, so a value runs until the space before the next
//! key. Scanning is by hand, in one pass over the bytes.
//!
//! CEF usually arrives inside syslog, where the registry sees the message after the header, so
//! the parser is registered for the prefix `CEF:`. Some senders write `CEF: 0|...`, which an
//! RFC 3164 reader takes for a `CEF` tag followed by `0|...`; the parser is therefore also
//! registered for the program name `CEF`.
//!
//! Class: a Network Activity when the device reports an allow/deny decision on a connection with
//! at most High severity; otherwise a Detection Finding when the severity is Medium or above; an
//! HTTP Activity for a request; a Network Activity for a connection; a Base event for the rest.
//! Field reference: "Micro Focus Security ArcSight Common Event Format" (Implementation Standard,
//! revision 25).

use std::borrow::Cow;

use serde_json::Value;
use shieldwall_core::{
    Event, EventClass, Severity,
    event::{Action, Connection, Status},
};

use super::common::{self, Budget, put_str, put_text};
use crate::registry::{Message, TextParser};

/// The parser id.
pub const ID: &str = "cef";

/// The most extension pairs read from one record.
const MAX_PAIRS: usize = 512;

/// CEF, registered under the prefix `CEF:` and the program name `CEF`.
#[derive(Debug, Default)]
pub struct Cef;

/// A parsed CEF record: header fields and extension pairs, unescaped. Fields borrow from the
/// text; only a field that had escapes is a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CefRecord<'a> {
    /// The format version (`0` or `1`).
    pub version: &'a str,
    /// Device vendor, product and version, signature id, name and severity, in header order.
    pub header: [Cow<'a, str>; 6],
    /// Extension pairs in order, values unescaped.
    pub extension: Vec<(&'a str, Cow<'a, str>)>,
}

impl CefRecord<'_> {
    /// The first value of an extension key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.extension
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty())
    }
}

/// Parses the text after `CEF:` (`0|Vendor|Product|...`). `None` unless the version and all six
/// header fields are there.
pub fn parse_record(body: &str) -> Option<CefRecord<'_>> {
    let bytes = body.as_bytes();
    let mut fields: [Cow<'_, str>; 7] = Default::default();
    let mut count = 0;
    // The current field, once it has had an escape.
    let mut escaped: Option<String> = None;
    let mut start = 0;
    let mut i = 0;
    let mut rest = None;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if matches!(bytes.get(i + 1), Some(b'|' | b'\\')) => {
                let current = escaped.get_or_insert_with(String::new);
                current.push_str(body.get(start..i)?);
                current.push(char::from(*bytes.get(i + 1)?));
                i += 2;
                start = i;
            }
            b'|' => {
                *fields.get_mut(count)? = field(escaped.take(), body.get(start..i)?);
                count += 1;
                i += 1;
                start = i;
                if count == 7 {
                    rest = Some(i);
                    break;
                }
            }
            _ => i += 1,
        }
    }
    let extension_text = match rest {
        Some(at) => body.get(at..)?,
        None => {
            // Seven fields without a trailing pipe: the last runs to the end, no extension.
            if count != 6 {
                return None;
            }
            *fields.get_mut(count)? = field(escaped.take(), body.get(start..)?);
            ""
        }
    };
    let [
        version,
        vendor,
        product,
        version_field,
        signature,
        name,
        severity,
    ] = fields;
    // A version with an escape in it is not digits.
    let Cow::Borrowed(version) = version else {
        return None;
    };
    let version = version.trim();
    if version.is_empty() || version.len() > 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(CefRecord {
        version,
        header: [vendor, product, version_field, signature, name, severity],
        extension: extension(extension_text),
    })
}

/// A header field: the text since the last escape, after what came before it.
fn field<'a>(escaped: Option<String>, tail: &'a str) -> Cow<'a, str> {
    match escaped {
        Some(mut text) => {
            text.push_str(tail);
            Cow::Owned(text)
        }
        None => Cow::Borrowed(tail),
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']')
}

/// The extension's `key=value` pairs, borrowed from `s` unless a value had escapes.
pub fn extension(s: &str) -> Vec<(&str, Cow<'_, str>)> {
    let bytes = s.as_bytes();
    // Positions of keys: (key start, index of its '=').
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'=' => {
                let mut ks = i;
                while ks > 0 && bytes.get(ks - 1).copied().is_some_and(is_key_byte) {
                    ks -= 1;
                }
                let after_space = ks == 0 || bytes.get(ks - 1) == Some(&b' ');
                if ks < i && after_space {
                    keys.push((ks, i));
                    if keys.len() >= MAX_PAIRS {
                        break;
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    let mut pairs = Vec::with_capacity(keys.len());
    for (n, &(ks, eq)) in keys.iter().enumerate() {
        let value_start = eq + 1;
        let value_end = match keys.get(n + 1) {
            Some(&(next, _)) => next.saturating_sub(1).max(value_start),
            None => bytes.len(),
        };
        let (Some(key), Some(raw)) = (s.get(ks..eq), s.get(value_start..value_end)) else {
            continue;
        };
        pairs.push((key, unescape(raw.trim_end())));
    }
    pairs
}

/// Undoes the extension escapes `\=`, `\\`, `\|`, `\n`, `\r`; other backslashes are kept.
fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('=') => out.push('='),
            Some('\\') => out.push('\\'),
            Some('|') => out.push('|'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// CEF severity: 0-10, or `Low`, `Medium`, `High`, `Very-High` (`Unknown` has none).
fn severity(s: &str) -> Option<Severity> {
    match common::unsigned_str(s) {
        Some(n) => common::severity_ten(n),
        None => common::severity_word(s),
    }
}

impl TextParser for Cef {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        let text = message.text.trim_start();
        let body = match text.strip_prefix("CEF:") {
            Some(body) => body,
            None if message
                .program
                .is_some_and(|p| p.eq_ignore_ascii_case("CEF")) =>
            {
                text
            }
            None => return false,
        };
        let Some(record) = parse_record(body) else {
            return false;
        };
        fill(&record, message, event);
        keep_fields(record, message, event);
        true
    }
}

/// The extension keys copied into normalised fields, kept in `vendor` as well.
fn fill(r: &CefRecord<'_>, message: &Message<'_>, event: &mut Event) {
    let [vendor, product, version, signature, name, sev] = &r.header;
    let ext = |k: &str| r.get(k);

    // Facts used to choose the class.
    let severity = severity(sev);
    let action = ext("act")
        .and_then(|a| a.split_whitespace().next())
        .and_then(common::action_word);
    let src_ip = ext("src").or_else(|| ext("sourceAddress"));
    let dst_ip = ext("dst").or_else(|| ext("destinationAddress"));
    let has_connection = src_ip.is_some() && dst_ip.is_some();
    let request = ext("request");
    let method = ext("requestMethod");
    let severe = severity.is_some_and(|s| s >= Severity::Medium);
    let decision = matches!(action, Some(Action::Allowed | Action::Denied));

    let class = if has_connection && decision && severity.is_none_or(|s| s <= Severity::High) {
        let activity = if action == Some(Action::Denied) { 5 } else { 6 };
        (EventClass::NetworkActivity, activity)
    } else if severe {
        (EventClass::DetectionFinding, 1)
    } else if request.is_some() || method.is_some() {
        (
            EventClass::HttpActivity,
            method.map_or(99, common::http_activity),
        )
    } else if has_connection {
        (EventClass::NetworkActivity, 6)
    } else {
        (EventClass::Base, 0)
    };
    event.set_parsed(ID, class.0, class.1);
    event.set_product(vendor, product);
    if let Some(p) = event.product.as_mut()
        && !version.is_empty()
    {
        p.version = Some(version.to_string());
    }
    event.severity = severity;
    event.action = action;
    event.feature = (!signature.is_empty()).then(|| signature.to_string());
    event.message = ext("msg")
        .map(str::to_owned)
        .or_else(|| (!name.is_empty()).then(|| name.to_string()));
    event.activity = ext("act").map(str::to_owned);
    event.status = ext("outcome").and_then(common::status_word);
    event.status_detail = ext("reason").map(str::to_owned);
    if class.0 == EventClass::DetectionFinding {
        let category = ext("cat").map(str::to_owned);
        let detection = event.detection_mut();
        detection.rule_uid = (!signature.is_empty()).then(|| signature.to_string());
        detection.title = (!name.is_empty()).then(|| name.to_string());
        detection.category = category;
        event.attack_type = common::attack_from_text(name)
            .or_else(|| ext("cat").and_then(common::attack_from_text))
            .map(str::to_owned);
    }

    // Time: receipt time at the device, else end, else start.
    let time = [
        "rt",
        "end",
        "start",
        "deviceReceiptTime",
        "endTime",
        "startTime",
    ]
    .iter()
    .find_map(|k| ext(k).and_then(|t| common::parse_time(t, message.context)));
    common::set_time(event, time);

    // Endpoints.
    if let Some(ip) = src_ip {
        event.src().ip = Some(ip.to_owned());
    }
    if let Some(p) = ext("spt").and_then(common::port_str) {
        event.src().port = Some(p);
    }
    if let Some(h) = ext("shost") {
        event.src().hostname = Some(h.to_owned());
    }
    if let Some(ip) = dst_ip {
        event.dst().ip = Some(ip.to_owned());
    }
    if let Some(p) = ext("dpt").and_then(common::port_str) {
        event.dst().port = Some(p);
    }
    if let Some(h) = ext("dhost") {
        event.dst().hostname = Some(h.to_owned());
    }
    if let Some(h) = ext("dvchost") {
        event.device.get_or_insert_with(Default::default).hostname = Some(h.to_owned());
    }
    if let Some(ip) = ext("dvc") {
        event.device.get_or_insert_with(Default::default).ip = Some(ip.to_owned());
    }
    let proto = ext("proto").or_else(|| ext("app"));
    let bytes_in = ext("in").and_then(common::unsigned_str);
    let bytes_out = ext("out").and_then(common::unsigned_str);
    if proto.is_some() || bytes_in.is_some() || bytes_out.is_some() {
        let connection = event.connection.get_or_insert_with(Connection::default);
        connection.protocol = proto.map(common::protocol);
        if bytes_in.is_some() || bytes_out.is_some() {
            connection.bytes = Some(bytes_in.unwrap_or(0).saturating_add(bytes_out.unwrap_or(0)));
        }
    }

    // Users and processes.
    if let Some(u) = ext("suser") {
        event.actor_user().name = Some(u.to_owned());
    }
    if let Some(u) = ext("suid") {
        event.actor_user().uid = Some(u.to_owned());
    }
    if let Some(d) = ext("sntdom") {
        event.actor_user().domain = Some(d.to_owned());
    }
    if let Some(u) = ext("duser") {
        event.target_user().name = Some(u.to_owned());
    }
    if let Some(u) = ext("duid") {
        event.target_user().uid = Some(u.to_owned());
    }
    if let Some(d) = ext("dntdom") {
        event.target_user().domain = Some(d.to_owned());
    }
    if let Some(p) = ext("sproc") {
        event.actor_process().name = Some(p.to_owned());
    }
    if let Some(pid) = ext("spid")
        .and_then(common::unsigned_str)
        .and_then(|p| u32::try_from(p).ok())
    {
        event.actor_process().pid = Some(pid);
    }
    event.file = ext("filePath").or_else(|| ext("fname")).map(str::to_owned);

    // HTTP.
    if request.is_some() || method.is_some() {
        let http = event.http_mut();
        http.url = request.map(str::to_owned);
        http.method = method.map(str::to_owned);
        http.user_agent = ext("requestClientApplication").map(str::to_owned);
        http.referrer = ext("requestContext").map(str::to_owned);
    }
    if class.0 == EventClass::HttpActivity {
        event.activity = method.map(str::to_owned).or(event.activity.take());
    }

    event.target = if let Some(u) = ext("duser") {
        Some(format!("user:{u}"))
    } else if let Some(f) = event.file.as_deref() {
        Some(format!("file:{f}"))
    } else if let Some(url) = request {
        Some(format!("url:{url}"))
    } else if let Some(h) = ext("dhost") {
        Some(format!("host:{h}"))
    } else {
        dst_ip.map(|ip| format!("ip:{ip}"))
    };
    if event.status.is_none() && class.0 == EventClass::NetworkActivity {
        event.status = match action {
            Some(Action::Allowed) => Some(Status::Success),
            Some(Action::Denied) => Some(Status::Failure),
            _ => None,
        };
    }
}

/// The original fields: custom values under their labels (`cs1Label=Virus Name`) in `unmapped`,
/// the header under the names CEF gives them and the extension as-is in `vendor`. A pair is
/// copied once, into its entry, and only when it is kept.
fn keep_fields(r: CefRecord<'_>, message: &Message<'_>, event: &mut Event) {
    for (key, label) in &r.extension {
        if let Some(field) = key.strip_suffix("Label")
            && !label.is_empty()
            && let Some(value) = r.get(field)
            && event.unmapped.len() < 64
        {
            event
                .unmapped
                .insert(label.to_string(), Value::String(value.to_owned()));
        }
    }
    let mut budget = Budget::for_text(message.text);
    put_str(event, &mut budget, "cefVersion", r.version);
    let names = [
        "deviceVendor",
        "deviceProduct",
        "deviceVersion",
        "deviceEventClassId",
        "name",
        "severity",
    ];
    for (key, value) in names.into_iter().zip(r.header) {
        put_text(event, &mut budget, key, value);
    }
    for (key, value) in r.extension {
        put_text(event, &mut budget, key, value);
    }
    budget.finish(event);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_escapes_and_missing_extension() {
        let r =
            parse_record(r"0|security|threatmanager|1.0|100|detected a \| in message|10|").unwrap();
        assert_eq!(r.header[4], "detected a | in message");
        assert!(r.extension.is_empty());
        let r = parse_record(r"0|A|B|C|D|E\\F|G").unwrap();
        assert_eq!(r.header[4], r"E\F");
        assert_eq!(r.header[5], "G");
        assert!(parse_record("0|A|B|C|D|E").is_none());
        assert!(parse_record("x|A|B|C|D|E|F|").is_none());
    }

    #[test]
    fn extension_values_with_spaces_escapes_and_empty_values() {
        let pairs = extension(
            r"src=10.0.0.1 act=blocked a \= b msg=line1\nline2 cs3= cs3Label=CVE ID fp=C:\\dir\\f",
        );
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.as_ref())
        };
        assert_eq!(get("src"), Some("10.0.0.1"));
        assert_eq!(get("act"), Some("blocked a = b"));
        assert_eq!(get("msg"), Some("line1\nline2"));
        assert_eq!(get("cs3"), Some(""));
        assert_eq!(get("cs3Label"), Some("CVE ID"));
        assert_eq!(get("fp"), Some(r"C:\dir\f"));
        // An '=' not preceded by a space-started key belongs to the value.
        let pairs = extension("request=http://h/?a=b&c=d dpt=80");
        assert_eq!(pairs[0], ("request", "http://h/?a=b&c=d".into()));
        assert_eq!(pairs[1], ("dpt", "80".into()));
    }
}
