//! Evaluating a policy against a target: rules to found / not found / not applicable /
//! error, checks by their condition, the policy after its requirements. What each rule reads
//! or runs is cached for the run, since policies read the same file and run the same command
//! (`sshd -T`, `auditctl -l`) in many checks.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use crate::policy::{Check, Policy, RuleLine};
use crate::probe;
use crate::report::{
    CheckReport, CheckStatus, PolicyReport, RequirementsReport, RuleReport, RuleStatus,
};
use crate::rule::{Condition, Content, Rule, RuleKind, expand};
use crate::target::{FileRead, Limits, Presence, Target, WalkedFile};

/// File text kept for reuse within a run.
const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;
/// Files of a walk read ahead at once.
const PREFETCH_CHUNK: usize = 64;
/// Commands run side by side at most.
const MAX_COMMAND_WORKERS: usize = 8;
/// Evidence lines kept per rule.
const MAX_EVIDENCE: usize = 5;
/// Characters of a line kept in evidence.
const MAX_EVIDENCE_CHARS: usize = 240;

/// One run of policies against one target.
pub struct Evaluator<'a> {
    target: &'a Target,
    limits: Limits,
    files: HashMap<String, Sourced>,
    cached_bytes: usize,
    commands: HashMap<String, Result<(String, bool), Presence>>,
    probes: HashMap<String, Result<probe::ProbeOutput, Presence>>,
    processes: Option<Result<Vec<String>, String>>,
    /// What is at the paths existence rules name, surveyed up front on a remote target.
    presences: HashMap<String, Presence>,
}

/// A file's text as read, or why not.
#[derive(Clone)]
enum Sourced {
    Text(Arc<str>),
    Missing,
    NotApplicable(String),
    Error(String),
}

/// Where a rule's lines came from and what they say.
struct Lines<'t> {
    label: &'t str,
    text: &'t str,
}

