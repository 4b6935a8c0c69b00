//! The window of one group of one correlation rule: its entries in processing order, the
//! running figures that make evaluation cheap, and the aggregate the condition compares.

use std::collections::{HashMap, VecDeque};

use super::CorrelationKind;

/// A value an entry carries for the value types.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    /// No value (event_count, temporal).
    None,
    /// A value of value_count, as a keyed hash of its text.
    Text(u64),
    /// An integer of the numeric types.
    Int(i64),
    /// A non-integer of the numeric types.
    Float(f64),
}

impl Value {
    fn number(self) -> f64 {
        match self {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
            Value::None | Value::Text(_) => 0.0,
        }
    }
}

/// One event (or correlation hit) in a window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    /// Event time, microseconds since the epoch.
    pub time: i64,
    /// Arrival order of the event.
    pub seq: u64,
    /// The position in the rule's `rules` list it matched.
    pub pos: u16,
    /// The aggregated value.
    pub value: Value,
    /// The caller's event id.
    pub event: u128,
}

/// The window of a group.
#[derive(Debug, Default)]
pub(crate) struct Group {
    entries: VecDeque<Entry>,
    /// For value_count: each value's newest entry (time, seq) and how many entries hold it.
    distinct: HashMap<u64, (i64, u64)>,
    /// For the temporal types: entries per position.
    per_position: Vec<u32>,
    /// For the numeric types: the exact sum of the integer entries, and how many are not
    /// integers.
    int_sum: i128,
    floats: u32,
    /// Time of the newest entry.
    pub last: i64,
}

impl Group {
    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes held on the heap, roughly.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.distinct.capacity() * (std::mem::size_of::<(u64, (i64, u64))>() + 8)
            + self.per_position.capacity() * 4
    }

    /// Adds `entry` (whose time is not before any entry's), dropping entries older than
    /// `entry.time - span`. Returns how many entries a full window pushed out.
    pub fn push(&mut self, kind: CorrelationKind, span: i64, entry: Entry, cap: usize) -> u64 {
        self.prune(kind, entry.time.saturating_sub(span));
        self.last = entry.time;
        match entry.value {
            Value::Text(h) => {
                self.distinct.insert(h, (entry.time, entry.seq));
            }
            Value::Int(i) => self.int_sum += i128::from(i),
            Value::Float(_) => self.floats += 1,
            Value::None => {}
        }
        if kind.is_temporal() {
            let pos = usize::from(entry.pos);
            if self.per_position.len() <= pos {
                self.per_position.resize(pos + 1, 0);
            }
            if let Some(n) = self.per_position.get_mut(pos) {
                *n += 1;
            }
        }
        self.entries.push_back(entry);
        let mut dropped = 0;
        if self.entries.len() > cap {
            self.compact(kind);
            while self.entries.len() > cap {
                self.pop_front(kind);
                dropped += 1;
            }
        }
        dropped
    }

    /// Drops the entries before `from`.
    fn prune(&mut self, kind: CorrelationKind, from: i64) {
        while self.entries.front().is_some_and(|e| e.time < from) {
            self.pop_front(kind);
        }
    }

    fn pop_front(&mut self, kind: CorrelationKind) {
        let Some(e) = self.entries.pop_front() else {
            return;
        };
        self.forget(kind, &e);
    }

    fn forget(&mut self, kind: CorrelationKind, e: &Entry) {
        match e.value {
            Value::Text(h) => {
                if self.distinct.get(&h) == Some(&(e.time, e.seq)) {
                    self.distinct.remove(&h);
                }
            }
            Value::Int(i) => self.int_sum -= i128::from(i),
            Value::Float(_) => self.floats = self.floats.saturating_sub(1),
            Value::None => {}
        }
        if kind.is_temporal()
            && let Some(n) = self.per_position.get_mut(usize::from(e.pos))
        {
            *n = n.saturating_sub(1);
        }
    }

    /// Removes entries that cannot change any later result: for value_count, all but each
    /// value's newest; for temporal, all but each position's newest. Other types keep all.
    fn compact(&mut self, kind: CorrelationKind) {
        match kind {
            CorrelationKind::ValueCount => {
                let distinct = &self.distinct;
                self.entries.retain(|e| match e.value {
                    Value::Text(h) => distinct.get(&h) == Some(&(e.time, e.seq)),
                    _ => false,
                });
            }
            CorrelationKind::Temporal => {
                let mut seen = vec![false; self.per_position.len()];
                let mut kept = VecDeque::with_capacity(self.per_position.len());
                for e in self.entries.iter().rev() {
                    if let Some(s) = seen.get_mut(usize::from(e.pos))
                        && !*s
                    {
                        *s = true;
                        kept.push_front(*e);
                    }
                }
                self.per_position.iter_mut().for_each(|n| *n = 0);
                for e in &kept {
                    if let Some(n) = self.per_position.get_mut(usize::from(e.pos)) {
                        *n += 1;
                    }
                }
                self.entries = kept;
            }
            _ => {}
        }
    }

    /// The figure the condition compares, `None` for an empty window.
    pub fn aggregate(&self, kind: CorrelationKind, percentile: Option<f64>) -> Option<f64> {
        if self.entries.is_empty() {
            return None;
        }
        let n = self.entries.len() as f64;
        Some(match kind {
            CorrelationKind::EventCount => n,
            CorrelationKind::ValueCount => self.distinct.len() as f64,
            CorrelationKind::Temporal => {
                self.per_position.iter().filter(|n| **n > 0).count() as f64
            }
            CorrelationKind::TemporalOrdered => ordered_prefix(self.entries.iter()) as f64,
            CorrelationKind::ValueSum => self.sum(),
            CorrelationKind::ValueAvg => self.sum() / n,
            CorrelationKind::ValuePercentile => {
                let mut values: Vec<f64> = self.entries.iter().map(|e| e.value.number()).collect();
                values.sort_by(f64::total_cmp);
                interpolate(&values, percentile.unwrap_or(50.0))
            }
        })
    }

    fn sum(&self) -> f64 {
        if self.floats == 0 {
            self.int_sum as f64
        } else {
            self.entries.iter().map(|e| e.value.number()).sum()
        }
    }

    /// The distinct event ids of the window, oldest first, at most `max`.
    pub fn events(&self, max: usize) -> Vec<u128> {
        let mut out: Vec<u128> = Vec::new();
        for e in &self.entries {
            if out.len() >= max {
                break;
            }
            if out.last() != Some(&e.event) {
                out.push(e.event);
            }
        }
        out
    }
}

