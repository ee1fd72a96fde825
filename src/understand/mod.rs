//! Understanding one e-mail: MIME to clean text, language, kind, identifiers and review flags.
//!
//! The entry point is [`Reader::read`], which takes the raw RFC 5322 bytes exactly as stored by
//! intake and returns a [`Reading`]: the envelope facts the workflow needs to reply (sender,
//! Message-ID, References, subject) and an [`Understanding`] that `dsr-worker classify` prints as
//! JSON. It is pure CPU work with no I/O, so it can be benchmarked and tested in isolation.
//!
//! Two independent readers read every message: the rule reader ([`decide`], cue vocabularies)
//! and the statistical reader ([`statistical`], a linear model learnt from labelled examples).
//! [`agreement`] lets an automatic action stand only when both name the same kind and the
//! statistical reader is confident; otherwise the request goes to staff with the reason.
//!
//! The rule reader's cue phrases are data ([`vocabulary`]: `vocabulary/{kk,ru,en}.txt`,
//! embedded, overridable from `[understand] vocabulary_dir`); a [`Reader`] holds the compiled
//! vocabulary it reads with.

pub mod agreement;
mod automatic;
mod decide;
pub mod dispute;
mod envelope;
pub mod eval;
pub mod identifiers;
pub mod intent;
pub mod language;
pub mod normalise;
pub mod statistical;
pub mod text;
pub mod vocabulary;

use std::sync::Arc;

use serde::Serialize;

use crate::config::company::CompanySettings;
use crate::domain::{Bin, Iin, Language, MailKind, Phone, RequestKind};

pub use agreement::Readers;
pub use envelope::Envelope;
pub use statistical::StatisticalReader;
pub use vocabulary::{Vocabulary, VocabularyError};

/// The company's own contacts, which are never taken for a subject's.
#[derive(Debug, Clone, Default)]
pub struct Company {
    pub mailbox: String,
    pub domains: Vec<String>,
    pub bins: Vec<String>,
    pub phones: Vec<String>,
}

impl Company {
    pub fn from_settings(s: &CompanySettings) -> Self {
        Self {
            mailbox: s.mailbox.to_lowercase(),
            domains: s.domains.iter().map(|d| d.to_lowercase()).collect(),
            bins: s.bin.clone(),
            phones: s
                .phones
                .iter()
                .filter_map(|p| Phone::parse(p).map(|p| p.as_str().to_owned()))
                .collect(),
        }
    }

    /// NLG.KZ's published contacts: info@nlg.kz, the nlg.kz domain and BIN 250140021383.
    pub fn nlg_defaults() -> Self {
        Self {
            mailbox: "info@nlg.kz".to_owned(),
            domains: vec!["nlg.kz".to_owned()],
            bins: vec!["250140021383".to_owned()],
            phones: vec![],
        }
    }

    /// Whether an address belongs to the company (its mailbox or one of its domains).
    pub fn owns(&self, address: &str) -> bool {
        let a = address.to_lowercase();
        a == self.mailbox
            || a.rsplit_once('@').is_some_and(|(_, d)| {
                self.domains
                    .iter()
                    .any(|own| d == own || d.ends_with(&format!(".{own}")))
            })
    }
}

/// What the worker understood of one message. Field names match `corpus/README.md`.
#[derive(Debug, Clone, Serialize)]
pub struct Understanding {
    pub kind: MailKind,
    /// Other intents found in the same message.
    pub also: Vec<RequestKind>,
    /// Staff must look before anything is done.
    pub review: bool,
    /// The worker would e-mail the sender.
    pub reply: bool,
    pub language: Language,
    pub iin: Vec<Iin>,
    pub bin: Vec<Bin>,
    pub phones: Vec<Phone>,
    /// Twelve-digit numbers offered as an IIN whose check digit fails.
    pub invalid_iin: Vec<String>,
    /// Short sentences for staff saying why.
    pub reasons: Vec<String>,
}

