//! Identifiers the sender gives as their own: IIN, BIN, phone numbers.
//!
//! Only the sender's own words are searched (never quoted mail). A twelve-digit number is found
//! however it is grouped (`880415403128`, `8804 1540 3128`, `880415-403128`, `88 04 15 403128`)
//! but never cut out of a longer number (a card number). Whose it is comes from the nearest cue
//! before it in the same sentence, read with the vocabulary ([`Sig::IdMine`] "мой ИИН",
//! "менің ЖСН", "my IIN"; [`Sig::IdOther`] and [`Sig::ThirdParty`] "сына", "ұлымның",
//! "her IIN", "клиента", "пример"). Without a cue, a number in a message about somebody else
//! (a child, a client, an authority's request) is not taken as the sender's, and when a child
//! is mentioned the IIN of a minor is the child's: precision first.

use regex::Regex;
use std::sync::{Arc, LazyLock};

use super::normalise;
use super::vocabulary::{Sig, Vocabulary};
use super::Company;
use crate::domain::{Bin, Iin, Phone};

#[derive(Debug, Default, Clone)]
pub struct Found {
    pub iin: Vec<Iin>,
    pub bin: Vec<Bin>,
    pub phones: Vec<Phone>,
    pub invalid_iin: Vec<String>,
    /// Valid IINs that belong to somebody else (or to nobody said to be the sender).
    pub others_iin: Vec<Iin>,
    /// Numbers given for someone else, or contradicting each other.
    pub notes: Vec<String>,
}

/// What the message as a whole says, for numbers without a cue of their own.
#[derive(Debug, Default, Clone, Copy)]
pub struct Context {
    /// The message concerns somebody else (relative, client, representative, authority).
    pub about_others: bool,
    /// A child of the sender is mentioned.
    pub child: bool,
}

static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\(?\d[\d \-\u{a0}().]{7,18}\d").expect("valid regex"));

/// Whose a number is, from the words before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Mine,
    Other,
    Unsaid,
}

/// Cues further back than this many words do not speak for the number.
const CUE_REACH: usize = 8;

/// Twelve-digit candidates: (byte range in `text`, digits). Digit groups joined by single
/// separators form a run; a run of twelve digits (groups of at least two) is a candidate, and
/// so is a bare twelve-digit group inside a longer run (a date or a phone next to it), but never
/// twelve digits cut out of a longer grouped number (a card number), nor anything after `+`.
fn twelve_digit_numbers(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let is_sep = |c: char| {
        matches!(
            c,
            ' ' | '\u{a0}' | '\u{2009}' | '\u{202f}' | '-' | '–' | '.'
        )
    };
    let b = text.as_bytes();
    // (start, end) of every digit group.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let s = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            groups.push((s, i));
        } else {
            i += 1;
        }
    }
    let joined = |a: (usize, usize), n: (usize, usize)| {
        let gap = &text[a.1..n.0];
        let mut cs = gap.chars();
        matches!((cs.next(), cs.next()), (Some(c), None) if is_sep(c))
    };
    let mut out = Vec::new();
    let mut k = 0;
    while k < groups.len() {
        let mut e = k;
        while e + 1 < groups.len() && joined(groups[e], groups[e + 1]) {
            e += 1;
        }
        let run = &groups[k..=e];
        let international = groups[k].0 > 0 && b[groups[k].0 - 1] == b'+';
        if !international {
            let total: usize = run.iter().map(|g| g.1 - g.0).sum();
            if total == 12 && run.iter().all(|g| g.1 - g.0 >= 2) {
                let digits: String = run.iter().map(|g| &text[g.0..g.1]).collect();
                out.push((run[0].0..run[run.len() - 1].1, digits));
            } else if total > 12 {
                for g in run.iter().filter(|g| g.1 - g.0 == 12) {
                    out.push((g.0..g.1, text[g.0..g.1].to_owned()));
                }
            }
        }
        k = e + 1;
    }
    out
}

