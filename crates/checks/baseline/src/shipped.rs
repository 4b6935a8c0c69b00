//! The policies Shieldwall ships (`policies/baseline/`), embedded in the binary so that
//! `--policy linux_host` works wherever the binary is.

use std::path::{Path, PathBuf};

use crate::error::PolicyError;
use crate::policy::Policy;

/// A shipped policy: its short name and its text.
#[derive(Debug, Clone, Copy)]
pub struct Shipped {
    /// The file stem, e.g. `linux_host`.
    pub name: &'static str,
    /// The YAML text.
    pub text: &'static str,
}

impl Shipped {
    /// Parses it; errors name `policies/baseline/NAME.yml`.
    pub fn load(&self) -> Result<Policy, PolicyError> {
        Policy::parse(
            Path::new(&format!("policies/baseline/{}.yml", self.name)),
            self.text,
        )
    }
}

macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        const SHIPPED: &[Shipped] = &[$(Shipped {
            name: $name,
            text: include_str!(concat!("../../../../policies/baseline/", $name, ".yml")),
        }),*];
    };
}

shipped!(
    "linux_host",
    "mysql",
    "postgresql",
    "nginx",
    "apache_httpd",
    "tomcat",
    "bind",
    "cisco_ios",
    "huawei_vrp",
    "juniper_junos",
);

/// Every shipped policy.
pub fn all() -> &'static [Shipped] {
    SHIPPED
}

/// The shipped policy called `name` (its file stem or its `policy.id`).
pub fn find(name: &str) -> Option<Shipped> {
    let stem = name.strip_suffix(".yml").unwrap_or(name);
    SHIPPED
        .iter()
        .copied()
        .find(|p| p.name == stem || p.load().is_ok_and(|policy| policy.id == name))
}

/// The policies `spec` names: a policy file, every `.yml`/`.yaml` file of a directory, or a
/// shipped policy's name. Relative paths are taken from `base`. Each policy loads or fails on
/// its own; `Err` only when `spec` names nothing.
pub fn resolve(spec: &str, base: &Path) -> Result<Vec<Result<Policy, PolicyError>>, String> {
    let path = if Path::new(spec).is_absolute() {
        PathBuf::from(spec)
    } else {
        base.join(spec)
    };
    if path.is_dir() {
        let entries = std::fs::read_dir(&path)
            .map_err(|e| format!("policy directory {}: {e}", path.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!(
                "policy directory {} has no .yml or .yaml files",
                path.display()
            ));
        }
        return Ok(files.iter().map(|f| Policy::load(f)).collect());
    }
    if path.exists() {
        return Ok(vec![Policy::load(&path)]);
    }
    match find(spec) {
        Some(policy) => Ok(vec![policy.load()]),
        None => {
            let names: Vec<&str> = SHIPPED.iter().map(|p| p.name).collect();
            Err(format!(
                "policy `{spec}` is neither a file nor a shipped policy ({})",
                names.join(", ")
            ))
        }
    }
}
