//! Reducing a value that holds personal data to what the audit needs. Pure functions, no I/O.
//!
//! - A personal value becomes a **pseudonym**: `hmac:` and the first 128 bits of
//!   HMAC-SHA256(hash key, "dsr-worker retention v1" 0x00 lowercased value), so someone holding
//!   the key can still answer "was this address's request carried out?", and nobody without it can
//!   tell whose it was. Without a key ([`Pseudonyms::keyed`] false) the value becomes
//!   [`PURGED`]: an unkeyed hash of an IIN or a phone number is no protection (there are only
//!   about 10⁹ of them to try), so none is kept.
//! - JSON is reduced **by field**: a string stays (scrubbed) only under a field known to hold
//!   words of the worker or of staff (`kind`, `reasons`, `store`, ...); every other string is
//!   pseudonymised, so arrays keep their length (the count) and objects their shape. Numbers,
//!   booleans and nulls stay.
//! - Free text that stays is **scrubbed**: the personal values known for the request (its
//!   addresses, identifiers, the names in its mail headers and access report) and anything
//!   shaped like an e-mail address, IIN or phone number become pseudonyms.
//! - An outbox e-mail keeps its own Message-ID, language, the references in its subject and the
//!   size of its body and attachments; the recipient and the subject's Message-IDs become
//!   pseudonyms; text and contents are dropped.
//!
//! Every function here is idempotent: reducing a reduced value changes nothing.

use std::collections::BTreeSet;

use hmac::{Hmac, Mac};
use regex::Regex;
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::sync::LazyLock;

use crate::request::verification;

/// What replaces a personal value when the deployment has no hash key.
pub const PURGED: &str = "[purged]";
/// What replaces a one-time code in an e-mail that has been sent.
pub const MASKED_CODE: &str = "****-****";

const TOKEN_PREFIX: &str = "hmac:";
/// Hex digits of a pseudonym (128 bits).
const TOKEN_HEX: usize = 32;
const TOKEN_LABEL: &[u8] = b"dsr-worker retention v1\0";

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"hmac:[0-9a-f]{32}").expect("valid regex"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
        .expect("valid regex")
});
/// Twelve digits on their own: an IIN or a BIN (an individual entrepreneur's BIN is an IIN).
static TWELVE_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d{12}\b").expect("valid regex"));
/// International numbers (`+7 701 555 80 23`) and Kazakh local ones (`8 (701) 555-80-23`).
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\+\d(?:[\s\-().]*\d){9,14}|\b[78][\s\-(]*7\d\d[\s\-)]*\d{3}[\s\-]*\d\d[\s\-]*\d\d\b",
    )
    .expect("valid regex")
});
static REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bDSR-\d{4}-\d{6,}\b").expect("valid regex"));
static COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\([^()]*\)").expect("valid regex"));
/// `header.d=mail.kz`, `smtp.mailfrom=a@mail.kz`: a property naming a domain or an address.
static DOMAIN_PROPERTY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\S+=\S*[.@]\S*").expect("valid regex"));

/// Whether `s` is already a pseudonym or the purged marker.
pub fn is_reduced(s: &str) -> bool {
    s == PURGED || (s.len() == TOKEN_PREFIX.len() + TOKEN_HEX && TOKEN.is_match(s))
}

/// Turns personal values into pseudonyms (keyed) or the purged marker (no key).
#[derive(Clone)]
pub struct Pseudonyms {
    key: Option<Vec<u8>>,
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonyms")
            .field("keyed", &self.keyed())
            .finish()
    }
}

impl Pseudonyms {
    /// An empty key means "no key configured".
    pub fn new(key: &[u8]) -> Self {
        Self {
            key: (!key.is_empty()).then(|| key.to_vec()),
        }
    }

    pub fn keyed(&self) -> bool {
        self.key.is_some()
    }

