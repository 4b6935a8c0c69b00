//! The parser: query text to a normalised [`Query`], or a [`QueryError`] at a column.
//!
//! Recursive descent over the characters, one function per precedence level (OR, AND, NOT,
//! clause). Recursion happens only at parentheses and field groups, and their nesting is capped
//! at [`MAX_DEPTH`], so no input can exhaust the stack; the input is capped at
//! [`MAX_QUERY_BYTES`]. Chains of `NOT` and `-` are counted in a loop, not recursed into.
//! The grammar is in `docs/query.md`.

use crate::ast::{Bound, Pattern, PatternPiece, Query};
use crate::error::QueryError;

/// The longest query accepted, in bytes of UTF-8 (16 KiB).
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

/// The deepest nesting of parentheses and field groups accepted.
pub const MAX_DEPTH: usize = 64;

/// Parses a query. The empty query (or only whitespace) and `*` are [`Query::All`]. The tree is
/// [normalised](Query::normalise).
///
/// ```
/// use shieldwall_query::{parse, Query};
///
/// let q = parse("user.name:root -status:success").unwrap();
/// assert_eq!(q.to_string(), "user.name:root AND NOT status:success");
/// let e = parse("user.name:(root OR").unwrap_err();
/// assert_eq!(e.to_string(), "column 17: `OR` has nothing after it");
/// ```
pub fn parse(text: &str) -> Result<Query, QueryError> {
    if text.len() > MAX_QUERY_BYTES {
        let column = text
            .char_indices()
            .take_while(|(i, _)| *i < MAX_QUERY_BYTES)
            .count()
            + 1;
        return Err(QueryError::new(
            column,
            format!(
                "the query is {} bytes long; the limit is {MAX_QUERY_BYTES} bytes (16 KiB)",
                text.len()
            ),
        ));
    }
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    parser.skip_ws();
    if parser.peek().is_none() {
        return Ok(Query::All);
    }
    let query = parser.parse_or(None)?;
    parser.skip_ws();
    if let Some(c) = parser.peek() {
        // parse_or stops only at the end or at a `)` it cannot close.
        return Err(parser.error_here(if c == ')' {
            "unbalanced `)`: no `(` before it to close".to_owned()
        } else {
            format!("unexpected {}", show(c))
        }));
    }
    Ok(query.normalise())
}

/// Whether `name` can be written as a field name: an ASCII letter or `_`, then ASCII letters,
/// digits, `_`, `.`, `@` and `-`. Case matters (`vendor.EventID`).
pub fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'))
}

/// How a word is delimited.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A field-less clause: an unescaped `:` ends the word (it was a field name).
    Clause,
    /// A value (after `field:`, in a field group, in a range): `:` belongs to the word.
    Value,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyword {
    And,
    Or,
    Not,
}

impl Keyword {
    fn text(self) -> &'static str {
        match self {
            Keyword::And => "AND",
            Keyword::Or => "OR",
            Keyword::Not => "NOT",
        }
    }
}

/// An unquoted word: its characters, each with whether it was escaped.
struct Word {
    /// Index of its first character.
    start: usize,
    chars: Vec<(char, bool)>,
}

impl Word {
    /// The word is exactly `s`, without escapes.
    fn is_plain(&self, s: &str) -> bool {
        self.chars.len() == s.chars().count()
            && self
                .chars
                .iter()
                .zip(s.chars())
                .all(|(&(c, escaped), x)| !escaped && c == x)
    }

    fn has_wildcard(&self) -> bool {
        self.chars
            .iter()
            .any(|&(c, escaped)| !escaped && (c == '*' || c == '?'))
    }

    fn text(&self) -> String {
        self.chars.iter().map(|&(c, _)| c).collect()
    }

