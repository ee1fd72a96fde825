//! Reply templates: `templates/{kk,ru,en}/NAME.txt`, rendered with minijinja.
//!
//! A template's first line is `Subject: ...`, then a blank line, then the plain-text body. Staff
//! can edit the wording without touching code; a template missing for a language is an error at
//! start, not when a subject is waiting for an answer.

use std::path::{Path, PathBuf};

use anyhow::Context;
use minijinja::Environment;
use serde::Serialize;

use crate::domain::Language;

/// The templates every language must have (`NAME.txt`, or the file name when it has an
/// extension of its own).
pub const REQUIRED: &[&str] = &[
    "acknowledgement",
    "confirmation",
    "contact_confirmation",
    "contact_on_file_notice",
    "disputed",
    "expired",
    "folded",
    "unknown_subject",
    "obligation_hold",
    "completed",
    "access",
    "access_report.html",
    // Staff review console (crate::review).
    "rejection",
    "more_information",
    "digest",
    "alert",
];

pub const LANGUAGES: [Language; 3] = [Language::Kk, Language::Ru, Language::En];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

pub struct Templates {
    env: Environment<'static>,
    dir: PathBuf,
}

impl Templates {
    /// Loads and compiles every required template of every language.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(dir));
        env.set_keep_trailing_newline(true);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let templates = Self {
            env,
            dir: dir.to_owned(),
        };
        for lang in LANGUAGES {
            for name in REQUIRED {
                let path = templates.path(name, lang);
                templates.env.get_template(&path).with_context(|| {
                    format!("template {} (in {})", path, templates.dir.display())
                })?;
            }
        }
        Ok(templates)
    }

    fn path(&self, name: &str, lang: Language) -> String {
        let lang = lang.reply_language();
        if name.contains('.') {
            format!("{}/{name}", lang.as_str())
        } else {
            format!("{}/{name}.txt", lang.as_str())
        }
    }

    /// Renders a whole document (e.g. `access_report.html`, HTML-escaped by its extension).
    pub fn render_document(
        &self,
        name: &str,
        lang: Language,
        context: impl Serialize,
    ) -> anyhow::Result<String> {
        let path = self.path(name, lang);
        self.env
            .get_template(&path)
            .and_then(|t| t.render(context))
            .with_context(|| format!("rendering template {path}"))
    }

    /// Renders `name` in `lang` (mixed → Kazakh).
    pub fn render(
        &self,
        name: &str,
        lang: Language,
        context: impl Serialize,
    ) -> anyhow::Result<Rendered> {
        let path = self.path(name, lang);
        let text = self
            .env
            .get_template(&path)
            .and_then(|t| t.render(context))
            .with_context(|| format!("rendering template {path}"))?;
        split_subject(&text).with_context(|| format!("template {path}"))
    }
}

