//! The query language a SOC analyst types to search stored security events.
//!
//! Lucene/Kibana-like, because analysts know it: `field:value`, bare words and `"phrases"`,
//! wildcards (`user.name:adm*`), ranges (`port:[1024 TO *]`, `time:>=now-1h`), `AND`, `OR`,
//! `NOT`, `-clause`, parentheses and field groups (`attack_type:(sql_injection OR xss)`). The
//! grammar, with examples, precedence, escapes and errors, is in `docs/query.md`.
//!
//! The crate owns the grammar and the syntax tree and knows nothing of any search engine: a
//! backend (tantivy now, ClickHouse later) compiles the same [`Query`]. It does not know which
//! fields exist or which are times either; a backend calls [`parse_time`] on the range bounds of
//! its time fields.
//!
//! - [`parse`] gives a [`Query`] or a [`QueryError`] with a column and a message
//!   ([`QueryError::render`] draws a caret under the column for the command line).
//! - `Display` on [`Query`] prints the canonical form, which parses back to the same tree.
//! - [`parse_time`] and [`parse_interval`] read times (`2026-11-29T10:00:00Z`, `now-15m`) and
//!   histogram intervals (`5m`).
//! - [`Aggregation`] describes the summaries requested beside a query.
//!
//! ```
//! use shieldwall_query::{parse, Bound, Query};
//!
//! let q = parse("status:failure src_endpoint.ip:203.0.113.7 time:>=now-1h").unwrap();
//! let Query::And(clauses) = &q else { panic!() };
//! assert_eq!(
//!     clauses[2],
//!     Query::Range {
//!         field: "time".into(),
//!         lower: Bound::Included("now-1h".into()),
//!         upper: Bound::Unbounded,
//!     }
//! );
//! assert_eq!(
//!     q.to_string(),
//!     "status:failure AND src_endpoint.ip:203.0.113.7 AND time:>=now-1h"
//! );
//!
//! let e = parse("user.name:\"root").unwrap_err();
//! assert_eq!(e.column, 11);
//! assert_eq!(
//!     e.render("user.name:\"root"),
//!     "user.name:\"root\n          ^ unclosed quote: no `\"` closes this phrase"
//! );
//! ```
//!
//! Invariants: [`parse`] never panics and never recurses deeper than [`MAX_DEPTH`] levels of
//! parentheses on any input up to [`MAX_QUERY_BYTES`] (longer input is an error); an error's
//! column is within 1 and the length in characters plus one; `parse(&q.to_string())` gives `q`
//! back for every normalised tree with valid field names (property-tested and fuzzed).

mod aggregation;
mod ast;
mod error;
mod parser;
mod time;

pub use aggregation::Aggregation;
pub use ast::{Bound, Pattern, PatternPiece, Query};
pub use error::QueryError;
pub use parser::{MAX_DEPTH, MAX_QUERY_BYTES, is_field_name, parse};
pub use time::{MAX_INTERVAL, MIN_INTERVAL, TimeError, parse_interval, parse_time};
