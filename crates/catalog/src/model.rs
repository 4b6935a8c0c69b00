//! The small closed vocabularies of the guideline: service models, deployment models, parties and
//! owners.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A cloud service model (sections 2.3 to 2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceModel {
    /// Infrastructure as a service.
    Iaas,
    /// Platform as a service.
    Paas,
    /// Software as a service.
    Saas,
}

impl ServiceModel {
    /// All three, in stack order.
    pub const ALL: [ServiceModel; 3] = [ServiceModel::Iaas, ServiceModel::Paas, ServiceModel::Saas];

    /// The lowercase key, as written in manifests.
    pub fn key(self) -> &'static str {
        match self {
            ServiceModel::Iaas => "iaas",
            ServiceModel::Paas => "paas",
            ServiceModel::Saas => "saas",
        }
    }

    /// The usual capitalisation, e.g. `IaaS`.
    pub fn label(self) -> &'static str {
        match self {
            ServiceModel::Iaas => "IaaS",
            ServiceModel::Paas => "PaaS",
            ServiceModel::Saas => "SaaS",
        }
    }
}

impl fmt::Display for ServiceModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A cloud deployment model (section 1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentModel {
    /// Dedicated to one organisation.
    Private,
    /// Offered to the public.
    Public,
    /// A mix of private and public.
    Hybrid,
    /// Shared by a community.
    Community,
}

impl DeploymentModel {
    /// The lowercase key, as written in manifests.
    pub fn key(self) -> &'static str {
        match self {
            DeploymentModel::Private => "private",
            DeploymentModel::Public => "public",
            DeploymentModel::Hybrid => "hybrid",
            DeploymentModel::Community => "community",
        }
    }
}

/// Who owns a responsibility, area or capability in one service model, according to the guideline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// The cloud service provider.
    Csp,
    /// The cloud customer.
    Customer,
    /// Both, each for the layers it controls.
    Shared,
}

impl Owner {
    /// The lowercase key.
    pub fn key(self) -> &'static str {
        match self {
            Owner::Csp => "csp",
            Owner::Customer => "customer",
            Owner::Shared => "shared",
        }
    }

    /// Whether the customer has a part in it (customer-owned or shared).
    pub fn involves_customer(self) -> bool {
        matches!(self, Owner::Customer | Owner::Shared)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One value per service model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerModel<T> {
    /// The IaaS value.
    pub iaas: T,
    /// The PaaS value.
    pub paas: T,
    /// The SaaS value.
    pub saas: T,
}

impl<T: Copy> PerModel<T> {
    /// The value for `model`.
    pub fn get(&self, model: ServiceModel) -> T {
        match model {
            ServiceModel::Iaas => self.iaas,
            ServiceModel::Paas => self.paas,
            ServiceModel::Saas => self.saas,
        }
    }
}

/// Who owns a CCM control per the CSA's shared security responsibility model data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlOwnership {
    /// The provider alone: a customer inherits it.
    CspOwned,
    /// Both parties have a part.
    Shared,
    /// The customer alone.
    CscOwned,
    /// The control does not apply to this service model (CCM v3.0.1 applicability).
    NotApplicable,
    /// The source gives no owner (some CCM v3.0.1 rows).
    Unspecified,
}

impl ControlOwnership {
    /// The kebab-case key.
    pub fn key(self) -> &'static str {
        match self {
            ControlOwnership::CspOwned => "csp-owned",
            ControlOwnership::Shared => "shared",
            ControlOwnership::CscOwned => "csc-owned",
            ControlOwnership::NotApplicable => "not-applicable",
            ControlOwnership::Unspecified => "unspecified",
        }
    }

    /// Whether the customer has something to do for the control.
    pub fn involves_customer(self) -> bool {
        matches!(
            self,
            ControlOwnership::Shared | ControlOwnership::CscOwned | ControlOwnership::Unspecified
        )
    }
}

impl fmt::Display for ControlOwnership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}