    /// A term, or a wildcard when an unescaped `*` or `?` is in it.
    fn into_value(self, field: Option<String>) -> Query {
        if !self.has_wildcard() {
            return Query::Term {
                field,
                value: self.text(),
            };
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        for (c, escaped) in self.chars {
            let wildcard = match c {
                '*' if !escaped => PatternPiece::AnyMany,
                '?' if !escaped => PatternPiece::AnyOne,
                c => {
                    literal.push(c);
                    continue;
                }
            };
            if !literal.is_empty() {
                pieces.push(PatternPiece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(wildcard);
        }
        if !literal.is_empty() {
            pieces.push(PatternPiece::Literal(literal));
        }
        Query::Wildcard {
            field,
            pattern: Pattern { pieces }.normalised(),
        }
    }
}

/// A range bound as read, before the bracket decides inclusion.
enum BoundText {
    Star,
    /// The unescaped word `TO`: a missing lower bound, or the upper bound `TO`.
    To,
    Value(String),
}

struct Parser {
    chars: Vec<char>,
    /// Index of the next character.
    pos: usize,
    /// Open parentheses and field groups.
    depth: usize,
}

/// Characters that end an unquoted word in both modes.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | '"')
}

/// A character for a message: itself in backquotes, or its code point when it would not show.
fn show(c: char) -> String {
    if c.is_whitespace() || c.is_control() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("`{c}`")
    }
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    /// The 1-based column of the next character.
    fn column(&self) -> usize {
        self.pos + 1
    }

    fn error_here(&self, message: impl Into<String>) -> QueryError {
        QueryError::new(self.column(), message)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// The keyword at the cursor: `AND`, `OR` or `NOT` written exactly so, unescaped, and
    /// followed by the end, whitespace, a parenthesis, bracket, brace or quote (not by `:`, which
    /// would make it a field name, nor by more word characters).
    fn peek_keyword(&self) -> Option<Keyword> {
        [Keyword::And, Keyword::Or, Keyword::Not]
            .into_iter()
            .find(|kw| {
                let text = kw.text();
                let n = text.len();
                text.chars()
                    .enumerate()
                    .all(|(i, c)| self.peek_at(i) == Some(c))
                    && self.peek_at(n).is_none_or(ends_word)
            })
    }

    /// After an operator at `op_column`: the clause it needs must follow.
    fn expect_operand(&self, op: &str, op_column: usize) -> Result<(), QueryError> {
        let message = match self.peek() {
            None => format!("`{op}` has nothing after it"),
            Some(')') => format!("`{op}` has nothing after it before `)`"),
            Some(_) => match self.peek_keyword() {
                Some(kw @ (Keyword::And | Keyword::Or)) => format!(
                    "`{op}` is followed by `{}`: a clause must come between them",
                    kw.text()
                ),
                _ => return Ok(()),
            },
        };
        Err(QueryError::new(op_column, message))
    }

    /// `or := and ("OR" and)*`
    fn parse_or(&mut self, field: Option<&str>) -> Result<Query, QueryError> {
        let mut items = vec![self.parse_and(field)?];
        loop {
            self.skip_ws();
            if self.peek_keyword() != Some(Keyword::Or) {
                break;
            }
            let op_column = self.column();
            self.pos += 2;
            self.skip_ws();
            self.expect_operand("OR", op_column)?;
            items.push(self.parse_and(field)?);
        }
        Ok(one_or(items, Query::Or))
    }

    /// `and := unary (["AND"] unary)*`: adjacent clauses are joined by an implicit AND.
    fn parse_and(&mut self, field: Option<&str>) -> Result<Query, QueryError> {
        let mut items = vec![self.parse_unary(field)?];
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(')') => break,
                Some(_) => match self.peek_keyword() {
                    Some(Keyword::Or) => break,
                    Some(Keyword::And) => {
                        let op_column = self.column();
                        self.pos += 3;
                        self.skip_ws();
                        self.expect_operand("AND", op_column)?;
                    }
                    _ => {}
                },
            }
            items.push(self.parse_unary(field)?);
        }
        Ok(one_or(items, Query::And))
    }

    /// `unary := ("NOT" | "-")* clause`, counted in a loop.
    fn parse_unary(&mut self, field: Option<&str>) -> Result<Query, QueryError> {
        self.skip_ws();
        let mut negated = false;
        loop {
            if self.peek_keyword() == Some(Keyword::Not) {
                let op_column = self.column();
                self.pos += 3;
                self.skip_ws();
                self.expect_operand("NOT", op_column)?;
                negated = !negated;
            } else if self.peek() == Some('-') {
                match self.peek_at(1) {
                    Some(c) if !c.is_whitespace() && c != ')' => {
                        self.pos += 1;
                        negated = !negated;
                    }
                    _ => {
                        return Err(self.error_here(
                            "`-` must be directly followed by the clause it excludes \
                             (`-user.name:root`); to search for a `-`, escape it: `\\-`",
                        ));
                    }
                }
            } else {
                break;
            }
        }
        let clause = self.parse_clause(field)?;
        Ok(if negated {
            Query::Not(Box::new(clause))
        } else {
            clause
        })
    }