    /// The pseudonym of `value` (case and surrounding space do not matter). Empty and already
    /// reduced values are returned as they are.
    pub fn of(&self, value: &str) -> String {
        let v = value.trim();
        if v.is_empty() || is_reduced(v) {
            return v.to_owned();
        }
        let Some(key) = &self.key else {
            return PURGED.to_owned();
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(TOKEN_LABEL);
        mac.update(v.to_lowercase().as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("{TOKEN_PREFIX}{}", hex::encode(&digest[..TOKEN_HEX / 2]))
    }
}

/// Which strings of a JSON value stay (scrubbed); every other string becomes a pseudonym.
#[derive(Debug, Clone, Copy)]
pub enum Keep {
    /// No string stays (identifiers, linked subjects).
    Nothing,
    /// Strings directly under these field names stay.
    Fields(&'static [&'static str]),
    /// Every string stays, scrubbed (metadata written by the worker or staff).
    Everything,
}

/// `inbound_messages.understanding`, `requests.understanding`.
pub const UNDERSTANDING: Keep = Keep::Fields(&["kind", "also", "language", "reasons"]);
/// `request_events.detail`.
pub const EVENT: Keep = Keep::Fields(&[
    "from",
    "to",
    "kind",
    "language",
    "reasons",
    "reason",
    "store",
    "status",
    "task_status",
    "outcome",
    "action",
    "table",
    "basis",
    "by",
    "error",
    "note",
    "question",
    "due_at",
    "at",
    "until",
    "expires_at",
    "template",
    "channel",
    "event",
]);
/// `store_tasks.plan`.
pub const PLAN: Keep = Keep::Fields(&["kind", "reason", "instructions", "action", "conflicts"]);
/// `store_tasks.receipt`.
pub const RECEIPT: Keep = Keep::Fields(&[
    "table",
    "action",
    "basis",
    "store",
    "resolved_by",
    "note",
    "until",
]);
/// `outbox.payload` of a queue publish (ids only; anything else is pseudonymised).
pub const PUBLISH: Keep = Keep::Fields(&["exchange", "routing_key"]);

/// Fields that describe how identity was established (`dkim=pass (mail.kz) by mx.nlg.kz`).
const METHOD_FIELDS: &[&str] = &["how", "verification"];

/// Reduces the values of one request (or one message) with the personal values known for it.
pub struct Reducer {
    names: Pseudonyms,
    needles: Option<Regex>,
    own_domains: Vec<String>,
}

impl Reducer {
    /// `needles`: personal values known for this request, found and pseudonymised in every
    /// string that stays. `own_domains`: the company's mail domains, whose addresses (staff,
    /// the mailbox) are not personal data of the subject and stay.
    pub fn new(
        names: Pseudonyms,
        needles: impl IntoIterator<Item = String>,
        own_domains: &[String],
    ) -> Self {
        let own_domains: Vec<String> = own_domains.iter().map(|d| d.to_lowercase()).collect();
        let mut set = BTreeSet::new();
        for n in needles {
            let n = n.trim().to_lowercase();
            if is_needle(&n) && !owned(&n, &own_domains) {
                set.insert(n);
            }
        }
        let mut list: Vec<String> = set.into_iter().collect();
        // Longest first, so a name is replaced whole before a part of it.
        list.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
        let needles = (!list.is_empty()).then(|| {
            let alternation = list
                .iter()
                .map(|n| regex::escape(n))
                .collect::<Vec<_>>()
                .join("|");
            regex::RegexBuilder::new(&alternation)
                .case_insensitive(true)
                .size_limit(64 << 20)
                .build()
                .expect("escaped literals form a valid regex")
        });
        Self {
            names,
            needles,
            own_domains,
        }
    }

    pub fn keyed(&self) -> bool {
        self.names.keyed()
    }

    /// The pseudonym of one personal value.
    pub fn token(&self, value: &str) -> String {
        self.names.of(value)
    }

