//! Tenant identifiers and stable record identifiers.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The namespace under which Shieldwall derives its version-5 UUIDs. Changing it changes every
/// derived id, so it is fixed forever.
const SHIELDWALL_NAMESPACE: Uuid = Uuid::from_u128(0x5f1e_1d3a_9c0b_4c2e_8a77_2b6d_1f40_c0de);

/// A tenant: one customer of the centre. Lowercase ASCII letters, digits, `-` and `_`, starting
/// with a letter or digit, at most 63 characters, so it is safe in paths, URLs and index names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

/// Why a string is not a valid [`TenantId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid tenant id {value:?}: use 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter or digit"
)]
pub struct InvalidTenantId {
    /// The rejected value.
    pub value: String,
}

impl TenantId {
    /// The tenant used when a deployment serves a single customer.
    pub const DEFAULT: &'static str = "default";

    /// Validates and wraps a tenant id.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidTenantId> {
        let value = value.into();
        let mut chars = value.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if first_ok && rest_ok && value.len() <= 63 {
            Ok(TenantId(value))
        } else {
            Err(InvalidTenantId { value })
        }
    }

    /// The tenant of a single-customer deployment.
    pub fn default_tenant() -> Self {
        TenantId(Self::DEFAULT.to_owned())
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TenantId {
    fn default() -> Self {
        Self::default_tenant()
    }
}

impl TryFrom<String> for TenantId {
    type Error = InvalidTenantId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TenantId::new(value)
    }
}

impl From<TenantId> for String {
    fn from(value: TenantId) -> Self {
        value.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stable record identifier (a UUID).
///
/// Records with a natural key get a derived, deterministic id ([`RecordId::derive`]): the same
/// input always produces the same id, which is what lets a replay after a crash deduplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(Uuid);

impl RecordId {
    /// Derives a version-5 UUID from a kind (such as `"event"`) and the parts of a natural key.
    /// Parts are length-prefixed, so `["ab", "c"]` and `["a", "bc"]` give different ids.
    ///
    /// The id is exactly `Uuid::new_v5(namespace, name)` (SHA-1 of the namespace and the name,
    /// with the version and variant bits set); the name is hashed as it is built, without being
    /// collected first.
    pub fn derive(kind: &str, parts: &[&str]) -> Self {
        use sha1::Digest;
        let mut hasher = sha1::Sha1::new();
        hasher.update(SHIELDWALL_NAMESPACE.as_bytes());
        for part in std::iter::once(kind).chain(parts.iter().copied()) {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut bytes = [0u8; 16];
        for (byte, hashed) in bytes.iter_mut().zip(digest) {
            *byte = hashed;
        }
        RecordId(uuid::Builder::from_sha1_bytes(bytes).into_uuid())
    }

    /// Wraps an existing UUID.
    pub fn from_uuid(uuid: Uuid) -> Self {
        RecordId(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_validated() {
        assert!(TenantId::new("acme-1_b").is_ok());
        for bad in ["", "-acme", "Acme", "a/b", "a b", &"x".repeat(64)] {
            assert!(TenantId::new(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(TenantId::default().as_str(), "default");
    }

    #[test]
    fn derived_ids_are_stable_and_unambiguous() {
        let a = RecordId::derive("event", &["ab", "c"]);
        assert_eq!(a, RecordId::derive("event", &["ab", "c"]));
        assert_ne!(a, RecordId::derive("event", &["a", "bc"]));
        assert_ne!(a, RecordId::derive("alert", &["ab", "c"]));
        // Pinned: a change here would silently re-key every stored record.
        assert_eq!(a.to_string(), "acba5054-3021-50f9-8c3f-7bc08a447eaa");
        assert_eq!(a.as_uuid().get_version_num(), 5);
    }

    #[test]
    fn derived_ids_are_the_version_5_uuids_of_the_length_prefixed_name() {
        // Names of every length around the SHA-1 block boundaries, against uuid's own v5.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..300usize {
            let text: String = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    char::from(b'a' + (seed % 26) as u8)
                })
                .collect();
            let (a, b) = text.split_at(len / 3);
            let parts = [a, b, "line:42"];
            let mut name = Vec::new();
            for part in std::iter::once("event").chain(parts) {
                name.extend_from_slice(&(part.len() as u64).to_le_bytes());
                name.extend_from_slice(part.as_bytes());
            }
            let expected = Uuid::new_v5(&SHIELDWALL_NAMESPACE, &name);
            assert_eq!(
                RecordId::derive("event", &parts).as_uuid(),
                &expected,
                "{len}"
            );
        }
    }

    #[test]
    fn tenant_id_serde_validates() {
        let ok: Result<TenantId, _> = serde_json::from_str("\"acme\"");
        assert!(ok.is_ok());
        let bad: Result<TenantId, _> = serde_json::from_str("\"ACME\"");
        assert!(bad.is_err());
    }
}