    /// One clause. `field` is the field of the enclosing field group, if any: inside a group every
    /// word is a value of that field.
    fn parse_clause(&mut self, field: Option<&str>) -> Result<Query, QueryError> {
        let Some(c) = self.peek() else {
            return Err(self.error_here("expected a search term"));
        };
        if let (Some(field), '>' | '<') = (field, c) {
            return self.parse_comparison(field);
        }
        match c {
            '(' => self.parse_parens(field),
            ')' => Err(self.error_here("unbalanced `)`: no `(` before it to close")),
            '"' => Ok(Query::Phrase {
                field: field.map(str::to_owned),
                text: self.lex_quoted()?,
            }),
            '[' | '{' => match field {
                Some(field) => self.parse_range(field),
                None => Err(self.error_here(format!(
                    "a range needs a field: write `field:{c}a TO b{}`",
                    if c == '[' { ']' } else { '}' }
                ))),
            },
            ']' | '}' => Err(self.error_here(format!("unexpected `{c}`: no range is open"))),
            ':' if field.is_none() => Err(self.error_here(
                "`:` must come directly after a field name (`field:value`); \
                 to search for a `:`, escape it (`\\:`) or quote the value",
            )),
            _ => {
                let mode = if field.is_some() {
                    Mode::Value
                } else {
                    Mode::Clause
                };
                let word = self.lex_word(mode)?;
                if mode == Mode::Clause && self.peek() == Some(':') {
                    return self.parse_field(word);
                }
                for (kw, hint) in [("AND", ""), ("OR", ""), ("&&", "AND"), ("||", "OR")] {
                    if word.is_plain(kw) {
                        let message = if hint.is_empty() {
                            format!("`{kw}` has no clause before it")
                        } else {
                            format!(
                                "`{kw}` is not an operator: write `{hint}` \
                                 (or `\\{kw}` to search for the characters)"
                            )
                        };
                        return Err(QueryError::new(word.start + 1, message));
                    }
                }
                Ok(word.into_value(field.map(str::to_owned)))
            }
        }
    }

    /// `field:` has been read up to the colon (the cursor is on it): check the name, then read
    /// what follows the colon.
    fn parse_field(&mut self, name: Word) -> Result<Query, QueryError> {
        let column = name.start + 1;
        let text = name.text();
        if name.chars.iter().any(|&(_, escaped)| escaped) || !is_field_name(&text) {
            return Err(QueryError::new(
                column,
                format!(
                    "`{text}` is not a field name: a field name starts with a letter or `_` \
                     and has only letters, digits, `_`, `.`, `@` and `-`; to search for a value \
                     containing `:`, quote it or escape the colon (`\\:`)"
                ),
            ));
        }
        self.pos += 1; // the colon
        let missing = || format!("missing value after `{text}:`");
        match self.peek() {
            None | Some(')' | ']' | '}') => Err(self.error_here(missing())),
            Some(c) if c.is_whitespace() => Err(self.error_here(format!(
                "{}: no space is allowed after the colon",
                missing()
            ))),
            Some('(') => self.parse_parens(Some(&text)),
            Some('"') => Ok(Query::Phrase {
                field: Some(text),
                text: self.lex_quoted()?,
            }),
            Some('[' | '{') => self.parse_range(&text),
            Some('>' | '<') => self.parse_comparison(&text),
            Some(_) => Ok(self.lex_word(Mode::Value)?.into_value(Some(text))),
        }
    }

