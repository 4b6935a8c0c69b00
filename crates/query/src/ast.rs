//! The syntax tree ([`Query`], [`Bound`], [`Pattern`]), its simplification rules
//! ([`Query::normalise`]) and its canonical printed form (`Display`).
//!
//! The tree is what every backend compiles; it carries no position and no knowledge of field
//! types. All strings in it are *unescaped*: the backslashes and quotes the analyst typed are gone,
//! and a wildcard character that was escaped (`\*`) is an ordinary character of a
//! [`PatternPiece::Literal`] or of a [`Query::Term`] value.

use std::fmt::{self, Write as _};

/// A parsed query. [`crate::parse`] always returns it [normalised](Query::normalise).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// Every event: the empty query, `*`.
    All,
    /// `field:value` (field `Some`) or a bare word (field `None`: full text). The value is
    /// unescaped (`user:a\ b` gives `a b`) and contains no wildcard: a `*` or `?` in it is a
    /// literal character the analyst escaped.
    Term {
        /// The field name, or `None` for full-text search.
        field: Option<String>,
        /// The value, unescaped, never empty once normalised.
        value: String,
    },
    /// `field:"a b"` or `"a b"`: a phrase, unescaped. `*` and `?` in a phrase are literal.
    Phrase {
        /// The field name, or `None` for full-text search.
        field: Option<String>,
        /// The text between the quotes, unescaped; may be empty (`user.name:""`).
        text: String,
    },
    /// A value containing an unescaped `*` or `?`.
    Wildcard {
        /// The field name, or `None` for full-text search.
        field: Option<String>,
        /// The pattern, in [normal form](Pattern::normalised).
        pattern: Pattern,
    },
    /// `field:[a TO b]`, `field:{a TO b}`, `field:[a TO b}`, `field:>=a`, `field:<b`... Bounds are
    /// unescaped text; the backend interprets them (numbers, addresses, or times through
    /// [`crate::parse_time`]).
    Range {
        /// The field name.
        field: String,
        /// The lower bound.
        lower: Bound,
        /// The upper bound.
        upper: Bound,
    },
    /// `field:*`: the event has the field.
    Exists {
        /// The field name.
        field: String,
    },
    /// Every clause matches (`a AND b`, `a b`).
    And(Vec<Query>),
    /// At least one clause matches.
    Or(Vec<Query>),
    /// The clause does not match (`NOT a`, `-a`).
    Not(Box<Query>),
}

/// One end of a [`Query::Range`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bound {
    /// Open end: `*` in a range, the missing side of a comparison.
    Unbounded,
    /// The end belongs to the range: `[` or `]`, `>=`, `<=`.
    Included(String),
    /// The end does not belong to the range: `{` or `}`, `>`, `<`.
    Excluded(String),
}

/// A wildcard pattern: a sequence of literal text, `?` and `*`.
///
/// Literal pieces are unescaped: the pattern `adm\*n*` is `[Literal("adm*n"), AnyMany]`, so a
/// backend tells a literal star from a wildcard by the piece, never by looking for `*` in text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pattern {
    /// The pieces, in order.
    pub pieces: Vec<PatternPiece>,
}

/// One piece of a [`Pattern`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PatternPiece {
    /// Text matched exactly (may contain `*` and `?`, which are then literal characters).
    Literal(String),
    /// `?`: exactly one character (a Unicode scalar value).
    AnyOne,
    /// `*`: any run of characters, including none.
    AnyMany,
}

impl Pattern {
    /// The normal form: no empty literal, no two adjacent literals (they are joined), no two
    /// adjacent `AnyMany` (`**` matches what `*` matches).
    pub fn normalised(self) -> Pattern {
        let mut pieces: Vec<PatternPiece> = Vec::with_capacity(self.pieces.len());
        for piece in self.pieces {
            match (pieces.last_mut(), piece) {
                (_, PatternPiece::Literal(text)) if text.is_empty() => {}
                (Some(PatternPiece::Literal(last)), PatternPiece::Literal(text)) => {
                    last.push_str(&text);
                }
                (Some(PatternPiece::AnyMany), PatternPiece::AnyMany) => {}
                (_, piece) => pieces.push(piece),
            }
        }
        Pattern { pieces }
    }

