//! The correlator against a reference written straight from `docs/correlation.md`: decide which
//! events are late, sort the rest by (time, arrival), and for every event recompute each
//! group's aggregate from all the group's entries since it last fired, filtered to the window.
//! No reorder buffer, no running sums, no compaction, no expiry. On generated streams with
//! out-of-order arrival inside and beyond the tolerance, both must give the same hits.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};
use shieldwall_detect::correlation::{
    CorrelationKind, CorrelationLimits, CorrelationRule, CorrelationSet, Correlator, Observation,
    Target,
};
use shieldwall_detect::{Rule, RuleSettings};

const SECOND: i64 = 1_000_000;

fn detection(name: &str) -> Rule {
    let text = format!(
        "title: {name}\nname: {name}\nlogsource: {{product: test}}\ndetection:\n  sel: {{kind: {name}}}\n  condition: sel\n"
    );
    Rule::parse(Path::new(name), &text, &RuleSettings::default()).unwrap()
}

fn correlation(text: &str) -> (PathBuf, CorrelationRule) {
    let path = PathBuf::from("corr.yml");
    let rule = CorrelationRule::parse(&path, text).unwrap();
    (path, rule)
}

/// One correlation rule per type, some with two group-by fields, aliases, and a chain.
fn rules() -> (Vec<Rule>, Vec<(PathBuf, CorrelationRule)>) {
    let detections = vec![detection("a"), detection("b"), detection("c")];
    let c = |body: &str| correlation(&format!("title: t\n{body}"));
    let correlations = vec![
        c(
            "name: many_a\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [host]\n  timespan: 10s\n  condition: {gte: 3}\n",
        ),
        c(
            "correlation:\n  type: event_count\n  rules: [a, b]\n  group-by: [host, user]\n  timespan: 7s\n  condition: {gt: 1, lte: 4}\n",
        ),
        c(
            "correlation:\n  type: value_count\n  rules: [a, c]\n  group-by: [host]\n  timespan: 12s\n  condition: {field: user, gte: 3}\n",
        ),
        c(
            "correlation:\n  type: value_count\n  rules: [b]\n  group-by: [host]\n  timespan: 9s\n  condition: {field: [user, port], gte: 4}\n",
        ),
        c(
            "correlation:\n  type: temporal\n  rules: [a, b, c]\n  group-by: [host]\n  timespan: 8s\n",
        ),
        c(
            "correlation:\n  type: temporal\n  rules: [a, c]\n  group-by: [ip]\n  timespan: 6s\n  aliases:\n    ip: {a: src, c: dst}\n  condition: {gte: 2}\n",
        ),
        c(
            "correlation:\n  type: temporal_ordered\n  rules: [a, b, c]\n  group-by: [user]\n  timespan: 15s\n",
        ),
        c(
            "correlation:\n  type: temporal_ordered\n  rules: [many_a, b]\n  group-by: [host]\n  timespan: 20s\n",
        ),
        c(
            "correlation:\n  type: value_sum\n  rules: [b]\n  group-by: [host]\n  timespan: 10s\n  condition: {field: bytes, gt: 1500}\n",
        ),
        c(
            "correlation:\n  type: value_avg\n  rules: [a, b]\n  group-by: [user]\n  timespan: 10s\n  condition: {field: bytes, gte: 700}\n",
        ),
        c(
            "correlation:\n  type: value_percentile\n  rules: [c]\n  group-by: [host]\n  timespan: 10s\n  condition: {field: bytes, percentile: 90, gt: 900}\n",
        ),
        c(
            "correlation:\n  type: value_percentile\n  rules: [a]\n  group-by: [host]\n  timespan: 5s\n  condition: {field: bytes, lt: 100}\n",
        ),
    ];
    (detections, correlations)
}

/// A small deterministic generator, so that a failure can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
struct Input {
    time: i64,
    fired: Vec<usize>,
    fields: Value,
}

