//! The index schema of a partition and how an event becomes a document.
//!
//! | Field | Kind | Holds |
//! |---|---|---|
//! | `id` | keyword, fast | the event id |
//! | `time`, `received` | date (ms), indexed and fast | event and receive time |
//! | `text` | full text with positions | `raw`, and `message` unless `raw` holds it word for word (lower-cased words) |
//! | `f` | JSON: keywords lower-cased in the index, as written in the fast columns | every other field of the event by its path (`user.name`, `vendor.EventID`) |
//! | `event` | stored, compressed | the whole event as JSON, exactly as appended |
//!
//! Values longer than [`MAX_KEYWORD`] bytes are left out of `f` (they stay in `event`, and
//! `raw`/`message` stay searchable as full text).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use shieldwall_core::Event;
use tantivy::TantivyDocument;
use tantivy::schema::OwnedValue;
use tantivy::schema::{
    BytesOptions, DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption,
    JsonObjectOptions, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenizerManager,
};

use super::StoreError;

/// The longest value indexed as a keyword.
pub(crate) const MAX_KEYWORD: usize = 4096;
/// The tokenizer of keyword values: the whole value, lower-cased.
pub(crate) const KEYWORD_TOKENIZER: &str = "sw_keyword";
/// The tokenizer of full text: words, lower-cased, words over 64 bytes dropped.
pub(crate) const TEXT_TOKENIZER: &str = "sw_text";

/// Field handles of the schema.
#[derive(Debug, Clone)]
pub(crate) struct Fields {
    pub schema: Schema,
    pub id: Field,
    pub time: Field,
    pub received: Field,
    pub text: Field,
    pub f: Field,
    pub event: Field,
}

impl Fields {
    pub(crate) fn new() -> Fields {
        let mut builder = Schema::builder();
        let id = builder.add_text_field("id", STRING | FAST);
        let date = DateOptions::from(INDEXED)
            .set_fast()
            .set_precision(DateTimePrecision::Milliseconds);
        let time = builder.add_date_field("time", date.clone());
        let received = builder.add_date_field("received", date);
        let text = builder.add_text_field(
            "text",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(TEXT_TOKENIZER)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        );
        let f = builder.add_json_field(
            "f",
            JsonObjectOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(KEYWORD_TOKENIZER)
                        .set_index_option(IndexRecordOption::Basic),
                )
                .set_fast("raw")
                .set_expand_dots_enabled(),
        );
        let event = builder.add_bytes_field("event", BytesOptions::default().set_stored());
        Fields {
            schema: builder.build(),
            id,
            time,
            received,
            text,
            f,
            event,
        }
    }

    /// Registers the tokenizers the schema names.
    pub(crate) fn register_tokenizers(manager: &TokenizerManager) {
        manager.register(
            KEYWORD_TOKENIZER,
            TextAnalyzer::builder(RawTokenizer::default())
                .filter(LowerCaser)
                .build(),
        );
        manager.register(
            TEXT_TOKENIZER,
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(64))
                .filter(LowerCaser)
                .build(),
        );
    }

    /// The document of `event`.
    pub(crate) fn document(&self, event: &Event) -> Result<TantivyDocument, StoreError> {
        let encoding_error = |e: serde_json::Error| StoreError::Event {
            id: event.id.to_string(),
            reason: e.to_string(),
        };
        let stored = serde_json::to_vec(event).map_err(encoding_error)?;
        let mut doc = TantivyDocument::new();
        doc.add_text(self.id, event.id.to_string());
        doc.add_date(self.time, date(event.time));
        doc.add_date(self.received, date(event.received));
        doc.add_text(self.text, &event.raw);
        if let Some(message) = &event.message
            && !holds_words_of(&event.raw, message)
        {
            doc.add_text(self.text, message);
        }
        let Value::Object(mut map) = serde_json::to_value(event).map_err(encoding_error)? else {
            return Err(StoreError::Event {
                id: event.id.to_string(),
                reason: "does not encode as a JSON object".into(),
            });
        };
        for own_field in ["id", "tenant", "time", "received", "raw", "message"] {
            map.remove(own_field);
        }
        prune_long(&mut map, 0);
        doc.add_object(self.f, json_to_owned(map));
        doc.add_bytes(self.event, &stored);
        Ok(doc)
    }
}

/// Whether `part` occurs in `whole` between word boundaries, so that indexing `whole` indexes
/// every word of `part`, in order (the syslog message inside its line): indexing both would
/// double the text's share of the index for nothing.
fn holds_words_of(whole: &str, part: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric();
    whole.match_indices(part).any(|(start, _)| {
        let before = whole.get(..start).and_then(|s| s.chars().next_back());
        let after = whole
            .get(start + part.len()..)
            .and_then(|s| s.chars().next());
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

pub(crate) fn date(t: jiff::Timestamp) -> tantivy::DateTime {
    tantivy::DateTime::from_timestamp_nanos(i64::try_from(t.as_nanosecond()).unwrap_or(i64::MAX))
}

/// Drops keyword values too long to index, and nesting deeper than 16 levels.
fn prune_long(map: &mut Map<String, Value>, depth: usize) {
    map.retain(|_, value| keep(value, depth));
}

fn keep(value: &mut Value, depth: usize) -> bool {
    match value {
        Value::String(s) => s.len() <= MAX_KEYWORD,
        Value::Object(map) if depth < 16 => {
            prune_long(map, depth + 1);
            !map.is_empty()
        }
        Value::Array(items) if depth < 16 => {
            items.retain_mut(|v| keep(v, depth + 1));
            !items.is_empty()
        }
        Value::Object(_) | Value::Array(_) => false,
        Value::Null => false,
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// Converts to tantivy's values, keeping every string a string (tantivy's own conversion turns
/// RFC 3339 look-alikes into dates, which keyword queries then miss).
fn json_to_owned(map: Map<String, Value>) -> BTreeMap<String, OwnedValue> {
    map.into_iter().map(|(k, v)| (k, owned(v))).collect()
}

fn owned(value: Value) -> OwnedValue {
    match value {
        Value::Null => OwnedValue::Null,
        Value::Bool(b) => OwnedValue::Bool(b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => OwnedValue::I64(i),
            (None, Some(u), _) => OwnedValue::U64(u),
            (None, None, Some(f)) => OwnedValue::F64(f),
            (None, None, None) => OwnedValue::Str(n.to_string()),
        },
        Value::String(s) => OwnedValue::Str(s),
        Value::Array(items) => OwnedValue::Array(items.into_iter().map(owned).collect()),
        Value::Object(map) => {
            OwnedValue::Object(map.into_iter().map(|(k, v)| (k, owned(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::holds_words_of;

    #[test]
    fn a_message_inside_its_line_between_word_boundaries_is_held() {
        let line = "<34>Nov 28 11:00:01 web sshd[77]: Failed password for root";
        assert!(holds_words_of(line, "Failed password for root"));
        assert!(holds_words_of(line, "sshd[77]: Failed"));
        // Cut inside a word: "ailed" is not a word of the line, so the message is indexed too.
        assert!(!holds_words_of(line, "ailed password"));
        assert!(!holds_words_of(line, "Failed password for roo"));
        // A normalised message that the line does not hold.
        assert!(!holds_words_of(line, "Failed password for user root"));
        // A later occurrence may qualify where the first does not.
        assert!(holds_words_of("xroot root", "root"));
    }
}
