//! Windows event log records as JSON, in the three shapes collectors write:
//!
//! * flat, as NXLog's `im_msvistalog` with `to_json()` writes them: `EventID`, `Channel`,
//!   `Hostname`, `SourceName`, `EventTime` and the EventData fields at the top level;
//! * Winlogbeat: `winlog.event_id`, `winlog.channel`, `winlog.computer_name`,
//!   `winlog.provider_name`, `winlog.event_data.*`, `@timestamp`;
//! * the XML event converted to JSON (`evtx_dump`, xmltodict and friends): `Event.System.*`
//!   with attributes as `#attributes.Name` or `@Name`, `EventData` as an object or as a `Data`
//!   list of `{"@Name": .., "#text": ..}`, and `UserData`.
//!
//! Whatever the shape, [`Event::vendor`] gets the field names that Sigma's Windows rules use:
//! `EventID` (a number), `Channel`, `Computer`, `Provider_Name`, and every EventData and UserData
//! field flat under its own name (`Image`, `CommandLine`, `TargetUserName`, `LogonType`). Other
//! System elements keep their element name (`EventRecordID`, `Level`), their attributes
//! `Element_Attribute` (`Execution_ProcessID`, `Security_UserID`).
//!
//! Logons (4624, 4625, 4634) become Authentication, process creation (4688, Sysmon 1) Process
//! Activity, account changes (4720 to 4726) Account Change, and everything else a Base event.

use serde_json::{Map, Value};
use shieldwall_core::{
    Event, EventClass, Severity,
    event::{Status, User},
};

use super::common::{self, Budget, put, str_at, time_value, unsigned};
use crate::registry::{JsonParser, Message};

/// The parser id.
pub const ID: &str = "windows-event-json";

/// The most EventData or UserData fields read from one record.
const MAX_DATA_FIELDS: usize = 256;

/// Windows event records as JSON, registered under `EventID`, `winlog` and `Event`.
#[derive(Debug, Default)]
pub struct WindowsEvent;

impl JsonParser for WindowsEvent {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, o: &Map<String, Value>, message: &Message<'_>, event: &mut Event) -> bool {
        let mut budget = Budget::new();
        let header = if let Some(system) = nested_system(o) {
            nested(o, system, event, &mut budget, message)
        } else if let Some(winlog) = o.get("winlog").and_then(Value::as_object) {
            winlogbeat(o, winlog, event, &mut budget, message)
        } else if is_flat(o) {
            flat(o, event, &mut budget, message)
        } else {
            None
        };
        let Some(header) = header else {
            return false;
        };
        classify(event, &header);
        budget.finish(event);
        true
    }
}

/// The System facts every shape provides.
#[derive(Debug, Default)]
struct Header {
    event_id: u64,
    channel: Option<String>,
    provider: Option<String>,
    computer: Option<String>,
    level: Option<u64>,
    audit_failure: bool,
    message: Option<String>,
}

// ------------------------------------------------------------------------------------------------
// Shapes

fn nested_system(o: &Map<String, Value>) -> Option<&Map<String, Value>> {
    o.get("Event")?.as_object()?.get("System")?.as_object()
}

/// An XML attribute as the converters write it: `#attributes.Name`, `@Name` or plain `Name`.
fn attribute<'a>(element: &'a Value, name: &str) -> Option<&'a Value> {
    let object = element.as_object()?;
    if let Some(v) = object
        .get("#attributes")
        .and_then(Value::as_object)
        .and_then(|a| a.get(name))
    {
        return Some(v);
    }
    object
        .iter()
        .find_map(|(k, v)| (k.strip_prefix('@') == Some(name) || k == name).then_some(v))
}

