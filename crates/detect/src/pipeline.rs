//! Processing pipelines (YAML): for one shape of event, where Sigma's field names are, and which
//! Sigma logsources an event belongs to. A rule runs on an event only when one of the event's
//! logsources has every attribute the rule's logsource names (`docs/detection.md`).
//!
//! ```yaml
//! name: windows-evtx
//! fields:
//!     search: [Event.EventData, Event.System]     # a Sigma name is looked up under each
//!     names: {Provider_Name: Event.System.Provider.#attributes.Name}
//! logsources:
//!     - when: {Event.System.Channel: Security}     # all must hold; a list is an OR
//!       is: [{product: windows, service: security}]
//! ```
//!
//! A name may map to a list of paths, the first present being taken; `include` takes the
//! logsources of a built-in pipeline with the start of their paths renamed
//! (`{pipeline: windows-evtx, paths: {Event.System: vendor}}`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::error::RuleError;
use crate::event::EventFields;
use crate::rule::LogSource;

/// The pipeline for Windows events as evtx_dump and Chainsaw write them as JSON.
pub const WINDOWS_EVTX: &str = include_str!("../pipelines/windows.yml");

/// The pipeline for Shieldwall's own normalised events (`docs/event-schema.md`).
pub const SHIELDWALL_EVENT: &str = include_str!("../pipelines/event.yml");

