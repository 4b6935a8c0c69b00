//! Structured formats: JSON families, CEF, LEEF and key=value.

use crate::registry::{Registry, RegistryError};

/// Registers the structured parsers.
pub fn register(_registry: &mut Registry) -> Result<(), RegistryError> {
    Ok(())
}
