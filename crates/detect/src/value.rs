//! Sigma string values: literal text with the `*` and `?` wildcards and backslash escapes, as
//! the specification's "Escape Character" section defines them, and the transformations the
//! value modifiers apply to them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One part of a Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal bytes (UTF-8 text, or UTF-16 after an encoding modifier).
    Literal(Vec<u8>),
    /// `*`: any number of characters.
    Any,
    /// `?`: exactly one character.
    One,
}

/// A Sigma string: literal parts and wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SigmaString {
    parts: Vec<Part>,
}

impl SigmaString {
    /// Parses a rule value: `*` and `?` are wildcards, `\*`, `\?` and `\\` escape them, and a
    /// backslash before anything else is itself.
    pub fn parse(text: &str) -> SigmaString {
        let mut s = SigmaString::default();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => s.push_wildcard(Part::Any),
                '?' => s.push_wildcard(Part::One),
                '\\' => match chars.peek() {
                    Some(&next @ ('*' | '?' | '\\')) => {
                        chars.next();
                        s.push_char(next);
                    }
                    _ => s.push_char('\\'),
                },
                other => s.push_char(other),
            }
        }
        s
    }

    /// A value with no wildcards (a number, or the text of `fieldref`).
    pub fn literal(text: &str) -> SigmaString {
        let mut s = SigmaString::default();
        s.push_bytes(text.as_bytes());
        s
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Whether it holds a wildcard.
    pub fn has_wildcards(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Literal(_)))
    }

    /// The literal bytes when there are no wildcards.
    pub fn as_literal(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Literal(bytes) => out.extend_from_slice(bytes),
                Part::Any | Part::One => return None,
            }
        }
        Some(out)
    }

    fn push_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.push_bytes(c.encode_utf8(&mut buf).as_bytes());
    }

    fn push_bytes(&mut self, bytes: &[u8]) {
        if let Some(Part::Literal(last)) = self.parts.last_mut() {
            last.extend_from_slice(bytes);
        } else if !bytes.is_empty() {
            self.parts.push(Part::Literal(bytes.to_vec()));
        }
    }

    fn push_wildcard(&mut self, part: Part) {
        // `**` is `*`.
        if part == Part::Any && self.parts.last() == Some(&Part::Any) {
            return;
        }
        self.parts.push(part);
    }

    /// `contains`: a `*` at both ends (unless already there).
    pub fn contains(mut self) -> SigmaString {
        self = self.starts_with();
        self.ends_with()
    }

    /// `startswith`: a `*` at the end.
    pub fn starts_with(mut self) -> SigmaString {
        self.push_wildcard(Part::Any);
        self
    }

    /// `endswith`: a `*` at the start.
    pub fn ends_with(mut self) -> SigmaString {
        if self.parts.first() != Some(&Part::Any) {
            self.parts.insert(0, Part::Any);
        }
        self
    }

    /// Maps every literal part through `f`, keeping the wildcards.
    fn map_literals(&self, f: impl Fn(&[u8]) -> Vec<u8>) -> SigmaString {
        SigmaString {
            parts: self
                .parts
                .iter()
                .map(|p| match p {
                    Part::Literal(bytes) => Part::Literal(f(bytes)),
                    other => other.clone(),
                })
                .collect(),
        }
    }

    /// `utf16le` (`wide`): each character as two bytes, low first.
    pub fn utf16le(&self) -> SigmaString {
        self.map_literals(|b| utf16(b, false))
    }

    /// `utf16be`: each character as two bytes, high first.
    pub fn utf16be(&self) -> SigmaString {
        self.map_literals(|b| utf16(b, true))
    }

    /// `utf16`: a little-endian byte order mark, then `utf16le`.
    pub fn utf16_bom(&self) -> SigmaString {
        let mut out = self.utf16le();
        if let Some(Part::Literal(first)) = out.parts.first_mut() {
            first.splice(0..0, [0xFF, 0xFE]);
        } else {
            out.parts.insert(0, Part::Literal(vec![0xFF, 0xFE]));
        }
        out
    }

    /// `base64`: the value's bytes Base64-encoded. Only for values without wildcards.
    pub fn base64(&self) -> Option<SigmaString> {
        let bytes = self.as_literal()?;
        Some(SigmaString::literal(&STANDARD.encode(bytes)))
    }

    /// `base64offset`: the three encodings of the value at byte offsets 0, 1 and 2 of a longer
    /// Base64 text, without the characters that depend on the bytes around it. Only for values
    /// without wildcards.
    pub fn base64_offsets(&self) -> Option<Vec<SigmaString>> {
        let bytes = self.as_literal()?;
        let mut out = Vec::with_capacity(3);
        for shift in 0..3usize {
            let mut padded = vec![0u8; shift];
            padded.extend_from_slice(&bytes);
            let encoded = STANDARD.encode(&padded);
            // The characters that encode only the value's bytes: skip those that also encode
            // the `shift` leading bytes, and at the end those mixed with what follows.
            let start = [0, 2, 3].get(shift).copied().unwrap_or(0);
            let total = shift + bytes.len();
            let end_trim = [0, 3, 2].get(total % 3).copied().unwrap_or(0);
            let end = encoded.len().saturating_sub(end_trim);
            let middle = encoded.get(start..end).unwrap_or("");
            out.push(SigmaString::literal(middle));
        }
        Some(out)
    }

    /// `windash`: every combination of `-`, `/`, en dash, em dash and horizontal bar where one of
    /// them starts a word (a command-line flag: at the start or after a non-word character, and
    /// before a word character). `None` when there would be more than `limit` combinations.
    pub fn windash(&self, limit: usize) -> Option<Vec<SigmaString>> {
        const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
        let mut results = vec![SigmaString::default()];
        for part in &self.parts {
            match part {
                Part::Literal(bytes) => {
                    let text = String::from_utf8_lossy(bytes);
                    let chars: Vec<char> = text.chars().collect();
                    for (i, c) in chars.iter().enumerate() {
                        let before_word = i
                            .checked_sub(1)
                            .and_then(|j| chars.get(j))
                            .is_some_and(|p| is_word(*p));
                        let after_word = chars.get(i + 1).is_some_and(|n| is_word(*n));
                        if DASHES.contains(c) && !before_word && after_word {
                            if results.len().saturating_mul(DASHES.len()) > limit {
                                return None;
                            }
                            results = results
                                .iter()
                                .flat_map(|r| {
                                    DASHES.iter().map(move |d| {
                                        let mut r = r.clone();
                                        r.push_char(*d);
                                        r
                                    })
                                })
                                .collect();
                        } else {
                            for r in &mut results {
                                r.push_char(*c);
                            }
                        }
                    }
                }
                wildcard => {
                    for r in &mut results {
                        r.push_wildcard(wildcard.clone());
                    }
                }
            }
        }
        Some(results)
    }

    /// `expand`: each `%name%` replaced by the configured values (an OR of each). A `\%`
    /// before a name keeps it literal. `Err(name)` for a placeholder with no values.
    pub fn expand(
        text: &str,
        values: &dyn Fn(&str) -> Option<Vec<String>>,
        limit: usize,
    ) -> Result<Vec<SigmaString>, ExpandError> {
        // Split into literal segments and placeholder names.
        let mut pieces: Vec<Result<String, String>> = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['%', '\\']) {
            let (head, tail) = rest.split_at(i);
            literal.push_str(head);
            if let Some(after) = tail.strip_prefix("\\%") {
                literal.push_str("\\%");
                rest = after;
            } else if let Some(after) = tail.strip_prefix('\\') {
                literal.push('\\');
                rest = after;
            } else if let Some(after) = tail.strip_prefix('%') {
                match after.find('%') {
                    Some(end) if end > 0 => {
                        let name = after.get(..end).unwrap_or("");
                        pieces.push(Ok(std::mem::take(&mut literal)));
                        pieces.push(Err(name.to_owned()));
                        rest = after.get(end + 1..).unwrap_or("");
                    }
                    _ => {
                        literal.push('%');
                        rest = after;
                    }
                }
            } else {
                break;
            }
        }
        literal.push_str(rest);
        pieces.push(Ok(literal));
        let mut results = vec![String::new()];
        for piece in pieces {
            match piece {
                Ok(text) => results.iter_mut().for_each(|r| r.push_str(&text)),
                Err(name) => {
                    let options =
                        values(&name).ok_or_else(|| ExpandError::Unknown(name.clone()))?;
                    if options.is_empty() {
                        return Err(ExpandError::Unknown(name));
                    }
                    if results.len().saturating_mul(options.len()) > limit {
                        return Err(ExpandError::TooMany(name));
                    }
                    results = results
                        .iter()
                        .flat_map(|r| options.iter().map(move |o| format!("{r}{o}")))
                        .collect();
                }
            }
        }
        Ok(results
            .iter()
            .map(|r| SigmaString::parse(&r.replace("\\%", "%")))
            .collect())
    }
}

