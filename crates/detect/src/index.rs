//! The rule index: which rules to evaluate for an event without evaluating them all.
//!
//! Two filters run before any rule does (`docs/detection.md`, decision 37):
//! - **Logsource.** Rules are grouped by their logsource; a group runs only when one of the
//!   event's logsources (from the pipeline) covers it.
//! - **Required literals.** From each rule's condition we derive a set of literals of which
//!   every matching event contains at least one, in some value, in ASCII lower case. One
//!   Aho-Corasick automaton over all rules' literals scans the event's values once; a rule with
//!   such a set runs only when one of its literals was found. Rules with no such set (a `not`
//!   at the top, only regular expressions or numeric comparisons) always run.
//!
//! Both are filters only: a rule that passes them is evaluated in full, so the index changes
//! how many rules run and never what fires. `Prefilter::Off` evaluates every rule of the
//! covered logsources, for the test that shows the two agree.

use std::collections::{BTreeSet, HashMap};

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use serde_json::Value;

use crate::condition::Condition;
use crate::error::RuleError;
use crate::event::EventFields;
use crate::matcher::{FieldMatcher, ValueMatch, with_number_text};
use crate::pipeline::Pipeline;
use crate::rule::{Detection, LogSource, Rule};

/// The longest literal the prefilter looks for: the DFA's memory grows with it (85 MB at 8 bytes,
/// 143 MB at 12, 195 MB at 16 with the SigmaHQ corpus) while the work per event stops falling
/// after 12 (decision 37).
const MAX_LITERAL: usize = 12;

/// The shortest literal the prefilter looks for: shorter ones (` `, `.`, `3`) are in nearly
/// every event, and reporting each of their occurrences costs more than evaluating the rule.
const MIN_LITERAL: usize = 4;

/// Whether the literal prefilter runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefilter {
    /// Rules whose required literals are absent from the event are skipped.
    On,
    /// Every rule of a covered logsource is evaluated.
    Off,
}

/// Rules indexed for evaluation.
#[derive(Debug)]
pub struct RuleIndex {
    rules: Vec<Rule>,
    /// The logsource group of each rule.
    group_of: Vec<u32>,
    /// The distinct logsources of the rules, lower-cased.
    groups: Vec<LogSource>,
    /// Built only with `Prefilter::On` and at least one literal.
    automaton: Option<AhoCorasick>,
    /// For each literal of the automaton, the rules that require it.
    rules_of_literal: Vec<Vec<u32>>,
    /// For each logsource group, its rules evaluated whatever the event holds.
    always: Vec<Vec<u32>>,
    /// For each logsource group, how many rules it has.
    group_sizes: Vec<usize>,
    /// The groups by the hash of their (product, category, service).
    group_lookup: HashMap<u64, Vec<u32>>,
}

/// What evaluating one event did, for benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvalStats {
    /// Rules whose logsource the event has.
    pub covered: usize,
    /// Rules evaluated in full.
    pub evaluated: usize,
}

