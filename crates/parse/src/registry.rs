//! The parser registry: which parsers a message is offered to, decided without trying every
//! parser.
//!
//! A parser registers the keys under which it wants to see messages: program names (the syslog
//! TAG, such as `sshd`), literal prefixes of the message text (`CEF:`, `type=`), top-level JSON
//! keys (`eventVersion`, `auditID`), or it is named by a source's configuration. For one message
//! the registry gathers candidates in this order, offering each once, and stops at the first that
//! accepts:
//!
//! 1. the parsers the source's configuration names, in its order;
//! 2. the parsers registered for the message's program name;
//! 3. the parsers registered for a prefix of the text, longest prefix first (a byte trie, so the
//!    cost is the length of the longest matching prefix, whatever the number of prefixes);
//! 4. if the text is a JSON object: the JSON parsers registered for one of its top-level keys,
//!    then the generic JSON parser;
//! 5. the fallback parsers (key=value).
//!
//! Each step is a hash lookup or a trie walk, so adding a parser for a new program or prefix does
//! not slow down the messages of the others. A parser that declines leaves the event as it found
//! it: after a refusal the registry calls [`Event::reset_normalised`] and puts back the time and
//! device the event had before parsing began (the transport's, such as a syslog header's).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};
use shieldwall_core::Event;

use crate::ParseContext;

/// What a parser sees of one message.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// The collecting source's name.
    pub source: &'a str,
    /// The program that wrote it (syslog APP-NAME or TAG), when known.
    pub program: Option<&'a str>,
    /// Its process id, when known.
    pub pid: Option<&'a str>,
    /// The host that sent it, when known.
    pub hostname: Option<&'a str>,
    /// The text to parse: the syslog MSG, or the whole line for non-syslog sources.
    pub text: &'a str,
    /// Receive time and the source's time zone, for timestamps inside the text.
    pub context: &'a ParseContext,
}

/// A parser of text messages.
pub trait TextParser: Send + Sync {
    /// A stable id (`sshd`, `nginx-access`), used in configuration and in [`Event::parser`].
    fn id(&self) -> &str;
    /// Fills `event` and returns `true` if the message is of this parser's kind; returns `false`
    /// otherwise. Must not panic on any input.
    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool;
}

/// A parser of JSON objects. The registry parses the text once and offers the object to each
/// JSON candidate in turn.
pub trait JsonParser: Send + Sync {
    /// A stable id.
    fn id(&self) -> &str;
    /// As [`TextParser::parse`], for an object already parsed from `message.text`.
    ///
    /// The object is lent mutably so that a parser that accepts can move its values into the
    /// event ([`Map::remove`], [`std::mem::take`]) instead of copying them. The contract: a
    /// parser reads the object only by reference until it has decided to accept, and moves
    /// values out of it only after that decision, when it is certain to return `true`. A parser
    /// that returns `false` must leave the object as it found it, because the next candidate
    /// is offered the same object. Once a parser has accepted, the registry drops whatever is
    /// left of the object.
    fn parse(
        &self,
        object: &mut Map<String, Value>,
        message: &Message<'_>,
        event: &mut Event,
    ) -> bool;
}

/// A registered parser.
#[derive(Clone)]
pub enum Parser {
    /// Parses text.
    Text(Arc<dyn TextParser>),
    /// Parses JSON objects.
    Json(Arc<dyn JsonParser>),
}

impl Parser {
    /// The parser's id.
    pub fn id(&self) -> &str {
        match self {
            Parser::Text(p) => p.id(),
            Parser::Json(p) => p.id(),
        }
    }
}

/// Where a parser wants to be offered messages.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// Program names, compared case-insensitively.
    pub programs: Vec<String>,
    /// Literal prefixes of the text.
    pub prefixes: Vec<String>,
    /// Top-level JSON keys (JSON parsers only).
    pub json_keys: Vec<String>,
    /// Sources whose messages are offered to the parser first (as [`Registry::bind_source`]
    /// does, appended after what is bound there).
    pub sources: Vec<String>,
    /// Offered to every message that nothing else took (after the generic JSON parser).
    pub fallback: bool,
}