/// Why `expand` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// A placeholder with no configured values.
    Unknown(String),
    /// Too many combinations.
    TooMany(String),
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn utf16(bytes: &[u8], big_endian: bool) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for unit in text.encode_utf16() {
        let pair = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        out.extend_from_slice(&pair);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Part {
        Part::Literal(s.as_bytes().to_vec())
    }

    #[test]
    fn wildcards_and_escapes_follow_the_specification() {
        assert_eq!(
            SigmaString::parse("prog?.exe").parts(),
            [lit("prog"), Part::One, lit(".exe")]
        );
        assert_eq!(
            SigmaString::parse(r"C:\Windows\*").parts(),
            [lit(r"C:\Windows*")]
        );
        assert_eq!(
            SigmaString::parse(r"C:\\*").parts(),
            [lit(r"C:\"), Part::Any]
        );
        assert_eq!(SigmaString::parse(r"a\\\*").parts(), [lit(r"a\*")]);
        assert_eq!(SigmaString::parse(r"a\\\\b").parts(), [lit(r"a\\b")]);
        assert_eq!(SigmaString::parse(r"\cmd.exe").parts(), [lit(r"\cmd.exe")]);
        assert_eq!(
            SigmaString::parse("a**b").parts(),
            [lit("a"), Part::Any, lit("b")]
        );
    }

    #[test]
    fn contains_wraps_once() {
        let s = SigmaString::parse("*evil").contains();
        assert_eq!(s.parts(), [Part::Any, lit("evil"), Part::Any]);
    }

    #[test]
    fn base64_offsets_match_the_reference_values() {
        // pySigma's documented example: "/bin/sh" at the three offsets.
        let got: Vec<String> = SigmaString::literal("/bin/sh")
            .base64_offsets()
            .unwrap()
            .iter()
            .map(|s| String::from_utf8(s.as_literal().unwrap()).unwrap())
            .collect();
        assert_eq!(got, ["L2Jpbi9za", "9iaW4vc2", "vYmluL3No"]);
    }

    #[test]
    fn utf16_encodings() {
        let cmd = SigmaString::literal("cmd");
        assert_eq!(cmd.utf16le().as_literal().unwrap(), b"c\0m\0d\0");
        assert_eq!(cmd.utf16be().as_literal().unwrap(), b"\0c\0m\0d");
        assert_eq!(cmd.utf16_bom().as_literal().unwrap(), b"\xFF\xFEc\0m\0d\0");
    }

    #[test]
    fn windash_varies_only_flags() {
        let all = SigmaString::parse(" -enc ").windash(100).unwrap();
        assert_eq!(all.len(), 5);
        assert!(all.contains(&SigmaString::parse(" /enc ")));
        assert!(all.contains(&SigmaString::parse(" \u{2015}enc ")));
        // A dash inside a word is not a flag.
        assert_eq!(SigmaString::parse("a-b").windash(100).unwrap().len(), 1);
        assert!(SigmaString::parse("-a -b -c -d").windash(100).is_none());
    }

    #[test]
    fn expand_replaces_placeholders_and_keeps_escaped_ones() {
        let values = |name: &str| match name {
            "Admins" => Some(vec!["root".to_owned(), "adm*".to_owned()]),
            _ => None,
        };
        let got = SigmaString::expand("user %Admins%", &values, 100).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], SigmaString::parse("user root"));
        assert_eq!(got[1], SigmaString::parse("user adm*"));
        let plain = SigmaString::expand(r"\%plain%", &values, 100).unwrap();
        assert_eq!(plain, [SigmaString::parse("%plain%")]);
        assert_eq!(
            SigmaString::expand("%Servers%", &values, 100),
            Err(ExpandError::Unknown("Servers".into()))
        );
    }
}
