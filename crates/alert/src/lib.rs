//! From rule matches and correlation hits to alerts (`docs/alerts.md`): the severity a rule's
//! level maps to, the author and licence credit, ATT&CK tags and the CCM v4.0.13 controls they
//! map to, the deduplication key and window from the tenant's [`Policy`], and the exceptions that
//! suppress an alert. What it builds is stored by the `MetaStore`
//! (`shieldwall_store::meta::NewAlert`); notification and response come after.

pub mod policy;

use std::collections::BTreeMap;

use jiff::Timestamp;
use shieldwall_catalog::CatalogError;
use shieldwall_catalog::attack::AttackMap;
use shieldwall_core::{RecordId, Severity, TenantId};
use shieldwall_detect::correlation::CorrelationHit;
use shieldwall_detect::{EventFields, Rule};
use shieldwall_store::meta::{AlertSource, NewAlert};

pub use policy::{Exception, Policy, PolicyError, RulePolicy};

/// What became of a match or a hit.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// An alert to raise, and the response action its rule names.
    Raise {
        /// The alert.
        alert: Box<NewAlert>,
        /// The response action named by the policy, if any.
        response: Option<String>,
    },
    /// An exception suppressed it.
    Suppressed {
        /// The exception's owner.
        owner: String,
        /// The exception's reason.
        reason: String,
    },
}

/// The severity of a Sigma level; a rule without one (or with an unknown one) is medium.
pub fn severity(level: Option<&str>) -> Severity {
    match level.map(str::to_ascii_lowercase).as_deref() {
        Some("informational") => Severity::Info,
        Some("low") => Severity::Low,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        _ => Severity::Medium,
    }
}

/// A field value as text: strings as they are, numbers and booleans as JSON writes them.
fn text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The longest group value kept in an alert, in bytes; a longer one is cut (at a character
/// boundary) and marked, so that attacker-chosen text cannot bloat alerts.
pub const MAX_GROUP_VALUE: usize = 1024;

/// `value`, cut to [`MAX_GROUP_VALUE`] bytes with a mark when longer, without NUL characters.
fn bounded(value: &str) -> String {
    let clean = value.replace('\0', "\u{fffd}");
    if clean.len() <= MAX_GROUP_VALUE {
        return clean;
    }
    let mut end = MAX_GROUP_VALUE;
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… ({} bytes)",
        clean.get(..end).unwrap_or(""),
        value.len()
    )
}

/// The deduplication key: the SHA-256 of the source, the rule and the (full) group values,
/// length-prefixed so that no two different inputs give the same text to hash. A hash keeps the
/// key short and free of whatever the events hold.
pub fn dedup_key<'a>(
    kind: AlertSource,
    rule_id: &str,
    group: impl Iterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut part = |text: &str| {
        context.update(&(text.len() as u64).to_le_bytes());
        context.update(text.as_bytes());
    };
    part(kind.as_str());
    part(rule_id);
    for (field, value) in group {
        part(field);
        part(value);
    }
    let digest = context.finish();
    let mut out = String::with_capacity(64);
    for byte in digest.as_ref() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Builds alerts.
#[derive(Debug, Clone, Copy)]
pub struct Alerter {
    attack: &'static AttackMap,
}

/// What an alert is built from, whatever raised it.
struct Source<'a> {
    kind: AlertSource,
    rule_id: String,
    title: &'a str,
    author: Option<&'a String>,
    license: Option<&'a String>,
    level: Option<&'a str>,
    tags: &'a [String],
}

impl Alerter {
    /// An alerter with the embedded ATT&CK to CCM map.
    pub fn new() -> Result<Alerter, CatalogError> {
        Ok(Alerter {
            attack: AttackMap::embedded()?,
        })
    }