impl Keys {
    /// Keys for the given program names.
    pub fn programs(names: &[&str]) -> Keys {
        Keys {
            programs: names.iter().map(|s| s.to_ascii_lowercase()).collect(),
            ..Keys::default()
        }
    }

    /// Adds literal prefixes.
    pub fn with_prefixes(mut self, prefixes: &[&str]) -> Keys {
        self.prefixes
            .extend(prefixes.iter().map(|s| (*s).to_owned()));
        self
    }

    /// Keys for the given top-level JSON keys.
    pub fn json(keys: &[&str]) -> Keys {
        Keys {
            json_keys: keys.iter().map(|s| (*s).to_owned()).collect(),
            ..Keys::default()
        }
    }
}

/// Why a parser could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two parsers share an id.
    #[error("a parser with id `{0}` is already registered")]
    DuplicateId(String),
    /// A routing pattern does not compile.
    #[error("a parser's match regex does not compile: {0}")]
    Pattern(String),
    /// A source names a parser that does not exist.
    #[error("source `{source_name}` names parser `{parser}`, which does not exist{hint}")]
    UnknownParser {
        /// The source.
        source_name: String,
        /// The missing id.
        parser: String,
        /// A suggestion, with its leading text.
        hint: String,
    },
}

type Slot = usize;

/// The registered parsers and the indexes that pick candidates.
#[derive(Clone, Default)]
pub struct Registry {
    parsers: Vec<Parser>,
    by_id: HashMap<String, Slot>,
    by_program: HashMap<String, Vec<Slot>>,
    prefixes: PrefixTrie,
    /// Sorted, as the keys of a parsed object are, so that the keyed candidates can be found by
    /// walking the smaller of the two key sets.
    by_json_key: BTreeMap<String, Vec<Slot>>,
    generic_json: Option<Slot>,
    fallback: Vec<Slot>,
    by_source: HashMap<String, Vec<Slot>>,
    patterns: Vec<(String, Slot)>,
    pattern_set: Option<regex::RegexSet>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers a parser under `keys`.
    pub fn register(&mut self, parser: Parser, keys: &Keys) -> Result<(), RegistryError> {
        let id = parser.id().to_owned();
        if self.by_id.contains_key(&id) {
            return Err(RegistryError::DuplicateId(id));
        }
        let slot = self.parsers.len();
        self.parsers.push(parser);
        self.by_id.insert(id, slot);
        for program in &keys.programs {
            self.by_program
                .entry(program.to_ascii_lowercase())
                .or_default()
                .push(slot);
        }
        for prefix in &keys.prefixes {
            self.prefixes.insert(prefix.as_bytes(), slot);
        }
        for key in &keys.json_keys {
            self.by_json_key.entry(key.clone()).or_default().push(slot);
        }
        for source in &keys.sources {
            self.by_source.entry(source.clone()).or_default().push(slot);
        }
        if keys.fallback {
            self.fallback.push(slot);
        }
        Ok(())
    }

    /// Routes messages by regex to parsers that have no other key: one [`regex::RegexSet`] over
    /// all such patterns, checked after the prefixes. Calling it again adds to the set.
    pub fn add_patterns(&mut self, patterns: Vec<(String, String)>) -> Result<(), RegistryError> {
        for (pattern, id) in patterns {
            let Some(&slot) = self.by_id.get(&id) else {
                return Err(RegistryError::UnknownParser {
                    source_name: "(pattern)".into(),
                    parser: id,
                    hint: String::new(),
                });
            };
            self.patterns.push((pattern, slot));
        }
        let set = regex::RegexSet::new(self.patterns.iter().map(|(p, _)| p.as_str()))
            .map_err(|e| RegistryError::Pattern(e.to_string()))?;
        self.pattern_set = Some(set);
        Ok(())
    }