impl<'a> Evaluator<'a> {
    /// A run against `target` within `limits`.
    pub fn new(target: &'a Target, limits: Limits) -> Evaluator<'a> {
        Evaluator {
            target,
            limits,
            files: HashMap::new(),
            cached_bytes: 0,
            commands: HashMap::new(),
            probes: HashMap::new(),
            processes: None,
            presences: HashMap::new(),
        }
    }

    /// Evaluates every check of a policy; `progress` hears of each check as it is done.
    pub fn policy(
        &mut self,
        policy: &Policy,
        progress: &mut dyn FnMut(usize, usize),
    ) -> PolicyReport {
        let started = jiff::Timestamp::now();
        let clock = Instant::now();
        let mut variables = policy.variables.clone();
        let bound = self.target.bound_variables();
        variables.extend(bound.clone());

        let requirements = policy.requirements.as_ref().map(|req| {
            let rules: Vec<RuleReport> = req
                .rules
                .iter()
                .map(|line| self.rule_line(line, &bound, &variables))
                .collect();
            let status = combine(req.condition, &rules);
            RequirementsReport {
                name: req.name.clone(),
                status,
                rules,
            }
        });
        let skipped = requirements
            .as_ref()
            .filter(|r| r.status == CheckStatus::Fail)
            .map(|r| format!("policy requirements not met: {}", r.name));

        if skipped.is_none() {
            self.prefetch_commands(policy, &bound, &variables);
            if self.target.is_remote() {
                self.prefetch_files(policy, &bound, &variables);
            }
        }
        let total = policy.checks.len();
        let mut checks = Vec::with_capacity(total);
        for (index, check) in policy.checks.iter().enumerate() {
            let report = match &skipped {
                Some(reason) => CheckReport::from_check(
                    check,
                    CheckStatus::NotApplicable,
                    Some(reason.clone()),
                    Vec::new(),
                ),
                None => self.check(check, &bound, &variables),
            };
            checks.push(report);
            progress(index + 1, total);
        }
        PolicyReport::new(
            policy,
            self.target.describe(),
            started,
            clock.elapsed(),
            requirements,
            checks,
        )
    }

    /// Runs every command the policy's checks name, a few at a time, before the checks are
    /// evaluated in order: commands spend their time waiting on processes, so running them side
    /// by side cuts a policy's wall time several-fold. Outputs land in the run's cache.
    fn prefetch_commands(
        &mut self,
        policy: &Policy,
        bound: &BTreeMap<String, String>,
        variables: &BTreeMap<String, String>,
    ) {
        if !self.target.runs_commands() {
            return;
        }
        let mut wanted: Vec<String> = Vec::new();
        for line in policy.checks.iter().flat_map(|c| &c.rules) {
            if let Ok(rule) = effective_rule(line, bound, variables).as_ref()
                && rule.kind == RuleKind::Command
                && !self.commands.contains_key(&rule.target)
            {
                wanted.push(rule.target.clone());
            }
        }
        wanted.sort();
        wanted.dedup();
        // A remote host's commands wait on the network, not on this machine's cores.
        let workers = if self.target.is_remote() {
            MAX_COMMAND_WORKERS
        } else {
            std::thread::available_parallelism()
                .map_or(4, |n| n.get() * 2)
                .clamp(1, MAX_COMMAND_WORKERS)
        }
        .min(wanted.len());
        let queue = std::sync::Mutex::new(wanted.into_iter());
        let done = std::sync::Mutex::new(Vec::new());
        let (target, limits) = (self.target, self.limits);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .next();
                        let Some(command) = next else { break };
                        let output = target.run(&command, &limits).map(|o| (o.text, o.chroot));
                        done.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((command, output));
                    }
                });
            }
        });
        self.commands.extend(
            done.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }

    /// Surveys every path the policy's file rules and plain directory rules name, in a few
    /// round trips: on a remote host each read is one, and a policy makes hundreds.
    fn prefetch_files(
        &mut self,
        policy: &Policy,
        bound: &BTreeMap<String, String>,
        variables: &BTreeMap<String, String>,
    ) {
        let mut wanted: BTreeMap<String, bool> = BTreeMap::new();
        for line in policy.checks.iter().flat_map(|c| &c.rules) {
            let Ok(rule) = effective_rule(line, bound, variables).into_owned() else {
                continue;
            };
            let content = match rule.kind {
                RuleKind::File => rule.content.is_some(),
                RuleKind::Directory if rule.file_name.is_none() => false,
                _ => continue,
            };
            // Unbound variables and relative paths are the evaluation's to report, not the
            // survey's.
            for path in rule
                .target
                .split(',')
                .map(str::trim)
                .filter(|p| p.starts_with('/') && !p.contains('$'))
            {
                let entry = wanted.entry(path.to_owned()).or_insert(false);
                *entry |= content;
            }
        }
        let wanted: Vec<(String, bool)> = wanted.into_iter().collect();
        let surveyed = self.target.survey(&wanted, &self.limits);
        for ((path, _), found) in wanted.into_iter().zip(surveyed) {
            if let Some(read) = found.content {
                self.cache_read(&path, read);
            }
            self.presences.insert(path, found.presence);
        }
    }

    fn presence(&self, path: &str) -> Presence {
        match self.presences.get(path) {
            Some(presence) => presence.clone(),
            None => self.target.presence(path),
        }
    }

    fn check(
        &mut self,
        check: &Check,
        bound: &BTreeMap<String, String>,
        variables: &BTreeMap<String, String>,
    ) -> CheckReport {
        let mut rules = Vec::with_capacity(check.rules.len());
        for line in &check.rules {
            let report = self.rule_line(line, bound, variables);
            let decisive = matches!(
                (check.condition, &report.status),
                (Condition::All, RuleStatus::NotFound)
                    | (Condition::Any | Condition::None, RuleStatus::Found)
            );
            rules.push(report);
            if decisive {
                break;
            }
        }
        let status = combine(check.condition, &rules);
        let reason = match status {
            CheckStatus::NotApplicable => {
                first_reason(&rules, |s| matches!(s, RuleStatus::NotApplicable(_)))
            }
            CheckStatus::Error => first_reason(&rules, |s| matches!(s, RuleStatus::Error(_))),
            CheckStatus::Pass | CheckStatus::Fail => None,
        };
        CheckReport::from_check(check, status, reason, rules)
    }

    fn rule_line(
        &mut self,
        line: &RuleLine,
        bound: &BTreeMap<String, String>,
        variables: &BTreeMap<String, String>,
    ) -> RuleReport {
        let effective = effective_rule(line, bound, variables);
        let parsed = effective.as_ref();
        let mut report = RuleReport {
            text: line.text.clone(),
            line: line.line,
            status: RuleStatus::NotFound,
            evidence: Vec::new(),
            chroot: false,
        };
        match parsed {
            Err(reason) => report.status = RuleStatus::Error(reason.clone()),
            Ok(rule) if unbound_variable(rule).is_some() => {
                let name = unbound_variable(rule).unwrap_or_default();
                report.status = RuleStatus::NotApplicable(format!(
                    "{name} is not bound: the policy gives it no value and the target none \
                     (give the file with --target file:PATH or --var)"
                ));
            }
            Ok(rule) => {
                let status = self.rule(rule, &mut report);
                report.status = match (rule.negated, status) {
                    (true, RuleStatus::Found) => RuleStatus::NotFound,
                    (true, RuleStatus::NotFound) => RuleStatus::Found,
                    (_, status) => status,
                };
            }
        }
        report
    }

    fn rule(&mut self, rule: &Rule, report: &mut RuleReport) -> RuleStatus {
        match rule.kind {
            RuleKind::File => self.file_rule(rule, report),
            RuleKind::Directory => self.directory_rule(rule, report),
            RuleKind::Process => self.process_rule(rule, report),
            RuleKind::Command => self.command_rule(rule, report),
            RuleKind::Probe => self.probe_rule(rule, report),
            RuleKind::Registry => {
                RuleStatus::NotApplicable("registry rules apply to Windows only".to_owned())
            }
        }
    }

    fn file_rule(&mut self, rule: &Rule, report: &mut RuleReport) -> RuleStatus {
        let paths: Vec<&str> = rule
            .target
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let Some(content) = &rule.content else {
            // Existence: found when any of the files exists.
            let mut outcome = Outcome::default();
            for path in paths {
                match self.presence(path) {
                    Presence::File => {
                        report.evidence.push(format!("{path}: exists"));
                        return RuleStatus::Found;
                    }
                    Presence::Directory | Presence::Missing => {
                        outcome.absent.push(path.to_owned());
                    }
                    Presence::NotApplicable(r) => outcome.not_applicable.push(r),
                    Presence::Error(r) => outcome.errors.push(r),
                }
            }
            return outcome.existence(report);
        };
        let mut outcome = Outcome::default();
        let start = report.evidence.len();
        for path in paths {
            match self.file_text(path) {
                Sourced::Text(text) => {
                    outcome.read += 1;
                    if match_lines(
                        content,
                        &Lines {
                            label: path,
                            text: &text,
                        },
                        report,
                    ) {
                        decided_by_absence(content, report, start, path);
                        return RuleStatus::Found;
                    }
                }
                Sourced::Missing => outcome.absent.push(path.to_owned()),
                Sourced::NotApplicable(r) => outcome.not_applicable.push(r),
                Sourced::Error(r) => outcome.errors.push(r),
            }
        }
        outcome.content()
    }

    fn directory_rule(&mut self, rule: &Rule, report: &mut RuleReport) -> RuleStatus {
        let dirs: Vec<&str> = rule
            .target
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let mut outcome = Outcome::default();
        let start = report.evidence.len();
        for dir in dirs {
            let Some(name) = &rule.file_name else {
                match self.presence(dir) {
                    Presence::Directory => {
                        report.evidence.push(format!("{dir}: directory exists"));
                        return RuleStatus::Found;
                    }
                    Presence::File | Presence::Missing => outcome.absent.push(dir.to_owned()),
                    Presence::NotApplicable(r) => outcome.not_applicable.push(r),
                    Presence::Error(r) => outcome.errors.push(r),
                }
                continue;
            };
            let files = match self.target.walk(dir, &self.limits) {
                Ok(files) => files,
                Err(Presence::Missing | Presence::File) => {
                    outcome.absent.push(dir.to_owned());
                    continue;
                }
                Err(Presence::NotApplicable(r)) => {
                    outcome.not_applicable.push(r);
                    continue;
                }
                Err(Presence::Error(r)) => {
                    outcome.errors.push(r);
                    continue;
                }
                Err(Presence::Directory) => {
                    outcome.errors.push(format!("{dir}: cannot be listed"));
                    continue;
                }
            };
            outcome.read += 1;
            let mut matched: Vec<WalkedFile> = files
                .into_iter()
                .filter(|f| name.matches(&f.name))
                .collect();
            // Read a few at a time ahead (a remote host's files come in batches), stopping at
            // the first that decides.
            for chunk in matched.chunks_mut(PREFETCH_CHUNK) {
                if rule.content.is_some() {
                    self.target.prefetch_walked(chunk, &self.limits);
                }
                for file in chunk.iter() {
                    let Some(content) = &rule.content else {
                        report.evidence.push(format!("{}: exists", file.shown));
                        return RuleStatus::Found;
                    };
                    // Files found by a walk are read through their real names and not cached: a
                    // directory may hold many, and the cache is for files rules name.
                    match self.target.read_walked(file, &self.limits) {
                        FileRead::Content(bytes) => {
                            let text = String::from_utf8_lossy(&bytes);
                            if match_lines(
                                content,
                                &Lines {
                                    label: &file.shown,
                                    text: &text,
                                },
                                report,
                            ) {
                                decided_by_absence(content, report, start, &file.shown);
                                return RuleStatus::Found;
                            }
                        }
                        // Listed a moment ago and gone now: an error, not a silent pass.
                        FileRead::Missing => outcome
                            .errors
                            .push(format!("{}: disappeared while read", file.shown)),
                        FileRead::NotApplicable(r) => outcome.not_applicable.push(r),
                        FileRead::Error(r) => outcome.errors.push(r),
                    }
                }
            }
        }
        if rule.file_name.is_none() {
            return outcome.existence(report);
        }
        outcome.content()
    }

    fn process_rule(&mut self, rule: &Rule, report: &mut RuleReport) -> RuleStatus {
        let processes = self
            .processes
            .get_or_insert_with(|| self.target.processes());
        match processes {
            Err(reason) => RuleStatus::NotApplicable(reason.clone()),
            Ok(names) => {
                if names.contains(&rule.target) {
                    report
                        .evidence
                        .push(format!("process {} is running", rule.target));
                    RuleStatus::Found
                } else {
                    report
                        .evidence
                        .push(format!("no process named {}", rule.target));
                    RuleStatus::NotFound
                }
            }
        }
    }

    fn command_rule(&mut self, rule: &Rule, report: &mut RuleReport) -> RuleStatus {
        let limits = self.limits;
        let target = self.target;
        let result = self
            .commands
            .entry(rule.target.clone())
            .or_insert_with(|| {
                target
                    .run(&rule.target, &limits)
                    .map(|o| (o.text, o.chroot))
            })
            .clone();
        match result {
            Ok((text, chroot)) => {
                report.chroot = chroot;
                let found = match &rule.content {
                    Some(content) => match content.whole_literal() {
                        // A plain value is compared with the whole output, as Wazuh does.
                        Some((negated, literal)) => {
                            let output = text.trim_matches(|c| c == '\n' || c == '\r');
                            report
                                .evidence
                                .push(format!("{}: {}", rule.target, clip(output)));
                            (output == literal) != negated
                        }
                        None => match_lines(
                            content,
                            &Lines {
                                label: &rule.target,
                                text: &text,
                            },
                            report,
                        ),
                    },
                    // No pattern: the command ran.
                    None => true,
                };
                if found {
                    RuleStatus::Found
                } else {
                    RuleStatus::NotFound
                }
            }
            Err(presence) => presence_status(presence),
        }
    }

    fn probe_rule(&mut self, rule: &Rule, report: &mut RuleReport) -> RuleStatus {
        let limits = self.limits;
        let target = self.target;
        let result = self
            .probes
            .entry(rule.target.clone())
            .or_insert_with(|| probe::run(&rule.target, target, &limits))
            .clone();
        match result {
            Ok(probe::ProbeOutput { lines, note }) => {
                report
                    .evidence
                    .extend(note.map(|n| format!("x:{}: {n}", rule.target)));
                let text = lines.join("\n");
                let label = format!("x:{}", rule.target);
                let found = match &rule.content {
                    Some(content) => match_lines(
                        content,
                        &Lines {
                            label: &label,
                            text: &text,
                        },
                        report,
                    ),
                    None => {
                        report.evidence.extend(
                            lines
                                .iter()
                                .take(MAX_EVIDENCE)
                                .map(|l| format!("{label}: {}", clip(l))),
                        );
                        !lines.is_empty()
                    }
                };
                if found {
                    RuleStatus::Found
                } else {
                    RuleStatus::NotFound
                }
            }
            Err(presence) => presence_status(presence),
        }
    }

    fn file_text(&mut self, path: &str) -> Sourced {
        if let Some(cached) = self.files.get(path) {
            return cached.clone();
        }
        let read = self.target.read(path, &self.limits);
        self.cache_read(path, read)
    }

    /// Keeps a reading in the run's cache (within its bound) and returns it as text.
    fn cache_read(&mut self, path: &str, read: FileRead) -> Sourced {
        let sourced = match read {
            FileRead::Content(bytes) => Sourced::Text(Arc::from(String::from_utf8_lossy(&bytes))),
            FileRead::Missing => Sourced::Missing,
            FileRead::NotApplicable(r) => Sourced::NotApplicable(r),
            FileRead::Error(r) => Sourced::Error(r),
        };
        // The cache holds what rules name, up to a bound: past it, files are read again.
        let size = match &sourced {
            Sourced::Text(text) => text.len(),
            _ => 0,
        };
        if self.cached_bytes + size <= MAX_CACHED_BYTES {
            self.cached_bytes += size;
            self.files.insert(path.to_owned(), sourced.clone());
        }
        sourced
    }
}

