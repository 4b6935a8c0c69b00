//! The regexes of user parsers, matched without a regex engine when their shape allows it.
//!
//! Most log patterns are literal text and runs of a character class, such as
//! `^LOGIN user=(?P<user>\S+) from (?P<ip>[0-9.]+)`. When every run is followed by something
//! that cannot continue it (a literal whose first character is outside the run's class, a run of
//! a disjoint class, the end), greedy matching never backtracks, and a plain left-to-right walk
//! gives exactly the regex crate's leftmost-first captures. Such patterns become a
//! [`SimplePattern`]: a few hundred bytes, where a compiled Unicode regex with its one-pass DFA
//! takes about a megabyte. With a thousand parser types that difference decides whether the
//! matchers stay in the CPU caches.
//!
//! Other patterns use the regex crate's engines (regex-automata's meta regex), compiled on the
//! first message that reaches the parser: a file of a thousand parsers loads in milliseconds and
//! only the types that occur cost memory. Loading still checks them fully (syntax and the
//! compiled size limit), so a bad pattern is rejected with its file and line, never at the first
//! message. Those regexes run without the lazy and full DFAs: on log lines (short, one search
//! each) the bounded backtracker is as fast, and each DFA's cache of transitions is hundreds of
//! kilobytes per parser, which with a thousand types evicts everything else from the CPU caches.
//! The price is on long lines with a pattern that is neither one-pass nor small enough for the
//! backtracker: they fall to the PikeVM, linear but slower (measured in decision 27 of
//! ARCHITECTURE.md).

use std::sync::OnceLock;

use regex_automata::meta::Regex;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The regex crate's default limit on the compiled size of one regex.
const SIZE_LIMIT: usize = 10 * (1 << 20);

/// The largest one-pass DFA built for one user regex; larger ones use the backtracker.
const ONE_PASS_LIMIT: usize = 128 * (1 << 10);

/// A user regex: the simple walk when the pattern allows it, otherwise a lazily compiled regex.
#[derive(Clone, Debug)]
pub(crate) struct UserRegex {
    pattern: String,
    names: Vec<String>,
    engine: Engine,
}

#[derive(Clone, Debug)]
enum Engine {
    Simple(SimplePattern),
    Regex(OnceLock<Option<Regex>>),
}

/// Byte spans of the named captures of one match, in capture order.
type Spans = Vec<(usize, usize)>;

impl UserRegex {
    /// Parses and checks `pattern`; the error is the regex crate's message, first line.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let hir = regex_syntax::Parser::new()
            .parse(pattern)
            .map_err(|e| e.to_string())?;
        let names = capture_names(&hir);
        let engine = match SimplePattern::from_hir(&hir) {
            Some(simple) => Engine::Simple(simple),
            None => {
                // Builds only the Thompson NFA, the part that can exceed the size limit, so the
                // lazy compile later cannot fail where this succeeded.
                regex_automata::nfa::thompson::Compiler::new()
                    .configure(
                        regex_automata::nfa::thompson::Config::new()
                            .nfa_size_limit(Some(SIZE_LIMIT))
                            .shrink(false),
                    )
                    .build_from_hir(&hir)
                    .map_err(|e| e.to_string())?;
                Engine::Regex(OnceLock::new())
            }
        };
        Ok(Self {
            pattern: pattern.to_owned(),
            names,
            engine,
        })
    }

    /// The named groups, in the order of their opening parentheses.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether the pattern runs without the regex engine.
    #[cfg(test)]
    pub(crate) fn is_simple(&self) -> bool {
        matches!(self.engine, Engine::Simple(_))
    }

    /// Whether `text` matches anywhere.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match &self.engine {
            Engine::Simple(simple) => simple.captures(text, &mut Vec::new()),
            Engine::Regex(lazy) => self.compiled(lazy).is_some_and(|r| r.is_match(text)),
        }
    }

    /// The named captures of the leftmost-first match: `(name, value)` for each named group that
    /// took part.
    pub(crate) fn captures<'a>(&'a self, text: &'a str) -> Option<Vec<(&'a str, &'a str)>> {
        match &self.engine {
            Engine::Simple(simple) => {
                let mut spans = Vec::with_capacity(simple.named);
                if !simple.captures(text, &mut spans) {
                    return None;
                }
                Some(
                    self.names
                        .iter()
                        .zip(spans)
                        .filter_map(|(name, (start, end))| {
                            Some((name.as_str(), text.get(start..end)?))
                        })
                        .collect(),
                )
            }
            Engine::Regex(lazy) => {
                let regex = self.compiled(lazy)?;
                let mut caps = regex.create_captures();
                regex.captures(text, &mut caps);
                if !caps.is_match() {
                    return None;
                }
                Some(
                    self.names
                        .iter()
                        .filter_map(|name| {
                            let span = caps.get_group_by_name(name)?;
                            Some((name.as_str(), text.get(span.range())?))
                        })
                        .collect(),
                )
            }
        }
    }

    fn compiled<'a>(&self, lazy: &'a OnceLock<Option<Regex>>) -> Option<&'a Regex> {
        // `new` checked the syntax and the size limit; the builder cannot fail on anything else.
        lazy.get_or_init(|| {
            regex_automata::meta::Builder::new()
                .configure(
                    Regex::config()
                        .nfa_size_limit(Some(SIZE_LIMIT))
                        .onepass_size_limit(Some(ONE_PASS_LIMIT))
                        .hybrid(false)
                        .dfa(false),
                )
                .build(&self.pattern)
                .ok()
        })
        .as_ref()
    }
}

