//! Per-source filtering and aggregation: drop rules, and merging of repeated events.
//!
//! A [`DropRule`] removes events the user has declared irrelevant (health checks, debug noise).
//! Every condition of a rule must hold; a source's rules are tried in order. Dropped events are
//! counted, never silently lost: the pipeline reports the count per source.
//!
//! A [`Merger`] folds events that repeat within a window into the first of them, which then
//! carries [`Repeats`] (count, first and last seen). Two events repeat each other when the fields
//! of the merge key are equal (by default parser, feature, message, source address and user).
//! The first event of a group is held until its window closes, so merging adds up to one window
//! of latency; the number of open groups is bounded, and the oldest group is released early when
//! the bound is reached. Only the first event's raw text is kept: that is the point of merging,
//! so it is off unless configured.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;
use regex::Regex;
use serde::Deserialize;
use shieldwall_core::event::Repeats;
use shieldwall_core::{Event, Severity};

/// One drop rule as configured.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropRuleConfig {
    /// The parser that recognised the event (`unparsed` for events nothing recognised).
    #[serde(default)]
    pub parser: Option<String>,
    /// Exact values of event fields by path (`http.url = "/health"`).
    #[serde(default)]
    pub fields: HashMap<String, String>,
    /// A regex the message (or, without one, the raw text) must match.
    #[serde(default)]
    pub message_regex: Option<String>,
    /// Drop only events less severe than this.
    #[serde(default)]
    pub severity_below: Option<Severity>,
}

/// A compiled drop rule.
#[derive(Debug, Clone)]
pub struct DropRule {
    parser: Option<String>,
    fields: Vec<(String, String)>,
    message: Option<Regex>,
    severity_below: Option<Severity>,
}

/// A drop rule that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A bad regex.
    #[error("drop rule {index}: bad message_regex: {reason}")]
    Regex {
        /// 1-based position of the rule in its source's list.
        index: usize,
        /// The regex error.
        reason: String,
    },
    /// A rule with no condition would drop everything.
    #[error("drop rule {0} has no condition; it would drop every event of the source")]
    Empty(usize),
    /// A merge key that names no field.
    #[error("merge key field `{0}` is not an event field")]
    UnknownField(String),
}

impl DropRule {
    /// Compiles the configured rules of one source, in order.
    pub fn compile_all(configs: &[DropRuleConfig]) -> Result<Vec<DropRule>, FilterError> {
        configs
            .iter()
            .enumerate()
            .map(|(i, c)| DropRule::compile(i + 1, c))
            .collect()
    }

    fn compile(index: usize, c: &DropRuleConfig) -> Result<DropRule, FilterError> {
        if c.parser.is_none()
            && c.fields.is_empty()
            && c.message_regex.is_none()
            && c.severity_below.is_none()
        {
            return Err(FilterError::Empty(index));
        }
        let message = match &c.message_regex {
            Some(r) => Some(Regex::new(r).map_err(|e| FilterError::Regex {
                index,
                reason: e.to_string(),
            })?),
            None => None,
        };
        let mut fields: Vec<(String, String)> = c
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        fields.sort();
        Ok(DropRule {
            parser: c.parser.clone(),
            fields,
            message,
            severity_below: c.severity_below,
        })
    }

    /// Whether the rule drops `event`.
    pub fn matches(&self, event: &Event) -> bool {
        if let Some(parser) = &self.parser {
            let actual = event.parser.as_deref().unwrap_or("unparsed");
            if actual != parser {
                return false;
            }
        }
        if let Some(limit) = self.severity_below
            && event.severity.is_none_or(|s| s >= limit)
        {
            return false;
        }
        for (path, wanted) in &self.fields {
            if event.text_field(path).as_deref() != Some(wanted.as_str()) {
                return false;
            }
        }
        if let Some(regex) = &self.message {
            let text = event.message.as_deref().unwrap_or(&event.raw);
            if !regex.is_match(text) {
                return false;
            }
        }
        true
    }
}

/// Merging as configured for one source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeConfig {
    /// How long a group stays open after its first event, in seconds.
    pub window_secs: u64,
    /// The fields whose equality makes events repeats of each other.
    #[serde(default = "default_merge_key")]
    pub key: Vec<String>,
    /// The most groups open at once; beyond it the oldest is released early.
    #[serde(default = "default_max_groups")]
    pub max_groups: usize,
}

fn default_merge_key() -> Vec<String> {
    [
        "parser",
        "feature",
        "message",
        "src_endpoint.ip",
        "user.name",
    ]
    .map(String::from)
    .to_vec()
}

fn default_max_groups() -> usize {
    10_000
}

