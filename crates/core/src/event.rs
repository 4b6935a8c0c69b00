//! The normalised event: one log record, aligned with OCSF 1.3.0, carrying the guideline's
//! descriptors and its four log kinds.
//!
//! The shape is documented field by field in `docs/event-schema.md`; a change here changes that
//! document and the schema version [`EVENT_SCHEMA_VERSION`]. Field names follow OCSF where OCSF has
//! the concept (`src_endpoint.ip`, `actor.user.name`, `http_request.url`), so that an analyst who
//! knows OCSF can query without a mapping table. Where OCSF has no home for something a rule needs,
//! the original vendor field is kept under its own name in [`Event::vendor`] (`EventID`,
//! `CommandLine`, `eventName`), because Sigma rules name those fields.
//!
//! Construction is split in two: the collector fills the envelope ([`Event::unparsed`]), and a
//! parser fills the normalised part. [`Event::reset_normalised`] undoes a parser's partial work, so
//! that a parser that gives up half-way leaves no trace.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{RecordId, TenantId};

/// The OCSF release the event is aligned with.
pub const OCSF_VERSION: &str = "1.3.0";

/// The version of our own event schema (`docs/event-schema.md`); bumped on every change to the
/// serialised shape.
pub const EVENT_SCHEMA_VERSION: u32 = 2;

/// Severity shared by events, alerts and findings, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational only.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// The name as records write it (`info`, `low`, `medium`, `high`, `critical`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// OCSF `severity_id` (1 informational to 5 critical).
    pub fn ocsf_id(self) -> u8 {
        match self {
            Severity::Info => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
        }
    }

    /// The syslog severity (RFC 5424 section 6.2.1, 0 emergency to 7 debug) on our scale.
    pub fn from_syslog(severity: u8) -> Severity {
        match severity {
            0 | 1 => Severity::Critical,
            2 | 3 => Severity::High,
            4 => Severity::Medium,
            5 => Severity::Low,
            _ => Severity::Info,
        }
    }
}

/// How much of an event's raw text was understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EventParse {
    /// A parser recognised the record and filled the normalised fields.
    Parsed,
    /// No parser recognised it: the raw text is kept, never dropped.
    #[default]
    Unparsed,
}

/// Where [`Event::time`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimeStatus {
    /// The record stated a complete timestamp.
    Stated,
    /// The record stated a partial timestamp (no year or zone) completed from the source's settings.
    Inferred,
    /// The record had no usable timestamp: the receive time stands in for it.
    #[default]
    Received,
}

/// The guideline's four kinds of standardised log (A.2.6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// Attacks, intrusions and exceptions.
    SecurityEvent,
    /// Internal control and violations: who did what.
    #[default]
    BehaviourEvent,
    /// Vulnerabilities and loopholes found by scanners.
    VulnerabilityScan,
    /// Availability, performance and status.
    StatusMonitoring,
}

/// The OCSF 1.3.0 event classes our parsers produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum EventClass {
    /// Base Event (0): recognised, but no specific class applies.
    #[default]
    Base,
    /// File System Activity (1001).
    FileSystemActivity,
    /// Kernel Activity (1003).
    KernelActivity,
    /// Process Activity (1007).
    ProcessActivity,
    /// Event Log Activity (1008).
    EventLogActivity,
    /// Vulnerability Finding (2002).
    VulnerabilityFinding,
    /// Detection Finding (2004).
    DetectionFinding,
    /// Account Change (3001).
    AccountChange,
    /// Authentication (3002).
    Authentication,
    /// Authorize Session (3003): privileges assigned to a session (sudo, su).
    AuthorizeSession,
    /// Group Management (3006).
    GroupManagement,
    /// Network Activity (4001).
    NetworkActivity,
    /// HTTP Activity (4002).
    HttpActivity,
    /// DNS Activity (4003).
    DnsActivity,
    /// Application Lifecycle (6002).
    ApplicationLifecycle,
    /// API Activity (6003).
    ApiActivity,
    /// Datastore Activity (6005).
    DatastoreActivity,
}

