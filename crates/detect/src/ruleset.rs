//! Rule directories: every `.yml`/`.yaml` file under a directory loaded as detection rules,
//! Sigma filters and correlation rules (a file may hold several, as YAML documents separated by
//! `---`), the filters applied to the rules they name, the failures kept with their file, line
//! and reason while the rest load.

use std::path::{Path, PathBuf};

use crate::correlation::CorrelationRule;
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
    /// The correlation rules that loaded, with their files.
    pub correlations: Vec<(PathBuf, CorrelationRule)>,
    /// The files that did not load.
    pub errors: Vec<RuleError>,
}

/// What a YAML document of a rule file holds.
#[derive(Debug, Clone)]
pub enum RuleFile {
    /// A detection rule.
    Rule(Box<Rule>),
    /// A Sigma filter.
    Filter(Box<Filter>),
    /// A correlation rule.
    Correlation(Box<CorrelationRule>),
}

/// Reads every YAML document of `path`: a rule, a filter (with a `filter` block) or a
/// correlation (with a `correlation` block). The documents of a file stand or fall together, so
/// a correlation never runs without the rules written beside it.
pub fn load_file(path: &Path, settings: &RuleSettings) -> Result<Vec<RuleFile>, RuleError> {
    let text = read_bounded(path)?;
    let mut out = Vec::new();
    for (offset, document) in documents(&text) {
        let loaded = if has_key(document, "correlation") {
            CorrelationRule::parse(path, document).map(|c| RuleFile::Correlation(Box::new(c)))
        } else if Filter::is_filter(document) {
            Filter::parse(path, document, settings).map(|f| RuleFile::Filter(Box::new(f)))
        } else {
            Rule::parse(path, document, settings).map(|r| RuleFile::Rule(Box::new(r)))
        };
        out.push(loaded.map_err(|mut e| {
            if e.line > 0 {
                e.line += offset;
            }
            e
        })?);
    }
    if out.is_empty() {
        return Err(RuleError {
            file: path.to_owned(),
            line: 0,
            column: 0,
            reason: "no YAML document in the file".into(),
        });
    }
    Ok(out)
}

/// The YAML documents of `text` with the number of lines before each: split at `---` lines,
/// leaving out documents with nothing but blanks and comments.
pub fn documents(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut start_line = 0;
    let mut at = 0;
    fn push<'t>(
        text: &'t str,
        from: usize,
        to: usize,
        line: usize,
        out: &mut Vec<(usize, &'t str)>,
    ) {
        if let Some(doc) = text.get(from..to) {
            let blank = doc
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
            if !blank {
                out.push((line, doc));
            }
        }
    }
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let end = at + line.len();
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            push(text, start, at, start_line, &mut out);
            // The separator line is kept blank, so that lines count from the file's start.
            start = end;
            start_line = line_no + 1;
        }
        at = end;
    }
    push(text, start, text.len(), start_line, &mut out);
    out
}

/// Whether `document` has `key` at its top level.
fn has_key(document: &str, key: &str) -> bool {
    document.lines().any(|l| {
        l.strip_prefix(key)
            .or_else(|| l.strip_prefix(&format!("\"{key}\"")))
            .or_else(|| l.strip_prefix(&format!("'{key}'")))
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
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
            Ok(documents) => {
                for document in documents {
                    match document {
                        RuleFile::Rule(rule) => out.rules.push((file.clone(), *rule)),
                        RuleFile::Filter(filter) => out.filters.push(*filter),
                        RuleFile::Correlation(c) => out.correlations.push((file.clone(), *c)),
                    }
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_at_separator_lines_and_keep_line_numbers() {
        let text =
            "# header\n---\ntitle: a\n---\n\n# only a comment\n--- \ntitle: b\nx: |\n  ---inside\n";
        let docs = documents(text);
        assert_eq!(docs.len(), 2, "{docs:?}");
        assert_eq!(docs[0], (2, "title: a\n"));
        assert_eq!(docs[1].0, 7);
        assert!(docs[1].1.contains("---inside"));
        assert!(has_key(
            "title: x\ncorrelation:\n  type: temporal\n",
            "correlation"
        ));
        assert!(!has_key("title: x\n  correlation: 1\n", "correlation"));
    }

    #[test]
    fn a_multi_document_file_loads_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mr_brute.yml");
        let rule = "title: Failed\nname: failed\nlogsource: {product: linux}\ndetection:\n  sel: {outcome: failure}\n  condition: sel\n";
        let corr = "title: Many failed\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [user]\n  timespan: 5m\n  condition: {gte: 5}\n";
        std::fs::write(&path, format!("{corr}---\n{rule}")).unwrap();
        let loaded = load(&path, &RuleSettings::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        assert_eq!((loaded.rules.len(), loaded.correlations.len()), (1, 1));
        std::fs::write(
            &path,
            format!("{corr}---\n{}", rule.replace("sel\n", "nope\n")),
        )
        .unwrap();
        let loaded = load(&path, &RuleSettings::default());
        assert_eq!((loaded.rules.len(), loaded.correlations.len()), (0, 0));
        assert_eq!(loaded.errors.len(), 1);
        assert_eq!(loaded.errors[0].line, 14, "{}", loaded.errors[0]);
    }
}
