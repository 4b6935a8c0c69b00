//! Credentials of the server's accounts: passwords hashed with Argon2id ([`password`]) and the
//! TOTP second factor of RFC 6238 ([`totp`]), with the replay protection the guideline's strict
//! authentication of administrators needs; and the opaque session and API tokens ([`token`]),
//! stored only as digests.

pub mod password;
pub mod token;
pub mod totp;
