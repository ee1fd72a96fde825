//! Cue vocabulary as data: one phrase file per language, compiled into word-level matchers.
//!
//! The files are `vocabulary/kk.txt`, `vocabulary/ru.txt` and `vocabulary/en.txt` at the root
//! of the repository, embedded in the binary. A directory configured as
//! `[understand] vocabulary_dir` overrides any of them by file name, so staff can add a phrase
//! without a rebuild; a file it does not hold keeps the embedded version.
//!
//! # Format
//! One cue per line: `signals<TAB>phrase` (any run of spaces also separates them). `#` starts a
//! comment line. `signals` is a comma-separated list of signal names (see [`Sig::parse`]), e.g.
//! `erasure=3`, `neg`, `third_party,id_other`, `not:erasure`, `verb:erasure`, `object:erasure`.
//! A kind's phrase (`erasure=3`) is a request by itself; a kind's verb and object
//! (`verb:withdraw_consent забира`, `object:withdraw_consent согласи`) make one together, in one
//! sentence and in any order ("Согласие … прошу аннулировать", "I am terminating my consent").
//!
//! A phrase is a sequence of words. Each word matches a word of the text that *starts* with it
//! (a stem: `удал` matches удалить, удалите, удаления), so endings need not be listed:
//! - `word$` matches that whole word only (`не$`, `my$`);
//! - `root~` is a Kazakh verb root: it matches every form of the root and of its verbal noun
//!   (`жой~` matches жой-ыңыз, жой-ып, жою-ды, жою-ыңызды), and a negative suffix right after
//!   the root (жой-ма-ңыз, өшір-ме-ңіз, тоқтат-па-ңыз) turns the cue into a negated request;
//! - `a|b` is either word (`удалит|удаля * данные`);
//! - `*` stands for up to two other words (`удалите * данные`);
//! - words of a phrase are separated in the text by spaces, one line break, commas, hyphens,
//!   quotes, slashes or brackets, never by a sentence end.
//!
//! Kazakh and Russian phrases are written in ordinary Cyrillic and folded with the mail's own
//! normalisation ([`normalise::cyr`]), so they also match Kazakh in the 2021 Latin alphabet,
//! Kazakh typed without Kazakh letters, Russian translit and lookalike letters. English phrases
//! are folded with [`normalise::lat`] and match the Latin view.

use std::path::Path;
use std::sync::{Arc, LazyLock, OnceLock};

use super::normalise;
use crate::domain::RequestKind;

