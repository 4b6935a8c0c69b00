//! Compiled field matchers: one `field|modifier|...: values` entry of a selection, after its
//! modifiers were applied, and how it matches an event.
//!
//! Semantics (`docs/detection.md`): values are compared as text, case-insensitively unless
//! `cased`; numbers and booleans in events compare by their JSON text; an array field matches
//! when one of its elements does; a list of values is an OR (`all`: an AND); `null` matches a
//! missing or null field; `neq` negates the whole entry (a missing field is "not equal").

use std::net::IpAddr;

use aho_corasick::AhoCorasick;
use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
use serde_json::Value;

use crate::event::EventFields;
use crate::value::{Part, SigmaString};

/// The largest compiled size of one regular expression (the regex crate's limit).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// How one value matches text.
#[derive(Debug, Clone)]
pub enum TextMatch {
    /// The whole text equals it (already lower-cased when not cased).
    Exact(Vec<u8>),
    /// The text starts with it.
    Prefix(Vec<u8>),
    /// The text ends with it.
    Suffix(Vec<u8>),
    /// The text contains it.
    Contains(Vec<u8>),
    /// Anything, even empty (`*`).
    Anything,
    /// Other wildcard patterns, and non-ASCII values compared case-insensitively.
    Pattern {
        /// The anchored regex.
        regex: Regex,
        /// A literal every match contains (ASCII lower case unless cased), for the prefilter.
        required: Option<Vec<u8>>,
    },
}

impl TextMatch {
    /// Compiles a Sigma string; `cased` keeps the case.
    pub fn compile(value: &SigmaString, cased: bool) -> Result<TextMatch, String> {
        let parts = value.parts();
        // Text whose letters fold by ASCII rules alone compares as bytes after ASCII lower
        // casing: ASCII, and characters without case such as emoji.
        let simple = parts.iter().all(|p| match p {
            Part::Literal(b) => std::str::from_utf8(b).is_ok_and(folds_by_ascii_rules),
            Part::Any | Part::One => true,
        });
        if simple || cased {
            let fold = |b: &Vec<u8>| {
                if cased {
                    b.clone()
                } else {
                    b.to_ascii_lowercase()
                }
            };
            match parts {
                [] => return Ok(TextMatch::Exact(Vec::new())),
                [Part::Literal(b)] => return Ok(TextMatch::Exact(fold(b))),
                [Part::Any] => return Ok(TextMatch::Anything),
                [Part::Literal(b), Part::Any] => return Ok(TextMatch::Prefix(fold(b))),
                [Part::Any, Part::Literal(b)] => return Ok(TextMatch::Suffix(fold(b))),
                [Part::Any, Part::Literal(b), Part::Any] => {
                    return Ok(TextMatch::Contains(fold(b)));
                }
                _ => {}
            }
        }
        let pattern = regex_pattern(parts);
        let regex = RegexBuilder::new(&pattern)
            .case_insensitive(!cased)
            .dot_matches_new_line(true)
            .unicode(true)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| format!("value too large to match: {e}"))?;
        // Without `cased`, non-ASCII text folds by Unicode rules, which ASCII lower case cannot
        // follow; ASCII runs and bytes that are not UTF-8 fold ASCII only (`regex_pattern`).
        let required = parts
            .iter()
            .flat_map(|p| match (p, cased) {
                (Part::Literal(b), true) => vec![b.as_slice()],
                (Part::Literal(b), false) => match std::str::from_utf8(b) {
                    Ok(text) => folding_runs(text)
                        .filter(|r| folds_by_ascii_rules(r))
                        .map(str::as_bytes)
                        .collect(),
                    Err(_) => vec![b.as_slice()],
                },
                (Part::Any | Part::One, _) => Vec::new(),
            })
            .max_by_key(|b| b.len())
            .filter(|b| !b.is_empty())
            .map(<[u8]>::to_ascii_lowercase);
        Ok(TextMatch::Pattern { regex, required })
    }

    /// A literal that every text this matches contains, in ASCII lower case: the text's
    /// ASCII-lower-cased form then contains it too. `None` when there is none.
    pub fn required_literal(&self) -> Option<Vec<u8>> {
        match self {
            TextMatch::Exact(v)
            | TextMatch::Prefix(v)
            | TextMatch::Suffix(v)
            | TextMatch::Contains(v) => (!v.is_empty()).then(|| v.to_ascii_lowercase()),
            TextMatch::Anything => None,
            TextMatch::Pattern { required, .. } => required.clone(),
        }
    }

    /// Whether `text` matches; `lowered` is `text` in ASCII lower case (for uncased values).
    fn matches(&self, text: &[u8], lowered: &[u8], cased: bool) -> bool {
        let hay = if cased { text } else { lowered };
        match self {
            TextMatch::Exact(v) => hay == v.as_slice(),
            TextMatch::Prefix(v) => hay.starts_with(v),
            TextMatch::Suffix(v) => hay.ends_with(v),
            TextMatch::Contains(v) => contains(hay, v),
            TextMatch::Anything => true,
            TextMatch::Pattern { regex, .. } => regex.is_match(text),
        }
    }
}

