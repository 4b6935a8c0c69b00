//! Passwords: Argon2id with OWASP's parameters (19 MiB of memory, 2 passes, 1 lane), each with a
//! random 16-byte salt, stored as a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) that
//! carries its parameters, so that raising them later re-hashes passwords as their owners log in
//! ([`needs_rehash`]). Cheaper parameters exist for tests only.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};

/// The shortest password accepted, in characters.
pub const MIN_CHARS: usize = 12;
/// The longest password accepted, in bytes (hashing work is bounded by it).
pub const MAX_BYTES: usize = 1024;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Cost {
    /// OWASP's recommendation for Argon2id (Password Storage Cheat Sheet): m=19 MiB, t=2, p=1.
    pub const OWASP: Cost = Cost {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// For tests only: fast and weak.
    pub const TEST_ONLY: Cost = Cost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn hasher(self) -> Result<Argon2<'static>, PasswordError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| PasswordError::Hashing(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Why a password or a stored hash is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Shorter than [`MIN_CHARS`], longer than [`MAX_BYTES`], or with a NUL.
    #[error("a password has {MIN_CHARS} to {MAX_BYTES} bytes' worth of characters and no NUL")]
    Unacceptable,
    /// The stored hash does not parse, or is not Argon2id.
    #[error("the stored password hash is not an Argon2id PHC string: {0}")]
    Stored(String),
    /// Hashing failed (randomness, parameters).
    #[error("hashing failed: {0}")]
    Hashing(String),
}

/// Checks what a new password must be.
pub fn acceptable(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_CHARS || password.len() > MAX_BYTES || password.contains('\0')
    {
        return Err(PasswordError::Unacceptable);
    }
    Ok(())
}

/// The PHC string of `password` with a fresh random salt.
pub fn hash(password: &str, cost: Cost) -> Result<String, PasswordError> {
    acceptable(password)?;
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| PasswordError::Hashing("no randomness available".into()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    cost.hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Whether `password` matches `stored` (a PHC string from [`hash`]). The comparison is the
/// argon2 crate's, in constant time.
pub fn verify(password: &str, stored: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(stored).map_err(|e| PasswordError::Stored(e.to_string()))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(PasswordError::Stored(format!(
            "algorithm {}",
            parsed.algorithm.as_str()
        )));
    }
    if password.len() > MAX_BYTES {
        return Ok(false);
    }
    // The parameters come from the stored string; the hasher's own are not used to verify.
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// Whether `stored` was made with other parameters than `cost` (re-hash at the next login).
pub fn needs_rehash(stored: &str, cost: Cost) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm.as_str() != "argon2id"
        || params.m_cost() != cost.memory_kib
        || params.t_cost() != cost.iterations
        || params.p_cost() != cost.parallelism
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let stored = hash("correct horse battery staple", Cost::OWASP).unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert_eq!(verify("correct horse battery staple", &stored), Ok(true));
        assert_eq!(verify("correct horse battery stapl", &stored), Ok(false));
        assert!(!needs_rehash(&stored, Cost::OWASP));
        assert!(needs_rehash(&stored, Cost::TEST_ONLY));
        // Salted: the same password gives another string.
        let again = hash("correct horse battery staple", Cost::TEST_ONLY).unwrap();
        assert_ne!(
            again,
            hash("correct horse battery staple", Cost::TEST_ONLY).unwrap()
        );
        assert_eq!(verify("correct horse battery staple", &again), Ok(true));
    }

    #[test]
    fn weak_passwords_and_foreign_hashes_are_refused() {
        for bad in [
            "short",
            "elevenchars",
            &"x".repeat(MAX_BYTES + 1),
            "twelve chars\0x",
        ] {
            assert_eq!(
                hash(bad, Cost::TEST_ONLY),
                Err(PasswordError::Unacceptable),
                "{bad:?}"
            );
        }
        assert!(acceptable("twelve chars").is_ok());
        assert!(matches!(
            verify("x", "not a hash"),
            Err(PasswordError::Stored(_))
        ));
        // bcrypt, and Argon2i, are not taken as stored hashes.
        assert!(
            verify(
                "x",
                "$2b$12$C6UzMDM.H6dfI/f/IKxGhuG8X8XQ6mAvB7y0LA5L6G4ubNkxUKcJO"
            )
            .is_err()
        );
        let argon2i = "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$6Ub2YSkq1wpLdIHdoDE5jA";
        assert!(matches!(
            verify("x", argon2i),
            Err(PasswordError::Stored(_))
        ));
        assert!(needs_rehash("garbage", Cost::OWASP));
    }
}