/// What a cue says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// A request of this kind, with a weight (3 strong phrase, 2 verb stem, 1 topic word).
    Kind(RequestKind, u8),
    /// A negated form of the kind's verb written as one phrase ("жоюдың қажеті жоқ").
    NegKind(RequestKind),
    /// A verb of the kind ("забираю", "terminate", "жарамсыз"): a request when the kind's
    /// object stands in the same sentence, in any word order.
    Verb(RequestKind),
    /// An object of the kind ("согласие", "consent", "келісім" for a withdrawal).
    Object(RequestKind),
    /// A negation word before a verb ("не", "not", "never").
    Neg,
    /// A negation after the verb ("не нужно", "not needed", "қажеті жоқ").
    PostNeg,
    /// "How do I …" questions: asking about a procedure, not asking for it.
    HowTo,
    /// The clause is hypothetical ("whether to", "before I decide").
    Hedge,
    /// Right after the verb, a condition ("жойғым келсе", "if I want to"): hypothetical too.
    PostHedge,
    /// The sender asks for something ("прошу", "please", "сұраймын").
    Plea,
    /// Acting for somebody else (lawyer, representative, power of attorney).
    Representative,
    /// Data of a family member, an employee, a client or another person.
    ThirdParty,
    /// "I never asked for this", "it wasn't me."
    Dispute,
    /// "Do nothing", "delete nothing", "cancel the request": in a reply, it stops the request.
    Cancel,
    /// Fraud, leak, theft, hacking.
    Incident,
    /// An unpaid invoice or a debt (law 94-V art. 8(2)).
    Debt,
    /// Keep the account / documents.
    Keep,
    /// A confirmation ("I confirm", "подтверждаю").
    Confirm,
    /// Business mail: sales, invoices, jobs, phishing, partnerships, service questions.
    Business(u8),
    /// A demand with no object ("stop it").
    Vague,
    /// Claims to write for the police, a prosecutor, a court or an investigator.
    Authority,
    /// A complaint or threat (court, regulator, "I will report you").
    Threat,
    /// Points to an attached document ("во вложении", "attached").
    Attachment,
    /// Asks for the answer at another address ("на мой новый адрес", "to this email instead").
    NewAddress,
    /// A contract or agreement with the company.
    Contract,
    /// ...that is still in force ("действующий", "still", "күшінде").
    InForce,
    /// A software fault (bug, error, page does not work).
    Software,
    /// A field of personal data (surname, phone, date of birth): what rectification changes.
    PersonalField,
    /// The sender's own data as an object ("my data", "мои данные", "деректерім").
    OwnData,
    /// A question about what is done ("what do you", "что вы", "не істейсіз").
    Question,
    /// A verb of showing or sending ("send me", "пришлите", "көрсетіңіз"): with the sender's own
    /// data in the sentence, an access request.
    AccessVerb,
    /// Keep / leave ("сохраните", "оставьте", "keep", "қалдырыңыз"): with an account or documents
    /// in the sentence, the sender wants something kept.
    KeepVerb,
    /// An account, a profile, order history, contracts: what a sender may want kept.
    Account,
    /// Data as an object, whoever's ("данные", "деректер", "data"): with a showing verb, a weak
    /// access cue (it may be somebody else's, so never enough alone).
    DataNoun,
    /// "Just asking", "просто интересуюсь", "жалпы түсінік үшін": a question, not a request.
    JustAsking,
    /// "Please do it", "соны сұраймын", "that's what I'm asking for": a question before it
    /// ("можно ли стереть меня?") was a request.
    DoIt,
    /// A company's own field (its name, bank details) or a contract's text: what a correction of
    /// a document is about, not personal data.
    CompanyField,
    /// A particle that makes a word indefinite ("какую-либо", "кто-нибудь"): a `*` gap never
    /// skips it, so "какую-либо информацию" is no question "какую информацию".
    Particle,
    /// An invoice, a bill, a loan, a payment: with a negation or "yet" in the sentence, a debt.
    Invoice,
    /// "Yet", "ещё", "әлі": with an invoice, not paid yet.
    NotYet,
    /// Before an identifier: it is the sender's own ("мой ИИН", "my IIN", "менің ЖСН").
    IdMine,
    /// Before an identifier: it is somebody else's ("сына", "клиента", "пример").
    IdOther,
    /// Before a BIN: another organisation's ("контрагент", "buyer").
    IdOtherOrg,
    /// The sender says who they are for somebody else ("я мать", "мен анасымын", "I am his
    /// father"): the message concerns another person, but a number right after is the sender's.
    SelfRole,
    /// A child of the sender ("сын", "ұлым", "daughter"): an IIN of a minor is the child's.
    Child,
}

impl Sig {
    /// Parses one signal name of a vocabulary file.
    pub fn parse(s: &str) -> Result<Sig, String> {
        let kind = |k: &str| -> Result<RequestKind, String> {
            k.parse::<RequestKind>()
                .map_err(|_| format!("unknown request kind `{k}`"))
        };
        let weight = |w: &str| -> Result<u8, String> {
            match w.parse::<u8>() {
                Ok(n @ 1..=9) => Ok(n),
                _ => Err(format!("weight `{w}` must be a number from 1 to 9")),
            }
        };
        if let Some(k) = s.strip_prefix("not:") {
            return Ok(Sig::NegKind(kind(k)?));
        }
        if let Some(k) = s.strip_prefix("verb:") {
            return Ok(Sig::Verb(kind(k)?));
        }
        if let Some(k) = s.strip_prefix("object:") {
            return Ok(Sig::Object(kind(k)?));
        }
        if let Some((name, w)) = s.split_once('=') {
            return if name == "business" {
                Ok(Sig::Business(weight(w)?))
            } else {
                Ok(Sig::Kind(kind(name)?, weight(w)?))
            };
        }
        Ok(match s {
            "neg" => Sig::Neg,
            "postneg" => Sig::PostNeg,
            "howto" => Sig::HowTo,
            "hedge" => Sig::Hedge,
            "post_hedge" => Sig::PostHedge,
            "plea" => Sig::Plea,
            "representative" => Sig::Representative,
            "third_party" => Sig::ThirdParty,
            "dispute" => Sig::Dispute,
            "cancel" => Sig::Cancel,
            "incident" => Sig::Incident,
            "debt" => Sig::Debt,
            "keep" => Sig::Keep,
            "confirm" => Sig::Confirm,
            "vague" => Sig::Vague,
            "authority" => Sig::Authority,
            "threat" => Sig::Threat,
            "attachment" => Sig::Attachment,
            "new_address" => Sig::NewAddress,
            "contract" => Sig::Contract,
            "in_force" => Sig::InForce,
            "software" => Sig::Software,
            "personal_field" => Sig::PersonalField,
            "own_data" => Sig::OwnData,
            "question" => Sig::Question,
            "access_verb" => Sig::AccessVerb,
            "keep_verb" => Sig::KeepVerb,
            "account" => Sig::Account,
            "data_noun" => Sig::DataNoun,
            "just_asking" => Sig::JustAsking,
            "particle" => Sig::Particle,
            "do_it" => Sig::DoIt,
            "company_field" => Sig::CompanyField,
            "invoice" => Sig::Invoice,
            "not_yet" => Sig::NotYet,
            "id_mine" => Sig::IdMine,
            "id_other" => Sig::IdOther,
            "id_other_org" => Sig::IdOtherOrg,
            "child" => Sig::Child,
            "self_role" => Sig::SelfRole,
            other => return Err(format!("unknown signal `{other}`")),
        })
    }
}

