//! The query syntax tree ([`shieldwall_query::Query`]) as a tantivy query on a partition.
//!
//! - Field-less terms, phrases and wildcards, and the fields `raw` and `message`, search the full
//!   text (`text`: words, case-insensitive). A term of several words is a phrase.
//! - `time` and `received` take ranges only; their bounds are times (`now-1h`, RFC 3339, a date).
//! - `id` matches the event id.
//! - Every other field is a path into the event (`user.name`, `vendor.EventID`): a value matches
//!   the whole value, case-insensitively; a value that reads as a number also matches the number.
//!   Ranges are numeric when both bounds are numbers, otherwise they compare text.

use std::ops::Bound as StdBound;

use jiff::Timestamp;
use shieldwall_query::{Bound, Pattern, PatternPiece, Query};
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, InvertedIndexRangeQuery, Occur, PhraseQuery,
    Query as TQuery, RangeQuery, RegexQuery, TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::tokenizer::TokenizerManager;

use super::StoreError;
use super::document::{self, Fields, KEYWORD_TOKENIZER, TEXT_TOKENIZER};

/// Compiles `query`, restricted to event times in `[from, to)`.
pub(crate) fn compile(
    fields: &Fields,
    tokenizers: &TokenizerManager,
    query: &Query,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    now: Timestamp,
) -> Result<Box<dyn TQuery>, StoreError> {
    let compiler = Compiler {
        fields,
        tokenizers,
        now,
    };
    let main = compiler.query(query)?;
    if from.is_none() && to.is_none() {
        return Ok(main);
    }
    let lower = from.map_or(StdBound::Unbounded, |t| {
        StdBound::Included(Term::from_field_date(fields.time, document::date(t)))
    });
    let upper = to.map_or(StdBound::Unbounded, |t| {
        StdBound::Excluded(Term::from_field_date(fields.time, document::date(t)))
    });
    Ok(Box::new(BooleanQuery::new(vec![
        (Occur::Must, main),
        (Occur::Must, Box::new(RangeQuery::new(lower, upper))),
    ])))
}

struct Compiler<'a> {
    fields: &'a Fields,
    tokenizers: &'a TokenizerManager,
    now: Timestamp,
}

enum Target<'q> {
    FullText,
    Id,
    Time(&'q str),
    Path(&'q str),
}

fn target(field: Option<&str>) -> Target<'_> {
    match field {
        None | Some("raw" | "message") => Target::FullText,
        Some("id") => Target::Id,
        Some(name @ ("time" | "received")) => Target::Time(name),
        Some(path) => Target::Path(path),
    }
}

