//! The `classify` JSON line shape and the `eval` figures, through the library functions.

use std::path::{Path, PathBuf};

use dsr_worker::cli::understand::{classify_command, eval_command, train_command};
use dsr_worker::understand::statistical::train::Options;
use dsr_worker::understand::{Company, Reader, StatisticalReader};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn reader() -> Reader {
    Reader::new(Company::nlg_defaults())
}

#[test]
fn classify_prints_exactly_the_documented_fields() {
    let mut out = Vec::new();
    let file = fixtures().join("mail/ru_cp1251_erasure.eml");
    classify_command(std::slice::from_ref(&file), &reader(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "bin",
            "file",
            "iin",
            "invalid_iin",
            "kind",
            "language",
            "phones",
            "reasons",
            "reply",
            "review"
        ]
    );
    assert_eq!(v["file"], file.display().to_string());
    assert_eq!(v["kind"], "erasure");
    assert!(v["review"].is_boolean() && v["reply"].is_boolean());
}

#[test]
fn a_directory_gives_one_line_per_message() {
    let mut out = Vec::new();
    classify_command(&[fixtures().join("mail")], &reader(), &mut out).unwrap();
    let count = std::fs::read_dir(fixtures().join("mail")).unwrap().count();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), count);
}

#[test]
fn an_unreadable_file_gives_an_error_line_not_a_failure() {
    let mut out = Vec::new();
    let file = fixtures().join("not_mail.bin");
    classify_command(std::slice::from_ref(&file), &reader(), &mut out).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["file"], file.display().to_string());
    assert!(v["error"].is_string());
    // A path that does not exist is a usage error.
    assert!(classify_command(
        &[fixtures().join("missing.eml")],
        &reader(),
        &mut Vec::new()
    )
    .is_err());
}

/// Copies fixture messages into a corpus directory with the given label lines.
fn corpus(dir: &Path, files: &[&str], labels: &[&str]) {
    for name in files {
        std::fs::copy(fixtures().join("mail").join(name), dir.join(name)).unwrap();
    }
    std::fs::write(dir.join("labels.jsonl"), labels.join("\n") + "\n").unwrap();
}

const ERASURE: &str = r#"{"file":"ru_cp1251_erasure.eml","kind":"erasure","also":[],"review":false,"reply":true,"language":"ru","iin":["850113300010"],"bin":[],"phones":[]}"#;
const BOUNCE: &str = r#"{"file":"bounce_dsn.eml","kind":"bounce","also":[],"review":false,"reply":false,"language":"en","iin":[],"bin":[],"phones":[]}"#;
const PITCH: &str = r#"{"file":"vendor_pitch.eml","kind":"not_a_request","also":[],"review":true,"reply":false,"language":"en","iin":[],"bin":[],"phones":[]}"#;
const LAWYER: &str = r#"{"file":"lawyer_on_behalf.eml","kind":"erasure","also":[],"review":true,"reply":true,"language":"en","iin":[],"bin":[],"phones":[]}"#;

#[test]
fn eval_compares_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    corpus(
        dir.path(),
        &[
            "ru_cp1251_erasure.eml",
            "bounce_dsn.eml",
            "vendor_pitch.eml",
        ],
        &[ERASURE, BOUNCE, PITCH],
    );
    let mut out = Vec::new();
    let reports = eval_command(&[dir.path().to_path_buf()], &reader(), &mut out).unwrap();
    assert_eq!(reports.len(), 1);
    let r = &reports[0].total;
    assert_eq!(r.messages, 3);
    assert_eq!(r.kind_correct, 3);
    assert_eq!(r.unsafe_actions, 0);
    assert_eq!(r.loop_replies, 0);
    assert_eq!(
        (r.iin_true_positive, r.iin_predicted, r.iin_labelled),
        (1, 1, 1)
    );
    // The pitch is labelled review but is no request: neither reader sends it to staff.
    assert_eq!((r.review_expected, r.review_caught), (1, 0));
    assert_eq!(reports[0].misses.len(), 1, "{:?}", reports[0].misses);
    assert!(reports[0].misses[0].starts_with("vendor_pitch.eml: review missed"));
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("unsafe automatic actions: 0"));
    assert!(text.contains("confusion"));
}

