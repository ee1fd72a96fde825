//! What the sender asks for: kind, language, identifiers and whether staff must look first.

use regex::Regex;
use std::sync::LazyLock;

use super::{Company, Envelope, Understanding};
use crate::domain::{Bin, Iin, Language, MailKind, Phone, RequestKind};

/// Keyword stems per kind, matched on lower-cased subject + text.
const STEMS: &[(RequestKind, &[&str])] = &[
    (
        RequestKind::WithdrawConsent,
        &[
            "withdraw",
            "revoke",
            "отзыв",
            "отозва",
            "отзываю",
            "кері қайтар",
            "келісімімді",
        ],
    ),
    (
        RequestKind::Erasure,
        &["delete", "erase", "удал", "уничтож", "жою", "жойы", "өшір"],
    ),
    (
        RequestKind::Access,
        &[
            "what data",
            "what personal data",
            "copy of my",
            "какие данные",
            "какие персональные",
            "қандай дерек",
        ],
    ),
    (
        RequestKind::Restriction,
        &[
            "block",
            "restrict",
            "заблокир",
            "блокир",
            "ограничить",
            "бұғатта",
        ],
    ),
    (
        RequestKind::Rectification,
        &[
            "correct",
            "rectif",
            "update my",
            "исправ",
            "изменить",
            "түзет",
        ],
    ),
    (
        RequestKind::MarketingOptOut,
        &[
            "unsubscribe",
            "newsletter",
            "отпис",
            "рассылк",
            "жазылымнан",
            "хабарлама жібермеңіз",
        ],
    ),
];

static TWELVE_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^0-9])([0-9]{12})(?:[^0-9]|$)").expect("valid regex"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+7|\b8|\b7)[\s\-(]*\d{3}[\s\-)]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}\b")
        .expect("valid regex")
});

pub fn understand(envelope: &Envelope, text: &str, company: &Company) -> Understanding {
    let haystack = format!("{}\n{}", envelope.subject, text).to_lowercase();
    let mut kinds: Vec<RequestKind> = STEMS
        .iter()
        .filter(|(_, stems)| stems.iter().any(|s| haystack.contains(s)))
        .map(|(k, _)| *k)
        .collect();
    let mut reasons = vec![];
    let kind = if kinds.is_empty() {
        reasons.push("no data-subject request found".to_owned());
        MailKind::NotARequest
    } else {
        MailKind::Request(kinds.remove(0))
    };
    let language = language(&haystack);
    let mut iin = vec![];
    let mut bin = vec![];
    let mut invalid_iin = vec![];
    for cap in TWELVE_DIGITS.captures_iter(&haystack) {
        let digits = &cap[1];
        if company.bins.iter().any(|b| b == digits) {
            continue;
        }
        if let Ok(i) = Iin::parse(digits) {
            iin.push(i);
        } else if let Ok(b) = Bin::parse(digits) {
            bin.push(b);
        } else {
            invalid_iin.push(digits.to_owned());
        }
    }
    let phones: Vec<Phone> = PHONE
        .find_iter(&haystack)
        .filter_map(|m| Phone::parse(m.as_str()))
        .filter(|p| !company.phones.iter().any(|c| c == p.as_str()))
        .collect();
    let is_request = kind.request().is_some();
    let review = is_request && !kinds.is_empty();
    if review {
        reasons.push("several intents in one message".to_owned());
    }
    Understanding {
        kind,
        also: kinds,
        review,
        reply: is_request && envelope.from.is_some(),
        language,
        iin,
        bin,
        phones,
        invalid_iin,
        reasons,
    }
}

fn language(text: &str) -> Language {
    const KAZAKH: &str = "әғқңөұүһі";
    let (mut cyr, mut lat, mut kaz) = (0usize, 0usize, 0usize);
    for c in text.chars() {
        if KAZAKH.contains(c) {
            kaz += 1;
        } else if ('а'..='я').contains(&c) || c == 'ё' {
            cyr += 1;
        } else if c.is_ascii_alphabetic() {
            lat += 1;
        }
    }
    if kaz > 0 {
        Language::Kk
    } else if cyr >= lat {
        if cyr == 0 {
            Language::Kk
        } else {
            Language::Ru
        }
    } else {
        Language::En
    }
}