impl EventClass {
    /// OCSF `class_uid`.
    pub fn uid(self) -> u32 {
        match self {
            EventClass::Base => 0,
            EventClass::FileSystemActivity => 1001,
            EventClass::KernelActivity => 1003,
            EventClass::ProcessActivity => 1007,
            EventClass::EventLogActivity => 1008,
            EventClass::VulnerabilityFinding => 2002,
            EventClass::DetectionFinding => 2004,
            EventClass::AccountChange => 3001,
            EventClass::Authentication => 3002,
            EventClass::AuthorizeSession => 3003,
            EventClass::GroupManagement => 3006,
            EventClass::NetworkActivity => 4001,
            EventClass::HttpActivity => 4002,
            EventClass::DnsActivity => 4003,
            EventClass::ApplicationLifecycle => 6002,
            EventClass::ApiActivity => 6003,
            EventClass::DatastoreActivity => 6005,
        }
    }

    /// OCSF `category_uid`: the thousands of the class uid.
    pub fn category_uid(self) -> u32 {
        self.uid() / 1000
    }

    /// The log kind an event of this class has unless its parser says otherwise.
    pub fn default_log_kind(self) -> LogKind {
        match self {
            EventClass::DetectionFinding => LogKind::SecurityEvent,
            EventClass::VulnerabilityFinding => LogKind::VulnerabilityScan,
            EventClass::ApplicationLifecycle | EventClass::EventLogActivity => {
                LogKind::StatusMonitoring
            }
            _ => LogKind::BehaviourEvent,
        }
    }
}

/// Outcome of the activity (OCSF `status_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The activity succeeded.
    Success,
    /// The activity failed or was refused.
    Failure,
}

/// What a security control did about the activity (OCSF `action_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Let through.
    Allowed,
    /// Blocked or dropped.
    Denied,
    /// Only observed and logged.
    Observed,
}

/// A user account (OCSF `user`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct User {
    /// Account name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Numeric or opaque id (uid, SID, ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Domain or realm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// A process (OCSF `process`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Process {
    /// Executable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Process id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Full command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd_line: Option<String>,
    /// Path of the executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Who performed the activity (OCSF `actor`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Actor {
    /// The acting user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The acting process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
}

/// A network endpoint (OCSF `network_endpoint`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Endpoint {
    /// IP address, as text (v4 or v6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Interface name (netfilter `IN=`/`OUT=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// The device that reported the event (OCSF `device`): the guideline's detection device.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Device {
    /// Host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// The product that wrote the log (OCSF `metadata.product`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Product {
    /// Vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    /// Product name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Product version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// An HTTP exchange (OCSF `http_request` and `http_response`, flattened).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Http {
    /// Request method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Request URL or path with query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Protocol version (`HTTP/1.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// User-Agent header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Referer header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// Response status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Response body size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_bytes: Option<u64>,
}

/// Connection details (OCSF `connection_info`, reduced).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Connection {
    /// Transport or application protocol name, lower case (`tcp`, `udp`, `icmp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Bytes transferred, both directions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// What a security product detected (OCSF `finding_info` with the rule that fired).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Detection {
    /// The product's rule or signature id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_uid: Option<String>,
    /// Rule or signature title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Category the product gives (`Attempted Administrator Privilege Gain`, `Virus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// Repeats merged into this event by a merge rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeats {
    /// How many records were merged, this one included.
    pub count: u64,
    /// Time of the first.
    pub first_seen: Timestamp,
    /// Time of the last.
    pub last_seen: Timestamp,
}

