//! The rule language of SCA policies: `[not ]TYPE:TARGET[ -> PATTERN[ && PATTERN]...]`, parsed
//! once at load so that evaluation only matches. `docs/baseline-rules.md` is its specification.

use std::collections::BTreeMap;

use regex::bytes::Regex;

/// Regexes in policies are compiled with this size limit: the regex crate matches in linear
/// time, and the limit keeps one pattern from taking much memory either.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// How the results of a check's rules combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Every rule must hold.
    All,
    /// At least one rule must hold.
    Any,
    /// No rule may hold.
    None,
}

impl Condition {
    /// `all`, `any` or `none`, as policies write it (any case).
    pub fn parse(text: &str) -> Option<Condition> {
        match text.trim().to_ascii_lowercase().as_str() {
            "all" => Some(Condition::All),
            "any" => Some(Condition::Any),
            "none" => Some(Condition::None),
            _ => None,
        }
    }

    /// The name policies use.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::All => "all",
            Condition::Any => "any",
            Condition::None => "none",
        }
    }
}

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `f:` a file, or a comma-separated list of files.
    File,
    /// `d:` a directory, or a comma-separated list of them.
    Directory,
    /// `p:` a running process.
    Process,
    /// `c:` a command's output.
    Command,
    /// `r:` a Windows registry key: never applicable here.
    Registry,
    /// `x:` one of Shieldwall's built-in probes.
    Probe,
}

/// A parsed rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `not` in front: the rule holds when its test does not (not-applicable stays so).
    pub negated: bool,
    /// What it looks at.
    pub kind: RuleKind,
    /// The file, directory, process, command or probe, variables expanded.
    pub target: String,
    /// For `d:` rules: which files in the directory.
    pub file_name: Option<NamePattern>,
    /// The test on the content, if the rule has one.
    pub content: Option<Content>,
}

/// Which files of a directory a `d:` rule looks at.
#[derive(Debug, Clone)]
pub enum NamePattern {
    /// `r:REGEX`, searched in the file name.
    Regex(Regex),
    /// A plain name, equal to the whole file name.
    Literal(String),
}

impl NamePattern {
    /// Whether a file name matches.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            NamePattern::Regex(re) => re.is_match(name.as_bytes()),
            NamePattern::Literal(literal) => literal == name,
        }
    }
}

/// Patterns joined by `&&`: a line matches when every one of them does.
#[derive(Debug, Clone)]
pub struct Content {
    /// The patterns.
    pub parts: Vec<Pattern>,
}

impl Content {
    /// Whether one line satisfies every pattern.
    pub fn matches(&self, line: &str) -> bool {
        self.parts.iter().all(|p| p.matches(line))
    }

    /// A content of one negated pattern (`!r:X`, `!n:...` or `!value` alone) holds when no
    /// line matches X, rather than when some line does not: this returns the pattern X.
    pub fn lone_negation(&self) -> Option<Pattern> {
        match self.parts.as_slice() {
            [
                Pattern::Regex {
                    negated: true,
                    regex,
                },
            ] => Some(Pattern::Regex {
                negated: false,
                regex: regex.clone(),
            }),
            [
                Pattern::Numeric {
                    negated: true,
                    regex,
                    op,
                    value,
                },
            ] => Some(Pattern::Numeric {
                negated: false,
                regex: regex.clone(),
                op: *op,
                value: *value,
            }),
            [
                Pattern::Literal {
                    negated: true,
                    text,
                },
            ] => Some(Pattern::Literal {
                negated: false,
                text: text.clone(),
            }),
            _ => None,
        }
    }

    /// The whole pattern is one plain value (compared with a command's whole output), and
    /// whether it is negated (`!value`: the output is anything else).
    pub fn whole_literal(&self) -> Option<(bool, &str)> {
        match self.parts.as_slice() {
            [Pattern::Literal { negated, text }] => Some((*negated, text)),
            _ => None,
        }
    }
}

/// One pattern on a line.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// `r:REGEX` (or `!r:REGEX`): the regex is found in the line (or is not).
    Regex {
        /// `!` in front.
        negated: bool,
        /// The regex.
        regex: Regex,
    },
    /// `n:REGEX compare OP NUMBER`: the regex's first group, read as a number, compares so.
    Numeric {
        /// `!` in front.
        negated: bool,
        /// The regex with the number in its first group.
        regex: Regex,
        /// The comparison.
        op: Compare,
        /// The number compared with.
        value: i64,
    },
    /// A plain value (or `!value`): the whole line, spaces at its ends ignored, equals it.
    Literal {
        /// `!` in front.
        negated: bool,
        /// The value.
        text: String,
    },
}

