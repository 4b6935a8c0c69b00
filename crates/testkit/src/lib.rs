//! Test support shared by the workspace's test suites.
//!
//! The compatibility corpora and reference data live outside the repository, in `../shared/`
//! beside the checkout (overridable with `SHIELDWALL_SHARED`). [`shared_path`] finds a file or
//! folder there. When it is missing, a test under `CI=true` fails, because a green run that
//! silently tested nothing would lie; elsewhere it says loudly that it skipped and where the data
//! comes from.

#![allow(clippy::panic)] // Failing the test run is this crate's job.

use std::path::{Path, PathBuf};

/// The workspace root (the repository checkout).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared folder: `$SHIELDWALL_SHARED`, else `../shared` beside the workspace root.
pub fn shared_root() -> PathBuf {
    match std::env::var_os("SHIELDWALL_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("../shared"),
    }
}

/// `relative` inside the shared folder, or `None` (with a loud message) when it is missing outside
/// CI. Under `CI=true` a missing path panics with the same message.
pub fn shared_path(relative: &str, test: &str) -> Option<PathBuf> {
    let path = shared_root().join(relative);
    if path.exists() {
        return Some(path);
    }
    let message = format!(
        "{test}: SKIPPED: {} is missing. Set SHIELDWALL_SHARED to the shared data folder; \
         its PROVENANCE.md/README.md files say where each corpus comes from.",
        path.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message} (CI=true: a missing corpus fails the run)");
    }
    eprintln!("\n*** {message}\n");
    None
}