/// One normalised log record. See the module documentation and `docs/event-schema.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    // --- envelope, filled by the collector ---
    /// Stable id, derived from the source and the record's position in it.
    pub id: RecordId,
    /// The tenant the event belongs to.
    pub tenant: TenantId,
    /// When the event happened.
    pub time: Timestamp,
    /// Where `time` came from.
    pub time_status: TimeStatus,
    /// When Shieldwall received it.
    pub received: Timestamp,
    /// The collecting source's configured name.
    pub source: String,
    /// The raw text as received.
    pub raw: String,

    // --- normalised, filled by a parser ---
    /// Whether a parser understood it.
    pub parse: EventParse,
    /// The parser that understood it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parser: Option<String>,
    /// The guideline's log kind.
    pub log_kind: LogKind,
    /// OCSF class.
    pub class: EventClass,
    /// OCSF `activity_id` within the class (0 unknown, 99 other).
    pub activity_id: u8,
    /// The activity in words: the guideline's "event behaviour" (`logon`, `sudo`, `GET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    /// Severity, when the record states one or the class implies one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// The guideline's "event result".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Why it failed or what it returned, in the product's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    /// What a security control did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The human-readable message of the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The guideline's "target object": what the activity was aimed at (`user:root`,
    /// `file:/etc/shadow`, `url:/login`, `table:accounts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The guideline's "attack type", for security events (`sql_injection`, `brute_force`, `malware`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack_type: Option<String>,
    /// The guideline's "event feature": what identifies this kind of event (a signature, rule id,
    /// event id or message template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// The reporting device: the guideline's "detection device".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// The product that wrote the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Product>,
    /// Who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The user acted upon (logged on, changed, switched to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// Where the activity came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_endpoint: Option<Endpoint>,
    /// Where the activity went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_endpoint: Option<Endpoint>,
    /// Connection details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<Connection>,
    /// HTTP details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<Http>,
    /// A file acted on (path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// A database statement or API operation (SQL text, `s3:GetObject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// What a security product detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection: Option<Detection>,
    /// Repeats merged into this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<Repeats>,
    /// The record's original fields under their original names, for rules that name them
    /// (`EventID`, `CommandLine`, `eventName`).
    ///
    /// For JSON records the top-level keys are kept under their names with their values as they
    /// came: a nested object stays one nested JSON value (`alert`, `userIdentity`), it is not
    /// flattened into dotted keys. [`Event::text_field`] reaches inside it
    /// (`vendor.alert.signature_id`, `vendor.userIdentity.arn`). The exception is where a
    /// format's consumers name fields flat: Windows events keep `EventID`, `Channel`,
    /// `Computer`, `Provider_Name` and every EventData and UserData field at the top level, as
    /// Sigma's rules name them. Text formats (CEF, LEEF, key=value, auditd) keep their keys as
    /// written; the syslog layer adds `syslog.facility`, `syslog.severity`, `syslog.msgid` and
    /// `sd.<SD-ID>.<PARAM>` under those (dotted) names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vendor: BTreeMap<String, serde_json::Value>,
    /// Whatever the parser extracted that neither has a normalised home nor is an original field.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unmapped: BTreeMap<String, serde_json::Value>,
}

impl Event {
    /// An event holding only its envelope: unparsed, timed at its receive time.
    pub fn unparsed(
        id: RecordId,
        tenant: TenantId,
        source: impl Into<String>,
        received: Timestamp,
        raw: impl Into<String>,
    ) -> Event {
        Event {
            id,
            tenant,
            time: received,
            time_status: TimeStatus::Received,
            received,
            source: source.into(),
            raw: raw.into(),
            parse: EventParse::Unparsed,
            parser: None,
            log_kind: LogKind::default(),
            class: EventClass::Base,
            activity_id: 0,
            activity: None,
            severity: None,
            status: None,
            status_detail: None,
            action: None,
            message: None,
            target: None,
            attack_type: None,
            feature: None,
            device: None,
            product: None,
            actor: None,
            user: None,
            src_endpoint: None,
            dst_endpoint: None,
            connection: None,
            http: None,
            file: None,
            query: None,
            detection: None,
            repeats: None,
            vendor: BTreeMap::new(),
            unmapped: BTreeMap::new(),
        }
    }

