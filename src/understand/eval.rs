//! What `dsr-worker classify` and `dsr-worker eval` compute (the commands are
//! `src/cli/understand.rs`).
//!
//! `classify` prints one JSON object per message with exactly the fields of
//! `corpus/README.md`; `eval` compares that output with each corpus' `labels.jsonl` and prints
//! the figures that matter (unsafe automatic actions, kind accuracy, review recall, loop safety,
//! IIN precision/recall, automation), the same per language, how the two readers agree (each
//! alone and combined), a confusion matrix and the misses. `train` fits the statistical reader.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::agreement::{Outcome, Readers};
use super::{Reader, Understanding};
use crate::domain::MailKind;

/// One line of `classify --json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassifyLine {
    pub file: String,
    pub kind: String,
    pub review: bool,
    pub reply: bool,
    pub language: String,
    pub iin: Vec<String>,
    pub bin: Vec<String>,
    pub phones: Vec<String>,
    pub invalid_iin: Vec<String>,
    pub reasons: Vec<String>,
}

impl ClassifyLine {
    pub fn new(file: String, u: &Understanding) -> Self {
        Self {
            file,
            kind: u.kind.as_str().to_owned(),
            review: u.review,
            reply: u.reply,
            language: u.language.as_str().to_owned(),
            iin: u.iin.iter().map(|i| i.as_str().to_owned()).collect(),
            bin: u.bin.iter().map(|i| i.as_str().to_owned()).collect(),
            phones: u.phones.iter().map(|i| i.as_str().to_owned()).collect(),
            invalid_iin: u.invalid_iin.clone(),
            reasons: u.reasons.clone(),
        }
    }
}

/// The `.eml` files named by `paths`: files as given, directories' `.eml` files sorted by name.
pub fn collect_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading directory {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file() && f.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml"))
                })
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads one file: its classify line and what each reader said, or why it is unreadable.
fn read_file(reader: &Reader, path: &Path, shown: &str) -> Result<(ClassifyLine, Readers), String> {
    let raw = std::fs::read(path).map_err(|e| e.to_string())?;
    let reading = reader.read(&raw).map_err(|e| e.to_string())?;
    Ok((
        ClassifyLine::new(shown.to_owned(), &reading.understanding),
        reading.readers,
    ))
}

/// Classifies one file into its JSON line (or an `{"file", "error"}` line).
pub fn classify_file(reader: &Reader, path: &Path, shown: &str) -> serde_json::Value {
    match read_file(reader, path, shown) {
        Ok((line, _)) => serde_json::to_value(line).expect("serialisable"),
        Err(error) => serde_json::json!({ "file": shown, "error": error }),
    }
}

/// One line of a corpus' `labels.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    pub file: String,
    pub kind: String,
    #[serde(default)]
    pub also: Vec<String>,
    pub review: Option<bool>,
    #[serde(default)]
    pub reply: Option<bool>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub iin: Vec<String>,
}

/// The figures of `corpus/README.md` for one set of messages.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Figures {
    pub messages: usize,
    pub errors: usize,
    pub unsafe_actions: usize,
    pub kind_correct: usize,
    pub review_expected: usize,
    pub review_caught: usize,
    pub loop_replies: usize,
    pub automatic_total: usize,
    pub iin_true_positive: usize,
    pub iin_predicted: usize,
    pub iin_labelled: usize,
    pub clear_total: usize,
    pub clear_automated: usize,
    pub language_correct: usize,
}

/// What one reader (or the combination) decided about a message, as scored.
struct Verdict<'a> {
    kind: &'a str,
    review: bool,
    reply: bool,
    language: &'a str,
    iin: &'a [String],
    reasons: &'a [String],
}

impl Figures {
    pub fn kind_accuracy(&self) -> f64 {
        self.kind_correct as f64 / self.messages.max(1) as f64
    }

