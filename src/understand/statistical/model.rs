//! The statistical reader's weights: a multinomial logistic regression over hashed features
//! (nine mail kinds) plus one logistic "staff should look" output, quantised to one signed byte
//! per weight, with the thresholds calibrated on the validation split.
//!
//! File format (little endian), version 1:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `DSRSTAT1` |
//! | 1 | `bits`: the model has `2^bits` feature buckets |
//! | 1 | outputs (10: the nine kinds of [`KINDS`], then review) |
//! | 2 | reserved, zero |
//! | 4 × 4 | thresholds `agree`, `agree_mild`, `promote`, `review` (f32) |
//! | 4 + n | metadata length and UTF-8 JSON (how it was trained, figures) |
//! | 4 × outputs × 2 | bias and scale per output (f32) |
//! | 2^bits × outputs | weights (i8), bucket-major |
//! | 32 | SHA-256 of everything before |
//!
//! A logit is `bias + scale × Σ weight / √(number of features)`.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::features::SIGN;
use crate::domain::{MailKind, RequestKind};

/// The classes of the kind output, in file order.
pub const KINDS: [MailKind; 9] = [
    MailKind::Request(RequestKind::WithdrawConsent),
    MailKind::Request(RequestKind::Access),
    MailKind::Request(RequestKind::Erasure),
    MailKind::Request(RequestKind::Restriction),
    MailKind::Request(RequestKind::Rectification),
    MailKind::Request(RequestKind::MarketingOptOut),
    MailKind::NotARequest,
    MailKind::AutoReply,
    MailKind::Bounce,
];
/// Kind outputs plus the review output.
pub const OUTPUTS: usize = KINDS.len() + 1;
/// Index of the review output.
pub const REVIEW: usize = KINDS.len();

const MAGIC: &[u8; 8] = b"DSRSTAT1";
const MIN_BITS: u8 = 8;
const MAX_BITS: u8 = 22;

/// The index of a kind in [`KINDS`].
pub fn class_of(kind: MailKind) -> usize {
    KINDS
        .iter()
        .position(|k| *k == kind)
        .expect("every kind is a class")
}

/// Probabilities below which the gate does not trust the statistical reader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Both readers name the same disclosing or destructive request kind (withdrawal, access,
    /// erasure, restriction): act automatically only at or above this.
    pub agree: f32,
    /// The same for the mild kinds (rectification, marketing opt-out).
    pub agree_mild: f32,
    /// The rule reader found no request: send to staff when the statistical reader names a
    /// request kind at or above this.
    pub promote: f32,
    /// The review output at or above this sends an agreed request to staff (1.0 or more: off).
    pub review: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("reading the statistical model {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the statistical model is not a model file (bad magic, or empty)")]
    NotAModel,
    #[error("the statistical model is corrupt: {0}")]
    Corrupt(String),
    #[error("the statistical model fails its checksum (truncated or altered file)")]
    Checksum,
}

/// What the statistical reader thinks of one message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub kind: MailKind,
    /// Probability of `kind`.
    pub probability: f32,
    /// Probability that staff should look first.
    pub review: f32,
    pub probabilities: [f32; KINDS.len()],
}

/// A loaded model.
#[derive(Clone)]
pub struct Model {
    bits: u8,
    thresholds: Thresholds,
    metadata: String,
    bias: [f32; OUTPUTS],
    scale: [f32; OUTPUTS],
    weights: Vec<i8>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("bits", &self.bits)
            .field("thresholds", &self.thresholds)
            .finish_non_exhaustive()
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| ModelError::Corrupt(format!("ends early (at byte {})", self.at)))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn f32(&mut self) -> Result<f32, ModelError> {
        let v = f32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes"));
        if v.is_finite() {
            Ok(v)
        } else {
            Err(ModelError::Corrupt(format!(
                "a number is not finite (byte {})",
                self.at - 4
            )))
        }
    }
}

