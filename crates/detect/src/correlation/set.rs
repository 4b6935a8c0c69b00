//! A tenant's correlation rules with their references resolved: to detection rules (by their
//! position in the rule index) and to other correlation rules, in an order where every rule
//! comes after the correlations it refers to.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::CorrelationRule;
use crate::error::RuleError;
use crate::rule::Rule;

/// What a position of a correlation's `rules` list refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A detection rule, by its position in the rule index.
    Detection(usize),
    /// A correlation rule, by its position in the set.
    Correlation(usize),
}

/// A (correlation, position in its `rules`) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// The referring correlation, by its position in the set.
    pub correlation: usize,
    /// The position in its `rules` list.
    pub position: usize,
}

/// Correlation rules ready to run.
#[derive(Debug, Default)]
pub struct CorrelationSet {
    rules: Vec<CorrelationRule>,
    targets: Vec<Vec<Target>>,
    by_detection: BTreeMap<usize, Vec<Reference>>,
    by_correlation: Vec<Vec<Reference>>,
    /// For each position of each rule: the field each group-by entry is read from.
    group_fields: Vec<Vec<Vec<String>>>,
    /// For each position of each rule: the fields the condition aggregates.
    value_fields: Vec<Vec<Vec<String>>>,
    /// Detection rules referred to only by correlations that do not `generate` them.
    quiet_detections: Vec<usize>,
}