/// The rule a line stands for on this target: rules naming a variable the target binds are
/// parsed again with its value, the others are the ones parsed at load.
fn effective_rule<'l>(
    line: &'l RuleLine,
    bound: &BTreeMap<String, String>,
    variables: &BTreeMap<String, String>,
) -> std::borrow::Cow<'l, Result<Rule, String>> {
    if bound.keys().any(|name| line.text.contains(name.as_str())) {
        std::borrow::Cow::Owned(Rule::parse(&expand(&line.text, variables)))
    } else {
        std::borrow::Cow::Borrowed(&line.rule)
    }
}

/// A variable a file or directory rule's target still names after expansion: the policy left
/// it to the target (`$target_file` of a device policy checked on a host).
fn unbound_variable(rule: &Rule) -> Option<String> {
    if !matches!(rule.kind, RuleKind::File | RuleKind::Directory) {
        return None;
    }
    let first = rule
        .target
        .split(',')
        .map(str::trim)
        .find(|p| p.starts_with('$'))?;
    let name: String = first
        .chars()
        .enumerate()
        .take_while(|(i, c)| *i == 0 || c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .map(|(_, c)| c)
        .collect();
    Some(name)
}

fn presence_status(presence: Presence) -> RuleStatus {
    match presence {
        Presence::NotApplicable(r) => RuleStatus::NotApplicable(r),
        Presence::Error(r) => RuleStatus::Error(r),
        Presence::Missing | Presence::File | Presence::Directory => RuleStatus::NotFound,
    }
}

/// What the targets of one rule gave, when none of them decided it.
#[derive(Default)]
struct Outcome {
    read: usize,
    absent: Vec<String>,
    not_applicable: Vec<String>,
    errors: Vec<String>,
}

impl Outcome {
    /// An existence test none of whose paths exists.
    fn existence(self, report: &mut RuleReport) -> RuleStatus {
        if let Some(error) = self.errors.into_iter().next() {
            return RuleStatus::Error(error);
        }
        if self.absent.is_empty()
            && let Some(reason) = self.not_applicable.into_iter().next()
        {
            return RuleStatus::NotApplicable(reason);
        }
        report
            .evidence
            .extend(self.absent.iter().map(|p| format!("{p}: not found")));
        RuleStatus::NotFound
    }

    /// A content test no line of which matched.
    fn content(self) -> RuleStatus {
        if let Some(error) = self.errors.into_iter().next() {
            return RuleStatus::Error(error);
        }
        if self.read > 0 {
            return RuleStatus::NotFound;
        }
        if let Some(reason) = self.not_applicable.into_iter().next() {
            return RuleStatus::NotApplicable(reason);
        }
        RuleStatus::NotApplicable(format!("{} not found", self.absent.join(", ")))
    }
}

/// When a lone negation (`!r:X`) was satisfied by one file of several, the lines other files
/// matched are not what decided it: the evidence says which file has no such line.
fn decided_by_absence(content: &Content, report: &mut RuleReport, start: usize, label: &str) {
    if content.lone_negation().is_some() {
        report.evidence.truncate(start);
        report.evidence.push(format!("{label}: no line matches"));
    }
}

/// Whether any line matches (for a lone `!r:X`: whether no line matches X); the lines that
/// matched go to the evidence.
fn match_lines(content: &Content, lines: &Lines<'_>, report: &mut RuleReport) -> bool {
    if let Some(positive) = content.lone_negation() {
        let single = Content {
            parts: vec![positive],
        };
        return !match_lines(&single, lines, report);
    }
    let mut found = false;
    for (index, line) in lines.text.lines().enumerate() {
        if content.matches(line) {
            found = true;
            if report.evidence.len() < MAX_EVIDENCE {
                report
                    .evidence
                    .push(format!("{}:{}: {}", lines.label, index + 1, clip(line)));
            } else {
                break;
            }
        }
    }
    found
}

fn clip(line: &str) -> String {
    let line = line.trim_end();
    match line.char_indices().nth(MAX_EVIDENCE_CHARS) {
        Some((at, _)) => format!("{}…", line.get(..at).unwrap_or(line)),
        None => line.to_owned(),
    }
}

/// The condition table of Wazuh's documentation, with errors ranked above not-applicable:
/// a check that cannot be decided because something failed says so, rather than that it does
/// not apply.
pub fn combine(condition: Condition, rules: &[RuleReport]) -> CheckStatus {
    let found = rules.iter().any(|r| r.status == RuleStatus::Found);
    let not_found = rules.iter().any(|r| r.status == RuleStatus::NotFound);
    let error = rules
        .iter()
        .any(|r| matches!(r.status, RuleStatus::Error(_)));
    let not_applicable = rules
        .iter()
        .any(|r| matches!(r.status, RuleStatus::NotApplicable(_)));
    let undecided = if error {
        CheckStatus::Error
    } else if not_applicable {
        CheckStatus::NotApplicable
    } else {
        CheckStatus::Pass
    };
    match condition {
        Condition::All if not_found => CheckStatus::Fail,
        Condition::All => undecided,
        Condition::Any if found => CheckStatus::Pass,
        Condition::Any if error || not_applicable => undecided,
        Condition::Any => CheckStatus::Fail,
        Condition::None if found => CheckStatus::Fail,
        Condition::None => undecided,
    }
}

fn first_reason(rules: &[RuleReport], wanted: impl Fn(&RuleStatus) -> bool) -> Option<String> {
    rules
        .iter()
        .find(|r| wanted(&r.status))
        .and_then(|r| match &r.status {
            RuleStatus::NotApplicable(reason) | RuleStatus::Error(reason) => Some(reason.clone()),
            RuleStatus::Found | RuleStatus::NotFound => None,
        })
}
