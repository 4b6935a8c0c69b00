//! Sigma correlation rules (specification v2.1): reading them ([`CorrelationRule`]), resolving
//! what they refer to ([`CorrelationSet`]) and evaluating them over a tenant's stream of
//! matches ([`Correlator`]). The semantics, including out-of-order arrival, are written down in
//! `docs/correlation.md`; the reference implementation in `tests/correlation_reference.rs`
//! follows that text and the engine must agree with it exactly.

mod engine;
mod group;
mod set;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::error::RuleError;

pub use engine::{CorrelationHit, CorrelationLimits, Correlator, CorrelatorStats, Observation};
pub use set::{CorrelationSet, Reference, Target};

/// The correlation types of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationKind {
    /// How many events in the window.
    EventCount,
    /// How many distinct values of the condition's field(s) in the window.
    ValueCount,
    /// How many of the referenced rules matched in the window, in any order.
    Temporal,
    /// How many of the referenced rules matched in the window in their listed order (the
    /// longest such prefix).
    TemporalOrdered,
    /// The sum of a numeric field over the window.
    ValueSum,
    /// The average of a numeric field over the window.
    ValueAvg,
    /// A percentile (the rule's `percentile`, 50 when absent) of a numeric field over the window.
    ValuePercentile,
}

impl CorrelationKind {
    /// Whether the type aggregates a field named in the condition.
    pub fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationKind::ValueCount
                | CorrelationKind::ValueSum
                | CorrelationKind::ValueAvg
                | CorrelationKind::ValuePercentile
        )
    }

    /// Whether the type counts referenced rules (and so may leave its condition out).
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationKind::Temporal | CorrelationKind::TemporalOrdered
        )
    }
}

/// A comparison of the condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// `gt`
    Gt(f64),
    /// `gte`
    Gte(f64),
    /// `lt`
    Lt(f64),
    /// `lte`
    Lte(f64),
    /// `eq`
    Eq(f64),
    /// `neq`
    Neq(f64),
}

impl Bound {
    /// Whether `value` satisfies the comparison.
    pub fn holds(self, value: f64) -> bool {
        match self {
            Bound::Gt(t) => value > t,
            Bound::Gte(t) => value >= t,
            Bound::Lt(t) => value < t,
            Bound::Lte(t) => value <= t,
            Bound::Eq(t) => value == t,
            Bound::Neq(t) => value != t,
        }
    }
}

/// A loaded correlation rule.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationRule {
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// `name`: how other correlations may refer to it.
    pub name: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `author`: alerts credit it.
    pub author: Option<String>,
    /// `license`.
    pub license: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `level`.
    pub level: Option<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `correlation.type`.
    pub kind: CorrelationKind,
    /// `correlation.rules`: ids or names of detection or correlation rules.
    pub rules: Vec<String>,
    /// `correlation.group-by`: field names or aliases.
    pub group_by: Vec<String>,
    /// `correlation.timespan`.
    pub timespan: Duration,
    /// The comparisons of `correlation.condition` (all must hold).
    pub bounds: Vec<Bound>,
    /// `correlation.condition.field`: the aggregated field(s) of the value types.
    pub fields: Vec<String>,
    /// `correlation.condition.percentile` (0 to 100) of `value_percentile`.
    pub percentile: Option<f64>,
    /// `correlation.aliases`: alias, then rule (name or id as listed in `rules`), then field.
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// `generate`: whether the referenced rules also alert on their own.
    pub generate: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrelationBlock {
    #[serde(rename = "type")]
    kind: CorrelationKind,
    rules: Vec<String>,
    #[serde(rename = "group-by", default)]
    group_by: Vec<String>,
    timespan: String,
    #[serde(default)]
    condition: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    aliases: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    generate: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct CorrelationFile {
    title: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    falsepositives: Option<Value>,
    #[serde(default)]
    generate: Option<bool>,
    correlation: Option<serde_saphyr::Spanned<Value>>,
}

/// The most entries a group's window holds by default ([`CorrelationLimits`]); a count
/// condition above it could never be met, so it is refused at load.
pub const MAX_WINDOW_ENTRIES: usize = 10_000;

/// The most rules one correlation may refer to.
pub const MAX_REFERENCES: usize = 64;
/// The longest timespan accepted: 400 days.
pub const MAX_TIMESPAN: Duration = Duration::from_secs(400 * 86_400);

impl CorrelationRule {
    /// Reads the correlation rule in `text` (one YAML document); `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<CorrelationRule, RuleError> {
        // YAML 1.2 booleans only: a field named `n` or `on` is a name, not `false` or `true`.
        let options = serde_saphyr::options! {
            strict_booleans: true,
        };
        let file: CorrelationFile = serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| RuleError::yaml(path, &e))?;
        let title = file
            .title
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| RuleError::at(path, 0, 0, "no `title`".into()))?;
        let block = file
            .correlation
            .ok_or_else(|| RuleError::at(path, 0, 0, "no `correlation`".into()))?;
        let line = block.referenced.line();
        let at = |reason: String| RuleError::at(path, line, 0, format!("correlation: {reason}"));
        let block: CorrelationBlock =
            serde_json::from_value(block.value).map_err(|e| at(e.to_string()))?;
        if block.rules.is_empty() {
            return Err(at("`rules` is empty".into()));
        }
        if block.rules.len() > MAX_REFERENCES {
            return Err(at(format!(
                "{} rules referred to; at most {MAX_REFERENCES}",
                block.rules.len()
            )));
        }
        if block.kind.is_temporal() && block.rules.len() < 2 {
            return Err(at("a temporal correlation needs at least two rules".into()));
        }
        let timespan = timespan(&block.timespan).map_err(at)?;
        let (bounds, fields, percentile) =
            condition(block.kind, block.rules.len(), block.condition).map_err(at)?;
        for (alias, by_rule) in &block.aliases {
            if !block.group_by.contains(alias) {
                return Err(at(format!("alias `{alias}` is not used in `group-by`")));
            }
            if let Some(unknown) = by_rule.keys().find(|r| !block.rules.contains(r)) {
                return Err(at(format!(
                    "alias `{alias}` names rule `{unknown}`, which `rules` does not list"
                )));
            }
        }
        Ok(CorrelationRule {
            title,
            id: file.id,
            name: file.name,
            status: file.status,
            description: file.description,
            author: file.author,
            license: file.license,
            references: file.references,
            tags: file.tags,
            level: file.level,
            falsepositives: crate::rule::text_list(file.falsepositives),
            kind: block.kind,
            rules: block.rules,
            group_by: block.group_by,
            timespan,
            bounds,
            fields,
            percentile,
            aliases: block.aliases,
            generate: block.generate.or(file.generate).unwrap_or(false),
        })
    }

    /// The field to read for group-by entry `name` in events of the rule listed as `reference`.
    pub fn field_for(&self, name: &str, reference: &str) -> String {
        self.aliases
            .get(name)
            .and_then(|by_rule| by_rule.get(reference))
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    }

    /// Whether the aggregate `value` satisfies the condition.
    pub fn holds(&self, value: f64) -> bool {
        self.bounds.iter().all(|b| b.holds(value))
    }
}

