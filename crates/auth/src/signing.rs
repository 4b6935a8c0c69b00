//! Signing the heads of the audit trail's hash chains with Ed25519. The private key lives in its
//! own file (PKCS#8, mode 0600, never in the database); its public key is written next to it as
//! `<key>.pub` (hex), so that an auditor can verify signed heads without the private key.

use std::fs;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use shieldwall_core::hex::{from_hex, to_hex};

use crate::keyfile::{self, KeyFileError};

/// Signs chain heads.
pub struct AuditSigner {
    pair: Ed25519KeyPair,
    verifier: AuditVerifier,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditSigner({})", self.verifier.key_id)
    }
}

impl AuditSigner {
    /// Loads the key at `path`, creating it (and `<path>.pub`) when it is missing.
    pub fn load_or_create(path: &Path) -> Result<AuditSigner, KeyFileError> {
        let pkcs8 = keyfile::read_or_create(path, || {
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map(|doc| doc.as_ref().to_vec())
                .map_err(|_| KeyFileError::NoRandomness)
        })?;
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|e| KeyFileError::Invalid {
            path: path.to_path_buf(),
            reason: format!("not an Ed25519 PKCS#8 private key ({e})"),
        })?;
        let verifier = AuditVerifier::new(pair.public_key().as_ref().to_vec());
        let public_path = public_key_path(path);
        if !public_path.exists() {
            fs::write(&public_path, format!("{}\n", to_hex(&verifier.public))).map_err(
                |source| KeyFileError::Io {
                    path: public_path,
                    source,
                },
            )?;
        }
        Ok(AuditSigner { pair, verifier })
    }

    /// The verifier of this key's signatures.
    pub fn verifier(&self) -> &AuditVerifier {
        &self.verifier
    }

    /// Signs a head: record `seq` of `chain`, whose hash is `hash`, signed at `signed_at`.
    pub fn sign(&self, chain: &str, seq: u64, hash: &[u8; 32], signed_at: Timestamp) -> Vec<u8> {
        self.pair
            .sign(&message(chain, seq, hash, signed_at))
            .as_ref()
            .to_vec()
    }
}

/// Checks signatures of one public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerifier {
    public: Vec<u8>,
    key_id: String,
}

impl AuditVerifier {
    fn new(public: Vec<u8>) -> AuditVerifier {
        let key_id = to_hex(digest::digest(&digest::SHA256, &public).as_ref())
            .chars()
            .take(16)
            .collect();
        AuditVerifier { public, key_id }
    }

    /// Reads a public key written by [`AuditSigner::load_or_create`] (64 hex digits).
    pub fn from_public_file(path: &Path) -> Result<AuditVerifier, KeyFileError> {
        let text = fs::read_to_string(path).map_err(|source| KeyFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        from_hex(text.trim())
            .filter(|bytes| bytes.len() == 32)
            .map(AuditVerifier::new)
            .ok_or_else(|| KeyFileError::Invalid {
                path: path.to_path_buf(),
                reason: "an Ed25519 public key file holds 64 hex digits".to_owned(),
            })
    }

    /// The first 16 hex digits of the SHA-256 of the public key: names the key in signed heads.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether `signature` signs this head with this key.
    pub fn verify(
        &self,
        chain: &str,
        seq: u64,
        hash: &[u8; 32],
        signed_at: Timestamp,
        signature: &[u8],
    ) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.public)
            .verify(&message(chain, seq, hash, signed_at), signature)
            .is_ok()
    }
}

/// Where the public key of the private key at `path` is written.
pub fn public_key_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// What is signed: a domain tag, the chain (length-prefixed), the sequence number, the hash and
/// the signing time in nanoseconds, so that no two heads share a message.
fn message(chain: &str, seq: u64, hash: &[u8; 32], signed_at: Timestamp) -> Vec<u8> {
    let mut message = b"shieldwall-audit-head-v1\0".to_vec();
    message.extend_from_slice(&(chain.len() as u64).to_be_bytes());
    message.extend_from_slice(chain.as_bytes());
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(hash);
    message.extend_from_slice(&signed_at.as_nanosecond().to_be_bytes());
    message
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn heads_verify_with_the_public_key_only_as_signed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let signer = AuditSigner::load_or_create(&path).unwrap();
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let hash = [3; 32];
        let signature = signer.sign("acme", 7, &hash, at);
        let verifier = AuditVerifier::from_public_file(&public_key_path(&path)).unwrap();
        assert_eq!(&verifier, signer.verifier());
        assert_eq!(verifier.key_id().len(), 16);
        assert!(verifier.verify("acme", 7, &hash, at, &signature));
        assert!(!verifier.verify("acme", 8, &hash, at, &signature));
        assert!(!verifier.verify("acmf", 7, &hash, at, &signature));
        assert!(!verifier.verify("acme", 7, &[4; 32], at, &signature));
        let later = Timestamp::from_second(1_800_000_001).unwrap();
        assert!(!verifier.verify("acme", 7, &hash, later, &signature));
        let reloaded = AuditSigner::load_or_create(&path).unwrap();
        assert_eq!(
            reloaded.verifier(),
            signer.verifier(),
            "the key changed on reload"
        );
        let other = AuditSigner::load_or_create(&dir.path().join("other.key")).unwrap();
        assert!(!other.verifier().verify("acme", 7, &hash, at, &signature));
        std::fs::write(dir.path().join("bad.pub"), "zz").unwrap();
        assert!(AuditVerifier::from_public_file(&dir.path().join("bad.pub")).is_err());
    }
}
