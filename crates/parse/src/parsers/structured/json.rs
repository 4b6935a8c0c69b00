//! Generic JSON: any object no specific parser took. Its top-level fields are moved into
//! [`Event::vendor`] under their names, nested objects as they are (bounded; see
//! [`common`](super::common)), and the few facts most JSON logs state under
//! well-known names are lifted out: the time (`@timestamp`, `timestamp`, `time`, `ts`,
//! `eventTime`, epoch numbers), the message (`message`, `msg`), the severity (`level`,
//! `severity`, as words or syslog/bunyan numbers), addresses and ports (`src_ip`, `source.ip`,
//! `client_ip`, `dest_ip`, ...) and the user.

use serde_json::{Map, Value};
use shieldwall_core::{Event, EventClass, Severity};

use super::common::{self, Budget, at, port, time_value};
use crate::registry::{JsonParser, Message};

/// The parser id.
pub const ID: &str = "json";

/// Generic JSON, registered as the registry's JSON parser of last resort.
#[derive(Debug, Default)]
pub struct GenericJson;

const TIME_KEYS: &[&[&str]] = &[
    &["@timestamp"],
    &["timestamp"],
    &["time"],
    &["ts"],
    &["eventTime"],
    &["event_time"],
    &["EventTime"],
    &["datetime"],
    &["date"],
    &["created_at"],
    &["t"],
];
const MESSAGE_KEYS: &[&[&str]] = &[
    &["message"],
    &["msg"],
    &["@message"],
    &["Message"],
    &["log"],
];
const LEVEL_KEYS: &[&[&str]] = &[
    &["level"],
    &["severity"],
    &["log", "level"],
    &["log.level"],
    &["loglevel"],
    &["lvl"],
    &["levelname"],
    &["Severity"],
];
const SRC_IP_KEYS: &[&[&str]] = &[
    &["src_ip"],
    &["srcip"],
    &["source_ip"],
    &["source", "ip"],
    &["src", "ip"],
    &["client_ip"],
    &["clientip"],
    &["client", "ip"],
    &["remote_addr"],
    &["remote_ip"],
    &["ip"],
];
const SRC_PORT_KEYS: &[&[&str]] = &[
    &["src_port"],
    &["srcport"],
    &["source_port"],
    &["source", "port"],
    &["src", "port"],
    &["client_port"],
    &["client", "port"],
    &["remote_port"],
];
const DST_IP_KEYS: &[&[&str]] = &[
    &["dest_ip"],
    &["dst_ip"],
    &["dstip"],
    &["destination_ip"],
    &["destination", "ip"],
    &["dst", "ip"],
    &["server_ip"],
    &["server", "ip"],
];
const DST_PORT_KEYS: &[&[&str]] = &[
    &["dest_port"],
    &["dst_port"],
    &["dstport"],
    &["destination_port"],
    &["destination", "port"],
    &["dst", "port"],
    &["server_port"],
    &["server", "port"],
];
const USER_KEYS: &[&[&str]] = &[
    &["user", "name"],
    &["username"],
    &["user_name"],
    &["userName"],
    &["user"],
];
const HOST_KEYS: &[&[&str]] = &[&["host", "name"], &["hostname"], &["host"]];

fn first<'a>(o: &'a Map<String, Value>, keys: &[&[&str]]) -> Option<&'a Value> {
    keys.iter().find_map(|path| at(o, path))
}

fn first_str<'a>(o: &'a Map<String, Value>, keys: &[&[&str]]) -> Option<&'a str> {
    keys.iter().find_map(|path| {
        at(o, path)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    })
}

impl JsonParser for GenericJson {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, o: &mut Map<String, Value>, message: &Message<'_>, event: &mut Event) -> bool {
        if o.is_empty() {
            return false;
        }
        event.set_parsed(ID, EventClass::Base, 0);
        let time = TIME_KEYS
            .iter()
            .find_map(|path| at(o, path).and_then(|t| time_value(t, message.context)));
        common::set_time(event, time);
        event.message = first_str(o, MESSAGE_KEYS).map(str::to_owned);
        event.severity = first(o, LEVEL_KEYS).and_then(level);
        if let Some(ip) = first_str(o, SRC_IP_KEYS).and_then(common::ip) {
            event.src().ip = Some(ip);
        }
        if let Some(p) = first(o, SRC_PORT_KEYS).and_then(port) {
            event.src().port = Some(p);
        }
        if let Some(ip) = first_str(o, DST_IP_KEYS).and_then(common::ip) {
            event.dst().ip = Some(ip);
        }
        if let Some(p) = first(o, DST_PORT_KEYS).and_then(port) {
            event.dst().port = Some(p);
        }
        if let Some(user) = first_str(o, USER_KEYS) {
            event.actor_user().name = Some(user.to_owned());
        }
        if let Some(host) = first_str(o, HOST_KEYS) {
            event.device.get_or_insert_with(Default::default).hostname = Some(host.to_owned());
        }
        let mut budget = Budget::for_text(message.text);
        common::keep_object(event, &mut budget, o);
        budget.finish(event);
        true
    }
}

/// Severity from a level word, a syslog severity (0-7) or a bunyan/pino level (10-60).
fn level(value: &Value) -> Option<Severity> {
    match value {
        Value::String(s) => common::severity_word(s)
            .or_else(|| common::unsigned_str(s).and_then(|n| level(&Value::from(n)))),
        Value::Number(n) => {
            let n = n.as_u64()?;
            match n {
                0..=7 => Some(Severity::from_syslog(u8::try_from(n).ok()?)),
                10..=30 => Some(Severity::Info),
                40 => Some(Severity::Medium),
                50 => Some(Severity::High),
                60 => Some(Severity::Critical),
                _ => None,
            }
        }
        _ => None,
    }
}