    /// Clears everything a parser may have written, keeping the envelope (id, tenant, source,
    /// receive time, raw text). `time`, `time_status` and `device` go back to the receive time and
    /// nothing: a caller that set them before parsing restores them itself.
    pub fn reset_normalised(&mut self) {
        *self = Event::unparsed(
            self.id,
            self.tenant.clone(),
            std::mem::take(&mut self.source),
            self.received,
            std::mem::take(&mut self.raw),
        );
    }

    /// Marks the event as understood by `parser`, with its class and activity.
    pub fn set_parsed(&mut self, parser: &str, class: EventClass, activity_id: u8) {
        self.parse = EventParse::Parsed;
        self.parser = Some(parser.to_owned());
        self.class = class;
        self.activity_id = activity_id;
        self.log_kind = class.default_log_kind();
    }

    /// OCSF `type_uid`: class uid times 100 plus activity id.
    pub fn type_uid(&self) -> u64 {
        u64::from(self.class.uid()) * 100 + u64::from(self.activity_id)
    }

    /// The acting user, created on first use.
    pub fn actor_user(&mut self) -> &mut User {
        self.actor
            .get_or_insert_with(Actor::default)
            .user
            .get_or_insert_with(User::default)
    }

    /// The acting process, created on first use.
    pub fn actor_process(&mut self) -> &mut Process {
        self.actor
            .get_or_insert_with(Actor::default)
            .process
            .get_or_insert_with(Process::default)
    }

    /// The target user, created on first use.
    pub fn target_user(&mut self) -> &mut User {
        self.user.get_or_insert_with(User::default)
    }

    /// The source endpoint, created on first use.
    pub fn src(&mut self) -> &mut Endpoint {
        self.src_endpoint.get_or_insert_with(Endpoint::default)
    }

    /// The destination endpoint, created on first use.
    pub fn dst(&mut self) -> &mut Endpoint {
        self.dst_endpoint.get_or_insert_with(Endpoint::default)
    }

    /// The HTTP details, created on first use.
    pub fn http_mut(&mut self) -> &mut Http {
        self.http.get_or_insert_with(Http::default)
    }

    /// The detection details, created on first use.
    pub fn detection_mut(&mut self) -> &mut Detection {
        self.detection.get_or_insert_with(Detection::default)
    }

    /// Sets the product that wrote the record.
    pub fn set_product(&mut self, vendor: &str, name: &str) {
        self.product = Some(Product {
            vendor_name: Some(vendor.to_owned()),
            name: Some(name.to_owned()),
            version: None,
        });
    }
}