fn stream(seed: u64, len: usize, lateness: i64) -> Vec<Input> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut clock = 1_700_000_000 * SECOND;
    let mut out = Vec::new();
    for _ in 0..len {
        // Quarter-second steps, so that equal times and window edges happen.
        const STEP: i64 = SECOND / 4;
        clock += rng.below(7) as i64 * STEP;
        // Most events on time, many a little late (within the tolerance), some beyond it.
        let delay = match rng.below(10) {
            0..=4 => 0,
            5..=7 => rng.below(lateness as u64 + 1) as i64,
            8 => lateness + 1 + rng.below(3 * lateness as u64) as i64,
            _ => rng.below(2 * SECOND as u64) as i64,
        };
        let mut fired: Vec<usize> = (0..3).filter(|_| rng.below(3) == 0).collect();
        if rng.below(8) == 0 {
            fired.clear();
        }
        let mut fields = json!({
            "host": format!("h{}", rng.below(3)),
            "user": format!("u{}", rng.below(4)),
            "port": rng.below(3),
            "src": format!("10.0.0.{}", rng.below(3)),
            "dst": format!("10.0.0.{}", rng.below(3)),
        });
        match rng.below(6) {
            0 => {}
            1 => fields["bytes"] = json!(format!("{}", rng.below(2_000))),
            2 => fields["bytes"] = json!(rng.below(2_000) as f64 + 0.25),
            _ => fields["bytes"] = json!(rng.below(2_000)),
        }
        if rng.below(15) == 0 {
            fields.as_object_mut().unwrap().remove("host");
        }
        out.push(Input {
            time: clock - delay / STEP * STEP,
            fired,
            fields,
        });
    }
    out
}

/// A hit as both sides report it.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
struct Hit {
    time: i64,
    correlation: usize,
    group: Vec<(String, String)>,
    value: f64,
}

fn engine_hits(
    set: &Arc<CorrelationSet>,
    inputs: &[Input],
    limits: CorrelationLimits,
) -> (Vec<Hit>, u64) {
    let mut correlator = Correlator::new(Arc::clone(set), limits);
    let mut hits = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let observation = Observation {
            time: Timestamp::from_microsecond(input.time).unwrap(),
            received: None,
            event: i as u128,
            fired: &input.fired,
            fields: &input.fields,
        };
        hits.extend(correlator.observe(&observation));
    }
    hits.extend(correlator.flush());
    let late = correlator.stats().late;
    let hits = hits
        .into_iter()
        .map(|h| Hit {
            time: h.time.as_microsecond(),
            correlation: h.correlation,
            group: h.group,
            value: h.value,
        })
        .collect();
    (hits, late)
}

// ---- The reference ----

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    None,
    Text(Vec<String>),
    Int(i64),
    Float(f64),
}

fn number(v: &Value) -> Option<Val> {
    if let Some(i) = v.as_i64() {
        return Some(Val::Int(i));
    }
    if let Some(f) = v.as_f64() {
        return Some(Val::Float(f));
    }
    let s = v.as_str()?.trim();
    s.parse::<i64>()
        .map(Val::Int)
        .ok()
        .or_else(|| s.parse::<f64>().ok().map(Val::Float))
}

#[derive(Debug, Clone)]
struct RefEntry {
    time: i64,
    seq: usize,
    pos: usize,
    value: Val,
}

