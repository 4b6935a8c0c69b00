//! The built-in parsers and the registry that holds them.
//!
//! Host and application text logs live in [`text`]; structured formats (JSON families, CEF,
//! LEEF, key=value) in [`structured`]. Each submodule registers its parsers with the keys that
//! route messages to them (see [`crate::registry`]).

use crate::registry::{Registry, RegistryError};

pub mod structured;
pub mod text;

/// A registry holding every built-in parser.
pub fn builtin() -> Result<Registry, RegistryError> {
    let mut registry = Registry::new();
    text::register(&mut registry)?;
    structured::register(&mut registry)?;
    Ok(registry)
}
