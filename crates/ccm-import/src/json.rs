//! Reading the CCM from JSON.
//!
//! CSA's own downloads are spreadsheets; the JSON forms in circulation are
//! conversions, and they differ in shape (see the crate docs). Rather than
//! one schema, the reader walks the document and takes every object that
//! carries a control id and a specification:
//!
//! * a list of flat objects: `[{"id": "A&A-01", "domainName": ..., "title":
//!   ..., "controlSpecification": ...}]`, also under a `controls` key;
//! * an object keyed by control id: `{"controls": {"A&A-01":
//!   {"control_domain": ..., "control_title": ..., "control_specification":
//!   ...}}}` (the id may be omitted inside);
//! * domains holding controls: `{"ccm": {"control-domains": [{"name": ...,
//!   "controls": [{"id": ..., "name": ..., "specification": ...}]}]}}`;
//! * an OSCAL catalog: `{"catalog": {"groups": [{"title": ..., "controls":
//!   [{"id": ..., "title": ..., "props": [{"name": "label", "value":
//!   "A&A-01"}], "parts": [{"name": "statement", "prose": ...}]}]}]}}`.
//!
//! Keys compare loosely: case, `_`, `-` and spaces are ignored.

use serde_json::{Map, Value};

use crate::error::{ImportError, Location};
use crate::text::{
    clean_block, domain_name_from_heading, looks_like_control_id, non_empty, normalize_key,
    strip_ws,
};
use crate::{Collector, ControlText};

/// Keys holding the control id, best first (normalised by [`normalize_key`]).
const ID_KEYS: &[&str] = &[
    "controlid",
    "ccmcontrolid",
    "controlidentifier",
    "refid",
    "id",
];
/// Keys holding the specification text.
const SPEC_KEYS: &[&str] = &[
    "controlspecification",
    "updatedcontrolspecification",
    "specification",
    "controlspec",
];
/// Keys holding the control title.
const TITLE_KEYS: &[&str] = &["controltitle", "title", "controlname", "name"];
/// Keys holding the domain on a control object.
const DOMAIN_KEYS: &[&str] = &[
    "domainname",
    "controldomainname",
    "controldomain",
    "domaintitle",
    "domain",
];
/// Keys naming a container (a domain, an OSCAL group) of controls.
const CONTAINER_NAME_KEYS: &[&str] = &["domainname", "name", "title"];

fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("{k:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn get<'v>(map: &'v Map<String, Value>, keys: &[&str]) -> Option<(&'v str, &'v Value)> {
    for want in keys {
        for (k, v) in map {
            if normalize_key(k) == *want {
                return Some((k.as_str(), v));
            }
        }
    }
    None
}

fn get_str<'v>(map: &'v Map<String, Value>, keys: &[&str]) -> Option<&'v str> {
    for want in keys {
        for (k, v) in map {
            if normalize_key(k) == *want
                && let Value::String(s) = v
                && !s.trim().is_empty()
            {
                return Some(s.as_str());
            }
        }
    }
    None
}

fn child_path(parent: &str, key: &str) -> String {
    let simple = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if simple {
        format!("{parent}.{key}")
    } else {
        let quoted = serde_json::to_string(key).unwrap_or_else(|_| format!("{key:?}"));
        format!("{parent}[{quoted}]")
    }
}

/// OSCAL: the value of the `label` prop.
fn oscal_label(map: &Map<String, Value>) -> Option<&str> {
    let Some(Value::Array(props)) = map.get("props") else {
        return None;
    };
    props.iter().find_map(|p| match p {
        Value::Object(o)
            if o.get("name").and_then(Value::as_str) == Some("label") && o.get("ns").is_none() =>
        {
            o.get("value").and_then(Value::as_str)
        }
        _ => None,
    })
}

/// OSCAL: the prose of the `statement` part, with its sub-parts.
fn oscal_statement(map: &Map<String, Value>) -> Option<String> {
    let Some(Value::Array(parts)) = map.get("parts") else {
        return None;
    };
    let statement = parts.iter().find_map(|p| match p {
        Value::Object(o) if o.get("name").and_then(Value::as_str) == Some("statement") => Some(o),
        _ => None,
    })?;
    let mut lines = Vec::new();
    collect_prose(statement, &mut lines);
    Some(lines.join("\n"))
}

fn collect_prose(part: &Map<String, Value>, lines: &mut Vec<String>) {
    if let Some(Value::String(p)) = part.get("prose") {
        lines.push(p.clone());
    }
    if let Some(Value::Array(subs)) = part.get("parts") {
        for sub in subs {
            if let Value::Object(o) = sub {
                collect_prose(o, lines);
            }
        }
    }
}

