//! What the sender asks for: cue phrases found clause by clause, with negation, "how do I"
//! questions, hypotheticals and the form of the verb taken into account, plus the signals that
//! send a message to staff review.
//!
//! The phrases themselves are data ([`super::vocabulary`]); this module gives them structure:
//! - a kind's verb negated in its clause ("не удаляйте", "do not delete", жой-ма-ңыз) is not a
//!   request for it, and a "how do I" before it makes it a question;
//! - a kind asked for *directly* (an imperative or a first-person verb: удалите, отзываю,
//!   жойыңыз, аламын, "I withdraw", "Delete my…") is positive evidence of a request;
//! - two cues in one sentence make a third: a contract and "still in force" is an art. 8(2)
//!   obstacle; a question ("what do you", "что вы", "не істеп") about the sender's own data
//!   ("my info", "мои данные", "деректерім") is an access request.

use std::sync::Arc;

use super::normalise;
use super::vocabulary::{self, Hit, Matcher, Sig, Vocabulary};
use crate::domain::RequestKind;

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
    /// The kind is asked for with an imperative or first-person verb.
    pub direct: [bool; 6],
    pub plea: bool,
    pub representative: bool,
    pub third_party: bool,
    pub dispute: bool,
    /// "Do nothing", "cancel the request".
    pub cancel: bool,
    pub incident: bool,
    pub debt: bool,
    pub keep: bool,
    pub confirm: bool,
    pub vague: bool,
    pub business: u32,
    /// Claims to write for the police, a prosecutor or a court.
    pub authority: bool,
    /// Threatens a complaint or a court.
    pub threat: bool,
    /// Points to an attached document.
    pub attachment: bool,
    /// Asks for the answer at another address.
    pub new_address: bool,
    /// Reports a software fault.
    pub software: bool,
    /// Names a field of personal data (surname, phone, date of birth).
    pub personal_field: bool,
    /// Mentions a child of the sender.
    pub child: bool,
    /// "Just asking": a question about the company's practice.
    pub just_asking: bool,
    /// Names a company's own field or a contract's text (a document to correct).
    pub company_field: bool,
    /// A kind's object was named (data, an account, a field; consent; a mailing).
    pub objects: [bool; 6],
}

fn index(k: RequestKind) -> usize {
    RequestKind::ALL
        .iter()
        .position(|x| *x == k)
        .expect("known kind")
}

const NEG: u8 = 1;
const POSTNEG: u8 = 2;
const HOWTO: u8 = 4;
const HEDGE: u8 = 8;
const POSTHEDGE: u8 = 16;
const PLEA: u8 = 32;
/// How many hits on either side of a request cue its negations and hedges are looked for in.
const NEAR: usize = 24;

/// Which language family a view's vocabulary belongs to (for the verb-form rules).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ViewKind {
    Cyrillic,
    Latin,
}

impl Analysis {
    /// Reads `text` with the process's active vocabulary ([`vocabulary::active`]).
    pub fn of(text: &str) -> Self {
        Self::with(&vocabulary::active(), text)
    }

    /// Reads `text` with `vocabulary`.
    pub fn with(vocabulary: &Arc<Vocabulary>, text: &str) -> Self {
        let views = normalise::views(text);
        let mut a = Analysis {
            first: [f32::MAX; 6],
            ..Default::default()
        };
        let cyr = &vocabulary.cyr;
        let lat = &vocabulary.lat;
        a.add_view(&views.cyr, cyr, &cyr.hits(&views.cyr), ViewKind::Cyrillic); // English phrases are Latin: a view without a Latin letter cannot hold one.
        if views.lat.bytes().any(|b| b.is_ascii_alphabetic()) {
            a.add_view(&views.lat, lat, &lat.hits(&views.lat), ViewKind::Latin);
        }
        a
    }

    pub fn score(&self, k: RequestKind) -> u32 {
        self.score[index(k)]
    }