impl Pattern {
    /// Whether a line satisfies the pattern.
    pub fn matches(&self, line: &str) -> bool {
        match self {
            Pattern::Regex { negated, regex } => regex.is_match(line.as_bytes()) != *negated,
            Pattern::Numeric {
                negated,
                regex,
                op,
                value,
            } => {
                let hit = regex
                    .captures(line.as_bytes())
                    .and_then(|c| c.get(1))
                    .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
                    .and_then(|text| text.trim().parse::<i64>().ok())
                    .is_some_and(|n| op.holds(n, *value));
                hit != *negated
            }
            Pattern::Literal { negated, text } => (line.trim() == text) != *negated,
        }
    }
}

/// A numeric comparison of `n:` patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `>=`
    GreaterOrEqual,
    /// `>`
    Greater,
}

impl Compare {
    fn parse(text: &str) -> Option<Compare> {
        Some(match text {
            "<" => Compare::Less,
            "<=" => Compare::LessOrEqual,
            "==" | "=" => Compare::Equal,
            "!=" => Compare::NotEqual,
            ">=" => Compare::GreaterOrEqual,
            ">" => Compare::Greater,
            _ => return None,
        })
    }

    /// Whether `found OP expected` holds.
    pub fn holds(self, found: i64, expected: i64) -> bool {
        match self {
            Compare::Less => found < expected,
            Compare::LessOrEqual => found <= expected,
            Compare::Equal => found == expected,
            Compare::NotEqual => found != expected,
            Compare::GreaterOrEqual => found >= expected,
            Compare::Greater => found > expected,
        }
    }
}

impl Rule {
    /// Parses one rule whose variables are already expanded. The error says what is wrong in
    /// words, for the check's error result.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let text = text.trim();
        let (negated, rest) = match text.strip_prefix("not ") {
            Some(rest) => (true, rest.trim_start()),
            None => (false, text),
        };
        let (kind, rest) = match rest.split_once(':') {
            Some(("f", r)) => (RuleKind::File, r),
            Some(("d", r)) => (RuleKind::Directory, r),
            Some(("p", r)) => (RuleKind::Process, r),
            Some(("c", r)) => (RuleKind::Command, r),
            Some(("r", r)) => (RuleKind::Registry, r),
            Some(("x", r)) => (RuleKind::Probe, r),
            _ => {
                return Err(format!(
                    "rule `{text}` does not start with f:, d:, p:, c:, r: or x:"
                ));
            }
        };
        let mut pieces = rest.splitn(if kind == RuleKind::Directory { 3 } else { 2 }, " -> ");
        let target = pieces.next().unwrap_or("").trim().to_owned();
        if target.is_empty() {
            return Err(format!("rule `{text}` names no target"));
        }
        let mut rule = Rule {
            negated,
            kind,
            target,
            file_name: None,
            content: None,
        };
        if kind == RuleKind::Registry {
            // Registry rules are kept whole: they are reported as not applicable on Linux, and
            // their value/content parts follow Windows conventions we do not evaluate.
            return Ok(rule);
        }
        if kind == RuleKind::Directory
            && let Some(name) = pieces.next()
        {
            rule.file_name = Some(parse_name_pattern(name.trim())?);
        }
        // Everything after the last separator is the pattern, further arrows included, as in
        // Wazuh (a typo like `c:auditctl -l -> r:a -> r:b` then searches for `a -> r:b`).
        if let Some(content) = pieces.next() {
            rule.content = Some(parse_content(content)?);
        }
        Ok(rule)
    }
}

fn parse_name_pattern(text: &str) -> Result<NamePattern, String> {
    match text.strip_prefix("r:") {
        Some(re) => compile(re).map(NamePattern::Regex),
        None if text.is_empty() => Err("empty file name after ` -> `".to_owned()),
        None => Ok(NamePattern::Literal(text.to_owned())),
    }
}

fn parse_content(text: &str) -> Result<Content, String> {
    let lead = text.trim_start();
    if !["r:", "!r:", "n:", "!n:"]
        .iter()
        .any(|p| lead.starts_with(p))
    {
        // As Wazuh does: a pattern that does not start with a regex or number is one plain
        // value, `&&` and all.
        return Ok(Content {
            parts: vec![parse_pattern(lead.trim_end())?],
        });
    }
    let mut parts = Vec::new();
    for part in text.split(" && ") {
        parts.push(parse_pattern(part.trim())?);
    }
    Ok(Content { parts })
}