impl Compiler<'_> {
    fn query(&self, query: &Query) -> Result<Box<dyn TQuery>, StoreError> {
        Ok(match query {
            Query::All => Box::new(AllQuery),
            Query::Term { field, value } => self.value(field.as_deref(), value)?,
            Query::Phrase { field, text } => self.value(field.as_deref(), text)?,
            Query::Wildcard { field, pattern } => self.wildcard(field.as_deref(), pattern)?,
            Query::Range {
                field,
                lower,
                upper,
            } => self.range(field, lower, upper)?,
            Query::Exists { field } => match target(Some(field)) {
                Target::FullText | Target::Id | Target::Time(_) => Box::new(AllQuery),
                Target::Path(path) => Box::new(ExistsQuery::new(format!("f.{path}"), true)),
            },
            Query::And(items) => Box::new(BooleanQuery::new(
                items
                    .iter()
                    .map(|q| Ok((Occur::Must, self.query(q)?)))
                    .collect::<Result<_, StoreError>>()?,
            )),
            Query::Or(items) => Box::new(BooleanQuery::new(
                items
                    .iter()
                    .map(|q| Ok((Occur::Should, self.query(q)?)))
                    .collect::<Result<_, StoreError>>()?,
            )),
            Query::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery) as Box<dyn TQuery>),
                (Occur::MustNot, self.query(inner)?),
            ])),
        })
    }

    fn value(&self, field: Option<&str>, value: &str) -> Result<Box<dyn TQuery>, StoreError> {
        match target(field) {
            Target::FullText => Ok(self.full_text(value)),
            Target::Id => Ok(Box::new(TermQuery::new(
                Term::from_field_text(self.fields.id, &value.to_ascii_lowercase()),
                IndexRecordOption::Basic,
            ))),
            Target::Time(name) => Err(StoreError::Query(format!(
                "`{name}` takes a range, such as {name}:[now-1h TO now] or {name}:>=2026-11-01"
            ))),
            Target::Path(path) => Ok(self.keyword(path, value)),
        }
    }

    fn full_text(&self, text: &str) -> Box<dyn TQuery> {
        let words = self.tokens(TEXT_TOKENIZER, text);
        let mut terms: Vec<Term> = words
            .iter()
            .map(|w| Term::from_field_text(self.fields.text, w))
            .collect();
        match terms.len() {
            0 => Box::new(EmptyQuery),
            1 => Box::new(TermQuery::new(
                terms.remove(0),
                IndexRecordOption::WithFreqs,
            )),
            _ => Box::new(PhraseQuery::new(terms)),
        }
    }

    fn tokens(&self, tokenizer: &str, text: &str) -> Vec<String> {
        let Some(mut analyzer) = self.tokenizers.get(tokenizer) else {
            return vec![text.to_lowercase()];
        };
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    fn json_term(&self, path: &str) -> Term {
        Term::from_field_json_path(self.fields.f, path, true)
    }

    /// The whole value of a field: as text (lower-cased as indexed), and as a number or a
    /// boolean when it reads as one.
    fn keyword(&self, path: &str, value: &str) -> Box<dyn TQuery> {
        let mut alternatives: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        let lowered = self
            .tokens(KEYWORD_TOKENIZER, value)
            .pop()
            .unwrap_or_default();
        let mut text = self.json_term(path);
        text.append_type_and_str(&lowered);
        alternatives.push((Occur::Should, term_query(text)));
        if let Ok(i) = value.parse::<i64>() {
            let mut t = self.json_term(path);
            t.append_type_and_fast_value(i);
            alternatives.push((Occur::Should, term_query(t)));
        } else if let Ok(u) = value.parse::<u64>() {
            let mut t = self.json_term(path);
            t.append_type_and_fast_value(u);
            alternatives.push((Occur::Should, term_query(t)));
        }
        if let Ok(f) = value.parse::<f64>()
            && f.is_finite()
        {
            let mut t = self.json_term(path);
            t.append_type_and_fast_value(f);
            alternatives.push((Occur::Should, term_query(t)));
        }
        if let Ok(b) = value.parse::<bool>() {
            let mut t = self.json_term(path);
            t.append_type_and_fast_value(b);
            alternatives.push((Occur::Should, term_query(t)));
        }
        Box::new(BooleanQuery::new(alternatives))
    }

    fn wildcard(
        &self,
        field: Option<&str>,
        pattern: &Pattern,
    ) -> Result<Box<dyn TQuery>, StoreError> {
        let body = pattern_regex(pattern);
        let (regex, field) = match target(field) {
            Target::FullText => (body, self.fields.text),
            Target::Id => (body, self.fields.id),
            Target::Time(name) => {
                return Err(StoreError::Query(format!(
                    "`{name}` takes a range, not a wildcard"
                )));
            }
            Target::Path(path) => {
                let mut prefix = self.json_term(path);
                prefix.append_type_and_str("");
                let prefix = std::str::from_utf8(prefix.serialized_value_bytes())
                    .map_err(|e| StoreError::Query(format!("field `{path}`: {e}")))?;
                (
                    format!("{}{body}", regex_syntax::escape(prefix)),
                    self.fields.f,
                )
            }
        };
        RegexQuery::from_pattern(&regex, field)
            .map(|q| Box::new(q) as Box<dyn TQuery>)
            .map_err(|e| StoreError::Query(format!("wildcard: {e}")))
    }

    fn range(
        &self,
        field: &str,
        lower: &Bound,
        upper: &Bound,
    ) -> Result<Box<dyn TQuery>, StoreError> {
        match target(Some(field)) {
            Target::Time(name) => {
                let field = if name == "time" {
                    self.fields.time
                } else {
                    self.fields.received
                };
                let term = |text: &str| -> Result<Term, StoreError> {
                    let t = shieldwall_query::parse_time(text, self.now)
                        .map_err(|e| StoreError::Query(format!("`{name}`: {e}")))?;
                    Ok(Term::from_field_date(field, document::date(t)))
                };
                Ok(Box::new(RangeQuery::new(
                    map_bound(lower, &term)?,
                    map_bound(upper, &term)?,
                )))
            }
            Target::FullText | Target::Id => Err(StoreError::Query(format!(
                "`{field}` has no order: ranges are for times, numbers and keyword fields"
            ))),
            Target::Path(path) => {
                let all = |reads: fn(&str) -> bool| {
                    [lower, upper]
                        .iter()
                        .all(|b| bound_text(b).is_none_or(reads))
                };
                let kind = if all(|t| t.parse::<i64>().is_ok()) {
                    RangeKind::Integer
                } else if all(|t| t.parse::<f64>().is_ok_and(f64::is_finite)) {
                    RangeKind::Float
                } else {
                    RangeKind::Text
                };
                let term = |text: &str| -> Result<Term, StoreError> {
                    let mut t = self.json_term(path);
                    match kind {
                        RangeKind::Integer => {
                            t.append_type_and_fast_value(text.parse::<i64>().unwrap_or_default());
                        }
                        RangeKind::Float => {
                            t.append_type_and_fast_value(text.parse::<f64>().unwrap_or_default());
                        }
                        RangeKind::Text => t.append_type_and_str(&text.to_lowercase()),
                    }
                    Ok(t)
                };
                let (lower, upper) = (map_bound(lower, &term)?, map_bound(upper, &term)?);
                if kind != RangeKind::Text {
                    return Ok(Box::new(RangeQuery::new(lower, upper)));
                }
                // An open end must stay within the field's text terms.
                let lower = match lower {
                    StdBound::Unbounded => StdBound::Included(term("")?),
                    b => b,
                };
                let upper = match upper {
                    StdBound::Unbounded => {
                        StdBound::Included(term(char::MAX.encode_utf8(&mut [0; 4]))?)
                    }
                    b => b,
                };
                Ok(Box::new(InvertedIndexRangeQuery::new(lower, upper)))
            }
        }
    }
}

