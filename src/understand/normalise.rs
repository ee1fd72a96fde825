//! Text normalisation before matching.
//!
//! The same request arrives as proper Kazakh Cyrillic, Kazakh typed on a Russian keyboard,
//! Kazakh in the Latin alphabet (2021 letters, or older ad-hoc spellings), Russian, Russian in
//! translit, English, and text pasted from PDFs with Latin lookalike letters inside Cyrillic
//! words (`ə` U+0259 for `ә`, `i` for `і`). Matching happens on two views of one text:
//!
//! - the **Cyrillic view**: every word folded to a reduced Cyrillic alphabet (Kazakh letters to
//!   their Russian neighbours, `й ы`→`и`, `ё э`→`е`, `щ`→`ш`, soft and hard signs dropped),
//!   Latin words transliterated into it. Russian and Kazakh vocabulary match here whatever the
//!   script or keyboard the sender used.
//! - the **Latin view**: Latin words lower-cased with Cyrillic lookalikes mapped back to Latin,
//!   Cyrillic words as in the Cyrillic view. English vocabulary matches here.
//!
//! Both views are NFKC-normalised and lower-cased, and keep punctuation and line breaks, so
//! clauses and negation can be found in either.

use unicode_normalization::UnicodeNormalization;

/// The two matching views of a text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Views {
    pub cyr: String,
    pub lat: String,
}

/// `char::is_alphanumeric` with fast paths for ASCII, Latin and Cyrillic (the hot loops).
#[inline]
pub fn is_letter(c: char) -> bool {
    match c as u32 {
        0x30..=0x39 | 0x41..=0x5A | 0x61..=0x7A => true,
        0..=0x7F => false,
        0xC0..=0x24F => c != '×' && c != '÷',
        0x400..=0x481 | 0x48A..=0x52F => true,
        _ => c.is_alphanumeric(),
    }
}

/// Lower case with fast paths for ASCII and Russian/Kazakh Cyrillic.
#[inline]
fn lower(c: char, out: &mut impl FnMut(char)) {
    match c as u32 {
        0x41..=0x5A => out((c as u8 + 32) as char),
        0..=0x7F => out(c),
        0x410..=0x42F => out(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
        0x400..=0x40F => out(char::from_u32(c as u32 + 0x50).unwrap_or(c)),
        0x430..=0x45F => out(c),
        _ => c.to_lowercase().for_each(out),
    }
}

/// Lower case of a whole text, fast for ASCII and Russian/Kazakh Cyrillic (no NFKC).
pub fn lowercase(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut push = |c: char| out.push(c);
    text.chars().for_each(|c| lower(c, &mut push));
    out
}

/// Normalises a text into its Cyrillic and Latin views.
pub fn views(text: &str) -> Views {
    let mut v = Views {
        cyr: String::with_capacity(text.len() + 16),
        lat: String::with_capacity(text.len() + 16),
    };
    let mut word = String::new();
    let mut lowered = String::with_capacity(text.len());
    let mut push = |c: char| lowered.push(c);
    if text.is_ascii() || !needs_nfkc(text) {
        text.chars().for_each(|c| lower(c, &mut push));
    } else {
        text.nfkc().for_each(|c| lower(c, &mut push));
    }
    for c in lowered.chars() {
        if (is_letter(c) && !c.is_ascii_digit())
            || (c == '\'' && !word.is_empty())
            || c == '\u{2019}'
        {
            if c != '\'' && c != '\u{2019}' {
                word.push(c);
            }
            continue;
        }
        flush(&mut word, &mut v);
        let c = match c {
            '\u{a0}' | '\t' => ' ',
            '«' | '»' | '“' | '”' | '„' => '"',
            '–' | '—' => '-',
            other => other,
        };
        v.cyr.push(c);
        v.lat.push(c);
    }
    flush(&mut word, &mut v);
    v
}

/// Whether NFKC could change `text`: every character of ASCII, basic Latin-1 letters, the
/// Cyrillic blocks and the usual typographic punctuation is its own NFKC form (precomposed,
/// no compatibility mapping; NBSP is mapped to a space by [`views`] anyway), so such text skips
/// the normaliser. Anything else (combining marks, full-width or ligature forms, "…") takes it.
fn needs_nfkc(text: &str) -> bool {
    text.chars().any(|c| {
        !matches!(c as u32,
            0..=0x7F
            | 0xA0
            | 0xAB
            | 0xBB
            | 0xC0..=0xFF
            | 0x400..=0x52F
            | 0x2013
            | 0x2014
            | 0x2018
            | 0x2019
            | 0x201C
            | 0x201D
            | 0x201E
            | 0x2022)
            || c == '×'
            || c == '÷'
    })
}

/// Folds a Cyrillic or Latin phrase to the Cyrillic view (for building vocabularies).
pub fn cyr(text: &str) -> String {
    views(text).cyr
}

/// Folds one already lower-cased Cyrillic word (no NFKC; cheap, for per-word look-ups).
pub fn fold_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        let c = if is_cyrillic(c) {
            c
        } else {
            lookalike_to_cyr(c).unwrap_or(c)
        };
        fold_cyr(c, &mut out);
    }
    out
}

