//! Training the statistical reader: `dsr-worker train`.
//!
//! Reads labelled corpora (`labels.jsonl` + `.eml`, the shared corpus format) through exactly
//! the parsing and feature code the reader uses at inference, fits a multinomial logistic
//! regression (nine kinds) and a logistic review output by AdaGrad stochastic gradient descent
//! with L2 regularisation, in a fixed order drawn from a seeded generator, so the same corpus and
//! options give the same bytes. The float weights are quantised to one byte each; the
//! thresholds are then calibrated on the validation split with the quantised model, i.e. with
//! the very numbers the gate will see.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::features::{Extractor, SIGN};
use super::model::{self, class_of, Model, Prediction, Thresholds, KINDS, OUTPUTS, REVIEW};
use super::{input, StatisticalReader};
use crate::domain::MailKind;
use crate::understand::agreement::Readers;
use crate::understand::eval::Label;
use crate::understand::{Company, Reader};

/// Training options (the defaults produce the shipped model).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// `2^bits` feature buckets.
    pub bits: u8,
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            bits: 16,
            epochs: 12,
            learning_rate: 0.4,
            l2: 3e-4,
            seed: 9,
        }
    }
}

/// What calibration weighs, on the validation split. Each threshold is the one (on a grid of
/// hundredths) that costs least; ties go to the lowest.
pub mod cost {
    /// A disclosing or destructive action carried out on the wrong kind or where staff should
    /// have looked (an "unsafe automatic action" of corpus/README.md).
    pub const UNSAFE: f64 = 20.0;
    /// A mild action (opt-out, correction) carried out on the wrong kind.
    pub const WRONG_MILD: f64 = 5.0;
    /// A clear request sent to staff for nothing.
    pub const NEEDLESS_REVIEW: f64 = 1.0;
    /// A request the rule reader missed and the gate leaves ignored.
    pub const IGNORED_REQUEST: f64 = 5.0;
    /// Mail that is not a request sent to staff as one.
    pub const FALSE_PROMOTION: f64 = 1.0;
}

/// One labelled message with its features.
#[derive(Debug, Clone)]
pub struct Example {
    pub file: String,
    pub path: PathBuf,
    pub kind: MailKind,
    pub also: Vec<MailKind>,
    pub review: Option<bool>,
    pub language: String,
    /// Buckets as extracted (with repeats, in order).
    pub buckets: Vec<u32>,
}

impl Example {
    /// Whether `kind` is an acceptable answer for this message.
    pub fn accepts(&self, kind: MailKind) -> bool {
        self.kind == kind || self.also.contains(&kind)
    }

    /// The review output's target: only requests (and anything labelled review) teach it.
    fn review_target(&self) -> Option<f32> {
        match self.review {
            Some(true) => Some(1.0),
            Some(false) if self.kind.request().is_some() => Some(0.0),
            _ => None,
        }
    }

    /// Distinct buckets with their value (± count / √n, the sign from the feature's top bit).
    fn sparse(&self, bits: u8) -> Vec<(u32, f32)> {
        let mask = (1u32 << bits) - 1;
        let mut b = self.buckets.clone();
        b.sort_unstable_by_key(|x| x & mask);
        let norm = 1.0 / (self.buckets.len().max(1) as f32).sqrt();
        let mut out: Vec<(u32, f32)> = Vec::with_capacity(b.len());
        for x in b {
            let v = if x & SIGN == 0 { norm } else { -norm };
            match out.last_mut() {
                Some((y, w)) if *y == x & mask => *w += v,
                _ => out.push((x & mask, v)),
            }
        }
        out.retain(|(_, v)| *v != 0.0);
        out
    }
}