struct Walker<'a> {
    file: &'a str,
    found: usize,
}

impl Walker<'_> {
    fn content(&self, path: String, problem: String) -> ImportError {
        ImportError::Content {
            file: self.file.to_string(),
            location: Location::Json { path },
            problem,
        }
    }

    /// `Ok(Some)` when the object is a control, `Ok(None)` when it is not.
    fn as_control(
        &self,
        map: &Map<String, Value>,
        path: &str,
        member_key: Option<&str>,
        inherited_domain: Option<&String>,
    ) -> Result<Option<ControlText>, ImportError> {
        let spec = match get(map, SPEC_KEYS) {
            Some((_, Value::String(s))) => clean_block(s),
            Some((_, Value::Null)) => String::new(),
            Some((key, other)) => {
                return Err(self.content(
                    child_path(path, key),
                    format!(
                        "expected the specification as a string, found {}",
                        kind(other)
                    ),
                ));
            }
            None => match oscal_statement(map) {
                Some(s) => clean_block(&s),
                None => return Ok(None),
            },
        };

        let (id_raw, id_path) = if let Some(label) = oscal_label(map) {
            (label.to_string(), child_path(path, "props"))
        } else if let Some((key, v)) = get(map, ID_KEYS) {
            match v {
                Value::String(s) => (s.clone(), child_path(path, key)),
                Value::Number(n) => (n.to_string(), child_path(path, key)),
                other => {
                    return Err(self.content(
                        child_path(path, key),
                        format!("expected the control id as a string, found {}", kind(other)),
                    ));
                }
            }
        } else if let Some(k) = member_key.filter(|k| looks_like_control_id(&strip_ws(k))) {
            (k.to_string(), path.to_string())
        } else if get(map, TITLE_KEYS).is_none() && get(map, DOMAIN_KEYS).is_none() {
            // A lone `specification` string, e.g. in a metadata block naming
            // the standard, is not a control.
            return Ok(None);
        } else {
            return Err(self.content(
                path.to_string(),
                format!(
                    "object has a specification but no control id (looked for keys: {})",
                    quoted(ID_KEYS)
                ),
            ));
        };
        let id = strip_ws(&id_raw);
        if !looks_like_control_id(&id) {
            return Err(self.content(
                id_path,
                format!("expected a control id such as \"A&A-01\" or \"AIS-02\", found {id_raw:?}"),
            ));
        }
        if spec.is_empty() {
            return Err(self.content(
                path.to_string(),
                format!(
                    "control {id:?} has no specification text; expected a non-empty string under one of: {}",
                    quoted(SPEC_KEYS)
                ),
            ));
        }
        let title = get_str(map, TITLE_KEYS).and_then(non_empty);
        let domain = get_str(map, DOMAIN_KEYS)
            .and_then(domain_name_from_heading)
            .or_else(|| inherited_domain.cloned());
        Ok(Some(ControlText {
            id,
            domain,
            title,
            specification: spec,
        }))
    }

    fn walk(
        &mut self,
        value: &Value,
        path: String,
        member_key: Option<&str>,
        domain: Option<&String>,
        out: &mut Collector,
    ) -> Result<(), ImportError> {
        match value {
            Value::Object(map) => {
                if let Some(control) = self.as_control(map, &path, member_key, domain)? {
                    self.found += 1;
                    return out.push(control, Location::Json { path });
                }
                let holds_controls = map.keys().any(|k| normalize_key(k) == "controls");
                let own = if holds_controls {
                    get_str(map, CONTAINER_NAME_KEYS).and_then(domain_name_from_heading)
                } else {
                    None
                };
                let domain = own.as_ref().or(domain);
                for (k, v) in map {
                    self.walk(v, child_path(&path, k), Some(k), domain, out)?;
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.walk(v, format!("{path}[{i}]"), None, domain, out)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads a JSON document.
pub(crate) fn read(file: &str, bytes: &[u8], out: &mut Collector) -> Result<(), ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // serde_json refuses nesting deeper than 128, which also bounds the walk.
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ImportError::Json {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    let mut walker = Walker { file, found: 0 };
    walker.walk(&value, "$".to_string(), None, None, out)?;
    if walker.found == 0 {
        return Err(ImportError::NoControls {
            file: file.to_string(),
            detail: format!(
                "no JSON object has both a control id (keys: {}) and a specification \
                 (keys: {}, or an OSCAL \"statement\" part)",
                quoted(ID_KEYS),
                quoted(SPEC_KEYS)
            ),
        });
    }
    Ok(())
}