/// A vocabulary file that cannot be used: which file, which line, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vocabulary file {file}, line {line}: {message}")]
pub struct VocabularyError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Which view of the text a file's phrases match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// Kazakh and Russian: the Cyrillic view.
    Cyrillic,
    /// English: the Latin view.
    Latin,
}

/// The shipped files: (file name, view, text).
const EMBEDDED: &[(&str, Script, &str)] = &[
    (
        "kk.txt",
        Script::Cyrillic,
        include_str!("../../vocabulary/kk.txt"),
    ),
    (
        "ru.txt",
        Script::Cyrillic,
        include_str!("../../vocabulary/ru.txt"),
    ),
    (
        "en.txt",
        Script::Latin,
        include_str!("../../vocabulary/en.txt"),
    ),
];

/// The compiled vocabulary: one matcher per view.
#[derive(Debug)]
pub struct Vocabulary {
    pub(crate) cyr: Matcher,
    pub(crate) lat: Matcher,
}

static EMBEDDED_VOCABULARY: LazyLock<Arc<Vocabulary>> = LazyLock::new(|| {
    let sources: Vec<(String, Script, String)> = EMBEDDED
        .iter()
        .map(|(n, s, t)| (format!("vocabulary/{n} (embedded)"), *s, (*t).to_owned()))
        .collect();
    Arc::new(Vocabulary::compile(&sources).expect("the embedded vocabulary is valid"))
});

static INSTALLED: OnceLock<Arc<Vocabulary>> = OnceLock::new();

impl Vocabulary {
    /// The vocabulary shipped in the binary.
    pub fn embedded() -> Arc<Vocabulary> {
        EMBEDDED_VOCABULARY.clone()
    }

    /// The embedded files, each replaced by the file of the same name in `dir` when it has one.
    pub fn load(dir: Option<&Path>) -> Result<Vocabulary, VocabularyError> {
        if let Some(d) = dir {
            if !d.is_dir() {
                return Err(VocabularyError {
                    file: d.display().to_string(),
                    line: 0,
                    message: "not a directory".to_owned(),
                });
            }
        }
        let mut sources = Vec::with_capacity(EMBEDDED.len());
        for (name, script, text) in EMBEDDED {
            let path = dir.map(|d| d.join(name));
            match path {
                Some(p) if p.exists() => {
                    let shown = p.display().to_string();
                    let text = std::fs::read_to_string(&p).map_err(|e| VocabularyError {
                        file: shown.clone(),
                        line: 0,
                        message: format!("cannot read: {e}"),
                    })?;
                    sources.push((shown, *script, text));
                }
                _ => sources.push((
                    format!("vocabulary/{name} (embedded)"),
                    *script,
                    (*text).to_owned(),
                )),
            }
        }
        if let Some(d) = dir {
            // A file the worker would silently ignore is a mistake worth stopping for.
            if let Ok(entries) = std::fs::read_dir(d) {
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let known = EMBEDDED.iter().any(|(n, _, _)| *n == name);
                    if name.ends_with(".txt") && !known {
                        return Err(VocabularyError {
                            file: e.path().display().to_string(),
                            line: 0,
                            message: "unknown vocabulary file (expected kk.txt, ru.txt or en.txt)"
                                .to_owned(),
                        });
                    }
                }
            }
        }
        Self::compile(&sources)
    }

    fn compile(sources: &[(String, Script, String)]) -> Result<Vocabulary, VocabularyError> {
        let mut cyr = Builder::default();
        let mut lat = Builder::default();
        for (file, script, text) in sources {
            let (builder, fold): (&mut Builder, fn(&str) -> String) = match script {
                Script::Cyrillic => (&mut cyr, normalise::cyr),
                Script::Latin => (&mut lat, normalise::lat),
            };
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                builder
                    .add_line(line, fold, *script)
                    .map_err(|message| VocabularyError {
                        file: file.clone(),
                        line: n + 1,
                        message,
                    })?;
            }
        }
        Ok(Vocabulary {
            cyr: cyr.build(),
            lat: lat.build(),
        })
    }
}