/// An anchored regex of the parts. ASCII letters fold ASCII only, as the other text matchers
/// do (Unicode folding would let `k` match the Kelvin sign); non-ASCII text folds by Unicode
/// rules; bytes that are not UTF-8 (UTF-16 encodings) are written as bytes.
fn regex_pattern(parts: &[Part]) -> String {
    let mut pattern = String::from("^");
    for part in parts {
        match part {
            Part::Literal(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => {
                    for run in folding_runs(text) {
                        if folds_by_ascii_rules(run) {
                            pattern.push_str(&format!("(?-u:{})", regex::escape(run)));
                        } else {
                            pattern.push_str(&regex::escape(run));
                        }
                    }
                }
                Err(_) => {
                    for b in bytes {
                        pattern.push_str(&format!("(?-u:\\x{b:02X})"));
                    }
                }
            },
            Part::Any => pattern.push_str(".*"),
            Part::One => pattern.push('.'),
        }
    }
    pattern.push('$');
    pattern
}

/// Whether Unicode case folding gives `c` no other form than ASCII folding does: an ASCII
/// character, or one without case (emoji, most symbols, CJK). Decided with the tables the regex
/// crate folds by.
fn folds_like_ascii(c: char) -> bool {
    if c.is_ascii() {
        return true;
    }
    let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
    class.case_fold_simple();
    class.ranges() == [ClassUnicodeRange::new(c, c)]
}

/// Whether every character of `text` folds like ASCII.
fn folds_by_ascii_rules(text: &str) -> bool {
    text.chars().all(folds_like_ascii)
}

/// `text` cut into maximal runs whose characters all fold like ASCII, or all do not.
fn folding_runs(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = folds_like_ascii(rest.chars().next()?);
        let end = rest
            .char_indices()
            .find(|(_, c)| folds_like_ascii(*c) != first)
            .map_or(rest.len(), |(i, _)| i);
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// A `re` value.
#[derive(Debug, Clone)]
pub struct RegexMatch {
    /// The compiled pattern.
    pub regex: Regex,
    /// Literals one of which every match contains, in ASCII lower case (for the prefilter).
    pub required: Option<Vec<Vec<u8>>>,
}

/// The flags a `re` value is compiled with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegexFlags {
    /// Characters rather than bytes (`.`, classes, case folding).
    pub unicode: bool,
    /// `i`.
    pub insensitive: bool,
    /// `m`.
    pub multiline: bool,
    /// `s`.
    pub dotall: bool,
}

impl RegexMatch {
    /// Compiles `pattern`; the error is the regex crate's.
    pub fn compile(pattern: &str, flags: RegexFlags) -> Result<RegexMatch, regex::Error> {
        let regex = RegexBuilder::new(pattern)
            .unicode(flags.unicode)
            .case_insensitive(flags.insensitive)
            .multi_line(flags.multiline)
            .dot_matches_new_line(flags.dotall)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()?;
        Ok(RegexMatch {
            regex,
            required: regex_literals(pattern, flags),
        })
    }
}

