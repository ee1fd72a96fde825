//! Identifiers the sender gives as their own: IIN, BIN, phone numbers.
//!
//! Only the sender's own words are searched (never quoted mail). A number is not the sender's
//! when the words just before it name somebody else (a mother, a client, a counterparty, a
//! sample record) or when it is one of the company's own contacts.

use regex::Regex;
use std::sync::LazyLock;

use super::normalise;
use super::Company;
use crate::domain::{Bin, Iin, Phone};

#[derive(Debug, Default, Clone)]
pub struct Found {
    pub iin: Vec<Iin>,
    pub bin: Vec<Bin>,
    pub phones: Vec<Phone>,
    pub invalid_iin: Vec<String>,
    /// Valid IINs that belong to somebody else (third-party context).
    pub others_iin: Vec<Iin>,
    /// Numbers given for someone else, or contradicting each other.
    pub notes: Vec<String>,
}

static TWELVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9+])(\d{4}[ \-]?\d{4}[ \-]?\d{4}|\d{6}[ \-]\d{6}|\d{3} \d{3} \d{3} \d{3})(?:[^0-9]|$)")
        .expect("valid regex")
});
static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\(?\d[\d \-\u{a0}().]{7,18}\d").expect("valid regex"));

/// Words that, shortly before a number, say it belongs to somebody else.
const OTHERS: &[&str] = &[
    // ru
    "муж",
    "мужа",
    "жена",
    "жены",
    "супруг",
    "сын",
    "сына",
    "дочь",
    "дочер",
    "мать",
    "матери",
    "мама",
    "мамы",
    "отец",
    "отца",
    "папа",
    "папы",
    "брат",
    "сестр",
    "бабушк",
    "дедушк",
    "ребен",
    "доверител",
    "клиент",
    "в интересах",
    "от имени",
    "умер",
    "покойн",
    "коллег",
    "сотрудник",
    "пример",
    "образец",
    // kk
    "анам",
    "анасы",
    "акем",
    "акеси",
    "улим",
    "кизим",
    "куиеуим",
    "аиелим",
    "агам",
    "иним",
    "апам",
    "ажем",
    "атам",
    "балам",
    "баламн",
    "каитис",
    "арипт",
    // en
    "husband",
    "wife",
    "son",
    "daughter",
    "mother",
    "father",
    "mom",
    "dad",
    "brother",
    "sister",
    "child",
    "client",
    "deceased",
    "colleague",
    "assistant",
    "example",
    "sample",
    "on behalf",
];

/// Words that, shortly before a BIN, say it is another organisation's (not the sender's).
const OTHER_ORGS: &[&str] = &[
    "тоо",
    "ип",
    "контрагент",
    "спор",
    "ответчик",
    "покупател",
    "заказчик",
    "сатип алуши",
    "counterparty",
    "buyer",
    "customer",
    "against",
];

/// Words that, just before a number, say it is the sender's own.
const MINE: &[&str] = &[
    "мои иин",
    "мое иин",
    "у меня",
    "менин жсн",
    "менин иин",
    "my iin",
    "my own",
    "мои:",
    "мои,",
];

pub fn find(own: &str, company: &Company) -> Found {
    let mut found = Found::default();
    let mut taken: Vec<std::ops::Range<usize>> = Vec::new();
    for cap in TWELVE.captures_iter(own) {
        let m = cap.get(1).expect("group");
        taken.push(m.range());
        let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
        if company.bins.contains(&digits) {
            continue;
        }
        let context = before(own, m.start());
        let someone_else = belongs_to_other(&context);
        match (Iin::parse(&digits), Bin::parse(&digits)) {
            (Ok(iin), _) => {
                if someone_else {
                    found.others_iin.push(iin);
                } else if !found.iin.contains(&iin) {
                    found.iin.push(iin);
                }
            }
            (_, Ok(bin)) => {
                let org = OTHER_ORGS.iter().any(|w| has_word(&context, w));
                if !someone_else && !org && !mentions_company(&context) && !found.bin.contains(&bin)
                {
                    found.bin.push(bin);
                }
            }
            (Err(_), Err(_)) => {
                if plausible_iin(&digits) && !found.invalid_iin.contains(&digits) {
                    found.invalid_iin.push(digits);
                }
            }
        }
    }
    for m in PHONE.find_iter(own) {
        if taken.iter().any(|r| r.start < m.end() && m.start() < r.end) {
            continue;
        }
        let s = m.as_str();
        // Dates and times (02.12.2025 13:44) are not phones.
        if s.contains('.') && !s.contains(' ') && s.matches('.').count() >= 2 {
            continue;
        }
        let Some(phone) = Phone::parse(s) else {
            continue;
        };
        if phone.is_placeholder()
            || company.phones.iter().any(|c| c == phone.as_str())
            || found.phones.contains(&phone)
        {
            continue;
        }
        let context = before(own, m.start());
        if belongs_to_other(&context) && !is_mine(&context) {
            continue;
        }
        found.phones.push(phone);
    }
    if found.iin.len() > 1 {
        found
            .notes
            .push("more than one valid IIN is given as the sender's own".to_owned());
    }
    if !found.others_iin.is_empty() {
        found
            .notes
            .push("an IIN of another person is given".to_owned());
    }
    found
}

/// The words of the same sentence before `pos`, at most ~90 bytes back, normalised.
fn before(text: &str, pos: usize) -> String {
    let mut start = pos.saturating_sub(400);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let window = &text[start..pos];
    // A sentence ends at . ! ? followed by a space or line end (not inside an address), or at
    // a blank line.
    let b = window.as_bytes();
    let mut cut = 0;
    for (i, c) in window.char_indices() {
        let next = b.get(i + 1).copied();
        let ends = matches!(c, '.' | '!' | '?') && next.is_none_or(|n| n.is_ascii_whitespace());
        let blank = c == '\n' && next == Some(b'\n');
        if ends || blank {
            cut = i + 1;
        }
    }
    let w = normalise::views(&window[cut..]);
    format!(" {} | {} ", w.cyr, w.lat)
}

fn belongs_to_other(context: &str) -> bool {
    if is_mine(context) {
        return false;
    }
    OTHERS.iter().any(|w| has_word(context, w))
}

static FOLDED: LazyLock<std::collections::HashMap<&'static str, String>> = LazyLock::new(|| {
    OTHERS
        .iter()
        .chain(OTHER_ORGS)
        .chain(MINE)
        .map(|w| (*w, normalise::cyr(w)))
        .collect()
});

