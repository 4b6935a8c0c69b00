//! Who may do what, and how they prove who they are.
//!
//! - credentials: passwords hashed with Argon2id ([`password`]), the TOTP second factor of
//!   RFC 6238 with replay protection ([`totp`]), opaque session and API tokens stored only as
//!   digests ([`token`]);
//! - the roles' permissions and the [`permission::Grant`] a handler needs ([`permission`]);
//! - keys kept outside the database: the box that seals TOTP secrets ([`secret_box`]) and the
//!   Ed25519 key that signs the audit trail's chain heads ([`signing`]), both in owner-only files
//!   ([`keyfile`]).

pub mod keyfile;
pub mod password;
pub mod permission;
pub mod secret_box;
pub mod signing;
pub mod token;
pub mod totp;
