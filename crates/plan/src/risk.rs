//! The gap risk score: a documented, additive 0-100 score (docs/risk-score.md) so that an auditor
//! can recompute any figure by hand.

use crate::manifest::Classification;

/// What the score looks at.
#[derive(Debug, Clone)]
pub struct Exposure {
    /// The customer alone owes it (otherwise the customer's part of a shared duty).
    pub owner_is_customer: bool,
    /// Any affected workload faces the internet.
    pub internet_facing: bool,
    /// The most sensitive data classification among the affected workloads.
    pub classification: Option<Classification>,
    /// It serves a CCM-Lite control (CSA's short list of essential controls).
    pub ccm_lite: bool,
    /// Something is assigned everywhere; only the evidence is missing or stale.
    pub evidence_only: bool,
}

/// Points for each factor. Kept as named constants so the documentation and the code agree.
pub mod points {
    /// The customer alone owes it.
    pub const CUSTOMER_OWNED: u32 = 40;
    /// The customer owes its part of a shared duty.
    pub const SHARED: u32 = 30;
    /// An affected workload faces the internet.
    pub const INTERNET_FACING: u32 = 20;
    /// Data classification of the most sensitive affected workload.
    pub const CLASSIFICATION: [u32; 4] = [0, 5, 15, 25];
    /// A CCM-Lite control depends on it.
    pub const CCM_LITE: u32 = 15;
    /// Deducted when a supplier is assigned and only the evidence is missing or stale.
    pub const EVIDENCE_ONLY_DEDUCTION: u32 = 10;
}

/// The score, 0 to 100.
pub fn score(e: &Exposure) -> u32 {
    let mut s = if e.owner_is_customer {
        points::CUSTOMER_OWNED
    } else {
        points::SHARED
    };
    if e.internet_facing {
        s += points::INTERNET_FACING;
    }
    s += match e.classification {
        None | Some(Classification::Public) => points::CLASSIFICATION[0],
        Some(Classification::Internal) => points::CLASSIFICATION[1],
        Some(Classification::Confidential) => points::CLASSIFICATION[2],
        Some(Classification::Restricted) => points::CLASSIFICATION[3],
    };
    if e.ccm_lite {
        s += points::CCM_LITE;
    }
    if e.evidence_only {
        s = s.saturating_sub(points::EVIDENCE_ONLY_DEDUCTION);
    }
    s.min(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_case_is_one_hundred_and_best_is_twenty() {
        let worst = Exposure {
            owner_is_customer: true,
            internet_facing: true,
            classification: Some(Classification::Restricted),
            ccm_lite: true,
            evidence_only: false,
        };
        assert_eq!(score(&worst), 100);
        let mild = Exposure {
            owner_is_customer: false,
            internet_facing: false,
            classification: Some(Classification::Public),
            ccm_lite: false,
            evidence_only: true,
        };
        assert_eq!(score(&mild), 20);
    }

    #[test]
    fn each_factor_raises_the_score() {
        let base = Exposure {
            owner_is_customer: false,
            internet_facing: false,
            classification: None,
            ccm_lite: false,
            evidence_only: false,
        };
        let b = score(&base);
        assert!(
            score(&Exposure {
                owner_is_customer: true,
                ..base.clone()
            }) > b
        );
        assert!(
            score(&Exposure {
                internet_facing: true,
                ..base.clone()
            }) > b
        );
        assert!(
            score(&Exposure {
                classification: Some(Classification::Internal),
                ..base.clone()
            }) > b
        );
        assert!(
            score(&Exposure {
                ccm_lite: true,
                ..base.clone()
            }) > b
        );
        assert!(
            score(&Exposure {
                evidence_only: true,
                ..base.clone()
            }) < b
        );
    }
}
