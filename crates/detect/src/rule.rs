//! A Sigma detection rule: read from YAML, its detection compiled into matchers, and evaluated
//! against an event.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::condition::{self, Condition, OfTarget};
use crate::error::RuleError;
use crate::event::EventFields;
use crate::matcher::{
    Compare, DatePart, FieldMatcher, RegexFlags, RegexMatch, TextMatch, ValueMatch, parse_cidr,
};
use crate::value::{ExpandError, SigmaString};

/// The largest rule file read.
pub const MAX_RULE_BYTES: usize = 1 << 20;

/// Settings that rules depend on.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    /// Values of `expand` placeholders (`Administrators` for `%Administrators%`).
    pub placeholders: BTreeMap<String, Vec<String>>,
    /// The most values one rule value may expand into (`windash`, `expand`).
    pub max_expansions: usize,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            placeholders: BTreeMap::new(),
            max_expansions: 4096,
        }
    }
}

/// Where a rule applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
pub struct LogSource {
    /// `process_creation`, `webserver`, `firewall`...
    #[serde(default)]
    pub category: Option<String>,
    /// `windows`, `linux`, `aws`...
    #[serde(default)]
    pub product: Option<String>,
    /// `security`, `sshd`, `cloudtrail`...
    #[serde(default)]
    pub service: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RuleFile {
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
    logsource: Option<LogSource>,
    detection: Option<Spanned<BTreeMap<String, Spanned<Value>>>>,
    #[serde(default)]
    correlation: Option<Value>,
    #[serde(default)]
    filter: Option<Value>,
}

/// A loaded rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `title`.
    pub title: String,
    /// `id` (a UUID in SigmaHQ rules).
    pub id: Option<String>,
    /// `name`: how correlation rules may refer to it.
    pub name: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `author`: alerts credit it (Detection Rule License).
    pub author: Option<String>,
    /// `license`.
    pub license: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `tags` (`attack.t1059.001`, `attack.execution`...).
    pub tags: Vec<String>,
    /// `level`: informational, low, medium, high, critical.
    pub level: Option<String>,
    /// `falsepositives`, as text.
    pub falsepositives: Vec<String>,
    /// `logsource`.
    pub logsource: LogSource,
    /// The compiled detection.
    pub detection: Detection,
    /// Sigma filters applied to the rule (`ruleset::apply_filters`): an event that one of them
    /// matches does not fire the rule.
    pub filters: Vec<AppliedFilter>,
}

/// A Sigma filter's detection, as applied to a rule.
#[derive(Debug, Clone)]
pub struct AppliedFilter {
    /// The filter's title, for reports.
    pub title: String,
    /// The filter's `id`.
    pub id: Option<String>,
    /// Events it matches are dropped from the rule's matches.
    pub detection: Detection,
}

/// A search identifier's entries: an OR of AND-groups.
pub type Groups = Vec<Vec<FieldMatcher>>;

/// The compiled `detection` of a rule.
#[derive(Debug, Clone)]
pub struct Detection {
    /// Each search identifier with its entries, in name order.
    pub selections: Vec<(String, Groups)>,
    /// The condition (a list of conditions is their OR).
    pub condition: Condition,
    /// The condition with names resolved to positions in `selections`.
    plan: Plan,
}

/// The `title` (not blank) and `logsource` every rule and filter has.
pub(crate) fn title_and_logsource(
    path: &Path,
    title: Option<String>,
    logsource: Option<LogSource>,
) -> Result<(String, LogSource), RuleError> {
    let title = title
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| RuleError::at(path, 0, 0, "no `title`".into()))?;
    let logsource = logsource.ok_or_else(|| RuleError::at(path, 0, 0, "no `logsource`".into()))?;
    Ok((title, logsource))
}

/// A text-or-list attribute (`falsepositives`) as a list of text.
pub(crate) fn text_list(value: Option<Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s],
        _ => Vec::new(),
    }
}

/// The text of `path`, refused when larger than a rule file may be.
pub(crate) fn read_bounded(path: &Path) -> Result<String, RuleError> {
    let error = |reason: String| RuleError::at(path, 0, 0, reason);
    let meta = std::fs::metadata(path).map_err(|e| error(e.to_string()))?;
    if meta.len() > MAX_RULE_BYTES as u64 {
        return Err(error(format!(
            "{} bytes: larger than the {MAX_RULE_BYTES}-byte limit of a rule file",
            meta.len()
        )));
    }
    std::fs::read_to_string(path).map_err(|e| error(e.to_string()))
}

