//! The correlator of one tenant: a reorder buffer that puts matches back in event-time order
//! within the lateness tolerance, then bounded per-group windows that fire correlation hits.

use std::borrow::Cow;
use std::cmp::{Ordering, Reverse};
use std::collections::hash_map::Entry as Slot;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value as Json;

use super::group::{Entry, Group, Value};
use super::set::{CorrelationSet, Reference};
use super::{CorrelationKind, CorrelationRule};
use crate::event::EventFields;

/// The bounds of a correlator's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationLimits {
    /// How far behind the newest event time an event may arrive and still be correlated as if
    /// it had come in order.
    pub lateness: Duration,
    /// An event stamped further than this after it was received is not correlated (its clock
    /// is wrong). Within it, the event is correlated at its own time, but moves the clock only
    /// to its receipt.
    pub max_ahead: Duration,
    /// Groups kept, over all correlation rules; past it the least recently active eighth goes.
    pub max_groups: usize,
    /// Entries one group keeps; past it its oldest go.
    pub max_entries_per_group: usize,
    /// Events waiting in the reorder buffer; past it the earliest are correlated early.
    pub max_pending: usize,
    /// Event ids a hit lists.
    pub max_event_ids: usize,
}

impl Default for CorrelationLimits {
    fn default() -> Self {
        CorrelationLimits {
            lateness: Duration::from_secs(60),
            max_ahead: Duration::from_secs(600),
            max_groups: 500_000,
            max_entries_per_group: super::MAX_WINDOW_ENTRIES,
            max_pending: 200_000,
            max_event_ids: 100,
        }
    }
}

/// One event offered to the correlator.
pub struct Observation<'a> {
    /// When the event happened.
    pub time: Timestamp,
    /// When it was received, to refuse clocks far ahead; `None` trusts `time`.
    pub received: Option<Timestamp>,
    /// The caller's event id (a UUID as a number).
    pub event: u128,
    /// The detection rules it fired, by position in the rule index.
    pub fired: &'a [usize],
    /// Its fields, as the detection rules saw them.
    pub fields: &'a dyn EventFields,
}

/// A correlation rule that fired.
#[derive(Debug, Clone)]
pub struct CorrelationHit {
    set: Arc<CorrelationSet>,
    /// The rule, by its position in the set.
    pub correlation: usize,
    /// The time of the event that completed it.
    pub time: Timestamp,
    /// The group-by fields and their values.
    pub group: Vec<(String, String)>,
    /// The figure that met the condition (a count, a sum...).
    pub value: f64,
    /// Ids of the events in the window when it fired, oldest first (at most
    /// [`CorrelationLimits::max_event_ids`]).
    pub events: Vec<u128>,
}

impl CorrelationHit {
    /// The rule that fired.
    pub fn rule(&self) -> Option<&CorrelationRule> {
        self.set.rules().get(self.correlation)
    }

    /// Whether the hit alerts on its own rather than only feeding another correlation.
    pub fn alerts_alone(&self) -> bool {
        self.set.correlation_alerts_alone(self.correlation)
    }
}

/// What a correlator holds and has refused, for status reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CorrelatorStats {
    /// Groups held.
    pub groups: usize,
    /// Entries in all windows.
    pub entries: usize,
    /// Bytes of state, estimated from the sizes held.
    pub state_bytes: usize,
    /// Events in the reorder buffer.
    pub pending: usize,
    /// Matches that arrived later than the tolerance and were not correlated.
    pub late: u64,
    /// Events stamped too far ahead of their receipt, not correlated.
    pub ahead: u64,
    /// Matches without a group-by field, not correlated.
    pub ungrouped: u64,
    /// Matches without the value a value type aggregates, not correlated.
    pub without_value: u64,
    /// Groups removed because their window had passed.
    pub groups_expired: u64,
    /// Groups removed to stay within `max_groups`.
    pub groups_evicted: u64,
    /// Entries pushed out of full windows.
    pub entries_dropped: u64,
    /// Events correlated before their lateness had passed, to bound the reorder buffer.
    pub forced_releases: u64,
    /// Hits fired.
    pub hits: u64,
}

/// The longest group value kept whole, in bytes.
pub const MAX_KEY_VALUE: usize = 256;

/// A group's values in one allocation: each as its length (4 bytes, little-endian) and its text.
type Key = Box<[u8]>;

