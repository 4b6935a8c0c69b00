//! The user parser files of a running server: loaded at start, reloaded when they change, and
//! kept in service from their last good version when a change breaks them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use shieldwall_parse::Registry;
use shieldwall_parse::user::{self, UserParser};

struct FileState {
    stamp: (Option<SystemTime>, u64),
    /// The parsers of the last version that compiled.
    good: Option<Vec<UserParser>>,
    /// Why the current version is rejected.
    error: Option<String>,
}

/// The parser files of the configured directories.
pub struct ParserFiles {
    dirs: Vec<PathBuf>,
    files: BTreeMap<PathBuf, FileState>,
    dir_errors: Vec<String>,
}

impl ParserFiles {
    /// Files under `dirs`; nothing is read until [`ParserFiles::refresh`].
    pub fn new(dirs: Vec<PathBuf>) -> ParserFiles {
        ParserFiles {
            dirs,
            files: BTreeMap::new(),
            dir_errors: Vec::new(),
        }
    }

    /// Rescans the directories and recompiles changed files. Returns whether a file compiled
    /// anew or went away, i.e. whether the registry needs rebuilding.
    pub fn refresh(&mut self) -> bool {
        let mut seen = Vec::new();
        self.dir_errors.clear();
        for dir in &self.dirs {
            match std::fs::read_dir(dir) {
                Ok(entries) => {
                    for entry in entries.flatten() {
                        let path = entry.path();
                        let yaml = path.extension().is_some_and(|x| x == "yaml" || x == "yml");
                        if yaml && path.is_file() {
                            seen.push(path);
                        }
                    }
                }
                Err(e) => self.dir_errors.push(format!(
                    "{}: cannot read the parser directory: {e}",
                    dir.display()
                )),
            }
        }
        let mut changed = false;
        let before = self.files.len();
        self.files.retain(|path, _| seen.contains(path));
        changed |= self.files.len() != before;
        for path in seen {
            let stamp = stamp(&path);
            if self.files.get(&path).is_some_and(|f| f.stamp == stamp) {
                continue;
            }
            let state = self.files.entry(path.clone()).or_insert(FileState {
                stamp,
                good: None,
                error: None,
            });
            state.stamp = stamp;
            match std::fs::read_to_string(&path) {
                Ok(text) => match user::compile(&path, &text) {
                    Ok(parsers) => {
                        changed = true;
                        state.good = Some(parsers);
                        state.error = None;
                    }
                    Err(e) => state.error = Some(e.to_string()),
                },
                Err(e) => state.error = Some(format!("{}: cannot read: {e}", path.display())),
            }
        }
        changed
    }

    /// The built-in parsers plus the last good version of every file. A file whose parsers
    /// clash with others is left out and reported.
    pub fn registry(&self) -> Result<Registry, String> {
        let mut registry = shieldwall_parse::parsers::builtin().map_err(|e| e.to_string())?;
        for (path, state) in &self.files {
            let Some(parsers) = &state.good else { continue };
            if let Err(e) = user::register(&mut registry, parsers.clone()) {
                tracing::error!("{}: {e}; its parsers are not loaded", path.display());
            }
        }
        Ok(registry)
    }

    /// Current problems: unreadable directories and rejected files (whose last good version,
    /// if any, stays in service).
    pub fn errors(&self) -> Vec<String> {
        let mut out = self.dir_errors.clone();
        for state in self.files.values() {
            if let Some(e) = &state.error {
                let kept = if state.good.is_some() {
                    " (the previous version stays in service)"
                } else {
                    ""
                };
                out.push(format!("{e}{kept}"));
            }
        }
        out
    }
}

fn stamp(path: &Path) -> (Option<SystemTime>, u64) {
    match std::fs::metadata(path) {
        Ok(m) => (m.modified().ok(), m.len()),
        Err(_) => (None, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        "parsers:\n  - id: app\n    match: { program: [app] }\n    method: { kv: {} }\n";
    const BAD: &str =
        "parsers:\n  - id: app\n    match: { program: [app] }\n    method: { regex: '(' }\n";

    #[test]
    fn a_broken_file_keeps_its_last_good_version_in_service() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.yaml");
        std::fs::write(&file, GOOD).unwrap();
        let mut files = ParserFiles::new(vec![dir.path().to_owned()]);
        assert!(files.refresh());
        assert!(files.registry().unwrap().ids().any(|id| id == "app"));
        assert!(!files.refresh(), "nothing changed");

        std::fs::write(&file, format!("{BAD}\n")).unwrap();
        files.refresh();
        let errors = files.errors();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("app.yaml:4"), "{errors:?}");
        assert!(errors[0].contains("stays in service"), "{errors:?}");
        assert!(files.registry().unwrap().ids().any(|id| id == "app"));

        std::fs::remove_file(&file).unwrap();
        assert!(files.refresh());
        assert!(!files.registry().unwrap().ids().any(|id| id == "app"));
        assert!(files.errors().is_empty());
    }

    #[test]
    fn a_new_bad_file_is_reported_and_loads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.yml"), BAD).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a parser").unwrap();
        let mut files = ParserFiles::new(vec![dir.path().to_owned(), dir.path().join("missing")]);
        files.refresh();
        let errors = files.errors();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("missing")));
        assert!(!errors.iter().any(|e| e.contains("stays in service")));
    }
}
