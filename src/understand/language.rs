//! The language of a message: `kk`, `ru`, `en` or `mixed`.
//!
//! Every word votes: Cyrillic words with a Kazakh letter (also a Latin `i`/`ə` lookalike inside
//! a Cyrillic word) or a common Kazakh word are Kazakh, other Cyrillic words Russian; Latin
//! words are Kazakh Latin (2021 letters, `q`, common words), Russian translit (common words and
//! spellings), or English. A second language with a quarter of the votes makes the text mixed.
//! Addresses, host names and URLs do not vote.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::normalise::{is_letter, lowercase};
use crate::domain::Language;

/// The word lists as sets (looked up once per word of every message).
struct Lists {
    kk_cyr: HashSet<&'static str>,
    ru_cyr: HashSet<&'static str>,
    en: HashSet<&'static str>,
    kk_lat: HashSet<&'static str>,
    ru_lat: HashSet<&'static str>,
}

static LISTS: LazyLock<Lists> = LazyLock::new(|| Lists {
    kk_cyr: KK_CYR.iter().copied().collect(),
    ru_cyr: RU_CYR.iter().copied().collect(),
    en: EN.iter().copied().collect(),
    kk_lat: KK_LAT.iter().copied().collect(),
    ru_lat: RU_LAT.iter().copied().collect(),
});

const KK_CYR: &[&str] = &[
    "мен",
    "бе",
    "ба",
    "бар",
    "деп",
    "осы",
    "сайт",
    "деректер",
    "деректерди",
    "рахмет",
    "кун",
    "кайырлы",
    "кандай",
    "кери",
    "жою",
    "жок",
    "емес",
    "жане",
    "жеке",
    "бизге",
    "сизге",
    "ушин",
    "туралы",
    "бойынша",
    "арнайы",
    "ретинде",
    "кайтарып",
    "аламын",
    "сураймын",
];
const EN: &[&str] = &[
    "the",
    "to",
    "and",
    "of",
    "i",
    "my",
    "you",
    "your",
    "please",
    "a",
    "an",
    "is",
    "are",
    "for",
    "with",
    "me",
    "what",
    "do",
    "not",
    "this",
    "that",
    "have",
    "it",
    "in",
    "on",
    "be",
    "we",
    "our",
    "all",
    "any",
    "from",
    "by",
    "hi",
    "hello",
    "dear",
    "thanks",
    "thank",
    "regards",
    "data",
    "account",
    "delete",
    "only",
    "use",
    "need",
    "needed",
    "who",
    "where",
    "which",
    "about",
    "no",
    "yes",
    "or",
    "if",
    "can",
    "would",
    "could",
    "will",
    "stop",
    "unsubscribe",
];
const KK_LAT: &[&str] = &[
    "be",
    "men",
    "dep",
    "jeke",
    "rahmet",
    "rakhmet",
    "salem",
    "jane",
    "osy",
    "bul",
    "bar",
    "jok",
    "emes",
    "kerek",
    "solai",
    "menin",
    "derekter",
    "jaksy",
    "jaqsy",
    "bolar",
    "edi",
    "komektesseniz",
    "sizderde",
    "qandai",
    "kandai",
    "otinish",
    "kelisim",
    "sálem",
    "atym",
    "jsn",
    "zhsn",
];
const RU_LAT: &[&str] = &[
    "privet",
    "pozhaluysta",
    "pozhaluista",
    "pojaluista",
    "spasibo",
    "udalite",
    "udalit",
    "moi",
    "moy",
    "moj",
    "dannye",
    "dannyh",
    "dannykh",
    "ya",
    "ne",
    "na",
    "v",
    "s",
    "po",
    "dlya",
    "ot",
    "eto",
    "otzyv",
    "soglasie",
    "soglasiya",
    "proshu",
    "zdravstvuyte",
    "zdravstvuite",
    "dobryi",
    "dobryy",
    "den",
    "akkaunt",
    "mne",
    "menya",
    "vashi",
    "vash",
    "vashe",
    "vashem",
    "toje",
    "tozhe",
    "i",
    "net",
    "izvinite",
    "pishu",
    "svoe",
    "svoi",
    "zaranee",
    "nuzhno",
    "bolshe",
    "vse",
    "nado",
    "pisma",
    "slat",
    "perestante",
    "profile",
    "otchestva",
    "otchestvo",
    "gde",
    "eto",
    "sdelat",
    "dobavte",
    "polnoe",
    "podtverdit",
    "obrabotku",
    "personalnyh",
    "raskladki",
    "telefona",
    "sayte",
];