    /// The alert (or the suppression) of detection rule `rule` matching event `event`, whose
    /// fields are `fields` (as the rule saw them).
    #[allow(clippy::too_many_arguments)]
    pub fn from_match(
        &self,
        tenant: &TenantId,
        policy: &Policy,
        rule: &Rule,
        event: RecordId,
        time: Timestamp,
        fields: &dyn EventFields,
        now: Timestamp,
    ) -> Decision {
        let rule_id = rule.id.clone().unwrap_or_else(|| rule.title.clone());
        let settings = policy.rule(&rule_id, &rule.title);
        let dedup_fields = settings
            .and_then(|s| s.dedup_fields.as_ref())
            .unwrap_or(&policy.dedup_fields);
        let mut value = |name: &str| fields.field(name).and_then(text);
        if let Some(e) = suppressing(policy, &rule_id, &rule.title, now, &mut value) {
            return e;
        }
        let group: BTreeMap<String, String> = dedup_fields
            .iter()
            .filter_map(|f| value(f).map(|v| (f.clone(), v)))
            .collect();
        let source = Source {
            kind: AlertSource::Detection,
            rule_id,
            title: &rule.title,
            author: rule.author.as_ref(),
            license: rule.license.as_ref(),
            level: rule.level.as_deref(),
            tags: &rule.tags,
        };
        self.raise(
            tenant,
            policy,
            source,
            settings,
            group,
            vec![event],
            time,
            now,
        )
    }

