//! Loading SCA policy files: the YAML shape Wazuh defines, read with the line of every check and
//! rule so that a bad one is reported where it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::PolicyError;
use crate::rule::{Condition, Rule, expand};

/// Policy files larger than this are refused before parsing: the largest Wazuh policy is
/// about 1 MB, so this leaves room without letting a stray file exhaust memory.
pub const MAX_POLICY_BYTES: usize = 16 * 1024 * 1024;

/// A loaded policy: its metadata, variables and checks, each rule parsed.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The file it came from.
    pub source: PathBuf,
    /// `policy.id`.
    pub id: String,
    /// `policy.name`.
    pub name: String,
    /// `policy.description`.
    pub description: String,
    /// `policy.references`.
    pub references: Vec<String>,
    /// The rules that decide whether the policy applies to a target at all.
    pub requirements: Option<Requirements>,
    /// `$name` to its value, as written (a comma-separated list stays one string).
    pub variables: BTreeMap<String, String>,
    /// The checks, in file order.
    pub checks: Vec<Check>,
}

/// The `requirements` section.
#[derive(Debug, Clone)]
pub struct Requirements {
    /// What is required, in words.
    pub name: String,
    /// How the rules combine.
    pub condition: Condition,
    /// The rules.
    pub rules: Vec<RuleLine>,
}

/// One check of a policy.
#[derive(Debug, Clone)]
pub struct Check {
    /// The check id, unique within the policy (Wazuh writes integers).
    pub id: String,
    /// The title.
    pub name: String,
    /// Description, rationale, impact and remediation as written.
    pub description: Option<String>,
    /// Why the setting matters.
    pub rationale: Option<String>,
    /// What changing it costs.
    pub impact: Option<String>,
    /// How to fix a failure.
    pub remediation: Option<String>,
    /// Framework key to its ids, e.g. `ccm_v4` to `["IAM-02"]`, `cis` to `["5.2.1"]`.
    pub compliance: BTreeMap<String, Vec<String>>,
    /// ATT&CK tactic, technique and sub-technique ids.
    pub mitre: Vec<String>,
    /// Reference links.
    pub references: Vec<String>,
    /// How the rules combine.
    pub condition: Condition,
    /// The rules.
    pub rules: Vec<RuleLine>,
    /// Line of the check in its file.
    pub line: usize,
}

/// A rule as written, where, and what it parsed to.
#[derive(Debug, Clone)]
pub struct RuleLine {
    /// The rule text, variables not yet expanded.
    pub text: String,
    /// Line in the policy file.
    pub line: usize,
    /// The parsed rule, or why it cannot be evaluated (kept per rule, so one rule the engine
    /// cannot run makes only its check an error).
    pub rule: Result<Rule, String>,
}

impl Policy {
    /// Reads and parses a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let size = std::fs::metadata(path)
            .map_err(|e| PolicyError::at(path, 0, 0, format!("cannot read: {e}")))?
            .len();
        if size > MAX_POLICY_BYTES as u64 {
            return Err(PolicyError::at(
                path,
                0,
                0,
                format!("{size} bytes is over the {MAX_POLICY_BYTES}-byte limit for a policy"),
            ));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| PolicyError::at(path, 0, 0, format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|e| PolicyError::at(path, 0, 0, format!("not UTF-8: {e}")))?;
        Policy::parse(path, &text)
    }