    /// Makes `parser` the JSON parser of last resort (generic JSON).
    pub fn register_generic_json(
        &mut self,
        parser: Arc<dyn JsonParser>,
    ) -> Result<(), RegistryError> {
        self.register(Parser::Json(parser), &Keys::default())?;
        self.generic_json = Some(self.parsers.len() - 1);
        Ok(())
    }

    /// Names the parsers a source's messages are offered first, in order.
    pub fn bind_source(
        &mut self,
        source: &str,
        parser_ids: &[String],
    ) -> Result<(), RegistryError> {
        let mut slots = Vec::with_capacity(parser_ids.len());
        for id in parser_ids {
            match self.by_id.get(id) {
                Some(&slot) => slots.push(slot),
                None => {
                    let known: Vec<&str> = self.by_id.keys().map(String::as_str).collect();
                    let hint = closest(id, &known)
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    return Err(RegistryError::UnknownParser {
                        source_name: source.to_owned(),
                        parser: id.clone(),
                        hint,
                    });
                }
            }
        }
        let bound = self.by_source.entry(source.to_owned()).or_default();
        slots.retain(|s| !bound.contains(s));
        slots.append(bound);
        *bound = slots;
        Ok(())
    }

    /// The registered parser ids, in registration order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.parsers.iter().map(Parser::id)
    }

    /// Whether a parser with this id is registered.
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// How many parsers are registered.
    pub fn len(&self) -> usize {
        self.parsers.len()
    }

    /// Whether no parser is registered.
    pub fn is_empty(&self) -> bool {
        self.parsers.is_empty()
    }

    /// Offers `message` to its candidates until one accepts. Returns the id of the parser that
    /// accepted, or `None` (the event is then left as it came: unparsed).
    pub fn parse(&self, message: &Message<'_>, event: &mut Event) -> Option<&str> {
        let mut tried = TriedSet::default();
        let mut json = LazyJson::default();
        let before = Transport {
            time: event.time,
            time_status: event.time_status,
            device: event.device.clone(),
        };
        let source = self.by_source.get(message.source).map(Vec::as_slice);
        let program = message
            .program
            .and_then(|p| self.program_slots(p))
            .unwrap_or(&[]);
        for &slot in source.unwrap_or(&[]).iter().chain(program) {
            if let Some(id) = self.offer(slot, message, event, &before, &mut tried, &mut json) {
                return Some(id);
            }
        }
        for slot in self.prefixes.matches(message.text.as_bytes()) {
            if let Some(id) = self.offer(slot, message, event, &before, &mut tried, &mut json) {
                return Some(id);
            }
        }
        if let Some(set) = &self.pattern_set {
            let matched: Vec<Slot> = set
                .matches(message.text)
                .iter()
                .filter_map(|i| self.patterns.get(i).map(|&(_, slot)| slot))
                .collect();
            for slot in matched {
                if let Some(id) = self.offer(slot, message, event, &before, &mut tried, &mut json) {
                    return Some(id);
                }
            }
        }
        if let Some(object) = json.get(message.text) {
            // The parsers registered for the object's keys, in the order of the keys. Collected
            // first: `offer` needs the lazy JSON mutably.
            let keyed: Vec<Slot> = if object.len() <= self.by_json_key.len() {
                object
                    .keys()
                    .filter_map(|k| self.by_json_key.get(k.as_str()))
                    .flatten()
                    .copied()
                    .collect()
            } else {
                self.by_json_key
                    .iter()
                    .filter(|(k, _)| object.contains_key(k.as_str()))
                    .flat_map(|(_, slots)| slots)
                    .copied()
                    .collect()
            };
            for slot in keyed.into_iter().chain(self.generic_json) {
                if let Some(id) = self.offer(slot, message, event, &before, &mut tried, &mut json) {
                    return Some(id);
                }
            }
        }
        for &slot in &self.fallback {
            if let Some(id) = self.offer(slot, message, event, &before, &mut tried, &mut json) {
                return Some(id);
            }
        }
        None
    }

    fn program_slots(&self, program: &str) -> Option<&[Slot]> {
        if let Some(slots) = self.by_program.get(program) {
            return Some(slots);
        }
        if program.bytes().any(|b| b.is_ascii_uppercase()) {
            return self
                .by_program
                .get(&program.to_ascii_lowercase())
                .map(Vec::as_slice);
        }
        None
    }

    fn offer(
        &self,
        slot: Slot,
        message: &Message<'_>,
        event: &mut Event,
        before: &Transport,
        tried: &mut TriedSet,
        json: &mut LazyJson,
    ) -> Option<&str> {
        if !tried.insert(slot) {
            return None;
        }
        let parser = self.parsers.get(slot)?;
        let accepted = match parser {
            Parser::Text(p) => p.parse(message, event),
            Parser::Json(p) => match json.get(message.text) {
                Some(object) => p.parse(object, message, event),
                None => false,
            },
        };
        if accepted {
            Some(parser.id())
        } else {
            event.reset_normalised();
            event.time = before.time;
            event.time_status = before.time_status;
            event.device.clone_from(&before.device);
            None
        }
    }
}

