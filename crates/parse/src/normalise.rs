//! From one accepted message to one [`Event`]: the syslog layer, then the parser registry.
//!
//! [`Normaliser::normalise`] never fails and never drops: whatever arrives becomes an event that
//! keeps its raw text. Text that is not valid UTF-8 is kept lossily in `raw` and exactly, as
//! base64, in `unmapped.raw_base64`.
//!
//! Order of work for one message:
//!
//! 1. The envelope: id, tenant, source, receive time, raw text. The id is derived from the
//!    tenant, the source and the message's natural key (see [`Received::key`]), so that reading
//!    the same record twice yields the same id.
//! 2. The syslog layer, unless the source says its messages are not syslog: header time
//!    (`time_status` stated or inferred; an invalid or missing header time keeps the receive time
//!    and says so), host, program, pid, severity, structured data.
//! 3. The registry offers the message text (the syslog MSG, or the whole line) to its candidates.
//! 4. Defaults the parser left open are filled from the syslog layer: `message`, `severity`,
//!    `device`, the acting process, and the syslog fields in `vendor` (`syslog.facility`,
//!    `syslog.severity`, `syslog.msgid`, and each structured-data param as `sd.<id>.<name>`).

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;
use shieldwall_core::event::{Device, Process};
use shieldwall_core::{Event, RecordId, Severity, TenantId, TimeStatus};

use crate::registry::{Message, Registry};
use crate::syslog::{self, Format, ParseContext, TimestampStatus};

/// Whether a source's messages carry a syslog header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyslogLayer {
    /// Read a syslog header when there is one (a PRI, or a timestamp at the start), else take the
    /// whole line as the message.
    #[default]
    Auto,
    /// The messages never carry one (JSON, access logs): the whole line is the message.
    Off,
}

/// How the messages of one source are read.
#[derive(Debug, Clone)]
pub struct SourceProfile {
    /// The tenant its events belong to.
    pub tenant: TenantId,
    /// The zone of its clock, for timestamps without an offset.
    pub time_zone: TimeZone,
    /// Whether to look for a syslog header.
    pub syslog: SyslogLayer,
}

impl Default for SourceProfile {
    fn default() -> Self {
        SourceProfile {
            tenant: TenantId::default(),
            time_zone: TimeZone::UTC,
            syslog: SyslogLayer::Auto,
        }
    }
}

/// One message as the collector accepted it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The source's name.
    pub source: &'a str,
    /// When it was accepted.
    pub received: Timestamp,
    /// What identifies this message within its source, stable across re-reads: a file's
    /// `path:inode:offset`, or the spool sequence with the receive time.
    pub key: &'a str,
    /// The bytes as received.
    pub payload: &'a [u8],
}

/// Turns accepted messages into events.
#[derive(Clone)]
pub struct Normaliser {
    registry: Arc<Registry>,
    profiles: HashMap<String, SourceProfile>,
    default_profile: SourceProfile,
}

impl Normaliser {
    /// A normaliser over `registry`; sources without a profile get the default one.
    pub fn new(registry: Arc<Registry>) -> Normaliser {
        Normaliser {
            registry,
            profiles: HashMap::new(),
            default_profile: SourceProfile::default(),
        }
    }

    /// Sets how a source's messages are read.
    pub fn set_profile(&mut self, source: &str, profile: SourceProfile) {
        self.profiles.insert(source.to_owned(), profile);
    }

    /// The registry in use.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// One message into one event. Never fails.
    pub fn normalise(&self, message: &Received<'_>) -> Event {
        let profile = self
            .profiles
            .get(message.source)
            .unwrap_or(&self.default_profile);
        let id = RecordId::derive(
            "event",
            &[profile.tenant.as_str(), message.source, message.key],
        );
        // `from_utf8` validates much faster than `from_utf8_lossy` scans; valid text is the rule.
        let payload_text = match std::str::from_utf8(message.payload) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(message.payload),
        };
        // The payload as text when it is valid UTF-8: the syslog MSG is then a slice of it.
        let exact_text = match &payload_text {
            std::borrow::Cow::Borrowed(text) => Some(*text),
            std::borrow::Cow::Owned(_) => None,
        };
        let mut event = Event::unparsed(
            id,
            profile.tenant.clone(),
            message.source,
            message.received,
            payload_text.as_ref(),
        );
        let context = ParseContext::new(message.received, profile.time_zone.clone());
        // The syslog layer reads the header; the MSG is not copied but read in place.
        let mut parts = match profile.syslog {
            SyslogLayer::Auto => Some(syslog::parse_parts(message.payload, &context))
                .filter(|p| p.header.format != Format::Unknown),
            SyslogLayer::Off => None,
        };
        let syslog_text = parts
            .as_mut()
            .map(|p| p.message_in(message.payload, exact_text));
        let header = parts.map(|p| p.header);
        let mut timestamp_invalid = false;
        if let Some(h) = &header {
            match (h.timestamp, h.timestamp_status) {
                (Some(t), TimestampStatus::Parsed) => {
                    event.time = t;
                    event.time_status = TimeStatus::Stated;
                }
                (Some(t), TimestampStatus::Inferred) => {
                    event.time = t;
                    event.time_status = TimeStatus::Inferred;
                }
                (_, TimestampStatus::Invalid) => timestamp_invalid = true,
                _ => {}
            }
            if h.hostname.is_some() {
                event.device = Some(Device {
                    hostname: h.hostname.clone(),
                    ip: None,
                });
            }
        }
        let text: &str = match &syslog_text {
            Some(t) => t,
            None => trim_line_end(&payload_text),
        };
        let parse_message = Message {
            source: message.source,
            program: header.as_ref().and_then(|h| h.app_name.as_deref()),
            pid: header.as_ref().and_then(|h| h.proc_id.as_deref()),
            hostname: header.as_ref().and_then(|h| h.hostname.as_deref()),
            text,
            context: &context,
        };
        self.registry.parse(&parse_message, &mut event);

