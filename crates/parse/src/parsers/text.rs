//! Host and application text logs.

use crate::registry::{Registry, RegistryError};

/// Registers the text parsers.
pub fn register(_registry: &mut Registry) -> Result<(), RegistryError> {
    Ok(())
}
