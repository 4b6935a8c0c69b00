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
//! `Element_Attribute` (`Execution_ProcessID`, `Security_UserID`); Winlogbeat's
//! `winlog.provider_guid` and `winlog.record_id` are also kept as `Provider_Guid` and
//! `EventRecordID`. Everything else keeps its top-level name with its value as it came (see
//! [`Event::vendor`]): Winlogbeat's `winlog` (without the data already kept flat), `event`,
//! `host`; what is left of the XML `Event` (`RenderingInfo`) under `Event`. Values are moved
//! into the event, not copied.
//!
//! Logons (4624, 4625, 4634) become Authentication, process creation (4688, Sysmon 1) Process
//! Activity, account changes (4720 to 4726) Account Change, and everything else a Base event.

use std::borrow::Cow;

use jiff::Timestamp;
use serde_json::{Map, Value};
use shieldwall_core::{
    Event, EventClass, Severity, TimeStatus,
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

    fn parse(&self, o: &mut Map<String, Value>, message: &Message<'_>, event: &mut Event) -> bool {
        let mut budget = Budget::for_text(message.text);
        // Read by reference: the header decides whether the record is a Windows event.
        let read = if let Some(system) = nested_system(o) {
            nested_header(o, system, event, &mut budget, message).map(|h| (Shape::Nested, h))
        } else if let Some(winlog) = o.get("winlog").and_then(Value::as_object) {
            winlogbeat_header(o, winlog, event, &mut budget, message)
                .map(|h| (Shape::Winlogbeat, h))
        } else if is_flat(o) {
            flat_header(o, event, &mut budget, message).map(|h| (Shape::Flat, h))
        } else {
            None
        };
        let Some((shape, header)) = read else {
            return false;
        };
        // Accepted: move the fields into `vendor`.
        match shape {
            Shape::Nested => nested_fields(o, event, &mut budget),
            Shape::Winlogbeat => winlogbeat_fields(o, event, &mut budget),
            Shape::Flat => flat_fields(o, event, &mut budget),
        }
        classify(event, &header);
        budget.finish(event);
        true
    }
}

/// The three shapes.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Nested,
    Winlogbeat,
    Flat,
}

/// The System facts every shape provides, read before anything is moved.
#[derive(Debug, Default)]
struct Header {
    event_id: u64,
    /// The provider or channel is the Security log's (or neither is stated).
    security: bool,
    /// The provider or channel is Sysmon's.
    sysmon: bool,
    level: Option<u64>,
    audit_failure: bool,
    severity: Option<Severity>,
    time: Option<(Timestamp, TimeStatus)>,
}