#[derive(Default)]
struct Votes {
    kk: usize,
    ru: usize,
    en: usize,
    kk_lat: usize,
    ru_lat: usize,
    unknown_cyr: usize,
    unknown_lat: usize,
}

/// Detects the language of a text.
pub fn detect(text: &str) -> Option<Language> {
    let mut v = Votes::default();
    let lists = &*LISTS;
    let text = lowercase(text);
    for token in text.split(|c: char| c.is_whitespace()) {
        if token.contains('@') || token.contains("://") || dotted(token) {
            continue;
        }
        for word in token.split(|c: char| !((is_letter(c) && !c.is_ascii_digit()) || c == '\'')) {
            if word.is_empty() {
                continue;
            }
            vote(word, lists, &mut v);
        }
    }
    // Words no list knows follow the majority of their script.
    if v.kk >= v.ru {
        v.kk += v.unknown_cyr;
    } else {
        v.ru += v.unknown_cyr;
    }
    if v.kk_lat > v.en && v.kk_lat >= v.ru_lat {
        v.kk_lat += v.unknown_lat;
    } else if v.ru_lat > v.en {
        v.ru_lat += v.unknown_lat;
    } else {
        v.en += v.unknown_lat;
    }
    v.kk += v.kk_lat;
    v.ru += v.ru_lat;
    let total = v.kk + v.ru + v.en;
    if total == 0 {
        return None;
    }
    let mut ranked = [
        (v.kk, Language::Kk),
        (v.ru, Language::Ru),
        (v.en, Language::En),
    ];
    ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
    let (second, _) = ranked[1];
    if second >= 5 && second * 100 >= total * 15 || second >= 3 && second * 4 >= total {
        Some(Language::Mixed)
    } else {
        Some(ranked[0].1)
    }
}

fn dotted(token: &str) -> bool {
    let mut prev: Option<char> = None;
    let mut it = token.chars().peekable();
    while let Some(c) = it.next() {
        if c == '.'
            && prev.is_some_and(char::is_alphanumeric)
            && it.peek().is_some_and(|n| n.is_alphanumeric())
        {
            return true;
        }
        prev = Some(c);
    }
    false
}

fn vote(word: &str, lists: &Lists, v: &mut Votes) {
    let cyr = word
        .chars()
        .filter(|c| ('\u{0400}'..='\u{04FF}').contains(c))
        .count();
    let letters = word.chars().count();
    if cyr * 2 >= letters {
        if word.chars().any(|c| "әғқңөұүһіiə".contains(c)) {
            v.kk += 1;
            return;
        }
        let folded = super::normalise::fold_word(word);
        if lists.kk_cyr.contains(folded.as_str()) || kk_suffix(&folded) {
            v.kk += 1;
        } else if lists.ru_cyr.contains(folded.as_str()) || ru_suffix(&folded) {
            v.ru += 1;
        } else {
            v.unknown_cyr += 1;
        }
        return;
    }
    if word.chars().any(|c| "äğñöūüışəáóúý".contains(c))
        || lists.kk_lat.contains(word)
        || kk_latin_suffix(word)
        || (word.contains('q') && !word.contains("qu"))
    {
        v.kk_lat += 1;
    } else if lists.ru_lat.contains(word) {
        v.ru_lat += 1;
    } else if lists.en.contains(word) {
        v.en += 1;
    } else if translit_spelling(word) {
        v.ru_lat += 1;
    } else {
        v.unknown_lat += 1;
    }
}