        if event.message.is_none() && !text.is_empty() {
            event.message = Some(text.to_owned());
        }
        if let Some(h) = header {
            fill_from_syslog(&mut event, h);
        }
        if timestamp_invalid {
            event
                .unmapped
                .insert("timestamp_invalid".into(), Value::Bool(true));
        }
        if exact_text.is_none() {
            event
                .unmapped
                .insert("raw_base64".into(), Value::String(base64(message.payload)));
        }
        event
    }
}

/// Fills what the parser left open from the syslog header, moving its strings into the event.
fn fill_from_syslog(event: &mut Event, h: syslog::SyslogMessage) {
    if event.severity.is_none() {
        event.severity = h.severity.map(Severity::from_syslog);
    }
    if event.device.is_none() && h.hostname.is_some() {
        event.device = Some(Device {
            hostname: h.hostname,
            ip: None,
        });
    }
    if h.app_name.is_some() && event.actor.as_ref().is_none_or(|a| a.process.is_none()) {
        let process = event.actor_process();
        *process = Process {
            name: h.app_name,
            pid: h.proc_id.as_deref().and_then(|p| p.parse().ok()),
            ..Process::default()
        };
    }
    let vendor = &mut event.vendor;
    if let Some(f) = h.facility {
        vendor
            .entry("syslog.facility".into())
            .or_insert(Value::from(f));
    }
    if let Some(s) = h.severity {
        vendor
            .entry("syslog.severity".into())
            .or_insert(Value::from(s));
    }
    if let Some(m) = h.msg_id {
        vendor
            .entry("syslog.msgid".into())
            .or_insert_with(|| Value::String(m));
    }
    for element in h.structured_data {
        for (name, value) in element.params {
            vendor
                .entry(format!("sd.{}.{}", element.id, name))
                .or_insert_with(|| Value::String(value));
        }
    }
    if !h.anomalies.is_empty() {
        let names: Vec<Value> = h
            .anomalies
            .iter()
            .map(|a| Value::from(format!("{a:?}")))
            .collect();
        event
            .unmapped
            .insert("syslog.anomalies".into(), Value::Array(names));
    }
}

fn trim_line_end(text: &str) -> &str {
    text.trim_end_matches(['\n', '\r', '\0'])
}

