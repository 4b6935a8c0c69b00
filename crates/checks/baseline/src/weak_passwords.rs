//! The `weak_password_hashes` probe: which accounts of `/etc/shadow` have one of the most
//! common passwords (`policies/baseline/data/common-passwords.txt`, 1,000 of them, or the
//! account's own name). yescrypt (Debian's default) costs tens of milliseconds a try, so the
//! search runs within a time budget, most common passwords first, and says how far it got.
//!
//! A hash is only tried when its cost is bounded: a hostile image's `/etc/shadow` could
//! otherwise ask for gigabytes of memory (yescrypt's N) or hours of work (SHA-crypt's rounds).

use std::time::{Duration, Instant};

use sha_crypt::ShaCrypt;
use yescrypt::{PasswordVerifier, Yescrypt};

/// The candidate passwords, most common first.
const COMMON_PASSWORDS: &str =
    include_str!("../../../../policies/baseline/data/common-passwords.txt");

/// SHA-crypt rounds above this are not tried (the default is 5,000).
const MAX_SHA_ROUNDS: u32 = 50_000;
/// yescrypt memory (128 * N * r bytes) above this is not tried (Debian's default is 16 MiB).
const MAX_YESCRYPT_BYTES: u64 = 128 * 1024 * 1024;

/// What the search found and how far it got.
#[derive(Debug, Default)]
pub struct WeakPasswords {
    /// Accounts whose hash matched a candidate.
    pub weak: Vec<String>,
    /// How far the search got, in words, for the evidence.
    pub note: String,
    /// Every candidate was tried against every hash: finding none then means none is weak.
    pub complete: bool,
}

#[derive(Clone, Copy)]
enum Scheme {
    Yescrypt,
    ShaCrypt,
}

struct Account<'a> {
    user: &'a str,
    hash: &'a str,
    scheme: Scheme,
    found: bool,
}

/// Searches the hashes of a shadow file within `budget`.
pub fn search(shadow: &str, budget: Duration) -> WeakPasswords {
    let started = Instant::now();
    let mut accounts = Vec::new();
    let mut unchecked: Vec<String> = Vec::new();
    for line in shadow.lines() {
        let mut fields = line.split(':');
        let (Some(user), Some(hash)) = (fields.next(), fields.next()) else {
            continue;
        };
        if user.is_empty() || hash.is_empty() || hash.starts_with('!') || hash.starts_with('*') {
            // Empty hashes are `empty_password_hashes`' business; `!` and `*` cannot log in.
            continue;
        }
        match scheme_of(hash) {
            Ok(scheme) => accounts.push(Account {
                user,
                hash,
                scheme,
                found: false,
            }),
            Err(why) => unchecked.push(format!("{user} ({why})")),
        }
    }
    let candidates: Vec<&str> = COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect();
    let total = candidates.len() + 1;
    let mut tried = 0usize;
    let mut out_of_time = false;
    'search: for round in 0..total {
        for account in accounts.iter_mut().filter(|a| !a.found) {
            if started.elapsed() >= budget {
                out_of_time = true;
                break 'search;
            }
            // The account's own name first: it is as common as any list's top entry.
            let candidate = if round == 0 {
                account.user
            } else {
                candidates.get(round - 1).copied().unwrap_or("")
            };
            account.found = verify(account.scheme, candidate, account.hash);
        }
        tried = round + 1;
        if accounts.iter().all(|a| a.found) {
            break;
        }
    }
    let mut note = if accounts.is_empty() {
        "no crypt hash to try".to_owned()
    } else if out_of_time {
        format!(
            "tried {tried} of {total} candidate passwords against {} hashes before the {} s budget ran out",
            accounts.len(),
            budget.as_secs()
        )
    } else {
        format!(
            "tried all {total} candidate passwords against {} hashes",
            accounts.len()
        )
    };
    if !unchecked.is_empty() {
        note.push_str(&format!("; not tried: {}", unchecked.join(", ")));
    }
    let complete = !out_of_time && unchecked.is_empty();
    WeakPasswords {
        weak: accounts
            .iter()
            .filter(|a| a.found)
            .map(|a| a.user.to_owned())
            .collect(),
        note,
        complete,
    }
}

fn verify(scheme: Scheme, password: &str, hash: &str) -> bool {
    match scheme {
        Scheme::Yescrypt => Yescrypt::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok(),
        Scheme::ShaCrypt => ShaCrypt::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok(),
    }
}