    /// Free text that stays: known personal values and anything shaped like an e-mail
    /// address, IIN or phone number become pseudonyms; pseudonyms already there are left alone.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in TOKEN.find_iter(text) {
            out.push_str(&self.scrub_plain(&text[last..m.start()]));
            out.push_str(m.as_str());
            last = m.end();
        }
        out.push_str(&self.scrub_plain(&text[last..]));
        out
    }

    fn scrub_plain(&self, text: &str) -> String {
        if text.is_empty() {
            return String::new();
        }
        let mut s = match &self.needles {
            Some(re) => re
                .replace_all(text, |c: &regex::Captures<'_>| self.token(&c[0]))
                .into_owned(),
            None => text.to_owned(),
        };
        s = EMAIL
            .replace_all(&s, |c: &regex::Captures<'_>| {
                if owned(&c[0], &self.own_domains) {
                    c[0].to_owned()
                } else {
                    self.token(&c[0])
                }
            })
            .into_owned();
        s = TWELVE_DIGITS
            .replace_all(&s, |c: &regex::Captures<'_>| self.token(&c[0]))
            .into_owned();
        PHONE
            .replace_all(&s, |c: &regex::Captures<'_>| self.token(&c[0]))
            .into_owned()
    }

    /// How identity was established, without the domains and addresses it names:
    /// `dkim=pass (mail.kz) by mx.nlg.kz` → `dkim=pass by mx.nlg.kz`.
    pub fn method(&self, how: &str) -> String {
        let mut s = how.to_owned();
        // Nested comments: innermost first.
        while COMMENT.is_match(&s) {
            s = COMMENT.replace_all(&s, " ").into_owned();
        }
        let s = DOMAIN_PROPERTY.replace_all(&s, " ");
        let s = self.scrub(&s);
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Reduces a JSON value field by field (see the module comment).
    pub fn json(&self, value: &Value, keep: Keep) -> Value {
        self.json_at(value, None, keep)
    }

    fn json_at(&self, value: &Value, field: Option<&str>, keep: Keep) -> Value {
        match value {
            Value::String(s) => Value::String(match field {
                Some(f) if METHOD_FIELDS.contains(&f) => self.method(s),
                Some(f) if matches!(keep, Keep::Fields(fields) if fields.contains(&f)) => {
                    self.scrub(s)
                }
                _ if matches!(keep, Keep::Everything) => self.scrub(s),
                _ => self.token(s),
            }),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.json_at(item, field, keep))
                    .collect(),
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.scrub(k), self.json_at(v, Some(k), keep)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// An outbox e-mail (`OutgoingEmail` as JSON) reduced: see the module comment.
    pub fn email(&self, payload: &Value) -> Value {
        let Value::Object(map) = payload else {
            return self.json(payload, Keep::Nothing);
        };
        let mut out = Map::new();
        for (key, value) in map {
            let reduced = match key.as_str() {
                "message_id" => self.json(value, Keep::Everything),
                "language" | "auto_replied" | "body_chars" => value.clone(),
                "subject" => Value::String(references_only(value.as_str().unwrap_or_default())),
                "body" => {
                    let body = value.as_str().unwrap_or_default();
                    if !body.is_empty() {
                        out.insert("body_chars".into(), json!(body.chars().count()));
                    }
                    Value::String(String::new())
                }
                "attachments" => Value::Array(
                    value
                        .as_array()
                        .map(|list| list.iter().map(|a| self.attachment(a)).collect())
                        .unwrap_or_default(),
                ),
                // to, in_reply_to, references, and anything unknown.
                _ => self.json(value, Keep::Nothing),
            };
            out.insert(key.clone(), reduced);
        }
        Value::Object(out)
    }

    /// An attachment without its contents: file name, type and size (bytes).
    fn attachment(&self, a: &Value) -> Value {
        let content = a["content"].as_str().unwrap_or_default();
        let size = match a.get("size").and_then(Value::as_u64) {
            Some(size) if content.is_empty() => size,
            _ => content.len() as u64,
        };
        json!({
            "filename": self.scrub(a["filename"].as_str().unwrap_or_default()),
            "content_type": a["content_type"].as_str().unwrap_or_default(),
            "content": "",
            "size": size,
        })
    }
}

/// `[DSR-2026-000123] Confirm your request: K7QM-2XPA` → `[DSR-2026-000123]`.
pub fn references_only(subject: &str) -> String {
    let refs: Vec<&str> = REFERENCE.find_iter(subject).map(|m| m.as_str()).collect();
    if refs.is_empty() {
        String::new()
    } else {
        format!("[{}]", refs.join(" "))
    }
}

/// Masks every one-time code in `value`'s strings whose hash is one of `code_hashes`
/// ([`verification::hash_code`]); returns the value and how many codes were masked.
pub fn mask_codes(value: &Value, code_hashes: &[Vec<u8>]) -> (Value, usize) {
    let mut masked = 0;
    let out = mask_in(value, code_hashes, &mut masked);
    (out, masked)
}

fn mask_in(value: &Value, hashes: &[Vec<u8>], masked: &mut usize) -> Value {
    match value {
        Value::String(s) => {
            let mut text = s.clone();
            for code in verification::codes_in(s) {
                if !hashes.contains(&verification::hash_code(&code)) {
                    continue;
                }
                let re = regex::RegexBuilder::new(&regex::escape(&code))
                    .case_insensitive(true)
                    .build()
                    .expect("escaped literal");
                let n = re.find_iter(&text).count();
                if n > 0 {
                    *masked += n;
                    text = re.replace_all(&text, MASKED_CODE).into_owned();
                }
            }
            Value::String(text)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| mask_in(item, hashes, masked))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask_in(v, hashes, masked)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Every string in a JSON value (to learn the personal values of a request before reducing).
pub fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if !is_reduced(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

/// The people a message names in its header: addresses and display names of From, Sender,
/// Reply-To, To and Cc.
pub fn people_in_header(raw: &[u8]) -> Vec<String> {
    let Some(message) = mail_parser::MessageParser::default().parse_headers(raw) else {
        return vec![];
    };
    let mut out = vec![];
    for address in [
        message.from(),
        message.sender(),
        message.reply_to(),
        message.to(),
        message.cc(),
    ]
    .into_iter()
    .flatten()
    {
        for a in address.iter() {
            out.extend(a.name().map(str::to_owned));
            out.extend(a.address().map(str::to_owned));
        }
    }
    out
}

/// The subject's values in an access report still attached to an outbox e-mail (its JSON
/// file's `subject` and table rows), to scrub them wherever else they were copied.
pub fn report_values(email: &Value) -> Vec<String> {
    let mut out = vec![];
    for a in email["attachments"].as_array().into_iter().flatten() {
        let Some(content) = a["content"].as_str().filter(|c| !c.is_empty()) else {
            continue;
        };
        let Ok(report) = serde_json::from_str::<Value>(content) else {
            continue;
        };
        strings_in(&report["subject"], &mut out);
        for store in report["stores"].as_array().into_iter().flatten() {
            for table in store["tables"].as_array().into_iter().flatten() {
                strings_in(&table["rows"], &mut out);
            }
        }
    }
    out
}

/// Worth looking for elsewhere: words of at least five characters (not a boolean), or a number
/// of at least ten digits. Shorter values would match innocent text.
fn is_needle(value: &str) -> bool {
    if is_reduced(value) || matches!(value, "true" | "false" | "null" | "none") {
        return false;
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let letters = value.chars().any(char::is_alphabetic);
    (letters && value.chars().count() >= 5) || digits >= 10
}

fn owned(value: &str, own_domains: &[String]) -> bool {
    value.rsplit_once('@').is_some_and(|(_, domain)| {
        let domain = domain.to_lowercase();
        own_domains
            .iter()
            .any(|own| domain == *own || domain.ends_with(&format!(".{own}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL_ADDR: &str = "Aigerim.Bekova@mail.kz";
    const IIN: &str = "870221304582";
    const PHONE_NO: &str = "+77015558023";

    fn keyed() -> Reducer {
        Reducer::new(
            Pseudonyms::new(b"test key"),
            [
                EMAIL_ADDR.to_owned(),
                IIN.to_owned(),
                PHONE_NO.to_owned(),
                "Aigerim Bekova".to_owned(),
            ],
            &["nlg.kz".to_owned()],
        )
    }

    fn holds_nothing_personal(text: &str) {
        let lower = text.to_lowercase();
        for v in [EMAIL_ADDR, IIN, PHONE_NO, "aigerim", "bekova", "5558023"] {
            assert!(!lower.contains(&v.to_lowercase()), "{v} in {text}");
        }
    }

    #[test]
    fn pseudonyms_are_keyed_stable_case_blind_and_idempotent() {
        let p = Pseudonyms::new(b"k1");
        let a = p.of(EMAIL_ADDR);
        assert!(a.starts_with("hmac:") && a.len() == 5 + 32, "{a}");
        assert_eq!(p.of(&EMAIL_ADDR.to_uppercase()), a);
        assert_eq!(p.of(&a), a, "a pseudonym is not hashed again");
        assert_ne!(Pseudonyms::new(b"k2").of(EMAIL_ADDR), a, "another key");
        assert_eq!(p.of(""), "");
        // Without a key nothing is hashed at all: an unkeyed hash of an IIN is the IIN.
        let unkeyed = Pseudonyms::new(b"");
        assert!(!unkeyed.keyed());
        assert_eq!(unkeyed.of(IIN), PURGED);
        assert_eq!(unkeyed.of(PURGED), PURGED);
    }

    #[test]
    fn understanding_keeps_kind_language_reasons_and_counts() {
        let r = keyed();
        let u = json!({
            "kind": "erasure", "also": ["access"], "review": false, "reply": true,
            "language": "ru", "iin": [IIN], "bin": [], "phones": [PHONE_NO, "+77010000000"],
            "invalid_iin": ["123456789012"], "reasons": ["asks for erasure"],
            "future_field": "Aigerim Bekova", "score": 3,
        });
        let reduced = r.json(&u, UNDERSTANDING);
        holds_nothing_personal(&reduced.to_string());
        assert_eq!(reduced["kind"], "erasure");
        assert_eq!(reduced["also"], json!(["access"]));
        assert_eq!(reduced["language"], "ru");
        assert_eq!(reduced["reasons"], json!(["asks for erasure"]));
        assert_eq!(reduced["reply"], true);
        assert_eq!(reduced["score"], 3);
        assert_eq!(reduced["phones"].as_array().unwrap().len(), 2, "the count");
        assert_eq!(reduced["iin"][0], r.token(IIN));
        assert!(is_reduced(reduced["future_field"].as_str().unwrap()));
        assert_eq!(r.json(&reduced, UNDERSTANDING), reduced, "idempotent");
    }

    #[test]
    fn event_details_keep_statuses_and_scrub_free_text() {
        let r = keyed();
        let detail = json!({
            "from": "needs_review", "to": "approved", "by_staff_id": 4, "audit_id": 9,
            "how": "dkim=pass (mail.kz) header.d=mail.kz by mx.nlg.kz",
            "error": format!("store shop: duplicate entry '{EMAIL_ADDR}' for key email"),
            "by": "dpo@nlg.kz",
            "after": { "status": "approved", "linked_subject": { "emails": [EMAIL_ADDR], "iins": [IIN], "phones": [] },
                       "note": "called Aigerim Bekova on 8 (701) 555-80-23, IIN 870221304582" },
        });
        let reduced = r.json(&detail, EVENT);
        holds_nothing_personal(&reduced.to_string());
        assert_eq!(reduced["from"], "needs_review");
        assert_eq!(reduced["to"], "approved");
        assert_eq!(reduced["by_staff_id"], 4);
        assert_eq!(reduced["how"], "dkim=pass by mx.nlg.kz");
        assert_eq!(reduced["by"], "dpo@nlg.kz", "staff addresses stay");
        assert!(reduced["error"]
            .as_str()
            .unwrap()
            .starts_with("store shop: duplicate entry 'hmac:"));
        assert_eq!(
            reduced["after"]["linked_subject"]["iins"][0],
            r.token(IIN),
            "identifiers become pseudonyms, counted"
        );
        assert!(reduced["after"]["note"]
            .as_str()
            .unwrap()
            .starts_with("called hmac:"));
        assert_eq!(r.json(&reduced, EVENT), reduced, "idempotent");
    }

    #[test]
    fn plans_keep_actions_and_counts_not_the_subject() {
        let r = keyed();
        let plan = json!({
            "kind": "erasure",
            "subject": { "emails": [EMAIL_ADDR], "iins": [IIN], "phones": [PHONE_NO] },
            "tables": { "customers": { "action": "anonymise", "rows": 1 } },
        });
        let reduced = r.json(&plan, PLAN);
        holds_nothing_personal(&reduced.to_string());
        assert_eq!(reduced["tables"]["customers"]["action"], "anonymise");
        assert_eq!(reduced["tables"]["customers"]["rows"], 1);
        assert_eq!(reduced["subject"]["phones"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn emails_keep_references_ids_and_sizes_only() {
        let r = keyed();
        let report = format!("{{\"iin\": \"{IIN}\"}}");
        let email = json!({
            "to": EMAIL_ADDR,
            "subject": "[DSR-2026-000123] Confirm your request: K7QM-2XPA",
            "body": "Hello Aigerim Bekova,\nyour code is K7QM-2XPA",
            "message_id": "dsr-2026-000123.confirm-42@nlg.kz",
            "in_reply_to": "CAF=aigerim.bekova@mail.gmail.com",
            "references": ["CAF=aigerim.bekova@mail.gmail.com"],
            "language": "en", "auto_replied": true,
            "attachments": [{ "filename": "report.json", "content_type": "application/json",
                              "content": report }],
        });
        let reduced = r.email(&email);
        holds_nothing_personal(&reduced.to_string());
        assert!(!reduced.to_string().contains("K7QM"));
        assert_eq!(reduced["subject"], "[DSR-2026-000123]");
        assert_eq!(reduced["body"], "");
        assert_eq!(reduced["body_chars"], 44);
        assert_eq!(reduced["to"], r.token(EMAIL_ADDR));
        assert_eq!(reduced["message_id"], "dsr-2026-000123.confirm-42@nlg.kz");
        assert_eq!(reduced["references"].as_array().unwrap().len(), 1);
        assert_eq!(reduced["attachments"][0]["filename"], "report.json");
        assert_eq!(reduced["attachments"][0]["content"], "");
        assert_eq!(reduced["attachments"][0]["size"], report.len());
        assert_eq!(r.email(&reduced), reduced, "idempotent");
        // It still reads as an outbox e-mail.
        let back: crate::outbound::outbox::OutgoingEmail = serde_json::from_value(reduced).unwrap();
        assert_eq!(back.attachments[0].content, "");
    }

    #[test]
    fn scrubbing_finds_shapes_and_known_values_and_spares_pseudonyms() {
        let r = keyed();
        let token = r.token(IIN);
        let text = format!(
            "{token} wrote from {EMAIL_ADDR}, phone +7 701 555 80 23, iin {IIN}; \
             info@nlg.kz replied on 2026-11-24 10:00:00; Aigerim BEKOVA again"
        );
        let s = r.scrub(&text);
        holds_nothing_personal(&s);
        assert!(s.starts_with(&token), "{s}");
        assert!(s.contains("info@nlg.kz"), "{s}");
        assert!(
            s.contains("2026-11-24 10:00:00"),
            "dates are not phones: {s}"
        );
        assert_eq!(r.scrub(&s), s);
        // Without a key the values are gone just the same.
        let unkeyed = Reducer::new(Pseudonyms::new(b""), [], &[]);
        let s = unkeyed.scrub(&text);
        assert!(!s.contains(IIN) && !s.contains(EMAIL_ADDR), "{s}");
    }

    #[test]
    fn codes_are_masked_only_when_they_are_the_verifications() {
        let (code, hash) = verification::new_code();
        let (other, _) = verification::new_code();
        let email = json!({
            "subject": format!("[DSR-2026-000001] Confirm your request: {code}"),
            "body": format!("Your code: {}\nNot ours: {other}", code.to_lowercase()),
        });
        let (masked, n) = mask_codes(&email, std::slice::from_ref(&hash));
        assert_eq!(n, 2);
        let text = masked.to_string();
        assert!(!text.to_uppercase().contains(&code), "{text}");
        assert!(text.contains(&other), "another code is not touched");
        assert!(text.contains(MASKED_CODE));
        assert_eq!(mask_codes(&masked, &[hash]).1, 0, "idempotent");
    }

    #[test]
    fn headers_and_reports_give_the_values_to_look_for() {
        let raw = format!(
            "From: Aigerim Bekova <{EMAIL_ADDR}>\r\nTo: info@nlg.kz\r\nCc: =?UTF-8?B?0JDQudCz0LXRgNC40Lw=?= <a2@mail.kz>\r\nSubject: x\r\n\r\nbody\r\n"
        );
        let people = people_in_header(raw.as_bytes());
        assert!(people.contains(&"Aigerim Bekova".to_owned()), "{people:?}");
        assert!(people.contains(&EMAIL_ADDR.to_owned()));
        assert!(
            people.contains(&"Айгерим".to_owned()),
            "decoded: {people:?}"
        );
        let report = json!({ "subject": { "emails": [EMAIL_ADDR] },
            "stores": [{ "store": "crm", "tables": [{ "table": "customers",
              "rows": [{ "full_name": "Aigerim Bekova", "amount": "5000" }] }] }] });
        let email = json!({ "attachments": [{ "filename": "report.json",
            "content_type": "application/json", "content": report.to_string() }] });
        let values = report_values(&email);
        assert!(values.contains(&"Aigerim Bekova".to_owned()), "{values:?}");
        // Short or boolean values are not worth scrubbing for.
        let r = Reducer::new(
            Pseudonyms::new(b"k"),
            ["5000".into(), "true".into(), "Aigerim Bekova".into()],
            &[],
        );
        assert_eq!(r.scrub("5000 true"), "5000 true");
    }
}
