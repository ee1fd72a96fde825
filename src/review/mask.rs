//! What staff never see in clear: one-time codes, and (in the audit log) the identifiers a
//! request was linked to.
//!
//! A confirmation code is a credential until it expires: whoever reads it off a screen or a
//! terminal could confirm a request in the subject's name. Every outgoing e-mail the console or
//! `review show` displays has its codes masked; text written by a subject (a reply quoting our
//! mail) has the codes this request was sent masked. The audit log and the timeline are kept
//! for years; they hold masked identifiers, never the values.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{json, Value};

use crate::redact;
use crate::request::verification;
use crate::stores::SubjectIds;

/// What a code looks like on screen.
pub const MASKED_CODE: &str = "••••-••••";

fn code_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // The shape `verification::codes_in` accepts as a code.
    RE.get_or_init(|| Regex::new(r"(?i)\b[A-Z2-9]{4}-[A-Z2-9]{4}\b").expect("valid regex"))
}

/// Masks everything shaped like one of our codes (for text we wrote: our own e-mails).
pub fn codes(text: &str) -> Cow<'_, str> {
    code_pattern().replace_all(text, MASKED_CODE)
}

/// Masks the codes whose hash is in `sent` (for text someone else wrote: a reply quoting the
/// code we sent them); other words of the same shape stay as they are.
pub fn sent_codes<'a>(text: &'a str, sent: &[Vec<u8>]) -> Cow<'a, str> {
    if sent.is_empty() {
        return Cow::Borrowed(text);
    }
    code_pattern().replace_all(text, |c: &regex::Captures<'_>| {
        if sent.contains(&verification::hash_code(&c[0])) {
            MASKED_CODE.to_owned()
        } else {
            c[0].to_owned()
        }
    })
}

/// [`codes`] applied to every string inside a JSON value.
pub fn codes_in_json(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(masked) = codes(s) {
                *s = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(codes_in_json),
        Value::Object(map) => map.values_mut().for_each(codes_in_json),
        _ => {}
    }
}

/// The identifiers of a subject as the audit log keeps them: masked (initials and domain
/// suffix of an address, the last two digits of a number) and counted.
pub fn subject_ids(ids: &SubjectIds) -> Value {
    json!({
        "emails": ids.emails.iter().map(|e| redact::email(e)).collect::<Vec<_>>(),
        "iins": ids.iins.iter().map(|i| redact::digits(i)).collect::<Vec<_>>(),
        "phones": ids.phones.iter().map(|p| redact::digits(p)).collect::<Vec<_>>(),
        "count": ids.emails.len() + ids.iins.len() + ids.phones.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_codes_are_masked_wherever_they_are() {
        let (code, hash) = verification::new_code();
        let mail = format!("Subject: [DSR-2026-000001] Confirm: {code}\n\n    {code}\n");
        let masked = codes(&mail);
        assert!(!masked.contains(&code), "{masked}");
        assert_eq!(masked.matches(MASKED_CODE).count(), 2);
        assert!(masked.contains("DSR-2026-000001"), "references stay");
        let reply = format!(
            "> {}\nда, это я. Договор KZ77-AB23 в силе.",
            code.to_lowercase()
        );
        let masked = sent_codes(&reply, &[hash]);
        assert!(!masked.to_uppercase().contains(&code), "{masked}");
        assert!(masked.contains("KZ77-AB23"), "other words stay: {masked}");
        assert_eq!(sent_codes(&reply, &[]), reply);
        let mut v = json!({"body": mail, "n": [1, {"s": code.clone()}]});
        codes_in_json(&mut v);
        assert!(!v.to_string().contains(&code));
    }

    #[test]
    fn linked_identifiers_are_kept_masked() {
        let ids = SubjectIds {
            emails: vec!["aigerim.n@mail.kz".into()],
            iins: vec!["870221304582".into()],
            phones: vec!["+77015558023".into()],
            ..Default::default()
        };
        let v = subject_ids(&ids).to_string();
        for clear in ["aigerim", "870221304582", "77015558023", "7015558023"] {
            assert!(!v.contains(clear), "{clear} in {v}");
        }
        assert!(
            v.contains("**********82") && v.contains("\"count\":3"),
            "{v}"
        );
    }
}
