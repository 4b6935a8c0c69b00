//! Sigma filters (the filters specification, v2.1): a detection that names the rules it applies
//! to; an event it matches no longer fires them. Environment-specific tuning, kept apart from
//! the rules it tunes.
//!
//! ```yaml
//! title: Filter Administrator account
//! logsource: {category: process_creation, product: windows}
//! filter:
//!     rules: [6f3e2987-db24-4c78-a860-b4f4095a7095]   # ids (or titles) of rules
//!     selection: {User|startswith: 'adm_'}
//!     condition: selection
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::error::RuleError;
use crate::rule::{AppliedFilter, Detection, LogSource, Rule, RuleSettings, title_and_logsource};

#[derive(Debug, Deserialize)]
struct FilterFile {
    title: Option<String>,
    #[serde(default)]
    id: Option<String>,
    logsource: Option<LogSource>,
    filter: Option<Spanned<BTreeMap<String, Spanned<Value>>>>,
}

/// A loaded filter.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The file it came from.
    pub file: PathBuf,
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// The logsource of the rules it may apply to.
    pub logsource: LogSource,
    /// The ids (or titles) of the rules it applies to.
    pub rules: Vec<String>,
    /// Its selections and condition.
    pub detection: Detection,
}

impl Filter {
    /// Whether `text` is a filter rather than a rule: it has a top-level `filter` key (plain or
    /// quoted).
    pub fn is_filter(text: &str) -> bool {
        text.lines().any(|l| {
            ["filter:", "\"filter\":", "'filter':"]
                .iter()
                .any(|k| l.starts_with(k))
        })
    }

    /// Compiles the filter in `text`; `path` names it in errors.
    pub fn parse(path: &Path, text: &str, settings: &RuleSettings) -> Result<Filter, RuleError> {
        let at = |line: u64, column: u64, reason: String| RuleError::at(path, line, column, reason);
        let file: FilterFile =
            serde_saphyr::from_str(text).map_err(|e| RuleError::yaml(path, &e))?;
        let (title, logsource) = title_and_logsource(path, file.title, file.logsource)?;
        let mut block = file.filter.ok_or_else(|| at(0, 0, "no `filter`".into()))?;
        let line = block.referenced.line();
        let listed = block
            .value
            .remove("rules")
            .ok_or_else(|| at(line, 0, "the filter names no `rules`".into()))?;
        let rules: Vec<String> = match &listed.value {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    at(
                        listed.referenced.line(),
                        0,
                        "`rules` holds rule ids or titles as text".into(),
                    )
                })?,
            _ => {
                return Err(at(
                    listed.referenced.line(),
                    0,
                    "`rules` must be a list of rule ids or titles".into(),
                ));
            }
        };
        if rules.is_empty() {
            return Err(at(listed.referenced.line(), 0, "`rules` is empty".into()));
        }
        let detection = Detection::compile(path, block, settings)?;
        Ok(Filter {
            file: path.to_owned(),
            title,
            id: file.id,
            logsource,
            rules,
            detection,
        })
    }
}

/// Applies each filter to the rules it names. A name that matches no rule, or a rule whose
/// logsource lacks an attribute the filter's has, is an error of the filter's file, and the
/// filter is not applied to that rule.
pub fn apply(rules: &mut [Rule], filters: &[Filter]) -> Vec<RuleError> {
    let mut errors = Vec::new();
    for filter in filters {
        for name in &filter.rules {
            let mut found = false;
            for rule in rules
                .iter_mut()
                .filter(|r| r.id.as_deref() == Some(name.as_str()) || r.title == *name)
            {
                found = true;
                if !filter.logsource.covers(&rule.logsource) {
                    errors.push(RuleError::at(
                        &filter.file,
                        0,
                        0,
                        format!(
                            "filter `{}` does not apply to rule `{name}`: the rule's logsource \
                             ({}) is not the filter's ({})",
                            filter.title,
                            describe(&rule.logsource),
                            describe(&filter.logsource)
                        ),
                    ));
                    continue;
                }
                rule.filters.push(AppliedFilter {
                    title: filter.title.clone(),
                    id: filter.id.clone(),
                    detection: filter.detection.clone(),
                });
            }
            if !found {
                errors.push(RuleError::at(
                    &filter.file,
                    0,
                    0,
                    format!(
                        "filter `{}` names rule `{name}`, which is not loaded",
                        filter.title
                    ),
                ));
            }
        }
    }
    errors
}

fn describe(source: &LogSource) -> String {
    let parts: Vec<String> = [
        ("product", &source.product),
        ("category", &source.category),
        ("service", &source.service),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
    .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(id: &str, logsource: &str) -> Rule {
        let text = format!(
            "title: Rar\nid: {id}\nlogsource: {logsource}\ndetection:\n  sel: {{Image|endswith: '\\rar.exe'}}\n  condition: sel\n"
        );
        Rule::parse(Path::new("r.yml"), &text, &RuleSettings::default()).unwrap()
    }

    const FILTER: &str = "title: Admins
logsource:
    category: process_creation
    product: windows
filter:
    rules:
        - 6f3e2987-db24-4c78-a860-b4f4095a7095
        - 00000000-0000-0000-0000-000000000000
    selection:
        User|startswith: 'adm_'
    condition: selection
";

    #[test]
    fn a_filter_removes_matches_from_the_rules_it_names() {
        let creation = "{category: process_creation, product: windows}";
        let mut rules = vec![
            rule("6f3e2987-db24-4c78-a860-b4f4095a7095", creation),
            rule("11111111-1111-1111-1111-111111111111", creation),
        ];
        assert!(Filter::is_filter(FILTER));
        let filter =
            Filter::parse(Path::new("mf_admins.yml"), FILTER, &RuleSettings::default()).unwrap();
        let errors = apply(&mut rules, &[filter]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].reason.contains("which is not loaded"),
            "{errors:?}"
        );
        let admin = json!({"Image": "C:\\x\\rar.exe", "User": "adm_jane"});
        let other = json!({"Image": "C:\\x\\rar.exe", "User": "jane"});
        assert!(!rules[0].matches(&admin));
        assert!(rules[0].matches(&other));
        assert!(rules[1].matches(&admin), "a rule the filter does not name");
    }

    #[test]
    fn a_filter_applies_only_within_its_logsource() {
        let mut rules = vec![rule(
            "6f3e2987-db24-4c78-a860-b4f4095a7095",
            "{category: process_creation, product: linux}",
        )];
        let filter = Filter::parse(Path::new("f.yml"), FILTER, &RuleSettings::default()).unwrap();
        let errors = apply(&mut rules, &[filter]);
        assert!(
            errors.iter().any(|e| e.reason.contains("logsource")),
            "{errors:?}"
        );
        assert!(rules[0].filters.is_empty());
    }

    #[test]
    fn filters_without_rules_or_with_bad_conditions_are_refused() {
        let settings = RuleSettings::default();
        let no_rules = FILTER.replace("    rules:\n        - 6f3e2987-db24-4c78-a860-b4f4095a7095\n        - 00000000-0000-0000-0000-000000000000\n", "");
        let e = Filter::parse(Path::new("f.yml"), &no_rules, &settings).unwrap_err();
        assert!(e.reason.contains("names no `rules`"), "{e}");
        let bad = FILTER.replace("condition: selection", "condition: selection and nope");
        let e = Filter::parse(Path::new("f.yml"), &bad, &settings).unwrap_err();
        assert!(e.reason.contains("nope"), "{e}");
        assert_eq!(e.line, 11);
    }
}