impl CorrelationSet {
    /// Resolves `correlations` against `detections` (the rule index's rules, in its order).
    /// A correlation that refers to something unknown or ambiguous, takes part in a cycle, or
    /// groups by a field its referred correlation does not produce is left out, with an error
    /// naming its file.
    pub fn new<'r>(
        detections: impl IntoIterator<Item = &'r Rule>,
        correlations: Vec<(PathBuf, CorrelationRule)>,
    ) -> (CorrelationSet, Vec<RuleError>) {
        let mut errors = Vec::new();
        let error = |file: &std::path::Path, reason: String| RuleError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            reason,
        };
        // Resolve every reference by id or name.
        let add = |key: &'_ str, target: Target, names: &mut BTreeMap<_, Vec<Target>>| {
            let targets: &mut Vec<Target> = names.entry(key.to_owned()).or_default();
            // A rule whose id and name are the same text is one rule, not two.
            if !targets.contains(&target) {
                targets.push(target);
            }
        };
        let mut names: BTreeMap<String, Vec<Target>> = BTreeMap::new();
        for (i, rule) in detections.into_iter().enumerate() {
            for key in [&rule.id, &rule.name].into_iter().flatten() {
                add(key, Target::Detection(i), &mut names);
            }
        }
        for (i, (_, rule)) in correlations.iter().enumerate() {
            for key in [&rule.id, &rule.name].into_iter().flatten() {
                add(key, Target::Correlation(i), &mut names);
            }
        }
        let mut resolved: Vec<Option<Vec<Target>>> = Vec::new();
        for (file, rule) in &correlations {
            let mut targets = Vec::new();
            let mut failed = None;
            for reference in &rule.rules {
                match names.get(reference.as_str()).map(Vec::as_slice) {
                    Some([one]) => targets.push(*one),
                    Some([]) | None => {
                        failed = Some(format!(
                            "correlation {:?} refers to `{reference}`, which no loaded rule has as its id or name",
                            rule.title
                        ));
                        break;
                    }
                    Some(_) => {
                        failed = Some(format!(
                            "correlation {:?} refers to `{reference}`, which several rules have as their id or name",
                            rule.title
                        ));
                        break;
                    }
                }
            }
            match failed {
                Some(reason) => {
                    errors.push(error(file, reason));
                    resolved.push(None);
                }
                None => resolved.push(Some(targets)),
            }
        }
        // Order: a correlation after those it refers to; unresolved ones and cycles drop out.
        let mut order: Vec<usize> = Vec::new();
        let mut placed = vec![false; correlations.len()];
        loop {
            let before = order.len();
            for (i, targets) in resolved.iter().enumerate() {
                let Some(targets) = targets else { continue };
                if placed.get(i).copied().unwrap_or(true) {
                    continue;
                }
                let ready = targets.iter().all(|t| match t {
                    Target::Detection(_) => true,
                    Target::Correlation(c) => placed.get(*c).copied().unwrap_or(false),
                });
                if ready {
                    if let Some(p) = placed.get_mut(i) {
                        *p = true;
                    }
                    order.push(i);
                }
            }
            if order.len() == before {
                break;
            }
        }
        for (i, (file, rule)) in correlations.iter().enumerate() {
            if resolved.get(i).is_some_and(Option::is_some)
                && !placed.get(i).copied().unwrap_or(false)
            {
                errors.push(error(
                    file,
                    format!(
                        "correlation {:?} refers, directly or through others, to a correlation that did not load or to itself",
                        rule.title
                    ),
                ));
            }
        }
        // Build in that order, renumbering correlation targets.
        let mut new_index = vec![usize::MAX; correlations.len()];
        let mut set = CorrelationSet::default();
        let mut slots: Vec<Option<(PathBuf, CorrelationRule)>> =
            correlations.into_iter().map(Some).collect();
        for old in order {
            let (Some(Some((file, rule))), Some(Some(targets))) =
                (slots.get_mut(old).map(Option::take), resolved.get(old))
            else {
                continue;
            };
            let targets: Vec<Target> = targets
                .iter()
                .map(|t| match *t {
                    Target::Correlation(c) => {
                        Target::Correlation(new_index.get(c).copied().unwrap_or(usize::MAX))
                    }
                    d => d,
                })
                .collect();
            // A referred correlation that was left out (its own fields did not resolve) leaves
            // this one without a source: it could never fire, so it is left out too.
            if targets.contains(&Target::Correlation(usize::MAX)) {
                errors.push(error(
                    &file,
                    format!(
                        "correlation {:?} refers to a correlation that did not load",
                        rule.title
                    ),
                ));
                continue;
            }
            let (group_fields, value_fields) = match fields_of(&set, &rule, &targets) {
                Ok(fields) => fields,
                Err(reason) => {
                    errors.push(error(&file, reason));
                    continue;
                }
            };
            let me = set.rules.len();
            if let Some(slot) = new_index.get_mut(old) {
                *slot = me;
            }
            for (position, target) in targets.iter().enumerate() {
                let reference = Reference {
                    correlation: me,
                    position,
                };
                match *target {
                    Target::Detection(d) => set.by_detection.entry(d).or_default().push(reference),
                    Target::Correlation(c) => {
                        if let Some(parents) = set.by_correlation.get_mut(c) {
                            parents.push(reference);
                        }
                    }
                }
            }
            set.rules.push(rule);
            set.targets.push(targets);
            set.by_correlation.push(Vec::new());
            set.group_fields.push(group_fields);
            set.value_fields.push(value_fields);
        }
        let generated = |refs: &[Reference]| {
            refs.iter()
                .any(|r| set.rules.get(r.correlation).is_some_and(|c| c.generate))
        };
        set.quiet_detections = set
            .by_detection
            .iter()
            .filter(|(_, refs)| !generated(refs))
            .map(|(d, _)| *d)
            .collect();
        (set, errors)
    }

    /// The rules, in evaluation order.
    pub fn rules(&self) -> &[CorrelationRule] {
        &self.rules
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// What each position of the correlation at `index` refers to.
    pub fn targets(&self, index: usize) -> &[Target] {
        self.targets.get(index).map_or(&[], Vec::as_slice)
    }

    /// The correlations that refer to detection rule `detection`.
    pub fn referring_to_detection(&self, detection: usize) -> &[Reference] {
        self.by_detection.get(&detection).map_or(&[], Vec::as_slice)
    }

    /// The correlations that refer to correlation `index`.
    pub fn referring_to_correlation(&self, index: usize) -> &[Reference] {
        self.by_correlation.get(index).map_or(&[], Vec::as_slice)
    }

    /// The fields group-by reads for `reference`'s position, in group-by order.
    pub fn group_fields(&self, reference: Reference) -> &[String] {
        self.group_fields
            .get(reference.correlation)
            .and_then(|p| p.get(reference.position))
            .map_or(&[], Vec::as_slice)
    }

    /// The fields the condition aggregates for `reference`'s position.
    pub fn value_fields(&self, reference: Reference) -> &[String] {
        self.value_fields
            .get(reference.correlation)
            .and_then(|p| p.get(reference.position))
            .map_or(&[], Vec::as_slice)
    }

    /// Whether detection rule `detection` alerts on its own: it does unless every correlation
    /// that refers to it leaves `generate` off (the specification's default).
    pub fn alerts_alone(&self, detection: usize) -> bool {
        self.quiet_detections.binary_search(&detection).is_err()
    }

    /// Whether the correlation at `index` alerts on its own: it does unless it only feeds
    /// other correlations that do not `generate` it.
    pub fn correlation_alerts_alone(&self, index: usize) -> bool {
        let parents = self.referring_to_correlation(index);
        parents.is_empty()
            || parents
                .iter()
                .any(|r| self.rules.get(r.correlation).is_some_and(|c| c.generate))
    }

    /// A text that changes whenever the correlation at `index` or what it refers to changes, so
    /// that a reload keeps the state of unchanged rules.
    pub fn fingerprint(&self, index: usize) -> String {
        format!(
            "{:?}|{:?}|{:?}",
            self.rules.get(index),
            self.group_fields.get(index),
            self.value_fields.get(index)
        )
    }
}