/// What [`Merger::push`] did with an event.
#[derive(Debug)]
pub enum Pushed {
    /// It repeats an open group and was folded into that group's first event.
    Merged,
    /// It opened a new group. When the bound on groups was reached, the oldest group was
    /// released to make room.
    Opened {
        /// The released group's event (boxed: events are large, `Merged` is the common case).
        released: Option<Box<Event>>,
    },
}

struct Group {
    event: Event,
    /// The position of the first event in its stream (the spool sequence), for acknowledgement.
    position: u64,
    opened: Timestamp,
}

/// Folds repeats into the first event of their group.
pub struct Merger {
    window: Duration,
    key: Vec<String>,
    max_groups: usize,
    groups: HashMap<String, Group>,
}

impl Merger {
    /// A merger for `config`.
    pub fn new(config: &MergeConfig) -> Result<Merger, FilterError> {
        for field in &config.key {
            if !known_path(field) {
                return Err(FilterError::UnknownField(field.clone()));
            }
        }
        Ok(Merger {
            window: Duration::from_secs(config.window_secs),
            key: config.key.clone(),
            max_groups: config.max_groups.max(1),
            groups: HashMap::new(),
        })
    }

    /// Offers an event read at stream `position`, at processing time `now`.
    pub fn push(&mut self, event: Event, position: u64, now: Timestamp) -> Pushed {
        let key = self.key_of(&event);
        if let Some(group) = self.groups.get_mut(&key) {
            let repeats = group.event.repeats.get_or_insert(Repeats {
                count: 1,
                first_seen: group.event.time,
                last_seen: group.event.time,
            });
            repeats.count += 1;
            repeats.first_seen = repeats.first_seen.min(event.time);
            repeats.last_seen = repeats.last_seen.max(event.time);
            return Pushed::Merged;
        }
        let mut released = None;
        if self.groups.len() >= self.max_groups
            && let Some(oldest) = self
                .groups
                .iter()
                .min_by_key(|(_, g)| (g.opened, g.position))
                .map(|(k, _)| k.clone())
            && let Some(g) = self.groups.remove(&oldest)
        {
            released = Some(Box::new(g.event));
        }
        self.groups.insert(
            key,
            Group {
                event,
                position,
                opened: now,
            },
        );
        Pushed::Opened { released }
    }

    /// Releases the groups whose window has closed at `now`, oldest first.
    pub fn release_due(&mut self, now: Timestamp) -> Vec<Event> {
        let window = self.window;
        let mut due: Vec<(u64, String)> = self
            .groups
            .iter()
            .filter(|(_, g)| now.duration_since(g.opened).as_secs_f64() >= window.as_secs_f64())
            .map(|(k, g)| (g.position, k.clone()))
            .collect();
        due.sort();
        due.into_iter()
            .filter_map(|(_, k)| self.groups.remove(&k).map(|g| g.event))
            .collect()
    }

    /// Releases every group (shutdown).
    pub fn release_all(&mut self) -> Vec<Event> {
        let mut all: Vec<Group> = self.groups.drain().map(|(_, g)| g).collect();
        all.sort_by_key(|g| g.position);
        all.into_iter().map(|g| g.event).collect()
    }

    /// The stream position of the oldest held event: the stream may be acknowledged only
    /// before it.
    pub fn oldest_held(&self) -> Option<u64> {
        self.groups.values().map(|g| g.position).min()
    }

    /// How many groups are open.
    pub fn open_groups(&self) -> usize {
        self.groups.len()
    }

    fn key_of(&self, event: &Event) -> String {
        let mut key = String::new();
        for field in &self.key {
            if let Some(v) = event.text_field(field) {
                key.push_str(&v);
            }
            // A separator that cannot occur in text keeps ("a", "bc") apart from ("ab", "c").
            key.push('\u{1f}');
        }
        key
    }
}

/// Whether `path` names a field [`Event::text_field`] knows.
fn known_path(path: &str) -> bool {
    const ROOTS: &[&str] = &[
        "source",
        "tenant",
        "raw",
        "parser",
        "parse",
        "log_kind",
        "class",
        "class_uid",
        "activity_id",
        "activity",
        "severity",
        "status",
        "status_detail",
        "action",
        "message",
        "target",
        "attack_type",
        "feature",
        "file",
        "query",
    ];
    const NESTED: &[&str] = &[
        "user.",
        "actor.user.",
        "actor.process.",
        "src_endpoint.",
        "dst_endpoint.",
        "device.",
        "product.",
        "http.",
        "connection.",
        "detection.",
        "vendor.",
        "unmapped.",
    ];
    ROOTS.contains(&path)
        || NESTED
            .iter()
            .any(|p| path.starts_with(p) && path.len() > p.len())
}

#[cfg(test)]
mod tests {
    use shieldwall_core::{EventClass, RecordId, TenantId};

