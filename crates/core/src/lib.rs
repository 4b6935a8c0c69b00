//! Records, identifiers and references shared by every Shieldwall crate.
//!
//! `shieldwall-core` owns the vocabulary the rest of the system speaks: the tenant a record belongs
//! to ([`TenantId`]), stable record identifiers ([`RecordId`]), references to controls of a
//! framework version ([`ControlRef`]), and the four records of the design: [`Event`], [`Alert`],
//! [`Finding`] and [`Evidence`]. It knows nothing of tokio, HTTP, files or storage.
//!
//! Every record carries a tenant and an id from the start, so that storage, the API and the audit
//! trail never have to retrofit them. Ids are deterministic where the record has a natural key, so
//! that replaying the same input yields the same ids (the store relies on that to deduplicate).
//!
//! ```
//! use shieldwall_core::{ControlRef, Framework, TenantId, RecordId};
//!
//! let control: ControlRef = "ccm-4.0.13:LOG-05".parse().unwrap();
//! assert_eq!(control.framework, Framework::CcmV4_0_13);
//! let tenant = TenantId::new("acme").unwrap();
//! let a = RecordId::derive("evidence", &[tenant.as_str(), "LOG-05"]);
//! assert_eq!(a, RecordId::derive("evidence", &[tenant.as_str(), "LOG-05"]));
//! ```

mod access;
mod control;
pub mod event;
pub mod hex;
pub mod html;
mod id;
mod records;

pub use access::{Role, Scope, UnknownRole};
pub use control::{ControlRef, Framework, ParseControlRefError};
pub use event::{Event, EventClass, EventParse, LogKind, Severity, TimeStatus};
pub use id::{InvalidTenantId, RecordId, TenantId};
pub use records::{Alert, AlertState, Evidence, EvidenceSource, Finding, FindingStatus};