    /// Parses policy text; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::at(
                path,
                0,
                0,
                "policy text over the size limit",
            ));
        }
        let file: PolicyFile =
            serde_saphyr::from_str(text).map_err(|e| PolicyError::yaml(path, &e))?;
        let head = file.policy.value;
        let head_line = file.policy.referenced.line();
        let required = |value: Option<String>, field: &str| {
            value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                PolicyError::at(path, head_line, 0, format!("policy.{field} is missing"))
            })
        };
        let id = required(head.id.map(Scalar::into_string), "id")?;
        let name = required(head.name, "name")?;
        let description = head.description.unwrap_or_default();

        let mut variables = BTreeMap::new();
        if let Some(section) = file.variables {
            for (key, value) in section.value {
                if !key.starts_with('$') || key.len() < 2 {
                    return Err(PolicyError::at(
                        path,
                        section.referenced.line(),
                        0,
                        format!("variable `{key}` must start with `$`"),
                    ));
                }
                variables.insert(key, value.into_string());
            }
        }

        let requirements = match file.requirements {
            None => None,
            Some(section) => {
                let line = section.referenced.line();
                let section = section.value;
                let condition = parse_condition(path, line, section.condition)?;
                let rules = rule_lines(path, line, section.rules, &variables)?;
                Some(Requirements {
                    name: section.name.unwrap_or_default(),
                    condition,
                    rules,
                })
            }
        };

        let mut checks = Vec::with_capacity(file.checks.value.len());
        let mut seen = BTreeMap::new();
        for spanned in file.checks.value {
            let line = spanned.referenced.line();
            let raw = spanned.value;
            let id = raw
                .id
                .map(Scalar::into_string)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| PolicyError::at(path, line, 0, "check has no id"))?;
            if let Some(first) = seen.insert(id.clone(), line) {
                return Err(PolicyError::at(
                    path,
                    line,
                    0,
                    format!("check id {id} is used twice (first at line {first})"),
                ));
            }
            let name = raw
                .name
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| PolicyError::at(path, line, 0, format!("check {id} has no name")))?;
            let condition =
                parse_condition(path, line, raw.condition).map_err(|e| PolicyError {
                    reason: format!("check {id}: {}", e.reason),
                    ..e
                })?;
            let rules = rule_lines(path, line, raw.rules, &variables).map_err(|e| PolicyError {
                reason: format!("check {id}: {}", e.reason),
                ..e
            })?;
            checks.push(Check {
                id,
                name,
                description: raw.description,
                rationale: raw.rationale,
                impact: raw.impact,
                remediation: raw.remediation,
                compliance: raw.compliance.map(Compliance::into_map).unwrap_or_default(),
                mitre: raw.mitre.as_ref().map(mitre_ids).unwrap_or_default(),
                references: raw
                    .references
                    .or(raw.reference)
                    .as_ref()
                    .map(reference_list)
                    .unwrap_or_default(),
                condition,
                rules,
                line: usize::try_from(line).unwrap_or(0),
            });
        }
        if checks.is_empty() {
            return Err(PolicyError::at(
                path,
                file.checks.referenced.line(),
                0,
                "policy has no checks",
            ));
        }
        Ok(Policy {
            source: path.to_owned(),
            id,
            name,
            description,
            references: head
                .references
                .as_ref()
                .map(reference_list)
                .unwrap_or_default(),
            requirements,
            variables,
            checks,
        })
    }

    /// Checks whose rules the engine cannot run, with the reason: loaded anyway, reported as
    /// errors when evaluated.
    pub fn unsupported_rules(&self) -> Vec<(&Check, &RuleLine, &str)> {
        let mut out = Vec::new();
        for check in &self.checks {
            for line in &check.rules {
                if let Err(reason) = &line.rule {
                    out.push((check, line, reason.as_str()));
                }
            }
        }
        out
    }
}

fn parse_condition(
    path: &Path,
    owner_line: u64,
    condition: Option<Spanned<String>>,
) -> Result<Condition, PolicyError> {
    let Some(condition) = condition else {
        return Err(PolicyError::at(
            path,
            owner_line,
            0,
            "condition is missing (all, any or none)",
        ));
    };
    Condition::parse(&condition.value).ok_or_else(|| {
        PolicyError::at(
            path,
            condition.referenced.line(),
            condition.referenced.column(),
            format!("condition `{}` is not all, any or none", condition.value),
        )
    })
}