type Fields = (Vec<Vec<String>>, Vec<Vec<String>>);

/// The group-by and condition fields of each position of `rule`; for a position that refers to
/// a correlation, they must be among the fields its hits carry (its group-by).
fn fields_of(
    set: &CorrelationSet,
    rule: &CorrelationRule,
    targets: &[Target],
) -> Result<Fields, String> {
    let mut group = Vec::new();
    let mut value = Vec::new();
    for (reference, target) in rule.rules.iter().zip(targets) {
        let g: Vec<String> = rule
            .group_by
            .iter()
            .map(|name| rule.field_for(name, reference))
            .collect();
        let v: Vec<String> = rule
            .fields
            .iter()
            .map(|name| rule.field_for(name, reference))
            .collect();
        if let Target::Correlation(c) = target {
            let produced = set.rules.get(*c).map_or(&[][..], |r| r.group_by.as_slice());
            if let Some(missing) = g.iter().chain(&v).find(|f| !produced.contains(f)) {
                return Err(format!(
                    "correlation {:?} reads `{missing}` from the hits of `{reference}`, which carry only its group-by fields ({})",
                    rule.title,
                    produced.join(", ")
                ));
            }
        }
        group.push(g);
        value.push(v);
    }
    Ok((group, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::RuleSettings;
    use std::path::Path;

    fn detection(name: &str, id: &str) -> Rule {
        Rule::parse(
            Path::new(name),
            &format!("title: {name}\nid: {id}\nname: {name}\nlogsource: {{product: x}}\ndetection:\n  s: {{k: v}}\n  condition: s\n"),
            &RuleSettings::default(),
        )
        .unwrap()
    }

    fn correlation(text: &str) -> (PathBuf, CorrelationRule) {
        let path = PathBuf::from(format!("{}.yml", text.len()));
        (path.clone(), CorrelationRule::parse(&path, text).unwrap())
    }

    #[test]
    fn references_resolve_or_are_refused_with_a_reason() {
        let rules = [detection("a", "a"), detection("b", "id-b")];
        let c = |name: &str, kind: &str, refs: &str, group: &str| {
            correlation(&format!(
                "title: {name}\nname: {name}\ncorrelation:\n  type: {kind}\n  rules: [{refs}]\n  group-by: [{group}]\n  timespan: 1m\n  condition: {{gte: 1}}\n"
            ))
        };
        let (set, errors) = CorrelationSet::new(
            &rules,
            vec![
                c("top", "temporal", "inner, b", "h"), // refers to a later file: ordered after it
                c("inner", "event_count", "a", "h"),   // `a` is both id and name of one rule
                c("unknown", "event_count", "nope", "h"),
                c("loop1", "temporal", "loop2, a", "h"),
                c("loop2", "temporal", "loop1, a", "h"),
                c("wrongfield", "temporal", "inner, a", "user"), // inner's hits carry only h
                c("dangling", "temporal", "wrongfield, a", "h"),
            ],
        );
        let loaded: Vec<&str> = set.rules().iter().map(|r| r.title.as_str()).collect();
        assert_eq!(loaded, ["inner", "top"], "{errors:?}");
        let reasons: Vec<&str> = errors.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(errors.len(), 5, "{reasons:#?}");
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("`nope`, which no loaded rule"))
        );
        assert_eq!(
            reasons.iter().filter(|r| r.contains("to itself")).count(),
            2
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("reads `user` from the hits of `inner`"))
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("\"dangling\" refers to a correlation that did not load"))
        );
        // Referred rules stay quiet unless a correlation generates them.
        assert!(!set.alerts_alone(0) && !set.alerts_alone(1));
        assert!(!set.correlation_alerts_alone(0) && set.correlation_alerts_alone(1));
    }
}