/// `90m`, `1h`, `30s`, `7d` (a `w` for weeks is accepted too).
fn timespan(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let error = || format!("timespan `{text}`: expected a number and one of s, m, h, d, w");
    let unit = text.chars().last().ok_or_else(error)?;
    let seconds: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(error()),
    };
    let number: u64 = text
        .get(..text.len() - 1)
        .and_then(|n| n.parse().ok())
        .ok_or_else(error)?;
    let span = Duration::from_secs(number.saturating_mul(seconds));
    if span.is_zero() || span > MAX_TIMESPAN {
        return Err(format!(
            "timespan `{text}`: must be more than zero and at most 400 days"
        ));
    }
    Ok(span)
}

type ParsedCondition = (Vec<Bound>, Vec<String>, Option<f64>);

fn condition(
    kind: CorrelationKind,
    rule_count: usize,
    condition: Option<BTreeMap<String, Value>>,
) -> Result<ParsedCondition, String> {
    let Some(map) = condition else {
        if kind.is_temporal() {
            // Every referenced rule, as the specification's temporal examples mean.
            return Ok((vec![Bound::Gte(rule_count as f64)], Vec::new(), None));
        }
        return Err("no `condition`".into());
    };
    let mut bounds = Vec::new();
    let mut fields = Vec::new();
    let mut percentile = None;
    for (key, value) in map {
        let number = || {
            value
                .as_f64()
                .filter(|n| n.is_finite())
                .ok_or_else(|| format!("condition `{key}` must be a number, not {value}"))
        };
        match key.as_str() {
            "gt" => bounds.push(Bound::Gt(number()?)),
            "gte" => bounds.push(Bound::Gte(number()?)),
            "lt" => bounds.push(Bound::Lt(number()?)),
            "lte" => bounds.push(Bound::Lte(number()?)),
            "eq" => bounds.push(Bound::Eq(number()?)),
            "neq" => bounds.push(Bound::Neq(number()?)),
            "percentile" => {
                let p = number()?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(format!("condition `percentile` {p} is not within 0 to 100"));
                }
                percentile = Some(p);
            }
            "field" => match value {
                Value::String(s) => fields.push(s),
                Value::Array(items) => {
                    for item in items {
                        let Value::String(s) = item else {
                            return Err("condition `field` lists only field names".into());
                        };
                        fields.push(s);
                    }
                }
                other => {
                    return Err(format!(
                        "condition `field` must be a name or a list, not {other}"
                    ));
                }
            },
            other => {
                return Err(format!(
                    "condition `{other}`: expected gt, gte, lt, lte, eq, neq, field or percentile"
                ));
            }
        }
    }
    if bounds.is_empty() {
        return Err("the condition has no comparison (gt, gte, lt, lte, eq, neq)".into());
    }
    if kind.needs_field() && fields.is_empty() {
        return Err(format!("{kind:?} needs a condition `field`"));
    }
    if !kind.needs_field() && !fields.is_empty() {
        return Err(format!("{kind:?} takes no condition `field`"));
    }
    if fields.len() > 1 && kind != CorrelationKind::ValueCount {
        return Err(format!("{kind:?} aggregates one field, not several"));
    }
    if percentile.is_some() && kind != CorrelationKind::ValuePercentile {
        return Err("`percentile` belongs to value_percentile only".into());
    }
    if matches!(
        kind,
        CorrelationKind::EventCount | CorrelationKind::ValueCount
    ) {
        let needs = bounds.iter().filter_map(|b| match b {
            Bound::Gt(t) => Some(*t + 1.0),
            Bound::Gte(t) | Bound::Eq(t) => Some(*t),
            _ => None,
        });
        if let Some(t) = needs.fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))))
            && t > MAX_WINDOW_ENTRIES as f64
        {
            return Err(format!(
                "the condition needs {t} entries in one window; a window holds at most {MAX_WINDOW_ENTRIES}"
            ));
        }
    }
    Ok((bounds, fields, percentile))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CorrelationRule, RuleError> {
        CorrelationRule::parse(Path::new("c.yml"), text)
    }

    #[test]
    fn the_specification_examples_load() {
        let Some(dir) = shieldwall_testkit::shared_path(
            "testdata/sigma/specification/tests/schema/correlation",
            "the_specification_examples_load",
        ) else {
            return;
        };
        let mut loaded = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let rule = CorrelationRule::parse(&path, &text).unwrap();
            assert!(!rule.bounds.is_empty(), "{}", path.display());
            loaded += 1;
        }
        assert_eq!(loaded, 8, "one example per type, and the ECS variant");
    }

    #[test]
    fn conditions_and_timespans() {
        let r = parse(
            "title: t\ncorrelation:\n  type: value_count\n  rules: [a]\n  group-by: [Host]\n  timespan: 90m\n  condition: {field: User, gt: 100, lte: 200}\n",
        )
        .unwrap();
        assert_eq!(r.timespan, Duration::from_secs(5400));
        assert_eq!(r.bounds, [Bound::Gt(100.0), Bound::Lte(200.0)]);
        assert!(r.holds(150.0) && !r.holds(100.0) && !r.holds(201.0));
        assert_eq!(r.fields, ["User"]);
        let t = parse("title: t\ncorrelation:\n  type: temporal\n  rules: [a, b, c]\n  group-by: [Host]\n  timespan: 5m\n").unwrap();
        // YAML 1.1's `n`, `on`, `yes` are field names here, not booleans.
        let n = parse("title: t\ncorrelation:\n  type: value_sum\n  rules: [a]\n  group-by: [on]\n  timespan: 5m\n  condition: {field: n, gt: 1}\n").unwrap();
        assert_eq!(
            (n.fields.as_slice(), n.group_by.as_slice()),
            (&["n".to_owned()][..], &["on".to_owned()][..])
        );
        assert_eq!(t.bounds, [Bound::Gte(3.0)]);
    }

    #[test]
    fn mistakes_are_named() {
        let bad = [
            (
                "type: event_count\n  rules: [a]\n  timespan: 5x\n  condition: {gte: 1}",
                "timespan `5x`",
            ),
            (
                "type: event_count\n  rules: [a]\n  timespan: 0s\n  condition: {gte: 1}",
                "more than zero",
            ),
            (
                "type: event_count\n  rules: [a]\n  timespan: 5m",
                "no `condition`",
            ),
            (
                "type: value_sum\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 1}",
                "needs a condition `field`",
            ),
            (
                "type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: x}",
                "must be a number",
            ),
            (
                "type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {field: f}",
                "no comparison",
            ),
            ("type: nope\n  rules: [a]\n  timespan: 5m", "nope"),
            (
                "type: event_count\n  rules: []\n  timespan: 5m\n  condition: {gte: 1}",
                "`rules` is empty",
            ),
            (
                "type: temporal\n  rules: [a]\n  timespan: 5m",
                "at least two",
            ),
            (
                "type: event_count\n  rules: [a]\n  groupby: [x]\n  timespan: 5m\n  condition: {gte: 1}",
                "groupby",
            ),
            (
                "type: temporal\n  rules: [a, b]\n  group-by: [ip]\n  timespan: 5m\n  aliases: {ip: {c: x}}",
                "which `rules` does not list",
            ),
        ];
        for (block, expected) in bad {
            let text = format!("title: t\ncorrelation:\n  {block}\n");
            let e = parse(&text).unwrap_err();
            assert!(e.reason.contains(expected), "{block}: {e}");
            assert_eq!(e.line, 3, "the block's first line: {block}: {e}");
        }
    }
}
