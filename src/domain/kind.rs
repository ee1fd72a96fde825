//! What a message is: one of the six data-subject request kinds, or mail the worker leaves alone.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A data-subject request kind (vocabulary of DESIGN.md and law 94-V art. 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    WithdrawConsent,
    Access,
    Erasure,
    Restriction,
    Rectification,
    MarketingOptOut,
}

impl RequestKind {
    pub const ALL: [RequestKind; 6] = [
        RequestKind::WithdrawConsent,
        RequestKind::Access,
        RequestKind::Erasure,
        RequestKind::Restriction,
        RequestKind::Rectification,
        RequestKind::MarketingOptOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::WithdrawConsent => "withdraw_consent",
            RequestKind::Access => "access",
            RequestKind::Erasure => "erasure",
            RequestKind::Restriction => "restriction",
            RequestKind::Rectification => "rectification",
            RequestKind::MarketingOptOut => "marketing_opt_out",
        }
    }

    /// Kinds whose automatic execution changes or discloses personal data.
    pub fn is_sensitive(self) -> bool {
        matches!(
            self,
            RequestKind::WithdrawConsent
                | RequestKind::Access
                | RequestKind::Erasure
                | RequestKind::Restriction
        )
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind `{0}`")]
pub struct UnknownKind(pub String);

impl FromStr for RequestKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

crate::domain::text_column!(RequestKind);

/// What a piece of incoming mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    Request(RequestKind),
    NotARequest,
    AutoReply,
    Bounce,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Request(k) => k.as_str(),
            MailKind::NotARequest => "not_a_request",
            MailKind::AutoReply => "auto_reply",
            MailKind::Bounce => "bounce",
        }
    }

    pub fn request(self) -> Option<RequestKind> {
        match self {
            MailKind::Request(k) => Some(k),
            _ => None,
        }
    }

    /// Machine-generated mail: never answered (RFC 3834).
    pub fn is_automatic(self) -> bool {
        matches!(self, MailKind::AutoReply | MailKind::Bounce)
    }
}

impl fmt::Display for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MailKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "not_a_request" => Ok(MailKind::NotARequest),
            "auto_reply" => Ok(MailKind::AutoReply),
            "bounce" => Ok(MailKind::Bounce),
            other => other.parse().map(MailKind::Request),
        }
    }
}

impl Serialize for MailKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MailKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text() {
        for k in RequestKind::ALL {
            assert_eq!(k.as_str().parse::<RequestKind>().unwrap(), k);
            assert_eq!(
                k.as_str().parse::<MailKind>().unwrap(),
                MailKind::Request(k)
            );
        }
        assert_eq!("bounce".parse::<MailKind>().unwrap(), MailKind::Bounce);
        assert!("delete_everything".parse::<MailKind>().is_err());
        assert!("bounce".parse::<RequestKind>().is_err());
    }
}