/// The built-in pipelines by name.
pub const BUILT_IN: &[(&str, &str, &str)] = &[
    ("windows-evtx", "pipelines/windows.yml", WINDOWS_EVTX),
    ("shieldwall-event", "pipelines/event.yml", SHIELDWALL_EVENT),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PipelineFile {
    name: String,
    #[serde(default)]
    fields: FieldsFile,
    #[serde(default)]
    include: Vec<IncludeFile>,
    #[serde(default)]
    logsources: Vec<LogsourceFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IncludeFile {
    pipeline: String,
    #[serde(default)]
    paths: BTreeMap<String, String>,
}

/// One path, or several tried in order.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Paths {
    One(String),
    Several(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldsFile {
    #[serde(default)]
    search: Vec<String>,
    #[serde(default)]
    names: BTreeMap<String, Paths>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogsourceFile {
    when: BTreeMap<String, Value>,
    is: Vec<LogSource>,
}

/// A loaded pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Its name.
    pub name: String,
    search: Vec<Vec<String>>,
    names: BTreeMap<String, Vec<Vec<String>>>,
    /// The distinct paths `when` conditions look at, each resolved once per event.
    paths: Vec<Vec<String>>,
    logsources: Vec<LogsourceRule>,
}

/// A field path (by its position in `Pipeline::paths`) and the values it may have.
type Condition = (usize, Vec<String>);

/// When every condition holds, the event belongs to these logsources.
#[derive(Debug, Clone)]
struct LogsourceRule {
    when: Vec<Condition>,
    is: Vec<LogSource>,
}

impl Pipeline {
    /// The built-in Windows pipeline.
    pub fn windows() -> Result<Pipeline, RuleError> {
        Pipeline::built_in("windows-evtx")
    }

    /// The built-in pipeline for Shieldwall's normalised events.
    pub fn shieldwall_event() -> Result<Pipeline, RuleError> {
        Pipeline::built_in("shieldwall-event")
    }

    /// A built-in pipeline by name (`BUILT_IN`).
    pub fn built_in(name: &str) -> Result<Pipeline, RuleError> {
        let (_, file, text) = BUILT_IN
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or_else(|| {
                let names: Vec<&str> = BUILT_IN.iter().map(|(n, _, _)| *n).collect();
                RuleError::at(
                    Path::new(name),
                    0,
                    0,
                    format!(
                        "no built-in pipeline of that name (there are: {})",
                        names.join(", ")
                    ),
                )
            })?;
        Pipeline::parse(Path::new(file), text)
    }

    /// Reads a pipeline; `path` names it in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Pipeline, RuleError> {
        let at = |line: u64, column: u64, reason: String| RuleError::at(path, line, column, reason);
        let file: PipelineFile =
            serde_saphyr::from_str(text).map_err(|e| RuleError::yaml(path, &e))?;
        let split = |p: &str| p.split('.').map(str::to_owned).collect::<Vec<_>>();
        let mut paths: Vec<Vec<String>> = Vec::new();
        let mut slot = |path: Vec<String>| match paths.iter().position(|p| *p == path) {
            Some(i) => i,
            None => {
                paths.push(path);
                paths.len() - 1
            }
        };
        let mut logsources = Vec::new();
        for include in &file.include {
            if include.pipeline == file.name {
                return Err(at(0, 0, format!("`{}` includes itself", file.name)));
            }
            // Built-in pipelines include nothing, so this cannot recurse further.
            let included = Pipeline::built_in(&include.pipeline)
                .map_err(|e| at(0, 0, format!("include: {}", e.reason)))?;
            for rule in included.logsources {
                let when = rule
                    .when
                    .into_iter()
                    .map(|(path, values)| {
                        let path = included.paths.get(path).cloned().unwrap_or_default();
                        (slot(renamed(&path, &include.paths)), values)
                    })
                    .collect();
                logsources.push(LogsourceRule { when, is: rule.is });
            }
        }
        for entry in file.logsources {
            let mut when = Vec::new();
            for (field, value) in entry.when {
                let values = match value {
                    Value::Array(items) => items.iter().map(text_of).collect::<Option<Vec<_>>>(),
                    other => text_of(&other).map(|t| vec![t]),
                }
                .ok_or_else(|| {
                    at(
                        0,
                        0,
                        format!("`when` of `{field}`: values must be text or numbers"),
                    )
                })?;
                when.push((slot(split(&field)), values));
            }
            if entry.is.is_empty() {
                return Err(at(0, 0, "a logsource entry with an empty `is`".into()));
            }
            let is = entry.is.iter().map(LogSource::lowered).collect();
            logsources.push(LogsourceRule { when, is });
        }
        Ok(Pipeline {
            name: file.name,
            search: file.fields.search.iter().map(|p| split(p)).collect(),
            names: file
                .fields
                .names
                .iter()
                .map(|(k, v)| {
                    let paths = match v {
                        Paths::One(p) => vec![split(p)],
                        Paths::Several(ps) => ps.iter().map(|p| split(p)).collect(),
                    };
                    (k.clone(), paths)
                })
                .collect(),
            paths,
            logsources,
        })
    }

    /// The logsources `event` belongs to (their attributes in lower case).
    pub fn logsources(&self, event: &Value) -> Vec<&LogSource> {
        let found: Vec<Option<&Value>> = self
            .paths
            .iter()
            .map(|p| walk(event, p.iter().map(String::as_str)))
            .collect();
        let mut out = Vec::new();
        for LogsourceRule { when, is } in &self.logsources {
            let holds = when.iter().all(|(path, values)| {
                found
                    .get(*path)
                    .copied()
                    .flatten()
                    .is_some_and(|v| values.iter().any(|want| equals_text(v, want)))
            });
            if holds {
                out.extend(is.iter());
            }
        }
        out
    }

    /// `event` with Sigma's field names resolved by this pipeline.
    pub fn view<'a>(&'a self, event: &'a Value) -> PipelineEvent<'a> {
        let mut bases = Vec::new();
        for prefix in &self.search {
            objects_at(event, prefix, &mut bases);
        }
        let spaced = bases
            .iter()
            .filter_map(|b| b.as_object())
            .any(|map| map.keys().any(|k| k.contains(' ')));
        PipelineEvent {
            pipeline: self,
            event,
            bases,
            spaced,
        }
    }
}

impl LogSource {
    /// This logsource with its attributes in ASCII lower case.
    pub fn lowered(&self) -> LogSource {
        let low = |s: &Option<String>| s.as_ref().map(|s| s.to_ascii_lowercase());
        LogSource {
            category: low(&self.category),
            product: low(&self.product),
            service: low(&self.service),
        }
    }

    /// Whether a rule with this logsource runs on an event of logsource `event`: every
    /// attribute the rule names is the event's (ignoring case).
    pub fn covers(&self, event: &LogSource) -> bool {
        let same = |rule: &Option<String>, event: &Option<String>| match rule {
            None => true,
            Some(r) => event.as_ref().is_some_and(|e| e.eq_ignore_ascii_case(r)),
        };
        same(&self.product, &event.product)
            && same(&self.category, &event.category)
            && same(&self.service, &event.service)
    }
}

/// An event seen through a pipeline.
#[derive(Debug, Clone)]
pub struct PipelineEvent<'a> {
    pipeline: &'a Pipeline,
    event: &'a Value,
    /// The objects under the search paths, in order.
    bases: Vec<&'a Value>,
    /// Whether one of them has a key with a space.
    spaced: bool,
}

impl EventFields for PipelineEvent<'_> {
    fn field(&self, name: &str) -> Option<&Value> {
        if let Some(paths) = self.pipeline.names.get(name) {
            return paths
                .iter()
                .find_map(|path| walk(self.event, path.iter().map(String::as_str)));
        }
        for base in &self.bases {
            if let Some(v) = lookup_in(base, name, self.spaced) {
                return Some(v);
            }
        }
        self.event.field(name)
    }

    fn for_each_text(&self, each: &mut dyn FnMut(&str)) {
        self.event.for_each_text(each);
    }
}

