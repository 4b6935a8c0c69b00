//! What each role may do, and the proof that a request may do it ([`Grant`]).
//!
//! Deny by default: [`allows`] lists, per role, the actions it may take, and nothing else is
//! allowed; no role bypasses it. A [`Grant`] can only be made by [`authorise`], so a handler that
//! takes one cannot run unless the check passed; it carries the one scope (tenant) the request
//! chose, which is the only scope the handler can hand to the store.

use serde::Serialize;
use shieldwall_core::{Role, Scope, TenantId};

/// Declares the actions once: the enum, its list, its names, and one permission type per action
/// (module [`can`]) for handlers to name in their signatures.
macro_rules! actions {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// Something a request does. Each API route takes exactly one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Action {
            /// Every action.
            pub const ALL: &[Action] = &[$(Action::$variant,)*];

            /// The action's name (`read_events`), as the API and the audit trail show it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }
        }

        /// Permission types, one per [`Action`].
        pub mod can {
            use super::{Action, Permission};
            $(
                #[doc = concat!("The `", $name, "` permission.")]
                #[derive(Debug)]
                pub struct $variant;
                impl Permission for $variant {
                    const ACTION: Action = Action::$variant;
                }
            )*
        }
    };
}

actions! {
    /// Search and aggregate the tenant's events.
    ReadEvents => "read_events",
    /// List and read the tenant's alerts.
    ReadAlerts => "read_alerts",
    /// Read the tenant's findings and evidence.
    ReadFindings => "read_findings",
    /// Read the tenant's responsibility plan and reports.
    ReadPlan => "read_plan",
    /// Upload an attestation (evidence) for a control.
    UploadAttestation => "upload_attestation",
    /// Acknowledge, close, reopen, assign and comment on alerts.
    HandleAlerts => "handle_alerts",
    /// List the tenant's detection rules.
    ReadRules => "read_rules",
    /// Upload, enable and disable detection rules.
    ManageRules => "manage_rules",
    /// Change alerting policies and baseline checks.
    ManagePolicies => "manage_policies",
    /// Upload the deployment manifest.
    ManageManifest => "manage_manifest",
    /// Upload parsers.
    ManageParsers => "manage_parsers",
    /// See sources and their health.
    ReadSources => "read_sources",
    /// Change sources.
    ManageSources => "manage_sources",
    /// Create accounts, bind and unbind roles, revoke others' tokens.
    ManageAccounts => "manage_accounts",
    /// Create tenants (system-wide only).
    ManageTenants => "manage_tenants",
    /// Read the server's metrics (system-wide only).
    ReadMetrics => "read_metrics",
    /// Read and search the audit trail.
    ReadAudit => "read_audit",
    /// Export the audit trail and its signed heads.
    ExportAudit => "export_audit",
}

/// An action as a type, so that a handler names the permission it needs in its signature.
pub trait Permission: Send + Sync + 'static {
    /// The action.
    const ACTION: Action;
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Action {
    /// Whether the action is about one tenant's data (and so is never taken system-wide).
    fn tenant_only(self) -> bool {
        !matches!(
            self,
            Action::ManageAccounts
                | Action::ManageTenants
                | Action::ReadMetrics
                | Action::ReadAudit
                | Action::ExportAudit
                | Action::ReadSources
                | Action::ManageSources
        )
    }

    /// Whether the action is taken only system-wide.
    fn system_only(self) -> bool {
        matches!(self, Action::ManageTenants | Action::ReadMetrics)
    }
}

/// Whether `role`, bound to `scope`, may take `action` there. The whole policy is this table.
pub fn allows(role: Role, scope: &Scope, action: Action) -> bool {
    use Action::*;
    let by_role = match role {
        Role::User => matches!(
            action,
            ReadEvents | ReadAlerts | ReadFindings | ReadPlan | UploadAttestation
        ),
        Role::SecurityAdmin => matches!(
            action,
            ReadEvents
                | ReadAlerts
                | ReadFindings
                | ReadPlan
                | UploadAttestation
                | HandleAlerts
                | ReadRules
                | ManageRules
                | ManagePolicies
                | ManageManifest
                | ManageParsers
                | ReadSources
        ),
        Role::SystemAdmin => matches!(
            action,
            ReadSources | ManageSources | ManageAccounts | ManageTenants | ReadMetrics
        ),
        Role::AuditAdmin => matches!(action, ReadAudit | ExportAudit),
    };
    let by_scope = match scope {
        Scope::System => !action.tenant_only(),
        Scope::Tenant(_) => !action.system_only(),
    };
    by_role && by_scope && role.fits(scope)
}