/// Makes `vocabulary` the one [`active`] returns, once per process (the worker does this at
/// start from its configuration). Returns false when one was installed already.
pub fn install(vocabulary: Arc<Vocabulary>) -> bool {
    INSTALLED.set(vocabulary).is_ok()
}

/// The installed vocabulary, else the embedded one.
pub fn active() -> Arc<Vocabulary> {
    INSTALLED
        .get()
        .cloned()
        .unwrap_or_else(Vocabulary::embedded)
}

// ---------------------------------------------------------------------------------------------
// Matching

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Tok {
    Word { stem: u32, whole: bool },
    Gap,
}

#[derive(Debug)]
struct Phrase {
    tokens: Vec<Tok>,
    sigs: Vec<Sig>,
    /// The last word is a Kazakh verb root (`~`).
    root: bool,
    /// Matching goes on after the phrase (a request, a negation, a question form); a phrase of
    /// context cues only (a relation, an object, a plea) lets the words it spans be read again.
    consumes: bool,
    /// Which of the three phrases a word may start this is: 0 a request/negation/question
    /// phrase, 1 a kind's verb, 2 a context cue. Each word starts at most one of each.
    slot: u8,
}

impl Phrase {
    fn classify(sigs: &[Sig]) -> (bool, u8) {
        let consuming = sigs.iter().any(|s| {
            matches!(
                s,
                Sig::Kind(..)
                    | Sig::NegKind(_)
                    | Sig::Neg
                    | Sig::PostNeg
                    | Sig::HowTo
                    | Sig::Hedge
                    | Sig::PostHedge
                    | Sig::Business(_)
                    | Sig::Dispute
                    | Sig::Cancel
                    | Sig::Confirm
                    | Sig::Vague
            )
        });
        if consuming {
            (true, 0)
        } else if sigs.iter().all(|s| matches!(s, Sig::Verb(_))) {
            (false, 1)
        } else {
            (false, 2)
        }
    }
}

#[derive(Debug)]
struct Node {
    edges: Vec<(char, u32)>,
    stem: u32,
}

/// First characters below this have a direct slot at the trie's root (Latin and Cyrillic).
const DENSE: usize = 0x530;

/// Stems in a character trie, and the phrases that start with each stem.
#[derive(Debug)]
pub(crate) struct Matcher {
    nodes: Vec<Node>,
    root: Box<[u32; DENSE]>,
    by_first: Vec<Vec<u32>>,
    phrases: Vec<Phrase>,
    /// Stems that are a whole one-word negation or question cue ("не", "not", "қалай"): a
    /// `*` gap never skips them, so "келісімді қалай кері қайтару" stays a question.
    blockers: Vec<bool>,
}

/// One cue found in a view: byte offsets of its first word's start and its last stem's end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    pub start: usize,
    /// End of the last matched stem (the rest of that word is its ending).
    pub end: usize,
    /// End of the last matched word.
    pub word_end: usize,
    phrase: u32,
}

#[derive(Default)]
struct Builder {
    stems: std::collections::HashMap<String, u32>,
    phrases: Vec<Phrase>,
    index: std::collections::HashMap<(Vec<Tok>, bool, u8), usize>,
}

