//! The statistical reader's features: hashed character 3–5-grams and words of the normalised
//! text, the same at training and at inference.
//!
//! Text goes through [`normalise::cyr`] first, so Kazakh in Cyrillic, Kazakh typed on a Russian
//! keyboard, Kazakh in Latin letters and Russian translit reach the hash as the same folded
//! Cyrillic; English is transliterated too, which keeps its n-grams consistent. Digits become
//! `0` (an IIN is a shape, not a value) and every run of spaces and punctuation one space, so a
//! gram may span a word boundary and carry a little word order. Each part of a message has its
//! own namespace: the sender's own words (character grams and words), the subject,
//! quoted or forwarded text (words only: context, not the request) and attachment names.
//!
//! A feature is a bucket index below `2^bits` with a sign in the top bit ([`SIGN`]): two
//! features sharing a bucket then cancel on average instead of adding up (signed feature
//! hashing). The same text always gives the same features in the same order.

use super::super::normalise;

/// The parts of one message the statistical reader looks at.
#[derive(Debug, Clone, Default)]
pub struct Input<'a> {
    pub subject: &'a str,
    /// The sender's own new words.
    pub own: &'a str,
    /// Quoted and forwarded text.
    pub context: Vec<&'a str>,
    pub attachments: &'a [String],
}

/// Characters of the sender's own words read (requests are stated early; this bounds the cost).
pub const OWN_LIMIT: usize = 3000;
/// Characters of quoted or forwarded text read.
pub const CONTEXT_LIMIT: usize = 1200;
/// Characters of the subject read.
pub const SUBJECT_LIMIT: usize = 200;

#[derive(Clone, Copy)]
#[repr(u64)]
enum Space {
    OwnGram = 1,
    OwnWord = 2,
    SubjectGram = 4,
    SubjectWord = 5,
    ContextWord = 6,
    AttachmentWord = 7,
    OwnLatinWord = 8,
}

/// The top bit of a feature: its value is −1 rather than +1.
pub const SIGN: u32 = 1 << 31;

const PRIME: u64 = 0x0000_0100_0000_01b3;
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
fn mix(h: u64, c: u32) -> u64 {
    (h ^ u64::from(c)).wrapping_mul(PRIME)
}

#[inline]
fn seed(space: Space) -> u64 {
    0xcbf2_9ce4_8422_2325 ^ (space as u64).wrapping_mul(GOLDEN)
}

/// Reusable buffers: extracting allocates nothing once they have grown.
#[derive(Debug, Default)]
pub struct Extractor {
    symbols: Vec<u32>,
}

impl Extractor {
    /// Appends the buckets of `input` to `out` (cleared first).
    pub fn extract(&mut self, input: &Input<'_>, bits: u8, out: &mut Vec<u32>) {
        out.clear();
        let shift = 64 - u32::from(bits);
        let bucket = |h: u64| {
            let g = h.wrapping_mul(GOLDEN);
            ((g >> shift) as u32) | (((g >> (shift - 1)) & 1) as u32) << 31
        };

        let latin = self.load(input.own, OWN_LIMIT);
        self.grams(Space::OwnGram, &bucket, out);
        self.words(Space::OwnWord, &bucket, out);
        Self::latin_words(&latin, Space::OwnLatinWord, &bucket, out);

        let _ = self.load(input.subject, SUBJECT_LIMIT);
        self.grams(Space::SubjectGram, &bucket, out);
        self.words(Space::SubjectWord, &bucket, out);

        for text in &input.context {
            let _ = self.load(text, CONTEXT_LIMIT);
            self.words(Space::ContextWord, &bucket, out);
        }

        for name in input.attachments {
            let _ = self.load(name, SUBJECT_LIMIT);
            self.words(Space::AttachmentWord, &bucket, out);
        }
    }

    /// The folded symbols of `text`, at most `limit` characters of it, framed by spaces.
    /// Loads the Cyrillic view's symbols and returns the Latin view of the same text.
    fn load(&mut self, text: &str, limit: usize) -> String {
        self.symbols.clear();
        self.symbols.push(' ' as u32);
        let cut = text
            .char_indices()
            .nth(limit)
            .map_or(text.len(), |(i, _)| i);
        let views = normalise::views(&text[..cut]);
        for c in views.cyr.chars() {
            let s = if c.is_ascii_digit() {
                '0' as u32
            } else if normalise::is_letter(c) {
                c as u32
            } else {
                ' ' as u32
            };
            if s == ' ' as u32 && self.symbols.last() == Some(&(' ' as u32)) {
                continue;
            }
            self.symbols.push(s);
        }
        if self.symbols.last() != Some(&(' ' as u32)) {
            self.symbols.push(' ' as u32);
        }
        views.lat
    }

