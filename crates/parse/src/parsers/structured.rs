//! Structured formats: JSON families, CEF, LEEF and key=value.
//!
//! | parser id | format | offered by |
//! | --- | --- | --- |
//! | `suricata-eve` | Suricata EVE JSON | JSON key `event_type` |
//! | `modsecurity-audit` | ModSecurity v2/v3 and Coraza JSON audit log | JSON key `transaction` |
//! | `k8s-audit` | Kubernetes audit events | JSON key `auditID` |
//! | `aws-cloudtrail` | AWS CloudTrail records | JSON key `eventVersion` |
//! | `windows-event-json` | Windows events (NXLog, Winlogbeat, EVTX-as-JSON) | JSON keys `EventID`, `winlog`, `Event` |
//! | `json` | any other JSON object | the generic JSON slot |
//! | `cef` | ArcSight CEF | prefix `CEF:`, program `CEF` |
//! | `leef` | IBM LEEF 1.0 and 2.0 | prefix `LEEF:`, program `LEEF` |
//! | `kv` | `key=value` lines | fallback |
//!
//! Each parser lives in its own file under `structured/`; [`common`] holds what they share.

use std::sync::Arc;

use crate::registry::{Keys, Parser, Registry, RegistryError};

pub mod cef;
pub mod cloudtrail;
pub mod common;
pub mod json;
pub mod k8s;
pub mod kv;
pub mod leef;
pub mod modsecurity;
pub mod suricata;
pub mod windows;

/// Registers the structured parsers.
pub fn register(registry: &mut Registry) -> Result<(), RegistryError> {
    registry.register(
        Parser::Json(Arc::new(suricata::Suricata)),
        &Keys::json(&["event_type"]),
    )?;
    registry.register(
        Parser::Json(Arc::new(modsecurity::ModSecurity)),
        &Keys::json(&["transaction"]),
    )?;
    registry.register(
        Parser::Json(Arc::new(k8s::K8sAudit)),
        &Keys::json(&["auditID"]),
    )?;
    registry.register(
        Parser::Json(Arc::new(cloudtrail::CloudTrail)),
        &Keys::json(&["eventVersion"]),
    )?;
    registry.register(
        Parser::Json(Arc::new(windows::WindowsEvent)),
        &Keys::json(&["EventID", "winlog", "Event"]),
    )?;
    registry.register_generic_json(Arc::new(json::GenericJson))?;
    registry.register(
        Parser::Text(Arc::new(cef::Cef)),
        &Keys::programs(&["CEF"]).with_prefixes(&["CEF:"]),
    )?;
    registry.register(
        Parser::Text(Arc::new(leef::Leef)),
        &Keys::programs(&["LEEF"]).with_prefixes(&["LEEF:"]),
    )?;
    registry.register(
        Parser::Text(Arc::new(kv::KeyValue)),
        &Keys {
            fallback: true,
            ..Keys::default()
        },
    )?;
    Ok(())
}
