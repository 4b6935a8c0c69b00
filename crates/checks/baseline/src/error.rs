//! The error of a policy that does not load.

use std::fmt;
use std::path::{Path, PathBuf};

/// A policy that does not load: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// The policy file.
    pub file: PathBuf,
    /// 1-based line, 0 when not known.
    pub line: usize,
    /// 1-based column, 0 when not known.
    pub column: usize,
    /// What is wrong, in words.
    pub reason: String,
}

impl PolicyError {
    /// An error at a line and column as the YAML reader counts them (0: not known).
    pub(crate) fn at(
        file: &Path,
        line: u64,
        column: u64,
        reason: impl Into<String>,
    ) -> PolicyError {
        PolicyError {
            file: file.to_owned(),
            line: usize::try_from(line).unwrap_or(0),
            column: usize::try_from(column).unwrap_or(0),
            reason: reason.into(),
        }
    }

    /// A file the YAML reader refused, with the first line of its reason.
    pub(crate) fn yaml(file: &Path, error: &serde_saphyr::Error) -> PolicyError {
        let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
        let text = error.to_string();
        PolicyError::at(file, line, column, text.lines().next().unwrap_or(""))
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file.display(), self.reason),
            (line, 0) => write!(f, "{}:{line}: {}", self.file.display(), self.reason),
            (line, column) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.file.display(),
                self.reason
            ),
        }
    }
}