/// Literals one of which every match of `pattern` contains: the prefixes (or suffixes) regex-syntax
/// finds, when they are finitely many and none is empty; in ASCII lower case, which keeps them
/// contained in the ASCII-lower-cased text (other bytes, such as the Kelvin sign a Unicode `(?i)k`
/// also matches, stay as they are on both sides).
fn regex_literals(pattern: &str, flags: RegexFlags) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(flags.unicode)
        .utf8(false)
        .case_insensitive(flags.insensitive)
        .multi_line(flags.multiline)
        .dot_matches_new_line(flags.dotall)
        .build()
        .parse(pattern)
        .ok()?;
    let literals = |kind: ExtractKind| {
        let seq = Extractor::new().kind(kind).extract(&hir);
        let literals = seq.literals()?;
        if literals.is_empty() || literals.iter().any(|l| l.as_bytes().is_empty()) {
            return None;
        }
        let mut out: Vec<Vec<u8>> = literals
            .iter()
            .map(|l| l.as_bytes().to_ascii_lowercase())
            .collect();
        out.sort();
        out.dedup();
        Some(out)
    };
    let shortest = |set: &Vec<Vec<u8>>| set.iter().map(Vec::len).min().unwrap_or(0);
    match (literals(ExtractKind::Prefix), literals(ExtractKind::Suffix)) {
        (Some(p), Some(s)) => Some(if shortest(&s) > shortest(&p) { s } else { p }),
        (p, s) => p.or(s),
    }
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `lt`
    Less,
    /// `lte`
    LessOrEqual,
    /// `gt`
    Greater,
    /// `gte`
    GreaterOrEqual,
}

/// The part of a date the time modifiers take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    /// `minute`: 0 to 59.
    Minute,
    /// `hour`: 0 to 23.
    Hour,
    /// `day`: 1 to 31.
    Day,
    /// `week`: the ISO week, 1 to 53.
    Week,
    /// `month`: 1 to 12.
    Month,
    /// `year`.
    Year,
}

impl DatePart {
    /// The part of `text` read as a date and time in UTC (RFC 3339, or `2026-04-17 05:24:53.079`
    /// as Windows and Sysmon write it, taken as UTC).
    fn of(self, text: &str) -> Option<f64> {
        let text = text.trim();
        let utc = match text.parse::<jiff::Timestamp>() {
            Ok(t) => t.to_zoned_datetime(jiff::tz::TimeZone::UTC).datetime(),
            Err(_) => text.parse::<jiff::civil::DateTime>().ok()?,
        };
        let n = match self {
            DatePart::Minute => i32::from(utc.minute()),
            DatePart::Hour => i32::from(utc.hour()),
            DatePart::Day => i32::from(utc.day()),
            DatePart::Week => i32::from(utc.date().iso_week_date().week()),
            DatePart::Month => i32::from(utc.month()),
            DatePart::Year => i32::from(utc.year()),
        };
        Some(f64::from(n))
    }
}

/// How one value of an entry matches.
#[derive(Debug, Clone)]
pub enum ValueMatch {
    /// Text (wildcards, `contains`, encodings...).
    Text(TextMatch),
    /// `re`.
    Regex(RegexMatch),
    /// `cidr`.
    Cidr {
        /// The network address.
        network: IpAddr,
        /// Its prefix length.
        prefix: u8,
    },
    /// `lt`, `lte`, `gt`, `gte`.
    Number(Compare, f64),
    /// A time modifier: the part of the field's date equals the value, or compares with it.
    Date(DatePart, Option<Compare>, f64),
    /// `null`: the field is missing or null.
    Null,
    /// `exists`.
    Exists(bool),
    /// `fieldref`: equal to another field of the event.
    FieldRef(String),
}