pub fn find(own: &str, company: &Company, vocabulary: &Arc<Vocabulary>, ctx: Context) -> Found {
    let mut found = Found::default();
    let mut taken: Vec<std::ops::Range<usize>> = Vec::new();
    for (range, digits) in twelve_digit_numbers(own) {
        taken.push(range.clone());
        if company.bins.contains(&digits) {
            continue;
        }
        let context = before(own, range.start);
        let cue = owner(vocabulary, context);
        match (Iin::parse(&digits), Bin::parse(&digits)) {
            (Ok(iin), _) => {
                let minor = ctx.child && is_minor(&digits);
                let mine = match cue.0 {
                    Owner::Mine => !minor || cue.1 <= 2,
                    Owner::Other => false,
                    Owner::Unsaid => !ctx.about_others && !minor,
                };
                if !mine {
                    if !found.others_iin.contains(&iin) {
                        found.others_iin.push(iin);
                    }
                } else if !found.iin.contains(&iin) {
                    found.iin.push(iin);
                }
            }
            (_, Ok(bin)) => {
                let org = has_sig(vocabulary, context, |s| matches!(s, Sig::IdOtherOrg));
                if cue.0 != Owner::Other
                    && !org
                    && !mentions_company(context)
                    && !found.bin.contains(&bin)
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
        if owner(vocabulary, context).0 == Owner::Other {
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

/// The text of the same sentence before `pos` (at most 400 bytes back), as written.
fn before(text: &str, pos: usize) -> &str {
    let mut start = pos.saturating_sub(400);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let window = &text[start..pos];
    // A sentence ends at . ! ? followed by a space or line end (not inside an address or a
    // number), or at a blank line.
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
    &window[cut..]
}

/// The nearest ownership cue before the end of `context`, and how many words back it is.
fn owner(vocabulary: &Arc<Vocabulary>, context: &str) -> (Owner, usize) {
    let views = normalise::views(context);
    let mut best: (Owner, usize) = (Owner::Unsaid, usize::MAX);
    for (view, m) in [(&views.cyr, &vocabulary.cyr), (&views.lat, &vocabulary.lat)] {
        let hits = m.hits(view);
        // Words inside "я, мать" describe the sender; they are no cue of another person.
        let roles: Vec<(usize, usize)> = hits
            .iter()
            .filter(|h| m.sigs(h).contains(&Sig::SelfRole))
            .map(|h| (h.start, h.word_end))
            .collect();
        for h in &hits {
            let sigs = m.sigs(h);
            let in_role = roles.iter().any(|(s, e)| h.start >= *s && h.word_end <= *e);
            let other = !in_role
                && !sigs.contains(&Sig::SelfRole)
                && sigs.iter().any(|s| {
                    matches!(
                        s,
                        Sig::IdOther | Sig::ThirdParty | Sig::Representative | Sig::Child
                    )
                });
            let mine = sigs
                .iter()
                .any(|s| matches!(s, Sig::IdMine | Sig::OwnData | Sig::SelfRole));
            if !(other || mine) {
                continue;
            }
            let distance = words(&view[h.word_end..]);
            if distance > CUE_REACH {
                continue;
            }
            // Nearer wins; at the same distance, somebody else's wins (precision first).
            let o = if other { Owner::Other } else { Owner::Mine };
            if distance < best.1 || (distance == best.1 && o == Owner::Other) {
                best = (o, distance);
            }
        }
    }
    best
}

fn has_sig(vocabulary: &Arc<Vocabulary>, context: &str, f: fn(&Sig) -> bool) -> bool {
    let views = normalise::views(context);
    [(&views.cyr, &vocabulary.cyr), (&views.lat, &vocabulary.lat)]
        .iter()
        .any(|(view, m)| m.hits(view).iter().any(|h| m.sigs(h).iter().any(f)))
}

fn words(s: &str) -> usize {
    s.split(|c: char| !normalise::is_letter(c) || c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .count()
}

fn mentions_company(context: &str) -> bool {
    context.to_lowercase().contains("nlg")
}

/// Whether the IIN's holder is under 18 today (birth date from its first seven digits).
fn is_minor(digits: &str) -> bool {
    let d = digits.as_bytes();
    let n = |i: usize| u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0');
    let century = match d[6] - b'0' {
        1 | 2 => 1800,
        3 | 4 => 1900,
        _ => 2000,
    };
    let Some(born) = chrono::NaiveDate::from_ymd_opt((century + n(0)) as i32, n(2), n(4)) else {
        return false;
    };
    let today = chrono::Utc::now().date_naive();
    today.years_since(born).is_some_and(|y| y < 18)
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

    fn find_in(text: &str, ctx: Context) -> Found {
        find(text, &company(), &Vocabulary::embedded(), ctx)
    }

    fn plain(text: &str) -> Found {
        find_in(text, Context::default())
    }

    const OWN: &str = "880415403128";

    #[test]
    fn own_iin_and_phone_are_found() {
        let f = plain("Мой ИИН 880415403128, тел. 8 (701) 555-12-34");
        assert_eq!(f.iin[0].as_str(), OWN);
        assert_eq!(f.phones[0].as_str(), "+77015551234");
    }

    #[test]
    fn grouped_iin_is_joined_however_it_is_written() {
        for text in [
            "ИИН 8804 1540 3128.",
            "ИИН: 880415-403128",
            "ИИН 88 04 15 403128",
            "ИИН 880 415 403 128",
            "ИИН 880415\u{a0}403128",
            "my IIN is 8804-1540-3128",
            "ЖСН: 880415403128\nрахмет",
            "Туған күнім 15.04.1988 880415403128",
        ] {
            let f = plain(text);
            assert_eq!(strings(&f.iin), [OWN], "{text}: {f:?}");
            assert!(f.phones.is_empty(), "{text}: {f:?}");
        }
    }

    #[test]
    fn a_number_inside_a_longer_number_is_not_an_iin() {
        // A card number in groups of four holds twelve-digit runs that might pass the checksum.
        let f = plain("карта 8804 1540 3128 1234");
        assert!(f.iin.is_empty() && f.invalid_iin.is_empty(), "{f:?}");
        let f = plain("+880415403128");
        assert!(f.iin.is_empty(), "{f:?}");
    }

    #[test]
    fn checksum_failures_are_reported_apart() {
        let f = plain("ИИН 880415403129");
        assert!(f.iin.is_empty());
        assert_eq!(f.invalid_iin, vec!["880415403129"]);
    }

    #[test]
    fn company_contacts_and_others_are_excluded() {
        let f =
            plain("БИН 250140021383, тел. +7 727 339 48 10. Моя мать (ИИН 880415403128) умерла.");
        assert!(f.bin.is_empty());
        assert!(f.phones.is_empty());
        assert!(f.iin.is_empty());
        assert_eq!(f.others_iin.len(), 1);
    }

    #[test]
    fn parent_iin_is_not_the_senders() {
        let f = plain("Когда я был маленьким, папа зарегистрировал аккаунт на свой ИИН 880415403128 (его ФИО). Прошу поставить мой.");
        assert_eq!(f.others_iin.len(), 1, "{f:?}");
    }

    #[test]
    fn the_nearest_cue_decides_between_two_iins() {
        let child = "110623560036";
        for text in [
            format!("ИИН сына {child}, мой ИИН {OWN}."),
            format!("Мой ИИН {OWN}, ИИН ребёнка {child}."),
            format!("Ұлымның ЖСН: {child}\nМенің ЖСН: {OWN}"),
            format!("My IIN is {OWN}; my son's IIN is {child}."),
            format!("Я, мать, ИИН {OWN}. Дочь: {child}"),
        ] {
            let f = find_in(
                &text,
                Context {
                    about_others: true,
                    child: true,
                },
            );
            assert_eq!(strings(&f.iin), [OWN], "{text}: {f:?}");
            assert_eq!(strings(&f.others_iin), [child], "{text}: {f:?}");
        }
    }

    #[test]
    fn without_a_cue_a_number_in_mail_about_others_is_not_the_senders() {
        let ctx = Context {
            about_others: true,
            child: false,
        };
        let f = find_in(&format!("Пишу за жену.\nИИН: {OWN}"), ctx);
        assert!(f.iin.is_empty(), "{f:?}");
        // A minor's IIN is a child's when a child is mentioned, even with no cue.
        let f = find_in(
            "My daughter signed up. IIN: 110623560036",
            Context {
                about_others: true,
                child: true,
            },
        );
        assert!(f.iin.is_empty(), "{f:?}");
        // ... but the sender's own, said as such, is kept.
        let f = find_in(&format!("Пишу за жену. Мой ИИН {OWN}"), ctx);
        assert_eq!(strings(&f.iin), [OWN]);
    }

    #[test]
    fn someone_elses_number_in_an_authority_request() {
        let f = find_in(
            &format!("Прошу предоставить сведения о пользователе с ИИН {OWN}."),
            Context {
                about_others: true,
                child: false,
            },
        );
        assert!(f.iin.is_empty(), "{f:?}");
        let f = plain(&format!(
            "Provide the file of your customer Bolat, IIN {OWN}"
        ));
        assert!(f.iin.is_empty(), "{f:?}");
    }

    #[test]
    fn placeholder_phone_is_not_a_contact() {
        let f = plain("пример: +7 701 000 00 00");
        assert!(f.phones.is_empty());
    }

    #[test]
    fn minors_by_birth_date() {
        assert!(is_minor("110623560036"));
        assert!(!is_minor(OWN));
    }

    fn strings<T: ToString>(v: &[T]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }
}
