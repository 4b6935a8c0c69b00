//! `shieldwall`: the command line of the Shieldwall security management centre.
//!
//! Thin by design: it parses arguments, reads files, calls the library crates and writes their
//! output. Every decision lives in a library; every message a person reads is composed here.

mod admin;
mod alerts;
mod args;
mod audit;
mod check;
mod commands;
mod events;
mod logs;
mod output;
mod rules;
mod serve;
mod store_cmd;

use std::process::ExitCode;

use clap::Parser;

// Parsing allocates many small strings per event; mimalloc handles that pattern markedly better
// than the system allocator (measured in ARCHITECTURE.md, decision log).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A manifest error is already a complete, located report: print it as it is.
            if let Some(manifest) = err.downcast_ref::<shieldwall_plan::manifest::ManifestError>() {
                eprintln!("error: {manifest}");
            } else {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(2)
        }
    }
}