/// The `contains` values of an entry, found in one pass (for entries with many of them).
#[derive(Debug, Clone)]
pub struct ContainsSet {
    /// The values, in ASCII lower case unless the entry is `cased`.
    pub needles: Vec<Vec<u8>>,
    automaton: AhoCorasick,
}

impl ContainsSet {
    /// Below this many `contains` values, one search per value is as fast.
    pub const MIN_VALUES: usize = 4;

    fn new(needles: Vec<Vec<u8>>) -> Result<ContainsSet, String> {
        let automaton = AhoCorasick::new(&needles).map_err(|e| e.to_string())?;
        Ok(ContainsSet { needles, automaton })
    }
}

/// One entry of a selection.
#[derive(Debug, Clone)]
pub struct FieldMatcher {
    /// The field; `None` for keywords (any text value of the event).
    pub field: Option<String>,
    /// The values, an OR unless `all` (those in `contains_set` excepted).
    pub values: Vec<ValueMatch>,
    /// Without `all`: the `contains` values taken out of `values`, when there are many.
    pub contains_set: Option<ContainsSet>,
    /// `all`: every value must match.
    pub all: bool,
    /// `cased`.
    pub cased: bool,
    /// `neq`: the entry matches when the values do not.
    pub negate: bool,
}

impl FieldMatcher {
    /// An entry; without `all`, many `contains` values are gathered into one set.
    pub fn new(
        field: Option<String>,
        mut values: Vec<ValueMatch>,
        all: bool,
        cased: bool,
        negate: bool,
    ) -> Result<FieldMatcher, String> {
        let is_contains = |v: &ValueMatch| matches!(v, ValueMatch::Text(TextMatch::Contains(_)));
        let mut contains_set = None;
        if !all && values.iter().filter(|v| is_contains(v)).count() >= ContainsSet::MIN_VALUES {
            let mut needles = Vec::new();
            values.retain(|v| match v {
                ValueMatch::Text(TextMatch::Contains(needle)) => {
                    needles.push(needle.clone());
                    false
                }
                _ => true,
            });
            contains_set = Some(ContainsSet::new(needles)?);
        }
        Ok(FieldMatcher {
            field,
            values,
            contains_set,
            all,
            cased,
            negate,
        })
    }

    /// Whether the event matches this entry.
    pub fn matches(&self, event: &dyn EventFields) -> bool {
        let positive = match &self.field {
            None => self.keywords(event),
            Some(field) => self.field_matches(event, field),
        };
        positive != self.negate
    }

    fn keywords(&self, event: &dyn EventFields) -> bool {
        let mut lowered = Vec::new();
        if !self.all {
            let mut found = false;
            event.for_each_text(&mut |text| {
                if !found {
                    found = self.any_value_matches_text(text.as_bytes(), &mut lowered, event);
                }
            });
            return found;
        }
        let mut hit = vec![false; self.values.len()];
        event.for_each_text(&mut |text| {
            lower_into(&mut lowered, text.as_bytes());
            for (value, hit) in self.values.iter().zip(hit.iter_mut()) {
                if !*hit && self.value_matches_text(value, text.as_bytes(), &lowered, event) {
                    *hit = true;
                }
            }
        });
        hit.iter().all(|h| *h)
    }

    fn field_matches(&self, event: &dyn EventFields, field: &str) -> bool {
        let value = event.field(field);
        if self.all {
            return self
                .values
                .iter()
                .all(|m| self.value_matches(m, value, event));
        }
        if self
            .values
            .iter()
            .any(|m| field_level(m, value) == Some(true))
        {
            return true;
        }
        let Some(value) = value else {
            return false;
        };
        let mut lowered = Vec::new();
        any_scalar(value, |text| {
            self.any_value_matches_text(text, &mut lowered, event)
        })
    }

    /// Whether one of the values (an OR) matches `text`; `lowered` is scratch space.
    fn any_value_matches_text(
        &self,
        text: &[u8],
        lowered: &mut Vec<u8>,
        event: &dyn EventFields,
    ) -> bool {
        lower_into(lowered, text);
        if let Some(set) = &self.contains_set {
            let hay = if self.cased { text } else { lowered.as_slice() };
            if set.automaton.is_match(hay) {
                return true;
            }
        }
        self.values
            .iter()
            .any(|m| self.value_matches_text(m, text, lowered, event))
    }