    /// Scores one message; returns why it missed (empty when it did not).
    fn score(&mut self, label: &Label, got: &Verdict<'_>) -> Vec<String> {
        let mut why = Vec::new();
        self.messages += 1;
        let kind_ok = got.kind == label.kind || label.also.iter().any(|a| a == got.kind);
        if kind_ok {
            self.kind_correct += 1;
        } else {
            why.push(format!("kind {} (label {})", got.kind, label.kind));
        }
        let sensitive = |k: &str| {
            k.parse::<MailKind>()
                .ok()
                .and_then(MailKind::request)
                .is_some_and(|k| k.is_sensitive())
        };
        if !got.review && sensitive(got.kind) && (label.review == Some(true) || !kind_ok) {
            self.unsafe_actions += 1;
            why.push("UNSAFE automatic action".to_owned());
        }
        if label.review == Some(true) {
            self.review_expected += 1;
            if got.review {
                self.review_caught += 1;
            } else {
                why.push("review missed".to_owned());
            }
        }
        if label.review == Some(false) {
            self.clear_total += 1;
            if !got.review {
                self.clear_automated += 1;
            } else {
                why.push(format!("needless review: {}", got.reasons.join("; ")));
            }
        }
        if matches!(label.kind.as_str(), "auto_reply" | "bounce") {
            self.automatic_total += 1;
            if got.reply {
                self.loop_replies += 1;
                why.push("REPLY to automatic mail".to_owned());
            }
        }
        let labelled: BTreeSet<&String> = label.iin.iter().collect();
        let predicted: BTreeSet<&String> = got.iin.iter().collect();
        self.iin_labelled += labelled.len();
        self.iin_predicted += predicted.len();
        self.iin_true_positive += labelled.intersection(&predicted).count();
        if labelled != predicted {
            why.push(format!("iin {:?} (label {:?})", got.iin, label.iin));
        }
        if label.language.as_deref() == Some(got.language) {
            self.language_correct += 1;
        } else if let Some(l) = &label.language {
            why.push(format!("language {} (label {l})", got.language));
        }
        why
    }

    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "messages:                 {} ({} unreadable)",
            self.messages, self.errors
        )?;
        writeln!(out, "unsafe automatic actions: {}", self.unsafe_actions)?;
        writeln!(
            out,
            "kind accuracy:            {}",
            pct(self.kind_correct, self.messages)
        )?;
        writeln!(
            out,
            "review recall:            {}",
            pct(self.review_caught, self.review_expected)
        )?;
        writeln!(
            out,
            "loop safety (replies to auto-replies/bounces): {} of {}",
            self.loop_replies, self.automatic_total
        )?;
        writeln!(
            out,
            "IIN precision:            {}",
            pct(self.iin_true_positive, self.iin_predicted)
        )?;
        writeln!(
            out,
            "IIN recall:               {}",
            pct(self.iin_true_positive, self.iin_labelled)
        )?;
        writeln!(
            out,
            "automation (clear cases): {}",
            pct(self.clear_automated, self.clear_total)
        )?;
        writeln!(
            out,
            "language accuracy:        {}",
            pct(self.language_correct, self.messages)
        )
    }
}

/// How the two readers and the agreement gate did on one corpus.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Agreement {
    /// Both readers named the same kind.
    pub same_kind: usize,
    /// ... and that kind was right.
    pub same_kind_correct: usize,
    /// Different kinds, and which reader was right.
    pub different_kind: usize,
    pub different_rules_correct: usize,
    pub different_statistical_correct: usize,
    /// The statistical reader alone: kind right.
    pub statistical_correct: usize,
    /// Gate outcomes.
    pub outcomes: BTreeMap<String, usize>,
    /// Promotions (the rules saw no request) whose label is a request or a review case.
    pub promoted_right: usize,
    /// Promotions of mail labelled "not a request" (the cost in staff time).
    pub promoted_business: usize,
}

/// The figures of one corpus.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub corpus: String,
    /// Both readers through the gate: what the worker does.
    pub total: Figures,
    /// The same per labelled language.
    pub languages: BTreeMap<String, Figures>,
    /// The rule reader alone (before the gate).
    pub rules: Figures,
    /// The statistical reader's kind accuracy per labelled language: (right, messages).
    pub statistical_languages: BTreeMap<String, (usize, usize)>,
    pub readers: Agreement,
    /// (label kind, predicted kind) → count.
    pub confusion: BTreeMap<(String, String), usize>,
    /// Files that missed, with why, for study.
    pub misses: Vec<String>,
    /// One JSON object per message: label, both readers, the gate and the result (for study).
    #[serde(skip)]
    pub details: Vec<serde_json::Value>,
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "n/a".to_owned()
    } else {
        format!("{:.1}% ({n}/{d})", 100.0 * n as f64 / d as f64)
    }
}