/// Folds a phrase to the Latin view.
pub fn lat(text: &str) -> String {
    views(text).lat
}

fn flush(word: &mut String, v: &mut Views) {
    if word.is_empty() {
        return;
    }
    let (mut cyr_letters, mut lat_letters) = (0usize, 0usize);
    for c in word.chars() {
        if is_cyrillic(c) {
            cyr_letters += 1;
        } else if is_letter(c) && !is_ambiguous(c) {
            lat_letters += 1;
        }
    }
    let cyrillic_word = cyr_letters > 0
        && (cyr_letters >= lat_letters
            || word
                .chars()
                .all(|c| is_cyrillic(c) || lookalike_to_cyr(c).is_some()));
    if cyrillic_word {
        let mut folded = String::with_capacity(word.len());
        for c in word.chars() {
            let c = if is_cyrillic(c) {
                c
            } else {
                lookalike_to_cyr(c).unwrap_or(c)
            };
            fold_cyr(c, &mut folded);
        }
        v.cyr.push_str(&folded);
        v.lat.push_str(&folded);
    } else {
        let latin: String = word
            .chars()
            .map(|c| lookalike_to_lat(c).unwrap_or(c))
            .collect();
        translit(&latin, &mut v.cyr);
        v.lat.push_str(&latin);
    }
    word.clear();
}

fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04FF}').contains(&c)
}

/// Letters that look the same in both scripts and say nothing about the script alone.
fn is_ambiguous(c: char) -> bool {
    matches!(c, 'ə')
}

fn lookalike_to_cyr(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'e' => 'е',
        'o' => 'о',
        'p' => 'р',
        'c' => 'с',
        'x' => 'х',
        'y' => 'у',
        'i' => 'і',
        'ə' | 'ä' => 'ә',
        'k' => 'к',
        'm' => 'м',
        't' => 'т',
        'h' => 'һ',
        'b' => 'в',
        'ı' => 'ы',
        'ö' => 'ө',
        'ü' => 'ү',
        _ => return None,
    })
}

fn lookalike_to_lat(c: char) -> Option<char> {
    Some(match c {
        'а' => 'a',
        'е' => 'e',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'х' => 'x',
        'у' => 'y',
        'і' => 'i',
        'к' => 'k',
        'м' => 'm',
        'т' => 't',
        'ә' => 'ə',
        _ => return None,
    })
}

fn fold_cyr(c: char, out: &mut String) {
    let f = match c {
        'ә' => 'а',
        'ғ' => 'г',
        'қ' => 'к',
        'ң' => 'н',
        'ө' => 'о',
        'ұ' | 'ү' | 'ў' => 'у',
        'һ' => 'х',
        'і' | 'ї' | 'й' | 'ы' => 'и',
        'ё' | 'э' | 'є' => 'е',
        'щ' => 'ш',
        'ъ' | 'ь' => return,
        other => other,
    };
    out.push(f);
}