/// Who is asking: an account and the bindings it acts under (all of them for a console session,
/// the token's one for an API token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account's id.
    pub account_id: u64,
    /// The account's name.
    pub account: String,
    /// The bindings it may act under: (binding id, scope, role).
    pub bindings: Vec<(u64, Scope, Role)>,
    /// The API token used, if any.
    pub token_id: Option<u64>,
}

/// The proof that a principal may take an action in a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    account_id: u64,
    account: String,
    binding_id: u64,
    scope: Scope,
    role: Role,
    action: Action,
}

impl Grant {
    /// The account acting.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The account's id.
    pub fn account_id(&self) -> u64 {
        self.account_id
    }

    /// The binding it acts under.
    pub fn binding_id(&self) -> u64 {
        self.binding_id
    }

    /// The scope the request chose and is allowed in.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The tenant, when the scope is one.
    pub fn tenant(&self) -> Option<&TenantId> {
        self.scope.tenant()
    }

    /// The role it acts as.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The action allowed.
    pub fn action(&self) -> Action {
        self.action
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The principal has no binding in the scope.
    #[error("account {account:?} has no role in {}", if *scope == Scope::System { "the whole system (*)".to_owned() } else { format!("tenant {scope}") })]
    NoBinding {
        /// The account.
        account: String,
        /// The scope asked for.
        scope: Scope,
    },
    /// Its role there does not allow the action.
    #[error("role {role} does not have permission {} in {scope}", action.as_str())]
    NotAllowed {
        /// The role held.
        role: Role,
        /// The action asked for.
        action: Action,
        /// The scope.
        scope: Scope,
    },
}

/// Checks that `principal` may take `action` in `scope`.
pub fn authorise(principal: &Principal, scope: &Scope, action: Action) -> Result<Grant, Denied> {
    let Some((binding_id, _, role)) = principal.bindings.iter().find(|(_, s, _)| s == scope) else {
        return Err(Denied::NoBinding {
            account: principal.account.clone(),
            scope: scope.clone(),
        });
    };
    if !allows(*role, scope, action) {
        return Err(Denied::NotAllowed {
            role: *role,
            action,
            scope: scope.clone(),
        });
    }
    Ok(Grant {
        account_id: principal.account_id,
        account: principal.account.clone(),
        binding_id: *binding_id,
        scope: scope.clone(),
        role: *role,
        action,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tenant(name: &str) -> Scope {
        Scope::Tenant(TenantId::new(name).unwrap())
    }

    #[test]
    fn the_guideline_limits_hold() {
        let acme = tenant("acme");
        // The system administrator never reads or alters the audit trail or detection rules.
        for scope in [&acme, &Scope::System] {
            for action in [Action::ReadAudit, Action::ExportAudit, Action::ManageRules] {
                assert!(!allows(Role::SystemAdmin, scope, action), "{action:?}");
            }
        }
        // The audit administrator does nothing but the audit trail.
        for &action in Action::ALL {
            let audit = matches!(action, Action::ReadAudit | Action::ExportAudit);
            assert_eq!(allows(Role::AuditAdmin, &acme, action), audit, "{action:?}");
        }
        // A common user changes nothing but attestations.
        assert!(allows(Role::User, &acme, Action::UploadAttestation));
        assert!(!allows(Role::User, &acme, Action::HandleAlerts));
        // Tenants are created system-wide only; events are read per tenant only.
        assert!(allows(
            Role::SystemAdmin,
            &Scope::System,
            Action::ManageTenants
        ));
        assert!(!allows(Role::SystemAdmin, &acme, Action::ManageTenants));
        assert!(!allows(
            Role::SecurityAdmin,
            &Scope::System,
            Action::ReadEvents
        ));
    }

    #[test]
    fn a_grant_is_for_the_binding_of_the_chosen_scope() {
        let principal = Principal {
            account_id: 4,
            account: "alice".to_owned(),
            bindings: vec![
                (10, tenant("acme"), Role::SecurityAdmin),
                (11, tenant("beta"), Role::User),
            ],
            token_id: None,
        };
        let grant = authorise(&principal, &tenant("acme"), Action::HandleAlerts).unwrap();
        assert_eq!(
            (grant.binding_id(), grant.role()),
            (10, Role::SecurityAdmin)
        );
        assert_eq!(grant.tenant().unwrap().as_str(), "acme");
        assert!(matches!(
            authorise(&principal, &tenant("beta"), Action::HandleAlerts),
            Err(Denied::NotAllowed {
                role: Role::User,
                ..
            })
        ));
        assert!(matches!(
            authorise(&principal, &tenant("gamma"), Action::ReadAlerts),
            Err(Denied::NoBinding { .. })
        ));
    }
}
