//! The language of a message, and the language a reply is written in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Kk,
    Ru,
    En,
    Mixed,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Kk => "kk",
            Language::Ru => "ru",
            Language::En => "en",
            Language::Mixed => "mixed",
        }
    }

    /// The language a reply is written in: the request's own, or Kazakh (the state language,
    /// Law on Languages art. 11) when the request mixes languages.
    pub fn reply_language(self) -> Language {
        match self {
            Language::Mixed => Language::Kk,
            other => other,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::domain::text_column!(Language);

impl FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kk" => Ok(Language::Kk),
            "ru" => Ok(Language::Ru),
            "en" => Ok(Language::En),
            "mixed" => Ok(Language::Mixed),
            other => Err(format!("unknown language `{other}`")),
        }
    }
}
