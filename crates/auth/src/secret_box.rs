//! Sealing secrets the server must read back (TOTP secrets): ChaCha20-Poly1305 with a 256-bit key
//! kept in its own file outside the database, a random nonce per seal, and associated data that
//! binds a sealed secret to its owner, so that a copy of the database yields no secret and a
//! sealed secret moved to another account does not open.

use std::path::Path;

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::keyfile::{self, KeyFileError};

/// Bytes of a secret-box key.
const KEY_BYTES: usize = 32;

/// A key that seals and opens secrets.
pub struct SecretBox {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// A sealed secret that does not open: wrong key, wrong owner, or damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a sealed secret did not open: the secret key file is not the one it was sealed with, or the database was altered"
)]
pub struct SealBroken;

impl SecretBox {
    /// Loads the key file at `path`, creating it (0600) with a random key when it is missing.
    pub fn load_or_create(path: &Path) -> Result<SecretBox, KeyFileError> {
        let bytes = keyfile::read_or_create(path, || {
            let mut key = vec![0; KEY_BYTES];
            SystemRandom::new()
                .fill(&mut key)
                .map_err(|_| KeyFileError::NoRandomness)?;
            Ok(key)
        })?;
        Self::from_key(&bytes).ok_or_else(|| KeyFileError::Invalid {
            path: path.to_path_buf(),
            reason: format!(
                "a secret key file holds exactly {KEY_BYTES} bytes, this one {}",
                bytes.len()
            ),
        })
    }

    /// A box with the given key (32 bytes).
    pub fn from_key(key: &[u8]) -> Option<SecretBox> {
        if key.len() != KEY_BYTES {
            return None;
        }
        let key = UnboundKey::new(&CHACHA20_POLY1305, key).ok()?;
        Some(SecretBox {
            key: LessSafeKey::new(key),
        })
    }

    /// Seals `secret` for `owner`: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, owner: &str, secret: &[u8]) -> Result<Vec<u8>, KeyFileError> {
        let mut nonce = [0; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyFileError::NoRandomness)?;
        let mut sealed = secret.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner_aad(owner)),
                &mut sealed,
            )
            .map_err(|_| KeyFileError::NoRandomness)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`SecretBox::seal`] sealed for `owner`.
    pub fn open(&self, owner: &str, sealed: &[u8]) -> Result<Vec<u8>, SealBroken> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN).ok_or(SealBroken)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealBroken)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(owner_aad(owner)), &mut body)
            .map_err(|_| SealBroken)?;
        Ok(plain.to_vec())
    }
}

/// Account names are unique without regard to case, so the binding is too.
fn owner_aad(owner: &str) -> Vec<u8> {
    let mut aad = b"shieldwall-secret-v1\0".to_vec();
    aad.extend_from_slice(owner.to_ascii_lowercase().as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn secrets_open_only_with_their_key_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let sealer = SecretBox::load_or_create(&path).unwrap();
        let sealed = sealer.seal("alice", b"totp secret").unwrap();
        assert!(!sealed.windows(11).any(|w| w == b"totp secret"));
        let reloaded = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(reloaded.open("Alice", &sealed).unwrap(), b"totp secret");
        assert_eq!(reloaded.open("bob", &sealed), Err(SealBroken));
        let other = SecretBox::from_key(&[7; 32]).unwrap();
        assert_eq!(other.open("alice", &sealed), Err(SealBroken));
        let mut damaged = sealed.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open("alice", &damaged), Err(SealBroken));
        assert_eq!(sealer.open("alice", &sealed[..5]), Err(SealBroken));
        assert_ne!(
            sealer.seal("alice", b"x").unwrap(),
            sealer.seal("alice", b"x").unwrap()
        );
        std::fs::write(dir.path().join("short.key"), [1, 2]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let short = dir.path().join("short.key");
            std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(SecretBox::load_or_create(&short).is_err());
        }
    }
}
