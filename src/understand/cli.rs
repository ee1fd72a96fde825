//! `dsr-worker classify` and `dsr-worker eval` as library functions (main.rs wires the CLI).
//!
//! `classify` prints one JSON object per message with exactly the fields of
//! `corpus/README.md`; `eval` compares that output with a corpus' `labels.jsonl` and prints the
//! figures that matter (unsafe automatic actions, kind accuracy, review recall, loop safety,
//! IIN precision/recall, automation) and a confusion matrix.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{Company, Reader, Understanding};
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

/// Classifies one file into its JSON line (or an `{"file", "error"}` line).
pub fn classify_file(reader: &Reader, path: &Path, shown: &str) -> serde_json::Value {
    let result = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|raw| reader.read(&raw).map_err(|e| e.to_string()));
    match result {
        Ok(reading) => {
            serde_json::to_value(ClassifyLine::new(shown.to_owned(), &reading.understanding))
                .expect("serialisable")
        }
        Err(error) => serde_json::json!({ "file": shown, "error": error }),
    }
}

/// `dsr-worker classify --json PATH...`: one JSON object per message, one per line. Unreadable
/// files give an `error` line; only a usage error (a path that does not exist) fails.
pub fn classify_command(
    paths: &[PathBuf],
    company: &Company,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if paths.is_empty() {
        anyhow::bail!("classify needs at least one file or directory");
    }
    for p in paths {
        if !p.exists() {
            anyhow::bail!("no such file or directory: {}", p.display());
        }
    }
    let reader = Reader::new(company.clone());
    for path in collect_files(paths)? {
        let shown = path.display().to_string();
        let line = classify_file(&reader, &path, &shown);
        writeln!(out, "{line}")?;
    }
    Ok(())
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

/// The figures of one evaluation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
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
    /// (label kind, predicted kind) → count.
    pub confusion: BTreeMap<(String, String), usize>,
    /// Files that missed, with why, for study.
    pub misses: Vec<String>,
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "n/a".to_owned()
    } else {
        format!("{:.1}% ({n}/{d})", 100.0 * n as f64 / d as f64)
    }
}

impl EvalReport {
    pub fn kind_accuracy(&self) -> f64 {
        self.kind_correct as f64 / self.messages.max(1) as f64
    }

    pub fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
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

/// `dsr-worker eval DIR`: classify every labelled message of `DIR` and compare.
pub fn eval_command(
    dir: &Path,
    company: &Company,
    out: &mut impl Write,
) -> anyhow::Result<EvalReport> {
    let labels_path = dir.join("labels.jsonl");
    let labels = std::fs::read_to_string(&labels_path)
        .with_context(|| format!("reading {}", labels_path.display()))?;
    let reader = Reader::new(company.clone());
    let mut r = EvalReport::default();
    for (n, line) in labels.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let label: Label = serde_json::from_str(line)
            .with_context(|| format!("{}:{}", labels_path.display(), n + 1))?;
        r.messages += 1;
        let value = classify_file(&reader, &dir.join(&label.file), &label.file);
        let Ok(got) = serde_json::from_value::<ClassifyLine>(value) else {
            r.errors += 1;
            r.misses.push(format!("{}: unreadable", label.file));
            continue;
        };
        score(&mut r, &label, &got);
    }
    r.write(out)?;
    Ok(r)
}

fn score(r: &mut EvalReport, label: &Label, got: &ClassifyLine) {
    let mut why = Vec::new();
    *r.confusion
        .entry((label.kind.clone(), got.kind.clone()))
        .or_default() += 1;
    let kind_ok = got.kind == label.kind || label.also.contains(&got.kind);
    if kind_ok {
        r.kind_correct += 1;
    } else {
        why.push(format!("kind {} (label {})", got.kind, label.kind));
    }
    let sensitive = |k: &str| {
        k.parse::<MailKind>()
            .ok()
            .and_then(MailKind::request)
            .is_some_and(|k| k.is_sensitive())
    };
    if !got.review && sensitive(&got.kind) && (label.review == Some(true) || !kind_ok) {
        r.unsafe_actions += 1;
        why.push("UNSAFE automatic action".to_owned());
    }
    if label.review == Some(true) {
        r.review_expected += 1;
        if got.review {
            r.review_caught += 1;
        } else {
            why.push("review missed".to_owned());
        }
    }
    if label.review == Some(false) {
        r.clear_total += 1;
        if !got.review {
            r.clear_automated += 1;
        } else {
            why.push(format!("needless review: {}", got.reasons.join("; ")));
        }
    }
    if matches!(label.kind.as_str(), "auto_reply" | "bounce") {
        r.automatic_total += 1;
        if got.reply {
            r.loop_replies += 1;
            why.push("REPLY to automatic mail".to_owned());
        }
    }
    let labelled: BTreeSet<&String> = label.iin.iter().collect();
    let predicted: BTreeSet<&String> = got.iin.iter().collect();
    r.iin_labelled += labelled.len();
    r.iin_predicted += predicted.len();
    r.iin_true_positive += labelled.intersection(&predicted).count();
    if labelled != predicted {
        why.push(format!("iin {:?} (label {:?})", got.iin, label.iin));
    }
    if label.language.as_deref() == Some(got.language.as_str()) {
        r.language_correct += 1;
    } else if let Some(l) = &label.language {
        why.push(format!("language {} (label {l})", got.language));
    }
    if !why.is_empty() {
        r.misses.push(format!("{}: {}", label.file, why.join(", ")));
    }
}
