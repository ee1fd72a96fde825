//! Who the company is: its name, mailbox, and the identifiers that are its own (never a
//! subject's).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompanySettings {
    pub name: String,
    /// The data-subject mailbox (info@nlg.kz): never taken as a subject's address.
    pub mailbox: String,
    /// `From:` of every reply, e.g. `NLG.KZ <info@nlg.kz>`.
    pub reply_from: String,
    /// The company's own BIN: never taken as a subject's identifier.
    #[serde(default)]
    pub bin: Vec<String>,
    /// The company's own phone numbers: never taken as a subject's.
    #[serde(default)]
    pub phones: Vec<String>,
    /// The company's own mail domains: addresses there are never a subject's.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Host name used on the right of generated Message-IDs.
    #[serde(default = "default_message_id_domain")]
    pub message_id_domain: String,
}

fn default_message_id_domain() -> String {
    "nlg.kz".into()
}
