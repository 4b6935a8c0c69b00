//! Baseline configuration checks: Wazuh's SCA policy format, loaded with file and line in
//! every error, and evaluated against the local host, a root directory (an image, a container
//! filesystem), single configuration files or a host over SSH, with results per check, evidence lines and the
//! CIS-CAT score.
//!
//! The rule semantics, and where they knowingly differ from Wazuh's, are specified in
//! `docs/baseline-rules.md`. Nothing here prints; renderers return text.

mod command;
mod error;
mod eval;
pub mod findings;
mod policy;
mod probe;
mod remote;
mod render;
mod report;
mod resolve;
mod rule;
pub mod shipped;
pub mod ssh;
mod target;
mod weak_passwords;

pub use error::PolicyError;
pub use eval::{Evaluator, combine};
pub use policy::{Check, MAX_POLICY_BYTES, Policy, Requirements, RuleLine};
pub use probe::PROBES;
pub use render::{Format, render};
pub use report::{
    CheckReport, CheckStatus, PolicyReport, RequirementsReport, RuleReport, RuleStatus, Summary,
};
pub use resolve::resolve_in_root;
pub use rule::{Compare, Condition, Content, NamePattern, Pattern, Rule, RuleKind, expand};
pub use target::{Commands, FileRead, Limits, Presence, Target};