impl Header {
    fn new(event_id: u64, provider: Option<&str>, channel: Option<&str>) -> Header {
        let provider = provider.unwrap_or("");
        let channel = channel.unwrap_or("");
        Header {
            event_id,
            security: (provider.is_empty() && channel.is_empty())
                || provider.eq_ignore_ascii_case("Microsoft-Windows-Security-Auditing")
                || channel.eq_ignore_ascii_case("Security"),
            sysmon: provider.contains("Sysmon") || channel.contains("Sysmon"),
            ..Header::default()
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Shapes: reading the header

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

/// Scalars as text; strings borrowed.
fn as_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// The Sigma-named System fields, inserted first so that they win over same-named data fields;
/// the computer is the reporting device and the message the event's message.
fn put_header(
    event: &mut Event,
    budget: &mut Budget,
    event_id: u64,
    names: [Option<&str>; 3],
    message: Option<&str>,
) {
    let [channel, provider, computer] = names;
    put(event, budget, "EventID", Value::from(event_id));
    for (key, value) in [
        ("Channel", channel),
        ("Provider_Name", provider),
        ("Computer", computer),
    ] {
        if let Some(value) = value {
            put(event, budget, key, Value::String(value.to_owned()));
        }
    }
    if let Some(computer) = computer {
        event.device.get_or_insert_with(Default::default).hostname = Some(computer.to_owned());
    }
    event.message = message.map(str::to_owned);
}

fn nested_header(
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
    let channel = text_of("Channel");
    let provider = system
        .get("Provider")
        .and_then(|p| attribute(p, "Name"))
        .and_then(as_text);
    let mut header = Header::new(event_id, provider.as_deref(), channel.as_deref());
    header.level = system
        .get("Level")
        .and_then(element_text)
        .and_then(unsigned);
    header.audit_failure = text_of("Keywords").is_some_and(|k| is_audit_failure(&k));
    header.time = system
        .get("TimeCreated")
        .and_then(|t| attribute(t, "SystemTime"))
        .and_then(|t| time_value(t, message.context));
    let rendered = root
        .get("RenderingInfo")
        .and_then(|r| r.get("Message"))
        .and_then(element_text)
        .and_then(as_text);
    put_header(
        event,
        budget,
        event_id,
        [
            channel.as_deref(),
            provider.as_deref(),
            text_of("Computer").as_deref(),
        ],
        rendered.as_deref(),
    );
    Some(header)
}

fn winlogbeat_header(
    o: &Map<String, Value>,
    winlog: &Map<String, Value>,
    event: &mut Event,
    budget: &mut Budget,
    message: &Message<'_>,
) -> Option<Header> {
    let event_id = winlog.get("event_id").and_then(unsigned)?;
    let channel = str_at(winlog, &["channel"]);
    let provider = str_at(winlog, &["provider_name"]);
    let keywords_fail = winlog
        .get("keywords")
        .and_then(Value::as_array)
        .is_some_and(|k| k.iter().filter_map(Value::as_str).any(is_audit_failure));
    let mut header = Header::new(event_id, provider, channel);
    header.audit_failure = keywords_fail || str_at(o, &["event", "outcome"]) == Some("failure");
    header.severity = str_at(o, &["log", "level"]).and_then(common::severity_word);
    header.time = o
        .get("@timestamp")
        .and_then(|t| time_value(t, message.context));
    put_header(
        event,
        budget,
        event_id,
        [channel, provider, str_at(winlog, &["computer_name"])],
        str_at(o, &["message"]),
    );
    Some(header)
}

/// NXLog-style flat records: a numeric `EventID` beside the System fields NXLog names.
fn is_flat(o: &Map<String, Value>) -> bool {
    o.get("EventID").and_then(unsigned).is_some()
        && ["Channel", "SourceName", "ProviderGuid", "Provider_Name"]
            .iter()
            .any(|k| o.contains_key(*k))
}

fn flat_header(
    o: &Map<String, Value>,
    event: &mut Event,
    budget: &mut Budget,
    message: &Message<'_>,
) -> Option<Header> {
    let event_id = o.get("EventID").and_then(unsigned)?;
    let channel = str_at(o, &["Channel"]);
    let provider = str_at(o, &["SourceName"]).or_else(|| str_at(o, &["Provider_Name"]));
    let mut header = Header::new(event_id, provider, channel);
    header.audit_failure = str_at(o, &["EventType"]) == Some("AUDIT_FAILURE");
    header.severity = str_at(o, &["Severity"]).and_then(common::severity_word);
    header.time = ["EventTime", "TimeCreated", "@timestamp"]
        .iter()
        .find_map(|k| o.get(*k).and_then(|t| time_value(t, message.context)));
    let computer = str_at(o, &["Hostname"]).or_else(|| str_at(o, &["Computer"]));
    put_header(
        event,
        budget,
        event_id,
        [channel, provider, computer],
        str_at(o, &["Message"]),
    );
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

// ------------------------------------------------------------------------------------------------
// Shapes: moving the fields, once the record is accepted

/// Removes and returns an element's text (`#text`, `$` or `value`, the first present).
fn take_text(element: &mut Map<String, Value>) -> Option<Value> {
    element
        .remove("#text")
        .or_else(|| element.remove("$"))
        .or_else(|| element.remove("value"))
}

/// A data field's value: the element text of an element, else the value itself.
fn field_value(v: Value) -> Value {
    match v {
        Value::Object(mut element) => take_text(&mut element).unwrap_or(Value::Object(element)),
        other => other,
    }
}

/// An element's text, or null when it has none.
fn text_or_null(v: Value) -> Value {
    match v {
        Value::Object(mut element) => take_text(&mut element).unwrap_or(Value::Null),
        other => other,
    }
}

/// Whether `v` is an element with a string `Name` attribute.
fn is_named(v: &Value) -> bool {
    attribute(v, "Name").is_some_and(Value::is_string)
}

/// Fields gathered for [`Event::vendor`], in the order they are to be put (the first of two
/// equal names wins), put in one go by [`common::put_all`].
type Fields = Vec<(String, Value)>;

/// Puts a `{"@Name": .., "#text": ..}` item under its name (the `Name` attribute, looked up as
/// [`attribute`] does).
fn named_item(out: &mut Fields, item: Value) {
    let Value::Object(mut item) = item else {
        return;
    };
    let name = match item
        .get_mut("#attributes")
        .and_then(Value::as_object_mut)
        .and_then(|a| a.remove("Name"))
    {
        Some(name) => name,
        None => match item.remove("@Name").or_else(|| item.remove("Name")) {
            Some(name) => name,
            None => return,
        },
    };
    let Value::String(name) = name else {
        return;
    };
    let value = take_text(&mut item).unwrap_or(Value::Null);
    out.push((name, value));
}

/// EventData as an object of named fields, as a `Data` list of named items, or as a `Data`
/// object of named fields; unnamed `Data` (classic events) is kept as `Data`.
fn event_data(out: &mut Fields, data: Value) {
    let Value::Object(fields) = data else {
        return;
    };
    for (k, v) in fields.into_iter().take(MAX_DATA_FIELDS) {
        if k == "#attributes" || k.starts_with('@') {
            continue;
        }
        if k != "Data" {
            out.push((k, field_value(v)));
            continue;
        }
        match v {
            Value::Array(items) if items.iter().any(is_named) => {
                for item in items.into_iter().take(MAX_DATA_FIELDS) {
                    named_item(out, item);
                }
            }
            v @ Value::Object(_) if is_named(&v) => named_item(out, v),
            Value::Object(map) if element_text_of(&map).is_none() => {
                for (name, value) in map.into_iter().take(MAX_DATA_FIELDS) {
                    if name != "#attributes" && !name.starts_with('@') {
                        out.push((name, field_value(value)));
                    }
                }
            }
            other => out.push((k, field_value(other))),
        }
    }
}

/// [`element_text`] of an object.
fn element_text_of(element: &Map<String, Value>) -> Option<&Value> {
    element
        .get("#text")
        .or_else(|| element.get("$"))
        .or_else(|| element.get("value"))
}

fn nested_fields(o: &mut Map<String, Value>, event: &mut Event, budget: &mut Budget) {
    let mut out = Fields::new();
    if let Some(Value::Object(mut root)) = o.remove("Event") {
        if let Some(data) = root.remove("EventData") {
            event_data(&mut out, data);
        }
        if let Some(Value::Object(user_data)) = root.remove("UserData") {
            for child in user_data.into_values() {
                let Value::Object(child) = child else {
                    continue;
                };
                for (k, v) in child.into_iter().take(MAX_DATA_FIELDS) {
                    if k == "#attributes" || k.starts_with('@') || k == "xmlns" {
                        continue;
                    }
                    out.push((k, text_or_null(v)));
                }
            }
        }
        // The rest of System: element text by element name, attributes as Element_Attribute.
        if let Some(Value::Object(system)) = root.remove("System") {
            for (name, element) in system {
                match element {
                    Value::Object(mut fields) => {
                        if let Some(Value::Object(attrs)) = fields.remove("#attributes") {
                            for (attr, v) in attrs {
                                out.push((format!("{name}_{attr}"), v));
                            }
                        }
                        let text = take_text(&mut fields);
                        for (k, v) in fields {
                            if let Some(attr) = k.strip_prefix('@') {
                                out.push((format!("{name}_{attr}"), v));
                            }
                        }
                        if let Some(text) = text {
                            out.push((name, text));
                        }
                    }
                    Value::Null => {}
                    other => out.push((name, other)),
                }
            }
        }
        // What is left of the event (`RenderingInfo`, namespace attributes) stays nested.
        if !root.is_empty() {
            out.push(("Event".to_owned(), Value::Object(root)));
        }
    }
    common::put_all(event, budget, out);
    common::keep_object(event, budget, o);
}

fn winlogbeat_fields(o: &mut Map<String, Value>, event: &mut Event, budget: &mut Budget) {
    let mut out = Fields::new();
    if let Some(Value::Object(mut winlog)) = o.remove("winlog") {
        for key in ["event_data", "user_data"] {
            if let Some(Value::Object(data)) = winlog.remove(key) {
                for (k, v) in data.into_iter().take(MAX_DATA_FIELDS) {
                    out.push((k, v));
                }
            }
        }
        if let Some(guid) = winlog.get("provider_guid") {
            out.push(("Provider_Guid".to_owned(), guid.clone()));
        }
        if let Some(record) = winlog.get("record_id") {
            out.push(("EventRecordID".to_owned(), record.clone()));
        }
        out.push(("winlog".to_owned(), Value::Object(winlog)));
    }
    common::put_all(event, budget, out);
    common::keep_object(event, budget, o);
}

fn flat_fields(o: &mut Map<String, Value>, event: &mut Event, budget: &mut Budget) {
    if let Some(guid) = o.get("ProviderGuid") {
        put(event, budget, "Provider_Guid", guid.clone());
    }
    common::keep_object(event, budget, o);
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
    let (security, sysmon) = (header.security, header.sysmon);
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
    if header.severity.is_some() {
        event.severity = header.severity;
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
    common::set_time(event, header.time);
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