/// Reads a labelled corpus directory into examples (features for a `2^bits` model).
pub fn read_corpus(dir: &Path, bits: u8) -> anyhow::Result<Vec<Example>> {
    let labels_path = dir.join("labels.jsonl");
    let text = std::fs::read_to_string(&labels_path)
        .with_context(|| format!("reading {}", labels_path.display()))?;
    let mut extractor = Extractor::default();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let label: Label = serde_json::from_str(line)
            .with_context(|| format!("{}:{}", labels_path.display(), n + 1))?;
        let kind: MailKind = label
            .kind
            .parse()
            .with_context(|| format!("{}:{}: kind", labels_path.display(), n + 1))?;
        let also = label
            .also
            .iter()
            .filter_map(|k| k.parse::<MailKind>().ok())
            .collect();
        let path = dir.join(&label.file);
        let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let path = path.clone();
        let Ok(parsed) = crate::understand::parse(&raw) else {
            // An unreadable message teaches nothing; the reader never sees one either.
            continue;
        };
        let mut buckets = Vec::new();
        extractor.extract(
            &input(&parsed.envelope.subject, &parsed.body),
            bits,
            &mut buckets,
        );
        out.push(Example {
            file: label.file,
            path,
            kind,
            also,
            review: label.review,
            language: label.language.unwrap_or_default(),
            buckets,
        });
    }
    Ok(out)
}

/// A deterministic generator (SplitMix64) for the training order.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Float weights (bucket-major, `OUTPUTS` per bucket) and biases.
pub struct Fitted {
    pub weights: Vec<f32>,
    pub bias: [f32; OUTPUTS],
}