    /// Whether the pattern has a `*` or `?` piece.
    pub fn has_wildcard(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| !matches!(p, PatternPiece::Literal(_)))
    }

    /// Whether `text` matches the whole pattern, exactly and case-sensitively, `?` standing for one
    /// character (Unicode scalar value). Linear in space, at worst O(text × pattern) in time.
    /// Backends with their own matcher need not use it; it defines the semantics.
    pub fn matches(&self, text: &str) -> bool {
        #[derive(Clone, Copy, PartialEq)]
        enum Tok {
            Char(char),
            One,
            Many,
        }
        let pattern: Vec<Tok> = self
            .pieces
            .iter()
            .flat_map(|piece| -> Box<dyn Iterator<Item = Tok> + '_> {
                match piece {
                    PatternPiece::Literal(s) => Box::new(s.chars().map(Tok::Char)),
                    PatternPiece::AnyOne => Box::new(std::iter::once(Tok::One)),
                    PatternPiece::AnyMany => Box::new(std::iter::once(Tok::Many)),
                }
            })
            .collect();
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0usize, 0usize);
        // Where the last `*` was and the text position it is currently assumed to end at.
        let mut star: Option<(usize, usize)> = None;
        while let Some(&c) = text.get(t) {
            match pattern.get(p) {
                Some(Tok::Many) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(Tok::One) => {
                    p += 1;
                    t += 1;
                }
                Some(Tok::Char(x)) if *x == c => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        while pattern.get(p) == Some(&Tok::Many) {
            p += 1;
        }
        p == pattern.len()
    }
}

impl Query {
    /// The simplified form of the tree. [`crate::parse`] applies it, and the canonical form
    /// printed by `Display` parses back to exactly the normalised tree. The rules:
    ///
    /// 1. `And` and `Or` are flattened: an `And` inside an `And` gives its clauses to the outer
    ///    one (likewise `Or`).
    /// 2. `All` inside an `And` is dropped; an `Or` containing `All` is `All`.
    /// 3. An `And` or `Or` of one clause is that clause; an empty `And` is `All`; an empty `Or`
    ///    (which matches nothing) is `Not(All)`.
    /// 4. `Not(Not(q))` is `q`.
    /// 5. A range with both ends unbounded (`field:[* TO *]`) is `Exists`.
    /// 6. Wildcard patterns are put in [normal form](Pattern::normalised); a pattern without
    ///    wildcard pieces is a `Term`; a pattern that is only `*` is `Exists` for a field and `All`
    ///    without one.
    /// 7. A `Term` with an empty value (and an empty pattern) is the `Phrase` with empty text,
    ///    because an empty word cannot be written.
    ///
    /// Duplicated clauses are kept, and the order of clauses never changes.
    pub fn normalise(self) -> Query {
        match self {
            Query::Term { field, value } if value.is_empty() => {
                Query::Phrase { field, text: value }
            }
            Query::Wildcard { field, pattern } => {
                let pattern = pattern.normalised();
                match pattern.pieces.as_slice() {
                    [] => Query::Phrase {
                        field,
                        text: String::new(),
                    },
                    [PatternPiece::AnyMany] => match field {
                        Some(field) => Query::Exists { field },
                        None => Query::All,
                    },
                    [PatternPiece::Literal(text)] => Query::Term {
                        field,
                        value: text.clone(),
                    },
                    _ => Query::Wildcard { field, pattern },
                }
            }
            Query::Range {
                field,
                lower: Bound::Unbounded,
                upper: Bound::Unbounded,
            } => Query::Exists { field },
            Query::And(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item.normalise() {
                        Query::All => {}
                        Query::And(inner) => out.extend(inner),
                        other => out.push(other),
                    }
                }
                match out.len() {
                    0 => Query::All,
                    1 => out.pop().unwrap_or(Query::All),
                    _ => Query::And(out),
                }
            }
            Query::Or(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item.normalise() {
                        Query::All => return Query::All,
                        Query::Or(inner) => out.extend(inner),
                        other => out.push(other),
                    }
                }
                match out.len() {
                    0 => Query::Not(Box::new(Query::All)),
                    1 => out.pop().unwrap_or(Query::All),
                    _ => Query::Or(out),
                }
            }
            Query::Not(inner) => match inner.normalise() {
                Query::Not(q) => *q,
                q => Query::Not(Box::new(q)),
            },
            other => other,
        }
    }
}

/// Where a word is printed: it decides which characters need a backslash.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A field-less clause: `:` would end a field name, a leading `-` would negate.
    Bare,
    /// After `field:`: a leading `>` or `<` would start a comparison.
    Value,
}