    /// `( or )`, or a field group `field:( or )` when `field` is set.
    fn parse_parens(&mut self, field: Option<&str>) -> Result<Query, QueryError> {
        let open = self.column();
        if self.depth >= MAX_DEPTH {
            return Err(self.error_here(format!(
                "too deeply nested: at most {MAX_DEPTH} levels of parentheses"
            )));
        }
        self.depth += 1;
        self.pos += 1;
        self.skip_ws();
        let unclosed = || QueryError::new(open, "unclosed parenthesis: no `)` closes this `(`");
        match self.peek() {
            None => return Err(unclosed()),
            Some(')') => {
                return Err(QueryError::new(
                    open,
                    match field {
                        Some(field) => format!("empty group: `{field}:()` has no value"),
                        None => "empty parentheses".to_owned(),
                    },
                ));
            }
            Some(_) => {}
        }
        let query = self.parse_or(field)?;
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(unclosed());
        }
        self.pos += 1;
        self.depth -= 1;
        Ok(query)
    }

    /// `[a TO b]`, `{a TO b}`, `[a TO b}`, `{a TO b]`, with `*` for an open end.
    fn parse_range(&mut self, field: &str) -> Result<Query, QueryError> {
        let open = self.column();
        let lower_included = self.peek() == Some('[');
        self.pos += 1;
        self.skip_ws();
        let lower_column = self.column();
        let lower = match self.parse_bound(open, "lower")? {
            BoundText::To => {
                return Err(QueryError::new(
                    lower_column,
                    "missing lower bound before `TO` (use `*` for an open end; \
                     quote `\"TO\"` to mean the word)",
                ));
            }
            BoundText::Star => Bound::Unbounded,
            BoundText::Value(v) if lower_included => Bound::Included(v),
            BoundText::Value(v) => Bound::Excluded(v),
        };
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err(unclosed_range(open));
        };
        let is_to = |a: char, b: char| {
            c == a && self.peek_at(1) == Some(b) && self.peek_at(2).is_none_or(ends_word)
        };
        if is_to('T', 'O') {
            self.pos += 2;
        } else if is_to('t', 'o') || is_to('T', 'o') || is_to('t', 'O') {
            return Err(self.error_here("expected `TO` between the bounds (in upper case)"));
        } else {
            return Err(self.error_here("expected `TO` after the lower bound"));
        }
        self.skip_ws();
        let upper = match self.parse_bound(open, "upper")? {
            BoundText::Star => None,
            BoundText::To => Some("TO".to_owned()),
            BoundText::Value(v) => Some(v),
        };
        self.skip_ws();
        let upper_included = match self.peek() {
            None => return Err(unclosed_range(open)),
            Some(']') => true,
            Some('}') => false,
            Some(_) => {
                return Err(self.error_here("expected `]` or `}` to close the range"));
            }
        };
        self.pos += 1;
        let upper = match upper {
            None => Bound::Unbounded,
            Some(v) if upper_included => Bound::Included(v),
            Some(v) => Bound::Excluded(v),
        };
        Ok(Query::Range {
            field: field.to_owned(),
            lower,
            upper,
        })
    }

    /// One bound of a range: a quoted string, a word, or `*`.
    fn parse_bound(&mut self, open: usize, which: &str) -> Result<BoundText, QueryError> {
        match self.peek() {
            None => Err(unclosed_range(open)),
            Some(']' | '}') => Err(self.error_here(format!("missing {which} bound"))),
            Some('"') => Ok(BoundText::Value(self.lex_quoted()?)),
            Some(c @ ('(' | ')' | '[' | '{')) => {
                Err(self.error_here(format!("unexpected `{c}` in a range")))
            }
            Some(_) => {
                let column = self.column();
                let word = self.lex_word(Mode::Value)?;
                if word.is_plain("*") {
                    Ok(BoundText::Star)
                } else if word.is_plain("TO") {
                    Ok(BoundText::To)
                } else if word.has_wildcard() {
                    Err(QueryError::new(
                        column,
                        "wildcards are not allowed in a range bound: use `*` alone for an \
                         open end, or escape the character (`\\*`, `\\?`)",
                    ))
                } else {
                    Ok(BoundText::Value(word.text()))
                }
            }
        }
    }

    /// `>v`, `>=v`, `<v`, `<=v` after `field:`.
    fn parse_comparison(&mut self, field: &str) -> Result<Query, QueryError> {
        let greater = self.peek() == Some('>');
        self.pos += 1;
        let included = self.peek() == Some('=');
        if included {
            self.pos += 1;
        }
        let op = match (greater, included) {
            (true, true) => ">=",
            (true, false) => ">",
            (false, true) => "<=",
            (false, false) => "<",
        };
        let column = self.column();
        let value = match self.peek() {
            None | Some(')' | ']' | '}') => {
                return Err(self.error_here(format!("missing value after `{op}`")));
            }
            Some(c) if c.is_whitespace() => {
                return Err(self.error_here(format!(
                    "missing value after `{op}`: no space is allowed after it"
                )));
            }
            Some(c @ ('(' | '[' | '{')) => {
                return Err(self.error_here(format!(
                    "expected a value after `{op}`, found `{c}` (a comparison takes one value; \
                     use `field:[a TO b]` for a range)"
                )));
            }
            Some('"') => self.lex_quoted()?,
            Some(_) => {
                let word = self.lex_word(Mode::Value)?;
                if word.is_plain("*") {
                    return Err(QueryError::new(
                        column,
                        "`*` is not a value to compare with (use `field:*` to test that a \
                         field exists)",
                    ));
                }
                if word.has_wildcard() {
                    return Err(QueryError::new(
                        column,
                        "wildcards are not allowed in a comparison: escape the character \
                         (`\\*`, `\\?`)",
                    ));
                }
                word.text()
            }
        };
        let bound = if included {
            Bound::Included(value)
        } else {
            Bound::Excluded(value)
        };
        let (lower, upper) = if greater {
            (bound, Bound::Unbounded)
        } else {
            (Bound::Unbounded, bound)
        };
        Ok(Query::Range {
            field: field.to_owned(),
            lower,
            upper,
        })
    }

    /// An unquoted word at the cursor, escapes resolved. Never called on a character that ends a
    /// word, so the word has at least one character.
    fn lex_word(&mut self, mode: Mode) -> Result<Word, QueryError> {
        let start = self.pos;
        let mut chars = Vec::new();
        while let Some(c) = self.peek() {
            if ends_word(c) || (mode == Mode::Clause && c == ':') {
                break;
            }
            if c == '\\' {
                let backslash = self.column();
                match self.lex_escape()? {
                    Some(c) => chars.push((c, true)),
                    None => {
                        return Err(QueryError::new(
                            backslash,
                            "a `\\` at the end of the query escapes nothing \
                             (write `\\\\` for a backslash)",
                        ));
                    }
                }
            } else {
                chars.push((c, false));
                self.pos += 1;
            }
        }
        Ok(Word { start, chars })
    }

    /// A quoted string at the cursor (on the opening quote), escapes resolved.
    fn lex_quoted(&mut self) -> Result<String, QueryError> {
        let open = self.column();
        let unclosed = || QueryError::new(open, "unclosed quote: no `\"` closes this phrase");
        self.pos += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err(unclosed()),
                Some('"') => {
                    self.pos += 1;
                    return Ok(text);
                }
                Some('\\') => match self.lex_escape()? {
                    Some(c) => text.push(c),
                    None => return Err(unclosed()),
                },
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// The escape at the cursor (on the backslash): the character it stands for, or `None` when
    /// the backslash ends the input. Known escapes: `\` before a space or an ASCII punctuation
    /// character (that character), `\t`, `\n`, `\r`, and `\u{1F600}` (1 to 6 hexadecimal digits).
    fn lex_escape(&mut self) -> Result<Option<char>, QueryError> {
        let backslash = self.column();
        self.pos += 1;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        self.pos += 1;
        let escaped = match c {
            ' ' => ' ',
            c if c.is_ascii_punctuation() => c,
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'u' => {
                let bad = || {
                    QueryError::new(
                        backslash,
                        "invalid `\\u` escape: write `\\u{` then 1 to 6 hexadecimal digits of \
                         a Unicode scalar value then `}`",
                    )
                };
                if self.peek() != Some('{') {
                    return Err(bad());
                }
                self.pos += 1;
                let mut value: u32 = 0;
                let mut digits = 0;
                while let Some(d) = self.peek().and_then(|c| c.to_digit(16)) {
                    digits += 1;
                    if digits > 6 {
                        return Err(bad());
                    }
                    value = value * 16 + d;
                    self.pos += 1;
                }
                if digits == 0 || self.peek() != Some('}') {
                    return Err(bad());
                }
                self.pos += 1;
                char::from_u32(value).ok_or_else(bad)?
            }
            c => {
                let escape = if c.is_whitespace() || c.is_control() {
                    format!("`\\` followed by {}", show(c))
                } else {
                    format!("`\\{c}`")
                };
                return Err(QueryError::new(
                    backslash,
                    format!(
                        "unknown escape {escape}: a backslash makes the next punctuation \
                         character or space literal; write `\\\\` for a backslash itself"
                    ),
                ));
            }
        };
        Ok(Some(escaped))
    }
}

fn unclosed_range(open: usize) -> QueryError {
    QueryError::new(open, "unclosed range: no `]` or `}` closes it")
}

/// One clause alone, else the clauses joined by `join`.
fn one_or(mut items: Vec<Query>, join: fn(Vec<Query>) -> Query) -> Query {
    if items.len() == 1
        && let Some(item) = items.pop()
    {
        return item;
    }
    join(items)
}