/// The values at `path`, where a `*` step stands for every key of an object.
fn objects_at<'a>(value: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    match path.split_first() {
        None => out.push(value),
        Some((step, rest)) if step == "*" => {
            if let Value::Object(map) = value {
                for child in map.values() {
                    objects_at(child, rest, out);
                }
            }
        }
        Some((step, rest)) => {
            if let Some(child) = value.as_object().and_then(|m| m.get(step.as_str())) {
                objects_at(child, rest, out);
            }
        }
    }
}

/// `name` (a dotted path) under `base`; a plain name also matches a key written with spaces
/// (Sigma strips them: `Source Name` is `SourceName`).
fn lookup_in<'a>(base: &'a Value, name: &str, spaced: bool) -> Option<&'a Value> {
    if let Some(v) = walk(base, name.split('.')) {
        return Some(v);
    }
    if !spaced {
        return None;
    }
    let map = base.as_object()?;
    map.iter()
        .find(|(key, _)| key.contains(' ') && key.chars().filter(|c| *c != ' ').eq(name.chars()))
        .map(|(_, v)| v)
}

/// `path` with its longest prefix found in `renames` replaced.
fn renamed(path: &[String], renames: &BTreeMap<String, String>) -> Vec<String> {
    for cut in (1..=path.len()).rev() {
        let (head, tail) = path.split_at(cut);
        if let Some(to) = renames.get(&head.join(".")) {
            return to
                .split('.')
                .map(str::to_owned)
                .chain(tail.iter().cloned())
                .collect();
        }
    }
    path.to_vec()
}

fn walk<'a, 'p>(value: &'a Value, path: impl Iterator<Item = &'p str>) -> Option<&'a Value> {
    let mut at = value;
    for step in path {
        at = at.as_object()?.get(step)?;
    }
    Some(at)
}

