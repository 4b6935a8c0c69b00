//! The login backoff: after repeated failures, the next attempt must wait, doubling up to a cap.
//!
//! Three streaks count, each since its last success: failures from the client's address (any
//! account), failures of the account from that address, and failures of the account from other
//! addresses. The last one applies only to addresses the account has never logged in from
//! successfully (in the last 30 days), so that failures an attacker causes from elsewhere never
//! slow down the account's owner at a known address: nobody can lock an administrator out from
//! outside. A new address of the owner's waits at most [`Backoff::ACCOUNT`]'s cap.

use jiff::{SignedDuration, Timestamp};
use shieldwall_store::meta::{FailureStreak, LoginHistory};

/// One streak's rule: free attempts, then a wait doubling from one second up to a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures allowed before any wait.
    pub free: u32,
    /// The longest wait.
    pub cap: SignedDuration,
}

impl Backoff {
    /// From one address, whatever account: 10 free, then up to 15 minutes.
    pub const ADDRESS: Backoff = Backoff {
        free: 10,
        cap: SignedDuration::from_mins(15),
    };
    /// One account from one address: 3 free, then up to 15 minutes.
    pub const ACCOUNT_HERE: Backoff = Backoff {
        free: 3,
        cap: SignedDuration::from_mins(15),
    };
    /// One account from other addresses, applied at unknown addresses only: 10 free, then up to
    /// 5 minutes.
    pub const ACCOUNT: Backoff = Backoff {
        free: 10,
        cap: SignedDuration::from_mins(5),
    };

    /// The wait after `streak`, if any.
    pub fn wait(self, streak: FailureStreak) -> SignedDuration {
        let Some(over) = streak.failures.checked_sub(self.free) else {
            return SignedDuration::ZERO;
        };
        let seconds = 1i64.checked_shl(over.min(30)).unwrap_or(i64::MAX);
        SignedDuration::from_secs(seconds).min(self.cap)
    }
}

/// How long the attempt must still wait at `now`, if at all.
pub fn delay(history: &LoginHistory, now: Timestamp) -> Option<SignedDuration> {
    let mut rules = vec![
        (Backoff::ADDRESS, history.address),
        (Backoff::ACCOUNT_HERE, history.account_here),
    ];
    if !history.known_address {
        rules.push((Backoff::ACCOUNT, history.account_elsewhere));
    }
    rules
        .into_iter()
        .filter_map(|(rule, streak)| {
            let until = streak.last? + rule.wait(streak);
            (until > now).then(|| until.duration_since(now))
        })
        .max()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn streak(failures: u32, last: i64) -> FailureStreak {
        FailureStreak {
            failures,
            last: Some(Timestamp::from_second(last).unwrap()),
        }
    }

    #[test]
    fn waits_double_up_to_the_cap() {
        let rule = Backoff::ACCOUNT_HERE;
        let waits: Vec<i64> = (0..8).map(|n| rule.wait(streak(n, 0)).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16]);
        assert_eq!(rule.wait(streak(1000, 0)), SignedDuration::from_mins(15));
    }

    #[test]
    fn failures_from_elsewhere_never_slow_a_known_address() {
        let now = Timestamp::from_second(1_000).unwrap();
        let attacked = LoginHistory {
            account_elsewhere: streak(500, 999),
            known_address: true,
            ..LoginHistory::default()
        };
        assert_eq!(delay(&attacked, now), None);
        let unknown = LoginHistory {
            known_address: false,
            ..attacked
        };
        assert_eq!(delay(&unknown, now), Some(SignedDuration::from_secs(299)));
        // Waits run from the last failure.
        let here = LoginHistory {
            account_here: streak(5, 990),
            known_address: true,
            ..LoginHistory::default()
        };
        assert_eq!(delay(&here, now), None);
        let here = LoginHistory {
            account_here: streak(8, 990),
            ..here
        };
        assert_eq!(delay(&here, now), Some(SignedDuration::from_secs(22)));
    }
}