/// One message read: envelope plus understanding.
#[derive(Debug, Clone)]
pub struct Reading {
    pub envelope: Envelope,
    pub understanding: Understanding,
    /// What each reader said and what the agreement gate made of it.
    pub readers: Readers,
    /// The sender's own new words (quotes and signatures removed), for staff.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("empty message")]
    Empty,
    #[error("not an RFC 5322 message: {0}")]
    NotAMessage(&'static str),
}

/// Reads raw messages. Cheap to clone; holds configuration, the compiled cue vocabulary and
/// the (shared) statistical model.
#[derive(Debug, Clone)]
pub struct Reader {
    company: Company,
    vocabulary: Arc<Vocabulary>,
    statistical: StatisticalReader,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new(Company::default())
    }
}

/// A message parsed into the parts both readers read.
pub(crate) struct Parsed<'a> {
    pub message: mail_parser::Message<'a>,
    pub envelope: Envelope,
    pub body: text::Body,
}

/// Parses raw bytes, or says why they are not a message.
pub(crate) fn parse(raw: &[u8]) -> Result<Parsed<'_>, Unreadable> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Unreadable::Empty);
    }
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .ok_or(Unreadable::NotAMessage("no header could be parsed"))?;
    if message.from().is_none() && message.subject().is_none() && message.date().is_none() {
        return Err(Unreadable::NotAMessage("no From, Subject or Date header"));
    }
    let envelope = Envelope::from_message(&message);
    let body = text::body(&message);
    Ok(Parsed {
        message,
        envelope,
        body,
    })
}

impl Reader {
    /// A reader with the process's active vocabulary ([`vocabulary::active`]: the configured
    /// one once the worker has installed it, else the embedded one) and the statistical model
    /// built into the binary.
    pub fn new(company: Company) -> Self {
        Self {
            company,
            vocabulary: vocabulary::active(),
            statistical: StatisticalReader::embedded(),
        }
    }

    /// The same reader with another vocabulary (e.g. loaded from a directory).
    pub fn with_vocabulary(self, vocabulary: Arc<Vocabulary>) -> Self {
        Self { vocabulary, ..self }
    }

    /// The same reader with another statistical model (e.g. `understand.model`).
    pub fn with_statistical(self, statistical: StatisticalReader) -> Self {
        Self {
            statistical,
            ..self
        }
    }

    pub fn statistical(&self) -> &StatisticalReader {
        &self.statistical
    }

    pub fn read(&self, raw: &[u8]) -> Result<Reading, Unreadable> {
        let Parsed {
            message,
            envelope,
            body,
        } = parse(raw)?;
        let prediction = self
            .statistical
            .read(&statistical::input(&envelope.subject, &body));
        let thresholds = self.statistical.model().thresholds();

        if let Some(kind) = automatic::detect(&message, &envelope, &body) {
            // Diagnostic lines (SMTP status codes, server names) say nothing of the language.
            let human: Vec<&str> = body
                .own
                .lines()
                .filter(|l| {
                    !l.as_bytes().windows(5).any(|w| {
                        w[0].is_ascii_digit()
                            && w[1] == b'.'
                            && w[2].is_ascii_digit()
                            && (w[3] == b'.' || w[4] == b'.')
                    })
                })
                .collect();
            let language = language::detect(&human.join("\n"))
                .or_else(|| language::detect(&envelope.subject))
                .unwrap_or(Language::Kk);
            let silent = Understanding::silent(
                kind,
                language,
                vec![format!("automatic message ({kind}); never answered")],
            );
            let (understanding, readers) =
                agreement::combine(silent, &prediction, &thresholds, false);
            return Ok(Reading {
                envelope,
                understanding,
                readers,
                text: body.own,
            });
        }

        let bulk = automatic::is_bulk(&message);
        let rules = decide::understand(&envelope, &body, bulk, &self.company, &self.vocabulary);
        let (understanding, readers) = agreement::combine(rules, &prediction, &thresholds, bulk);
        Ok(Reading {
            envelope,
            understanding,
            readers,
            text: body.own,
        })
    }
}

impl Understanding {
    fn silent(kind: MailKind, language: Language, reasons: Vec<String>) -> Self {
        Self {
            kind,
            also: vec![],
            review: false,
            reply: false,
            language,
            iin: vec![],
            bin: vec![],
            phones: vec![],
            invalid_iin: vec![],
            reasons,
        }
    }
}

impl Serialize for Iin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl Serialize for Bin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl Serialize for Phone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
