//! A tenant's alerting policy (`alerting.toml` beside its rules, `docs/alerts.md`): how alerts
//! of each rule are deduplicated, and the exceptions (allow-lists) that suppress them, each with
//! an owner, a reason and an expiry date.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;

/// The largest policy file read.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

/// Fields alerts of detection rules are grouped by when a rule names none: who, from where,
/// on which host.
pub const DEFAULT_DEDUP_FIELDS: [&str; 3] = ["device.hostname", "src_endpoint.ip", "user.name"];
/// Seconds a repeat merges into an open alert when a rule says nothing: one hour.
pub const DEFAULT_DEDUP_WINDOW_SECS: u64 = 3600;

/// A policy file that does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {reason}", file.display(), if *line > 0 { format!(":{line}") } else { String::new() })]
pub struct PolicyError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when not known.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    rule: Vec<RulePolicy>,
    #[serde(default)]
    exception: Vec<RawException>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default = "default_fields")]
    dedup_fields: Vec<String>,
    #[serde(default = "default_window")]
    dedup_window_secs: u64,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            dedup_fields: default_fields(),
            dedup_window_secs: default_window(),
        }
    }
}

fn default_fields() -> Vec<String> {
    DEFAULT_DEDUP_FIELDS
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

fn default_window() -> u64 {
    DEFAULT_DEDUP_WINDOW_SECS
}

/// Settings for the alerts of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePolicy {
    /// The rule's id, or its title.
    pub rule: String,
    /// Fields its alerts are grouped by (detection rules; a correlation groups by its
    /// `group-by`).
    #[serde(default)]
    pub dedup_fields: Option<Vec<String>>,
    /// Seconds a repeat merges into the open alert.
    #[serde(default)]
    pub dedup_window_secs: Option<u64>,
    /// A response action (named in the server's `[response]` settings) to run on its alerts.
    #[serde(default)]
    pub response: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    rule: String,
    owner: String,
    reason: String,
    expires: Expiry,
    when: BTreeMap<String, Values>,
}

/// A TOML date (`2027-01-31`) or the same as text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Expiry {
    Toml(toml::value::Datetime),
    Text(String),
}

impl Expiry {
    fn date(&self) -> Result<Date, String> {
        match self {
            Expiry::Toml(dt) => {
                let (Some(d), None) = (dt.date, dt.time) else {
                    return Err(format!(
                        "`expires = {dt}`: give a date (YYYY-MM-DD), no time"
                    ));
                };
                Date::new(
                    i16::try_from(d.year).map_err(|e| e.to_string())?,
                    i8::try_from(d.month).map_err(|e| e.to_string())?,
                    i8::try_from(d.day).map_err(|e| e.to_string())?,
                )
                .map_err(|e| format!("`expires = {dt}`: {e}"))
            }
            Expiry::Text(text) => text
                .parse()
                .map_err(|e| format!("`expires = {text:?}`: not a date (YYYY-MM-DD): {e}")),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Values {
    One(String),
    Several(Vec<String>),
}

/// An exception: alerts of `rule` (`*` for every rule) whose fields hold the listed values are
/// not raised, until `expires` has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// Rule id or title, or `*`.
    pub rule: String,
    /// Who answers for it.
    pub owner: String,
    /// Why it exists.
    pub reason: String,
    /// The last day it applies (UTC, inclusive).
    pub expires: Date,
    /// Field and the values any of which it must hold; all fields must match.
    pub when: BTreeMap<String, Vec<String>>,
}

impl Exception {
    /// Whether it has expired at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        jiff::tz::TimeZone::UTC.to_datetime(now).date() > self.expires
    }

    /// Whether it applies to rule `rule_id`/`title` and to `value`s of the fields.
    pub fn applies(
        &self,
        rule_id: &str,
        title: &str,
        value: &mut dyn FnMut(&str) -> Option<String>,
    ) -> bool {
        (self.rule == "*" || self.rule == rule_id || self.rule == title)
            && self
                .when
                .iter()
                .all(|(field, wanted)| value(field).is_some_and(|v| wanted.contains(&v)))
    }
}

/// A tenant's alerting policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Dedup fields when a rule names none.
    pub dedup_fields: Vec<String>,
    /// Dedup window when a rule names none.
    pub dedup_window_secs: u64,
    /// Per-rule settings, by rule id or title.
    pub rules: BTreeMap<String, RulePolicy>,
    /// The exceptions.
    pub exceptions: Vec<Exception>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            dedup_fields: default_fields(),
            dedup_window_secs: DEFAULT_DEDUP_WINDOW_SECS,
            rules: BTreeMap::new(),
            exceptions: Vec::new(),
        }
    }
}

