//! Rule directories per tenant for a running server: `ROOT/<tenant>/` holds the tenant's rule,
//! filter and correlation files (searched recursively). [`TenantRules::refresh`] notices files that were
//! added, changed or removed; a file that no longer loads keeps its last good version in service
//! and its error is reported; a tenant's index is rebuilt only when one of its files changed,
//! and replaced whole, so that evaluation never sees half a rule set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use crate::correlation::CorrelationSet;
use crate::error::RuleError;
use crate::filter;
use crate::index::{Prefilter, RuleIndex};
use crate::rule::RuleSettings;
use crate::ruleset::{self, RuleFile};

/// What tells a changed file: modification and status-change times, inode and length (an
/// edit that keeps the length and the modification time still changes the status-change time or,
/// through a rename, the inode).
type Stamp = (Option<SystemTime>, u64, u64, i64, i64);

fn stamp_of(path: &Path) -> Stamp {
    let Ok(meta) = std::fs::metadata(path) else {
        return (None, 0, 0, 0, 0);
    };
    #[cfg(unix)]
    let (ino, ctime, ctime_ns) = {
        use std::os::unix::fs::MetadataExt;
        (meta.ino(), meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let (ino, ctime, ctime_ns) = (0, 0, 0);
    (meta.modified().ok(), meta.len(), ino, ctime, ctime_ns)
}

#[derive(Debug)]
struct FileState {
    /// The file's stamp when last read.
    stamp: Stamp,
    /// The documents of the last version that loaded.
    good: Option<Vec<RuleFile>>,
    /// Why the current version does not load.
    error: Option<RuleError>,
}

#[derive(Debug, Default)]
struct Tenant {
    files: BTreeMap<PathBuf, FileState>,
    index: Option<Arc<RuleIndex>>,
    /// The correlation rules over that index.
    correlations: Arc<CorrelationSet>,
    /// Filters that name unknown rules or rules of another logsource.
    filter_errors: Vec<RuleError>,
    /// Correlations that refer to unknown rules, or in a cycle.
    correlation_errors: Vec<RuleError>,
    /// Why the last index build failed (the previous index stays in service).
    index_error: Option<RuleError>,
    /// Directories that could not be read.
    dir_errors: Vec<RuleError>,
}

/// The rule sets of every tenant under a root directory.
#[derive(Debug)]
pub struct TenantRules {
    root: PathBuf,
    settings: RuleSettings,
    tenants: BTreeMap<String, Tenant>,
    root_error: Option<RuleError>,
}

impl TenantRules {
    /// Tenants under `root`; nothing is read until [`TenantRules::refresh`].
    pub fn new(root: PathBuf, settings: RuleSettings) -> TenantRules {
        TenantRules {
            root,
            settings,
            tenants: BTreeMap::new(),
            root_error: None,
        }
    }

    /// Rescans the directories, reloads changed files and rebuilds the indexes of the tenants
    /// whose files changed. Returns those tenants.
    pub fn refresh(&mut self) -> Vec<String> {
        let names = match tenant_dirs(&self.root) {
            Ok(names) => {
                self.root_error = None;
                names
            }
            Err(e) => {
                // Keep serving what was loaded: an unreadable root is reported, not emptied.
                self.root_error = Some(e);
                return Vec::new();
            }
        };
        let mut changed: Vec<String> = self
            .tenants
            .keys()
            .filter(|t| !names.contains(t))
            .cloned()
            .collect();
        self.tenants.retain(|t, _| names.contains(t));
        for name in names {
            let dir = self.root.join(&name);
            let tenant = self.tenants.entry(name.clone()).or_default();
            if refresh_tenant(tenant, &dir, &self.settings) {
                changed.push(name);
            }
        }
        changed.sort();
        changed
    }

    /// The tenant's current index, `None` for a tenant with no directory.
    pub fn index(&self, tenant: &str) -> Option<Arc<RuleIndex>> {
        self.tenants.get(tenant).and_then(|t| t.index.clone())
    }

    /// The tenant's correlation rules, over the rules of its current [`TenantRules::index`]
    /// (replaced together with it).
    pub fn correlations(&self, tenant: &str) -> Option<Arc<CorrelationSet>> {
        self.tenants
            .get(tenant)
            .map(|t| Arc::clone(&t.correlations))
    }

    /// The tenants with a directory.
    pub fn tenants(&self) -> impl Iterator<Item = &str> {
        self.tenants.keys().map(String::as_str)
    }

    /// What is wrong now, by tenant: files that do not load (their last good version, if any,
    /// stays in service), filters that do not apply, directories that cannot be read.
    pub fn errors(&self) -> Vec<(String, RuleError)> {
        let mut out = Vec::new();
        if let Some(e) = &self.root_error {
            out.push((String::new(), e.clone()));
        }
        for (name, tenant) in &self.tenants {
            let file_errors = tenant.files.values().filter_map(|f| {
                f.error.as_ref().map(|e| {
                    let mut e = e.clone();
                    if f.good.is_some() {
                        e.reason
                            .push_str(" (its last good version stays in service)");
                    }
                    e
                })
            });
            for e in tenant
                .dir_errors
                .iter()
                .cloned()
                .chain(file_errors)
                .chain(tenant.filter_errors.iter().cloned())
                .chain(tenant.correlation_errors.iter().cloned())
                .chain(tenant.index_error.iter().cloned())
            {
                out.push((name.clone(), e));
            }
        }
        out
    }
}

/// The tenant directories under `root`: every directory whose name does not start with `.`.
fn tenant_dirs(root: &Path) -> Result<Vec<String>, RuleError> {
    let error = |e: std::io::Error| RuleError::at(root, 0, 0, e.to_string());
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root).map_err(error)? {
        let entry = entry.map_err(error)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Reloads what changed under `dir`; rebuilds the index when something did.
fn refresh_tenant(tenant: &mut Tenant, dir: &Path, settings: &RuleSettings) -> bool {
    let mut paths = Vec::new();
    tenant.dir_errors.clear();
    ruleset::collect(dir, 0, &mut paths, &mut tenant.dir_errors);
    let mut changed = false;
    // A directory that could not be read may hold files still: nothing is taken out of service
    // until it reads again.
    if tenant.dir_errors.is_empty() {
        let present: std::collections::BTreeSet<&PathBuf> = paths.iter().collect();
        let before = tenant.files.len();
        tenant.files.retain(|p, _| present.contains(p));
        changed |= tenant.files.len() != before;
    }
    for path in paths {
        let stamp = stamp_of(&path);
        if tenant.files.get(&path).is_some_and(|f| f.stamp == stamp) {
            continue;
        }
        let loaded = ruleset::load_file(&path, settings);
        let state = tenant.files.entry(path).or_insert(FileState {
            stamp,
            good: None,
            error: None,
        });
        state.stamp = stamp;
        match loaded {
            Ok(content) => {
                state.good = Some(content);
                state.error = None;
                changed = true;
            }
            Err(e) => state.error = Some(e),
        }
    }
    let first = tenant.index.is_none() && tenant.index_error.is_none();
    if !changed && !first {
        return false;
    }
    let mut rules = Vec::new();
    let mut filters = Vec::new();
    let mut correlations = Vec::new();
    for (path, state) in &tenant.files {
        for document in state.good.iter().flatten() {
            match document {
                RuleFile::Rule(rule) => rules.push((**rule).clone()),
                RuleFile::Filter(filter) => filters.push((**filter).clone()),
                RuleFile::Correlation(c) => correlations.push((path.clone(), (**c).clone())),
            }
        }
    }
    tenant.filter_errors = filter::apply(&mut rules, &filters);
    match RuleIndex::new(rules, Prefilter::On) {
        Ok(index) => {
            let (set, errors) = CorrelationSet::new(index.rules(), correlations);
            tenant.correlations = Arc::new(set);
            tenant.correlation_errors = errors;
            tenant.index = Some(Arc::new(index));
            tenant.index_error = None;
            true
        }
        Err(e) => {
            tenant.index_error = Some(e);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(title: &str, image: &str) -> String {
        format!(
            "title: {title}\nlogsource: {{product: windows}}\ndetection:\n  sel: {{Image|endswith: '{image}'}}\n  condition: sel\n"
        )
    }

    fn fired(rules: &TenantRules, tenant: &str, image: &str) -> Vec<String> {
        let Some(index) = rules.index(tenant) else {
            return Vec::new();
        };
        index
            .fired(None, &json!({ "Image": image }))
            .into_iter()
            .map(|i| index.rules()[i].title.clone())
            .collect()
    }

    #[test]
    fn tenants_reload_changes_and_keep_the_last_good_version() {
        let root = tempfile::tempdir().unwrap();
        let a = root.path().join("acme");
        std::fs::create_dir_all(a.join("nested")).unwrap();
        std::fs::create_dir_all(root.path().join("globex")).unwrap();
        std::fs::write(a.join("whoami.yml"), rule("Whoami", "whoami.exe")).unwrap();
        std::fs::write(a.join("nested/net.yml"), rule("Net", "net.exe")).unwrap();
        std::fs::write(root.path().join("globex/cmd.yml"), rule("Cmd", "cmd.exe")).unwrap();
        let mut rules = TenantRules::new(root.path().to_owned(), RuleSettings::default());
        assert_eq!(rules.refresh(), ["acme", "globex"]);
        assert_eq!(fired(&rules, "acme", "c:\\whoami.exe"), ["Whoami"]);
        assert!(
            fired(&rules, "globex", "c:\\whoami.exe").is_empty(),
            "tenants apart"
        );
        assert_eq!(rules.refresh(), Vec::<String>::new(), "nothing changed");

        // A broken version: the old one stays, the error is reported with file and line.
        std::fs::write(
            a.join("whoami.yml"),
            "title: Whoami\nlogsource: {}\ndetection:\n  sel: {Image|nope: x}\n  condition: sel\n",
        )
        .unwrap();
        rules.refresh();
        assert_eq!(fired(&rules, "acme", "c:\\whoami.exe"), ["Whoami"]);
        let errors = rules.errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "acme");
        assert_eq!(errors[0].1.line, 4);
        assert!(
            errors[0].1.reason.contains("last good version stays"),
            "{errors:?}"
        );

        // A good change replaces it; a removed file goes; a filter applies.
        std::fs::write(a.join("whoami.yml"), rule("Whoami v2", "whoami.exe")).unwrap();
        std::fs::remove_file(a.join("nested/net.yml")).unwrap();
        std::fs::write(
            a.join("mf.yml"),
            "title: F\nlogsource: {product: windows}\nfilter:\n  rules: [Whoami v2]\n  sel: {Image|startswith: 'c:\\tools\\'}\n  condition: sel\n",
        )
        .unwrap();
        assert_eq!(rules.refresh(), ["acme"]);
        assert!(rules.errors().is_empty(), "{:?}", rules.errors());
        assert_eq!(fired(&rules, "acme", "c:\\whoami.exe"), ["Whoami v2"]);
        assert!(fired(&rules, "acme", "c:\\tools\\whoami.exe").is_empty());
        assert!(fired(&rules, "acme", "c:\\net.exe").is_empty());

        // An edit that keeps length and modification time is still seen.
        let before = std::fs::metadata(a.join("whoami.yml"))
            .unwrap()
            .modified()
            .unwrap();
        std::fs::write(a.join("whoami.yml"), rule("Whoami v3", "whoami.exe")).unwrap();
        std::fs::File::options()
            .write(true)
            .open(a.join("whoami.yml"))
            .unwrap()
            .set_modified(before)
            .unwrap();
        assert_eq!(rules.refresh(), ["acme"]);
        assert_eq!(fired(&rules, "acme", "c:\\whoami.exe"), ["Whoami v3"]);

        // A tenant directory that goes away takes its rules with it.
        std::fs::remove_dir_all(root.path().join("globex")).unwrap();
        assert_eq!(rules.refresh(), ["globex"]);
        assert!(rules.index("globex").is_none());
    }
}