/// Fits the model to `examples`.
pub fn fit(examples: &[Example], opts: &Options) -> Fitted {
    let buckets = 1usize << opts.bits;
    let mut w = vec![0f32; buckets * OUTPUTS];
    let mut g = vec![0f32; buckets * OUTPUTS];
    let mut bias = [0f32; OUTPUTS];
    let mut gb = [0f32; OUTPUTS];
    let sparse: Vec<Vec<(u32, f32)>> = examples.iter().map(|e| e.sparse(opts.bits)).collect();
    let targets: Vec<(usize, Option<f32>)> = examples
        .iter()
        .map(|e| (class_of(e.kind), e.review_target()))
        .collect();
    // Balanced class weights: every kind counts as much as every other, however many examples
    // of it the corpus holds (so "not a request" does not become the default answer).
    let mut counts = [0usize; KINDS.len()];
    for (class, _) in &targets {
        counts[*class] += 1;
    }
    let present = counts.iter().filter(|c| **c > 0).count().max(1);
    let class_weight: Vec<f32> = counts
        .iter()
        .map(|c| {
            if *c == 0 {
                0.0
            } else {
                examples.len() as f32 / (present * c) as f32
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = SplitMix(opts.seed);
    let (lr, l2) = (opts.learning_rate, opts.l2);
    let step = |w: &mut f32, g: &mut f32, grad: f32| {
        let grad = grad + l2 * *w;
        *g += grad * grad;
        *w -= lr * grad / (g.sqrt() + 1e-8);
    };
    for _ in 0..opts.epochs {
        rng.shuffle(&mut order);
        for &i in &order {
            let features = &sparse[i];
            let (class, review) = targets[i];
            let mut logits = bias;
            for &(f, v) in features {
                let row = &w[f as usize * OUTPUTS..f as usize * OUTPUTS + OUTPUTS];
                for (l, x) in logits.iter_mut().zip(row) {
                    *l += x * v;
                }
            }
            let p = model::finish(&logits);
            let mut grad = [0f32; OUTPUTS];
            let weight = class_weight[class];
            for (k, gk) in grad.iter_mut().take(KINDS.len()).enumerate() {
                *gk = weight * (p.probabilities[k] - if k == class { 1.0 } else { 0.0 });
            }
            let outputs = if let Some(y) = review {
                grad[REVIEW] = p.review - y;
                OUTPUTS
            } else {
                KINDS.len()
            };
            for &(f, v) in features {
                let at = f as usize * OUTPUTS;
                for k in 0..outputs {
                    step(&mut w[at + k], &mut g[at + k], grad[k] * v);
                }
            }
            for k in 0..outputs {
                step(&mut bias[k], &mut gb[k], grad[k]);
            }
        }
    }
    Fitted { weights: w, bias }
}

/// The statistical reader's predictions for `examples` with `model`.
pub fn predict_all(model: &Model, examples: &[Example]) -> Vec<Prediction> {
    examples.iter().map(|e| model.predict(&e.buckets)).collect()
}

/// The lowest promotion threshold calibration may choose: the statistical reader alone sends
/// the mail to staff, so it must be clearly sure.
pub const PROMOTE_FLOOR: f32 = 0.6;

/// The lowest review threshold calibration may choose: the review output sends clear-looking
/// requests to staff on its own, so it must be nearly sure (short plain requests score up to
/// about 0.6 on it).
pub const REVIEW_FLOOR: f32 = 0.9;

/// The grid threshold in `from..=0.99` of least cost (the lowest among equals).
fn cheapest(from: f32, cost: impl Fn(f32) -> f64) -> f32 {
    let mut best = (f64::INFINITY, 0.99f32);
    for t in ((from * 100.0).round() as u32..=99).map(|t| t as f32 / 100.0) {
        let c = cost(t);
        if c < best.0 {
            best = (c, t);
        }
    }
    best.1
}

/// The cost of letting `set` through on agreement at threshold `t`.
fn agreement_cost(set: &[(&Example, &Readers)], wrong: f64, t: f32) -> f64 {
    set.iter()
        .map(|(e, r)| {
            if r.probability >= t {
                if !e.accepts(r.rules) || e.review == Some(true) {
                    wrong
                } else {
                    0.0
                }
            } else if e.review == Some(false) {
                cost::NEEDLESS_REVIEW
            } else {
                0.0
            }
        })
        .sum()
}

/// Thresholds calibrated on the validation split from what both readers said, by the costs of
/// [`cost`]. The agreement and promotion thresholds depend on the rule reader too: retrain
/// when it changes.
pub fn calibrate(examples: &[Example], readers: &[Readers]) -> Thresholds {
    let pairs: Vec<(&Example, &Readers)> = examples.iter().zip(readers).collect();
    // Messages the gate would let through on agreement: both readers name the same request kind
    // and the rule reader sees no reason for staff.
    let agreed = |sensitive: bool| {
        pairs
            .iter()
            .filter(move |(_, r)| {
                r.agree()
                    && !r.rules_review
                    && r.rules
                        .request()
                        .is_some_and(|k| k.is_sensitive() == sensitive)
            })
            .copied()
            .collect::<Vec<_>>()
    };
    let sensitive = agreed(true);
    let mild = agreed(false);
    let agree = cheapest(0.2, |t| agreement_cost(&sensitive, cost::UNSAFE, t));
    let agree_mild = cheapest(0.2, |t| agreement_cost(&mild, cost::WRONG_MILD, t));
    let promote = cheapest(PROMOTE_FLOOR, |t| {
        pairs
            .iter()
            .filter(|(_, r)| r.promotable)
            .map(|(e, r)| {
                let promoted = r.statistical.request().is_some() && r.probability >= t;
                let wanted = e.kind.request().is_some() || e.review == Some(true);
                match (promoted, wanted) {
                    (true, false) => cost::FALSE_PROMOTION,
                    (false, true) => cost::IGNORED_REQUEST,
                    _ => 0.0,
                }
            })
            .sum()
    });
    // The review output only matters where the gate would otherwise act: it costs a needless
    // review on each clear request it flags and saves an unsafe action on each case for staff.
    let review = {
        let would_act: Vec<_> = pairs
            .iter()
            .filter(|(_, r)| {
                r.agree()
                    && !r.rules_review
                    && r.rules.request().is_some_and(|k| {
                        r.probability >= if k.is_sensitive() { agree } else { agree_mild }
                    })
            })
            .collect();
        // From "off" downwards: the output is switched on only where it strictly pays.
        let mut best = (f64::INFINITY, 1.01f32);
        let from = (REVIEW_FLOOR * 100.0).round() as u32;
        for t in (from..=101).rev().map(|t| t as f32 / 100.0) {
            let c: f64 = would_act
                .iter()
                .map(|(e, r)| {
                    let flagged = r.review_probability >= t;
                    let wanted = e.review == Some(true) || !e.accepts(r.rules);
                    match (flagged, wanted) {
                        (true, false) if e.review == Some(false) => cost::NEEDLESS_REVIEW,
                        (false, true) if r.rules.request().is_some_and(|k| k.is_sensitive()) => {
                            cost::UNSAFE
                        }
                        (false, true) => cost::WRONG_MILD,
                        _ => 0.0,
                    }
                })
                .sum();
            if c < best.0 {
                best = (c, t);
            }
        }
        best.1
    };
    Thresholds {
        agree,
        agree_mild,
        promote,
        review,
    }
}

/// What both readers say of each example, the statistical one with `model`.
fn read_pairs(model: &Model, examples: &[Example]) -> anyhow::Result<Vec<Readers>> {
    let reader = Reader::new(Company::nlg_defaults())
        .with_statistical(StatisticalReader::new(model.clone()));
    examples
        .iter()
        .map(|e| {
            let raw =
                std::fs::read(&e.path).with_context(|| format!("reading {}", e.path.display()))?;
            reader
                .read(&raw)
                .map(|r| r.readers)
                .with_context(|| format!("reading {}", e.path.display()))
        })
        .collect()
}

/// Kind accuracy of the statistical reader alone, per language and overall.
pub fn accuracy(
    examples: &[Example],
    predictions: &[Prediction],
) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (e, p) in examples.iter().zip(predictions) {
        for key in [e.language.clone(), "all".to_owned()] {
            let entry = out.entry(key).or_default();
            entry.1 += 1;
            if e.accepts(p.kind) {
                entry.0 += 1;
            }
        }
    }
    out
}

fn shown(path: &Path) -> String {
    // Relative paths as given; absolute ones by their last two components (no machine paths
    // in the model file).
    if path.is_relative() {
        return path.display().to_string();
    }
    let parts: Vec<_> = path.components().rev().take(2).collect();
    parts
        .iter()
        .rev()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn read_all(dirs: &[PathBuf], bits: u8) -> anyhow::Result<Vec<Example>> {
    let mut out = Vec::new();
    for d in dirs {
        out.extend(read_corpus(d, bits)?);
    }
    Ok(out)
}

fn write_accuracy(
    out: &mut impl Write,
    name: &str,
    acc: &BTreeMap<String, (usize, usize)>,
) -> std::io::Result<()> {
    write!(out, "{name:<11}")?;
    for (lang, (right, total)) in acc {
        write!(
            out,
            "  {lang} {:.1}% ({right}/{total})",
            100.0 * *right as f64 / (*total).max(1) as f64
        )?;
    }
    writeln!(out)
}

/// `dsr-worker train`: fits on `train`, calibrates on `validation`, returns the model.
pub fn train(
    train: &[PathBuf],
    validation: &[PathBuf],
    opts: &Options,
    out: &mut impl Write,
) -> anyhow::Result<Model> {
    if train.is_empty() || validation.is_empty() {
        anyhow::bail!("training needs at least one training and one validation corpus");
    }
    let train_set = read_all(train, opts.bits)?;
    let validation_set = read_all(validation, opts.bits)?;
    if train_set.is_empty() {
        anyhow::bail!("the training corpus holds no readable labelled message");
    }
    let fitted = fit(&train_set, opts);
    let draft = Model::quantise(
        opts.bits,
        &fitted.weights,
        fitted.bias,
        Thresholds {
            agree: 0.99,
            agree_mild: 0.99,
            promote: 0.99,
            review: 1.01,
        },
        String::new(),
    );
    let validation_predictions = predict_all(&draft, &validation_set);
    let validation_readers = read_pairs(&draft, &validation_set)?;
    let thresholds = calibrate(&validation_set, &validation_readers);
    let train_acc = accuracy(&train_set, &predict_all(&draft, &train_set));
    let validation_acc = accuracy(&validation_set, &validation_predictions);
    let figure = |acc: &BTreeMap<String, (usize, usize)>| {
        acc.get("all")
            .map(|(r, t)| (*r as f64 / (*t).max(1) as f64 * 1000.0).round() / 1000.0)
            .unwrap_or(0.0)
    };
    let metadata = serde_json::json!({
        "trained_on": train.iter().map(|p| shown(p)).collect::<Vec<_>>(),
        "calibrated_on": validation.iter().map(|p| shown(p)).collect::<Vec<_>>(),
        "train_messages": train_set.len(),
        "validation_messages": validation_set.len(),
        "bits": opts.bits,
        "epochs": opts.epochs,
        "learning_rate": opts.learning_rate,
        "l2": opts.l2,
        "seed": opts.seed,
        "train_kind_accuracy": figure(&train_acc),
        "validation_kind_accuracy": figure(&validation_acc),
    })
    .to_string();
    let model = draft.with_thresholds(thresholds).with_metadata(metadata);
    writeln!(
        out,
        "trained on {} messages, calibrated on {} ({} feature buckets, {} epochs)",
        train_set.len(),
        validation_set.len(),
        1usize << opts.bits,
        opts.epochs
    )?;
    writeln!(out, "statistical reader alone, kind accuracy:")?;
    write_accuracy(out, "train", &train_acc)?;
    write_accuracy(out, "validation", &validation_acc)?;
    writeln!(
        out,
        "thresholds: agree {:.2}, agree_mild {:.2}, promote {:.2}, review {:.2}",
        thresholds.agree, thresholds.agree_mild, thresholds.promote, thresholds.review
    )?;
    write_curves(out, &validation_set, &validation_readers)?;
    Ok(model)
}

/// One JSON line per validation message: what the statistical reader said (for study).
pub fn predictions_jsonl(model: &Model, validation: &[PathBuf]) -> anyhow::Result<String> {
    let examples = read_all(validation, model.bits())?;
    let mut out = String::new();
    for (e, p) in examples.iter().zip(predict_all(model, &examples)) {
        out.push_str(
            &serde_json::json!({
                "file": e.file,
                "label": e.kind.as_str(),
                "kind": p.kind.as_str(),
                "probability": (p.probability * 1000.0).round() / 1000.0,
                "review": (p.review * 1000.0).round() / 1000.0,
                "right": e.accepts(p.kind),
            })
            .to_string(),
        );
        out.push('\n');
    }
    Ok(out)
}

/// How the calibration targets move with the threshold on validation (for the README).
fn write_curves(
    out: &mut impl Write,
    examples: &[Example],
    readers: &[Readers],
) -> std::io::Result<()> {
    writeln!(
        out,
        "validation, both readers on the same sensitive kind: threshold → kind right / clear requests passing"
    )?;
    let clear = examples
        .iter()
        .filter(|e| e.review == Some(false) && e.kind.request().is_some())
        .count();
    for t in [0.2f32, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] {
        let mut chosen = 0;
        let mut right = 0;
        let mut passing = 0;
        for (e, r) in examples.iter().zip(readers) {
            let sensitive = r.rules.request().is_some_and(|k| k.is_sensitive());
            if r.agree() && sensitive && r.probability >= t {
                chosen += 1;
                if e.accepts(r.rules) {
                    right += 1;
                }
            }
            if r.agree()
                && r.rules.request().is_some()
                && r.probability >= t
                && e.review == Some(false)
                && e.kind.request().is_some()
            {
                passing += 1;
            }
        }
        writeln!(
            out,
            "  {t:.2}: {} / {}",
            pct_of(right, chosen),
            pct_of(passing, clear)
        )?;
    }
    Ok(())
}

fn pct_of(n: usize, d: usize) -> String {
    if d == 0 {
        "n/a".to_owned()
    } else {
        format!("{:.1}% ({n}/{d})", 100.0 * n as f64 / d as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_corpus(dir: &Path, messages: &[(&str, &str, &str)]) {
        let mut labels = String::new();
        for (i, (kind, subject, body)) in messages.iter().enumerate() {
            let file = format!("{i:03}.eml");
            std::fs::write(
                dir.join(&file),
                format!(
                    "From: sender{i}@mail.kz\r\nTo: info@nlg.kz\r\nSubject: {subject}\r\n\
                     Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
                ),
            )
            .unwrap();
            labels.push_str(&format!(
                "{{\"file\":\"{file}\",\"kind\":\"{kind}\",\"also\":[],\"review\":false,\
                 \"reply\":true,\"language\":\"ru\",\"iin\":[],\"bin\":[],\"phones\":[]}}\n"
            ));
        }
        std::fs::write(dir.join("labels.jsonl"), labels).unwrap();
    }

    fn small_corpus(dir: &Path) {
        write_corpus(
            dir,
            &[
                ("erasure", "Анкета", "Сотрите мою старую анкету."),
                ("erasure", "Архив", "Уберите мою анкету из архива."),
                ("erasure", "Old form", "Erase my old form from the archive."),
                ("access", "Анкета", "Покажите, что записано в моей анкете."),
                ("access", "Old form", "Show me what my old form says."),
                ("access", "Архив", "Что хранится в архиве по моей анкете?"),
                ("not_a_request", "Бумага", "Пришлите прайс на бумагу."),
                ("not_a_request", "Paper", "Send the price list for paper."),
                (
                    "not_a_request",
                    "Принтер",
                    "Картридж для принтера закончился.",
                ),
            ],
        );
    }

    #[test]
    fn training_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        small_corpus(dir.path());
        let opts = Options {
            bits: 12,
            epochs: 5,
            ..Options::default()
        };
        let dirs = [dir.path().to_path_buf()];
        let a = train(&dirs, &dirs, &opts, &mut Vec::new()).unwrap();
        let b = train(&dirs, &dirs, &opts, &mut Vec::new()).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        let other_seed = Options { seed: 10, ..opts };
        let c = train(&dirs, &dirs, &other_seed, &mut Vec::new()).unwrap();
        assert_ne!(a.to_bytes(), c.to_bytes(), "the seed orders the examples");
    }

    #[test]
    fn a_trained_model_learns_its_corpus() {
        let dir = tempfile::tempdir().unwrap();
        small_corpus(dir.path());
        let opts = Options {
            bits: 12,
            epochs: 30,
            ..Options::default()
        };
        let dirs = [dir.path().to_path_buf()];
        let mut report = Vec::new();
        let model = train(&dirs, &dirs, &opts, &mut report).unwrap();
        let examples = read_corpus(dir.path(), opts.bits).unwrap();
        let predictions = predict_all(&model, &examples);
        for (e, p) in examples.iter().zip(&predictions) {
            assert_eq!(p.kind, e.kind, "{}", e.file);
        }
        let report = String::from_utf8(report).unwrap();
        assert!(report.contains("validation"), "{report}");
        assert!(model.metadata().contains("\"train_messages\":9"));
    }

    #[test]
    fn a_missing_corpus_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nowhere");
        let e = train(
            std::slice::from_ref(&missing),
            std::slice::from_ref(&missing),
            &Options::default(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("labels.jsonl"), "{e:#}");
    }
}