#[test]
fn eval_reports_each_corpus_per_language_and_both_readers() {
    let ru = tempfile::tempdir().unwrap();
    corpus(ru.path(), &["ru_cp1251_erasure.eml"], &[ERASURE]);
    let en = tempfile::tempdir().unwrap();
    corpus(
        en.path(),
        &["bounce_dsn.eml", "lawyer_on_behalf.eml"],
        &[BOUNCE, LAWYER],
    );
    let mut out = Vec::new();
    let reports = eval_command(
        &[ru.path().to_path_buf(), en.path().to_path_buf()],
        &reader(),
        &mut out,
    )
    .unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].total.messages, 1);
    assert_eq!(reports[1].total.messages, 2);
    // Per language: the English corpus holds two English messages and nothing else.
    assert_eq!(reports[1].languages.len(), 1);
    assert_eq!(reports[1].languages["en"].messages, 2);
    assert_eq!(reports[1].statistical_languages["en"].1, 2);
    // The bounce is machine mail for both readers and is never answered.
    assert_eq!(reports[1].total.loop_replies, 0);
    assert_eq!(reports[1].readers.outcomes["machine"], 1);
    // Every message is counted once in the agreement figures.
    for r in &reports {
        let a = &r.readers;
        assert_eq!(a.same_kind + a.different_kind, r.total.messages);
        assert_eq!(a.outcomes.values().sum::<usize>(), r.total.messages);
        assert_eq!(r.rules.messages, r.total.messages);
    }
    // The representative's erasure goes to staff.
    assert_eq!(reports[1].total.review_caught, 1);
    assert_eq!(reports[1].total.unsafe_actions, 0);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("unsafe automatic actions:").count(), 2);
    assert!(text.contains(&format!("== {} ==", ru.path().display())));
    assert!(text.contains(&format!("== {} ==", en.path().display())));
    assert!(text.contains("per language"));
    assert!(text.contains("same kind from both:"));
    assert!(text.contains("rules alone"));
    assert!(text.contains("statistical alone"));
}

#[test]
fn eval_of_a_directory_without_labels_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = eval_command(&[dir.path().to_path_buf()], &reader(), &mut Vec::new()).unwrap_err();
    assert!(format!("{e:#}").contains("labels.jsonl"));
    assert!(eval_command(&[], &reader(), &mut Vec::new()).is_err());
}

#[test]
fn a_trained_model_file_can_replace_the_built_in_one() {
    let dir = tempfile::tempdir().unwrap();
    corpus(
        dir.path(),
        &[
            "ru_cp1251_erasure.eml",
            "bounce_dsn.eml",
            "vendor_pitch.eml",
            "lawyer_on_behalf.eml",
        ],
        &[ERASURE, BOUNCE, PITCH, LAWYER],
    );
    let model = dir.path().join("model.bin");
    let corpora = [dir.path().to_path_buf()];
    let opts = Options {
        bits: 12,
        epochs: 20,
        ..Options::default()
    };
    let mut out = Vec::new();
    train_command(&corpora, &corpora, &model, None, &opts, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("thresholds:"), "{text}");
    let statistical = StatisticalReader::load(&model).unwrap();
    assert_eq!(statistical.model().bits(), 12);
    let reader = Reader::new(Company::nlg_defaults()).with_statistical(statistical);
    let reports = eval_command(&corpora, &reader, &mut Vec::new()).unwrap();
    // Trained on these very messages, the statistical reader knows them all.
    assert_eq!(reports[0].readers.statistical_correct, 4);
}
