//! The Shieldwall server process.
//!
//! `shieldwall-server` owns what `shieldwall serve` runs: the configuration ([`config`]), and the
//! assembly of collectors, spool writer, pipeline, parser reloading and source health into one
//! process ([`run`]). Later the API and the console join the same process.

pub mod access;
pub mod alerting;
pub mod api;
pub mod audit_trail;
pub mod baseline;
pub mod baseline_runs;
pub mod config;
pub mod detection;
pub mod notifier;
pub mod parsers;
pub mod plans;
pub mod report_mailer;
pub mod report_schedule;
pub mod reports;
pub mod response;
pub mod run;
pub mod store_sink;

pub use run::{ServeError, Server, Started, Status};
