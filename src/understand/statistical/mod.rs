//! The second, statistical reader: what kind of mail a message is, learnt from labelled
//! examples rather than from phrase lists.
//!
//! It reads the same clean text as the rule reader (`text::body`: the sender's own words,
//! quoted and forwarded text apart, attachment names, the subject), normalised by
//! `normalise::cyr`, as hashed character 3–5-grams and words ([`features`]), and scores them
//! with a linear model ([`model`]) trained by `dsr-worker train` ([`train`]) on
//! `tests/corpus/train`. The weights ship in the binary (`models/statistical.bin`); a configured
//! file (`understand.model`) replaces them. The agreement gate (`super::agreement`) decides what
//! its opinion changes.

pub mod features;
pub mod model;
pub mod train;

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Arc, LazyLock};

pub use features::Input;
pub use model::{Model, ModelError, Prediction, Thresholds, KINDS};

use super::text::Body;

/// The model built into the binary.
static EMBEDDED_BYTES: &[u8] = include_bytes!("../../../models/statistical.bin");

static EMBEDDED: LazyLock<Arc<Model>> = LazyLock::new(|| {
    Arc::new(
        Model::from_bytes(EMBEDDED_BYTES)
            .unwrap_or_else(|e| panic!("the embedded models/statistical.bin: {e}")),
    )
});

thread_local! {
    static SCRATCH: RefCell<(features::Extractor, Vec<u32>)> =
        RefCell::new((features::Extractor::default(), Vec::with_capacity(8192)));
}

/// Reads messages with one model. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StatisticalReader {
    model: Arc<Model>,
}

impl Default for StatisticalReader {
    fn default() -> Self {
        Self::embedded()
    }
}

impl StatisticalReader {
    /// The reader with the model built into the binary.
    pub fn embedded() -> Self {
        Self {
            model: EMBEDDED.clone(),
        }
    }

    /// The reader with the model in `path`.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        Ok(Self::new(Model::load(path)?))
    }

    pub fn new(model: Model) -> Self {
        Self {
            model: Arc::new(model),
        }
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The statistical reading of one message's parts.
    pub fn read(&self, input: &Input<'_>) -> Prediction {
        SCRATCH.with(|s| {
            let (extractor, buckets) = &mut *s.borrow_mut();
            extractor.extract(input, self.model.bits(), buckets);
            self.model.predict(buckets)
        })
    }
}

/// The parts of a message the statistical reader reads.
pub fn input<'a>(subject: &'a str, body: &'a Body) -> Input<'a> {
    let mut context = Vec::with_capacity(1 + body.forwarded.len());
    if !body.quoted.is_empty() {
        context.push(body.quoted.as_str());
    }
    context.extend(body.forwarded.iter().map(|f| f.text.as_str()));
    Input {
        subject,
        own: &body.own,
        context,
        attachments: &body.attachments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_model_loads() {
        let r = StatisticalReader::embedded();
        let t = r.model().thresholds();
        assert!(t.agree > 0.0 && t.agree <= 1.0);
        assert!(t.promote > 0.0 && t.promote <= 1.0);
        assert!(r.model().bits() >= 12);
    }

    #[test]
    fn a_corrupt_model_file_gives_a_clear_error() {
        let good = StatisticalReader::embedded().model().to_bytes();
        let dir = tempfile::tempdir().unwrap();

        let mut flipped = good.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x55;
        let path = dir.path().join("flipped.bin");
        std::fs::write(&path, &flipped).unwrap();
        let e = StatisticalReader::load(&path).unwrap_err();
        assert!(matches!(e, ModelError::Checksum), "{e}");
        assert!(e.to_string().contains("checksum"));

        let path = dir.path().join("truncated.bin");
        std::fs::write(&path, &good[..good.len() / 3]).unwrap();
        assert!(matches!(
            StatisticalReader::load(&path).unwrap_err(),
            ModelError::Checksum
        ));

        let path = dir.path().join("text.bin");
        std::fs::write(&path, "weights = [1, 2, 3]\n").unwrap();
        let e = StatisticalReader::load(&path).unwrap_err();
        assert!(matches!(e, ModelError::NotAModel), "{e}");

        let e = StatisticalReader::load(&dir.path().join("missing.bin")).unwrap_err();
        assert!(e.to_string().contains("missing.bin"), "{e}");
    }

    #[test]
    fn a_model_survives_its_file_format() {
        let m = StatisticalReader::embedded().model().clone();
        let again = Model::from_bytes(&m.to_bytes()).unwrap();
        assert_eq!(again.to_bytes(), m.to_bytes());
        let input = Input {
            own: "Сотрите мою анкету из архива, пожалуйста",
            ..Input::default()
        };
        let a = StatisticalReader::new(m).read(&input);
        let b = StatisticalReader::new(again).read(&input);
        assert_eq!(a, b);
    }
}