impl Model {
    /// Parses a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        if bytes.len() < MAGIC.len() + 32 {
            return Err(ModelError::Corrupt("too short".into()));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body)[..] != *sum {
            return Err(ModelError::Checksum);
        }
        let mut c = Cursor {
            bytes: body,
            at: MAGIC.len(),
        };
        let bits = c.u8()?;
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(ModelError::Corrupt(format!(
                "{bits} feature bits (expected {MIN_BITS}..={MAX_BITS})"
            )));
        }
        let outputs = c.u8()? as usize;
        if outputs != OUTPUTS {
            return Err(ModelError::Corrupt(format!(
                "{outputs} outputs (this build reads {OUTPUTS})"
            )));
        }
        c.take(2)?;
        let thresholds = Thresholds {
            agree: c.f32()?,
            agree_mild: c.f32()?,
            promote: c.f32()?,
            review: c.f32()?,
        };
        let meta_len = c.u32()? as usize;
        let metadata = std::str::from_utf8(c.take(meta_len)?)
            .map_err(|_| ModelError::Corrupt("metadata is not UTF-8".into()))?
            .to_owned();
        let mut bias = [0f32; OUTPUTS];
        let mut scale = [0f32; OUTPUTS];
        for b in &mut bias {
            *b = c.f32()?;
        }
        for s in &mut scale {
            *s = c.f32()?;
        }
        let n = (1usize << bits) * OUTPUTS;
        let weights: Vec<i8> = c.take(n)?.iter().map(|b| *b as i8).collect();
        if c.at != body.len() {
            return Err(ModelError::Corrupt(format!(
                "{} bytes after the weights",
                body.len() - c.at
            )));
        }
        Ok(Self {
            bits,
            thresholds,
            metadata,
            bias,
            scale,
            weights,
        })
    }

    /// Reads a model file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Builds a model from float weights by quantising each output to one signed byte.
    pub fn quantise(
        bits: u8,
        weights: &[f32],
        bias: [f32; OUTPUTS],
        thresholds: Thresholds,
        metadata: String,
    ) -> Self {
        let buckets = 1usize << bits;
        assert_eq!(weights.len(), buckets * OUTPUTS, "weights shape");
        let mut scale = [0f32; OUTPUTS];
        for (k, s) in scale.iter_mut().enumerate() {
            let max = (0..buckets)
                .map(|b| weights[b * OUTPUTS + k].abs())
                .fold(0f32, f32::max);
            *s = if max > 0.0 { max / 127.0 } else { 1.0 };
        }
        let q = weights
            .iter()
            .enumerate()
            .map(|(i, w)| (w / scale[i % OUTPUTS]).round().clamp(-127.0, 127.0) as i8)
            .collect();
        Self {
            bits,
            thresholds,
            metadata,
            bias,
            scale,
            weights: q,
        }
    }

    /// The file bytes of this model.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.weights.len() + 512);
        out.extend_from_slice(MAGIC);
        out.push(self.bits);
        out.push(OUTPUTS as u8);
        out.extend_from_slice(&[0, 0]);
        for t in [
            self.thresholds.agree,
            self.thresholds.agree_mild,
            self.thresholds.promote,
            self.thresholds.review,
        ] {
            out.extend_from_slice(&t.to_le_bytes());
        }
        out.extend_from_slice(&(self.metadata.len() as u32).to_le_bytes());
        out.extend_from_slice(self.metadata.as_bytes());
        for v in self.bias.iter().chain(&self.scale) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend(self.weights.iter().map(|w| *w as u8));
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum);
        out
    }

    pub fn bits(&self) -> u8 {
        self.bits
    }

    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// How the model was trained (JSON written by `dsr-worker train`).
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    pub fn with_metadata(mut self, metadata: String) -> Self {
        self.metadata = metadata;
        self
    }

    /// Reads the features of one message.
    pub fn predict(&self, buckets: &[u32]) -> Prediction {
        let mut acc = [0i32; OUTPUTS];
        let mask = (1usize << self.bits) - 1;
        for &b in buckets {
            let at = (b as usize & mask) * OUTPUTS;
            let row: &[i8; OUTPUTS] = self.weights[at..at + OUTPUTS]
                .try_into()
                .expect("row of OUTPUTS");
            if b & SIGN == 0 {
                for (a, w) in acc.iter_mut().zip(row) {
                    *a += i32::from(*w);
                }
            } else {
                for (a, w) in acc.iter_mut().zip(row) {
                    *a -= i32::from(*w);
                }
            }
        }
        let norm = 1.0 / (buckets.len().max(1) as f32).sqrt();
        let mut logits = [0f32; OUTPUTS];
        for k in 0..OUTPUTS {
            logits[k] = self.bias[k] + self.scale[k] * acc[k] as f32 * norm;
        }
        finish(&logits)
    }
}

/// Softmax over the kind logits and a sigmoid for review.
pub fn finish(logits: &[f32; OUTPUTS]) -> Prediction {
    let kinds = &logits[..KINDS.len()];
    let max = kinds.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut probabilities = [0f32; KINDS.len()];
    let mut sum = 0f32;
    for (p, l) in probabilities.iter_mut().zip(kinds) {
        *p = (l - max).exp();
        sum += *p;
    }
    let mut best = 0;
    for i in 0..probabilities.len() {
        probabilities[i] /= sum;
        if probabilities[i] > probabilities[best] {
            best = i;
        }
    }
    Prediction {
        kind: KINDS[best],
        probability: probabilities[best],
        review: 1.0 / (1.0 + (-logits[REVIEW]).exp()),
        probabilities,
    }
}