/// The number of leading positions (0, 1, 2...) matched by entries in strictly increasing
/// (time, seq) order: the earliest possible match of each position after the previous one,
/// which finds the longest prefix there is.
pub(crate) fn ordered_prefix<'a>(entries: impl Iterator<Item = &'a Entry>) -> usize {
    let mut need = 0u16;
    let mut after: Option<(i64, u64)> = None;
    for e in entries {
        if e.pos == need && after.is_none_or(|a| (e.time, e.seq) > a) {
            need += 1;
            after = Some((e.time, e.seq));
        }
    }
    usize::from(need)
}

/// The value at `percentile` (0 to 100) of sorted `values`, interpolated linearly between the
/// two nearest ranks.
pub(crate) fn interpolate(values: &[f64], percentile: f64) -> f64 {
    let Some(last) = values.len().checked_sub(1) else {
        return 0.0;
    };
    let rank = percentile.clamp(0.0, 100.0) / 100.0 * last as f64;
    let low = rank.floor() as usize;
    let high = rank.ceil() as usize;
    let (Some(a), Some(b)) = (values.get(low), values.get(high)) else {
        return 0.0;
    };
    a + (b - a) * (rank - low as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: i64, pos: u16, value: Value) -> Entry {
        Entry {
            time,
            seq: time as u64,
            pos,
            value,
            event: time as u128,
        }
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(interpolate(&v, 0.0), 1.0);
        assert_eq!(interpolate(&v, 50.0), 3.0);
        assert_eq!(interpolate(&v, 100.0), 5.0);
        assert_eq!(interpolate(&[10.0, 20.0], 25.0), 12.5);
        assert_eq!(interpolate(&[7.0], 90.0), 7.0);
    }

    #[test]
    fn ordered_prefix_needs_strictly_later_entries() {
        let same = [
            entry(5, 0, Value::None),
            Entry {
                pos: 1,
                ..entry(5, 0, Value::None)
            },
        ];
        assert_eq!(
            ordered_prefix(same.iter()),
            1,
            "one event cannot be two steps"
        );
        let seq = [
            entry(1, 1, Value::None),
            entry(2, 0, Value::None),
            entry(3, 1, Value::None),
        ];
        assert_eq!(ordered_prefix(seq.iter()), 2);
    }

    #[test]
    fn compaction_keeps_value_count_exact() {
        let mut g = Group::default();
        let k = CorrelationKind::ValueCount;
        for t in 0..100 {
            g.push(k, 1_000, entry(t, 0, Value::Text((t % 3) as u64)), 10);
        }
        assert_eq!(g.aggregate(k, None), Some(3.0));
        assert!(g.len() <= 10);
        // The newest of each value still expires at the right time.
        g.push(k, 1_000, entry(1_098, 0, Value::Text(7)), 10);
        assert_eq!(
            g.aggregate(k, None),
            Some(3.0),
            "values 96..=99 age out by 1_098"
        );
    }
}