    fn value_matches(
        &self,
        m: &ValueMatch,
        value: Option<&Value>,
        event: &dyn EventFields,
    ) -> bool {
        if let Some(answer) = field_level(m, value) {
            return answer;
        }
        let Some(value) = value else {
            return false;
        };
        let mut lowered = Vec::new();
        any_scalar(value, |text| {
            lower_into(&mut lowered, text);
            self.value_matches_text(m, text, &lowered, event)
        })
    }

    fn value_matches_text(
        &self,
        m: &ValueMatch,
        text: &[u8],
        lowered: &[u8],
        event: &dyn EventFields,
    ) -> bool {
        match m {
            ValueMatch::Text(t) => t.matches(text, lowered, self.cased),
            ValueMatch::Regex(re) => re.regex.is_match(text),
            ValueMatch::Cidr { network, prefix } => std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.trim().parse::<IpAddr>().ok())
                .is_some_and(|ip| in_network(ip, *network, *prefix)),
            ValueMatch::Number(op, limit) => std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.trim().parse::<f64>().ok())
                .is_some_and(|n| match op {
                    Compare::Less => n < *limit,
                    Compare::LessOrEqual => n <= *limit,
                    Compare::Greater => n > *limit,
                    Compare::GreaterOrEqual => n >= *limit,
                }),
            ValueMatch::Date(part, op, value) => std::str::from_utf8(text)
                .ok()
                .and_then(|t| part.of(t))
                .is_some_and(|n| match op {
                    None => n == *value,
                    Some(Compare::Less) => n < *value,
                    Some(Compare::LessOrEqual) => n <= *value,
                    Some(Compare::Greater) => n > *value,
                    Some(Compare::GreaterOrEqual) => n >= *value,
                }),
            ValueMatch::FieldRef(other) => {
                let mut equal = false;
                if let Some(other) = event.field(other) {
                    scalars(other, &mut |o| {
                        equal |= if self.cased {
                            o.as_bytes() == text
                        } else {
                            o.as_bytes().eq_ignore_ascii_case(text)
                        };
                    });
                }
                equal
            }
            ValueMatch::Null | ValueMatch::Exists(_) => false,
        }
    }
}

/// For `null` and `exists`, which are about the field rather than its scalars, whether the
/// field (`None`: missing) matches; `None` for the other values.
fn field_level(m: &ValueMatch, value: Option<&Value>) -> Option<bool> {
    match m {
        ValueMatch::Null => Some(value.is_none_or(Value::is_null)),
        ValueMatch::Exists(want) => Some(value.is_some() == *want),
        _ => None,
    }
}

/// `text` in ASCII lower case, into `out`.
fn lower_into(out: &mut Vec<u8>, text: &[u8]) {
    out.clear();
    out.extend(text.iter().map(u8::to_ascii_lowercase));
}

/// Whether `test` holds for one of the text forms of `value`; it is not called again once it
/// has.
fn any_scalar(value: &Value, mut test: impl FnMut(&[u8]) -> bool) -> bool {
    let mut found = false;
    scalars(value, &mut |text| {
        if !found {
            found = test(text.as_bytes());
        }
    });
    found
}

/// Calls `each` with the text of every scalar in `value` (array elements one by one).
fn scalars(value: &Value, each: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) => each(s),
        Value::Number(n) => with_number_text(n, each),
        Value::Bool(b) => each(if *b { "true" } else { "false" }),
        Value::Array(items) => {
            for item in items {
                if !item.is_array() {
                    scalars(item, each);
                }
            }
        }
        Value::Null | Value::Object(_) => {}
    }
}

