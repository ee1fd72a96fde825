//! The reader on hand-written messages under `tests/fixtures/mail/`, one rule each.

use std::path::{Path, PathBuf};

use dsr_worker::domain::{Language, MailKind, RequestKind};
use dsr_worker::understand::{Company, Reader, Reading};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mail")
        .join(name)
}

fn read(name: &str) -> Reading {
    let raw = std::fs::read(fixture(name)).expect("fixture exists");
    Reader::new(Company::nlg_defaults())
        .read(&raw)
        .expect("readable")
}

fn strings<T: ToString>(v: &[T]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

#[test]
fn windows_1251_quoted_printable_erasure_with_identifiers() {
    let r = read("ru_cp1251_erasure.eml");
    let u = &r.understanding;
    assert_eq!(u.kind, MailKind::Request(RequestKind::Erasure));
    assert!(!u.review, "{:?}", u.reasons);
    assert!(u.reply);
    assert_eq!(u.language, Language::Ru);
    assert_eq!(strings(&u.iin), ["850113300010"]);
    // The phone in the text and the one in the signature are both the sender's.
    assert_eq!(strings(&u.phones), ["+77023184567", "+77029998877"]);
}

#[test]
fn negated_withdrawal_and_how_to_question_is_not_a_request() {
    let u = read("en_not_withdraw.eml").understanding;
    assert_eq!(u.kind, MailKind::NotARequest);
    assert!(!u.reply);
    assert_eq!(u.language, Language::En);
}

#[test]
fn kazakh_latin_blocking_without_deletion() {
    let u = read("kk_latin_restriction.eml").understanding;
    assert_eq!(u.kind, MailKind::Request(RequestKind::Restriction));
    assert!(!u.review, "{:?}", u.reasons);
    assert_eq!(u.language, Language::Kk);
    assert_eq!(strings(&u.iin), ["850113300010"]);
    assert_eq!(strings(&u.phones), ["+77471112233"]);
}

#[test]
fn html_reply_reads_only_the_new_words() {
    let r = read("html_reply_access.eml");
    let u = &r.understanding;
    assert_eq!(u.kind, MailKind::Request(RequestKind::Access));
    assert!(u.also.is_empty(), "{:?}", u.also);
    // The company's phone in the quoted newsletter is never the sender's.
    assert!(u.phones.is_empty());
    assert!(!r.text.contains("Unsubscribe"));
}

#[test]
fn representative_goes_to_review_and_client_iin_is_not_the_senders() {
    let u = read("lawyer_on_behalf.eml").understanding;
    assert_eq!(u.kind, MailKind::Request(RequestKind::Erasure));
    assert!(u.review);
    assert!(u.iin.is_empty());
}

#[test]
fn kazakh_out_of_office_by_subject_is_never_answered() {
    let u = read("ooo_kk_subject.eml").understanding;
    assert_eq!(u.kind, MailKind::AutoReply);
    assert!(!u.reply);
    assert!(u.phones.is_empty());
}

#[test]
fn delivery_status_report_is_a_bounce() {
    let u = read("bounce_dsn.eml").understanding;
    assert_eq!(u.kind, MailKind::Bounce);
    assert!(!u.reply);
}

#[test]
fn withdrawal_with_a_debt_goes_to_review() {
    let u = read("withdraw_unpaid.eml").understanding;
    assert_eq!(u.kind, MailKind::Request(RequestKind::WithdrawConsent));
    assert!(u.review);
}

#[test]
fn a_demand_without_object_goes_to_review() {
    let u = read("vague_stop.eml").understanding;
    assert!(u.review);
    assert!(u.kind.request().is_some());
}

#[test]
fn a_sales_pitch_full_of_request_words_is_not_a_request() {
    let u = read("vendor_pitch.eml").understanding;
    assert_eq!(u.kind, MailKind::NotARequest);
    assert!(!u.reply);
}

#[test]
fn russian_translit_opt_out() {
    let u = read("translit_optout.eml").understanding;
    assert_eq!(u.kind, MailKind::Request(RequestKind::MarketingOptOut));
    assert!(!u.review, "{:?}", u.reasons);
    assert_eq!(u.language, Language::Ru);
}

#[test]
fn koi8_r_access_with_a_checksum_failing_iin() {
    let u = read("koi8_access.eml").understanding;
    assert_eq!(u.kind, MailKind::Request(RequestKind::Access));
    assert!(u.iin.is_empty());
    assert_eq!(u.invalid_iin, ["850113300018"]);
}
