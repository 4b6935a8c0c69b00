//! The policies Shieldwall ships (`policies/baseline/`), embedded in the binary so that
//! `--policy linux_host` works wherever the binary is.

use std::path::Path;

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
