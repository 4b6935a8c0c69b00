//! References to a control of a framework version, such as `ccm-4.0.13:LOG-05`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A control framework at one version. Controls are keyed by (framework, id), never by id alone:
/// CCM v4.1 renumbered controls, so `DCS-05` of v4.0.13 and of v4.1.0 are different controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Framework {
    /// CSA Cloud Controls Matrix v3.0.1, the version the guideline cites.
    #[serde(rename = "ccm-3.0.1")]
    CcmV3_0_1,
    /// CSA Cloud Controls Matrix v4.0.13, the version Shieldwall maps to.
    #[serde(rename = "ccm-4.0.13")]
    CcmV4_0_13,
    /// CSA Cloud Controls Matrix v4.1.0, for browsing.
    #[serde(rename = "ccm-4.1.0")]
    CcmV4_1_0,
}

impl Framework {
    /// Every framework version Shieldwall knows.
    pub const ALL: [Framework; 3] = [
        Framework::CcmV4_0_13,
        Framework::CcmV3_0_1,
        Framework::CcmV4_1_0,
    ];

    /// The short key used on the command line and in references, e.g. `ccm-4.0.13`.
    pub fn key(self) -> &'static str {
        match self {
            Framework::CcmV3_0_1 => "ccm-3.0.1",
            Framework::CcmV4_0_13 => "ccm-4.0.13",
            Framework::CcmV4_1_0 => "ccm-4.1.0",
        }
    }

    /// The human name, e.g. `CSA CCM v4.0.13`.
    pub fn title(self) -> &'static str {
        match self {
            Framework::CcmV3_0_1 => "CSA CCM v3.0.1",
            Framework::CcmV4_0_13 => "CSA CCM v4.0.13",
            Framework::CcmV4_1_0 => "CSA CCM v4.1.0",
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Framework {
    type Err = ParseControlRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Framework::ALL
            .into_iter()
            .find(|fw| fw.key() == s)
            .ok_or_else(|| ParseControlRefError::UnknownFramework(s.to_owned()))
    }
}

/// A control of one framework version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ControlRef {
    /// The framework version.
    pub framework: Framework,
    /// The control id within that version, e.g. `LOG-05` or `A&A-02`.
    pub id: String,
}

/// Why a string is not a control reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseControlRefError {
    /// No `framework:id` separator.
    #[error("{0:?} is not a control reference: expected FRAMEWORK:ID, e.g. ccm-4.0.13:LOG-05")]
    Shape(String),
    /// The framework key is unknown.
    #[error("unknown framework {0:?}: expected one of ccm-4.0.13, ccm-3.0.1, ccm-4.1.0")]
    UnknownFramework(String),
}

impl ControlRef {
    /// A reference to `id` in `framework`.
    pub fn new(framework: Framework, id: impl Into<String>) -> Self {
        ControlRef {
            framework,
            id: id.into(),
        }
    }
}

impl fmt::Display for ControlRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.framework.key(), self.id)
    }
}

impl FromStr for ControlRef {
    type Err = ParseControlRefError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (framework, id) = s
            .split_once(':')
            .filter(|(_, id)| !id.is_empty())
            .ok_or_else(|| ParseControlRefError::Shape(s.to_owned()))?;
        Ok(ControlRef {
            framework: framework.parse()?,
            id: id.to_owned(),
        })
    }
}

impl TryFrom<String> for ControlRef {
    type Error = ParseControlRefError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ControlRef> for String {
    fn from(value: ControlRef) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let r: ControlRef = "ccm-3.0.1:IAM-04".parse().unwrap();
        assert_eq!(r.framework, Framework::CcmV3_0_1);
        assert_eq!(r.id, "IAM-04");
        assert_eq!(r.to_string(), "ccm-3.0.1:IAM-04");
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(matches!(
            "LOG-05".parse::<ControlRef>(),
            Err(ParseControlRefError::Shape(_))
        ));
        assert!(matches!(
            "ccm-9:LOG-05".parse::<ControlRef>(),
            Err(ParseControlRefError::UnknownFramework(_))
        ));
        assert!("ccm-4.0.13:".parse::<ControlRef>().is_err());
    }
}
