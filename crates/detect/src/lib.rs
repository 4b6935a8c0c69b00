//! Sigma detection rules (specification v2.1, `docs/detection.md`): loading a rule from YAML
//! with the file and line of every error, the condition grammar, the value modifiers, and
//! matching a compiled rule against an event's fields.
//!
//! A construct this crate does not support makes the rule fail to load with that reason; no rule
//! loads as one that silently never matches.

pub mod condition;
pub mod correlation;
pub mod error;
pub mod event;
pub mod filter;
pub mod index;
pub mod matcher;
pub mod pipeline;
pub mod rule;
pub mod ruleset;
pub mod tenants;
pub mod value;

pub use correlation::{CorrelationRule, CorrelationSet, Correlator};
pub use error::RuleError;
pub use event::{EventFields, FieldValue};
pub use filter::Filter;
pub use index::{Prefilter, RuleIndex};
pub use pipeline::Pipeline;
pub use rule::{Detection, LogSource, Rule, RuleSettings};
pub use tenants::TenantRules;