fn reference_hits(set: &CorrelationSet, inputs: &[Input], lateness: i64) -> (Vec<Hit>, u64) {
    // 1. Late events: older than the newest time seen before them less the tolerance.
    let mut max_seen: Option<i64> = None;
    let mut accepted = Vec::new();
    let mut late = 0;
    for (seq, input) in inputs.iter().enumerate() {
        let relevant = input
            .fired
            .iter()
            .any(|d| !set.referring_to_detection(*d).is_empty());
        if max_seen.is_some_and(|m| input.time < m - lateness) {
            late += u64::from(relevant);
            continue;
        }
        max_seen = Some(max_seen.map_or(input.time, |m| m.max(input.time)));
        accepted.push(seq);
    }
    // 2. In event-time order, arrival breaking ties.
    accepted.sort_by_key(|seq| (inputs[*seq].time, *seq));
    // 3. Windows recomputed from scratch.
    let rules = set.rules();
    let mut state: BTreeMap<(usize, Vec<String>), Vec<RefEntry>> = BTreeMap::new();
    let mut hits = Vec::new();
    for seq in accepted {
        let input = &inputs[seq];
        let t = input.time;
        let mut from_hits: BTreeMap<usize, Vec<(usize, Value)>> = BTreeMap::new();
        for (ci, rule) in rules.iter().enumerate() {
            // (position, fields) pairs of this event for this correlation.
            let mut sources: Vec<(usize, Value)> = Vec::new();
            for (pos, target) in set.targets(ci).iter().enumerate() {
                if let Target::Detection(d) = target
                    && input.fired.contains(d)
                {
                    sources.push((pos, input.fields.clone()));
                }
            }
            sources.extend(from_hits.remove(&ci).unwrap_or_default());
            sources.sort_by_key(|(pos, _)| *pos);
            // Group: key -> (positions, value of the first position).
            let mut groups: Vec<(Vec<String>, Vec<usize>, Val)> = Vec::new();
            for (pos, fields) in sources {
                let reference = &rule.rules[pos];
                let key: Option<Vec<String>> = rule
                    .group_by
                    .iter()
                    .map(|g| fields.get(rule.field_for(g, reference)).and_then(text))
                    .collect();
                let Some(key) = key else { continue };
                let value = match rule.kind {
                    CorrelationKind::ValueCount => {
                        let v: Option<Vec<String>> = rule
                            .fields
                            .iter()
                            .map(|f| fields.get(rule.field_for(f, reference)).and_then(text))
                            .collect();
                        match v {
                            Some(v) => Val::Text(v),
                            None => continue,
                        }
                    }
                    CorrelationKind::ValueSum
                    | CorrelationKind::ValueAvg
                    | CorrelationKind::ValuePercentile => {
                        match fields
                            .get(rule.field_for(&rule.fields[0], reference))
                            .and_then(number)
                        {
                            Some(v) => v,
                            None => continue,
                        }
                    }
                    _ => Val::None,
                };
                match groups.iter_mut().find(|(k, _, _)| *k == key) {
                    Some((_, positions, _)) => positions.push(pos),
                    None => groups.push((key, vec![pos], value)),
                }
            }
            for (key, positions, value) in groups {
                let entries = state.entry((ci, key.clone())).or_default();
                let added: Vec<usize> = if rule.kind.is_temporal() {
                    positions
                } else {
                    vec![positions[0]]
                };
                for pos in added {
                    entries.push(RefEntry {
                        time: t,
                        seq,
                        pos,
                        value: value.clone(),
                    });
                }
                let span = rule.timespan.as_micros() as i64;
                let window: Vec<&RefEntry> =
                    entries.iter().filter(|e| t - e.time <= span).collect();
                let figure = figure(rule, &window);
                if rule.holds(figure) {
                    let group: Vec<(String, String)> = rule
                        .group_by
                        .iter()
                        .cloned()
                        .zip(key.iter().cloned())
                        .collect();
                    for parent in set.referring_to_correlation(ci) {
                        let fields = Value::Object(
                            group
                                .iter()
                                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                                .collect(),
                        );
                        from_hits
                            .entry(parent.correlation)
                            .or_default()
                            .push((parent.position, fields));
                    }
                    hits.push(Hit {
                        time: t,
                        correlation: ci,
                        group,
                        value: figure,
                    });
                    entries.clear();
                }
            }
        }
    }
    (hits, late)
}

fn figure(rule: &CorrelationRule, window: &[&RefEntry]) -> f64 {
    let numbers = || {
        window.iter().map(|e| match &e.value {
            Val::Int(i) => *i as f64,
            Val::Float(f) => *f,
            _ => 0.0,
        })
    };
    let sum = || {
        if window.iter().all(|e| matches!(e.value, Val::Int(_))) {
            window
                .iter()
                .map(|e| match e.value {
                    Val::Int(i) => i128::from(i),
                    _ => 0,
                })
                .sum::<i128>() as f64
        } else {
            numbers().fold(0.0, |a, b| a + b)
        }
    };
    match rule.kind {
        CorrelationKind::EventCount => {
            window.iter().map(|e| e.seq).collect::<BTreeSet<_>>().len() as f64
        }
        CorrelationKind::ValueCount => window
            .iter()
            .map(|e| format!("{:?}", e.value))
            .collect::<BTreeSet<_>>()
            .len() as f64,
        CorrelationKind::Temporal => {
            window.iter().map(|e| e.pos).collect::<BTreeSet<_>>().len() as f64
        }
        CorrelationKind::TemporalOrdered => {
            let mut sorted: Vec<&&RefEntry> = window.iter().collect();
            sorted.sort_by_key(|e| (e.time, e.seq));
            let mut done = 0;
            let mut after: Option<(i64, usize)> = None;
            while done < rule.rules.len() {
                let next = sorted
                    .iter()
                    .find(|e| e.pos == done && after.is_none_or(|a| (e.time, e.seq) > a));
                match next {
                    Some(e) => {
                        after = Some((e.time, e.seq));
                        done += 1;
                    }
                    None => break,
                }
            }
            done as f64
        }
        CorrelationKind::ValueSum => sum(),
        CorrelationKind::ValueAvg => sum() / window.len() as f64,
        CorrelationKind::ValuePercentile => {
            let mut v: Vec<f64> = numbers().collect();
            v.sort_by(f64::total_cmp);
            let p = rule.percentile.unwrap_or(50.0) / 100.0;
            let rank = p * (v.len() - 1) as f64;
            let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
        }
    }
}