/// The scheme of a hash whose cost is within bounds, or why it is not tried.
fn scheme_of(hash: &str) -> Result<Scheme, String> {
    if let Some(rest) = hash.strip_prefix("$y$") {
        let params = rest.split('$').next().unwrap_or("");
        let cost = yescrypt_memory(params)
            .ok_or_else(|| format!("yescrypt parameters `{params}` not tried"))?;
        if cost > MAX_YESCRYPT_BYTES {
            return Err(format!(
                "yescrypt cost of {} MiB over the limit",
                cost >> 20
            ));
        }
        return Ok(Scheme::Yescrypt);
    }
    if let Some(rest) = hash
        .strip_prefix("$6$")
        .or_else(|| hash.strip_prefix("$5$"))
    {
        if let Some(rounds) = rest.strip_prefix("rounds=") {
            let rounds: u32 = rounds
                .split('$')
                .next()
                .and_then(|r| r.parse().ok())
                .unwrap_or(u32::MAX);
            if rounds > MAX_SHA_ROUNDS {
                return Err(format!("{rounds} SHA-crypt rounds over the limit"));
            }
        }
        return Ok(Scheme::ShaCrypt);
    }
    let scheme = match hash.get(..3) {
        Some("$1$") => "md5-crypt",
        Some("$2a" | "$2b" | "$2y") => "bcrypt",
        Some("$7$") => "scrypt",
        _ if !hash.starts_with('$') => "DES crypt",
        _ => "unknown scheme",
    };
    Err(format!("{scheme} not supported"))
}

/// 128 * N * r for the parameter strings libxcrypt writes (`j9T`: flags, log2 N - 1 and r - 1 as
/// one crypt-base64 digit each); None for anything longer or other.
fn yescrypt_memory(params: &str) -> Option<u64> {
    const DIGITS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let digit = |b: u8| DIGITS.iter().position(|d| *d == b).map(|i| i as u64);
    let [flags, n, r] = params.as_bytes() else {
        return None;
    };
    if *flags != b'j' {
        return None;
    }
    // One digit encodes values below 48 here; the cap keeps well inside that.
    let (n, r) = (digit(*n)? + 1, digit(*r)? + 1);
    if n > 40 || r > 40 {
        return None;
    }
    Some(128u64.saturating_mul(1u64 << n).saturating_mul(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_read_from_libxcrypt_parameters() {
        assert_eq!(yescrypt_memory("j9T"), Some(16 << 20));
        assert_eq!(yescrypt_memory("jCT"), Some(128 << 20));
        assert_eq!(
            yescrypt_memory("jFT").map(|b| b > MAX_YESCRYPT_BYTES),
            Some(true)
        );
        assert_eq!(yescrypt_memory("j9T1"), None);
        assert!(scheme_of("$6$rounds=999999999$salt$hash").is_err());
        assert!(scheme_of("$1$salt$hash").is_err_and(|e| e.contains("md5")));
    }

    #[test]
    fn weak_hashes_are_found_and_strong_ones_are_not() {
        // mkpasswd (Debian's whois package): `-m sha-512 -S saltsalt password`, `-m yescrypt -R 1
        // letmein`, and a strong password for carol.
        let shadow = concat!(
            "alice:$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/:19000::::::\n",
            "bob:$y$j75$nIPgyfJSCh8uXWCkEKdq8.$v8g5FzaVnFdaULxRm.u8PcanDw55f.EnZ1aHeU9pNSC:19000::::::\n",
            "carol:$6$saltsalt$gWuYl0f18eHiLu.dTe4ckDJVwePLJuJWOzhYn1yZ2JHBqmvlO81bDgme3N/LcBPTWcigROh2sxmLW06mgRL6y.:19000::::::\n",
            "locked:!$6$saltsalt$x:19000::::::\n",
            "old:$1$salt$hash:19000::::::\n",
        );
        let found = search(shadow, Duration::from_secs(120));
        assert_eq!(found.weak, ["alice", "bob"], "{}", found.note);
        assert!(
            found
                .note
                .contains("tried all 1001 candidate passwords against 3 hashes"),
            "{}",
            found.note
        );
        assert!(
            found.note.contains("old (md5-crypt not supported)"),
            "{}",
            found.note
        );
    }
}