impl Event {
    /// The text of a field by its dotted path (`src_endpoint.ip`, `actor.user.name`,
    /// `vendor.EventID`, `unmapped.auth_method`, `class`, `parser`), for filters, merge keys and
    /// templates. Numbers and enums are rendered as they serialise; JSON values in `vendor` and
    /// `unmapped` as their string, or as compact JSON when they are not strings (numbers and
    /// booleans as they are written: `4624`, `true`).
    ///
    /// Below `vendor.` and `unmapped.` the rest of the path is first looked up as one key
    /// (`vendor.syslog.facility`, `vendor.sd.origin.ip`); when there is no such key it walks
    /// into nested values: `vendor.userIdentity.arn` is the `arn` of the object kept under
    /// `userIdentity`. At each level the longest key that is a prefix of the remaining path is
    /// tried first, so a key that itself contains dots (`authorization.k8s.io/decision`) is
    /// found; a segment of digits indexes an array (`vendor.Records.0.eventName`).
    pub fn text_field(&self, path: &str) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        fn s(v: &Option<String>) -> Option<Cow<'_, str>> {
            v.as_deref().map(Cow::Borrowed)
        }
        fn n<T: ToString>(v: Option<T>) -> Option<Cow<'static, str>> {
            v.map(|x| Cow::Owned(x.to_string()))
        }
        fn e<T: Serialize>(v: &T) -> Option<Cow<'static, str>> {
            match serde_json::to_value(v) {
                Ok(serde_json::Value::String(text)) => Some(Cow::Owned(text)),
                _ => None,
            }
        }
        fn json(v: &serde_json::Value) -> Cow<'_, str> {
            match v {
                serde_json::Value::String(text) => Cow::Borrowed(text.as_str()),
                other => Cow::Owned(other.to_string()),
            }
        }
        fn user<'a>(u: &'a Option<User>, f: &str) -> Option<Cow<'a, str>> {
            let u = u.as_ref()?;
            match f {
                "name" => s(&u.name),
                "uid" => s(&u.uid),
                "domain" => s(&u.domain),
                _ => None,
            }
        }
        fn endpoint<'a>(ep: &'a Option<Endpoint>, f: &str) -> Option<Cow<'a, str>> {
            let ep = ep.as_ref()?;
            match f {
                "ip" => s(&ep.ip),
                "port" => n(ep.port),
                "hostname" => s(&ep.hostname),
                "interface" => s(&ep.interface),
                _ => None,
            }
        }
        if let Some(name) = path.strip_prefix("vendor.") {
            return lookup_json(&self.vendor, name).map(json);
        }
        if let Some(name) = path.strip_prefix("unmapped.") {
            return lookup_json(&self.unmapped, name).map(json);
        }
        let (head, rest) = path.split_once('.').unwrap_or((path, ""));
        match (head, rest) {
            ("source", "") => Some(Cow::Borrowed(self.source.as_str())),
            ("tenant", "") => Some(Cow::Borrowed(self.tenant.as_str())),
            ("raw", "") => Some(Cow::Borrowed(self.raw.as_str())),
            ("parser", "") => s(&self.parser),
            ("parse", "") => e(&self.parse),
            ("log_kind", "") => e(&self.log_kind),
            ("class", "") => e(&self.class),
            ("class_uid", "") => n(Some(self.class.uid())),
            ("activity_id", "") => n(Some(self.activity_id)),
            ("activity", "") => s(&self.activity),
            ("severity", "") => self.severity.as_ref().and_then(e),
            ("status", "") => self.status.as_ref().and_then(e),
            ("status_detail", "") => s(&self.status_detail),
            ("action", "") => self.action.as_ref().and_then(e),
            ("message", "") => s(&self.message),
            ("target", "") => s(&self.target),
            ("attack_type", "") => s(&self.attack_type),
            ("feature", "") => s(&self.feature),
            ("file", "") => s(&self.file),
            ("query", "") => s(&self.query),
            ("user", f) => user(&self.user, f),
            ("actor", f) => {
                let actor = self.actor.as_ref()?;
                match f.split_once('.') {
                    Some(("user", g)) => user(&actor.user, g),
                    Some(("process", g)) => {
                        let p = actor.process.as_ref()?;
                        match g {
                            "name" => s(&p.name),
                            "pid" => n(p.pid),
                            "cmd_line" => s(&p.cmd_line),
                            "path" => s(&p.path),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            }
            ("src_endpoint", f) => endpoint(&self.src_endpoint, f),
            ("dst_endpoint", f) => endpoint(&self.dst_endpoint, f),
            ("device", f) => {
                let d = self.device.as_ref()?;
                match f {
                    "hostname" => s(&d.hostname),
                    "ip" => s(&d.ip),
                    _ => None,
                }
            }
            ("product", f) => {
                let p = self.product.as_ref()?;
                match f {
                    "vendor_name" => s(&p.vendor_name),
                    "name" => s(&p.name),
                    "version" => s(&p.version),
                    _ => None,
                }
            }
            ("http", f) => {
                let h = self.http.as_ref()?;
                match f {
                    "method" => s(&h.method),
                    "url" => s(&h.url),
                    "version" => s(&h.version),
                    "user_agent" => s(&h.user_agent),
                    "referrer" => s(&h.referrer),
                    "status_code" => n(h.status_code),
                    "response_bytes" => n(h.response_bytes),
                    _ => None,
                }
            }
            ("connection", f) => {
                let c = self.connection.as_ref()?;
                match f {
                    "protocol" => s(&c.protocol),
                    "bytes" => n(c.bytes),
                    _ => None,
                }
            }
            ("detection", f) => {
                let d = self.detection.as_ref()?;
                match f {
                    "rule_uid" => s(&d.rule_uid),
                    "title" => s(&d.title),
                    "category" => s(&d.category),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// The most key lookups one [`lookup_json`] may make: a path of `n` dots can be split into keys
/// in `2^n` ways, and keys that are prefixes of one another could make the walk try many of them.
const MAX_PATH_LOOKUPS: usize = 256;

/// The value at `path` below `map`: the exact key first, else a walk into nested values (see
/// [`Event::text_field`]).
fn lookup_json<'a>(
    map: &'a BTreeMap<String, serde_json::Value>,
    path: &str,
) -> Option<&'a serde_json::Value> {
    if path.is_empty() {
        return None;
    }
    if let Some(value) = map.get(path) {
        return Some(value);
    }
    let mut budget = MAX_PATH_LOOKUPS;
    // Longest key prefix first: every dot from the right.
    for (at, _) in path.rmatch_indices('.') {
        let (Some(head), Some(rest)) = (path.get(..at), path.get(at + 1..)) else {
            continue;
        };
        if budget == 0 {
            return None;
        }
        budget -= 1;
        if let Some(inner) = map.get(head)
            && let Some(found) = walk(inner, rest, &mut budget)
        {
            return Some(found);
        }
    }
    None
}

/// The value at `path` below `value`, an object or an array (see [`lookup_json`]).
fn walk<'a>(
    value: &'a serde_json::Value,
    path: &str,
    budget: &mut usize,
) -> Option<&'a serde_json::Value> {
    if path.is_empty() {
        return None;
    }
    match value {
        serde_json::Value::Object(map) => {
            // The whole rest as one key, then ever shorter key prefixes.
            let splits =
                std::iter::once(path.len()).chain(path.rmatch_indices('.').map(|(i, _)| i));
            for at in splits {
                if *budget == 0 {
                    return None;
                }
                *budget -= 1;
                let Some(head) = path.get(..at) else {
                    continue;
                };
                let Some(inner) = map.get(head) else {
                    continue;
                };
                match path.get(at + 1..) {
                    None => return Some(inner),
                    Some(rest) => {
                        if let Some(found) = walk(inner, rest, budget) {
                            return Some(found);
                        }
                    }
                }
            }
            None
        }
        serde_json::Value::Array(items) => {
            let (head, rest) = match path.split_once('.') {
                Some((head, rest)) => (head, Some(rest)),
                None => (path, None),
            };
            if head.is_empty() || !head.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let item = items.get(head.parse::<usize>().ok()?)?;
            match rest {
                None => Some(item),
                Some(rest) => walk(item, rest, budget),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_names_are_the_serialised_ones() {
        for s in [
            Severity::Info,
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    fn event() -> Event {
        Event::unparsed(
            RecordId::derive("event", &["test", "1"]),
            TenantId::default(),
            "syslog-udp",
            "2026-01-01T00:00:00Z".parse().unwrap(),
            "<13>Jan  1 00:00:00 host sshd[1]: hello",
        )
    }

    #[test]
    fn unparsed_event_serialises_only_its_envelope() {
        let json = serde_json::to_value(event()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "activity_id",
                "class",
                "id",
                "log_kind",
                "parse",
                "raw",
                "received",
                "source",
                "tenant",
                "time",
                "time_status"
            ]
        );
        assert_eq!(json["parse"], "unparsed");
        assert_eq!(json["time_status"], "received");
    }

    #[test]
    fn reset_undoes_a_parser_but_keeps_the_envelope() {
        let mut e = event();
        e.time_status = TimeStatus::Inferred;
        e.device = Some(Device {
            hostname: Some("host".into()),
            ip: None,
        });
        e.time = "2025-12-31T23:00:00Z".parse().unwrap();
        e.set_parsed("sshd", EventClass::Authentication, 1);
        e.actor_user().name = Some("root".into());
        e.vendor.insert("x".into(), 1.into());
        e.reset_normalised();
        assert_eq!(e, event());
    }

    #[test]
    fn type_uid_and_category_follow_ocsf() {
        let mut e = event();
        e.set_parsed("sshd", EventClass::Authentication, 1);
        assert_eq!(e.type_uid(), 300_201);
        assert_eq!(EventClass::HttpActivity.category_uid(), 4);
        assert_eq!(e.log_kind, LogKind::BehaviourEvent);
    }

    #[test]
    fn fields_are_reachable_by_path() {
        let mut e = event();
        e.set_parsed("sshd", EventClass::Authentication, 1);
        e.actor_process().pid = Some(42);
        e.src().ip = Some("192.0.2.9".into());
        e.severity = Some(Severity::Low);
        e.vendor.insert("EventID".into(), 4625.into());
        e.vendor.insert("Channel".into(), "Security".into());
        assert_eq!(e.text_field("actor.process.pid").as_deref(), Some("42"));
        assert_eq!(
            e.text_field("src_endpoint.ip").as_deref(),
            Some("192.0.2.9")
        );
        assert_eq!(e.text_field("severity").as_deref(), Some("low"));
        assert_eq!(e.text_field("class").as_deref(), Some("authentication"));
        assert_eq!(e.text_field("class_uid").as_deref(), Some("3002"));
        assert_eq!(e.text_field("vendor.EventID").as_deref(), Some("4625"));
        assert_eq!(e.text_field("vendor.Channel").as_deref(), Some("Security"));
        assert_eq!(e.text_field("parser").as_deref(), Some("sshd"));
        assert_eq!(e.text_field("user.name"), None);
        assert_eq!(e.text_field("no.such.field"), None);
    }

    #[test]
    fn vendor_paths_walk_into_nested_values() {
        let mut e = event();
        let record: serde_json::Value = serde_json::from_str(
            r#"{
                "eventSource": "iam.amazonaws.com",
                "userIdentity": {"arn": "arn:aws:iam::1:user/alice", "sessionContext":
                    {"mfaAuthenticated": false, "sessionIssuer": {"userName": "admin"}}},
                "requestParameters": {"userName": "bob", "maxItems": 100, "ratio": 0.5,
                    "tags": [{"key": "team"}, "x"], "empty": null},
                "annotations": {"authorization.k8s.io/decision": "allow",
                    "authorization.k8s.io": {"decision": "shadowed"}},
                "a.b": {"c": "dotted key wins when it has the rest"},
                "a": {"b": {"c": "nested", "d": "only nested"}},
                "syslog.facility": 4
            }"#,
        )
        .unwrap();
        let serde_json::Value::Object(record) = record else {
            unreachable!()
        };
        e.vendor.extend(record);
        e.unmapped
            .insert("resp".into(), serde_json::json!({"code": 404}));
        let get = |path: &str| e.text_field(path).map(|v| v.into_owned());
        assert_eq!(
            get("vendor.eventSource").as_deref(),
            Some("iam.amazonaws.com")
        );
        assert_eq!(
            get("vendor.userIdentity.arn").as_deref(),
            Some("arn:aws:iam::1:user/alice")
        );
        assert_eq!(
            get("vendor.userIdentity.sessionContext.sessionIssuer.userName").as_deref(),
            Some("admin")
        );
        // Numbers, booleans and null render as JSON; objects as compact JSON.
        assert_eq!(
            get("vendor.userIdentity.sessionContext.mfaAuthenticated").as_deref(),
            Some("false")
        );
        assert_eq!(
            get("vendor.requestParameters.maxItems").as_deref(),
            Some("100")
        );
        assert_eq!(
            get("vendor.requestParameters.ratio").as_deref(),
            Some("0.5")
        );
        assert_eq!(
            get("vendor.requestParameters.empty").as_deref(),
            Some("null")
        );
        assert_eq!(
            get("vendor.userIdentity.sessionContext.sessionIssuer").as_deref(),
            Some(r#"{"userName":"admin"}"#)
        );
        // Array items by index.
        assert_eq!(
            get("vendor.requestParameters.tags.0.key").as_deref(),
            Some("team")
        );
        assert_eq!(get("vendor.requestParameters.tags.1").as_deref(), Some("x"));
        assert_eq!(get("vendor.requestParameters.tags.2"), None);
        assert_eq!(get("vendor.requestParameters.tags.key"), None);
        // Keys with dots: the exact top-level key, then the longest key prefix at each level.
        assert_eq!(get("vendor.syslog.facility").as_deref(), Some("4"));
        assert_eq!(
            get("vendor.annotations.authorization.k8s.io/decision").as_deref(),
            Some("allow")
        );
        assert_eq!(
            get("vendor.annotations.authorization.k8s.io.decision").as_deref(),
            Some("shadowed")
        );
        assert_eq!(
            get("vendor.a.b.c").as_deref(),
            Some("dotted key wins when it has the rest")
        );
        // A longer key that does not lead anywhere falls back to the shorter one.
        assert_eq!(get("vendor.a.b.d").as_deref(), Some("only nested"));
        // Misses.
        for miss in [
            "vendor.",
            "vendor.nope",
            "vendor.userIdentity.",
            "vendor.userIdentity.arn.deeper",
            "vendor.eventSource.x",
            "vendor..userIdentity",
            "vendor.requestParameters.tags.-1",
        ] {
            assert_eq!(get(miss), None, "{miss}");
        }
        // The same walk below `unmapped`.
        assert_eq!(get("unmapped.resp.code").as_deref(), Some("404"));
    }

    #[test]
    fn vendor_path_walks_are_bounded() {
        // Keys that are prefixes of one another at every level: a path that is not there gives
        // up after a bounded number of lookups instead of trying every way to split it.
        let mut level = serde_json::json!({"end": 1});
        for _ in 0..6 {
            let mut object = serde_json::Map::new();
            for key in ["a", "a.a", "a.a.a", "a.a.a.a"] {
                object.insert(key.to_owned(), level.clone());
            }
            level = serde_json::Value::Object(object);
        }
        let mut e = event();
        e.vendor.insert("x".into(), level);
        let started = std::time::Instant::now();
        let missing = format!("vendor.x.{}missing", "a.".repeat(40));
        assert_eq!(e.text_field(&missing), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Plain nested paths of ordinary depth are found.
        let mut nested = serde_json::json!("deep");
        for i in (0..16).rev() {
            nested = serde_json::json!({ format!("k{i}"): nested });
        }
        e.vendor.insert("n".into(), nested);
        let path: Vec<String> = (0..16).map(|i| format!("k{i}")).collect();
        assert_eq!(
            e.text_field(&format!("vendor.n.{}", path.join(".")))
                .as_deref(),
            Some("deep")
        );
    }

    #[test]
    fn round_trips_through_json() {
        let mut e = event();
        e.set_parsed("nginx", EventClass::HttpActivity, 2);
        e.http_mut().status_code = Some(404);
        e.src().ip = Some("192.0.2.1".into());
        let back: Event = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