    /// Words written in Latin letters, as written (English, translit and Kazakh Latin keep their
    /// own spelling here besides their transliteration in the Cyrillic view).
    fn latin_words(lat: &str, space: Space, bucket: &impl Fn(u64) -> u32, out: &mut Vec<u32>) {
        let base = seed(space);
        for word in lat.split(|c: char| !c.is_alphanumeric()) {
            if word.len() >= 2 && word.bytes().all(|b| b.is_ascii_lowercase()) {
                out.push(bucket(word.chars().fold(base, |h, c| mix(h, c as u32))));
            }
        }
    }

    fn grams(&self, space: Space, bucket: &impl Fn(u64) -> u32, out: &mut Vec<u32>) {
        let s = &self.symbols;
        if s.len() < 3 {
            return;
        }
        let base = seed(space);
        for i in 0..s.len() - 2 {
            let mut h = mix(mix(mix(base, s[i]), s[i + 1]), s[i + 2]);
            out.push(bucket(h ^ 3));
            for (n, &c) in s.iter().enumerate().skip(i + 3).take(2) {
                h = mix(h, c);
                out.push(bucket(h ^ (n - i + 1) as u64));
            }
        }
    }

    fn words(&self, space: Space, bucket: &impl Fn(u64) -> u32, out: &mut Vec<u32>) {
        let base = seed(space);
        let mut h = base;
        let mut len = 0usize;
        for &c in &self.symbols {
            if c == ' ' as u32 {
                if len > 0 {
                    out.push(bucket(h));
                }
                h = base;
                len = 0;
            } else {
                h = mix(h, c);
                len += 1;
            }
        }
    }
}

/// The buckets of `input` (convenience for tests and training).
pub fn extract(input: &Input<'_>, bits: u8) -> Vec<u32> {
    let mut out = Vec::new();
    Extractor::default().extract(input, bits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn own(text: &str) -> Vec<u32> {
        extract(
            &Input {
                own: text,
                ..Input::default()
            },
            18,
        )
    }

    fn overlap(a: &[u32], b: &[u32]) -> f64 {
        let a: HashSet<u32> = a.iter().copied().collect();
        let b: HashSet<u32> = b.iter().copied().collect();
        a.intersection(&b).count() as f64 / a.union(&b).count().max(1) as f64
    }

    #[test]
    fn the_same_text_gives_the_same_features() {
        let text = "Сотрите мою анкету из архива за 2019 год, ИИН 900101300123.";
        assert_eq!(own(text), own(text));
        assert!(!own(text).is_empty());
        // Buffers reused across messages change nothing.
        let mut x = Extractor::default();
        let mut first = Vec::new();
        let mut second = Vec::new();
        x.extract(
            &Input {
                own: "a much longer text first, to grow the buffers a little",
                ..Input::default()
            },
            18,
            &mut first,
        );
        x.extract(
            &Input {
                own: text,
                ..Input::default()
            },
            18,
            &mut second,
        );
        assert_eq!(second, own(text));
    }

    #[test]
    fn kazakh_cyrillic_and_latin_forms_land_together() {
        let cyrillic = own("Ескі анкетамдағы деректерімді жоюыңызды өтінемін");
        let latin_2021 = own("Eski anketamdağy derekterımdı joiuyñyzdy ötınemın");
        let russian_keyboard = own("Ески анкетамдагы деректерiмдi жоюынызды отiнемiн");
        let unrelated = own("Пришлите прайс на бумагу для принтера");
        assert!(overlap(&cyrillic, &russian_keyboard) > 0.9);
        assert!(overlap(&cyrillic, &latin_2021) > 0.5);
        assert!(overlap(&cyrillic, &unrelated) < 0.1);
    }

    #[test]
    fn parts_of_a_message_do_not_share_features() {
        let words = "стереть анкету архива";
        let as_own = own(words);
        let as_context = extract(
            &Input {
                context: vec![words],
                ..Input::default()
            },
            18,
        );
        let as_subject = extract(
            &Input {
                subject: words,
                ..Input::default()
            },
            18,
        );
        assert!(overlap(&as_own, &as_context) < 0.05);
        assert!(overlap(&as_own, &as_subject) < 0.05);
    }

    #[test]
    fn digits_are_a_shape_and_text_is_bounded() {
        assert_eq!(own("ИИН 900101300123"), own("ИИН 850505400777"));
        let long = "слово ".repeat(10_000);
        assert!(own(&long).len() < OWN_LIMIT * 5);
    }
}