fn short_pct(n: usize, d: usize) -> String {
    if d == 0 {
        "n/a".to_owned()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / d as f64)
    }
}

impl EvalReport {
    pub fn kind_accuracy(&self) -> f64 {
        self.total.kind_accuracy()
    }

    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "== {} ==", self.corpus)?;
        self.total.write(out)?;

        writeln!(out, "\nper language (both readers, as acted on)")?;
        writeln!(
            out,
            "{:<8} {:>6} {:>7} {:>7} {:>8} {:>8} {:>8} {:>9} {:>5} {:>8}",
            "language",
            "msgs",
            "unsafe",
            "kind",
            "review",
            "IIN P",
            "IIN R",
            "automate",
            "loop",
            "stat"
        )?;
        for (lang, f) in &self.languages {
            let (sr, st) = self
                .statistical_languages
                .get(lang)
                .copied()
                .unwrap_or_default();
            writeln!(
                out,
                "{:<8} {:>6} {:>7} {:>7} {:>8} {:>8} {:>8} {:>9} {:>5} {:>8}",
                lang,
                f.messages,
                f.unsafe_actions,
                short_pct(f.kind_correct, f.messages),
                short_pct(f.review_caught, f.review_expected),
                short_pct(f.iin_true_positive, f.iin_predicted),
                short_pct(f.iin_true_positive, f.iin_labelled),
                short_pct(f.clear_automated, f.clear_total),
                f.loop_replies,
                short_pct(sr, st),
            )?;
        }

        let a = &self.readers;
        let n = self.total.messages - self.total.errors;
        writeln!(out, "\nreaders")?;
        writeln!(
            out,
            "  same kind from both:     {}; right when they agree: {}",
            pct(a.same_kind, n),
            pct(a.same_kind_correct, a.same_kind)
        )?;
        writeln!(
            out,
            "  when they disagree:      rules right {}, statistical right {}",
            pct(a.different_rules_correct, a.different_kind),
            pct(a.different_statistical_correct, a.different_kind)
        )?;
        writeln!(
            out,
            "  kind accuracy:           rules alone {}, statistical alone {}, both {}",
            short_pct(self.rules.kind_correct, n),
            short_pct(a.statistical_correct, n),
            short_pct(self.total.kind_correct, self.total.messages)
        )?;
        writeln!(
            out,
            "  rules alone:             unsafe {}, review recall {}, automation {}, loop {}",
            self.rules.unsafe_actions,
            short_pct(self.rules.review_caught, self.rules.review_expected),
            short_pct(self.rules.clear_automated, self.rules.clear_total),
            self.rules.loop_replies
        )?;
        let outcomes: Vec<String> = a.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(out, "  gate:                    {}", outcomes.join(", "))?;
        writeln!(
            out,
            "  promoted to staff:       {} a request or review case, {} labelled not a request",
            a.promoted_right, a.promoted_business
        )?;

        let kinds: BTreeSet<&String> = self.confusion.keys().flat_map(|(a, b)| [a, b]).collect();
        let short = |k: &str| -> String { k.chars().take(8).collect() };
        writeln!(out, "\nconfusion (rows: label, columns: classify)")?;
        write!(out, "{:>18}", "")?;
        for k in &kinds {
            write!(out, " {:>8}", short(k))?;
        }
        writeln!(out)?;
        for row in &kinds {
            write!(out, "{:>18}", row.as_str())?;
            for col in &kinds {
                let n = self
                    .confusion
                    .get(&((*row).clone(), (*col).clone()))
                    .copied()
                    .unwrap_or(0);
                write!(
                    out,
                    " {:>8}",
                    if n == 0 {
                        ".".to_owned()
                    } else {
                        n.to_string()
                    }
                )?;
            }
            writeln!(out)?;
        }
        if !self.misses.is_empty() {
            writeln!(out, "\nmisses:")?;
            for m in &self.misses {
                writeln!(out, "  {m}")?;
            }
        }
        Ok(())
    }
}