impl Builder {
    fn stem(&mut self, s: String) -> u32 {
        let n = self.stems.len() as u32;
        *self.stems.entry(s).or_insert(n)
    }

    fn add_line(
        &mut self,
        line: &str,
        fold: fn(&str) -> String,
        script: Script,
    ) -> Result<(), String> {
        let split = line
            .find(|c: char| c.is_whitespace())
            .ok_or("a signal and a phrase are needed, separated by a tab")?;
        let (signals, phrase) = (&line[..split], line[split..].trim());
        if phrase.is_empty() {
            return Err("the phrase is empty".to_owned());
        }
        if script == Script::Latin && !phrase.bytes().any(|b| b.is_ascii_alphabetic()) {
            // Only text with Latin letters is matched against en.txt.
            return Err(
                "an English phrase needs Latin letters (Kazakh and Russian go in kk.txt, ru.txt)"
                    .to_owned(),
            );
        }
        let sigs = signals
            .split(',')
            .map(|s| Sig::parse(s.trim()))
            .collect::<Result<Vec<Sig>, String>>()?;
        // Each phrase word becomes one or more stems; a Kazakh root has two spellings.
        let mut tokens_per_variant: Vec<Vec<Option<(String, bool)>>> = vec![vec![]];
        let words: Vec<&str> = phrase.split_whitespace().collect();
        let mut root = false;
        for (i, w) in words.iter().enumerate() {
            if *w == "*" {
                if i == 0 || i + 1 == words.len() {
                    return Err("`*` cannot start or end a phrase".to_owned());
                }
                for t in &mut tokens_per_variant {
                    t.push(None);
                }
                continue;
            }
            let (body, whole, is_root) = if let Some(b) = w.strip_suffix('$') {
                (b, true, false)
            } else if let Some(b) = w.strip_suffix('~') {
                (b, false, true)
            } else {
                (*w, false, false)
            };
            let alternatives: Vec<&str> = body.split('|').collect();
            if alternatives
                .iter()
                .any(|a| a.is_empty() || a.contains(['$', '~', '*']))
            {
                return Err(format!("`{w}` is not a word"));
            }
            if is_root && i + 1 != words.len() {
                return Err(format!(
                    "the Kazakh root `{w}` must be the phrase's last word"
                ));
            }
            root |= is_root;
            let mut spellings: Vec<String> = Vec::new();
            for a in alternatives {
                spellings.push(a.to_owned());
                if !is_root {
                    continue;
                }
                // The verbal noun: жой → жою, оқы → оқу (other roots take -у/-ү as they are).
                let mut chars: Vec<char> = a.chars().collect();
                match chars.last() {
                    Some('й') => {
                        chars.pop();
                        spellings.push(chars.iter().collect::<String>() + "ю");
                    }
                    Some('ы' | 'і') => {
                        chars.pop();
                        spellings.push(chars.iter().collect::<String>() + "у");
                    }
                    _ => {}
                }
            }
            let mut next = Vec::new();
            for t in &tokens_per_variant {
                for s in &spellings {
                    let folded = fold(s);
                    let parts: Vec<&str> = folded
                        .split(|c: char| !normalise::is_letter(c))
                        .filter(|p| !p.is_empty())
                        .collect();
                    if parts.is_empty() {
                        return Err(format!("`{w}` has no letters"));
                    }
                    let mut t = t.clone();
                    let last = parts.len() - 1;
                    for (j, p) in parts.iter().enumerate() {
                        // A word of one or two letters inside a phrase ("по", "не", "to") is
                        // never a stem: it would start half the words of the text.
                        let short = words.len() > 1 && !is_root && p.chars().count() <= 2;
                        // English inflects little: a word inside a phrase is a whole word ("it
                        // was me" is not "it wasn't me"); only the last word is a stem.
                        let inner = script == Script::Latin && i + 1 < words.len();
                        t.push(Some((
                            (*p).to_owned(),
                            (whole && j == last) || short || inner || (j < last),
                        )));
                    }
                    next.push(t);
                }
            }
            tokens_per_variant = next;
        }
        for t in tokens_per_variant {
            let tokens: Vec<Tok> = t
                .into_iter()
                .map(|x| match x {
                    Some((s, whole)) => Tok::Word {
                        stem: self.stem(s),
                        whole,
                    },
                    None => Tok::Gap,
                })
                .collect(); // The same words on two lines of the same slot: one phrase with both lines' signals.
            let key = (tokens, root, Phrase::classify(&sigs).1);
            if let Some(&at) = self.index.get(&key) {
                let p: &mut Phrase = &mut self.phrases[at];
                for s in &sigs {
                    if !p.sigs.contains(s) {
                        p.sigs.push(*s);
                    }
                }
                (p.consumes, p.slot) = Phrase::classify(&p.sigs);
                continue;
            }
            let (consumes, slot) = Phrase::classify(&sigs);
            self.index.insert(key.clone(), self.phrases.len());
            self.phrases.push(Phrase {
                tokens: key.0,
                sigs: sigs.clone(),
                root,
                consumes,
                slot,
            });
        }
        Ok(())
    }

