//! IBM QRadar Log Event Extended Format (LEEF) 1.0 and 2.0:
//! `LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value...` and
//! `LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|key=value<D>key=value...`.
//!
//! The LEEF 2.0 delimiter is one character (`^`) or its code in hexadecimal (`x09`, `0x5E`,
//! `\x7C`); when it is left out the attributes are tab-separated, as in LEEF 1.0. A syslog relay
//! that escapes control characters turns the tab into `#011`, which is accepted too. The
//! predefined attributes (`src`, `dst`, `srcPort`, `dstPort`, `usrName`, `sev`, `cat`, `proto`,
//! `devTime` with `devTimeFormat`, `isLoginEvent`, ...) are mapped; every attribute is kept in
//! [`Event::vendor`] under its own name. Field reference: IBM "Log Event Extended Format (LEEF)"
//! guide, "LEEF event components" and "Predefined LEEF event attributes".

use std::borrow::Cow;

use shieldwall_core::{
    Event, EventClass, Severity,
    event::{Connection, Status},
};

use super::common::{self, Budget, put_str};
use crate::registry::{Message, TextParser};

/// The parser id.
pub const ID: &str = "leef";

/// The most attributes read from one record.
const MAX_ATTRIBUTES: usize = 512;

/// LEEF, registered under the prefix `LEEF:` and the program name `LEEF`.
#[derive(Debug, Default)]
pub struct Leef;

/// A parsed LEEF record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeefRecord<'a> {
    /// `1.0` or `2.0`.
    pub version: &'a str,
    /// Vendor, product, product version and event id.
    pub header: [&'a str; 4],
    /// The attribute delimiter that was used.
    pub delimiter: Cow<'a, str>,
    /// The attributes in order.
    pub attributes: Vec<(&'a str, &'a str)>,
}

impl LeefRecord<'_> {
    /// The first non-empty value of an attribute.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty())
    }
}

/// A LEEF 2.0 delimiter field: one character, or a hexadecimal code (`x09`, `0x09`, `\x09`).
fn delimiter_of(field: &str) -> Option<Cow<'_, str>> {
    let mut chars = field.chars();
    if let (Some(_), None) = (chars.next(), chars.next()) {
        return Some(Cow::Borrowed(field));
    }
    let hex = field
        .strip_prefix("0x")
        .or_else(|| field.strip_prefix("0X"))
        .or_else(|| field.strip_prefix("\\x"))
        .or_else(|| field.strip_prefix('x'))
        .or_else(|| field.strip_prefix('X'))?;
    if hex.is_empty() || hex.len() > 4 {
        return None;
    }
    let code = u32::from_str_radix(hex, 16).ok()?;
    char::from_u32(code).map(|c| Cow::Owned(c.to_string()))
}

/// Parses the text after `LEEF:` (`1.0|Vendor|...`).
pub fn parse_record<'a>(body: &'a str) -> Option<LeefRecord<'a>> {
    let mut parts = body.splitn(6, '|');
    let version = parts.next()?.trim();
    if !matches!(version, "1.0" | "2.0" | "1" | "2") {
        return None;
    }
    let vendor = parts.next()?;
    let product = parts.next()?;
    let product_version = parts.next()?;
    let event_id = parts.next()?;
    let mut rest = parts.next().unwrap_or("");
    let mut delimiter = None;
    if version.starts_with('2')
        && let Some((field, after)) = rest.split_once('|')
        && !field.contains('=')
    {
        delimiter = if field.is_empty() {
            Some(Cow::Borrowed("\t"))
        } else {
            delimiter_of(field)
        };
        if delimiter.is_some() {
            rest = after;
        }
    }
    let delimiter = delimiter.unwrap_or_else(|| {
        if !rest.contains('\t') && rest.contains("#011") {
            Cow::Borrowed("#011")
        } else {
            Cow::Borrowed("\t")
        }
    });
    let pair = |pair: &'a str| {
        let (k, v) = pair.split_once('=')?;
        let k = k.trim();
        (!k.is_empty()).then_some((k, v.trim_end_matches(['\r', '\n'])))
    };
    // A one-byte delimiter (the tab, `^`, `|`) is searched for as a byte, not as a string.
    let attributes = match delimiter.as_bytes() {
        [byte] if byte.is_ascii() => rest
            .split(char::from(*byte))
            .filter_map(pair)
            .take(MAX_ATTRIBUTES)
            .collect(),
        _ => rest
            .split(delimiter.as_ref())
            .filter_map(pair)
            .take(MAX_ATTRIBUTES)
            .collect(),
    };
    Some(LeefRecord {
        version,
        header: [vendor, product, product_version, event_id],
        delimiter,
        attributes,
    })
}

/// LEEF `sev`: 1 (lowest) to 10 (highest); 0 is informational.
fn severity(s: &str) -> Option<Severity> {
    match common::unsigned_str(s)? {
        0 => Some(Severity::Info),
        n => common::severity_ten(n),
    }
}

impl TextParser for Leef {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        let text = message.text.trim_start();
        let body = match text.strip_prefix("LEEF:") {
            Some(body) => body,
            None if message
                .program
                .is_some_and(|p| p.eq_ignore_ascii_case("LEEF")) =>
            {
                text
            }
            None => return false,
        };
        let Some(record) = parse_record(body) else {
            return false;
        };
        fill(&record, message, event);
        true
    }
}