    pub fn negated(&self, k: RequestKind) -> bool {
        self.negated[index(k)]
    }

    /// Whether an object of the kind was named (data or an account for an erasure).
    pub fn has_object(&self, k: RequestKind) -> bool {
        self.objects[index(k)]
    }

    pub fn is_direct(&self, k: RequestKind) -> bool {
        self.direct[index(k)]
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
                self.direct[i] |= other.direct[i];
            }
        }
        self.plea |= other.plea;
        self.representative |= other.representative;
        self.third_party |= other.third_party;
        self.dispute |= other.dispute;
        self.cancel |= other.cancel;
        self.incident |= other.incident;
        self.debt |= other.debt;
        self.keep |= other.keep;
        self.confirm |= other.confirm;
        self.vague |= other.vague;
        self.business += other.business;
        self.authority |= other.authority;
        self.threat |= other.threat;
        self.attachment |= other.attachment;
        self.new_address |= other.new_address;
        self.software |= other.software;
        self.personal_field |= other.personal_field;
        self.child |= other.child;
        self.just_asking |= other.just_asking;
        self.company_field |= other.company_field;
        for i in 0..6 {
            self.objects[i] |= other.objects[i];
        }
    }

    fn add_view(&mut self, view: &str, m: &Matcher, hits: &[Hit], vk: ViewKind) {
        let len = view.len().max(1) as f32;
        let bounds = Bounds::of(view);
        // "Можно ли стереть меня? Прошу это сделать.": the question is the request.
        let do_it = hits.iter().any(|n| m.sigs(n).contains(&Sig::DoIt));
        // What each hit is, once: the checks below look at every hit for every request cue.
        let marks: Vec<u8> = hits
            .iter()
            .map(|n| {
                m.sigs(n).iter().fold(0u8, |f, s| {
                    f | match s {
                        Sig::Neg => NEG,
                        Sig::PostNeg => POSTNEG,
                        Sig::HowTo => HOWTO,
                        Sig::Hedge => HEDGE,
                        Sig::PostHedge => POSTHEDGE,
                        Sig::Plea => PLEA,
                        _ => 0,
                    }
                })
            })
            .collect();
        // The cues near hit `at` with `flag`: negations, questions and hedges act on their own
        // clause, a few words away, so a window of neighbouring hits is enough (and keeps a
        // pathological message linear).
        let with = |flag: u8, at: usize| {
            let (lo, hi) = (at.saturating_sub(NEAR), (at + NEAR).min(hits.len()));
            hits[lo..hi]
                .iter()
                .zip(marks[lo..hi].iter())
                .filter(move |(_, f)| **f & flag != 0)
                .map(|(n, _)| n)
        };
        // Sentence-level pairs: (sentence start, what it holds).
        let mut sentences: Vec<(usize, Pair)> = Vec::new();
        for (at, h) in hits.iter().enumerate() {
            let sigs = m.sigs(h);
            let root_negated = m.is_root(h) && kazakh_negative(&view[h.end..h.word_end]);
            for sig in sigs {
                // A kind's verb is read like its phrase, with no weight of its own.
                let sig = match *sig {
                    Sig::Verb(k) => Sig::Kind(k, 0),
                    other => other,
                };
                match sig {
                    Sig::Kind(k, w) => {
                        let i = index(k);
                        if root_negated {
                            self.negated[i] = true;
                            continue;
                        }
                        let clause = bounds.clause(h.start, false);
                        let phrase = bounds.clause(h.start, true).0;
                        let neg_before = with(NEG, at).any(|n| {
                            n.end <= h.start
                                && n.start >= phrase
                                && words_between(view, n.end, h.start) <= 2
                        });
                        let neg_after = with(POSTNEG, at).any(|n| {
                            n.start >= h.end
                                && n.start <= clause.1
                                && words_between(view, h.end, n.start) <= 3
                        });
                        let how = k != RequestKind::Access
                            && !do_it
                            && with(HOWTO, at).any(|n| {
                                n.end <= h.start
                                    && n.start >= clause.0
                                    && words_between(view, n.end, h.start) <= 4
                            });
                        let hedged = with(HEDGE, at)
                            .any(|n| n.end <= h.start && n.start >= clause.0)
                            || with(POSTHEDGE, at).any(|n| {
                                n.start >= h.end
                                    && n.start <= clause.1
                                    && words_between(view, h.word_end, n.start) <= 1
                            });
                        // "карта заблокирована", "was blocked", "бұғатталып қалды": a state, not
                        // a request. Only a Russian participle can be asked for ("прошу, чтобы
                        // … был удалён"); "my card was blocked; please help" stays a description.
                        let russian = vk == ViewKind::Cyrillic && !m.is_root(h);
                        let described = describes(view, h, m.is_root(h), vk)
                            && !(russian
                                && with(PLEA, at).any(|n| {
                                    bounds.sentence_start(n.start) == bounds.sentence_start(h.start)
                                }));
                        if neg_before || neg_after {
                            self.negated[i] = true;
                        } else if described || kazakh_participle(view, h, m.is_root(h)) {
                            continue;
                        } else if how {
                            self.asked_how[i] = true;
                        } else if !hedged {
                            self.score[i] += u32::from(w);
                            let at = h.start as f32 / len;
                            if w > 0 && at < self.first[i] {
                                self.first[i] = at;
                            }
                            let direct = match vk {
                                ViewKind::Cyrillic => direct_cyrillic(
                                    &view[h.start..h.word_end],
                                    &view[h.end..h.word_end],
                                    m.is_root(h),
                                ),
                                ViewKind::Latin => direct_latin(view, h.start, clause.0),
                            };
                            if w > 0 {
                                self.direct[i] |= direct;
                                sentences.push((bounds.sentence_start(h.start), Pair::Kind));
                            }
                            // Topic words (weight 1) are no verbs.
                            if w != 1 {
                                sentences.push((
                                    bounds.sentence_start(h.start),
                                    Pair::Verb(k, w, direct, h.start),
                                ));
                            }
                        }
                    }
                    Sig::NegKind(k) => self.negated[index(k)] = true,
                    Sig::Plea => self.plea = true,
                    Sig::Representative => self.representative = true,
                    Sig::ThirdParty | Sig::SelfRole => self.third_party = true,
                    Sig::Dispute => self.dispute = true,
                    Sig::Cancel => self.cancel = true,
                    Sig::Incident => self.incident = true,
                    Sig::Debt => self.debt = true,
                    Sig::Keep => self.keep = true,
                    Sig::Confirm => self.confirm = true,
                    Sig::Business(w) => self.business += u32::from(w),
                    Sig::Vague => self.vague = true,
                    Sig::Authority => self.authority = true,
                    Sig::Threat => self.threat = true,
                    Sig::Attachment => self.attachment = true,
                    Sig::NewAddress => self.new_address = true,
                    Sig::Software => self.software = true,
                    Sig::PersonalField => self.personal_field = true,
                    Sig::Child => self.child = true,
                    Sig::Contract => {
                        sentences.push((bounds.sentence_start(h.start), Pair::Contract))
                    }
                    Sig::InForce => sentences.push((bounds.sentence_start(h.start), Pair::InForce)),
                    Sig::OwnData => {
                        sentences.push((bounds.sentence_start(h.start), Pair::OwnData(h.start)))
                    }
                    Sig::Question => {
                        sentences.push((bounds.sentence_start(h.start), Pair::Question))
                    }
                    Sig::AccessVerb => {
                        let direct = match vk {
                            ViewKind::Cyrillic => direct_cyrillic(
                                &view[h.start..h.word_end],
                                &view[h.end..h.word_end],
                                m.is_root(h),
                            ),
                            ViewKind::Latin => true,
                        };
                        sentences.push((bounds.sentence_start(h.start), Pair::AccessVerb(direct)))
                    }
                    Sig::KeepVerb => {
                        let negated = with(NEG, at).any(|n| {
                            n.end <= h.start
                                && n.start >= bounds.clause(h.start, true).0
                                && words_between(view, n.end, h.start) <= 1
                        });
                        if !negated {
                            sentences.push((bounds.sentence_start(h.start), Pair::KeepVerb));
                        }
                    }
                    Sig::Account => sentences.push((bounds.sentence_start(h.start), Pair::Account)),
                    Sig::DataNoun => {
                        sentences.push((bounds.sentence_start(h.start), Pair::DataNoun(h.start)))
                    }
                    Sig::JustAsking => {
                        self.just_asking = true;
                        sentences.push((bounds.sentence_start(h.start), Pair::Hedge));
                    }
                    Sig::Object(k) => {
                        self.objects[index(k)] = true;
                        sentences.push((bounds.sentence_start(h.start), Pair::Object(k)))
                    }
                    Sig::Verb(_) => {}
                    Sig::Invoice => sentences.push((bounds.sentence_start(h.start), Pair::Invoice)),
                    Sig::NotYet => sentences.push((bounds.sentence_start(h.start), Pair::Unpaid)),
                    Sig::Hedge | Sig::PostHedge | Sig::HowTo => {
                        sentences.push((bounds.sentence_start(h.start), Pair::Hedge))
                    }
                    Sig::Neg => {
                        // "No." before a number is an abbreviation, "нет" an answer.
                        let word = &view[h.start..h.word_end];
                        if word != "no" && word != "нет" {
                            sentences.push((bounds.sentence_start(h.start), Pair::Unpaid));
                        }
                    }
                    Sig::CompanyField => self.company_field = true,
                    Sig::PostNeg
                    | Sig::Particle
                    | Sig::DoIt
                    | Sig::IdMine
                    | Sig::IdOther
                    | Sig::IdOtherOrg => {}
                }
            }
        }
        self.pairs(&sentences, len);
    }

    /// Cues that mean something together in one sentence. `sentences` is in text order, so
    /// each sentence's cues stand together: one pass per sentence.
    fn pairs(&mut self, sentences: &[(usize, Pair)], len: f32) {
        let mut rest = sentences;
        let mut before: &[(usize, Pair)] = &[];
        while let Some(&(s, _)) = rest.first() {
            let n = rest.iter().take_while(|(t, _)| *t == s).count();
            let (one, tail) = rest.split_at(n);
            self.sentence_pairs(one, before, len);
            before = one;
            rest = tail;
        }
    }

    /// The pairs of one sentence; `before` holds the previous sentence's cues ("The IIN in my
    /// profile is wrong. Replace it.": an imperative may take its object from there).
    fn sentence_pairs(&mut self, cues: &[(usize, Pair)], before: &[(usize, Pair)], len: f32) {
        let any = |f: fn(&Pair) -> bool| cues.iter().any(|(_, p)| f(p));
        let object_in = |c: &[(usize, Pair)], k: RequestKind| {
            c.iter()
                .any(|(_, p)| matches!(p, Pair::Object(o) if *o == k))
        };
        let object = |k: RequestKind| object_in(cues, k);
        let mark = |a: &mut Self, k: RequestKind, at: usize| {
            let i = index(k);
            let at = at as f32 / len;
            if at < a.first[i] {
                a.first[i] = at;
            }
        };
        // A kind's verb and its object: a clear request, however ordered (a marketing object
        // claims the sentence from erasure: "удалите из рассылки").
        let mut done = [false; 6];
        for (_, p) in cues {
            let Pair::Verb(k, w, direct, at) = *p else {
                continue;
            };
            let i = index(k);
            let strong_already = cues
                .iter()
                .any(|(_, q)| matches!(q, Pair::Verb(o, 3.., _, _) if *o == k));
            if w >= 3 || strong_already || done[i] {
                continue;
            }
            // A marketing object claims the sentence's stop and delete verbs ("прекратите
            // SMS-рассылку", "удалите из рассылки").
            let marketing_claims =
                k != RequestKind::MarketingOptOut && object(RequestKind::MarketingOptOut);
            let here = object(k);
            // Only an objectless imperative ("Replace it.") looks back a sentence.
            let objectless = !cues.iter().any(|(_, p)| matches!(p, Pair::Object(_)));
            let earlier = direct && objectless && object_in(before, k);
            if (here || earlier) && !marketing_claims {
                done[i] = true;
                self.score[i] += u32::from(3 - w);
                self.direct[i] |= direct;
                mark(self, k, at);
            }
        }
        // A sentence about a mailing whose delete or stop words name nothing else of the
        // sender's ("remove my address off the mailing list"): an opt-out, not an erasure.
        if object(RequestKind::MarketingOptOut) {
            for k in [RequestKind::Erasure, RequestKind::Restriction] {
                if object(k) {
                    continue;
                }
                let i = index(k);
                for (_, p) in cues {
                    if let Pair::Verb(o, w, _, at) = *p {
                        if o == k && w > 0 {
                            self.score[i] = self.score[i].saturating_sub(u32::from(w));
                            let m = index(RequestKind::MarketingOptOut);
                            self.score[m] = self.score[m].max(3);
                            mark(self, RequestKind::MarketingOptOut, at);
                        }
                    }
                }
            }
        }
        if any(|p| matches!(p, Pair::Contract)) && any(|p| matches!(p, Pair::InForce)) {
            self.debt = true;
        }
        if any(|p| matches!(p, Pair::Invoice)) && any(|p| matches!(p, Pair::Unpaid)) {
            self.debt = true;
        }
        if any(|p| matches!(p, Pair::KeepVerb)) && any(|p| matches!(p, Pair::Account)) {
            self.keep = true;
        }
        let free = !any(|p| matches!(p, Pair::Kind | Pair::Hedge));
        let own_at = cues.iter().find_map(|(_, p)| match p {
            Pair::OwnData(at) => Some(*at),
            _ => None,
        });
        let data_at = cues.iter().find_map(|(_, p)| match p {
            Pair::DataNoun(at) => Some(*at),
            _ => None,
        });
        let access = index(RequestKind::Access);
        // A question or a showing verb about the sender's own data; a showing verb with data of
        // anybody is a weak access cue.
        if let Some(at) = own_at.filter(|_| free) {
            if any(|p| matches!(p, Pair::Question | Pair::AccessVerb(_))) {
                self.score[access] = self.score[access].max(3);
                self.direct[access] = true;
                mark(self, RequestKind::Access, at);
            }
        }
        if let Some(at) = data_at.filter(|_| free) {
            if any(|p| matches!(p, Pair::AccessVerb(_))) {
                self.score[access] = self.score[access].max(2);
                self.direct[access] |= any(|p| matches!(p, Pair::AccessVerb(true)));
                mark(self, RequestKind::Access, at);
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
        // A withdrawal and a stop of processing read from the same words ("рұқсатымды
        // тоқтатамын"): the withdrawal is the fuller reading.
        let rank = |k: RequestKind| u8::from(k == RequestKind::Restriction);
        v.sort_by(|a, b| {
            b.1.cmp(&a.1).then_with(|| {
                let tie = matches!(
                    (a.0, b.0),
                    (RequestKind::WithdrawConsent, RequestKind::Restriction)
                        | (RequestKind::Restriction, RequestKind::WithdrawConsent)
                );
                if tie {
                    rank(a.0).cmp(&rank(b.0))
                } else {
                    a.2.partial_cmp(&b.2).unwrap_or(std::cmp::Ordering::Equal)
                }
            })
        });
        v.into_iter().map(|(k, s, _)| (k, s)).collect()
    }

    /// The earliest position at which `k` was asked for.
    pub fn first(&self, k: RequestKind) -> f32 {
        self.first[index(k)]
    }
}

#[derive(Debug, Clone, Copy)]
enum Pair {
    Kind,
    Contract,
    InForce,
    OwnData(usize),
    Question,
    /// A showing verb, and whether it is an imperative or first-person form.
    AccessVerb(bool),
    KeepVerb,
    Account,
    DataNoun(usize),
    /// A kind's verb or phrase: (kind, weight, direct form, position).
    Verb(RequestKind, u8, bool, usize),
    Object(RequestKind),
    Invoice,
    /// A negation or "yet" (an unpaid invoice with an invoice in the sentence).
    Unpaid,
    /// A hypothetical or "how do I" sentence: no pair in it makes a request.
    Hedge,
}

/// The kind's verb describes a state rather than asking for it: a Russian passive participle
/// (заблокирована, удалён), a Kazakh passive past or converb (бұғатталып, жойылды; not the
/// request forms жойылсын, жойылуын) or an English verb after "was", "is", "got", "been".
fn describes(view: &str, h: &Hit, root: bool, vk: ViewKind) -> bool {
    let rest = &view[h.end..h.word_end];
    match vk {
        ViewKind::Cyrillic if root => {
            let passive = rest.starts_with('л') || rest.starts_with("ил");
            passive && !rest.contains("син") && !rest.contains("сын") && !rest.contains("лу")
        }
        ViewKind::Cyrillic if h.end == h.word_end => false,
        ViewKind::Cyrillic => {
            let word = &view[h.start..h.word_end];
            let last = word.rsplit(' ').next().unwrap_or(word);
            const PARTICIPLE: &[&str] = &[
                "ован",
                "ована",
                "овано",
                "ованы",
                "ен",
                "ена",
                "ено",
                "ены",
                "ан",
                "ана",
                "ано",
                "аны",
                "ят",
                "ята",
            ];
            last.chars().count() > 5 && PARTICIPLE.iter().any(|p| last.ends_with(p))
        }
        ViewKind::Latin => {
            let prev = view[..h.start]
                .rsplit(|c: char| !normalise::is_letter(c))
                .find(|w| !w.is_empty())
                .unwrap_or("");
            matches!(
                prev,
                "was" | "were" | "is" | "are" | "got" | "been" | "be" | "get" | "gets" | "being"
            )
        }
    }
}

/// A Kazakh past participle right after the root (бер-ген келісім, жой-ған): an attribute,
/// never the verb of a request, whatever else the sentence asks.
fn kazakh_participle(view: &str, h: &Hit, root: bool) -> bool {
    let rest = &view[h.end..h.word_end];
    root && ["ган", "ген", "кан", "кен"]
        .iter()
        .any(|p| rest.starts_with(p))
}

/// A Kazakh verb negated by its suffix right after the root (жой-ма-ңыз, өшір-ме-ңіз,
/// тоқтат-па-ңыз); not the intention form (жой-мақ-шы-мын) nor -баша (жаз-баша, in writing).
fn kazakh_negative(rest: &str) -> bool {
    let mut it = rest.chars();
    let (Some(a), Some(b)) = (it.next(), it.next()) else {
        return false;
    };
    let third = it.next();
    matches!(a, 'м' | 'б' | 'п') && matches!(b, 'а' | 'е') && !matches!(third, Some('к' | 'ш'))
}

/// An imperative or first-person form of a Cyrillic request verb. `word` is the hit's last
/// word from its start (folded view), `rest` what follows the matched stem in that word.
fn direct_cyrillic(word: &str, rest: &str, root: bool) -> bool {
    let last = word.rsplit(' ').next().unwrap_or(word);
    if root || rest.contains("низ") {
        // Kazakh: жой-ыңыз(дар), жою-ыңызды, жойыл-сын, ал-амын, қайтар-амын.
        return rest.contains("низ")
            || rest.ends_with("син")
            || rest.ends_with("сын")
            || rest.ends_with("мин")
            || rest.ends_with("миз");
    }
    let chars: Vec<char> = last.chars().collect();
    let n = chars.len();
    if n < 4 {
        return false;
    }
    let vowel = |c: char| "аеиоуыэюя".contains(c);
    // Russian imperative -ите/-йте/-ьте (folded: "ите" or a consonant + "те").
    let imperative = last.ends_with("ите") || (last.ends_with("те") && !vowel(chars[n - 3]));
    // Russian first person present: отзываю, аннулирую, блокирую.
    let first_person = matches!((chars[n - 2], chars[n - 1]), ('а' | 'я' | 'у' | 'ю', 'ю'));
    imperative || first_person
}

/// An English request verb at the start of its clause (an imperative) or right after "I",
/// "we", "please".
fn direct_latin(view: &str, start: usize, clause_start: usize) -> bool {
    let before = view[clause_start..start].trim_end();
    let prev = before
        .rsplit(|c: char| !normalise::is_letter(c))
        .find(|w| !w.is_empty())
        .unwrap_or("");
    let only_greeting = before
        .split(|c: char| !normalise::is_letter(c))
        .filter(|w| !w.is_empty())
        .all(|w| {
            matches!(
                w,
                "hi" | "hello" | "dear" | "so" | "and" | "also" | "now" | "ok"
            )
        });
    // "I withdraw", and "I personally / hereby / formally withdraw".
    let mut back = before
        .rsplit(|c: char| !normalise::is_letter(c))
        .filter(|w| !w.is_empty());
    let (last, second) = (back.next().unwrap_or(""), back.next().unwrap_or(""));
    let adverb = matches!(
        last,
        "personally" | "hereby" | "formally" | "officially" | "herewith" | "now" | "also"
    ) && matches!(second, "i" | "we");
    only_greeting
        || adverb
        || matches!(
            prev,
            "i" | "we" | "please" | "pls" | "plz" | "kindly" | "hereby" | "to" | "you"
        )
}

/// Where sentences and clauses end in a view, found once (boundary characters are ASCII).
struct Bounds {
    len: usize,
    /// Sentence ends: ! ? line breaks, and dots not followed by a letter or digit (nlg.kz).
    sentence: Vec<usize>,
    /// Clause ends: sentence punctuation, ; : line breaks and spaced dashes.
    clause: Vec<usize>,
    /// Clause ends and commas (how far a negation reaches).
    comma: Vec<usize>,
}

impl Bounds {
    fn of(view: &str) -> Self {
        let b = view.as_bytes();
        let mut out = Bounds {
            len: view.len(),
            sentence: Vec::new(),
            clause: Vec::new(),
            comma: Vec::new(),
        };
        for (i, &c) in b.iter().enumerate() {
            let clause = matches!(c, b'.' | b'!' | b'?' | b';' | b'\n' | b':')
                || (c == b'-' && i > 0 && b[i - 1] == b' ');
            if clause {
                out.clause.push(i);
                out.comma.push(i);
            } else if c == b',' {
                out.comma.push(i);
            }
            // A dot between letters (nlg.kz, in either view: нлг.кз) ends no sentence.
            let sentence = matches!(c, b'!' | b'?' | b'\n')
                || (c == b'.'
                    && view[i + 1..]
                        .chars()
                        .next()
                        .is_none_or(|n| !normalise::is_letter(n)));
            if sentence {
                out.sentence.push(i);
            }
        }
        out
    }

    /// The start of the sentence around `pos`.
    fn sentence_start(&self, pos: usize) -> usize {
        let k = self.sentence.partition_point(|&b| b < pos);
        if k == 0 {
            0
        } else {
            self.sentence[k - 1] + 1
        }
    }

    /// The clause around `pos` (bounded by commas too when `comma`).
    fn clause(&self, pos: usize, comma: bool) -> (usize, usize) {
        let v = if comma { &self.comma } else { &self.clause };
        let k = v.partition_point(|&b| b < pos);
        let start = if k == 0 { 0 } else { v[k - 1] + 1 };
        (start, v.get(k).copied().unwrap_or(self.len))
    }
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
    fn the_laws_terms_in_every_form_and_script() {
        let mut missed = Vec::new();
        for (text, kind) in [
            // жою: verbal noun, its cases and possessives, imperatives, converb, passive request.
            ("Деректерімді жоюды сұраймын.", Erasure),
            ("Деректерімді жоюыңызды сұраймын.", Erasure),
            ("Деректерімді жойыңыз.", Erasure),
            ("Деректерімді жойыңыздар.", Erasure),
            ("Барлық деректерімді жойып жіберіңіз.", Erasure),
            ("Деректерім жойылсын.", Erasure),
            ("Derekterimdi joiuyñyzdy sūraimyn.", Erasure),
            ("Derekterımdı joiyñyz.", Erasure),
            ("Деректеримди жойынызшы.", Erasure),
            ("Derekterimdi zhoiynyzdar.", Erasure),
            // қол жеткізу, бұғаттау, өзгерту және толықтыру, келісімді кері қайтарып алу.
            ("Дербес деректеріме қол жеткізуді сұраймын.", Access),
            ("Дербес деректеріме қол жеткізгім келеді.", Access),
            ("Derbes derekterime qol jetkizudi sūraimyn.", Access),
            ("Деректерімді бұғаттауыңызды сұраймын.", Restriction),
            ("Деректерімді бұғаттаңыз.", Restriction),
            ("Derekterimdi būğattañyz.", Restriction),
            (
                "Деректерімді өзгерту және толықтыру туралы өтініш: тегімді өзгертіңіз.",
                Rectification,
            ),
            ("Тегімді түзетіңізші.", Rectification),
            ("Келісімімді кері қайтарып аламын.", WithdrawConsent),
            ("Келісімді кері қайтаруыңызды сұраймын.", WithdrawConsent),
            ("Kelisimimdi keri qaitaryp alamyn.", WithdrawConsent),
            // Russian: доступ, блокирование, уничтожение, изменение и дополнение, отзыв согласия.
            (
                "Прошу предоставить доступ к моим персональным данным.",
                Access,
            ),
            ("Прошу блокирования моих персональных данных.", Restriction),
            ("Требую уничтожения моих персональных данных.", Erasure),
            (
                "Прошу внести изменения и дополнения в мои персональные данные.",
                Rectification,
            ),
            (
                "Направляю отзыв согласия на обработку персональных данных.",
                WithdrawConsent,
            ),
        ] {
            if top(text) != Some(kind) {
                missed.push((text, top(text)));
            }
        }
        assert!(missed.is_empty(), "{missed:#?}");
    }

    #[test]
    fn negated_and_described_forms_are_no_requests() {
        for text in [
            "Деректерімді жоймаңыз.",
            "Деректерімді жоймауыңызды сұраймын.",
            "Картам бұғатталып қалды.",
            "Моя карта заблокирована.",
            "My card was blocked.",
        ] {
            // At most a topic word's weight (an English word transliterated into the Cyrillic
            // view may still touch a stem): never enough for a request.
            let a = Analysis::of(text);
            assert!(
                a.score(Erasure) < 2 && a.score(Restriction) < 2,
                "{text}: {a:?}"
            );
        }
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
        assert_eq!(Bounds::of(v).clause(15, false), (11, v.len()));
        let v = "write to nlg.kz, then - a dash. Next";
        let b = Bounds::of(v);
        assert_eq!(b.sentence_start(v.len() - 1), v.len() - 5);
        assert_eq!(b.sentence_start(12), 0);
        assert_eq!(b.clause(17, false).0, 13);
        assert_eq!(b.clause(24, false).0, 23);
        assert_eq!(b.clause(20, true).0, 16);
    }
}