/// A condition over positions in `Detection::selections`.
#[derive(Debug, Clone)]
enum Plan {
    Search(usize),
    Not(Box<Plan>),
    And(Vec<Plan>),
    Or(Vec<Plan>),
    AtLeast(usize, Vec<usize>),
    All(Vec<usize>),
}

impl Rule {
    /// Reads and compiles the rule in `path`.
    pub fn load(path: &Path, settings: &RuleSettings) -> Result<Rule, RuleError> {
        Rule::parse(path, &read_bounded(path)?, settings)
    }

    /// Compiles the rule in `text`; `path` names it in errors.
    pub fn parse(path: &Path, text: &str, settings: &RuleSettings) -> Result<Rule, RuleError> {
        let at = |line: u64, column: u64, reason: String| RuleError::at(path, line, column, reason);
        let file: RuleFile = serde_saphyr::from_str(text).map_err(|e| RuleError::yaml(path, &e))?;
        if file.correlation.is_some() {
            return Err(at(0, 0, "a correlation rule, not a detection rule".into()));
        }
        if file.filter.is_some() {
            return Err(at(0, 0, "a Sigma filter, not a detection rule".into()));
        }
        let (title, logsource) = title_and_logsource(path, file.title, file.logsource)?;
        let detection = file
            .detection
            .ok_or_else(|| at(0, 0, "no `detection`".into()))?;
        let detection = Detection::compile(path, detection, settings)?;
        Ok(Rule {
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
            logsource,
            detection,
            filters: Vec::new(),
        })
    }

    /// Whether `event` matches the rule's detection and none of its filters (the logsource is
    /// the caller's concern).
    pub fn matches(&self, event: &dyn EventFields) -> bool {
        self.detection.matches(event) && !self.filters.iter().any(|f| f.detection.matches(event))
    }
}

impl Detection {
    /// Compiles a `detection` block (or a filter's, without its `rules`): search identifiers
    /// and the `condition`; `path` names the file in errors.
    pub(crate) fn compile(
        path: &Path,
        block: Spanned<BTreeMap<String, Spanned<Value>>>,
        settings: &RuleSettings,
    ) -> Result<Detection, RuleError> {
        let at = |line: u64, column: u64, reason: String| RuleError::at(path, line, column, reason);
        let detection_line = block.referenced.line();
        let mut entries = block.value;
        let condition = entries
            .remove("condition")
            .ok_or_else(|| at(detection_line, 0, "the detection has no `condition`".into()))?;
        if let Some(timeframe) = entries.remove("timeframe") {
            return Err(at(
                timeframe.referenced.line(),
                timeframe.referenced.column(),
                "`timeframe` in a detection (Sigma 1 aggregations) is not supported; use a correlation rule".into(),
            ));
        }
        let mut selections = Vec::new();
        for (name, value) in &entries {
            let compiled = selection(&value.value, settings).map_err(|reason| {
                at(
                    value.referenced.line(),
                    value.referenced.column(),
                    format!("search identifier `{name}`: {reason}"),
                )
            })?;
            selections.push((name.clone(), compiled));
        }
        let condition_line = condition.referenced.line();
        let texts: Vec<String> = match &condition.value {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str().map(str::to_owned).ok_or_else(|| {
                        at(condition_line, 0, "a condition list holds only text".into())
                    })
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(at(
                    condition_line,
                    0,
                    "`condition` must be text or a list of text".into(),
                ));
            }
        };
        if texts.is_empty() {
            return Err(at(condition_line, 0, "`condition` is an empty list".into()));
        }
        let mut conditions = Vec::new();
        for text in &texts {
            let parsed = condition::parse(text)
                .map_err(|e| at(condition_line, 0, format!("condition `{text}`: {e}")))?;
            check_names(&parsed, &selections)
                .map_err(|reason| at(condition_line, 0, format!("condition `{text}`: {reason}")))?;
            conditions.push(parsed);
        }
        let condition = if conditions.len() == 1 {
            conditions.remove(0)
        } else {
            Condition::Or(conditions)
        };
        let plan = plan(&condition, &selections);
        Ok(Detection {
            selections,
            condition,
            plan,
        })
    }

    /// Whether `event` satisfies the condition.
    pub fn matches(&self, event: &dyn EventFields) -> bool {
        self.eval(&self.plan, event)
    }

    fn eval(&self, plan: &Plan, event: &dyn EventFields) -> bool {
        match plan {
            Plan::Search(i) => self.search(*i, event),
            Plan::Not(inner) => !self.eval(inner, event),
            Plan::And(items) => items.iter().all(|p| self.eval(p, event)),
            Plan::Or(items) => items.iter().any(|p| self.eval(p, event)),
            Plan::All(slots) => slots.iter().all(|i| self.search(*i, event)),
            Plan::AtLeast(min, slots) => {
                let mut hits = 0;
                slots.iter().any(|i| {
                    hits += usize::from(self.search(*i, event));
                    hits >= *min
                })
            }
        }
    }

    /// The entries of the search identifier `name`.
    pub fn selection(&self, name: &str) -> Option<&Groups> {
        self.selections
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .and_then(|i| self.selections.get(i))
            .map(|(_, groups)| groups)
    }

    pub(crate) fn names(&self, of: &OfTarget) -> Vec<&String> {
        names(&self.selections, of)
            .filter_map(|i| self.selections.get(i).map(|(n, _)| n))
            .collect()
    }

    fn search(&self, slot: usize, event: &dyn EventFields) -> bool {
        self.selections.get(slot).is_some_and(|(_, groups)| {
            groups
                .iter()
                .any(|group| group.iter().all(|entry| entry.matches(event)))
        })
    }
}