fn rule_lines(
    path: &Path,
    owner_line: u64,
    rules: Option<Spanned<Vec<Spanned<String>>>>,
    variables: &BTreeMap<String, String>,
) -> Result<Vec<RuleLine>, PolicyError> {
    let rules = rules.ok_or_else(|| PolicyError::at(path, owner_line, 0, "rules are missing"))?;
    if rules.value.is_empty() {
        return Err(PolicyError::at(
            path,
            rules.referenced.line(),
            0,
            "rules are empty",
        ));
    }
    Ok(rules
        .value
        .into_iter()
        .map(|text| RuleLine {
            rule: Rule::parse(&expand(&text.value, variables)),
            line: usize::try_from(text.referenced.line()).unwrap_or(0),
            text: text.value,
        })
        .collect())
}

/// References are written as strings, and sometimes as `Title: URL` (which YAML reads as a
/// map): both are kept as text.
fn reference_list(value: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_references(value, &mut out);
    out
}

fn collect_references(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match v {
                    serde_json::Value::String(s) => out.push(format!("{key}: {s}")),
                    _ => out.push(key.clone()),
                }
            }
        }
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::Bool(_) | serde_json::Value::Null => {}
    }
}

fn mitre_ids(value: &serde_json::Value) -> Vec<String> {
    // Wazuh 5 writes `{tactic: {id: [..], name: [..]}, ...}`; older policies write lists of
    // maps or bare id lists. Any string that looks like an ATT&CK id is taken from any of them.
    let mut out = Vec::new();
    collect_attack_ids(value, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect_attack_ids(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) if looks_like_attack_id(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_attack_ids(v, out)),
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                if key != "name" {
                    collect_attack_ids(v, out);
                }
            }
        }
        _ => {}
    }
}

fn looks_like_attack_id(s: &str) -> bool {
    let rest = s.strip_prefix("TA").or_else(|| s.strip_prefix('T'));
    rest.is_some_and(|r| {
        let mut parts = r.splitn(2, '.');
        let head = parts.next().unwrap_or("");
        !head.is_empty()
            && head.bytes().all(|b| b.is_ascii_digit())
            && parts
                .next()
                .is_none_or(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[derive(Deserialize)]
struct PolicyFile {
    policy: Spanned<PolicyHead>,
    requirements: Option<Spanned<RequirementsSection>>,
    variables: Option<Spanned<BTreeMap<String, Scalar>>>,
    checks: Spanned<Vec<Spanned<RawCheck>>>,
}

#[derive(Deserialize)]
struct PolicyHead {
    id: Option<Scalar>,
    name: Option<String>,
    description: Option<String>,
    references: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RequirementsSection {
    name: Option<String>,
    condition: Option<Spanned<String>>,
    rules: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
struct RawCheck {
    id: Option<Scalar>,
    name: Option<String>,
    description: Option<String>,
    rationale: Option<String>,
    impact: Option<String>,
    remediation: Option<String>,
    compliance: Option<Compliance>,
    mitre: Option<serde_json::Value>,
    references: Option<serde_json::Value>,
    reference: Option<serde_json::Value>,
    condition: Option<Spanned<String>>,
    rules: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A YAML scalar read as text whatever its type: ids and compliance references are written
/// both quoted and bare.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Integer(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringList {
    Many(Vec<Scalar>),
    One(Scalar),
}

impl StringList {
    fn into_vec(self) -> Vec<String> {
        match self {
            StringList::Many(v) => v.into_iter().map(Scalar::into_string).collect(),
            StringList::One(s) => vec![s.into_string()],
        }
    }
}

/// Wazuh 5 writes a map of framework to ids; 4.x policies a list of one-key maps.
#[derive(Deserialize)]
#[serde(untagged)]
enum Compliance {
    Map(BTreeMap<String, StringList>),
    List(Vec<BTreeMap<String, StringList>>),
}

impl Compliance {
    fn into_map(self) -> BTreeMap<String, Vec<String>> {
        let maps = match self {
            Compliance::Map(m) => vec![m],
            Compliance::List(l) => l,
        };
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for map in maps {
            for (key, ids) in map {
                out.entry(key).or_default().extend(ids.into_vec());
            }
        }
        out
    }
}