/// The canonical form: parses back to the same tree when the tree is normalised and its field
/// names are valid ([`crate::is_field_name`]). `And` is written with explicit ` AND `,
/// parentheses only where precedence needs them, one-sided ranges as comparisons (`port:>=1024`),
/// and every character that could be read as syntax escaped.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::All => f.write_str("*"),
            Query::Term { field, value } => {
                let place = write_field(f, field.as_deref())?;
                if place == Place::Bare && matches!(value.as_str(), "AND" | "OR" | "NOT") {
                    // A keyword as a word: escape its first letter so it is read as a word.
                    let mut chars = value.chars();
                    if let Some(first) = chars.next() {
                        write!(f, "\\u{{{:x}}}", u32::from(first))?;
                    }
                    return f.write_str(chars.as_str());
                }
                write_word(f, value, place, true)
            }
            Query::Phrase { field, text } => {
                write_field(f, field.as_deref())?;
                write_quoted(f, text)
            }
            Query::Wildcard { field, pattern } => {
                let place = write_field(f, field.as_deref())?;
                let mut first = true;
                for piece in &pattern.pieces {
                    match piece {
                        PatternPiece::Literal(text) => write_word(f, text, place, first)?,
                        PatternPiece::AnyOne => f.write_char('?')?,
                        PatternPiece::AnyMany => f.write_char('*')?,
                    }
                    first = false;
                }
                Ok(())
            }
            Query::Range {
                field,
                lower,
                upper,
            } => {
                write!(f, "{field}:")?;
                match (lower, upper) {
                    (Bound::Unbounded, Bound::Unbounded) => f.write_str("[* TO *]"),
                    (Bound::Included(v), Bound::Unbounded) => {
                        f.write_str(">=")?;
                        write_bound(f, v)
                    }
                    (Bound::Excluded(v), Bound::Unbounded) => {
                        f.write_str(">")?;
                        write_bound(f, v)
                    }
                    (Bound::Unbounded, Bound::Included(v)) => {
                        f.write_str("<=")?;
                        write_bound(f, v)
                    }
                    (Bound::Unbounded, Bound::Excluded(v)) => {
                        f.write_str("<")?;
                        write_bound(f, v)
                    }
                    (lower, upper) => {
                        match lower {
                            Bound::Included(v) => {
                                f.write_char('[')?;
                                write_bound(f, v)?;
                            }
                            Bound::Excluded(v) => {
                                f.write_char('{')?;
                                write_bound(f, v)?;
                            }
                            Bound::Unbounded => f.write_str("[*")?,
                        }
                        f.write_str(" TO ")?;
                        match upper {
                            Bound::Included(v) => {
                                write_bound(f, v)?;
                                f.write_char(']')
                            }
                            Bound::Excluded(v) => {
                                write_bound(f, v)?;
                                f.write_char('}')
                            }
                            Bound::Unbounded => f.write_str("*]"),
                        }
                    }
                }
            }
            Query::Exists { field } => write!(f, "{field}:*"),
            Query::And(items) if items.is_empty() => f.write_str("*"),
            Query::And(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" AND ")?;
                    }
                    write_child(f, item, matches!(item, Query::And(_) | Query::Or(_)))?;
                }
                Ok(())
            }
            Query::Or(items) if items.is_empty() => f.write_str("NOT *"),
            Query::Or(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" OR ")?;
                    }
                    write_child(f, item, matches!(item, Query::Or(_)))?;
                }
                Ok(())
            }
            Query::Not(inner) => {
                f.write_str("NOT ")?;
                write_child(f, inner, matches!(**inner, Query::And(_) | Query::Or(_)))
            }
        }
    }
}

fn write_child(f: &mut fmt::Formatter<'_>, q: &Query, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({q})")
    } else {
        write!(f, "{q}")
    }
}

fn write_field(f: &mut fmt::Formatter<'_>, field: Option<&str>) -> Result<Place, fmt::Error> {
    match field {
        Some(field) => {
            write!(f, "{field}:")?;
            Ok(Place::Value)
        }
        None => Ok(Place::Bare),
    }
}