/// The positions of the identifiers `of` ranges over.
fn names<'a>(
    selections: &'a [(String, Groups)],
    of: &'a OfTarget,
) -> impl Iterator<Item = usize> + 'a {
    selections
        .iter()
        .enumerate()
        .filter(move |(_, (name, _))| match of {
            OfTarget::Them => !name.starts_with('_'),
            OfTarget::Pattern(p) => condition::pattern_matches(p, name),
        })
        .map(|(i, _)| i)
}

/// `condition` over positions (its names were checked by `check_names`).
fn plan(condition: &Condition, selections: &[(String, Groups)]) -> Plan {
    match condition {
        Condition::Search(name) => Plan::Search(
            selections
                .binary_search_by(|(n, _)| n.as_str().cmp(name))
                .unwrap_or(usize::MAX),
        ),
        Condition::Not(inner) => Plan::Not(Box::new(plan(inner, selections))),
        Condition::And(items) => Plan::And(items.iter().map(|c| plan(c, selections)).collect()),
        Condition::Or(items) => Plan::Or(items.iter().map(|c| plan(c, selections)).collect()),
        Condition::Of { min, of } => {
            let slots = names(selections, of).collect();
            match min {
                None => Plan::All(slots),
                Some(min) => Plan::AtLeast(*min, slots),
            }
        }
    }
}

/// Every name the condition uses exists, every pattern matches one.
fn check_names(condition: &Condition, selections: &[(String, Groups)]) -> Result<(), String> {
    match condition {
        Condition::Search(name) => {
            if selections.iter().any(|(n, _)| n == name) {
                Ok(())
            } else {
                Err(format!("no search identifier `{name}` in the detection"))
            }
        }
        Condition::Of {
            of: OfTarget::Them, ..
        } => {
            if selections.iter().any(|(n, _)| !n.starts_with('_')) {
                Ok(())
            } else {
                Err("`them` names no search identifier".into())
            }
        }
        Condition::Of {
            of: OfTarget::Pattern(p),
            ..
        } => {
            if selections
                .iter()
                .any(|(n, _)| condition::pattern_matches(p, n))
            {
                Ok(())
            } else {
                Err(format!("`{p}` matches no search identifier"))
            }
        }
        Condition::Not(inner) => check_names(inner, selections),
        Condition::And(items) | Condition::Or(items) => {
            items.iter().try_for_each(|c| check_names(c, selections))
        }
    }
}

/// A search identifier: a map (AND of its entries), a list of maps (OR), or keywords.
fn selection(value: &Value, settings: &RuleSettings) -> Result<Vec<Vec<FieldMatcher>>, String> {
    match value {
        Value::Object(map) => Ok(vec![group(map, settings)?]),
        Value::Array(items) => {
            let mut groups = Vec::new();
            let mut keywords = Vec::new();
            for item in items {
                match item {
                    Value::Object(map) => groups.push(group(map, settings)?),
                    Value::Array(_) => return Err("a list inside a list".into()),
                    Value::Null => return Err("`null` as a keyword".into()),
                    scalar => keywords.push(scalar.clone()),
                }
            }
            if !keywords.is_empty() {
                groups.push(vec![entry("", &Value::Array(keywords), settings)?]);
            }
            if groups.is_empty() {
                return Err("an empty list".into());
            }
            Ok(groups)
        }
        Value::String(_) | Value::Number(_) => Ok(vec![vec![entry("", value, settings)?]]),
        Value::Null | Value::Bool(_) => Err("neither a map, a list nor a keyword".into()),
    }
}