const RU_CYR: &[&str] = &[
    "и",
    "в",
    "не",
    "на",
    "я",
    "что",
    "с",
    "по",
    "для",
    "от",
    "это",
    "мои",
    "мои",
    "меня",
    "мне",
    "прошу",
    "данные",
    "данних",
    "пожалуиста",
    "здравствуите",
    "спасибо",
    "как",
    "но",
    "или",
    "у",
    "вас",
    "ви",
    "все",
    "если",
    "так",
    "уже",
    "только",
    "к",
    "о",
    "из",
    "за",
    "при",
    "до",
    "мое",
    "моего",
    "моих",
    "мою",
    "ваш",
    "ваши",
    "вашеи",
    "есть",
    "нет",
    "да",
    "бил",
    "била",
    "он",
    "она",
    "они",
    "ето",
    "тоже",
    "также",
    "добрии",
    "день",
    "уважением",
    "аккаунт",
];

fn ru_suffix(folded: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "ть",
        "т",
        "тся",
        "ого",
        "его",
        "ую",
        "юю",
        "ие",
        "ия",
        "ии",
        "ои",
        "ие",
        "их",
        "ом",
        "ами",
        "ями",
        "ешь",
        "ете",
        "ите",
        "ает",
        "ет",
        "ют",
        "ят",
        "ать",
        "ение",
        "ания",
        "ости",
        "ность",
    ];
    folded.chars().count() > 3 && SUFFIXES.iter().any(|s| folded.ends_with(s))
}

fn kk_suffix(folded: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "мин",
        "мын",
        "низ",
        "нииз",
        "сиз",
        "лар",
        "лер",
        "дар",
        "дер",
        "тар",
        "тер",
        "дарди",
        "имди",
        "имнин",
        "ларин",
        "нин",
        "ндар",
        "даги",
        "теги",
    ];
    folded.chars().count() > 4 && SUFFIXES.iter().any(|s| folded.ends_with(s))
}

/// Kazakh case and person endings as typed in Latin letters without diacritics
/// (derekterimdi, zhoiynyz, akkauntymdy, suraimyn).
fn kk_latin_suffix(word: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "ymdy", "imdi", "ymdi", "nyz", "niz", "nyzdar", "nizder", "ynyz", "iniz", "aimyn", "eimin",
        "lardy", "lerdi", "terdi", "tardy", "dardy", "derdi", "ymnyn", "imnin", "ynyzdy", "inizdi",
    ];
    word.len() > 5 && SUFFIXES.iter().any(|s| word.ends_with(s))
}

fn translit_spelling(word: &str) -> bool {
    const ENDINGS: &[&str] = &[
        "yh", "ykh", "ogo", "yu", "iya", "aya", "yye", "iye", "ite", "ovat",
    ];
    const INNER: &[&str] = &["zh", "shch", "kh", "ya", "yu", "yo", "yy"];
    word.len() > 2
        && (ENDINGS.iter().any(|e| word.ends_with(e)) || INNER.iter().any(|i| word.contains(i)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_languages() {
        assert_eq!(
            detect("Прошу удалить мой аккаунт и все данные."),
            Some(Language::Ru)
        );
        assert_eq!(
            detect("Please delete my account and all my data."),
            Some(Language::En)
        );
        assert_eq!(
            detect("Менің аккаунтымды жоюыңызды сұраймын."),
            Some(Language::Kk)
        );
        // Kazakh typed on a Russian keyboard, Latin i for і.
        assert_eq!(
            detect("Менiн деректерiмдi жоюынызды сураймын"),
            Some(Language::Kk)
        );
        // Kazakh Latin.
        assert_eq!(
            detect("Menıñ derekterımdı joiuyñyzdy sūraimyn"),
            Some(Language::Kk)
        );
        // Russian translit.
        assert_eq!(
            detect("Zdravstvuyte, udalite pozhaluysta moi dannye"),
            Some(Language::Ru)
        );
        assert_eq!(detect("  "), None);
    }

    #[test]
    fn mixed_when_two_languages_share_the_text() {
        assert_eq!(
            detect("Сәлеметсіз бе! Келісімімді кері қайтарып аламын. Дальше по-русски: прошу не использовать мои данные."),
            Some(Language::Mixed)
        );
        // A host name or address does not vote.
        assert_eq!(
            detect("Прошу удалить мой аккаунт user.name@mail.example.com srv.example.local"),
            Some(Language::Ru)
        );
    }
}