/// Scores one labelled message into `r`.
fn score(r: &mut EvalReport, label: &Label, got: &ClassifyLine, readers: &Readers) {
    *r.confusion
        .entry((label.kind.clone(), got.kind.clone()))
        .or_default() += 1;
    let verdict = Verdict {
        kind: &got.kind,
        review: got.review,
        reply: got.reply,
        language: &got.language,
        iin: &got.iin,
        reasons: &got.reasons,
    };
    let why = r.total.score(label, &verdict);
    let language = label.language.clone().unwrap_or_else(|| "?".to_owned());
    r.languages
        .entry(language.clone())
        .or_default()
        .score(label, &verdict);
    let rules_kind = readers.rules.as_str();
    r.rules.score(
        label,
        &Verdict {
            kind: rules_kind,
            review: readers.rules_review,
            reply: readers.rules_reply,
            ..verdict
        },
    );

    let accepts = |k: &str| label.kind == k || label.also.iter().any(|a| a == k);
    let statistical_kind = readers.statistical.as_str();
    let stat_ok = accepts(statistical_kind);
    let a = &mut r.readers;
    if stat_ok {
        a.statistical_correct += 1;
    }
    let entry = r.statistical_languages.entry(language).or_default();
    entry.1 += 1;
    if stat_ok {
        entry.0 += 1;
    }
    if readers.agree() {
        a.same_kind += 1;
        if stat_ok {
            a.same_kind_correct += 1;
        }
    } else {
        a.different_kind += 1;
        if accepts(rules_kind) {
            a.different_rules_correct += 1;
        }
        if stat_ok {
            a.different_statistical_correct += 1;
        }
    }
    *a.outcomes
        .entry(readers.outcome.as_str().to_owned())
        .or_default() += 1;
    if readers.outcome == Outcome::Promoted {
        if accepts(&got.kind) || label.review == Some(true) {
            a.promoted_right += 1;
        }
        if label.kind == "not_a_request" && label.review != Some(true) {
            a.promoted_business += 1;
        }
    }
    r.details.push(serde_json::json!({
        "corpus": r.corpus,
        "file": label.file,
        "label": label.kind,
        "also": label.also,
        "label_review": label.review,
        "language": label.language,
        "kind": got.kind,
        "review": got.review,
        "reply": got.reply,
        "rules": rules_kind,
        "rules_review": readers.rules_review,
        "statistical": statistical_kind,
        "probability": readers.probability,
        "review_probability": readers.review_probability,
        "outcome": readers.outcome.as_str(),
    }));
    let mut why = why;
    if !readers.agree() && !why.is_empty() {
        why.push(format!(
            "readers: rules {} / statistical {} {:.2}",
            rules_kind, statistical_kind, readers.probability
        ));
    }
    if !why.is_empty() {
        r.misses.push(format!("{}: {}", label.file, why.join(", ")));
    }
}

/// Evaluates one labelled corpus directory.
pub fn eval_corpus(dir: &Path, reader: &Reader) -> anyhow::Result<EvalReport> {
    let labels_path = dir.join("labels.jsonl");
    let labels = std::fs::read_to_string(&labels_path)
        .with_context(|| format!("reading {}", labels_path.display()))?;
    let mut r = EvalReport {
        corpus: dir.display().to_string(),
        ..EvalReport::default()
    };
    for (n, line) in labels.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let label: Label = serde_json::from_str(line)
            .with_context(|| format!("{}:{}", labels_path.display(), n + 1))?;
        match read_file(reader, &dir.join(&label.file), &label.file) {
            Ok((got, readers)) => score(&mut r, &label, &got, &readers),
            Err(e) => {
                r.total.messages += 1;
                r.total.errors += 1;
                r.misses.push(format!("{}: unreadable ({e})", label.file));
            }
        }
    }
    Ok(r)
}
