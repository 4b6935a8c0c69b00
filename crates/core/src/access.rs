//! Who may act where: the four roles of the guideline (section 3.2.7.5) and the scope a role is
//! bound to. What each role may do is decided in `shieldwall-auth`; this module only names them,
//! so that the store can keep bindings and the audit trail can name its chains.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::TenantId;

/// One of the four roles. An account holds at most one administrator role (separation of
/// duties); it may be a common user in other tenants besides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads the tenant's events, alerts, findings and reports; uploads attestations.
    User,
    /// Rules, policies, checks, alert handling, parsers, manifests.
    SecurityAdmin,
    /// Accounts, tenants, sources, configuration; never the audit trail or detection rules.
    SystemAdmin,
    /// Reads, searches and exports the audit trail, nothing else.
    AuditAdmin,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 4] = [
        Role::User,
        Role::SecurityAdmin,
        Role::SystemAdmin,
        Role::AuditAdmin,
    ];

    /// The name used in the API, the CLI and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::SecurityAdmin => "security_admin",
            Role::SystemAdmin => "system_admin",
            Role::AuditAdmin => "audit_admin",
        }
    }

    /// Whether this is one of the three administrator roles (which need a second factor and of
    /// which an account holds at most one).
    pub fn is_admin(self) -> bool {
        self != Role::User
    }

    /// Whether the role may be bound to `scope`: only the system and audit administrators act on
    /// the whole system.
    pub fn fits(self, scope: &Scope) -> bool {
        match scope {
            Scope::Tenant(_) => true,
            Scope::System => matches!(self, Role::SystemAdmin | Role::AuditAdmin),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a role: use user, security_admin, system_admin or audit_admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| UnknownRole(text.to_owned()))
    }
}

/// Where a role binding applies, and which chain of the audit trail a record belongs to: one
/// tenant, or the whole system (tenants, accounts, logins). Written `*` for the system, else the
/// tenant id (a tenant id never contains `*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// System-wide: the provider's own administration.
    System,
    /// One tenant.
    Tenant(TenantId),
}

impl Scope {
    /// How the system scope is written.
    pub const SYSTEM: &'static str = "*";

    /// `*` or the tenant id.
    pub fn as_str(&self) -> &str {
        match self {
            Scope::System => Self::SYSTEM,
            Scope::Tenant(tenant) => tenant.as_str(),
        }
    }

    /// The tenant, unless this is the system scope.
    pub fn tenant(&self) -> Option<&TenantId> {
        match self {
            Scope::System => None,
            Scope::Tenant(tenant) => Some(tenant),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = crate::InvalidTenantId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == Self::SYSTEM {
            Ok(Scope::System)
        } else {
            TenantId::new(text).map(Scope::Tenant)
        }
    }
}

impl From<TenantId> for Scope {
    fn from(tenant: TenantId) -> Self {
        Scope::Tenant(tenant)
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_scopes_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert!("admin".parse::<Role>().is_err());
        assert_eq!("*".parse::<Scope>().unwrap(), Scope::System);
        let acme: Scope = "acme".parse().unwrap();
        assert_eq!(acme.as_str(), "acme");
        assert!("a*b".parse::<Scope>().is_err());
        assert_eq!(serde_json::to_string(&Scope::System).unwrap(), "\"*\"");
        assert_eq!(serde_json::from_str::<Scope>("\"acme\"").unwrap(), acme);
    }

    #[test]
    fn only_system_and_audit_administrators_act_system_wide() {
        let tenant = Scope::Tenant(TenantId::default_tenant());
        for role in Role::ALL {
            assert!(role.fits(&tenant));
        }
        assert!(Role::SystemAdmin.fits(&Scope::System));
        assert!(Role::AuditAdmin.fits(&Scope::System));
        assert!(!Role::User.fits(&Scope::System));
        assert!(!Role::SecurityAdmin.fits(&Scope::System));
    }
}