fn parse_pattern(text: &str) -> Result<Pattern, String> {
    let (negated, body) = match text.strip_prefix('!') {
        Some(b) if b.starts_with("r:") || b.starts_with("n:") => (true, b),
        _ => (false, text),
    };
    if let Some(re) = body.strip_prefix("r:") {
        return Ok(Pattern::Regex {
            negated,
            regex: compile(re)?,
        });
    }
    if let Some(numeric) = body.strip_prefix("n:") {
        let Some((re, comparison)) = numeric.rsplit_once(" compare ") else {
            return Err(format!(
                "numeric pattern `{text}` has no ` compare OP NUMBER`"
            ));
        };
        let mut words = comparison.split_whitespace();
        let (Some(op), Some(number), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!(
                "numeric pattern `{text}`: expected ` compare OP NUMBER`"
            ));
        };
        let op = Compare::parse(op).ok_or_else(|| {
            format!("numeric pattern `{text}`: `{op}` is not <, <=, ==, !=, >= or >")
        })?;
        let value = number
            .parse::<i64>()
            .map_err(|_| format!("numeric pattern `{text}`: `{number}` is not an integer"))?;
        let regex = compile(re)?;
        if regex.captures_len() < 2 {
            return Err(format!(
                "numeric pattern `{text}`: the regex has no group around the number"
            ));
        }
        return Ok(Pattern::Numeric {
            negated,
            regex,
            op,
            value,
        });
    }
    let (negated, literal) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if literal.is_empty() {
        return Err("empty pattern".to_owned());
    }
    Ok(Pattern::Literal {
        negated,
        text: literal.trim().to_owned(),
    })
}

/// Compiles a policy regex as PCRE2 runs it in Wazuh: caseless, byte-wise with ASCII classes.
fn compile(pattern: &str) -> Result<Regex, String> {
    let pattern = literal_braces(pattern);
    regex::bytes::RegexBuilder::new(&pattern)
        .case_insensitive(true)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| unsupported_regex(&pattern, &e))
}

/// PCRE2 reads a `{` that does not open a repetition (`{2}`, `{2,}`, `{2,5}`) as a plain
/// brace, as in `${grub_cfg}`; the regex crate refuses it. Such braces are escaped first.
fn literal_braces(pattern: &str) -> std::borrow::Cow<'_, str> {
    if !pattern.contains('{') {
        return std::borrow::Cow::Borrowed(pattern);
    }
    let bytes = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut escaped = false;
    let mut in_class = false;
    for (i, c) in pattern.char_indices() {
        if escaped {
            escaped = false;
            out.push(c);
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '{' if !in_class && !opens_repetition(bytes.get(i + 1..).unwrap_or(&[])) => {
                out.push_str("\\{");
                continue;
            }
            '}' if !in_class && !closes_repetition(bytes.get(..i).unwrap_or(&[])) => {
                out.push_str("\\}");
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    std::borrow::Cow::Owned(out)
}

/// Whether the text after a `{` is `N}`, `N,}` or `N,M}`.
fn opens_repetition(after: &[u8]) -> bool {
    let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return false;
    }
    let rest = after.get(digits..).unwrap_or(&[]);
    match rest.first() {
        Some(b'}') => true,
        Some(b',') => {
            let tail = rest.get(1..).unwrap_or(&[]);
            let more = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            tail.get(more) == Some(&b'}')
        }
        _ => false,
    }
}

/// Whether the text before a `}` ends with `{N`, `{N,` or `{N,M`.
fn closes_repetition(before: &[u8]) -> bool {
    let mut i = before.len();
    while i > 0
        && before
            .get(i - 1)
            .is_some_and(|b| b.is_ascii_digit() || *b == b',')
    {
        i -= 1;
    }
    i > 0
        && i < before.len()
        && before.get(i - 1) == Some(&b'{')
        && before.get(i).is_some_and(u8::is_ascii_digit)
}

fn unsupported_regex(pattern: &str, error: &regex::Error) -> String {
    let lookaround = ["(?=", "(?!", "(?<=", "(?<!"];
    if lookaround.iter().any(|l| pattern.contains(l)) {
        return format!(
            "regex `{pattern}` uses look-around, which the linear-time engine does not support"
        );
    }
    let first = error.to_string();
    let reason = first
        .lines()
        .last()
        .unwrap_or("invalid regex")
        .trim()
        .to_owned();
    format!("regex `{pattern}`: {reason}")
}

/// Replaces every `$name` that `variables` defines (longest name first, and only where the
/// name is not followed by more name characters) with its value.
pub fn expand(text: &str, variables: &BTreeMap<String, String>) -> String {
    if variables.is_empty() || !text.contains('$') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let best = variables
            .iter()
            .filter(|(name, _)| {
                from.starts_with(name.as_str())
                    && !from
                        .get(name.len()..)
                        .and_then(|after| after.chars().next())
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            })
            .max_by_key(|(name, _)| name.len());
        match best {
            Some((name, value)) => {
                out.push_str(value);
                rest = from.get(name.len()..).unwrap_or("");
            }
            None => {
                out.push('$');
                rest = from.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out
}