/// Writes `text` as (part of) an unquoted word, escaping what the lexer would read as syntax.
/// `first`: the text starts the word.
fn write_word(f: &mut fmt::Formatter<'_>, text: &str, place: Place, first: bool) -> fmt::Result {
    for (i, c) in text.chars().enumerate() {
        let at_start = first && i == 0;
        match c {
            ' ' => f.write_str("\\ ")?,
            '\t' => f.write_str("\\t")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_whitespace() || c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            '\\' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | '*' | '?' => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            ':' if place == Place::Bare => f.write_str("\\:")?,
            '-' | '&' | '|' if at_start && place == Place::Bare => {
                // `-x` negates; `&&` and `||` are refused as operators.
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            '>' | '<' if at_start && place == Place::Value => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

/// Writes a quoted string: `"`, `\` and control characters escaped.
fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\t' => f.write_str("\\t")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Writes a range bound: bare when that reads back as the same text (times such as
/// `2026-11-29T10:00:00Z` stay bare), quoted otherwise.
fn write_bound(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    let plain = !value.is_empty()
        && value != "TO"
        && !value.starts_with('=')
        && value.chars().all(|c| {
            !(c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '(' | ')' | '[' | ']' | '{' | '}' | '"' | '\\' | '*' | '?'
                ))
        });
    if plain {
        f.write_str(value)
    } else {
        write_quoted(f, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> PatternPiece {
        PatternPiece::Literal(s.to_owned())
    }

    #[test]
    fn patterns_normalise() {
        let p = Pattern {
            pieces: vec![
                lit(""),
                lit("a"),
                lit("b"),
                PatternPiece::AnyMany,
                PatternPiece::AnyMany,
                PatternPiece::AnyOne,
                lit(""),
            ],
        };
        assert_eq!(
            p.normalised().pieces,
            vec![lit("ab"), PatternPiece::AnyMany, PatternPiece::AnyOne]
        );
    }

    #[test]
    fn patterns_match() {
        let p = |pieces: Vec<PatternPiece>| Pattern { pieces };
        let adm = p(vec![lit("adm"), PatternPiece::AnyMany]);
        assert!(adm.matches("adm"));
        assert!(adm.matches("admin"));
        assert!(!adm.matches("Admin"));
        assert!(!adm.matches("xadm"));
        let web = p(vec![lit("web-"), PatternPiece::AnyOne, lit("1")]);
        assert!(web.matches("web-01"));
        assert!(web.matches("web-é1"));
        assert!(!web.matches("web-1"));
        let mid = p(vec![
            PatternPiece::AnyMany,
            lit("a*b"),
            PatternPiece::AnyMany,
        ]);
        assert!(mid.matches("xxa*byy"));
        assert!(!mid.matches("xxaXbyy"));
        assert!(p(vec![]).matches(""));
        assert!(!p(vec![]).matches("a"));
        assert!(p(vec![PatternPiece::AnyMany]).matches(""));
        let tricky = p(vec![
            PatternPiece::AnyMany,
            lit("ab"),
            PatternPiece::AnyMany,
            lit("ab"),
        ]);
        assert!(tricky.matches("aabab"));
        assert!(!tricky.matches("aaba"));
    }

    #[test]
    fn normalise_flattens_and_collapses() {
        let t = |v: &str| Query::Term {
            field: None,
            value: v.to_owned(),
        };
        let q = Query::And(vec![
            Query::And(vec![t("a"), Query::All]),
            Query::Or(vec![t("b")]),
            Query::Not(Box::new(Query::Not(Box::new(t("c"))))),
        ]);
        assert_eq!(q.normalise(), Query::And(vec![t("a"), t("b"), t("c")]));
        assert_eq!(Query::And(vec![]).normalise(), Query::All);
        assert_eq!(
            Query::Or(vec![]).normalise(),
            Query::Not(Box::new(Query::All))
        );
        assert_eq!(Query::Or(vec![t("a"), Query::All]).normalise(), Query::All);
        assert_eq!(
            Query::Range {
                field: "port".into(),
                lower: Bound::Unbounded,
                upper: Bound::Unbounded
            }
            .normalise(),
            Query::Exists {
                field: "port".into()
            }
        );
    }

    #[test]
    fn display_escapes_what_would_be_syntax() {
        let t = |field: Option<&str>, v: &str| Query::Term {
            field: field.map(str::to_owned),
            value: v.to_owned(),
        };
        assert_eq!(t(None, "AND").to_string(), "\\u{41}ND");
        assert_eq!(t(None, "-rf").to_string(), "\\-rf");
        assert_eq!(t(Some("x"), "-rf").to_string(), "x:-rf");
        assert_eq!(t(None, "a:b c").to_string(), "a\\:b\\ c");
        assert_eq!(t(Some("ip"), "fe80::1").to_string(), "ip:fe80::1");
        assert_eq!(t(Some("x"), ">5").to_string(), "x:\\>5");
        assert_eq!(t(Some("x"), "*").to_string(), "x:\\*");
        assert_eq!(t(None, "a\u{1}").to_string(), "a\\u{1}");
    }
}
