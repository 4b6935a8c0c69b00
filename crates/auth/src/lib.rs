//! Credentials of the server's accounts (`docs/accounts.md` when the server's API lands): the
//! TOTP second factor of RFC 6238 ([`totp`]), with the replay protection the guideline's strict
//! authentication of administrators needs. Password hashing, sessions and API tokens join this
//! crate next.

pub mod totp;