fn sorted(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_by(|a, b| a.partial_cmp(b).unwrap());
    hits
}

/// Both hit lists, sorted, must be equal; a failure names the seed and the first difference.
fn assert_same(seed: u64, ours: Vec<Hit>, theirs: Vec<Hit>) -> Vec<Hit> {
    let (ours, theirs) = (sorted(ours), sorted(theirs));
    if ours != theirs {
        let first = ours
            .iter()
            .zip(&theirs)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(theirs.len()));
        panic!(
            "seed {seed}: {} hits against the reference's {}; first difference at {first}: ours {:?}, reference {:?}",
            ours.len(),
            theirs.len(),
            ours.get(first),
            theirs.get(first)
        );
    }
    ours
}

#[test]
fn the_engine_agrees_with_the_reference_on_generated_streams() {
    let (detections, correlations) = rules();
    let (set, errors) = CorrelationSet::new(&detections, correlations);
    assert!(errors.is_empty(), "{errors:?}");
    let set = Arc::new(set);
    let lateness = 3 * SECOND;
    let limits = CorrelationLimits {
        lateness: Duration::from_secs(3),
        max_groups: usize::MAX,
        max_entries_per_group: usize::MAX,
        max_pending: usize::MAX,
        ..CorrelationLimits::default()
    };
    let mut totals = (0, 0, BTreeMap::new());
    for seed in 1..=150 {
        let inputs = stream(seed, 600, lateness);
        let (ours, late) = engine_hits(&set, &inputs, limits.clone());
        let (theirs, their_late) = reference_hits(&set, &inputs, lateness);
        assert_eq!(late, their_late, "seed {seed}: late events");
        let ours = assert_same(seed, ours, theirs);
        totals.0 += ours.len();
        totals.1 += late;
        for h in &ours {
            *totals.2.entry(h.correlation).or_insert(0) += 1;
        }
    }
    eprintln!(
        "150 streams of 600 events: {} hits, {} late matches; hits per rule {:?}",
        totals.0, totals.1, totals.2
    );
    // Every rule fired somewhere, so no type's agreement is vacuous.
    assert_eq!(totals.2.len(), set.rules().len(), "{:?}", totals.2);
    assert!(totals.1 > 0, "some events arrived beyond the tolerance");
}

#[test]
fn compaction_and_expiry_do_not_change_results() {
    // value_count and temporal compact their windows when full; the rest would lose entries,
    // so only those run here, with room for four entries per group.
    let (detections, correlations) = rules();
    let kept: Vec<_> = correlations
        .into_iter()
        .filter(|(_, r)| {
            matches!(
                r.kind,
                CorrelationKind::ValueCount | CorrelationKind::Temporal
            )
        })
        .collect();
    let (set, errors) = CorrelationSet::new(&detections, kept);
    assert!(errors.is_empty(), "{errors:?}");
    let set = Arc::new(set);
    let limits = CorrelationLimits {
        lateness: Duration::from_secs(3),
        max_entries_per_group: 12,
        ..CorrelationLimits::default()
    };
    for seed in 1..=60 {
        let inputs = stream(seed, 2_000, 3 * SECOND);
        let (ours, _) = engine_hits(&set, &inputs, limits.clone());
        let (theirs, _) = reference_hits(&set, &inputs, 3 * SECOND);
        assert_same(seed, ours, theirs);
    }
}