/// Whether `value` is a scalar whose text is `want`, ignoring ASCII case.
fn equals_text(value: &Value, want: &str) -> bool {
    match value {
        Value::String(s) => s.eq_ignore_ascii_case(want),
        Value::Number(n) => match (n.as_i64(), want.parse::<i64>()) {
            (Some(n), Ok(w)) => n == w,
            _ => n.to_string() == want,
        },
        Value::Bool(b) => want.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn windows_fields_and_logsources() {
        let p = Pipeline::windows().unwrap();
        let e = json!({"Event": {"System": {
            "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 13,
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}},
            "EventData": {"TargetObject": "HKLM\\x", "EventID": "shadowed"}}});
        let view = p.view(&e);
        assert_eq!(view.field("TargetObject"), Some(&json!("HKLM\\x")));
        assert_eq!(
            view.field("Provider_Name"),
            Some(&json!("Microsoft-Windows-Sysmon"))
        );
        assert_eq!(
            view.field("Channel"),
            Some(&json!("Microsoft-Windows-Sysmon/Operational"))
        );
        assert_eq!(view.field("Nope"), None);
        let ls = p.logsources(&e);
        let set = |category: &str| LogSource {
            product: Some("windows".into()),
            category: Some(category.into()),
            service: None,
        };
        assert!(ls.iter().any(|l| set("registry_set").covers(l)));
        assert!(ls.iter().any(|l| set("registry_event").covers(l)));
        assert!(!ls.iter().any(|l| set("registry_add").covers(l)));
        let windows = LogSource {
            product: Some("Windows".into()),
            ..LogSource::default()
        };
        assert!(ls.iter().any(|l| windows.covers(l)));
        let linux = LogSource {
            product: Some("linux".into()),
            ..LogSource::default()
        };
        assert!(!ls.iter().any(|l| linux.covers(l)));
    }

    #[test]
    fn shieldwall_events_take_windows_logsources_and_name_lists() {
        let p = Pipeline::shieldwall_event().unwrap();
        let windows = json!({"parser": "windows-event-json", "vendor": {
            "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
            "Image": "C:\\x\\cmd.exe"}, "actor": {"process": {"path": "ignored"}}});
        let creation = LogSource {
            product: Some("windows".into()),
            category: Some("process_creation".into()),
            service: None,
        };
        assert!(p.logsources(&windows).iter().any(|l| creation.covers(l)));
        assert_eq!(
            p.view(&windows).field("Image"),
            Some(&json!("C:\\x\\cmd.exe"))
        );
        let linux = json!({"parser": "auditd", "vendor": {"type": "SYSCALL"},
            "actor": {"process": {"path": "/usr/bin/nc"}}});
        assert_eq!(p.view(&linux).field("Image"), Some(&json!("/usr/bin/nc")));
        assert_eq!(p.view(&linux).field("type"), Some(&json!("SYSCALL")));
        let linux_creation = LogSource {
            product: Some("linux".into()),
            ..creation.clone()
        };
        assert!(
            p.logsources(&linux)
                .iter()
                .any(|l| linux_creation.covers(l))
        );
        assert!(!p.logsources(&linux).iter().any(|l| creation.covers(l)));
        // The parser decides; a record's own `parser` key is in `vendor`, not at the top.
        let forged = json!({"parser": "json", "vendor": {"parser": "auditd", "type": "SYSCALL"}});
        let own = LogSource {
            product: Some("shieldwall".into()),
            ..LogSource::default()
        };
        assert_eq!(p.logsources(&forged), [&own], "only what every event gets");
    }

    #[test]
    fn includes_rename_paths_and_refuse_unknown_pipelines() {
        let renames = BTreeMap::from([("Event.System".to_owned(), "vendor".to_owned())]);
        let path: Vec<String> = ["Event", "System", "Channel"].map(String::from).to_vec();
        assert_eq!(renamed(&path, &renames), ["vendor", "Channel"]);
        let other: Vec<String> = ["Event", "EventData"].map(String::from).to_vec();
        assert_eq!(renamed(&other, &renames), other);
        let err = Pipeline::parse(Path::new("p.yml"), "name: p\ninclude: [{pipeline: nope}]\n")
            .unwrap_err();
        assert!(err.reason.contains("no built-in pipeline"), "{err}");
    }
}