fn fill(r: &LeefRecord<'_>, message: &Message<'_>, event: &mut Event) {
    let [vendor, product, version, event_id] = r.header;
    let attr = |k: &str| r.get(k);
    let severity = attr("sev").and_then(severity);
    let src = attr("src");
    let dst = attr("dst");
    let truthy = |k: &str| attr(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));

    let (class, activity) = if truthy("isLoginEvent") {
        (EventClass::Authentication, 1)
    } else if truthy("isLogoutEvent") {
        (EventClass::Authentication, 2)
    } else if severity.is_some_and(|s| s >= Severity::Medium) {
        (EventClass::DetectionFinding, 1)
    } else if src.is_some() && dst.is_some() {
        (EventClass::NetworkActivity, 6)
    } else {
        (EventClass::Base, 0)
    };
    event.set_parsed(ID, class, activity);
    event.set_product(vendor, product);
    if let Some(p) = event.product.as_mut()
        && !version.is_empty()
    {
        p.version = Some(version.to_owned());
    }
    event.severity = severity;
    event.feature = (!event_id.is_empty()).then(|| event_id.to_owned());
    event.message = attr("msg").map(str::to_owned);
    event.action = attr("action").and_then(common::action_word);
    event.activity = attr("action").map(str::to_owned);
    if class == EventClass::DetectionFinding {
        let detection = event.detection_mut();
        detection.rule_uid = (!event_id.is_empty()).then(|| event_id.to_owned());
        detection.category = attr("cat").map(str::to_owned);
        event.attack_type = attr("cat")
            .and_then(common::attack_from_text)
            .or_else(|| common::attack_from_text(event_id))
            .map(str::to_owned);
    }
    if class == EventClass::Authentication {
        event.activity = Some(if activity == 1 { "logon" } else { "logoff" }.to_owned());
    }

    let time = attr("devTime").and_then(|t| match attr("devTimeFormat") {
        Some(pattern) => common::parse_java_time(t, pattern, message.context)
            .or_else(|| common::parse_time(t, message.context)),
        None => common::parse_time(t, message.context),
    });
    common::set_time(event, time);

    if let Some(ip) = src {
        event.src().ip = Some(ip.to_owned());
    }
    if let Some(p) = attr("srcPort").and_then(common::port_str) {
        event.src().port = Some(p);
    }
    if let Some(ip) = dst {
        event.dst().ip = Some(ip.to_owned());
    }
    if let Some(p) = attr("dstPort").and_then(common::port_str) {
        event.dst().port = Some(p);
    }
    if let Some(h) = attr("identHostName") {
        event.src().hostname = Some(h.to_owned());
    }
    let bytes: Option<u64> = match (
        attr("srcBytes").and_then(common::unsigned_str),
        attr("dstBytes").and_then(common::unsigned_str),
    ) {
        (None, None) => attr("totalBytes").and_then(common::unsigned_str),
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    };
    if attr("proto").is_some() || bytes.is_some() {
        let connection = event.connection.get_or_insert_with(Connection::default);
        connection.protocol = attr("proto").map(common::protocol);
        connection.bytes = bytes;
    }
    let user = attr("usrName").or_else(|| attr("accountName"));
    if let Some(u) = user {
        if class == EventClass::Authentication {
            event.target_user().name = Some(u.to_owned());
            event.target = Some(format!("user:{u}"));
        } else {
            event.actor_user().name = Some(u.to_owned());
        }
    }
    if let Some(d) = attr("domain") {
        if class == EventClass::Authentication {
            event.target_user().domain = Some(d.to_owned());
        } else if user.is_some() {
            event.actor_user().domain = Some(d.to_owned());
        }
    }
    if let Some(url) = attr("url") {
        event.http_mut().url = Some(url.to_owned());
        if event.target.is_none() {
            event.target = Some(format!("url:{}", common::url_path(url)));
        }
    }
    if event.target.is_none() {
        event.target = attr("resource")
            .map(|r| format!("resource:{r}"))
            .or_else(|| dst.map(|ip| format!("ip:{ip}")));
    }
    event.status = attr("outcome")
        .or_else(|| attr("result"))
        .or_else(|| attr("status"))
        .and_then(common::status_word)
        .or(match class {
            EventClass::Authentication => Some(Status::Success),
            _ => None,
        });

    let mut budget = Budget::for_text(message.text);
    put_str(event, &mut budget, "leefVersion", r.version);
    for (key, value) in ["vendor", "product", "version", "eventId"]
        .iter()
        .zip(r.header)
    {
        put_str(event, &mut budget, key, value);
    }
    for (key, value) in &r.attributes {
        put_str(event, &mut budget, key, value);
    }
    budget.finish(event);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_of_leef_2() {
        assert_eq!(delimiter_of("^").as_deref(), Some("^"));
        assert_eq!(delimiter_of("x09").as_deref(), Some("\t"));
        assert_eq!(delimiter_of("0x7C").as_deref(), Some("|"));
        assert_eq!(delimiter_of("\\x5e").as_deref(), Some("^"));
        assert_eq!(delimiter_of("xyz"), None);
        let r = parse_record("2.0|V|P|1|E||a=1\tb=2").unwrap();
        assert_eq!(r.attributes, [("a", "1"), ("b", "2")]);
        let r = parse_record("2.0|V|P|1|E|a=1\tb=2").unwrap();
        assert_eq!(r.attributes, [("a", "1"), ("b", "2")]);
        let r = parse_record("1.0|V|P|1|E|a=1#011b=2").unwrap();
        assert_eq!(r.attributes, [("a", "1"), ("b", "2")]);
        assert!(parse_record("3.0|V|P|1|E|a=1").is_none());
        assert!(parse_record("1.0|V|P").is_none());
    }
}