fn capture_names(hir: &Hir) -> Vec<String> {
    fn walk(hir: &Hir, out: &mut Vec<(u32, String)>) {
        match hir.kind() {
            HirKind::Capture(c) => {
                if let Some(name) = &c.name {
                    out.push((c.index, name.to_string()));
                }
                walk(&c.sub, out);
            }
            HirKind::Repetition(r) => walk(&r.sub, out),
            HirKind::Concat(subs) | HirKind::Alternation(subs) => {
                subs.iter().for_each(|s| walk(s, out));
            }
            HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {}
        }
    }
    let mut out = Vec::new();
    walk(hir, &mut out);
    out.sort_by_key(|(index, _)| *index);
    out.into_iter().map(|(_, name)| name).collect()
}

/// A pattern of literals and class runs that greedy matching walks without backtracking.
#[derive(Clone, Debug)]
pub(crate) struct SimplePattern {
    anchored_end: bool,
    items: Vec<Item>,
    /// The first item's literal, to find candidate starts of an unanchored pattern; `None` when
    /// the pattern starts with `^`.
    finder: Option<Box<memchr::memmem::Finder<'static>>>,
    /// Named captures, in the order of [`UserRegex::names`].
    named: usize,
}

#[derive(Clone, Debug)]
struct Item {
    atom: Atom,
    /// Whether the item's span is a named capture.
    named: bool,
}

#[derive(Clone, Debug)]
enum Atom {
    Literal(Box<str>),
    Run {
        class: CharClass,
        min: u32,
        max: Option<u32>,
    },
}

/// A set of characters: a bitmap for ASCII, sorted ranges for the rest.
#[derive(Clone, Debug)]
struct CharClass {
    ascii: u128,
    wide: Box<[(char, char)]>,
}

impl CharClass {
    fn from_class(class: &Class) -> Option<Self> {
        let mut ascii = 0u128;
        let mut wide = Vec::new();
        match class {
            Class::Unicode(u) => {
                for r in u.ranges() {
                    add_range(&mut ascii, &mut wide, r.start(), r.end());
                }
            }
            Class::Bytes(b) => {
                for r in b.ranges() {
                    // Byte classes that reach past ASCII could split a character: not simple.
                    if r.end() > 0x7f {
                        return None;
                    }
                    add_range(
                        &mut ascii,
                        &mut wide,
                        char::from(r.start()),
                        char::from(r.end()),
                    );
                }
            }
        }
        Some(Self {
            ascii,
            wide: wide.into_boxed_slice(),
        })
    }

    fn single(c: char) -> Self {
        let mut ascii = 0u128;
        let mut wide = Vec::new();
        add_range(&mut ascii, &mut wide, c, c);
        Self {
            ascii,
            wide: wide.into_boxed_slice(),
        }
    }