    use super::*;

    fn event(n: u32, message: &str, ip: &str) -> Event {
        let mut e = Event::unparsed(
            RecordId::derive("e", &[&n.to_string()]),
            TenantId::default(),
            "s",
            Timestamp::from_second(1_000 + i64::from(n)).unwrap(),
            message,
        );
        e.set_parsed("sshd", EventClass::Authentication, 1);
        e.time = e.received;
        e.message = Some(message.into());
        e.src().ip = Some(ip.into());
        e.severity = Some(Severity::Info);
        e
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    #[test]
    fn drop_rules_need_every_condition() {
        let rules = DropRule::compile_all(&[DropRuleConfig {
            parser: Some("sshd".into()),
            message_regex: Some("^Connection closed".into()),
            severity_below: Some(Severity::Low),
            ..DropRuleConfig::default()
        }])
        .unwrap();
        assert!(rules[0].matches(&event(1, "Connection closed by 1.2.3.4", "1.2.3.4")));
        assert!(!rules[0].matches(&event(1, "Failed password", "1.2.3.4")));
        let mut severe = event(1, "Connection closed by 1.2.3.4", "1.2.3.4");
        severe.severity = Some(Severity::High);
        assert!(!rules[0].matches(&severe));
    }

    #[test]
    fn drop_rules_match_fields_and_refuse_to_be_empty() {
        let mut fields = HashMap::new();
        fields.insert("src_endpoint.ip".to_owned(), "10.0.0.1".to_owned());
        let rules = DropRule::compile_all(&[DropRuleConfig {
            fields,
            ..DropRuleConfig::default()
        }])
        .unwrap();
        assert!(rules[0].matches(&event(1, "x", "10.0.0.1")));
        assert!(!rules[0].matches(&event(1, "x", "10.0.0.2")));
        assert_eq!(
            DropRule::compile_all(&[DropRuleConfig::default()]).unwrap_err(),
            FilterError::Empty(1)
        );
        assert!(matches!(
            DropRule::compile_all(&[DropRuleConfig {
                message_regex: Some("(".into()),
                ..DropRuleConfig::default()
            }]),
            Err(FilterError::Regex { index: 1, .. })
        ));
    }

    fn merger(window: u64, max: usize) -> Merger {
        Merger::new(&MergeConfig {
            window_secs: window,
            key: default_merge_key(),
            max_groups: max,
        })
        .unwrap()
    }

    #[test]
    fn repeats_fold_into_the_first_with_count_and_span() {
        let mut m = merger(10, 100);
        assert!(matches!(
            m.push(event(1, "Failed password", "1.2.3.4"), 1, at(0)),
            Pushed::Opened { released: None }
        ));
        assert!(matches!(
            m.push(event(2, "Failed password", "1.2.3.4"), 2, at(1)),
            Pushed::Merged
        ));
        assert!(matches!(
            m.push(event(5, "Failed password", "1.2.3.4"), 3, at(2)),
            Pushed::Merged
        ));
        assert!(matches!(
            m.push(event(6, "Failed password", "5.6.7.8"), 4, at(3)),
            Pushed::Opened { released: None }
        ));
        assert_eq!(m.oldest_held(), Some(1));
        assert!(m.release_due(at(9)).is_empty());
        let released = m.release_due(at(10));
        assert_eq!(released.len(), 1);
        let r = released[0].repeats.unwrap();
        assert_eq!(r.count, 3);
        assert_eq!((r.first_seen, r.last_seen), (at(1001), at(1005)));
        assert_eq!(
            released[0].id,
            event(1, "", "").id,
            "the first event's id is kept"
        );
        assert_eq!(m.oldest_held(), Some(4));
        let rest = m.release_all();
        assert_eq!(rest.len(), 1);
        assert!(rest[0].repeats.is_none(), "a lone event carries no repeats");
    }

    #[test]
    fn the_group_bound_releases_the_oldest_early() {
        let mut m = merger(60, 2);
        m.push(event(1, "a", "1"), 1, at(0));
        m.push(event(2, "b", "1"), 2, at(1));
        let Pushed::Opened {
            released: Some(released),
        } = m.push(event(3, "c", "1"), 3, at(2))
        else {
            panic!("the oldest group is released");
        };
        assert_eq!(released.message.as_deref(), Some("a"));
        assert_eq!(m.open_groups(), 2);
    }

    #[test]
    fn unknown_merge_fields_are_refused() {
        let err = Merger::new(&MergeConfig {
            window_secs: 1,
            key: vec!["src.ip".into()],
            max_groups: 1,
        });
        assert!(matches!(err, Err(FilterError::UnknownField(f)) if f == "src.ip"));
    }
}
