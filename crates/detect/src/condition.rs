//! The condition grammar: `and`, `or`, `not`, brackets, `1 of` / `all of` / `N of` over a search
//! identifier, a pattern with `*`, or `them`. Precedence, least to most binding: `or`, `and`,
//! `not`, `x of`, brackets. Keywords are case-insensitive.

use std::fmt;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// A search identifier.
    Search(String),
    /// At least `min` of the identifiers matching the pattern (`None`: all of them).
    Of {
        /// How many must match; `None` for `all of`.
        min: Option<usize>,
        /// The identifiers (`them`: every one not starting with `_`).
        of: OfTarget,
    },
    /// Negation.
    Not(Box<Condition>),
    /// All must hold.
    And(Vec<Condition>),
    /// One must hold.
    Or(Vec<Condition>),
}

/// What `x of` ranges over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfTarget {
    /// `them`.
    Them,
    /// A name, or a pattern with `*`.
    Pattern(String),
}

/// A condition that does not parse, with the character position of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// Character offset in the condition text (0-based).
    pub column: usize,
    /// What was wrong.
    pub reason: String,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column + 1, self.reason)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    And,
    Or,
    Not,
    Of,
    All,
    Them,
    Number(usize),
    Open,
    Close,
    Name(String),
}

/// Bounds the nesting of brackets and `not`, so that a hostile condition cannot exhaust the
/// stack.
const MAX_DEPTH: usize = 64;

fn tokens(text: &str) -> Result<Vec<(usize, Token)>, ConditionError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == '(' || c == ')' {
            out.push((start, if c == '(' { Token::Open } else { Token::Close }));
            i += 1;
            continue;
        }
        if c == '|' {
            return Err(ConditionError {
                column: start,
                reason: "the pipe `|` (aggregations of Sigma 1) is not part of Sigma 2 conditions; use a correlation rule".into(),
            });
        }
        if !(c.is_alphanumeric() || c == '_' || c == '*' || c == '-' || c == '.') {
            return Err(ConditionError {
                column: start,
                reason: format!("unexpected character `{c}`"),
            });
        }
        while chars
            .get(i)
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '*' | '-' | '.'))
        {
            i += 1;
        }
        let word: String = chars.get(start..i).unwrap_or(&[]).iter().collect();
        let token = match word.to_ascii_lowercase().as_str() {
            "and" => Token::And,
            "or" => Token::Or,
            "not" => Token::Not,
            "of" => Token::Of,
            "all" => Token::All,
            "them" => Token::Them,
            _ if word.bytes().all(|b| b.is_ascii_digit()) => {
                Token::Number(word.parse().map_err(|_| ConditionError {
                    column: start,
                    reason: format!("`{word}` is too large a number"),
                })?)
            }
            _ => Token::Name(word),
        };
        out.push((start, token));
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(c, _)| *c)
    }

    fn error<T>(&self, reason: impl Into<String>) -> Result<T, ConditionError> {
        Err(ConditionError {
            column: self.column(),
            reason: reason.into(),
        })
    }

    fn or(&mut self) -> Result<Condition, ConditionError> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Condition::Or(items)
        })
    }

    fn and(&mut self) -> Result<Condition, ConditionError> {
        let mut items = vec![self.not()?];
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Condition::And(items)
        })
    }

    fn not(&mut self) -> Result<Condition, ConditionError> {
        if self.peek() == Some(&Token::Not) {
            self.at += 1;
            self.deeper()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn deeper(&mut self) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Condition, ConditionError> {
        let Some(token) = self.peek().cloned() else {
            return self.error("expected a search identifier, `x of`, `not` or `(`, found the end");
        };
        match token {
            Token::Open => {
                self.at += 1;
                self.deeper()?;
                let inner = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Token::Close) {
                    return self.error("expected `)`");
                }
                self.at += 1;
                Ok(inner)
            }
            Token::Number(n) => {
                self.at += 1;
                if n == 0 {
                    return self.error("`0 of` always holds; write the condition without it");
                }
                self.of(Some(n))
            }
            Token::All => {
                self.at += 1;
                self.of(None)
            }
            Token::Name(name) => {
                if name.contains('*') {
                    return self.error(format!(
                        "`{name}`: a pattern needs `1 of` or `all of` before it"
                    ));
                }
                self.at += 1;
                Ok(Condition::Search(name))
            }
            other => self.error(format!("unexpected {}", describe(&other))),
        }
    }

    fn of(&mut self, min: Option<usize>) -> Result<Condition, ConditionError> {
        if self.peek() != Some(&Token::Of) {
            return self.error("expected `of`");
        }
        self.at += 1;
        let of = match self.peek().cloned() {
            Some(Token::Them) => OfTarget::Them,
            Some(Token::Name(name)) => OfTarget::Pattern(name),
            _ => return self.error("expected a search identifier, a pattern or `them` after `of`"),
        };
        self.at += 1;
        Ok(Condition::Of { min, of })
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::And => "`and`".into(),
        Token::Or => "`or`".into(),
        Token::Not => "`not`".into(),
        Token::Of => "`of`".into(),
        Token::All => "`all`".into(),
        Token::Them => "`them`".into(),
        Token::Number(n) => format!("`{n}`"),
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::Name(n) => format!("`{n}`"),
    }
}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Condition, ConditionError> {
    let tokens = tokens(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        end: text.chars().count(),
        depth: 0,
    };
    let condition = parser.or()?;
    if parser.at < parser.tokens.len() {
        return parser.error("expected `and`, `or` or the end");
    }
    Ok(condition)
}

