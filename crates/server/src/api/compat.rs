//! Breaking changes between two versions of the OpenAPI document: what a client written against
//! the old one would trip over. Checked against the committed copy before it is replaced.
//!
//! Breaking: an operation removed or its success status changed; a query or path parameter
//! removed, or one made required; a request body made required, a required property added to
//! it, or a property removed from it; a property removed from a success response. Adding
//! operations, optional parameters, optional request properties and response properties is not.

use std::collections::BTreeSet;

use serde_json::Value;

/// Every breaking change from `old` to `new`, in words.
pub fn breaking_changes(old: &Value, new: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let Some(old_paths) = old.get("paths").and_then(Value::as_object) else {
        return found;
    };
    for (path, operations) in old_paths {
        let Some(operations) = operations.as_object() else {
            continue;
        };
        for (method, before) in operations {
            let at = format!("{} {path}", method.to_uppercase());
            let Some(after) = new.pointer(&format!("/paths/{}/{method}", escape(path))) else {
                found.push(format!("{at}: the operation was removed"));
                continue;
            };
            let status = |op: &Value| -> BTreeSet<String> {
                op.get("responses")
                    .and_then(Value::as_object)
                    .map(|r| r.keys().filter(|k| k.starts_with('2')).cloned().collect())
                    .unwrap_or_default()
            };
            if status(before) != status(after) {
                found.push(format!("{at}: the success status changed"));
            }
            let params = |op: &Value| -> Vec<(String, bool)> {
                op.get("parameters")
                    .and_then(Value::as_array)
                    .map(|ps| {
                        ps.iter()
                            .filter_map(|p| {
                                let name = p.get("name")?.as_str()?.to_owned();
                                let required =
                                    p.get("required").and_then(Value::as_bool).unwrap_or(false);
                                Some((name, required))
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let (was, is) = (params(before), params(after));
            for (name, _) in &was {
                if !is.iter().any(|(n, _)| n == name) {
                    found.push(format!("{at}: parameter {name} was removed"));
                }
            }
            for (name, required) in &is {
                let before = was.iter().find(|(n, _)| n == name).map(|(_, r)| *r);
                if *required && before != Some(true) {
                    found.push(format!("{at}: parameter {name} is now required"));
                }
            }
            let request = |doc: &Value, op: &Value| {
                op.pointer("/requestBody/content/application~1json/schema")
                    .map(|s| resolve(doc, s))
            };
            match (request(old, before), request(new, after)) {
                (None, Some(_)) => found.push(format!("{at}: a request body is now required")),
                (Some(was), Some(is)) => {
                    let (was_required, is_required) =
                        (names(&was, "required"), names(&is, "required"));
                    for name in is_required.difference(&was_required) {
                        found.push(format!("{at}: request property {name} is now required"));
                    }
                    for name in properties(&was).difference(&properties(&is)) {
                        found.push(format!("{at}: request property {name} was removed"));
                    }
                }
                _ => {}
            }
            let response = |doc: &Value, op: &Value| {
                op.get("responses")
                    .and_then(Value::as_object)
                    .and_then(|r| r.iter().find(|(k, _)| k.starts_with('2')))
                    .and_then(|(_, r)| r.pointer("/content/application~1json/schema"))
                    .map(|s| resolve(doc, s))
            };
            if let (Some(was), Some(is)) = (response(old, before), response(new, after)) {
                for name in properties(&was).difference(&properties(&is)) {
                    found.push(format!("{at}: response property {name} was removed"));
                }
            }
        }
    }
    found
}

/// JSON pointer escaping of one key.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A schema with its `$ref` (to `#/components/schemas/...`) followed.
fn resolve(doc: &Value, schema: &Value) -> Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer))
            .cloned()
            .unwrap_or(Value::Null),
        None => schema.clone(),
    }
}

fn names(schema: &Value, key: &str) -> BTreeSet<String> {
    schema
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn properties(schema: &Value) -> BTreeSet<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn removals_and_new_requirements_break_additions_do_not() {
        let old: Value = serde_json::from_str(&super::super::openapi_json()).unwrap();
        assert!(breaking_changes(&old, &old).is_empty());
        let mut new = old.clone();
        // Additions are fine.
        new["paths"]["/api/v1/new"] = serde_json::json!({"get": {"responses": {"200": {}}}});
        new["components"]["schemas"]["AlertPage"]["properties"]["extra"] = serde_json::json!({});
        assert!(
            breaking_changes(&old, &new).is_empty(),
            "{:?}",
            breaking_changes(&old, &new)
        );
        // Removals and new requirements are not.
        new["paths"].as_object_mut().unwrap().remove("/api/v1/me");
        new["components"]["schemas"]["AlertPage"]["properties"]
            .as_object_mut()
            .unwrap()
            .remove("next_before");
        new["components"]["schemas"]["TokenRequest"]["required"]
            .as_array_mut()
            .unwrap()
            .push("days".into());
        let params = new["paths"]["/api/v1/tenants/{tenant}/alerts"]["get"]["parameters"]
            .as_array_mut()
            .unwrap();
        for p in params.iter_mut() {
            if p["name"] == "limit" {
                p["required"] = true.into();
            }
        }
        let found = breaking_changes(&old, &new);
        assert_eq!(found.len(), 4, "{found:#?}");
        for needle in [
            "GET /api/v1/me: the operation was removed",
            "response property next_before",
            "request property days is now required",
            "parameter limit is now required",
        ] {
            assert!(
                found.iter().any(|f| f.contains(needle)),
                "{needle}: {found:#?}"
            );
        }
    }
}
