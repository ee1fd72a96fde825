//! The reader on hand-written messages under `tests/fixtures/mail/`, one rule each.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dsr_worker::domain::{Language, MailKind, RequestKind};
use dsr_worker::understand::{Company, Reader, Reading, Vocabulary};

use RequestKind::*;

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

// ---- rules of issue 9: the law's terms, other people, machine mail, identifiers ----

fn request(u: &dsr_worker::understand::Understanding) -> Option<RequestKind> {
    u.kind.request()
}

/// The rule reader would act on it without staff: the kind, no review, a reply. (Whether it
/// is acted on also needs the statistical reader to agree: that is the agreement gate's test.)
fn automatic(name: &str, kind: RequestKind) -> dsr_worker::understand::Understanding {
    let reading = read(name);
    let (u, rules) = (reading.understanding, reading.readers);
    assert_eq!(rules.rules.request(), Some(kind), "{name}: {:?}", u.reasons);
    assert_eq!(request(&u), Some(kind), "{name}: {:?}", u.reasons);
    assert!(!rules.rules_review, "{name}: {:?}", u.reasons);
    assert!(rules.rules_reply, "{name}");
    u
}

/// Sent to staff, with a reason.
fn reviewed(name: &str) -> dsr_worker::understand::Understanding {
    let u = read(name).understanding;
    assert!(
        u.kind.request().is_some(),
        "{name}: {:?} {:?}",
        u.kind,
        u.reasons
    );
    assert!(u.review, "{name}: {:?}", u.reasons);
    assert!(
        u.reasons.len() > 1,
        "{name}: a reason is given: {:?}",
        u.reasons
    );
    u
}

fn not_a_request(name: &str) {
    let u = read(name).understanding;
    assert_eq!(u.kind, MailKind::NotARequest, "{name}: {:?}", u.reasons);
    assert!(!u.reply, "{name}");
}

fn machine(name: &str, kind: MailKind) {
    let u = read(name).understanding;
    assert_eq!(u.kind, kind, "{name}: {:?}", u.reasons);
    assert!(!u.reply && !u.review, "{name}: never answered");
}

#[test]
fn the_laws_kazakh_term_for_access_is_a_request_in_both_scripts() {
    automatic("rule_kk_access_law_term.eml", Access);
    automatic("rule_kk_latin_access_law_term.eml", Access);
}

#[test]
fn a_parent_for_a_minor_goes_to_staff_and_only_the_parents_iin_is_the_senders() {
    let u = reviewed("rule_parent_for_minor_two_iins.eml");
    assert_eq!(request(&u), Some(Erasure));
    assert_eq!(
        strings(&u.iin),
        ["870214415008"],
        "the child's IIN is not the sender's"
    );
}

#[test]
fn a_husband_for_his_wife_goes_to_staff_and_her_iin_is_not_the_senders() {
    let u = reviewed("rule_husband_for_wife.eml");
    assert_eq!(request(&u), Some(WithdrawConsent));
    assert!(u.iin.is_empty(), "{:?}", u.iin);
}

#[test]
fn an_opt_out_for_a_former_employee_goes_to_staff() {
    reviewed("rule_former_employee_optout.eml");
}

#[test]
fn a_claimed_police_request_from_a_free_mailbox_goes_to_staff() {
    let u = reviewed("rule_police_free_mailbox.eml");
    assert!(
        u.reasons.iter().any(|r| r.contains("authority")),
        "{:?}",
        u.reasons
    );
    assert!(
        u.iin.is_empty(),
        "the third person's IIN is not the sender's"
    );
}

#[test]
fn an_export_to_another_address_goes_to_staff() {
    let u = reviewed("rule_export_to_other_address.eml");
    assert_eq!(request(&u), Some(Access));
}

#[test]
fn a_request_only_in_the_quoted_mail_goes_to_staff() {
    let u = reviewed("rule_quoted_deletion_invoice_copy.eml");
    assert_eq!(request(&u), Some(Erasure));
    assert!(
        u.reasons.iter().any(|r| r.contains("quoted")),
        "{:?}",
        u.reasons
    );
}

#[test]
fn a_request_only_in_an_attachment_goes_to_staff() {
    let u = reviewed("rule_attachment_only.eml");
    assert!(
        u.reasons.iter().any(|r| r.contains("attachment")),
        "{:?}",
        u.reasons
    );
}

#[test]
fn a_threat_without_a_demand_goes_to_staff() {
    reviewed("rule_threat_without_demand.eml");
}

#[test]
fn a_withdrawal_under_an_active_contract_goes_to_staff() {
    let u = reviewed("rule_withdraw_active_contract.eml");
    assert_eq!(request(&u), Some(WithdrawConsent));
    assert!(
        u.reasons.iter().any(|r| r.contains("8(2)")),
        "{:?}",
        u.reasons
    );
}