/// Latin (English spelling, Russian translit, Kazakh Latin 2021 and older) to folded Cyrillic.
fn translit(word: &str, out: &mut String) {
    let chars: Vec<char> = word.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let two = |a: char, b: char| c == a && next == Some(b);
        let (s, step): (&str, usize) = if c == 's'
            && next == Some('h')
            && chars.get(i + 2) == Some(&'c')
            && chars.get(i + 3) == Some(&'h')
        {
            ("ш", 4)
        } else if two('s', 'h') {
            ("ш", 2)
        } else if two('c', 'h') {
            ("ч", 2)
        } else if two('z', 'h') {
            ("ж", 2)
        } else if c == 'n'
            && next == Some('g')
            && chars
                .get(i + 2)
                .is_none_or(|n| matches!(n, 'y' | 'i' | 'ı') || !n.is_alphabetic())
        {
            // Kazakh typed in ASCII: "ng" for ң (joiyngyz, mening, saktangyz).
            ("н", 2)
        } else if two('g', 'h') {
            // Kazakh typed in ASCII: "gh" for ғ (korghau).
            ("г", 2)
        } else if two('k', 'h') {
            ("х", 2)
        } else if two('t', 's') {
            ("ц", 2)
        } else if two('y', 'a') || two('i', 'a') && i > 0 {
            ("я", 2)
        } else if two('y', 'u') || two('i', 'u') && i > 0 {
            ("ю", 2)
        } else if two('y', 'e') && i > 0 && !"aeiouy".contains(chars[i - 1]) {
            ("ие", 2)
        } else if two('y', 'o') || two('y', 'e') {
            ("е", 2)
        } else {
            let s = match c {
                'a' | 'ä' | 'á' | 'ə' | 'à' | 'â' => "а",
                'b' => "б",
                'c' | 'k' | 'q' => "к",
                'ç' => "ч",
                'd' => "д",
                'e' | 'é' | 'è' | 'ê' => "е",
                'f' => "ф",
                'g' | 'ğ' | 'ǵ' => "г",
                'h' => "х",
                'i' | 'ı' | 'í' | 'y' | 'ý' | 'ì' => "и",
                'j' => "ж",
                'l' => "л",
                'm' => "м",
                'n' | 'ñ' | 'ń' => "н",
                'o' | 'ö' | 'ó' | 'ò' => "о",
                'p' => "п",
                'r' => "р",
                's' => "с",
                'ş' => "ш",
                't' => "т",
                'u' | 'ū' | 'ü' | 'ú' | 'ù' => "у",
                'v' | 'w' => "в",
                'x' => "кс",
                'z' => "з",
                _ => {
                    fold_cyr(c, out);
                    i += 1;
                    continue;
                }
            };
            (s, 1)
        };
        out.push_str(s);
        i += step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kazakh_scripts_and_keyboards_meet() {
        let proper = cyr("келісімімді кері қайтарып аламын");
        assert_eq!(proper, "келисимимди кери каитарип аламин");
        // Typed on a Russian keyboard, with Latin i for і.
        assert_eq!(cyr("келiсiмiмдi кери кайтарып аламын"), proper);
        // Kazakh Latin (2021).
        assert_eq!(cyr("kelisimimdi keri qaitaryp alamyn"), proper);
        // ASCII Kazakh with "ng" for ң.
        assert_eq!(cyr("joiyngyz"), cyr("жойыңыз"));
        assert_eq!(cyr("mening"), cyr("менің"));
        // PDF paste with Latin schwa.
        assert_eq!(cyr("дербес деректерді жəне"), cyr("дербес деректерді және"));
    }

    #[test]
    fn russian_translit_meets_cyrillic() {
        assert_eq!(cyr("udalite moi dannye"), cyr("удалите мои данные"));
        assert_eq!(cyr("otzyvayu soglasie"), cyr("отзываю согласие"));
        assert_eq!(cyr("pozhaluysta"), cyr("пожалуйста"));
    }

    #[test]
    fn lookalikes_inside_words_are_mapped() {
        // "удaлить" with a Latin a; "dеlete" with a Cyrillic е.
        assert_eq!(cyr("удaлить"), cyr("удалить"));
        assert_eq!(lat("dеlete"), "delete");
    }

    #[test]
    fn the_fast_path_equals_nfkc() {
        let sample: String = (0u32..0x530)
            .chain([
                0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x201E, 0x2022,
            ])
            .filter_map(char::from_u32)
            .filter(|c| !needs_nfkc(&c.to_string()))
            .collect();
        assert!(sample.chars().count() > 450);
        for c in sample.chars() {
            let s = c.to_string();
            let n: String = s.nfkc().collect();
            assert!(n == s || c == '\u{a0}', "{c:?} U+{:04X} -> {n:?}", c as u32);
        }
        assert!(needs_nfkc("и\u{306}"));
        assert!(needs_nfkc("ＤＥＬＥＴＥ"));
    }

    #[test]
    fn nfkc_and_case() {
        assert_eq!(lat("ＤＥＬＥＴＥ"), "delete");
        assert_eq!(lat("Stop IT!!!"), "stop it!!!");
    }
}
