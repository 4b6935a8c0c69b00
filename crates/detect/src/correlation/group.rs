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

/// The running figures of a window, by correlation type.
#[derive(Debug)]
enum Figures {
    /// event_count: the entries are the figure.
    None,
    /// value_count: each value's newest entry (time, seq).
    Distinct(HashMap<u64, (i64, u64)>),
    /// temporal types: entries per position.
    Positions(Vec<u32>),
    /// numeric types: the exact sum of the integer entries, and how many are not integers.
    Sum { integers: i128, floats: u32 },
}

/// The window of a group.
#[derive(Debug)]
pub(crate) struct Group {
    entries: VecDeque<Entry>,
    figures: Figures,
    /// Time of the newest entry.
    pub last: i64,
}

impl Group {
    /// An empty window for a correlation of `kind`; room for one entry, since most groups
    /// never hold more.
    pub fn new(kind: CorrelationKind) -> Group {
        let figures = match kind {
            CorrelationKind::EventCount => Figures::None,
            CorrelationKind::ValueCount => Figures::Distinct(HashMap::new()),
            CorrelationKind::Temporal | CorrelationKind::TemporalOrdered => {
                Figures::Positions(Vec::new())
            }
            CorrelationKind::ValueSum
            | CorrelationKind::ValueAvg
            | CorrelationKind::ValuePercentile => Figures::Sum {
                integers: 0,
                floats: 0,
            },
        };
        Group {
            entries: VecDeque::with_capacity(1),
            figures,
            last: i64::MIN,
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes held on the heap, roughly.
    pub fn heap_bytes(&self) -> usize {
        let figures = match &self.figures {
            Figures::Distinct(map) => {
                map.capacity() * (std::mem::size_of::<(u64, (i64, u64))>() + 1)
            }
            Figures::Positions(v) => v.capacity() * 4,
            Figures::None | Figures::Sum { .. } => 0,
        };
        self.entries.capacity() * std::mem::size_of::<Entry>() + figures
    }

    /// Adds `entry` (whose time is not before any entry's), dropping entries older than
    /// `entry.time - span`. Returns how many entries a full window pushed out.
    pub fn push(&mut self, kind: CorrelationKind, span: i64, entry: Entry, cap: usize) -> u64 {
        self.prune(entry.time.saturating_sub(span));
        self.last = entry.time;
        match (&mut self.figures, entry.value) {
            (Figures::Distinct(map), Value::Text(h)) => {
                map.insert(h, (entry.time, entry.seq));
            }
            (Figures::Sum { integers, .. }, Value::Int(i)) => *integers += i128::from(i),
            (Figures::Sum { floats, .. }, Value::Float(_)) => *floats += 1,
            (Figures::Positions(counts), _) => {
                let pos = usize::from(entry.pos);
                if counts.len() <= pos {
                    counts.resize(pos + 1, 0);
                }
                if let Some(n) = counts.get_mut(pos) {
                    *n += 1;
                }
            }
            _ => {}
        }
        self.entries.push_back(entry);
        let mut dropped = 0;
        if self.entries.len() > cap {
            self.compact(kind);
            while self.entries.len() > cap {
                self.pop_front();
                dropped += 1;
            }
        }
        dropped
    }

    /// Drops the entries before `from`.
    fn prune(&mut self, from: i64) {
        while self.entries.front().is_some_and(|e| e.time < from) {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        let Some(e) = self.entries.pop_front() else {
            return;
        };
        self.forget(&e);
    }

    fn forget(&mut self, e: &Entry) {
        match (&mut self.figures, e.value) {
            (Figures::Distinct(map), Value::Text(h)) if map.get(&h) == Some(&(e.time, e.seq)) => {
                map.remove(&h);
            }
            (Figures::Sum { integers, .. }, Value::Int(i)) => *integers -= i128::from(i),
            (Figures::Sum { floats, .. }, Value::Float(_)) => *floats = floats.saturating_sub(1),
            (Figures::Positions(counts), _) => {
                if let Some(n) = counts.get_mut(usize::from(e.pos)) {
                    *n = n.saturating_sub(1);
                }
            }
            _ => {}
        }
    }

    /// Removes entries that cannot change any later result: for value_count, all but each
    /// value's newest; for temporal, all but each position's newest. Other types keep all.
    fn compact(&mut self, kind: CorrelationKind) {
        match (&mut self.figures, kind) {
            (Figures::Distinct(map), _) => {
                self.entries.retain(|e| match e.value {
                    Value::Text(h) => map.get(&h) == Some(&(e.time, e.seq)),
                    _ => false,
                });
            }
            (Figures::Positions(counts), CorrelationKind::Temporal) => {
                let mut seen = vec![false; counts.len()];
                let mut kept = VecDeque::with_capacity(counts.len());
                for e in self.entries.iter().rev() {
                    if let Some(s) = seen.get_mut(usize::from(e.pos))
                        && !*s
                    {
                        *s = true;
                        kept.push_front(*e);
                    }
                }
                counts.iter_mut().for_each(|n| *n = 0);
                for e in &kept {
                    if let Some(n) = counts.get_mut(usize::from(e.pos)) {
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
            CorrelationKind::ValueCount => match &self.figures {
                Figures::Distinct(map) => map.len() as f64,
                _ => 0.0,
            },
            CorrelationKind::Temporal => match &self.figures {
                Figures::Positions(counts) => counts.iter().filter(|n| **n > 0).count() as f64,
                _ => 0.0,
            },
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
        match self.figures {
            Figures::Sum {
                integers,
                floats: 0,
            } => integers as f64,
            _ => self.entries.iter().map(|e| e.value.number()).sum(),
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
        let k = CorrelationKind::ValueCount;
        let mut g = Group::new(k);
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
