//! What several CLI test files share.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::{Command, Output};

/// Runs the binary with `args`; it must succeed.
pub fn shieldwall(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_shieldwall"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "shieldwall {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