impl Policy {
    /// Reads `path`; a missing file is the default policy.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let error = |line: usize, reason: String| PolicyError {
            file: path.to_owned(),
            line,
            reason,
        };
        let meta = match std::fs::metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Policy::default()),
            Err(e) => return Err(error(0, e.to_string())),
        };
        if meta.len() > MAX_POLICY_BYTES {
            return Err(error(
                0,
                format!(
                    "{} bytes: larger than the {MAX_POLICY_BYTES}-byte limit",
                    meta.len()
                ),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| error(0, e.to_string()))?;
        Policy::parse(path, &text)
    }

    /// Reads the policy in `text`; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        let error = |line: usize, reason: String| PolicyError {
            file: path.to_owned(),
            line,
            reason,
        };
        let file: PolicyFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| {
                text.get(..s.start).unwrap_or("").lines().count().max(1)
            });
            error(line, e.message().to_owned())
        })?;
        let mut rules = BTreeMap::new();
        for rule in file.rule {
            if rule.rule.trim().is_empty() {
                return Err(error(0, "a [[rule]] with an empty `rule`".into()));
            }
            if rules.insert(rule.rule.clone(), rule.clone()).is_some() {
                return Err(error(0, format!("[[rule]] {:?} is given twice", rule.rule)));
            }
        }
        let mut exceptions = Vec::new();
        for (i, raw) in file.exception.into_iter().enumerate() {
            let which = format!("[[exception]] {} (rule {:?})", i + 1, raw.rule);
            if raw.owner.trim().is_empty() || raw.reason.trim().is_empty() {
                return Err(error(
                    0,
                    format!("{which}: an exception needs an owner and a reason"),
                ));
            }
            if raw.when.is_empty() {
                return Err(error(
                    0,
                    format!(
                        "{which}: an exception needs `when` fields; one that matches everything would silence the rule"
                    ),
                ));
            }
            let expires = raw
                .expires
                .date()
                .map_err(|reason| error(0, format!("{which}: {reason}")))?;
            exceptions.push(Exception {
                rule: raw.rule,
                owner: raw.owner,
                reason: raw.reason,
                expires,
                when: raw
                    .when
                    .into_iter()
                    .map(|(k, v)| {
                        let values = match v {
                            Values::One(s) => vec![s],
                            Values::Several(v) => v,
                        };
                        (k, values)
                    })
                    .collect(),
            });
        }
        Ok(Policy {
            dedup_fields: file.defaults.dedup_fields,
            dedup_window_secs: file.defaults.dedup_window_secs,
            rules,
            exceptions,
        })
    }

    /// The settings of a rule, by id first, then title.
    pub fn rule(&self, rule_id: &str, title: &str) -> Option<&RulePolicy> {
        self.rules.get(rule_id).or_else(|| self.rules.get(title))
    }

    /// The exceptions that have expired at `now` (reported, not applied).
    pub fn expired(&self, now: Timestamp) -> impl Iterator<Item = &Exception> {
        self.exceptions.iter().filter(move |e| e.expired(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_reads_and_mistakes_are_named() {
        let text = r#"
[defaults]
dedup_window_secs = 600

[[rule]]
rule = "Brute force against one host"
dedup_window_secs = 86400
response = "block-address"

[[exception]]
rule = "*"
owner = "ops@example.com"
reason = "the bastion host"
expires = 2027-01-31
when = { "src_endpoint.ip" = ["10.0.0.10", "10.0.0.11"] }
"#;
        let p = Policy::parse(Path::new("alerting.toml"), text).unwrap();
        assert_eq!(p.dedup_window_secs, 600);
        assert_eq!(p.dedup_fields.len(), 3);
        let rule = p.rule("x", "Brute force against one host").unwrap();
        assert_eq!(rule.response.as_deref(), Some("block-address"));
        let e = &p.exceptions[0];
        let mut fields = |f: &str| (f == "src_endpoint.ip").then(|| "10.0.0.11".to_owned());
        assert!(e.applies("any", "Any", &mut fields));
        let mut other = |_: &str| Some("10.0.0.12".to_owned());
        assert!(!e.applies("any", "Any", &mut other));
        let day = |d: &str| d.parse::<Timestamp>().unwrap();
        assert!(!e.expired(day("2027-01-31T23:59:59Z")));
        assert!(e.expired(day("2027-02-01T00:00:00Z")));

        for (bad, expected) in [
            (
                "[[exception]]\nrule = \"*\"\nowner = \"\"\nreason = \"r\"\nexpires = 2027-01-01\nwhen = { a = \"b\" }\n",
                "owner and a reason",
            ),
            (
                "[[exception]]\nrule = \"*\"\nowner = \"o\"\nreason = \"r\"\nexpires = 2027-01-01\nwhen = {}\n",
                "needs `when`",
            ),
            (
                "[[exception]]\nrule = \"*\"\nowner = \"o\"\nreason = \"r\"\nwhen = { a = \"b\" }\n",
                "expires",
            ),
            ("[defaults]\ndedup_windw_secs = 1\n", "dedup_windw_secs"),
            (
                "[[exception]]\nrule = \"*\"\nowner = \"o\"\nreason = \"r\"\nexpires = 2027-01-01T10:00:00Z\nwhen = { a = \"b\" }\n",
                "no time",
            ),
            (
                "[[exception]]\nrule = \"*\"\nowner = \"o\"\nreason = \"r\"\nexpires = \"next week\"\nwhen = { a = \"b\" }\n",
                "not a date",
            ),
        ] {
            let e = Policy::parse(Path::new("alerting.toml"), bad).unwrap_err();
            assert!(e.to_string().contains(expected), "{bad}: {e}");
        }
        assert_eq!(
            Policy::load(Path::new("/nonexistent/alerting.toml")).unwrap(),
            Policy::default()
        );
    }
}