    fn build(self) -> Matcher {
        let mut nodes = vec![Node {
            edges: vec![],
            stem: NONE,
        }];
        let mut by_stem: Vec<(&String, u32)> = self.stems.iter().map(|(s, i)| (s, *i)).collect();
        by_stem.sort_by_key(|x| x.1);
        for (s, id) in &by_stem {
            let mut n = 0usize;
            for c in s.chars() {
                let found = nodes[n].edges.iter().find(|e| e.0 == c).map(|e| e.1);
                n = match found {
                    Some(next) => next as usize,
                    None => {
                        nodes.push(Node {
                            edges: vec![],
                            stem: NONE,
                        });
                        let next = (nodes.len() - 1) as u32;
                        nodes[n].edges.push((c, next));
                        next as usize
                    }
                };
            }
            nodes[n].stem = *id;
        }
        let mut root = Box::new([NONE; DENSE]);
        for (c, next) in &nodes[0].edges {
            if (*c as usize) < DENSE {
                root[*c as usize] = *next;
            }
        }
        let mut by_first = vec![Vec::new(); by_stem.len()];
        for (i, p) in self.phrases.iter().enumerate() {
            if let Some(Tok::Word { stem, .. }) = p.tokens.first() {
                by_first[*stem as usize].push(i as u32);
            }
        }
        let mut blockers = vec![false; by_stem.len()];
        for p in &self.phrases {
            let cue = p
                .sigs
                .iter()
                .any(|s| matches!(s, Sig::Neg | Sig::HowTo | Sig::Hedge | Sig::Particle));
            if let ([Tok::Word { stem, whole: true }], true) = (p.tokens.as_slice(), cue) {
                blockers[*stem as usize] = true;
            }
        }
        Matcher {
            nodes,
            root,
            by_first,
            phrases: self.phrases,
            blockers,
        }
    }
}

/// A word of the view with the stems that start it.
struct Word {
    start: usize,
    end: usize,
    /// The text between the previous word and this one may join words of a phrase.
    joined: bool,
    /// ...and is only spaces: a `*` gap may skip this word (never across a comma).
    plain: bool,
    /// Range in `Scan::stems`.
    stems: (u32, u32),
}

#[derive(Default)]
struct Scan {
    words: Vec<Word>,
    /// (stem id, stem byte length) for every word, flattened.
    stems: Vec<(u32, u32)>,
}

thread_local! {
    /// The word buffers of the last scan on this thread, reused (no allocation per text).
    static SCAN: std::cell::Cell<Scan> = std::cell::Cell::new(Scan::default());
}

fn joins(gap: &str) -> bool {
    let mut newlines = 0;
    for c in gap.chars() {
        match c {
            '\n' => {
                newlines += 1;
                if newlines > 1 {
                    return false;
                }
            }
            ' ' | '\r' | ',' | '-' | '"' | '\'' | '/' | '(' | ')' | '*' => {}
            _ => return false,
        }
    }
    true
}