/// Whether a search identifier matches an `x of` pattern (`*` matches any run of characters).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let mut pieces = pattern.split('*');
    let Some(first) = pieces.next() else {
        return false;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    for (i, piece) in pieces.iter().enumerate() {
        if i + 1 == pieces.len() {
            return rest.ends_with(piece);
        }
        match rest.find(piece) {
            Some(at) => rest = rest.get(at + piece.len()..).unwrap_or(""),
            None => return false,
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str) -> Condition {
        Condition::Search(name.into())
    }

    #[test]
    fn precedence_is_or_and_not() {
        assert_eq!(
            parse("a or b and not c").unwrap(),
            Condition::Or(vec![
                s("a"),
                Condition::And(vec![s("b"), Condition::Not(Box::new(s("c")))])
            ])
        );
        assert_eq!(
            parse("(a or b) and c").unwrap(),
            Condition::And(vec![Condition::Or(vec![s("a"), s("b")]), s("c")])
        );
        assert_eq!(
            parse("not not a").unwrap(),
            Condition::Not(Box::new(Condition::Not(Box::new(s("a")))))
        );
    }

    #[test]
    fn of_forms() {
        assert_eq!(
            parse("1 of selection* and not all of filter_*").unwrap(),
            Condition::And(vec![
                Condition::Of {
                    min: Some(1),
                    of: OfTarget::Pattern("selection*".into())
                },
                Condition::Not(Box::new(Condition::Of {
                    min: None,
                    of: OfTarget::Pattern("filter_*".into())
                }))
            ])
        );
        assert_eq!(
            parse("ALL OF them").unwrap(),
            Condition::Of {
                min: None,
                of: OfTarget::Them
            }
        );
    }

    #[test]
    fn errors_point_at_the_column() {
        let e = parse("selection and").unwrap_err();
        assert_eq!(e.column, 13, "{e}");
        let e = parse("selection | count() > 5").unwrap_err();
        assert_eq!(e.column, 10);
        let e = parse("(a or b").unwrap_err();
        assert_eq!(e.reason, "expected `)`");
        assert!(parse("sel*").is_err());
        assert!(parse("a b").is_err());
        assert!(parse(&"(".repeat(100)).is_err());
        assert!(parse(&format!("{}a", "not ".repeat(100))).is_err());
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("selection*", "selection_img"));
        assert!(pattern_matches("selection*", "selection"));
        assert!(!pattern_matches("selection*", "filter"));
        assert!(pattern_matches("*_img", "selection_img"));
        assert!(pattern_matches("sel*img", "sel_x_img"));
        assert!(pattern_matches("a*b*c", "aXbYc"));
        assert!(!pattern_matches("a*b*c", "aXbY"));
        assert!(pattern_matches("exact", "exact"));
        assert!(!pattern_matches("exact", "exact2"));
    }
}
