//! What the sender asks for: cue phrases found clause by clause, with negation, "how do I"
//! questions and hypotheticals taken into account, plus the signals that send a message to
//! staff review.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Anchored, Input, MatchKind, StartKind};

use super::normalise;
use super::vocabulary::{self, Entry, Sig};
use crate::domain::RequestKind;

struct Automaton {
    ac: AhoCorasick,
    sigs: Vec<(Sig, bool)>,
}

impl Automaton {
    fn build(entries: Vec<Entry>, fold: fn(&str) -> String) -> Self {
        let mut patterns = Vec::with_capacity(entries.len());
        let mut sigs = Vec::with_capacity(entries.len());
        for (phrase, sig) in entries {
            let whole = phrase.ends_with('$');
            let folded = fold(phrase.trim_end_matches('$'));
            patterns.push(folded);
            sigs.push((sig, whole));
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Anchored)
            .build(&patterns)
            .expect("vocabulary builds");
        Self { ac, sigs }
    }
}

static CYR: LazyLock<Automaton> =
    LazyLock::new(|| Automaton::build(vocabulary::cyrillic(), normalise::cyr));
static LAT: LazyLock<Automaton> =
    LazyLock::new(|| Automaton::build(vocabulary::latin(), normalise::lat));

#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    sig: Sig,
}

/// Cue hits in one normalised view, each starting at a word start, longest first.
fn hits(view: &str, a: &Automaton) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut prev_letter = false;
    while pos < view.len() {
        let c = view[pos..].chars().next().expect("char");
        let letter = normalise::is_letter(c);
        if letter && !prev_letter {
            let input = Input::new(view).range(pos..).anchored(Anchored::Yes);
            if let Some(m) = a.ac.find(input) {
                let (sig, whole) = a.sigs[m.pattern().as_usize()];
                let end_ok = !whole
                    || view[m.end()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !normalise::is_letter(c));
                if end_ok && m.end() > pos {
                    let sig = match sig {
                        Sig::Kind(k, _) if kazakh_negative_suffix(&view[m.end()..]) => {
                            Sig::NegKind(k)
                        }
                        other => other,
                    };
                    out.push(Hit {
                        start: m.start(),
                        end: m.end(),
                        sig,
                    });
                    // Continue after the phrase, at the next word start.
                    pos = m.end();
                    prev_letter = view[..pos].chars().last().is_some_and(normalise::is_letter);
                    continue;
                }
            }
        }
        prev_letter = letter;
        pos += c.len_utf8();
    }
    out
}

/// A Kazakh verb negated by its suffix right after the matched stem (жой-ма-ңыз, өшір-ме-ңіз).
fn kazakh_negative_suffix(rest: &str) -> bool {
    let mut it = rest.chars();
    let (Some(a), Some(b)) = (it.next(), it.next()) else {
        return false;
    };
    matches!(a, 'м' | 'б' | 'п') && matches!(b, 'а' | 'е')
}

/// Everything found in one piece of text.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Positive weight per kind (index = `RequestKind::ALL` order).
    pub score: [u32; 6],
    /// Where the kind was first asked for (0..1 of the text).
    pub first: [f32; 6],
    /// The kind's verb appears negated ("do not delete").
    pub negated: [bool; 6],
    /// The kind is only asked about ("how do I withdraw?").
    pub asked_how: [bool; 6],
    pub plea: bool,
    pub representative: bool,
    pub third_party: bool,
    pub dispute: bool,
    pub incident: bool,
    pub debt: bool,
    pub keep: bool,
    pub confirm: bool,
    pub vague: bool,
    pub business: u32,
}

fn index(k: RequestKind) -> usize {
    RequestKind::ALL
        .iter()
        .position(|x| *x == k)
        .expect("known kind")
}

impl Analysis {
    pub fn of(text: &str) -> Self {
        let views = normalise::views(text);
        let mut a = Analysis {
            first: [f32::MAX; 6],
            ..Default::default()
        };
        a.add_view(&views.cyr, &hits(&views.cyr, &CYR));
        a.add_view(&views.lat, &hits(&views.lat, &LAT));
        a
    }

    pub fn score(&self, k: RequestKind) -> u32 {
        self.score[index(k)]
    }

    pub fn negated(&self, k: RequestKind) -> bool {
        self.negated[index(k)]
    }

    pub fn any_kind(&self) -> bool {
        self.score.iter().any(|s| *s > 0)
    }

    /// Adds another analysis (e.g. the subject) with its kind weights.
    pub fn merge(&mut self, other: &Analysis, kinds: bool) {
        if kinds {
            for i in 0..6 {
                self.score[i] += other.score[i];
                if other.score[i] > 0 && self.first[i] == f32::MAX {
                    // Subject cues rank after the body's own order.
                    self.first[i] = 1.0 + other.first[i];
                }
                self.negated[i] |= other.negated[i];
                self.asked_how[i] |= other.asked_how[i];
            }
        }
        self.plea |= other.plea;
        self.representative |= other.representative;
        self.third_party |= other.third_party;
        self.dispute |= other.dispute;
        self.incident |= other.incident;
        self.debt |= other.debt;
        self.keep |= other.keep;
        self.confirm |= other.confirm;
        self.vague |= other.vague;
        self.business += other.business;
    }