impl Matcher {
    /// Splits `view` into words and notes the stems each starts with, into `scan` (reused).
    fn scan_into(&self, view: &str, scan: &mut Scan) {
        scan.words.clear();
        scan.stems.clear();
        let mut prev_end = 0usize;
        let mut iter = view.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if !normalise::is_letter(c) {
                continue;
            }
            let start = i;
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = iter.peek() {
                if !normalise::is_letter(d) {
                    break;
                }
                end = j + d.len_utf8();
                iter.next();
            }
            let from = scan.stems.len() as u32;
            // Walk the trie along the word, noting every stem that ends on the way.
            let word = &view[start..end];
            let mut chars = word.char_indices();
            let first = chars.next().map_or('\0', |x| x.1);
            let mut node = if (first as usize) < DENSE {
                self.root[first as usize]
            } else {
                self.nodes[0]
                    .edges
                    .iter()
                    .find(|e| e.0 == first)
                    .map_or(NONE, |e| e.1)
            };
            let mut at = first.len_utf8();
            while node != NONE {
                let n = &self.nodes[node as usize];
                if n.stem != NONE {
                    scan.stems.push((n.stem, at as u32));
                }
                let Some((i, c)) = chars.next() else {
                    break;
                };
                node = n.edges.iter().find(|e| e.0 == c).map_or(NONE, |e| e.1);
                at = i + c.len_utf8();
            }
            let gap = &view[prev_end..start];
            let joined = !scan.words.is_empty() && joins(gap);
            let plain = joined && gap.bytes().all(|b| b == b' ' || b == b'\n' || b == b'\r');
            scan.words.push(Word {
                start,
                end,
                joined,
                plain,
                stems: (from, scan.stems.len() as u32),
            });
            prev_end = end;
        }
    }

    /// Word `j` is a whole-word negation or question cue.
    fn blocks(&self, scan: &Scan, j: usize) -> bool {
        let w = &scan.words[j];
        scan.stems[w.stems.0 as usize..w.stems.1 as usize]
            .iter()
            .any(|(s, len)| self.blockers[*s as usize] && *len as usize == w.end - w.start)
    }

    /// The stem's length when word `j` starts with stem `stem` (the whole word when `whole`).
    fn matched(&self, scan: &Scan, j: usize, stem: u32, whole: bool) -> Option<u32> {
        let w = &scan.words[j];
        scan.stems[w.stems.0 as usize..w.stems.1 as usize]
            .iter()
            .find(|(s, len)| *s == stem && (!whole || *len as usize == w.end - w.start))
            .map(|x| x.1)
    }

    /// Matches tokens `t..` from word `j`; returns (last word, its stem length, bytes matched).
    fn extend(
        &self,
        scan: &Scan,
        p: &Phrase,
        t: usize,
        j: usize,
        last: (usize, u32),
        total: u32,
    ) -> Option<(usize, u32, u32)> {
        if t == p.tokens.len() {
            return Some((last.0, last.1, total));
        }
        match p.tokens[t] {
            Tok::Gap => {
                for skip in 0..=2usize {
                    if skip > 0 {
                        let w = j + skip - 1;
                        if w >= scan.words.len() || !scan.words[w].plain || self.blocks(scan, w) {
                            break;
                        }
                    }
                    if let Some(r) = self.extend(scan, p, t + 1, j + skip, last, total) {
                        return Some(r);
                    }
                }
                None
            }
            Tok::Word { stem, whole } => {
                if j >= scan.words.len() || !scan.words[j].joined {
                    return None;
                }
                let len = self.matched(scan, j, stem, whole)?;
                self.extend(scan, p, t + 1, j + 1, (j, len), total + len)
            }
        }
    }

    /// Cues in a view, left to right. At each word the longest request, negation or question
    /// phrase wins, and no other such phrase starts inside it; every kind verb and context cue
    /// starting at the word counts, also inside a longer phrase.
    pub(crate) fn hits(&self, view: &str) -> Vec<Hit> {
        SCAN.with(|cell| {
            let mut scan = cell.take();
            self.scan_into(view, &mut scan);
            let out = self.hits_in(&scan);
            cell.replace(scan);
            out
        })
    }

    fn hits_in(&self, scan: &Scan) -> Vec<Hit> {
        let mut out = Vec::new();
        // Words up to here belong to a request, negation or question phrase already found; only
        // verbs and context cues (a relation, an object) may still start among them.
        let mut consumed_until = 0usize;
        // (last word, stem len, total, phrase)
        let mut found: Vec<(usize, u32, u32, u32)> = Vec::new();
        for i in 0..scan.words.len() {
            let w = &scan.words[i];
            let inside = i < consumed_until;
            let mut best: Option<(usize, u32, u32, u32)> = None;
            found.clear();
            for &(stem, len) in &scan.stems[w.stems.0 as usize..w.stems.1 as usize] {
                for &pi in &self.by_first[stem as usize] {
                    let p = &self.phrases[pi as usize];
                    if inside && p.consumes {
                        continue;
                    }
                    if let Tok::Word { whole: true, .. } = p.tokens[0] {
                        if len as usize != w.end - w.start {
                            continue;
                        }
                    }
                    let Some((last, l, total)) = self.extend(scan, p, 1, i + 1, (i, len), len)
                    else {
                        continue;
                    };
                    if p.slot == 0 {
                        if best.is_none_or(|(bl, _, bt, _)| (last, total) > (bl, bt)) {
                            best = Some((last, l, total, pi));
                        }
                    } else {
                        found.push((last, l, total, pi));
                    }
                }
            }
            for &(last, l, _, pi) in best.iter().chain(found.iter()) {
                let lw = &scan.words[last];
                out.push(Hit {
                    start: w.start,
                    end: lw.start + l as usize,
                    word_end: lw.end,
                    phrase: pi,
                });
                if self.phrases[pi as usize].consumes {
                    consumed_until = consumed_until.max(last + 1);
                }
            }
        }
        out
    }

    pub(crate) fn sigs(&self, hit: &Hit) -> &[Sig] {
        &self.phrases[hit.phrase as usize].sigs
    }

    /// Whether the hit's last word is a Kazakh verb root.
    pub(crate) fn is_root(&self, hit: &Hit) -> bool {
        self.phrases[hit.phrase as usize].root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(kk: &str, en: &str) -> Vocabulary {
        Vocabulary::compile(&[
            ("kk.txt".into(), Script::Cyrillic, kk.into()),
            ("en.txt".into(), Script::Latin, en.into()),
        ])
        .unwrap()
    }

    fn found(m: &Matcher, view: &str) -> Vec<(String, Vec<Sig>)> {
        m.hits(view)
            .iter()
            .map(|h| (view[h.start..h.end].to_owned(), m.sigs(h).to_vec()))
            .collect()
    }

    #[test]
    fn stems_whole_words_gaps_and_roots() {
        let v = vocab(
            "erasure=2\tжой~\nneg\tне$\nerasure=3\tудалите * данные\naccess=3\tқол жеткіз\n",
            "erasure=3\tdelete my\nneg\tnot$\n",
        );
        let view = normalise::views(
            "Жойыңыздар. Жоюыңызды. Не удалите все мои данные. Қол жеткізуді. нет",
        )
        .cyr;
        let f = found(&v.cyr, &view);
        let texts: Vec<&str> = f.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            texts,
            ["жои", "жою", "не", "удалите все мои данние", "кол жеткиз"],
            "{f:?}"
        );
        let lat = normalise::views("Please delete my data, not nothing").lat;
        assert_eq!(found(&v.lat, &lat).len(), 2);
    }

    #[test]
    fn phrases_do_not_cross_sentences_but_cross_line_breaks() {
        let v = vocab("access=3\tқол жеткіз\n", "");
        assert_eq!(v.cyr.hits(&normalise::cyr("қол\nжеткізу")).len(), 1);
        assert_eq!(v.cyr.hits(&normalise::cyr("қол. Жеткізу")).len(), 0);
        assert_eq!(v.cyr.hits(&normalise::cyr("қол\n\nжеткізу")).len(), 0);
    }

    #[test]
    fn longest_phrase_wins() {
        let v = vocab(
            "",
            "access=3\tcopy of my\nbusiness=3\tcopy of my * invoice\n",
        );
        let view = normalise::lat("send a copy of my last invoice");
        let f = found(&v.lat, &view);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].1, vec![Sig::Business(3)]);
    }

    #[test]
    fn bad_lines_are_named() {
        let e = Vocabulary::compile(&[(
            "x.txt".into(),
            Script::Cyrillic,
            "# ok\nerasure=3\tудалить\nfoo\tbar\n".into(),
        )])
        .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("x.txt, line 3"), "{e}");
        assert!(e.message.contains("foo"));
        for bad in [
            "erasure=0\tx",
            "erasure=3",
            "erasure=3\t* x",
            "nokind=2\tx",
            "erasure=3\tжой~ ету",
        ] {
            assert!(
                Vocabulary::compile(&[("x".into(), Script::Cyrillic, bad.into())]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_embedded_vocabulary_compiles() {
        let v = Vocabulary::embedded();
        assert!(!v.cyr.phrases.is_empty() && !v.lat.phrases.is_empty());
    }
}
