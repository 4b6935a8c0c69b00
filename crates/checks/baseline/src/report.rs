//! The results of a run: per rule, per check, per policy, with the score CIS-CAT computes
//! (pass / (pass + fail)) and a histogram of outcomes. Serialised as the stable JSON of
//! `shieldwall check baseline --format json` (docs/baseline.md).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::policy::{Check, Policy};

/// What one rule gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum RuleStatus {
    /// Its test held.
    Found,
    /// Its test did not hold.
    NotFound,
    /// It cannot be tested on this target, and why.
    NotApplicable(String),
    /// Testing it failed, and why.
    Error(String),
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// The target meets the check.
    Pass,
    /// The target does not.
    Fail,
    /// The check does not apply to the target.
    NotApplicable,
    /// The check could not be evaluated.
    Error,
}

impl CheckStatus {
    /// The name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Fail => "fail",
            CheckStatus::NotApplicable => "not_applicable",
            CheckStatus::Error => "error",
        }
    }

    /// As the core record calls it.
    pub fn to_finding_status(self) -> shieldwall_core::FindingStatus {
        match self {
            CheckStatus::Pass => shieldwall_core::FindingStatus::Pass,
            CheckStatus::Fail => shieldwall_core::FindingStatus::Fail,
            CheckStatus::NotApplicable => shieldwall_core::FindingStatus::NotApplicable,
            CheckStatus::Error => shieldwall_core::FindingStatus::Error,
        }
    }
}

/// One rule's result and the lines that decided it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    /// The rule as the policy writes it.
    pub text: String,
    /// Its line in the policy file.
    pub line: usize,
    /// What it gave.
    #[serde(flatten)]
    pub status: RuleStatus,
    /// Matching lines (`path:line: text`), or what was found missing.
    pub evidence: Vec<String>,
    /// Its command ran in a chroot of the target root.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub chroot: bool,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The check id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The outcome.
    pub result: CheckStatus,
    /// Why it is not applicable or an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How the rules combine.
    pub condition: &'static str,
    /// How to fix a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    /// Why it matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    /// Framework key to ids (`ccm_v4`, `cis`, `nist_800_53`, ...).
    pub compliance: BTreeMap<String, Vec<String>>,
    /// ATT&CK ids.
    pub mitre: Vec<String>,
    /// The rules evaluated, in order (evaluation stops at the first that decides).
    pub rules: Vec<RuleReport>,
    /// Some command of it ran in a chroot.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub chroot: bool,
}

impl CheckReport {
    pub(crate) fn from_check(
        check: &Check,
        result: CheckStatus,
        reason: Option<String>,
        rules: Vec<RuleReport>,
    ) -> CheckReport {
        CheckReport {
            id: check.id.clone(),
            title: check.name.clone(),
            result,
            reason,
            condition: check.condition.as_str(),
            remediation: check.remediation.clone(),
            rationale: check.rationale.clone(),
            compliance: check.compliance.clone(),
            mitre: check.mitre.clone(),
            chroot: rules.iter().any(|r| r.chroot),
            rules,
        }
    }

    /// The evidence lines of every rule, in order.
    pub fn evidence(&self) -> impl Iterator<Item = &str> {
        self.rules
            .iter()
            .flat_map(|r| r.evidence.iter().map(String::as_str))
    }
}

/// The requirements' result.
#[derive(Debug, Clone, Serialize)]
pub struct RequirementsReport {
    /// What is required.
    pub name: String,
    /// Fail skips the policy; anything else lets it run.
    pub status: CheckStatus,
    /// The rules.
    pub rules: Vec<RuleReport>,
}

/// Counts of outcomes and the score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Checks passed.
    pub pass: usize,
    /// Checks failed.
    pub fail: usize,
    /// Checks not applicable.
    pub not_applicable: usize,
    /// Checks in error.
    pub error: usize,
    /// pass / (pass + fail) in percent, as CIS-CAT scores; none when nothing was decided.
    pub score: Option<f64>,
}

impl Summary {
    /// Counts a set of checks.
    pub fn of(checks: &[CheckReport]) -> Summary {
        let mut s = Summary::default();
        for check in checks {
            match check.result {
                CheckStatus::Pass => s.pass += 1,
                CheckStatus::Fail => s.fail += 1,
                CheckStatus::NotApplicable => s.not_applicable += 1,
                CheckStatus::Error => s.error += 1,
            }
        }
        let decided = s.pass + s.fail;
        s.score = (decided > 0).then(|| (s.pass as f64) * 100.0 / (decided as f64));
        s
    }

    /// Total checks.
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.not_applicable + self.error
    }
}

/// One policy's run against one target.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyReport {
    /// `policy.id`.
    pub policy: String,
    /// `policy.name`.
    pub name: String,
    /// The policy file.
    pub file: String,
    /// `local`, `root:DIR` or `file:PATH`.
    pub target: String,
    /// When the run started (RFC 3339).
    pub started: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// The requirements' result, if the policy has requirements.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requirements: Option<RequirementsReport>,
    /// Counts and score.
    pub summary: Summary,
    /// One entry per check, in policy order.
    pub checks: Vec<CheckReport>,
}

impl PolicyReport {
    pub(crate) fn new(
        policy: &Policy,
        target: String,
        started: jiff::Timestamp,
        took: Duration,
        requirements: Option<RequirementsReport>,
        checks: Vec<CheckReport>,
    ) -> PolicyReport {
        PolicyReport {
            policy: policy.id.clone(),
            name: policy.name.clone(),
            file: policy.source.display().to_string(),
            target,
            started: started.to_string(),
            duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            requirements,
            summary: Summary::of(&checks),
            checks,
        }
    }
}