impl RuleIndex {
    /// Indexes `rules`.
    pub fn new(rules: Vec<Rule>, prefilter: Prefilter) -> Result<RuleIndex, RuleError> {
        let mut groups: Vec<LogSource> = Vec::new();
        let mut group_ids: HashMap<LogSource, u32> = HashMap::new();
        let mut group_of = Vec::with_capacity(rules.len());
        let mut literal_ids: HashMap<Vec<u8>, u32> = HashMap::new();
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut rules_of_literal: Vec<Vec<u32>> = Vec::new();
        let mut always: Vec<Vec<u32>> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let i = u32::try_from(i).map_err(|_| too_many())?;
            let key = rule.logsource.lowered();
            let next = u32::try_from(groups.len()).map_err(|_| too_many())?;
            let group = *group_ids.entry(key.clone()).or_insert_with(|| {
                groups.push(key);
                always.push(Vec::new());
                next
            });
            group_of.push(group);
            let required = match prefilter {
                Prefilter::On => rule_literals(&rule.detection)
                    .filter(|set| set.iter().all(|l| l.len() >= MIN_LITERAL)),
                Prefilter::Off => None,
            };
            match required {
                None => {
                    if let Some(list) = always.get_mut(group as usize) {
                        list.push(i);
                    }
                }
                Some(set) => {
                    for mut literal in set {
                        // A part of a required literal is required too; short ones keep the
                        // automaton small enough to be a DFA. The end is kept: paths and
                        // names differ there (`\\windows\\system32\\whoami.exe`).
                        literal.drain(..literal.len().saturating_sub(MAX_LITERAL));
                        let next = u32::try_from(literals.len()).map_err(|_| too_many())?;
                        let id = *literal_ids.entry(literal.clone()).or_insert_with(|| {
                            literals.push(literal);
                            rules_of_literal.push(Vec::new());
                            next
                        });
                        if let Some(list) = rules_of_literal.get_mut(id as usize) {
                            list.push(i);
                        }
                    }
                }
            }
        }
        let automaton = if literals.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&literals)
                    .map_err(|e| RuleError {
                        file: Default::default(),
                        line: 0,
                        column: 0,
                        reason: format!("building the literal prefilter: {e}"),
                    })?,
            )
        };
        let mut group_sizes = vec![0; groups.len()];
        for g in &group_of {
            if let Some(n) = group_sizes.get_mut(*g as usize) {
                *n += 1;
            }
        }
        let mut group_lookup: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, g) in groups.iter().enumerate() {
            let key = (
                g.product.as_deref(),
                g.category.as_deref(),
                g.service.as_deref(),
            );
            group_lookup
                .entry(key_hash(key))
                .or_default()
                .push(u32::try_from(i).map_err(|_| too_many())?);
        }
        Ok(RuleIndex {
            rules,
            group_sizes,
            group_lookup,
            group_of,
            groups,
            automaton,
            rules_of_literal,
            always,
        })
    }

    /// The indexed rules, in the order given.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How many distinct literals the prefilter looks for.
    pub fn literal_count(&self) -> usize {
        self.rules_of_literal.len()
    }

    /// How many rules run on every event of their logsource.
    pub fn unfiltered_count(&self) -> usize {
        self.always.iter().map(Vec::len).sum()
    }

    /// The indexes (into `rules()`) of the rules `event` fires, in rule order. With a pipeline,
    /// a rule runs only on events of its logsource and field names resolve through the
    /// pipeline; without one, every rule's logsource is taken as covered.
    pub fn fired(&self, pipeline: Option<&Pipeline>, event: &Value) -> Vec<usize> {
        self.fired_with_stats(pipeline, event).0
    }

    /// `fired`, with what the evaluation did.
    pub fn fired_with_stats(
        &self,
        pipeline: Option<&Pipeline>,
        event: &Value,
    ) -> (Vec<usize>, EvalStats) {
        let covered_groups: Vec<bool> = match pipeline {
            None => vec![true; self.groups.len()],
            Some(pipeline) => {
                let mut covered = vec![false; self.groups.len()];
                for source in pipeline.logsources(event) {
                    self.groups_covered_by(source, &mut covered);
                }
                covered
            }
        };
        let covered = |rule: u32| {
            self.group_of
                .get(rule as usize)
                .and_then(|g| covered_groups.get(*g as usize))
                .copied()
                .unwrap_or(false)
        };
        let mut stats = EvalStats::default();
        let mut candidates: Vec<u32> = Vec::new();
        for ((covered, size), always) in covered_groups
            .iter()
            .zip(&self.group_sizes)
            .zip(&self.always)
        {
            if *covered {
                stats.covered += size;
                candidates.extend_from_slice(always);
            }
        }
        if stats.covered == 0 {
            return (Vec::new(), stats);
        }
        if let Some(automaton) = &self.automaton {
            let mut haystack = Vec::with_capacity(1024);
            if lowered_values(event, &mut haystack, 0) {
                // One bit per literal: bounded whatever the event's size.
                let mut seen = vec![0u64; self.rules_of_literal.len().div_ceil(64)];
                for hit in automaton.find_overlapping_iter(haystack.as_slice()) {
                    let id = hit.pattern().as_usize();
                    let Some(word) = seen.get_mut(id / 64) else {
                        continue;
                    };
                    let bit = 1u64 << (id % 64);
                    if *word & bit == 0 {
                        *word |= bit;
                        if let Some(rules) = self.rules_of_literal.get(id) {
                            candidates.extend(rules.iter().copied().filter(|r| covered(*r)));
                        }
                    }
                }
            } else {
                // Nested deeper than the scan goes: every rule of the logsource runs.
                for rules in &self.rules_of_literal {
                    candidates.extend(rules.iter().copied().filter(|r| covered(*r)));
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        stats.evaluated = candidates.len();
        let fired = match pipeline {
            None => self.evaluate(&candidates, event),
            Some(pipeline) => self.evaluate(&candidates, &pipeline.view(event)),
        };
        (fired, stats)
    }

    /// Marks the groups `source` covers: those whose every attribute is unset or `source`'s,
    /// found by looking up the 8 ways of leaving attributes out.
    fn groups_covered_by(&self, source: &LogSource, covered: &mut [bool]) {
        // Pipelines keep their logsources in lower case (`LogSource::lowered`).
        let (product, category, service) = (&source.product, &source.category, &source.service);
        for mask in 0..8u8 {
            fn pick(mask: u8, bit: u8, value: &Option<String>) -> Option<&str> {
                if mask & bit == 0 {
                    None
                } else {
                    value.as_deref()
                }
            }
            let key = (
                pick(mask, 1, product),
                pick(mask, 2, category),
                pick(mask, 4, service),
            );
            if mask != 0 && key == (None, None, None) {
                continue;
            }
            for group in self.group_lookup.get(&key_hash(key)).into_iter().flatten() {
                let same = self.groups.get(*group as usize).is_some_and(|g| {
                    (
                        g.product.as_deref(),
                        g.category.as_deref(),
                        g.service.as_deref(),
                    ) == key
                });
                if same && let Some(c) = covered.get_mut(*group as usize) {
                    *c = true;
                }
            }
        }
    }

    fn evaluate(&self, candidates: &[u32], event: &dyn EventFields) -> Vec<usize> {
        candidates
            .iter()
            .map(|r| *r as usize)
            .filter(|r| self.rules.get(*r).is_some_and(|rule| rule.matches(event)))
            .collect()
    }
}

/// FNV-1a over the three attributes (a few short strings: SipHash's strength is not needed,
/// the keys are the rules' own).
fn key_hash(key: (Option<&str>, Option<&str>, Option<&str>)) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [key.0, key.1, key.2] {
        let bytes = part.map_or(&[0xff][..], str::as_bytes);
        for b in bytes.iter().chain(&[0]) {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

fn too_many() -> RuleError {
    RuleError {
        file: Default::default(),
        line: 0,
        column: 0,
        reason: "more than 4 billion rules or literals".into(),
    }
}

/// Nesting beyond this is not scanned; an event nested deeper runs every rule of its logsource,
/// since a field lookup (a dotted path) has no such limit.
const MAX_DEPTH: usize = 32;

/// Every scalar of `value` as text in ASCII lower case, separated by NUL bytes. A literal found
/// across a separator only lets an extra rule be evaluated; it never hides one. `false` when
/// `value` is nested deeper than `MAX_DEPTH` and was not scanned whole.
fn lowered_values(value: &Value, out: &mut Vec<u8>, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match value {
        Value::String(s) => push_lowered(out, s.as_bytes()),
        Value::Number(n) => with_number_text(n, |text| push_lowered(out, text.as_bytes())),
        Value::Bool(b) => push_lowered(out, if *b { b"true" } else { b"false" }),
        Value::Null => {}
        Value::Array(items) => {
            return items.iter().all(|v| lowered_values(v, out, depth + 1));
        }
        Value::Object(map) => {
            return map.values().all(|v| lowered_values(v, out, depth + 1));
        }
    }
    true
}

fn push_lowered(out: &mut Vec<u8>, text: &[u8]) {
    out.extend(text.iter().map(u8::to_ascii_lowercase));
    out.push(0);
}

/// A set of literals one of which every match contains; `None`: no such set is known.
type Literals = Option<BTreeSet<Vec<u8>>>;

/// The literals one of which every event the detection matches contains.
fn rule_literals(detection: &Detection) -> Literals {
    condition_literals(detection, &detection.condition)
}

fn condition_literals(detection: &Detection, condition: &Condition) -> Literals {
    match condition {
        Condition::Search(name) => search_literals(detection, name),
        Condition::Not(_) => None,
        Condition::And(items) => best(items.iter().map(|c| condition_literals(detection, c))),
        Condition::Or(items) => union(items.iter().map(|c| condition_literals(detection, c))),
        Condition::Of { min, of } => {
            let names = detection.names(of);
            match min {
                Some(0) => None,
                // All of them must match: any one's literals will do.
                None => best(names.iter().map(|n| search_literals(detection, n))),
                // At least one matches.
                Some(_) => union(names.iter().map(|n| search_literals(detection, n))),
            }
        }
    }
}

fn search_literals(detection: &Detection, name: &str) -> Literals {
    let groups = detection.selection(name)?;
    union(
        groups
            .iter()
            .map(|entries| best(entries.iter().map(entry_literals))),
    )
}

fn entry_literals(entry: &FieldMatcher) -> Literals {
    if entry.negate {
        return None;
    }
    let each = entry.values.iter().map(|v| match v {
        ValueMatch::Text(t) => t.required_literal().map(|l| BTreeSet::from([l])),
        ValueMatch::Regex(re) => re.required.as_ref().map(|l| l.iter().cloned().collect()),
        _ => None,
    });
    if entry.all {
        return best(each);
    }
    // The set's needles are `contains` values; an empty one matches every text.
    let set = entry.contains_set.as_ref().map(|set| {
        (!set.needles.iter().any(Vec::is_empty))
            .then(|| set.needles.iter().map(|n| n.to_ascii_lowercase()).collect())
    });
    union(set.into_iter().chain(each))
}

/// The union of alternatives: `None` when one of them is.
fn union(alternatives: impl Iterator<Item = Literals>) -> Literals {
    let mut out = BTreeSet::new();
    let mut any = false;
    for set in alternatives {
        out.extend(set?);
        any = true;
    }
    any.then_some(out)
}

/// The most selective of requirements that all hold: the set whose shortest literal is longest
/// (short literals are found in most events), then the smaller set.
fn best(requirements: impl Iterator<Item = Literals>) -> Literals {
    requirements
        .flatten()
        .filter(|set| !set.is_empty())
        .max_by_key(|set| {
            let shortest = set.iter().map(Vec::len).min().unwrap_or(0);
            (shortest, std::cmp::Reverse(set.len()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleSettings;
    use serde_json::json;
    use std::path::Path;

    fn rule(detection: &str) -> Rule {
        let text = format!("title: t\nlogsource: {{product: test}}\ndetection:\n{detection}");
        Rule::parse(Path::new("t.yml"), &text, &RuleSettings::default()).unwrap()
    }

    fn literals(detection: &str) -> Option<Vec<String>> {
        rule_literals(&rule(detection).detection).map(|set| {
            set.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn literals_of_conditions() {
        let sel = "  sel: {Image|endswith: '\\Cmd.exe', CommandLine|contains: [' /c ', ' /k ']}\n";
        assert_eq!(
            literals(&format!("{sel}  condition: sel")),
            Some(vec!["\\cmd.exe".into()])
        );
        let two = "  a: {X: Alpha}\n  b: {Y|startswith: Beta}\n";
        assert_eq!(
            literals(&format!("{two}  condition: a or b")),
            Some(vec!["alpha".into(), "beta".into()])
        );
        assert_eq!(
            literals(&format!("{two}  condition: 1 of them")),
            Some(vec!["alpha".into(), "beta".into()])
        );
        assert_eq!(
            literals(&format!("{two}  condition: a and not b")),
            Some(vec!["alpha".into()])
        );
        assert_eq!(literals(&format!("{two}  condition: not a")), None);
        let numeric = "  a: {X|gt: 5}\n  b: {Y: Beta}\n";
        assert_eq!(literals(&format!("{numeric}  condition: a or b")), None);
        assert_eq!(
            literals(&format!("{numeric}  condition: a and b")),
            Some(vec!["beta".into()])
        );
        assert_eq!(
            literals("  sel: {X|contains|all: [ab, abcdef]}\n  condition: sel"),
            Some(vec!["abcdef".into()])
        );
        assert_eq!(literals("  sel: {X: '*'}\n  condition: sel"), None);
        assert_eq!(literals("  sel: {X: ''}\n  condition: sel"), None);
        assert_eq!(
            literals("  sel: [evil, wicked]\n  condition: sel"),
            Some(vec!["evil".into(), "wicked".into()])
        );
    }

    #[test]
    fn events_nested_deeper_than_the_scan_run_every_rule() {
        let path = vec!["a"; 40].join(".");
        let rules = vec![rule(&format!(
            "  sel: {{'{path}': evilvalue}}\n  condition: sel"
        ))];
        let on = RuleIndex::new(rules.clone(), Prefilter::On).unwrap();
        let off = RuleIndex::new(rules, Prefilter::Off).unwrap();
        let mut event = json!("evilvalue");
        for _ in 0..40 {
            event = json!({ "a": event });
        }
        assert_eq!(on.fired(None, &event), [0]);
        assert_eq!(off.fired(None, &event), [0]);
    }

    #[test]
    fn prefilter_skips_rules_and_keeps_matches() {
        let rules = vec![
            rule("  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel"),
            rule("  sel: {Image|endswith: '\\powershell.exe'}\n  condition: sel"),
            rule("  sel: {EventID: 4624}\n  condition: sel"),
            rule("  sel: {Image|re: 'CMD'}\n  condition: sel"),
        ];
        let on = RuleIndex::new(rules.clone(), Prefilter::On).unwrap();
        let off = RuleIndex::new(rules, Prefilter::Off).unwrap();
        let event = json!({"Image": "C:\\Windows\\CMD.EXE", "EventID": 4624});
        let (fired, stats) = on.fired_with_stats(None, &event);
        assert_eq!(fired, [0, 2, 3]);
        assert_eq!(stats.evaluated, 3);
        let (fired_off, stats_off) = off.fired_with_stats(None, &event);
        assert_eq!(fired_off, fired);
        assert_eq!(stats_off.evaluated, 4);
        assert_eq!(on.unfiltered_count(), 1);
    }
}
