//! TOTP (RFC 6238 over HOTP, RFC 4226): HMAC-SHA1, 6 digits, 30-second steps, the parameters
//! every authenticator app takes from an `otpauth://` URI. A code is accepted for the current
//! step and one step either side (clock skew), and a step that was already used is refused, so
//! that a code seen once (over a shoulder, in a proxy log) cannot be used again.

use jiff::Timestamp;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Bytes of a generated secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;

/// Why a code is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not six ASCII digits.
    #[error("a code is {DIGITS} digits")]
    Malformed,
    /// Not the code of the current step or one either side.
    #[error("the code is wrong or has expired")]
    Wrong,
    /// The code's step was already used.
    #[error("the code was already used; wait for the next one")]
    Replayed,
    /// The system's random generator failed.
    #[error("no randomness available for a new secret")]
    Random,
}

/// A shared TOTP secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

impl Secret {
    /// A new random secret.
    pub fn generate() -> Result<Secret, TotpError> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| TotpError::Random)?;
        Ok(Secret(bytes))
    }

    /// A secret from its bytes (as stored).
    pub fn from_bytes(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    /// Its bytes, to store (encrypted) with the account.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 without padding, as authenticator apps take it.
    pub fn to_base32(&self) -> String {
        base32(&self.0)
    }

    /// The `otpauth://` URI an authenticator app enrols from (usually shown as a QR code).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            percent(issuer),
            percent(account),
            self.to_base32(),
            percent(issuer)
        )
    }

    /// The code of step `step` (RFC 4226 dynamic truncation), with `digits` digits.
    pub fn code(&self, step: u64, digits: u32) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &self.0);
        let tag = hmac::sign(&key, &step.to_be_bytes());
        let mac = tag.as_ref();
        let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
        let window: [u8; 4] = mac
            .get(offset..offset + 4)
            .and_then(|w| w.try_into().ok())
            .unwrap_or([0; 4]);
        let binary = u32::from_be_bytes(window) & 0x7fff_ffff;
        let modulus = 10u64.pow(digits);
        format!(
            "{:0width$}",
            u64::from(binary) % modulus,
            width = digits as usize
        )
    }

    /// Checks `code` at `now`. `last_used` is the step of the account's last accepted code;
    /// on success the step of this code is returned, to be stored as the new `last_used`.
    pub fn verify(
        &self,
        code: &str,
        now: Timestamp,
        last_used: Option<u64>,
    ) -> Result<u64, TotpError> {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Malformed);
        }
        let current = step_at(now);
        let mut matched = None;
        // Every candidate is computed and compared, so the time taken does not tell which
        // step matched.
        for step in [
            current.saturating_sub(1),
            current,
            current.saturating_add(1),
        ] {
            if equal(self.code(step, DIGITS).as_bytes(), code.as_bytes()) && matched.is_none() {
                matched = Some(step);
            }
        }
        let step = matched.ok_or(TotpError::Wrong)?;
        if last_used.is_some_and(|used| step <= used) {
            return Err(TotpError::Replayed);
        }
        Ok(step)
    }
}

/// The step of an instant (none before the epoch).
pub fn step_at(now: Timestamp) -> u64 {
    u64::try_from(now.as_second().max(0) / STEP_SECONDS).unwrap_or(0)
}

/// Compares without stopping at the first difference.
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// RFC 4648 base32, without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let index = ((buffer >> bits) & 31) as usize;
            out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
        }
    }
    if bits > 0 {
        let index = ((buffer << (5 - bits)) & 31) as usize;
        out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
    }
    out
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn percent(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> Secret {
        Secret::from_bytes(b"12345678901234567890".to_vec())
    }

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors() {
        for (seconds, expected) in [
            (59i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let step = step_at(Timestamp::from_second(seconds).unwrap());
            assert_eq!(rfc_secret().code(step, 8), expected, "T = {seconds}");
        }
    }

    #[test]
    fn rfc_4648_base32_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), expected);
        }
    }

    #[test]
    fn codes_are_accepted_once_within_a_step_either_side() {
        let secret = Secret::generate().unwrap();
        assert_eq!(secret.as_bytes().len(), SECRET_BYTES);
        let now = Timestamp::from_second(1_800_000_015).unwrap();
        let step = step_at(now);
        let code = secret.code(step, DIGITS);
        assert_eq!(secret.verify(&code, now, None), Ok(step));
        // The same code again: refused, though still valid in time.
        assert_eq!(
            secret.verify(&code, now, Some(step)),
            Err(TotpError::Replayed)
        );
        // An older step's code after a newer one was used: refused.
        let previous = secret.code(step - 1, DIGITS);
        assert_eq!(
            secret.verify(&previous, now, Some(step)),
            Err(TotpError::Replayed)
        );
        // One step of skew either way is accepted; two are not.
        assert_eq!(secret.verify(&previous, now, None), Ok(step - 1));
        assert_eq!(
            secret.verify(&secret.code(step + 1, DIGITS), now, None),
            Ok(step + 1)
        );
        assert_eq!(
            secret.verify(&secret.code(step + 2, DIGITS), now, None),
            Err(TotpError::Wrong)
        );
        assert_eq!(
            secret.verify(&secret.code(step - 2, DIGITS), now, None),
            Err(TotpError::Wrong)
        );
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                secret.verify(bad, now, None),
                Err(TotpError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_enrolment_uri_names_issuer_account_and_parameters() {
        let uri = rfc_secret().otpauth_uri("Shieldwall SOC", "ann@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Shieldwall%20SOC:ann%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Shieldwall%20SOC&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(format!("{:?}", rfc_secret()), "Secret(hidden)");
    }
}
