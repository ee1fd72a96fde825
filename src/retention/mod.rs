//! The worker forgets too: once a request is over, the worker's own database keeps only what the
//! audit needs — references, dates, statuses, kinds, counts and keyed hashes — and not the person.
//!
//! - [`reduce`] — pure functions that turn a value holding personal data into its reduced form
//!   (keyed pseudonyms, JSON reduction by field, free-text scrubbing, the outbox e-mail shape,
//!   one-time codes masked). No I/O; unit-tested.
//! - [`job`] — the job every worker runs (and `dsr-worker retention run`): claims requests final
//!   for `retention.final_days` with `FOR UPDATE SKIP LOCKED`, one transaction per request, and
//!   reduces everything attached to them; masks one-time codes in e-mails already sent; reduces
//!   mail that never became part of a request after `retention.unattached_days`.
//!
//! An access report's attachments do not wait for any of this: the outbox drops their contents
//! in the statement that marks the e-mail sent (`outbound::outbox::mark_leased_sent`).
//!
//! What stays whole: receipts (counts per store and table), legal holds (store, table, row key,
//! dates), the audit log (append-only), and every reference, timestamp, status and kind.

pub mod job;
pub mod reduce;

use serde::Deserialize;

pub use job::{Pass, Retention};

/// `[retention]`: how long the worker keeps personal data it no longer needs.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Days a request stays whole after it became final (completed, rejected, closed); then it
    /// and everything attached to it is reduced.
    pub final_days: u32,
    /// Days mail that never became part of a request (not a request, auto-replies, bounces,
    /// duplicates, messages that failed triage) stays whole in the worker's database; the
    /// mailbox keeps the original.
    pub unattached_days: u32,
    /// How often each worker runs the job. It also masks one-time codes in sent e-mails, so
    /// this bounds how long a sent code stays readable in the outbox.
    pub interval_secs: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            final_days: 30,
            unattached_days: 30,
            interval_secs: 300,
        }
    }
}

/// The longest retention accepted (ten years): a typo must not mean "keep forever".
pub const MAX_DAYS: u32 = 3650;

impl RetentionSettings {
    /// Checks the ranges; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        // At least a day: the per-sender reply limit counts e-mails of the last hour by their
        // recipient, which a reduced e-mail no longer names.
        for (key, days) in [
            ("retention.final_days", self.final_days),
            ("retention.unattached_days", self.unattached_days),
        ] {
            if !(1..=MAX_DAYS).contains(&days) {
                return Err((key, format!("must be between 1 and {MAX_DAYS} days")));
            }
        }
        if !(1..=86_400).contains(&self.interval_secs) {
            return Err((
                "retention.interval_secs",
                "must be between 1 and 86400 (a day)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_ranges_are_checked() {
        assert!(RetentionSettings::default().validate().is_ok());
        let zero = RetentionSettings {
            final_days: 0,
            ..Default::default()
        };
        assert_eq!(zero.validate().unwrap_err().0, "retention.final_days");
        let forever = RetentionSettings {
            unattached_days: MAX_DAYS + 1,
            ..Default::default()
        };
        assert_eq!(
            forever.validate().unwrap_err().0,
            "retention.unattached_days"
        );
        let never = RetentionSettings {
            interval_secs: 0,
            ..Default::default()
        };
        assert_eq!(never.validate().unwrap_err().0, "retention.interval_secs");
    }

    #[test]
    fn configuration_reads_the_section_and_names_a_bad_key() {
        const MINIMAL: &str = r#"
            [database]
            url = "postgres://postgres@127.0.0.1/dsr"
            [imap]
            host = "127.0.0.1"
            port = 1143
            security = "plain"
            username = "info@nlg.kz"
            password = "secret"
            [smtp]
            host = "127.0.0.1"
            port = 2525
            security = "plain"
            [rabbitmq]
            url = "amqp://guest:guest@127.0.0.1:5672/%2f"
            [company]
            name = "NLG.KZ LLP"
            mailbox = "info@nlg.kz"
            reply_from = "NLG.KZ <info@nlg.kz>"
        "#;
        let env = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        let s = crate::config::Settings::parse(MINIMAL, vec![]).unwrap();
        assert_eq!(s.retention, RetentionSettings::default());
        let s = crate::config::Settings::parse(
            &format!("{MINIMAL}\n[retention]\nfinal_days = 90\n"),
            env("DSR__RETENTION__INTERVAL_SECS", "60"),
        )
        .unwrap();
        assert_eq!(
            (s.retention.final_days, s.retention.interval_secs),
            (90, 60)
        );
        let err = crate::config::Settings::parse(MINIMAL, env("DSR__RETENTION__FINAL_DAYS", "0"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("retention.final_days"), "{err}");
        let err = crate::config::Settings::parse(
            &format!("{MINIMAL}\n[retention]\nforever = true\n"),
            vec![],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("forever"), "{err}");
    }
}