#[test]
fn a_request_forwarded_from_a_colleague_goes_to_staff() {
    let u = reviewed("rule_forwarded_from_colleague.eml");
    assert_eq!(request(&u), Some(Erasure));
}

#[test]
fn request_words_about_something_else_make_no_request() {
    // "remove me from your mailing list" said to a third party, the company only in copy.
    not_a_request("rule_replyall_third_party_organiser.eml");
    // A clinic asking how to build consent forms for its own patients.
    not_a_request("rule_consent_forms_for_patients.eml");
    // "түзетесіздер ме?" about a software fault.
    not_a_request("rule_kk_software_bug.eml");
}

#[test]
fn partial_stops_and_vague_questions_about_ones_data_are_requests() {
    automatic("rule_partial_stop_analytics_sharing.eml", Restriction);
    automatic("rule_cookies_only.eml", Restriction);
    automatic("rule_what_do_you_do_with_my_info.eml", Access);
}

#[test]
fn a_fresh_message_disputing_a_request_goes_to_staff() {
    let u = reviewed("rule_fresh_dispute.eml");
    assert!(
        u.reasons
            .iter()
            .any(|r| r.contains("not theirs") || r.contains("never made")),
        "{:?}",
        u.reasons
    );
}

#[test]
fn a_wrong_iin_to_replace_is_not_the_senders_and_goes_to_staff() {
    // "Replace it.": the imperative takes its object (the IIN) from the sentence before.
    let u = reviewed("rule_wrong_iin_replace_it.eml");
    assert_eq!(request(&u), Some(Rectification));
    assert_eq!(
        strings(&u.iin),
        ["950505359002"],
        "only the right one is the sender's"
    );
}

#[test]
fn a_withdrawal_in_free_word_order_is_read() {
    automatic("rule_free_word_order_withdrawal.eml", WithdrawConsent);
}

#[test]
fn read_receipts_ticket_acknowledgements_and_plain_bounces_are_never_answered() {
    machine("rule_mdn_report.eml", MailKind::AutoReply);
    machine("rule_mdn_plain_ru.eml", MailKind::AutoReply);
    machine("rule_ticket_ack_en.eml", MailKind::AutoReply);
    machine("rule_ticket_ack_ru.eml", MailKind::AutoReply);
    machine("rule_ticket_ack_kk.eml", MailKind::AutoReply);
    machine("rule_dsn_without_report.eml", MailKind::Bounce);
}

#[test]
fn a_persons_reply_to_our_acknowledgement_is_no_machine_mail() {
    let u = automatic("rule_person_replies_to_our_ack.eml", Erasure);
    assert_eq!(u.language, Language::Ru);
}

#[test]
fn the_senders_own_iin_is_found_however_written() {
    let u = automatic("rule_own_iin_forms.eml", Restriction);
    assert_eq!(strings(&u.iin), ["950505359002"]);
    let u = automatic("rule_own_iin_in_signature.eml", Erasure);
    assert_eq!(strings(&u.iin), ["950505359002"]);
}

#[test]
fn utf8_text_labelled_windows_1251_is_read() {
    let r = read("rule_utf8_labelled_cp1251.eml");
    assert!(r.text.contains("удалить"), "{}", r.text);
    assert_eq!(request(&r.understanding), Some(Erasure));
}

#[test]
fn staff_add_a_phrase_in_a_vocabulary_directory_without_a_rebuild() {
    let raw = std::fs::read(fixture("rule_vocabulary_override.eml")).unwrap();
    // The shipped vocabulary does not know the wording.
    let shipped = Reader::new(Company::nlg_defaults()).read(&raw).unwrap();
    assert_eq!(shipped.understanding.kind, MailKind::NotARequest);
    // A directory with the shipped ru.txt plus one line.
    let dir = tempfile::tempdir().unwrap();
    let ru = include_str!("../vocabulary/ru.txt");
    std::fs::write(
        dir.path().join("ru.txt"),
        format!("{ru}\n# added by staff\nerasure=3\tвычист * карточк\n"),
    )
    .unwrap();
    let vocabulary = Arc::new(Vocabulary::load(Some(dir.path())).expect("valid"));
    let reader = Reader::new(Company::nlg_defaults()).with_vocabulary(vocabulary);
    let u = reader.read(&raw).unwrap().understanding;
    assert_eq!(request(&u), Some(Erasure), "{:?}", u.reasons);
    // A bad line is refused with the file and the line.
    std::fs::write(dir.path().join("kk.txt"), "erasure=3\tжой~\nбұл жол қате\n").unwrap();
    let err = Vocabulary::load(Some(dir.path())).unwrap_err();
    assert!(err.file.ends_with("kk.txt"), "{err}");
    assert_eq!(err.line, 2, "{err}");
}
