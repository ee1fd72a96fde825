//! The `classify` JSON line shape and the `eval` figures, through the library functions.

use std::path::{Path, PathBuf};

use dsr_worker::understand::cli::{classify_command, eval_command};
use dsr_worker::understand::Company;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn classify_prints_exactly_the_documented_fields() {
    let mut out = Vec::new();
    let file = fixtures().join("mail/ru_cp1251_erasure.eml");
    classify_command(
        std::slice::from_ref(&file),
        &Company::nlg_defaults(),
        &mut out,
    )
    .unwrap();
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
    classify_command(
        &[fixtures().join("mail")],
        &Company::nlg_defaults(),
        &mut out,
    )
    .unwrap();
    let count = std::fs::read_dir(fixtures().join("mail")).unwrap().count();
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), count);
}

#[test]
fn an_unreadable_file_gives_an_error_line_not_a_failure() {
    let mut out = Vec::new();
    let file = fixtures().join("not_mail.bin");
    classify_command(
        std::slice::from_ref(&file),
        &Company::nlg_defaults(),
        &mut out,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["file"], file.display().to_string());
    assert!(v["error"].is_string());
    // A path that does not exist is a usage error.
    assert!(classify_command(
        &[fixtures().join("missing.eml")],
        &Company::nlg_defaults(),
        &mut Vec::new()
    )
    .is_err());
}

#[test]
fn eval_compares_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "ru_cp1251_erasure.eml",
        "bounce_dsn.eml",
        "vendor_pitch.eml",
    ] {
        std::fs::copy(fixtures().join("mail").join(name), dir.path().join(name)).unwrap();
    }
    std::fs::write(
        dir.path().join("labels.jsonl"),
        concat!(
            r#"{"file":"ru_cp1251_erasure.eml","kind":"erasure","also":[],"review":false,"reply":true,"language":"ru","iin":["850113300010"],"bin":[],"phones":[]}"#, "\n",
            r#"{"file":"bounce_dsn.eml","kind":"bounce","also":[],"review":false,"reply":false,"language":"en","iin":[],"bin":[],"phones":[]}"#, "\n",
            r#"{"file":"vendor_pitch.eml","kind":"not_a_request","also":[],"review":true,"reply":false,"language":"en","iin":[],"bin":[],"phones":[]}"#, "\n",
        ),
    )
    .unwrap();
    let mut out = Vec::new();
    let r = eval_command(dir.path(), &Company::nlg_defaults(), &mut out).unwrap();
    assert_eq!(r.messages, 3);
    assert_eq!(r.kind_correct, 3);
    assert_eq!(r.unsafe_actions, 0);
    assert_eq!(r.loop_replies, 0);
    assert_eq!(
        (r.iin_true_positive, r.iin_predicted, r.iin_labelled),
        (1, 1, 1)
    );
    assert_eq!((r.review_expected, r.review_caught), (1, 0));
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("unsafe automatic actions: 0"));
    assert!(text.contains("confusion"));
}