fn encode_key(values: &[Cow<'_, str>]) -> Key {
    let mut out = Vec::with_capacity(values.iter().map(|v| v.len() + 4).sum());
    for v in values {
        out.extend_from_slice(&u32::try_from(v.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out.into_boxed_slice()
}

fn decode_key(key: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = key;
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        let (text, tail) = tail.split_at(len.min(tail.len()));
        out.push(String::from_utf8_lossy(text).into_owned());
        rest = tail;
    }
    out
}

#[derive(Debug)]
struct Item {
    reference: Reference,
    key: Key,
    value: Value,
}

#[derive(Debug)]
struct Pending {
    time: i64,
    seq: u64,
    event: u128,
    items: Vec<Item>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// The correlation state of one tenant.
pub struct Correlator {
    set: Arc<CorrelationSet>,
    limits: CorrelationLimits,
    hasher: RandomState,
    pending: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    max_seen: Option<i64>,
    released_to: i64,
    groups: Vec<HashMap<Key, Group>>,
    group_count: usize,
    since_sweep: usize,
    stats: CorrelatorStats,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Correlator {
    /// A correlator for `set` with empty state.
    pub fn new(set: Arc<CorrelationSet>, limits: CorrelationLimits) -> Correlator {
        let groups = (0..set.rules().len()).map(|_| HashMap::new()).collect();
        Correlator {
            set,
            limits,
            hasher: RandomState::new(),
            pending: BinaryHeap::new(),
            seq: 0,
            max_seen: None,
            released_to: i64::MIN,
            groups,
            group_count: 0,
            since_sweep: 0,
            stats: CorrelatorStats::default(),
        }
    }

    /// The rules in service.
    pub fn set(&self) -> &Arc<CorrelationSet> {
        &self.set
    }

    /// Events older than this are late: the newest time seen less the tolerance, or the
    /// newest time already correlated when that is later.
    fn floor(&self) -> i64 {
        match self.max_seen {
            None => i64::MIN,
            Some(max) => max
                .saturating_sub(micros(self.limits.lateness))
                .max(self.released_to),
        }
    }

    /// Takes in one event; returns the hits of the events this releases from the reorder
    /// buffer (not necessarily this one's).
    pub fn observe(&mut self, observation: &Observation<'_>) -> Vec<CorrelationHit> {
        let time = observation.time.as_microsecond();
        if let Some(received) = observation.received {
            let limit = received
                .as_microsecond()
                .saturating_add(micros(self.limits.max_ahead));
            if time > limit {
                self.stats.ahead += 1;
                return Vec::new();
            }
        }
        self.seq += 1;
        if time < self.floor() {
            let relevant = observation
                .fired
                .iter()
                .any(|d| !self.set.referring_to_detection(*d).is_empty());
            self.stats.late += u64::from(relevant);
            return Vec::new();
        }
        let items = self.items(observation);
        if !items.is_empty() {
            self.pending.push(Reverse(Pending {
                time,
                seq: self.seq,
                event: observation.event,
                items,
            }));
        }
        // An event moves the clock at most to when it was received: a forged or fast clock
        // must not make the events after it look late.
        let clock = observation
            .received
            .map_or(time, |r| time.min(r.as_microsecond()));
        let max = self.max_seen.map_or(clock, |m| m.max(clock));
        self.max_seen = Some(max);
        let mut hits = self.release(max.saturating_sub(micros(self.limits.lateness)));
        while self.pending.len() > self.limits.max_pending {
            let Some(Reverse(p)) = self.pending.pop() else {
                break;
            };
            self.stats.forced_releases += 1;
            self.process(p, &mut hits);
        }
        hits
    }

    /// Correlates everything in the reorder buffer now, as when the stream has gone quiet;
    /// events older than the newest correlated one are late from then on.
    pub fn flush(&mut self) -> Vec<CorrelationHit> {
        self.release(i64::MAX)
    }

    /// Puts `set` in service. The reorder buffer is flushed under the old rules first (the
    /// returned hits); rules whose definition did not change keep their windows.
    pub fn replace_set(&mut self, set: Arc<CorrelationSet>) -> Vec<CorrelationHit> {
        let hits = self.flush();
        let mut old: HashMap<String, HashMap<Key, Group>> = HashMap::new();
        for (i, groups) in std::mem::take(&mut self.groups).into_iter().enumerate() {
            old.insert(self.set.fingerprint(i), groups);
        }
        self.groups = (0..set.rules().len())
            .map(|i| old.remove(&set.fingerprint(i)).unwrap_or_default())
            .collect();
        self.group_count = self.groups.iter().map(HashMap::len).sum();
        self.set = set;
        hits
    }

    /// What the correlator holds now and has refused so far.
    pub fn stats(&self) -> CorrelatorStats {
        let mut stats = self.stats.clone();
        stats.groups = self.group_count;
        stats.pending = self.pending.len();
        let slot = std::mem::size_of::<(Key, Group)>() + 1;
        let mut bytes = 0;
        for groups in &self.groups {
            bytes += groups.capacity() * slot;
            for (key, group) in groups {
                stats.entries += group.len();
                bytes += key.len() + group.heap_bytes();
            }
        }
        for Reverse(p) in &self.pending {
            bytes += std::mem::size_of::<Pending>()
                + p.items.capacity() * std::mem::size_of::<Item>()
                + p.items.iter().map(|i| i.key.len()).sum::<usize>();
        }
        stats.state_bytes = bytes;
        stats
    }

    /// The correlation items of an event: one per referring (correlation, position) whose
    /// group-by fields (and aggregated value) it has.
    fn items(&mut self, observation: &Observation<'_>) -> Vec<Item> {
        let mut items = Vec::new();
        let set = Arc::clone(&self.set);
        for detection in observation.fired {
            for reference in set.referring_to_detection(*detection) {
                if let Some(item) = self.item(*reference, observation.fields) {
                    items.push(item);
                }
            }
        }
        items
    }

    fn item(&mut self, reference: Reference, fields: &dyn EventFields) -> Option<Item> {
        let set = &self.set;
        let mut key = Vec::new();
        for name in set.group_fields(reference) {
            let Some(text) = fields.field(name).and_then(text_of) else {
                self.stats.ungrouped += 1;
                return None;
            };
            key.push(self.bounded(text));
        }
        let key = encode_key(&key);
        let kind = set.rules().get(reference.correlation)?.kind;
        let value_fields = set.value_fields(reference);
        let value = match kind {
            CorrelationKind::ValueCount => {
                let mut texts = Vec::new();
                for name in value_fields {
                    match fields.field(name).and_then(text_of) {
                        Some(t) => texts.push(t),
                        None => {
                            self.stats.without_value += 1;
                            return None;
                        }
                    }
                }
                Value::Text(self.hasher.hash_one(&texts))
            }
            CorrelationKind::ValueSum
            | CorrelationKind::ValueAvg
            | CorrelationKind::ValuePercentile => {
                match value_fields
                    .first()
                    .and_then(|n| fields.field(n))
                    .and_then(number_of)
                {
                    Some(v) => v,
                    None => {
                        self.stats.without_value += 1;
                        return None;
                    }
                }
            }
            _ => Value::None,
        };
        Some(Item {
            reference,
            key,
            value,
        })
    }

    /// A group value as kept: up to [`MAX_KEY_VALUE`] bytes as it is; a longer one (attacker
    /// text can be 64 KiB) as its start and a keyed hash of the whole, which keeps different
    /// values apart while bounding what a group holds.
    fn bounded<'v>(&self, text: Cow<'v, str>) -> Cow<'v, str> {
        if text.len() <= MAX_KEY_VALUE {
            return text;
        }
        let mut end = MAX_KEY_VALUE - 24;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let hash = self.hasher.hash_one(text.as_ref());
        Cow::Owned(format!("{}…#{hash:016x}", text.get(..end).unwrap_or("")))
    }

    fn release(&mut self, upto: i64) -> Vec<CorrelationHit> {
        let mut hits = Vec::new();
        while self.pending.peek().is_some_and(|Reverse(p)| p.time <= upto) {
            let Some(Reverse(p)) = self.pending.pop() else {
                break;
            };
            self.process(p, &mut hits);
        }
        hits
    }

    /// Applies one event's items, correlation by correlation in evaluation order, so that the
    /// hits of a referred correlation reach its referrers within the same event.
    fn process(&mut self, pending: Pending, hits: &mut Vec<CorrelationHit>) {
        self.released_to = self.released_to.max(pending.time);
        self.since_sweep += 1;
        if self.since_sweep > (self.group_count / 2).max(4096) {
            self.expire();
        }
        let mut work: BTreeMap<usize, Vec<Item>> = BTreeMap::new();
        for item in pending.items {
            work.entry(item.reference.correlation)
                .or_default()
                .push(item);
        }
        while let Some((correlation, items)) = work.pop_first() {
            // One application per group: the event's positions together, and the value of
            // the first position (in `rules` order) it matched.
            let mut by_key: Vec<(Key, Vec<u16>, Value)> = Vec::new();
            let mut sorted = items;
            sorted.sort_by_key(|i| i.reference.position);
            for item in sorted {
                let pos = u16::try_from(item.reference.position).unwrap_or(u16::MAX);
                match by_key.iter_mut().find(|(k, _, _)| *k == item.key) {
                    Some((_, positions, _)) => positions.push(pos),
                    None => by_key.push((item.key, vec![pos], item.value)),
                }
            }
            for (key, positions, value) in by_key {
                let Some(hit) = self.apply(
                    correlation,
                    key,
                    &positions,
                    value,
                    pending.time,
                    pending.seq,
                    pending.event,
                ) else {
                    continue;
                };
                let hit_fields = Json::Object(
                    hit.group
                        .iter()
                        .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                        .collect(),
                );
                let set = Arc::clone(&self.set);
                for parent in set.referring_to_correlation(correlation) {
                    if let Some(item) = self.item(*parent, &hit_fields) {
                        work.entry(parent.correlation).or_default().push(item);
                    }
                }
                hits.push(hit);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        correlation: usize,
        key: Key,
        positions: &[u16],
        value: Value,
        time: i64,
        seq: u64,
        event: u128,
    ) -> Option<CorrelationHit> {
        let set = Arc::clone(&self.set);
        let rule = set.rules().get(correlation)?;
        let (kind, span) = (rule.kind, micros(rule.timespan));
        if self.group_count >= self.limits.max_groups
            && !self.groups.get(correlation)?.contains_key(&key)
        {
            self.make_room();
        }
        let cap = self.limits.max_entries_per_group.max(1);
        // One lookup: the slot is found (or made) once, and emptied through the same handle.
        let mut slot = match self.groups.get_mut(correlation)?.entry(key) {
            Slot::Occupied(slot) => slot,
            Slot::Vacant(slot) => {
                self.group_count += 1;
                slot.insert_entry(Group::new(kind))
            }
        };
        let group = slot.get_mut();
        let entry = |pos: u16| Entry {
            time,
            seq,
            pos,
            value,
            event,
        };
        if kind.is_temporal() {
            for pos in positions {
                self.stats.entries_dropped += group.push(kind, span, entry(*pos), cap);
            }
        } else {
            let first = positions.first().copied().unwrap_or(0);
            self.stats.entries_dropped += group.push(kind, span, entry(first), cap);
        }
        let figure = group.aggregate(kind, rule.percentile)?;
        if !rule.holds(figure) {
            return None;
        }
        // Fired: the window starts again empty.
        let events = group.events(self.limits.max_event_ids);
        let (key, _) = slot.remove_entry();
        self.group_count -= 1;
        self.stats.hits += 1;
        Some(CorrelationHit {
            set: Arc::clone(&set),
            correlation,
            time: Timestamp::from_microsecond(time).unwrap_or(Timestamp::UNIX_EPOCH),
            group: rule
                .group_by
                .iter()
                .cloned()
                .zip(decode_key(&key))
                .collect(),
            value: figure,
            events,
        })
    }

    /// Removes the groups whose window has passed: nothing in them can count again.
    fn expire(&mut self) {
        self.since_sweep = 0;
        let clock = self.released_to;
        let mut removed = 0;
        for (i, groups) in self.groups.iter_mut().enumerate() {
            let span = self.set.rules().get(i).map_or(0, |r| micros(r.timespan));
            let before = groups.len();
            groups.retain(|_, g| g.last >= clock.saturating_sub(span));
            removed += before - groups.len();
        }
        self.group_count -= removed;
        self.stats.groups_expired += removed as u64;
    }

    /// Makes room for one more group: expired groups go first, then the least recently active
    /// eighth.
    fn make_room(&mut self) {
        if self.group_count < self.limits.max_groups {
            return;
        }
        self.expire();
        if self.group_count < self.limits.max_groups {
            return;
        }
        let mut lasts: Vec<i64> = self
            .groups
            .iter()
            .flat_map(|g| g.values().map(|g| g.last))
            .collect();
        if lasts.is_empty() {
            return;
        }
        let target = (lasts.len() / 8).max(1);
        let (_, &mut threshold, _) = lasts.select_nth_unstable(target - 1);
        // Exactly the oldest eighth (at least one): everything older than the threshold, then
        // groups at the threshold until the count is reached, so that a burst of equal times
        // does not take every group with it.
        let older = lasts.iter().filter(|l| **l < threshold).count();
        let mut at_threshold = target.saturating_sub(older);
        let mut removed = 0;
        for groups in &mut self.groups {
            let before = groups.len();
            groups.retain(|_, g| {
                if g.last < threshold {
                    return false;
                }
                if g.last == threshold && at_threshold > 0 {
                    at_threshold -= 1;
                    return false;
                }
                true
            });
            removed += before - groups.len();
        }
        self.group_count -= removed;
        self.stats.groups_evicted += removed as u64;
    }
}

/// A field value as group-by and value_count see it: text as it is, numbers and booleans as
/// JSON writes them; objects, arrays and null have none.
fn text_of(value: &Json) -> Option<std::borrow::Cow<'_, str>> {
    match value {
        Json::String(s) => Some(std::borrow::Cow::Borrowed(s)),
        Json::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        Json::Bool(b) => Some(std::borrow::Cow::Borrowed(if *b {
            "true"
        } else {
            "false"
        })),
        Json::Null | Json::Array(_) | Json::Object(_) => None,
    }
}

/// A field value as the numeric types see it: a JSON number, or text that reads as one.
fn number_of(value: &Json) -> Option<Value> {
    let parse_int = |n: i64| Some(Value::Int(n));
    match value {
        Json::Number(n) => match n.as_i64() {
            Some(i) => parse_int(i),
            None => n.as_f64().filter(|f| f.is_finite()).map(Value::Float),
        },
        Json::String(s) => {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(i) => parse_int(i),
                Err(_) => s
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Value::Float),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlation::CorrelationRule;
    use crate::{Rule, RuleSettings};
    use std::path::{Path, PathBuf};

    fn set() -> Arc<CorrelationSet> {
        let rule = Rule::parse(
            Path::new("a"),
            "title: a\nname: a\nlogsource: {product: x}\ndetection:\n  s: {k: a}\n  condition: s\n",
            &RuleSettings::default(),
        )
        .unwrap();
        let corr = CorrelationRule::parse(
            Path::new("c"),
            "title: c\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [h]\n  timespan: 1h\n  condition: {gte: 3}\n",
        )
        .unwrap();
        let (set, errors) = CorrelationSet::new(&[rule], vec![(PathBuf::from("c"), corr)]);
        assert!(errors.is_empty());
        Arc::new(set)
    }

    #[test]
    fn a_clock_ahead_of_receipt_does_not_make_later_events_late() {
        let mut c = Correlator::new(set(), CorrelationLimits::default());
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let event = serde_json::json!({"h": "x"});
        let observe = |c: &mut Correlator, ahead: i64, received: Timestamp| {
            let time = received + jiff::SignedDuration::from_secs(ahead);
            c.observe(&Observation {
                time,
                received: Some(received),
                event: 1,
                fired: &[0],
                fields: &event,
            })
        };
        // Nine minutes ahead (within max_ahead): correlated, but the clock stays at receipt.
        observe(&mut c, 540, now);
        // Genuine events a second later are not late.
        observe(&mut c, 0, now + jiff::SignedDuration::from_secs(1));
        observe(&mut c, 0, now + jiff::SignedDuration::from_secs(2));
        assert_eq!(c.stats().late, 0);
        // Eleven minutes ahead: not correlated at all.
        observe(&mut c, 660, now + jiff::SignedDuration::from_secs(3));
        assert_eq!(c.stats().ahead, 1);
        let hits = c.flush();
        assert_eq!(hits.len(), 1, "the three events within the hour fire once");
    }

    #[test]
    fn a_full_table_evicts_exactly_the_oldest_eighth_even_with_equal_times() {
        let limits = CorrelationLimits {
            max_groups: 16,
            lateness: std::time::Duration::ZERO,
            ..CorrelationLimits::default()
        };
        let mut c = Correlator::new(set(), limits);
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        for i in 0..17 {
            let event = serde_json::json!({"h": format!("host{i}")});
            c.observe(&Observation {
                time: now,
                received: None,
                event: i,
                fired: &[0],
                fields: &event,
            });
        }
        let stats = c.stats();
        assert_eq!(stats.groups_evicted, 2, "16 / 8, all at the same time");
        assert_eq!(stats.groups, 15);
    }
}