/// The text of an element: itself when scalar, else its `#text`, `$` or `value`.
fn element_text(element: &Value) -> Option<&Value> {
    match element {
        Value::Object(o) => o
            .get("#text")
            .or_else(|| o.get("$"))
            .or_else(|| o.get("value")),
        Value::Null => None,
        other => Some(other),
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn nested(
    o: &Map<String, Value>,
    system: &Map<String, Value>,
    event: &mut Event,
    budget: &mut Budget,
    message: &Message<'_>,
) -> Option<Header> {
    let event_id = system
        .get("EventID")
        .and_then(element_text)
        .and_then(unsigned)?;
    let root = o.get("Event").and_then(Value::as_object)?;
    let text_of = |name: &str| system.get(name).and_then(element_text).and_then(as_text);
    let provider = system.get("Provider");
    let header = Header {
        event_id,
        channel: text_of("Channel"),
        provider: provider
            .and_then(|p| attribute(p, "Name"))
            .and_then(as_text),
        computer: text_of("Computer"),
        level: system
            .get("Level")
            .and_then(element_text)
            .and_then(unsigned),
        audit_failure: text_of("Keywords").is_some_and(|k| is_audit_failure(&k)),
        message: root
            .get("RenderingInfo")
            .and_then(|r| r.get("Message"))
            .and_then(element_text)
            .and_then(as_text),
    };
    put_header(event, budget, &header);
    if let Some(data) = root.get("EventData") {
        event_data(event, budget, data);
    }
    if let Some(user_data) = root.get("UserData").and_then(Value::as_object) {
        for child in user_data.values().filter_map(Value::as_object) {
            for (k, v) in child.iter().take(MAX_DATA_FIELDS) {
                if k == "#attributes" || k.starts_with('@') || k == "xmlns" {
                    continue;
                }
                let value = element_text(v).cloned().unwrap_or(Value::Null);
                put(event, budget, k, value);
            }
        }
    }
    // The rest of System: element text by element name, attributes as Element_Attribute.
    for (name, element) in system {
        match element {
            Value::Object(fields) => {
                if let Some(attrs) = fields.get("#attributes").and_then(Value::as_object) {
                    for (attr, v) in attrs {
                        put(event, budget, &format!("{name}_{attr}"), v.clone());
                    }
                }
                for (k, v) in fields {
                    if let Some(attr) = k.strip_prefix('@') {
                        put(event, budget, &format!("{name}_{attr}"), v.clone());
                    }
                }
                if let Some(text) = element_text(element) {
                    put(event, budget, name, text.clone());
                }
            }
            Value::Null => {}
            other => put(event, budget, name, other.clone()),
        }
    }
    let time = system
        .get("TimeCreated")
        .and_then(|t| attribute(t, "SystemTime"))
        .and_then(|t| time_value(t, message.context));
    common::set_time(event, time);
    Some(header)
}

/// EventData as an object of named fields, as a `Data` list of named items, or as a `Data`
/// object of named fields; unnamed `Data` (classic events) is kept as `Data`.
fn event_data(event: &mut Event, budget: &mut Budget, data: &Value) {
    let Some(fields) = data.as_object() else {
        return;
    };
    let is_named = |v: &Value| attribute(v, "Name").is_some_and(Value::is_string);
    for (k, v) in fields.iter().take(MAX_DATA_FIELDS) {
        if k == "#attributes" || k.starts_with('@') {
            continue;
        }
        if k == "Data" {
            match v {
                Value::Array(items) if items.iter().any(is_named) => {
                    for item in items.iter().take(MAX_DATA_FIELDS) {
                        named_item(event, budget, item);
                    }
                    continue;
                }
                Value::Object(_) if is_named(v) => {
                    named_item(event, budget, v);
                    continue;
                }
                Value::Object(map) if element_text(v).is_none() => {
                    for (name, value) in map.iter().take(MAX_DATA_FIELDS) {
                        if name != "#attributes" && !name.starts_with('@') {
                            put(event, budget, name, field_value(value));
                        }
                    }
                    continue;
                }
                _ => {}
            }
        }
        put(event, budget, k, field_value(v));
    }
}

/// A data field's value: the element text of an element, else the value itself.
fn field_value(v: &Value) -> Value {
    match v {
        Value::Object(_) => element_text(v).cloned().unwrap_or_else(|| v.clone()),
        other => other.clone(),
    }
}

fn named_item(event: &mut Event, budget: &mut Budget, item: &Value) {
    let Some(name) = attribute(item, "Name").and_then(Value::as_str) else {
        return;
    };
    let value = element_text(item).cloned().unwrap_or(Value::Null);
    put(event, budget, name, value);
}

fn winlogbeat(
    o: &Map<String, Value>,
    winlog: &Map<String, Value>,
    event: &mut Event,
    budget: &mut Budget,
    message: &Message<'_>,
) -> Option<Header> {
    let event_id = winlog.get("event_id").and_then(unsigned)?;
    let keywords_fail = winlog
        .get("keywords")
        .and_then(Value::as_array)
        .is_some_and(|k| k.iter().filter_map(Value::as_str).any(is_audit_failure));
    let header = Header {
        event_id,
        channel: str_at(winlog, &["channel"]).map(str::to_owned),
        provider: str_at(winlog, &["provider_name"]).map(str::to_owned),
        computer: str_at(winlog, &["computer_name"]).map(str::to_owned),
        level: None,
        audit_failure: keywords_fail || str_at(o, &["event", "outcome"]) == Some("failure"),
        message: str_at(o, &["message"]).map(str::to_owned),
    };
    put_header(event, budget, &header);
    for key in ["event_data", "user_data"] {
        if let Some(data) = winlog.get(key).and_then(Value::as_object) {
            for (k, v) in data.iter().take(MAX_DATA_FIELDS) {
                put(event, budget, k, v.clone());
            }
        }
    }
    if let Some(guid) = winlog.get("provider_guid") {
        put(event, budget, "Provider_Guid", guid.clone());
    }
    if let Some(record) = winlog.get("record_id") {
        put(event, budget, "EventRecordID", record.clone());
    }
    common::flatten(
        event,
        budget,
        "winlog",
        winlog,
        &["event_data", "user_data"],
    );
    common::flatten(event, budget, "", o, &["winlog"]);
    if let Some(level) = str_at(o, &["log", "level"]).and_then(common::severity_word) {
        event.severity = Some(level);
    }
    let time = o
        .get("@timestamp")
        .and_then(|t| time_value(t, message.context));
    common::set_time(event, time);
    Some(header)
}

/// NXLog-style flat records: a numeric `EventID` beside the System fields NXLog names.
fn is_flat(o: &Map<String, Value>) -> bool {
    o.get("EventID").and_then(unsigned).is_some()
        && ["Channel", "SourceName", "ProviderGuid", "Provider_Name"]
            .iter()
            .any(|k| o.contains_key(*k))
}

fn flat(
    o: &Map<String, Value>,
    event: &mut Event,
    budget: &mut Budget,
    message: &Message<'_>,
) -> Option<Header> {
    let event_id = o.get("EventID").and_then(unsigned)?;
    let header = Header {
        event_id,
        channel: str_at(o, &["Channel"]).map(str::to_owned),
        provider: str_at(o, &["SourceName"])
            .or_else(|| str_at(o, &["Provider_Name"]))
            .map(str::to_owned),
        computer: str_at(o, &["Hostname"])
            .or_else(|| str_at(o, &["Computer"]))
            .map(str::to_owned),
        level: None,
        audit_failure: str_at(o, &["EventType"]) == Some("AUDIT_FAILURE"),
        message: str_at(o, &["Message"]).map(str::to_owned),
    };
    put_header(event, budget, &header);
    if let Some(guid) = o.get("ProviderGuid") {
        put(event, budget, "Provider_Guid", guid.clone());
    }
    common::flatten(event, budget, "", o, &[]);
    if let Some(sev) = str_at(o, &["Severity"]).and_then(common::severity_word) {
        event.severity = Some(sev);
    }
    let time = ["EventTime", "TimeCreated", "@timestamp"]
        .iter()
        .find_map(|k| o.get(*k).and_then(|t| time_value(t, message.context)));
    common::set_time(event, time);
    Some(header)
}

fn is_audit_failure(keyword: &str) -> bool {
    keyword.eq_ignore_ascii_case("Audit Failure")
        || keyword.eq_ignore_ascii_case("AUDIT_FAILURE")
        // The Audit Failure keyword bit (0x0010000000000000) in a hexadecimal mask.
        || keyword
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .is_some_and(|mask| mask & 0x0010_0000_0000_0000 != 0)
}

/// The Sigma-named System fields, inserted first so that they win over same-named data fields.
fn put_header(event: &mut Event, budget: &mut Budget, header: &Header) {
    put(event, budget, "EventID", Value::from(header.event_id));
    if let Some(c) = &header.channel {
        put(event, budget, "Channel", Value::String(c.clone()));
    }
    if let Some(p) = &header.provider {
        put(event, budget, "Provider_Name", Value::String(p.clone()));
    }
    if let Some(c) = &header.computer {
        put(event, budget, "Computer", Value::String(c.clone()));
    }
}

// ------------------------------------------------------------------------------------------------
// Classification

/// A vendor field as text, without the `-` Windows writes for "none".
fn field(event: &Event, name: &str) -> Option<String> {
    let value = event.vendor.get(name)?;
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty() && text != "-").then_some(text)
}

fn user_from(event: &Event, name: &str, sid: &str, domain: &str) -> Option<User> {
    let user = User {
        name: field(event, name),
        uid: field(event, sid),
        domain: field(event, domain),
    };
    (user.name.is_some() || user.uid.is_some()).then_some(user)
}

fn classify(event: &mut Event, header: &Header) {
    let provider = header.provider.as_deref().unwrap_or("");
    let channel = header.channel.as_deref().unwrap_or("");
    let security = (provider.is_empty() && channel.is_empty())
        || provider.eq_ignore_ascii_case("Microsoft-Windows-Security-Auditing")
        || channel.eq_ignore_ascii_case("Security");
    let sysmon = provider.contains("Sysmon") || channel.contains("Sysmon");
    let id = header.event_id;

    match (id, security, sysmon) {
        (4624 | 4625 | 4634, true, _) => authentication(event, id),
        (4688, true, _) => process(event, "NewProcessName", "NewProcessId", true),
        (1, _, true) => process(event, "Image", "ProcessId", false),
        (4720..=4726, true, _) => account_change(event, id),
        _ => event.set_parsed(ID, EventClass::Base, 0),
    }
    event.feature = Some(id.to_string());
    event.set_product("Microsoft", if sysmon { "Sysmon" } else { "Windows" });
    if header.audit_failure {
        event.status = Some(Status::Failure);
    } else if event.status.is_none() && (id == 4624 || id == 4634 || (4720..=4726).contains(&id)) {
        event.status = Some(Status::Success);
    }
    if let Some(level) = header.level {
        event.severity = match level {
            1 => Some(Severity::Critical),
            2 => Some(Severity::High),
            3 => Some(Severity::Medium),
            0 | 4 | 5 => Some(Severity::Info),
            _ => event.severity,
        };
    }
    if let Some(computer) = &header.computer {
        event.device.get_or_insert_with(Default::default).hostname = Some(computer.clone());
    }
    if event.message.is_none() {
        event.message = header.message.clone();
    }
}

fn authentication(event: &mut Event, id: u64) {
    let (activity, word) = if id == 4634 {
        (2, "logoff")
    } else {
        (1, "logon")
    };
    event.set_parsed(ID, EventClass::Authentication, activity);
    event.activity = Some(word.to_owned());
    event.user = user_from(event, "TargetUserName", "TargetUserSid", "TargetDomainName");
    if let Some(actor) = user_from(
        event,
        "SubjectUserName",
        "SubjectUserSid",
        "SubjectDomainName",
    ) {
        event.actor.get_or_insert_with(Default::default).user = Some(actor);
    }
    if let Some(name) = event.user.as_ref().and_then(|u| u.name.clone()) {
        event.target = Some(format!("user:{name}"));
    }
    if let Some(ip) = field(event, "IpAddress").and_then(|ip| common::ip(&ip)) {
        event.src().ip = Some(ip);
    }
    if let Some(p) = field(event, "IpPort")
        .and_then(|p| common::port_str(&p))
        .filter(|p| *p != 0)
    {
        event.src().port = Some(p);
    }
    if let Some(ws) = field(event, "WorkstationName") {
        event.src().hostname = Some(ws);
    }
    if let Some(path) = field(event, "ProcessName") {
        let process = event.actor_process();
        process.name = Some(common::file_name(&path).to_owned());
        process.path = Some(path);
    }
    if id == 4625 {
        event.status = Some(Status::Failure);
        event.status_detail = field(event, "FailureReason")
            .or_else(|| field(event, "SubStatus"))
            .or_else(|| field(event, "Status"));
    }
}

fn process(event: &mut Event, path_field: &str, pid_field: &str, security: bool) {
    event.set_parsed(ID, EventClass::ProcessActivity, 1);
    event.activity = Some("launch".to_owned());
    let path = field(event, path_field);
    let cmd_line = field(event, "CommandLine");
    let pid = field(event, pid_field)
        .and_then(|p| common::unsigned_str(&p))
        .and_then(|p| u32::try_from(p).ok());
    let actor_user = if security {
        user_from(
            event,
            "SubjectUserName",
            "SubjectUserSid",
            "SubjectDomainName",
        )
    } else {
        field(event, "User").map(|u| match u.split_once('\\') {
            Some((domain, name)) => User {
                name: Some(name.to_owned()),
                uid: None,
                domain: Some(domain.to_owned()),
            },
            None => User {
                name: Some(u),
                uid: None,
                domain: None,
            },
        })
    };
    let process = event.actor_process();
    process.name = path.as_deref().map(|p| common::file_name(p).to_owned());
    process.path = path.clone();
    process.cmd_line = cmd_line;
    process.pid = pid;
    if let Some(user) = actor_user {
        event.actor.get_or_insert_with(Default::default).user = Some(user);
    }
    event.target = path.map(|p| format!("process:{p}"));
}

fn account_change(event: &mut Event, id: u64) {
    let (activity, word) = match id {
        4720 => (1, "create"),
        4722 => (2, "enable"),
        4723 => (3, "password change"),
        4724 => (4, "password reset"),
        4725 => (5, "disable"),
        4726 => (6, "delete"),
        _ => (99, "change"),
    };
    event.set_parsed(ID, EventClass::AccountChange, activity);
    event.activity = Some(word.to_owned());
    event.user = user_from(event, "TargetUserName", "TargetSid", "TargetDomainName");
    if let Some(actor) = user_from(
        event,
        "SubjectUserName",
        "SubjectUserSid",
        "SubjectDomainName",
    ) {
        event.actor.get_or_insert_with(Default::default).user = Some(actor);
    }
    if let Some(name) = event.user.as_ref().and_then(|u| u.name.clone()) {
        event.target = Some(format!("user:{name}"));
    }
}