/// What the transport set on the event before parsing; restored after a refusal.
struct Transport {
    time: jiff::Timestamp,
    time_status: shieldwall_core::TimeStatus,
    device: Option<shieldwall_core::event::Device>,
}

/// The slots already offered this message; few, so a small inline array (spilling into a vector
/// for the rare message offered to more) beats a hash set and allocates nothing.
#[derive(Default)]
struct TriedSet {
    inline: [Slot; 8],
    len: usize,
    more: Vec<Slot>,
}

impl TriedSet {
    fn insert(&mut self, slot: Slot) -> bool {
        let inline = self.inline.get(..self.len).unwrap_or_default();
        if inline.contains(&slot) || self.more.contains(&slot) {
            return false;
        }
        match self.inline.get_mut(self.len) {
            Some(cell) => {
                *cell = slot;
                self.len += 1;
            }
            None => self.more.push(slot),
        }
        true
    }
}

/// The message text parsed as a JSON object at most once, and only if a JSON parser asks.
#[derive(Default)]
enum LazyJson {
    #[default]
    Unparsed,
    NotAnObject,
    Object(Map<String, Value>),
}

impl LazyJson {
    fn get(&mut self, text: &str) -> Option<&mut Map<String, Value>> {
        if let LazyJson::Unparsed = self {
            *self = match text.trim_start().as_bytes().first() {
                Some(b'{') => match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(map)) => LazyJson::Object(map),
                    _ => LazyJson::NotAnObject,
                },
                _ => LazyJson::NotAnObject,
            };
        }
        match self {
            LazyJson::Object(map) => Some(map),
            _ => None,
        }
    }
}

/// A byte trie of literal prefixes. Nodes hold their children sorted by byte.
#[derive(Clone, Default)]
struct PrefixTrie {
    nodes: Vec<TrieNode>,
}

#[derive(Clone, Default)]
struct TrieNode {
    children: Vec<(u8, usize)>,
    slots: Vec<Slot>,
}