fn group(
    map: &serde_json::Map<String, Value>,
    settings: &RuleSettings,
) -> Result<Vec<FieldMatcher>, String> {
    map.iter()
        .map(|(key, value)| entry(key, value, settings))
        .collect()
}

/// The type a modifier chain gives the values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Regex {
        insensitive: bool,
        multiline: bool,
        dotall: bool,
    },
    Cidr,
    Number(Compare),
    Date(DatePart, Option<Compare>),
    Exists,
    FieldRef,
}

/// One `field|modifiers: values` entry (`field` empty: keywords).
fn entry(key: &str, value: &Value, settings: &RuleSettings) -> Result<FieldMatcher, String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("").trim().to_owned();
    let modifiers: Vec<&str> = parts.collect();
    let mut kind = Kind::Text;
    let mut all = false;
    let mut cased = false;
    let mut negate = false;
    let mut expand = false;
    // Transformations in order, applied to each value below.
    let mut transforms: Vec<&str> = Vec::new();
    for (i, modifier) in modifiers.iter().enumerate() {
        let previous = i.checked_sub(1).and_then(|j| modifiers.get(j)).copied();
        match *modifier {
            "contains" | "startswith" | "endswith" | "base64" | "base64offset" | "utf16le"
            | "wide" | "utf16be" | "utf16" | "windash" => transforms.push(modifier),
            "all" => all = true,
            "cased" => cased = true,
            "neq" => negate = true,
            "expand" => expand = true,
            "re" => {
                kind = Kind::Regex {
                    insensitive: false,
                    multiline: false,
                    dotall: false,
                }
            }
            "i" | "m" | "s" => match (&mut kind, previous) {
                (
                    Kind::Regex {
                        insensitive,
                        multiline,
                        dotall,
                    },
                    Some("re" | "i" | "m" | "s"),
                ) => match *modifier {
                    "i" => *insensitive = true,
                    "m" => *multiline = true,
                    _ => *dotall = true,
                },
                _ => return Err(format!("`{modifier}` is a flag of `re` and must follow it")),
            },
            "cidr" => kind = Kind::Cidr,
            "lt" | "lte" | "gt" | "gte" => {
                let op = match *modifier {
                    "lt" => Compare::Less,
                    "lte" => Compare::LessOrEqual,
                    "gt" => Compare::Greater,
                    _ => Compare::GreaterOrEqual,
                };
                // After a time modifier, the comparison applies to the date's part.
                kind = match kind {
                    Kind::Date(part, _) => Kind::Date(part, Some(op)),
                    _ => Kind::Number(op),
                };
            }
            "exists" => kind = Kind::Exists,
            "fieldref" => kind = Kind::FieldRef,
            "minute" => kind = Kind::Date(DatePart::Minute, None),
            "hour" => kind = Kind::Date(DatePart::Hour, None),
            "day" => kind = Kind::Date(DatePart::Day, None),
            "week" => kind = Kind::Date(DatePart::Week, None),
            "month" => kind = Kind::Date(DatePart::Month, None),
            "year" => kind = Kind::Date(DatePart::Year, None),
            "" => return Err(format!("`{key}`: an empty modifier")),
            other => return Err(format!("unknown modifier `{other}` in `{key}`")),
        }
    }
    if field.is_empty() && matches!(kind, Kind::Exists | Kind::FieldRef) {
        return Err(format!("`{key}` needs a field name"));
    }
    let raw: Vec<&Value> = match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(format!("`{key}`: an empty list of values"));
            }
            if items.len() > 1 && items.iter().any(Value::is_null) {
                return Err(format!("`{key}`: `null` cannot be one of several values"));
            }
            items.iter().collect()
        }
        other => vec![other],
    };
    // A keyword is searched for inside the event's texts, as full-text search finds a word.
    if field.is_empty() && kind == Kind::Text && !transforms.contains(&"contains") {
        transforms.insert(0, "contains");
    }
    let mut values = Vec::new();
    for v in raw {
        compile_value(
            key,
            v,
            kind,
            cased,
            expand,
            &transforms,
            settings,
            &mut values,
        )?;
    }
    FieldMatcher::new(
        if field.is_empty() { None } else { Some(field) },
        values,
        all,
        cased,
        negate,
    )
}

