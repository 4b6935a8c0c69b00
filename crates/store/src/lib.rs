//! The embedded store. Events live in tantivy indexes, one per tenant and day
//! ([`events`]); relational data (deletion records, retention settings, and later alerts and
//! accounts) lives in SQLite ([`meta`]). Both sit behind traits, [`EventStore`] and
//! [`MetaStore`], whose test suites every implementation must pass, so that scale-out engines
//! can come later without changing their callers.

pub mod events;
pub mod meta;

pub use events::{EventStore, Selection, StoreConfig, StoreError, TantivyStore};
pub use meta::MetaStore;