impl PrefixTrie {
    fn insert(&mut self, prefix: &[u8], slot: Slot) {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut node = 0;
        for &byte in prefix {
            let next = self.nodes.get(node).and_then(|n| {
                n.children
                    .binary_search_by_key(&byte, |&(b, _)| b)
                    .ok()
                    .and_then(|i| n.children.get(i))
                    .map(|&(_, child)| child)
            });
            node = match next {
                Some(child) => child,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(TrieNode::default());
                    if let Some(n) = self.nodes.get_mut(node) {
                        let at = n.children.partition_point(|&(b, _)| b < byte);
                        n.children.insert(at, (byte, child));
                    }
                    child
                }
            };
        }
        if let Some(n) = self.nodes.get_mut(node) {
            n.slots.push(slot);
        }
    }

    /// The slots of every prefix of `text`, longest prefix first, without allocating: the walk
    /// finds how deep `text` goes, then each shorter prefix is walked to again (prefixes are
    /// short, and most texts stop at the root).
    fn matches<'s>(&'s self, text: &'s [u8]) -> impl Iterator<Item = Slot> + 's {
        let deepest = self.walk(text).count();
        (0..=deepest)
            .rev()
            .filter_map(move |depth| {
                if depth == 0 {
                    self.nodes.first()
                } else {
                    self.walk(text)
                        .nth(depth - 1)
                        .and_then(|n| self.nodes.get(n))
                }
            })
            .flat_map(|node| node.slots.iter().copied())
    }

    /// The nodes on the path of `text`, from the root's child down, as far as the trie goes.
    fn walk<'s>(&'s self, text: &'s [u8]) -> impl Iterator<Item = usize> + 's {
        let mut node = 0;
        text.iter().map_while(move |&byte| {
            let n = self.nodes.get(node)?;
            let i = n.children.binary_search_by_key(&byte, |&(b, _)| b).ok()?;
            let &(_, child) = n.children.get(i)?;
            node = child;
            Some(child)
        })
    }
}