/// Calls `f` with `n` as JSON writes it; integers (event ids, ports, status codes) are written
/// without allocating.
pub(crate) fn with_number_text<R>(n: &serde_json::Number, f: impl FnOnce(&str) -> R) -> R {
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => f(decimal(u128::from(u), false, &mut [0; 40])),
        (None, Some(i)) => f(decimal(u128::from(i.unsigned_abs()), true, &mut [0; 40])),
        _ => f(&n.to_string()),
    }
}

/// `n` in decimal (with a `-` when `negative`), written into the end of `buf`.
fn decimal(mut n: u128, negative: bool, buf: &mut [u8; 40]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        if let Some(slot) = buf.get_mut(at) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        if let Some(slot) = buf.get_mut(at) {
            *slot = b'-';
        }
    }
    std::str::from_utf8(buf.get(at..).unwrap_or_default()).unwrap_or_default()
}

/// Parses `a.b.c.d/n` or `x::/n`.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (address, prefix) = text.trim().split_once('/')?;
    let network: IpAddr = address.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if network.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((network, prefix))
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str, cased: bool) -> TextMatch {
        TextMatch::compile(&SigmaString::parse(value), cased).unwrap()
    }

    fn m(t: &TextMatch, s: &str, cased: bool) -> bool {
        t.matches(s.as_bytes(), s.to_ascii_lowercase().as_bytes(), cased)
    }

    #[test]
    fn text_shapes() {
        assert!(matches!(text("a", false), TextMatch::Exact(_)));
        assert!(matches!(text("a*", false), TextMatch::Prefix(_)));
        assert!(matches!(text("*a", false), TextMatch::Suffix(_)));
        assert!(matches!(text("*a*", false), TextMatch::Contains(_)));
        assert!(matches!(text("a*b", false), TextMatch::Pattern { .. }));
        let t = text(r"*\CMD.exe", false);
        assert!(m(&t, r"C:\Windows\System32\cmd.EXE", false));
        assert!(!m(&t, r"C:\Windows\System32\xcmd.exe", false));
        let t = text("prog?.exe", false);
        assert!(m(&t, "PROG1.exe", false));
        assert!(!m(&t, "prog12.exe", false));
        let cased = text("*Evil*", true);
        assert!(m(&cased, "an Evil thing", true));
        assert!(!m(&cased, "an evil thing", true));
    }

    #[test]
    fn non_ascii_values_fold_case() {
        let t = text("*ÄRGER*", false);
        assert!(m(&t, "viel ärger heute", false));
        assert_eq!(t.required_literal(), Some(b"rger".to_vec()));
    }

    #[test]
    fn caseless_characters_compare_as_bytes() {
        let t = text("*😀*", false);
        assert!(matches!(t, TextMatch::Contains(_)));
        assert!(m(&t, "cmd /c echo 😀", false));
        assert!(!m(&t, "cmd /c echo 😁", false));
        assert_eq!(t.required_literal(), Some("😀".as_bytes().to_vec()));
        // `ſ` folds to `s` under Unicode rules: it stays with the regex.
        let t = text("*ſ*", false);
        assert!(matches!(t, TextMatch::Pattern { .. }));
        assert!(m(&t, "S", false));
        let t = text("*😀?x*", false);
        assert!(matches!(t, TextMatch::Pattern { .. }));
        assert!(m(&t, "a😀yXb", false));
        assert_eq!(t.required_literal(), Some("😀".as_bytes().to_vec()));
        assert!(folds_like_ascii('中') && !folds_like_ascii('\u{212A}') && !folds_like_ascii('é'));
    }

    #[test]
    fn many_contains_values_are_one_set() {
        let values: Vec<ValueMatch> = ["alpha", "beta", "gamma", "delta", "x*y"]
            .iter()
            .map(|v| {
                ValueMatch::Text(
                    TextMatch::compile(&SigmaString::parse(&format!("*{v}*")), false).unwrap(),
                )
            })
            .collect();
        let entry = FieldMatcher::new(Some("F".into()), values, false, false, false).unwrap();
        assert_eq!(entry.contains_set.as_ref().unwrap().needles.len(), 4);
        assert_eq!(entry.values.len(), 1);
        let ev = |v: &str| serde_json::json!({ "F": v });
        assert!(entry.matches(&ev("the GAMMA ray")));
        assert!(entry.matches(&ev("x then Y")));
        assert!(!entry.matches(&ev("epsilon")));
    }

    #[test]
    fn ascii_letters_fold_ascii_only() {
        // U+212A KELVIN SIGN folds to `k` under Unicode rules.
        let t = text("*kill*me", false);
        assert!(m(&t, "KILL me", false) && !m(&t, "KILL mx", false));
        assert!(!m(&t, "\u{212A}illme", false));
        assert_eq!(t.required_literal(), Some(b"kill".to_vec()));
        let t = text("*kÄ*", false);
        assert!(m(&t, "Kä", false));
        assert!(!m(&t, "\u{212A}ä", false));
        assert_eq!(t.required_literal(), Some(b"k".to_vec()));
    }

    #[test]
    fn date_parts() {
        let t = "2026-04-17T05:24:53.088849Z";
        assert_eq!(DatePart::Hour.of(t), Some(5.0));
        assert_eq!(DatePart::Minute.of(t), Some(24.0));
        assert_eq!(DatePart::Day.of(t), Some(17.0));
        assert_eq!(DatePart::Week.of(t), Some(16.0));
        assert_eq!(DatePart::Month.of(t), Some(4.0));
        assert_eq!(DatePart::Year.of(t), Some(2026.0));
        assert_eq!(DatePart::Hour.of("2026-04-17 23:59:00.079"), Some(23.0));
        assert_eq!(DatePart::Hour.of("2026-04-17T01:00:00+02:00"), Some(23.0));
        assert_eq!(DatePart::Hour.of("yesterday"), None);
    }

    #[test]
    fn regex_literals_are_prefixes_or_suffixes() {
        let flags = RegexFlags::default();
        let lits = |p: &str, f: RegexFlags| regex_literals(p, f);
        assert_eq!(
            lits("mimi(katz|dogz)", flags),
            Some(vec![b"mimidogz".to_vec(), b"mimikatz".to_vec()])
        );
        assert_eq!(lits(r".*\.EXE$", flags), Some(vec![b".exe".to_vec()]));
        assert_eq!(lits("a|", flags), None);
        assert_eq!(lits(".*", flags), None);
        let insensitive = RegexFlags {
            insensitive: true,
            unicode: true,
            ..flags
        };
        let set = lits("kill", insensitive).unwrap();
        assert!(set.contains(&b"kill".to_vec()));
        // The Kelvin sign, which Unicode `(?i)k` matches, stays a literal of its own.
        assert!(set.iter().any(|l| l.starts_with("\u{212A}".as_bytes())));
    }

    #[test]
    fn integers_read_as_json_writes_them() {
        for n in [
            serde_json::json!(0),
            serde_json::json!(4624),
            serde_json::json!(-17),
            serde_json::json!(u64::MAX),
            serde_json::json!(i64::MIN),
            serde_json::json!(1.5),
        ] {
            let mut seen = Vec::new();
            scalars(&n, &mut |t| seen.push(t.to_owned()));
            assert_eq!(seen, [n.to_string()]);
        }
    }

    #[test]
    fn cidr() {
        let (net, prefix) = parse_cidr("10.0.0.0/8").unwrap();
        assert!(in_network("10.20.30.40".parse().unwrap(), net, prefix));
        assert!(!in_network("11.0.0.1".parse().unwrap(), net, prefix));
        let (net, prefix) = parse_cidr("fe80::/10").unwrap();
        assert!(in_network("fe80::1".parse().unwrap(), net, prefix));
        assert!(!in_network("10.0.0.1".parse().unwrap(), net, prefix));
        let (net, prefix) = parse_cidr("0.0.0.0/0").unwrap();
        assert!(in_network("1.2.3.4".parse().unwrap(), net, prefix));
        assert!(parse_cidr("10.0.0.0/33").is_none());
    }
}
