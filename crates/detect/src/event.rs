//! What the matcher needs of an event: a field's value by name, and every text value for
//! keyword detections. Implemented for JSON objects (`serde_json::Value`), where a name is
//! looked up as a key first and then as a dotted path (`Event.System.EventID`).

use serde_json::Value;

/// A field's value as the matcher sees it.
pub type FieldValue<'a> = &'a Value;

/// The fields of an event.
pub trait EventFields {
    /// The value of `name`, `None` when the event has no such field.
    fn field(&self, name: &str) -> Option<FieldValue<'_>>;

    /// Calls `each` with every text value of the event (for keyword detections).
    fn for_each_text(&self, each: &mut dyn FnMut(&str));
}

impl EventFields for Value {
    fn field(&self, name: &str) -> Option<&Value> {
        let Value::Object(map) = self else {
            return None;
        };
        if let Some(v) = map.get(name) {
            return Some(v);
        }
        if !name.contains('.') {
            return None;
        }
        let mut at = self;
        for step in name.split('.') {
            at = at.as_object()?.get(step)?;
        }
        Some(at)
    }

    fn for_each_text(&self, each: &mut dyn FnMut(&str)) {
        texts(self, each, 0);
    }
}

/// Nesting beyond this is not searched for keywords.
const MAX_DEPTH: usize = 32;

fn texts(value: &Value, each: &mut dyn FnMut(&str), depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::String(s) => each(s),
        Value::Array(items) => items.iter().for_each(|v| texts(v, each, depth + 1)),
        Value::Object(map) => map.values().for_each(|v| texts(v, each, depth + 1)),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_then_dotted_paths() {
        let e = json!({"a.b": 1, "Event": {"System": {"EventID": 4624}}, "x": "y"});
        assert_eq!(e.field("a.b"), Some(&json!(1)));
        assert_eq!(e.field("Event.System.EventID"), Some(&json!(4624)));
        assert_eq!(e.field("Event.System.Nope"), None);
        assert_eq!(e.field("nope"), None);
        let mut all = Vec::new();
        e.for_each_text(&mut |t| all.push(t.to_owned()));
        assert_eq!(all, ["y"]);
    }
}
