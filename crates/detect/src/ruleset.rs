//! Rule directories: every `.yml`/`.yaml` file under a directory loaded as a rule or a Sigma
//! filter, the filters applied to the rules they name, the failures kept with their file, line
//! and reason while the rest load.

use std::path::{Path, PathBuf};

use crate::error::RuleError;
use crate::filter::{self, Filter};
use crate::rule::{Rule, RuleSettings, read_bounded};

/// The deepest directory nesting followed.
const MAX_DEPTH: usize = 16;

/// What loading a directory gave.
#[derive(Debug, Default)]
pub struct LoadedRules {
    /// The rules that loaded, with their files, in file name order, the filters that name them
    /// applied.
    pub rules: Vec<(PathBuf, Rule)>,
    /// The Sigma filters that loaded.
    pub filters: Vec<Filter>,
    /// The files that did not load.
    pub errors: Vec<RuleError>,
}

/// What a file of a rule directory holds.
#[derive(Debug, Clone)]
pub enum RuleFile {
    /// A detection rule.
    Rule(Box<Rule>),
    /// A Sigma filter.
    Filter(Box<Filter>),
}

/// Reads `path` as a rule or, when it has a `filter` block, as a filter.
pub fn load_file(path: &Path, settings: &RuleSettings) -> Result<RuleFile, RuleError> {
    let text = read_bounded(path)?;
    if Filter::is_filter(&text) {
        Filter::parse(path, &text, settings).map(|f| RuleFile::Filter(Box::new(f)))
    } else {
        Rule::parse(path, &text, settings).map(|r| RuleFile::Rule(Box::new(r)))
    }
}

/// Loads `path` (a rule file, or a directory searched recursively).
pub fn load(path: &Path, settings: &RuleSettings) -> LoadedRules {
    let mut files = Vec::new();
    let mut out = LoadedRules::default();
    if path.is_dir() {
        collect(path, 0, &mut files, &mut out.errors);
    } else {
        files.push(path.to_owned());
    }
    files.sort();
    for file in files {
        match load_file(&file, settings) {
            Ok(RuleFile::Rule(rule)) => out.rules.push((file, *rule)),
            Ok(RuleFile::Filter(filter)) => out.filters.push(*filter),
            Err(e) => out.errors.push(e),
        }
    }
    let (paths, mut rules): (Vec<PathBuf>, Vec<Rule>) = out.rules.into_iter().unzip();
    out.errors.extend(filter::apply(&mut rules, &out.filters));
    out.rules = paths.into_iter().zip(rules).collect();
    out
}

/// The `.yml` and `.yaml` files under `dir`, recursively (to `MAX_DEPTH` levels).
pub(crate) fn collect(
    dir: &Path,
    depth: usize,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<RuleError>,
) {
    let error = |reason: String| RuleError {
        file: dir.to_owned(),
        line: 0,
        column: 0,
        reason,
    };
    if depth > MAX_DEPTH {
        errors.push(error(format!(
            "nested deeper than {MAX_DEPTH} directories: not read"
        )));
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(error(e.to_string()));
            return;
        }
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                errors.push(error(e.to_string()));
                continue;
            }
        };
        if path.is_dir() {
            collect(&path, depth + 1, files, errors);
        } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            files.push(path);
        }
    }
}