/// Standard base64 with padding, for the exact bytes of non-UTF-8 input.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                let index = ((n >> shift) & 63) as usize;
                out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use shieldwall_core::{EventClass, EventParse};

    use super::*;
    use crate::registry::{Keys, Parser, TextParser};

    struct Hello;

    impl TextParser for Hello {
        fn id(&self) -> &str {
            "hello"
        }
        fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
            if message.text.starts_with("hello") {
                event.set_parsed("hello", EventClass::Base, 0);
                true
            } else {
                false
            }
        }
    }

    fn normaliser() -> Normaliser {
        let mut registry = Registry::new();
        registry
            .register(Parser::Text(Arc::new(Hello)), &Keys::programs(&["app"]))
            .unwrap();
        Normaliser::new(Arc::new(registry))
    }

    fn run(n: &Normaliser, payload: &[u8]) -> Event {
        n.normalise(&Received {
            source: "udp",
            received: "2026-03-01T10:00:00Z".parse().unwrap(),
            key: "spool:1",
            payload,
        })
    }

    #[test]
    fn syslog_header_fills_time_host_program_and_severity() {
        let e = run(
            &normaliser(),
            b"<35>Mar  1 09:59:58 web-1 app[42]: hello world",
        );
        assert_eq!(e.parse, EventParse::Parsed);
        assert_eq!(e.time, "2026-03-01T09:59:58Z".parse().unwrap());
        assert_eq!(e.time_status, TimeStatus::Inferred);
        assert_eq!(e.device.unwrap().hostname.as_deref(), Some("web-1"));
        let process = e.actor.unwrap().process.unwrap();
        assert_eq!(
            (process.name.as_deref(), process.pid),
            (Some("app"), Some(42))
        );
        assert_eq!(e.severity, Some(Severity::High));
        assert_eq!(e.message.as_deref(), Some("hello world"));
        assert_eq!(e.vendor["syslog.facility"], 4);
    }

    #[test]
    fn unrecognised_text_is_kept_unparsed_with_the_receive_time() {
        let e = run(&normaliser(), b"something nobody knows\n");
        assert_eq!(e.parse, EventParse::Unparsed);
        assert_eq!(e.time_status, TimeStatus::Received);
        assert_eq!(e.time, e.received);
        assert_eq!(e.raw, "something nobody knows\n");
        assert_eq!(e.message.as_deref(), Some("something nobody knows"));
    }

    #[test]
    fn an_invalid_header_time_is_marked_and_replaced_by_the_receive_time() {
        let e = run(
            &normaliser(),
            b"<13>1 2026-02-30T10:00:00Z host app - - - hello",
        );
        assert_eq!(e.time_status, TimeStatus::Received);
        assert_eq!(e.unmapped["timestamp_invalid"], true);
        assert_eq!(e.parse, EventParse::Parsed);
    }

    #[test]
    fn invalid_utf8_is_kept_exactly_in_base64() {
        let e = run(&normaliser(), b"caf\xe9 \x00\xff");
        assert_eq!(e.unmapped["raw_base64"], "Y2Fm6SAA/w==");
        assert!(e.raw.starts_with("caf\u{fffd}"));
    }

    #[test]
    fn ids_are_stable_for_the_same_key_and_differ_across_keys() {
        let n = normaliser();
        let a = run(&n, b"x");
        let b = run(&n, b"y");
        assert_eq!(a.id, b.id, "same source and key");
        let c = n.normalise(&Received {
            source: "udp",
            received: "2026-03-01T10:00:00Z".parse().unwrap(),
            key: "spool:2",
            payload: b"x",
        });
        assert_ne!(a.id, c.id);
    }

    #[test]
    fn the_message_read_in_place_is_the_syslog_layers_message() {
        // The normaliser reads the MSG as a slice of the payload instead of the syslog layer's
        // copy; both must agree on the text and on the anomalies, valid UTF-8 or not.
        let inputs: &[&[u8]] = &[
            b"<13>Mar  1 09:59:58 web-1 app[42]: some text\r\n\0",
            b"<13>Mar  1 09:59:58 web-1 app: caf\xe9 \xff",
            b"<13>Mar  1 09:59:58 w\xe9b app: fine text",
            b"<13>1 2026-03-01T09:59:58Z host app 1 ID [ex@1 a=\"x\\\"y\"] \xEF\xBB\xBFbom text",
            b"<13>1 2026-03-01T09:59:58Z host app 1 ID [ex@1 a=\"\xff\"] caf\xe9",
            b"<13>1 2026-03-01T09:59:58Z host app 1 ID [bad sd",
            b"<13>1 2026-03-01T09:59:58Z host app 1 ID -",
            b"<999>Mar  1 09:59:58 host app: invalid pri",
            b"<13>plain text after a pri \xc3",
        ];
        let n = normaliser();
        let ctx = ParseContext::new("2026-03-01T10:00:00Z".parse().unwrap(), TimeZone::UTC);
        for input in inputs {
            let expected = syslog::parse(input, &ctx);
            let e = run(&n, input);
            let shown = String::from_utf8_lossy(input);
            assert_eq!(
                e.message.as_deref(),
                Some(expected.message.as_str()).filter(|m| !m.is_empty()),
                "{shown}"
            );
            let anomalies: Vec<Value> = expected
                .anomalies
                .iter()
                .map(|a| Value::from(format!("{a:?}")))
                .collect();
            // A message without a syslog header is taken whole, and nothing of the layer's is
            // kept.
            let kept = expected.format != Format::Unknown && !anomalies.is_empty();
            assert_eq!(
                e.unmapped.get("syslog.anomalies"),
                kept.then_some(Value::Array(anomalies)).as_ref(),
                "{shown}"
            );
            for element in &expected.structured_data {
                for (name, value) in &element.params {
                    assert_eq!(e.vendor[&format!("sd.{}.{name}", element.id)], **value);
                }
            }
        }
    }

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