/// How a range on a field path compares: as numbers when both bounds are numbers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Integer,
    Float,
    Text,
}

fn term_query(term: Term) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(term, IndexRecordOption::Basic))
}

fn bound_text(bound: &Bound) -> Option<&str> {
    match bound {
        Bound::Unbounded => None,
        Bound::Included(t) | Bound::Excluded(t) => Some(t),
    }
}

fn map_bound(
    bound: &Bound,
    term: &dyn Fn(&str) -> Result<Term, StoreError>,
) -> Result<StdBound<Term>, StoreError> {
    Ok(match bound {
        Bound::Unbounded => StdBound::Unbounded,
        Bound::Included(t) => StdBound::Included(term(t)?),
        Bound::Excluded(t) => StdBound::Excluded(term(t)?),
    })
}

/// The regex of a wildcard pattern, lower-cased as the index is.
fn pattern_regex(pattern: &Pattern) -> String {
    let mut out = String::from("(?s:");
    for piece in &pattern.pieces {
        match piece {
            PatternPiece::Literal(text) => {
                out.push_str(&regex_syntax::escape(&text.to_lowercase()))
            }
            PatternPiece::AnyOne => out.push('.'),
            PatternPiece::AnyMany => out.push_str(".*"),
        }
    }
    out.push(')');
    out
}