    fn contains(&self, c: char) -> bool {
        let code = u32::from(c);
        if code < 128 {
            return self.ascii & (1u128 << code) != 0;
        }
        self.wide
            .binary_search_by(|&(lo, hi)| {
                if hi < c {
                    std::cmp::Ordering::Less
                } else if lo > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    }

    fn is_disjoint(&self, other: &Self) -> bool {
        self.ascii & other.ascii == 0
            && self
                .wide
                .iter()
                .all(|&(lo, hi)| other.wide.iter().all(|&(olo, ohi)| hi < olo || ohi < lo))
    }
}

fn add_range(ascii: &mut u128, wide: &mut Vec<(char, char)>, start: char, end: char) {
    for code in u32::from(start)..=u32::from(end).min(127) {
        *ascii |= 1u128 << code;
    }
    let wide_start = start.max('\u{80}');
    if end >= wide_start {
        wide.push((wide_start, end));
    }
}

impl SimplePattern {
    /// The simple form of `hir`, or `None` when matching it may need backtracking or a feature
    /// the walk does not have (alternation, look-around other than `^` and `$`, lazy or nested
    /// repetition, nested groups).
    fn from_hir(hir: &Hir) -> Option<Self> {
        let mut parts = Vec::new();
        flatten(hir, &mut parts);
        let mut anchored_start = false;
        let mut anchored_end = false;
        let mut items = Vec::new();
        let last = parts.len().checked_sub(1)?;
        for (i, part) in parts.iter().enumerate() {
            match part.kind() {
                HirKind::Look(Look::Start) if i == 0 => anchored_start = true,
                HirKind::Look(Look::End) if i == last => anchored_end = true,
                HirKind::Capture(c) => {
                    let atom = atom(&c.sub)?;
                    items.push(Item {
                        atom,
                        named: c.name.is_some(),
                    });
                }
                _ => items.push(Item {
                    atom: atom(part)?,
                    named: false,
                }),
            }
        }
        if items.is_empty() {
            return None;
        }
        for (i, item) in items.iter().enumerate() {
            if let Atom::Run { class, min, max } = &item.atom
                && *max != Some(*min)
                && !ends_cleanly(class, items.get(i + 1))
            {
                return None;
            }
        }
        let finder = if anchored_start {
            None
        } else {
            match items.first().map(|i| &i.atom) {
                Some(Atom::Literal(l)) => Some(Box::new(
                    memchr::memmem::Finder::new(l.as_bytes()).into_owned(),
                )),
                // A leading run would make every position a candidate start: quadratic.
                _ => return None,
            }
        };
        let named = items.iter().filter(|i| i.named).count();
        Some(Self {
            anchored_end,
            items,
            finder,
            named,
        })
    }

    /// Fills `spans` with the named captures of the leftmost match; `false` when none.
    fn captures(&self, text: &str, spans: &mut Spans) -> bool {
        let Some(finder) = &self.finder else {
            return self.match_at(text, 0, spans);
        };
        let bytes = text.as_bytes();
        let mut from = 0;
        while let Some(found) = bytes.get(from..).and_then(|rest| finder.find(rest)) {
            let start = from + found;
            if self.match_at(text, start, spans) {
                return true;
            }
            // The literal starts with a whole character, so the next start is on a boundary.
            from = start + 1;
        }
        false
    }

    fn match_at(&self, text: &str, start: usize, spans: &mut Spans) -> bool {
        spans.clear();
        let mut at = start;
        for item in &self.items {
            let Some(rest) = text.get(at..) else {
                return false;
            };
            let end = match &item.atom {
                Atom::Literal(l) => {
                    if !rest.starts_with(&**l) {
                        return false;
                    }
                    at + l.len()
                }
                Atom::Run { class, min, max } => {
                    let mut count = 0u32;
                    let mut len = 0;
                    for c in rest.chars() {
                        if max.is_some_and(|m| count >= m) || !class.contains(c) {
                            break;
                        }
                        count += 1;
                        len += c.len_utf8();
                    }
                    if count < *min {
                        return false;
                    }
                    at + len
                }
            };
            if item.named {
                spans.push((at, end));
            }
            at = end;
        }
        !self.anchored_end || at == text.len()
    }
}

/// Whether a greedy run of `class` can only stop where the walk stops it: the next item cannot
/// begin with a character of the class.
fn ends_cleanly(class: &CharClass, next: Option<&Item>) -> bool {
    match next.map(|i| &i.atom) {
        None => true,
        Some(Atom::Literal(l)) => l.chars().next().is_some_and(|c| !class.contains(c)),
        Some(Atom::Run {
            class: next_class,
            min,
            ..
        }) => *min >= 1 && class.is_disjoint(next_class),
    }
}

fn flatten<'h>(hir: &'h Hir, out: &mut Vec<&'h Hir>) {
    match hir.kind() {
        HirKind::Concat(subs) => subs.iter().for_each(|s| flatten(s, out)),
        _ => out.push(hir),
    }
}

fn atom(hir: &Hir) -> Option<Atom> {
    match hir.kind() {
        HirKind::Literal(l) => Some(Atom::Literal(std::str::from_utf8(&l.0).ok()?.into())),
        HirKind::Class(c) => Some(Atom::Run {
            class: CharClass::from_class(c)?,
            min: 1,
            max: Some(1),
        }),
        HirKind::Repetition(r) if r.greedy => {
            let class = match r.sub.kind() {
                HirKind::Class(c) => CharClass::from_class(c)?,
                HirKind::Literal(l) => {
                    let text = std::str::from_utf8(&l.0).ok()?;
                    let mut chars = text.chars();
                    let c = chars.next()?;
                    if chars.next().is_some() {
                        return None;
                    }
                    CharClass::single(c)
                }
                _ => return None,
            };
            Some(Atom::Run {
                class,
                min: r.min,
                max: r.max,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