fn has_word(context: &str, w: &str) -> bool {
    let w = FOLDED.get(w).cloned().unwrap_or_else(|| normalise::cyr(w));
    context
        .match_indices(w.as_str())
        .any(|(i, _)| !context[..i].chars().last().is_some_and(char::is_alphabetic))
}

fn is_mine(context: &str) -> bool {
    MINE.iter()
        .any(|w| FOLDED.get(w).is_some_and(|f| context.contains(f.as_str())))
}

fn mentions_company(context: &str) -> bool {
    context.contains("nlg")
}

/// A checksum-failing number that still reads like an IIN (a date and a century digit).
fn plausible_iin(d: &str) -> bool {
    let b = d.as_bytes();
    let n = |i: usize| (b[i] - b'0') * 10 + (b[i + 1] - b'0');
    (1..=12).contains(&n(2)) && (1..=31).contains(&n(4)) && (1..=6).contains(&(b[6] - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company() -> Company {
        Company {
            mailbox: "info@nlg.kz".into(),
            domains: vec!["nlg.kz".into()],
            bins: vec!["250140021383".into()],
            phones: vec!["+77273394810".into()],
        }
    }

    #[test]
    fn own_iin_and_phone_are_found() {
        let f = find("Мой ИИН 880415403128, тел. 8 (701) 555-12-34", &company());
        assert_eq!(f.iin[0].as_str(), "880415403128");
        assert_eq!(f.phones[0].as_str(), "+77015551234");
    }

    #[test]
    fn grouped_iin_is_joined() {
        let f = find("ИИН 8804 1540 3128.", &company());
        assert_eq!(f.iin[0].as_str(), "880415403128");
        assert!(f.phones.is_empty());
    }

    #[test]
    fn checksum_failures_are_reported_apart() {
        let f = find("ИИН 880415403129", &company());
        assert!(f.iin.is_empty());
        assert_eq!(f.invalid_iin, vec!["880415403129"]);
    }

    #[test]
    fn company_contacts_and_others_are_excluded() {
        let f = find(
            "БИН 250140021383, тел. +7 727 339 48 10. Моя мать (ИИН 880415403128) умерла.",
            &company(),
        );
        assert!(f.bin.is_empty());
        assert!(f.phones.is_empty());
        assert!(f.iin.is_empty());
        assert_eq!(f.others_iin.len(), 1);
    }

    #[test]
    fn parent_iin_is_not_the_senders() {
        let f = find("Когда я был маленьким, папа зарегистрировал аккаунт на свой ИИН 880415403128 (его ФИО). Прошу поставить мой.", &company());
        assert_eq!(f.others_iin.len(), 1, "{f:?}");
    }

    #[test]
    fn placeholder_phone_is_not_a_contact() {
        let f = find("пример: +7 701 000 00 00", &company());
        assert!(f.phones.is_empty());
    }
}
