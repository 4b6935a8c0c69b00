//! Opaque tokens for sessions and API clients: 256 random bits, shown once as a prefixed
//! base64url text (`sws_…` for a console session, `swa_…` for an API token), stored only as their
//! SHA-256, so that a copy of the database yields no token that works. The prefix tells a leaked
//! token's kind at a glance (and lets secret scanners find it).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};

/// Random bytes of a token.
const TOKEN_BYTES: usize = 32;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A console session (an HttpOnly cookie).
    Session,
    /// An API client's bearer token, scoped to one role binding.
    Api,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "sws_",
            TokenKind::Api => "swa_",
        }
    }
}

/// A new token: the text to give once, and what to store.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    /// The token as the client will send it; never stored.
    pub text: String,
    /// Its SHA-256: what is stored and looked up.
    pub digest: [u8; 32],
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("text", &"(hidden)")
            .finish_non_exhaustive()
    }
}

/// Why a token could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no randomness available for a new token")]
pub struct NoRandomness;

/// Issues a token of `kind`.
pub fn issue(kind: TokenKind) -> Result<Issued, NoRandomness> {
    let mut bytes = [0u8; TOKEN_BYTES];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| NoRandomness)?;
    let text = format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes));
    let digest = sha256(&text);
    Ok(Issued { text, digest })
}

/// The digest to look up for a token a client presented, or `None` when it is not a well-formed
/// token of `kind` (refused without a database lookup).
pub fn digest(kind: TokenKind, presented: &str) -> Option<[u8; 32]> {
    let body = presented.strip_prefix(kind.prefix())?;
    let decoded = URL_SAFE_NO_PAD.decode(body).ok()?;
    (decoded.len() == TOKEN_BYTES).then(|| sha256(presented))
}

/// The CSRF token of a console session: derived from the session token, so it needs no storage,
/// and useless without the session cookie, which a forged cross-site request cannot read.
pub fn csrf_token(session: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(&format!("shieldwall-csrf\0{session}")))
}

fn sha256(text: &str) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_stored_as_digests() {
        let a = issue(TokenKind::Api).unwrap();
        let b = issue(TokenKind::Api).unwrap();
        assert_ne!(a.text, b.text);
        assert!(
            a.text.starts_with("swa_") && a.text.len() == 4 + 43,
            "{}",
            a.text
        );
        assert_eq!(digest(TokenKind::Api, &a.text), Some(a.digest));
        assert_ne!(a.digest, b.digest);
        assert_eq!(format!("{a:?}"), "Issued { text: \"(hidden)\", .. }");
        let session = issue(TokenKind::Session).unwrap();
        assert!(session.text.starts_with("sws_"));
        let csrf = csrf_token(&session.text);
        assert_eq!(csrf, csrf_token(&session.text));
        assert_ne!(csrf, csrf_token(&a.text));
        assert!(!csrf.contains(&session.text));
        // A token of one kind is not one of the other.
        assert_eq!(digest(TokenKind::Api, &session.text), None);
        for bad in [
            "",
            "swa_",
            "swa_!!!!",
            "swa_AAAA",
            &format!("{}x", a.text),
            "Bearer swa_x",
        ] {
            assert_eq!(digest(TokenKind::Api, bad), None, "{bad:?}");
        }
    }
}