fn closest<'a>(wanted: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(wanted, k), *k))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance over characters, for "did you mean" hints on short ids.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let value = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(left + 1);
            diagonal = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use jiff::tz::TimeZone;
    use shieldwall_core::{EventClass, RecordId, TenantId};

    use super::*;

    /// Accepts messages containing its id; counts how often it was asked.
    struct Probe {
        id: String,
        asked: AtomicUsize,
    }

    impl Probe {
        fn new(id: &str) -> Arc<Probe> {
            Arc::new(Probe {
                id: id.into(),
                asked: AtomicUsize::new(0),
            })
        }
    }

    impl TextParser for Probe {
        fn id(&self) -> &str {
            &self.id
        }
        fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
            self.asked.fetch_add(1, Ordering::Relaxed);
            // Writes before deciding, to check that a refusal is undone.
            event.message = Some("scribble".into());
            event.time = jiff::Timestamp::UNIX_EPOCH;
            if message.text.contains(self.id.as_str()) {
                event.set_parsed(&self.id, EventClass::Base, 0);
                true
            } else {
                false
            }
        }
    }

    struct JsonProbe(&'static str);

    impl JsonParser for JsonProbe {
        fn id(&self) -> &str {
            self.0
        }
        fn parse(
            &self,
            object: &mut Map<String, Value>,
            _: &Message<'_>,
            event: &mut Event,
        ) -> bool {
            event.set_parsed(self.0, EventClass::Base, 0);
            object.contains_key("accept")
        }
    }

    /// Accepts objects with a `take` key and moves their `payload` into the event, as the
    /// built-in JSON parsers move values instead of copying them.
    struct JsonTaker;

    impl JsonParser for JsonTaker {
        fn id(&self) -> &str {
            "taker"
        }
        fn parse(
            &self,
            object: &mut Map<String, Value>,
            _: &Message<'_>,
            event: &mut Event,
        ) -> bool {
            if !object.contains_key("take") {
                return false;
            }
            event.set_parsed("taker", EventClass::Base, 0);
            if let Some(payload) = object.remove("payload") {
                event.vendor.insert("payload".into(), payload);
            }
            true
        }
    }

    fn event() -> Event {
        Event::unparsed(
            RecordId::derive("event", &["t"]),
            TenantId::default(),
            "src",
            "2026-01-01T00:00:00Z".parse().unwrap(),
            "raw",
        )
    }

    fn parse<'r>(
        registry: &'r Registry,
        source: &str,
        program: Option<&str>,
        text: &str,
    ) -> (Option<&'r str>, Event) {
        let ctx = ParseContext::new("2026-01-01T00:00:00Z".parse().unwrap(), TimeZone::UTC);
        let message = Message {
            source,
            program,
            pid: None,
            hostname: None,
            text,
            context: &ctx,
        };
        let mut e = event();
        let id = registry.parse(&message, &mut e);
        (id, e)
    }

    #[test]
    fn candidates_come_from_program_prefix_and_json_keys_only() {
        let sshd = Probe::new("sshd");
        let cef = Probe::new("CEF");
        let other: Vec<Arc<Probe>> = (0..100).map(|i| Probe::new(&format!("p{i}"))).collect();
        let mut r = Registry::new();
        r.register(Parser::Text(sshd.clone()), &Keys::programs(&["sshd"]))
            .unwrap();
        r.register(
            Parser::Text(cef.clone()),
            &Keys::default().with_prefixes(&["CEF:"]),
        )
        .unwrap();
        for p in &other {
            r.register(Parser::Text(p.clone()), &Keys::programs(&[p.id.as_str()]))
                .unwrap();
        }
        r.register(
            Parser::Json(Arc::new(JsonProbe("cloudtrail"))),
            &Keys::json(&["eventVersion"]),
        )
        .unwrap();
        r.register_generic_json(Arc::new(JsonProbe("json")))
            .unwrap();

        assert_eq!(parse(&r, "s", Some("SSHD"), "sshd said").0, Some("sshd"));
        assert_eq!(parse(&r, "s", None, "CEF:0|x").0, Some("CEF"));
        assert_eq!(
            parse(&r, "s", None, r#"{"eventVersion":1,"accept":1}"#).0,
            Some("cloudtrail")
        );
        assert_eq!(
            parse(&r, "s", None, r#"{"other":1,"accept":1}"#).0,
            Some("json")
        );
        assert_eq!(parse(&r, "s", None, r#"{"other":1}"#).0, None);
        // Nobody else was asked anything.
        assert!(other.iter().all(|p| p.asked.load(Ordering::Relaxed) == 0));
    }

    #[test]
    fn json_candidates_share_one_object_and_the_accepting_one_may_move_values_out() {
        let mut r = Registry::new();
        // Offered first (its key sorts first) and declines: the object must reach the taker
        // whole.
        r.register(
            Parser::Json(Arc::new(JsonProbe("decliner"))),
            &Keys::json(&["payload"]),
        )
        .unwrap();
        r.register(Parser::Json(Arc::new(JsonTaker)), &Keys::json(&["take"]))
            .unwrap();
        r.register_generic_json(Arc::new(JsonProbe("json")))
            .unwrap();
        let (id, e) = parse(&r, "s", None, r#"{"payload":{"x":[1,2]},"take":true}"#);
        assert_eq!(id, Some("taker"));
        assert_eq!(e.parser.as_deref(), Some("taker"));
        assert_eq!(e.vendor["payload"], serde_json::json!({"x": [1, 2]}));
        // The taker declines without `take`; the generic parser then sees the object whole.
        let (id, e) = parse(&r, "s", None, r#"{"payload":1,"accept":1}"#);
        assert_eq!(id, Some("decliner"));
        assert!(e.vendor.is_empty());
        let (id, _) = parse(&r, "s", None, r#"{"other":1,"accept":1}"#);
        assert_eq!(id, Some("json"));
    }

    #[test]
    fn keyed_json_parsers_are_offered_in_the_order_of_the_keys() {
        let mut r = Registry::new();
        for key in ["e", "d", "c", "b", "a"] {
            let id: &'static str = Box::leak(format!("by-{key}").into_boxed_str());
            r.register(Parser::Json(Arc::new(JsonProbe(id))), &Keys::json(&[key]))
                .unwrap();
        }
        // Fewer keys in the object than registered, and more: the same rule either way.
        assert_eq!(
            parse(&r, "s", None, r#"{"d":1,"b":1,"accept":1}"#).0,
            Some("by-b")
        );
        let many = r#"{"z1":1,"z2":1,"z3":1,"z4":1,"z5":1,"e":1,"c":1,"accept":1}"#;
        assert_eq!(parse(&r, "s", None, many).0, Some("by-c"));
    }

    #[test]
    fn a_refusing_parser_leaves_no_trace_and_the_next_candidate_is_tried() {
        let first = Probe::new("first");
        let second = Probe::new("second");
        let mut r = Registry::new();
        r.register(Parser::Text(first.clone()), &Keys::programs(&["app"]))
            .unwrap();
        r.register(Parser::Text(second.clone()), &Keys::programs(&["app"]))
            .unwrap();
        let (id, e) = parse(&r, "s", Some("app"), "for second");
        assert_eq!(id, Some("second"));
        assert_eq!(e.message.as_deref(), Some("scribble"));
        let (id, e) = parse(&r, "s", Some("app"), "for nobody");
        assert_eq!(id, None);
        assert_eq!(
            e,
            event(),
            "the refusing parsers' writes, time included, are undone"
        );
    }

    #[test]
    fn source_bindings_come_first_and_unknown_ids_get_a_hint() {
        let mut r = Registry::new();
        r.register(Parser::Text(Probe::new("nginx-access")), &Keys::default())
            .unwrap();
        r.bind_source("web", &["nginx-access".into()]).unwrap();
        assert_eq!(
            parse(&r, "web", None, "nginx-access line").0,
            Some("nginx-access")
        );
        assert_eq!(parse(&r, "other", None, "nginx-access line").0, None);
        let err = r.bind_source("web", &["nginx-acess".into()]).unwrap_err();
        assert!(
            err.to_string().contains("did you mean `nginx-access`"),
            "{err}"
        );
        let dup = r.register(Parser::Text(Probe::new("nginx-access")), &Keys::default());
        assert_eq!(dup, Err(RegistryError::DuplicateId("nginx-access".into())));
    }

    #[test]
    fn tried_slots_are_remembered_beyond_the_inline_ones() {
        let mut tried = TriedSet::default();
        for slot in (0..20).rev() {
            assert!(tried.insert(slot), "{slot} is new");
        }
        for slot in 0..20 {
            assert!(!tried.insert(slot), "{slot} was offered");
        }
        assert!(tried.insert(20));
    }

    #[test]
    fn longer_prefixes_are_offered_first() {
        let mut r = Registry::new();
        r.register(
            Parser::Text(Probe::new("type")),
            &Keys::default().with_prefixes(&["type"]),
        )
        .unwrap();
        r.register(
            Parser::Text(Probe::new("type=")),
            &Keys::default().with_prefixes(&["type="]),
        )
        .unwrap();
        assert_eq!(parse(&r, "s", None, "type=SYSCALL type").0, Some("type="));
        assert_eq!(parse(&r, "s", None, "typeface type").0, Some("type"));
        // Every prefix's parsers, longest first, the empty prefix's last.
        let mut trie = PrefixTrie::default();
        trie.insert(b"", 0);
        trie.insert(b"ab", 1);
        trie.insert(b"a", 2);
        trie.insert(b"abc", 3);
        trie.insert(b"abc", 4);
        trie.insert(b"x", 5);
        assert_eq!(trie.matches(b"abcd").collect::<Vec<_>>(), [3, 4, 1, 2, 0]);
        assert_eq!(trie.matches(b"ab").collect::<Vec<_>>(), [1, 2, 0]);
        assert_eq!(trie.matches(b"zzz").collect::<Vec<_>>(), [0]);
        assert_eq!(PrefixTrie::default().matches(b"a").count(), 0);
    }
}