    /// The alert (or the suppression) of a correlation hit. Its events are the hit's, whose
    /// 128-bit ids are the events' UUIDs.
    pub fn from_hit(
        &self,
        tenant: &TenantId,
        policy: &Policy,
        hit: &CorrelationHit,
        now: Timestamp,
    ) -> Option<Decision> {
        let rule = hit.rule()?;
        let rule_id = rule.id.clone().unwrap_or_else(|| rule.title.clone());
        let settings = policy.rule(&rule_id, &rule.title);
        let group: BTreeMap<String, String> = hit.group.iter().cloned().collect();
        let mut value = |name: &str| group.get(name).cloned();
        if let Some(e) = suppressing(policy, &rule_id, &rule.title, now, &mut value) {
            return Some(e);
        }
        let events = hit
            .events
            .iter()
            .map(|e| RecordId::from_uuid(uuid::Uuid::from_u128(*e)))
            .collect();
        let source = Source {
            kind: AlertSource::Correlation,
            rule_id,
            title: &rule.title,
            author: rule.author.as_ref(),
            license: rule.license.as_ref(),
            level: rule.level.as_deref(),
            tags: &rule.tags,
        };
        Some(self.raise(
            tenant, policy, source, settings, group, events, hit.time, now,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn raise(
        &self,
        tenant: &TenantId,
        policy: &Policy,
        source: Source<'_>,
        settings: Option<&RulePolicy>,
        group: BTreeMap<String, String>,
        events: Vec<RecordId>,
        time: Timestamp,
        now: Timestamp,
    ) -> Decision {
        let dedup_key = dedup_key(
            source.kind,
            &source.rule_id,
            group.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let group = group
            .into_iter()
            .map(|(k, v)| (bounded(&k), bounded(&v)))
            .collect();
        let attack: Vec<String> = source
            .tags
            .iter()
            .filter(|t| t.to_ascii_lowercase().starts_with("attack."))
            .cloned()
            .collect();
        let alert = NewAlert {
            tenant: tenant.clone(),
            dedup_key,
            dedup_window_secs: settings
                .and_then(|s| s.dedup_window_secs)
                .unwrap_or(policy.dedup_window_secs),
            source: source.kind,
            title: source.title.to_owned(),
            author: source.author.cloned(),
            license: source.license.cloned(),
            level: source.level.unwrap_or("medium").to_owned(),
            severity: severity(source.level),
            controls: self.attack.controls_for_tags(&attack),
            attack,
            group,
            events,
            count: 1,
            time,
            raised_at: now,
            rule_id: source.rule_id,
            notify: Vec::new(),
        };
        Decision::Raise {
            alert: Box::new(alert),
            response: settings.and_then(|s| s.response.clone()),
        }
    }
}

/// The first unexpired exception that applies, as a suppression.
fn suppressing(
    policy: &Policy,
    rule_id: &str,
    title: &str,
    now: Timestamp,
    value: &mut dyn FnMut(&str) -> Option<String>,
) -> Option<Decision> {
    policy
        .exceptions
        .iter()
        .find(|e| !e.expired(now) && e.applies(rule_id, title, value))
        .map(|e| Decision::Suppressed {
            owner: e.owner.clone(),
            reason: e.reason.clone(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shieldwall_detect::RuleSettings;
    use std::path::Path;

    fn rule() -> Rule {
        Rule::parse(
            Path::new("r.yml"),
            "title: SSH brute force\nid: 11111111-2222-4333-8444-555555555555\nauthor: Ann\nlicense: DRL-1.1\nlevel: high\ntags: [attack.credential_access, attack.t1110]\nlogsource: {product: linux}\ndetection:\n  sel: {status: failure}\n  condition: sel\n",
            &RuleSettings::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_match_becomes_an_alert_with_credit_tags_and_a_key() {
        let alerter = Alerter::new().unwrap();
        let tenant = TenantId::new("acme").unwrap();
        let event = json!({"status": "failure", "src_endpoint": {"ip": "203.0.113.9"},
            "device": {"hostname": "web1"}});
        let id = RecordId::derive("t", &["1"]);
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let Decision::Raise { alert, response } =
            alerter.from_match(&tenant, &Policy::default(), &rule(), id, now, &event, now)
        else {
            panic!("suppressed")
        };
        assert_eq!(response, None);
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.author.as_deref(), Some("Ann"));
        assert_eq!(alert.license.as_deref(), Some("DRL-1.1"));
        assert_eq!(alert.attack, ["attack.credential_access", "attack.t1110"]);
        assert_eq!(alert.controls, ["AIS-05", "IAM-02", "IAM-16"]);
        assert_eq!(alert.events, [id]);
        assert_eq!(
            alert.group,
            BTreeMap::from([
                ("device.hostname".to_owned(), "web1".to_owned()),
                ("src_endpoint.ip".to_owned(), "203.0.113.9".to_owned())
            ])
        );
        assert_eq!(alert.dedup_key.len(), 64, "a SHA-256 in hex");
        let other_event = json!({"status": "failure", "src_endpoint": {"ip": "203.0.113.10"},
            "device": {"hostname": "web1"}});
        let Decision::Raise { alert: other, .. } = alerter.from_match(
            &tenant,
            &Policy::default(),
            &rule(),
            id,
            now,
            &other_event,
            now,
        ) else {
            panic!("suppressed")
        };
        assert_ne!(
            other.dedup_key, alert.dedup_key,
            "another address, another alert"
        );

        // An exception of the tenant suppresses it; once expired it does not.
        let policy = Policy::parse(
            Path::new("alerting.toml"),
            "[[exception]]\nrule = \"SSH brute force\"\nowner = \"ops\"\nreason = \"scanner\"\nexpires = 2027-12-31\nwhen = { \"src_endpoint.ip\" = \"203.0.113.9\" }\n",
        )
        .unwrap();
        let decision = alerter.from_match(&tenant, &policy, &rule(), id, now, &event, now);
        assert_eq!(
            decision,
            Decision::Suppressed {
                owner: "ops".into(),
                reason: "scanner".into()
            }
        );
        let later = Timestamp::from_second(1_900_000_000).unwrap();
        assert!(matches!(
            alerter.from_match(&tenant, &policy, &rule(), id, later, &event, later),
            Decision::Raise { .. }
        ));
    }

    #[test]
    fn levels_map_to_severities() {
        assert_eq!(severity(Some("informational")), Severity::Info);
        assert_eq!(severity(Some("Critical")), Severity::Critical);
        assert_eq!(severity(None), Severity::Medium);
        let long = "x".repeat(5000) + "é";
        let cut = bounded(&long);
        assert!(cut.len() < 1100 && cut.ends_with("(5002 bytes)"), "{cut}");
        assert_eq!(bounded("a\0b"), "a\u{fffd}b");
        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        let a = dedup_key(AlertSource::Detection, "r", [("ab", "c")].into_iter());
        let b = dedup_key(AlertSource::Detection, "r", [("a", "bc")].into_iter());
        assert_ne!(a, b);
    }
}