    fn add_view(&mut self, view: &str, hits: &[Hit]) {
        let len = view.len().max(1) as f32;
        for h in hits {
            match h.sig {
                Sig::Kind(k, w) => {
                    let i = index(k);
                    let clause = clause_bounds(view, h.start);
                    let neg_before = hits.iter().any(|n| {
                        matches!(n.sig, Sig::Neg)
                            && n.end <= h.start
                            && n.start >= clause.0
                            && words_between(view, n.end, h.start) <= 2
                    });
                    let neg_after = hits.iter().any(|n| {
                        matches!(n.sig, Sig::PostNeg)
                            && n.start >= h.end
                            && n.start <= clause.1
                            && words_between(view, h.end, n.start) <= 3
                    });
                    let how = k != RequestKind::Access
                        && hits.iter().any(|n| {
                            matches!(n.sig, Sig::HowTo)
                                && n.end <= h.start
                                && n.start >= clause.0
                                && words_between(view, n.end, h.start) <= 4
                        });
                    let hedged = hits.iter().any(|n| {
                        matches!(n.sig, Sig::Hedge) && n.end <= h.start && n.start >= clause.0
                    });
                    if neg_before || neg_after {
                        self.negated[i] = true;
                    } else if how {
                        self.asked_how[i] = true;
                    } else if !hedged {
                        self.score[i] += u32::from(w);
                        let at = h.start as f32 / len;
                        if at < self.first[i] {
                            self.first[i] = at;
                        }
                    }
                }
                Sig::NegKind(k) => self.negated[index(k)] = true,
                Sig::Plea => self.plea = true,
                Sig::Representative => self.representative = true,
                Sig::ThirdParty => self.third_party = true,
                Sig::Dispute => self.dispute = true,
                Sig::Incident => self.incident = true,
                Sig::Debt => self.debt = true,
                Sig::Keep => self.keep = true,
                Sig::Confirm => self.confirm = true,
                Sig::Business(w) => self.business += u32::from(w),
                Sig::Vague => self.vague = true,
                Sig::Neg | Sig::PostNeg | Sig::HowTo | Sig::Hedge => {}
            }
        }
    }

    /// Kinds with a positive score, strongest first (ties: asked for first).
    pub fn ranked(&self) -> Vec<(RequestKind, u32)> {
        let mut v: Vec<(RequestKind, u32, f32)> = RequestKind::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| self.score[*i] > 0)
            .map(|(i, k)| (*k, self.score[i], self.first[i]))
            .collect();
        v.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(a.2.partial_cmp(&b.2).unwrap_or(std::cmp::Ordering::Equal))
        });
        v.into_iter().map(|(k, s, _)| (k, s)).collect()
    }

    /// The earliest position at which `k` was asked for.
    pub fn first(&self, k: RequestKind) -> f32 {
        self.first[index(k)]
    }
}

/// The clause around `pos`: bounded by sentence punctuation, line breaks and dashes.
fn clause_bounds(view: &str, pos: usize) -> (usize, usize) {
    let is_boundary = |c: char| matches!(c, '.' | '!' | '?' | ';' | '\n' | ':' | '-');
    let start = view[..pos]
        .char_indices()
        .rev()
        .find(|(i, c)| is_boundary(*c) && (*c != '-' || view[..*i].ends_with(' ')))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = view[pos..]
        .char_indices()
        .find(|(i, c)| is_boundary(*c) && (*c != '-' || view[..pos + *i].ends_with(' ')))
        .map_or(view.len(), |(i, _)| pos + i);
    (start, end)
}

fn words_between(view: &str, a: usize, b: usize) -> usize {
    if b <= a {
        return 0;
    }
    view[a..b]
        .split(|c: char| !normalise::is_letter(c))
        .filter(|w| !w.is_empty())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestKind::*;

    fn top(text: &str) -> Option<RequestKind> {
        Analysis::of(text).ranked().first().map(|x| x.0)
    }

    #[test]
    fn kinds_in_three_languages_and_scripts() {
        assert_eq!(top("Прошу удалить мой аккаунт"), Some(Erasure));
        assert_eq!(top("Please erase my personal data"), Some(Erasure));
        assert_eq!(top("Аккаунтымды жоюыңызды сұраймын"), Some(Erasure));
        assert_eq!(top("Akkauntymdy joiuyñyzdy sūraimyn"), Some(Erasure));
        assert_eq!(top("Udalite pozhaluysta moi akkaunt"), Some(Erasure));
        assert_eq!(
            top("Келісімімді кері қайтарып аламын"),
            Some(WithdrawConsent)
        );
        assert_eq!(top("I hereby withdraw my consent"), Some(WithdrawConsent));
        assert_eq!(top("Hangi"), None);
    }

    #[test]
    fn negation_before_and_after() {
        let a = Analysis::of("Please do NOT delete anything.");
        assert_eq!(a.score(Erasure), 0);
        assert!(a.negated(Erasure));
        let a = Analysis::of("Я пока ничего не отзываю, просто спрашиваю.");
        assert_eq!(a.score(WithdrawConsent), 0);
        let a = Analysis::of("Удалять ничего не нужно.");
        assert_eq!(a.score(Erasure), 0);
        let a = Analysis::of("Деректерімді жоймаңыз.");
        assert!(a.negated(Erasure));
        let a = Analysis::of("I do not want to withdraw my consent.");
        assert_eq!(a.score(WithdrawConsent), 0);
    }

    #[test]
    fn how_to_questions_and_hypotheticals_are_not_requests() {
        assert_eq!(top("Подскажите, как удалить загруженный файл?"), None);
        assert_eq!(top("How do I withdraw consent?"), None);
        let a = Analysis::of("Before I decide whether to unsubscribe - what data do you hold?");
        assert_eq!(a.score(MarketingOptOut), 0);
        assert!(a.score(Access) > 0);
    }

    #[test]
    fn clause_and_word_helpers() {
        assert_eq!(words_between("a b c d", 1, 6), 2);
        let v = "first part. second part";
        assert_eq!(clause_bounds(v, 15), (11, v.len()));
    }
}