fn split_subject(text: &str) -> anyhow::Result<Rendered> {
    let text = text.replace("\r\n", "\n");
    let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let subject = first
        .strip_prefix("Subject:")
        .ok_or_else(|| anyhow::anyhow!("first line must be `Subject: ...`"))?
        .trim()
        .to_owned();
    if subject.is_empty() {
        anyhow::bail!("the subject is empty");
    }
    Ok(Rendered {
        subject,
        body: rest.trim_start_matches('\n').to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_line_is_split_from_body() {
        let r = split_subject("Subject: Hello [DSR-1]\n\nBody\nline\n").unwrap();
        assert_eq!(r.subject, "Hello [DSR-1]");
        assert_eq!(r.body, "Body\nline\n");
        assert!(split_subject("No subject\n\nBody").is_err());
        assert!(split_subject("Subject:   \n\nBody").is_err());
    }

    #[test]
    fn shipped_templates_render_in_every_language() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let t = Templates::load(&dir).unwrap();
        for lang in [Language::Kk, Language::Ru, Language::En, Language::Mixed] {
            let r = t
                .render(
                    "acknowledgement",
                    lang,
                    serde_json::json!({
                        "reference": "DSR-2026-000123",
                        "kind": "erasure",
                        "review": false,
                        "original_subject": "Удалите мои данные",
                        "company": "NLG.KZ LLP", "company_mailbox": "info@nlg.kz",
                        "invalid_iin": [],
                    }),
                )
                .unwrap();
            assert!(
                r.subject.contains("DSR-2026-000123"),
                "{lang}: {}",
                r.subject
            );
            assert!(r.body.contains("DSR-2026-000123"), "{lang}");
        }
        let kk = t.render("acknowledgement", Language::Mixed, serde_json::json!({
            "reference": "DSR-2026-000001", "kind": "access", "review": true,
            "original_subject": "", "company": "NLG.KZ LLP", "company_mailbox": "info@nlg.kz", "company_mailbox": "info@nlg.kz", "invalid_iin": ["123456789012"],
        })).unwrap();
        assert!(
            kk.body.contains("123456789012"),
            "invalid IIN is quoted back: {}",
            kk.body
        );
    }

    #[test]
    fn codes_are_in_the_body_and_never_in_the_subject() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let t = Templates::load(&dir).unwrap();
        for lang in LANGUAGES {
            for name in ["confirmation", "contact_confirmation"] {
                let r = t
                    .render(
                        name,
                        lang,
                        serde_json::json!({
                            "reference": "DSR-2026-000123", "kind": "erasure",
                            "code": "ABCD-EF23", "expires_hours": 72,
                            "company": "NLG.KZ LLP", "company_mailbox": "info@nlg.kz",
                        }),
                    )
                    .unwrap();
                assert!(!r.subject.contains("ABCD"), "{lang} {name}: {}", r.subject);
                assert!(r.body.contains("ABCD-EF23"), "{lang} {name}");
            }
            // The acknowledgement that carries the first code (one e-mail per request).
            let r = t
                .render(
                    "acknowledgement",
                    lang,
                    serde_json::json!({
                        "reference": "DSR-2026-000123", "kind": "erasure", "review": false,
                        "invalid_iin": [], "code": "ABCD-EF23", "expires_hours": 72,
                        "company": "NLG.KZ LLP", "company_mailbox": "info@nlg.kz",
                    }),
                )
                .unwrap();
            assert!(!r.subject.contains("ABCD"), "{lang} ack: {}", r.subject);
            assert!(r.subject.contains("DSR-2026-000123"), "{lang} ack");
            assert!(r.body.contains("    ABCD-EF23\n"), "{lang} ack: {}", r.body);
            assert!(
                r.body.contains("DSR-2026-000123") && r.body.contains("72"),
                "{lang} ack"
            );
            // Without a code it says nothing of one.
            let plain = t
                .render(
                    "acknowledgement",
                    lang,
                    serde_json::json!({
                        "reference": "DSR-2026-000123", "kind": "erasure", "review": false,
                        "invalid_iin": [],
                        "company": "NLG.KZ LLP", "company_mailbox": "info@nlg.kz",
                    }),
                )
                .unwrap();
            assert_ne!(plain.subject, r.subject, "{lang}");
            assert!(!plain.body.contains("72"), "{lang}: {}", plain.body);
            // Typed identifiers: the acknowledgement says only the address on file can
            // confirm, in the words of the separate notice, and carries no code.
            let on_file = t
                .render(
                    "acknowledgement",
                    lang,
                    serde_json::json!({
                        "reference": "DSR-2026-000123", "kind": "erasure", "review": false,
                        "invalid_iin": [], "on_file": true, "expires_hours": 72,
                        "company": "NLG.KZ LLP", "company_mailbox": "info@nlg.kz",
                    }),
                )
                .unwrap();
            let notice = t
                .render(
                    "contact_on_file_notice",
                    lang,
                    serde_json::json!({
                        "reference": "DSR-2026-000123", "kind": "erasure", "expires_hours": 72,
                        "company": "NLG.KZ LLP", "company_mailbox": "info@nlg.kz",
                    }),
                )
                .unwrap();
            assert_eq!(on_file.subject, notice.subject, "{lang}");
            let said = notice.body.lines().find(|l| l.contains("72")).unwrap();
            assert!(on_file.body.contains(said), "{lang}: {}", on_file.body);
            assert!(!on_file.body.contains("ABCD"), "{lang}");
            assert!(on_file.body.contains("DSR-2026-000123"), "{lang}");
            for name in ["contact_on_file_notice", "disputed", "expired", "folded"] {
                let r = t
                    .render(
                        name,
                        lang,
                        serde_json::json!({
                            "reference": "DSR-2026-000123", "kind": "access", "expires_hours": 72,
                            "company": "NLG.KZ LLP", "company_mailbox": "info@nlg.kz",
                        }),
                    )
                    .unwrap();
                assert!(r.subject.contains("DSR-2026-000123"), "{lang} {name}");
            }
        }
    }
}