#[allow(clippy::too_many_arguments)]
fn compile_value(
    key: &str,
    value: &Value,
    kind: Kind,
    cased: bool,
    expand: bool,
    transforms: &[&str],
    settings: &RuleSettings,
    out: &mut Vec<ValueMatch>,
) -> Result<(), String> {
    let text = match value {
        Value::Null => {
            if kind != Kind::Text || !transforms.is_empty() {
                return Err(format!("`{key}`: `null` takes no modifiers"));
            }
            out.push(ValueMatch::Null);
            return Ok(());
        }
        Value::Bool(b) => {
            if kind == Kind::Exists {
                out.push(ValueMatch::Exists(*b));
                return Ok(());
            }
            b.to_string()
        }
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => {
            return Err(format!(
                "`{key}`: a value must be text, a number or a boolean"
            ));
        }
    };
    match kind {
        Kind::Exists => Err(format!("`{key}`: `exists` takes true or false")),
        Kind::FieldRef => {
            out.push(ValueMatch::FieldRef(text));
            Ok(())
        }
        Kind::Cidr => {
            let (network, prefix) = parse_cidr(&text).ok_or_else(|| {
                format!("`{key}`: `{text}` is not an address range like 10.0.0.0/8")
            })?;
            out.push(ValueMatch::Cidr { network, prefix });
            Ok(())
        }
        Kind::Number(op) => {
            let n: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("`{key}`: `{text}` is not a number"))?;
            out.push(ValueMatch::Number(op, n));
            Ok(())
        }
        Kind::Date(part, op) => {
            let n: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("`{key}`: `{text}` is not a number"))?;
            out.push(ValueMatch::Date(part, op, n));
            Ok(())
        }
        Kind::Regex {
            insensitive,
            multiline,
            dotall,
        } => {
            // A pattern in ASCII gets PCRE's classes without its UTF mode (`\w`, `\d`, `\s`
            // are ASCII, as in the specification's PCRE flavour, which also keeps `\w{1,64}`
            // small); one that holds other characters (`[-/–]`) is matched by characters.
            let flags = RegexFlags {
                unicode: !text.is_ascii(),
                insensitive,
                multiline,
                dotall,
            };
            let re = RegexMatch::compile(&text, flags).map_err(|e| {
                format!(
                    "`{key}`: regular expression: {}",
                    regex_reason(&e.to_string())
                )
            })?;
            out.push(ValueMatch::Regex(re));
            Ok(())
        }
        Kind::Text => {
            let mut strings = if expand {
                let lookup = |name: &str| settings.placeholders.get(name).cloned();
                SigmaString::expand(&text, &lookup, settings.max_expansions).map_err(
                    |e| match e {
                        ExpandError::Unknown(name) => {
                            format!("`{key}`: the placeholder %{name}% has no configured values")
                        }
                        ExpandError::TooMany(name) => format!(
                            "`{key}`: %{name}% expands into more than {} values",
                            settings.max_expansions
                        ),
                    },
                )?
            } else if matches!(value, Value::String(_)) {
                vec![SigmaString::parse(&text)]
            } else {
                vec![SigmaString::literal(&text)]
            };
            for transform in transforms {
                strings = apply(key, transform, strings, settings)?;
            }
            for s in &strings {
                out.push(ValueMatch::Text(
                    TextMatch::compile(s, cased).map_err(|e| format!("`{key}`: {e}"))?,
                ));
            }
            Ok(())
        }
    }
}

fn apply(
    key: &str,
    transform: &str,
    strings: Vec<SigmaString>,
    settings: &RuleSettings,
) -> Result<Vec<SigmaString>, String> {
    let wildcard_error = || format!("`{key}`: `{transform}` cannot encode a value with wildcards");
    let mut out = Vec::with_capacity(strings.len());
    for s in strings {
        match transform {
            "contains" => out.push(s.contains()),
            "startswith" => out.push(s.starts_with()),
            "endswith" => out.push(s.ends_with()),
            "utf16le" | "wide" => out.push(s.utf16le()),
            "utf16be" => out.push(s.utf16be()),
            "utf16" => out.push(s.utf16_bom()),
            "base64" => out.push(s.base64().ok_or_else(wildcard_error)?),
            "base64offset" => out.extend(s.base64_offsets().ok_or_else(wildcard_error)?),
            "windash" => out.extend(s.windash(settings.max_expansions).ok_or_else(|| {
                format!(
                    "`{key}`: `windash` makes more than {} variants",
                    settings.max_expansions
                )
            })?),
            other => return Err(format!("`{key}`: `{other}` is not a transformation")),
        }
        if out.len() > settings.max_expansions {
            return Err(format!(
                "`{key}`: the modifiers make more than {} values",
                settings.max_expansions
            ));
        }
    }
    Ok(out)
}

/// The regex crate's reason without its multi-line picture of the pattern.
fn regex_reason(message: &str) -> String {
    message
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .map_or_else(|| first_line(message), str::to_owned)
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").to_owned()
}
