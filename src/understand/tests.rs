//! Unit tests of the reader on hand-written messages.

use super::*;

fn read(raw: &str) -> Reading {
    Reader::default().read(raw.as_bytes()).expect("readable")
}

#[test]
fn out_of_office_by_header_is_auto_reply() {
    let r = read("From: a@mail.kz\r\nSubject: Re: your letter\r\nAuto-Submitted: auto-replied\r\n\r\nI am away.\r\n");
    assert_eq!(r.understanding.kind, MailKind::AutoReply);
    assert!(!r.understanding.reply);
}

#[test]
fn out_of_office_by_subject_is_auto_reply() {
    let r = read(
        "From: a@mail.kz\r\nSubject: Автоответ: Нахожусь в отпуске\r\n\r\nВернусь 5 декабря.\r\n",
    );
    assert_eq!(r.understanding.kind, MailKind::AutoReply);
}

#[test]
fn delivery_status_report_is_bounce() {
    let raw = "From: MAILER-DAEMON@mx.mail.kz\r\nSubject: Undelivered Mail Returned to Sender\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.2.2\r\n--b--\r\n";
    let r = read(raw);
    assert_eq!(r.understanding.kind, MailKind::Bounce);
    assert!(!r.understanding.reply);
}

#[test]
fn empty_input_is_unreadable() {
    assert_eq!(
        Reader::default().read(b"  \r\n").unwrap_err(),
        Unreadable::Empty
    );
}

#[test]
fn envelope_collects_thread_ids() {
    let r = read("From: Aigerim <aigerim@mail.kz>\r\nMessage-ID: <m1@mail.kz>\r\nIn-Reply-To: <p2@nlg.kz>\r\nReferences: <p1@nlg.kz> <p2@nlg.kz>\r\nSubject: Отзыв согласия\r\n\r\nПрошу отозвать моё согласие.\r\n");
    assert_eq!(r.envelope.message_id.as_deref(), Some("m1@mail.kz"));
    assert_eq!(r.envelope.references, vec!["p1@nlg.kz", "p2@nlg.kz"]);
    assert_eq!(r.envelope.from.unwrap().as_str(), "aigerim@mail.kz");
    assert_eq!(
        r.understanding.kind,
        MailKind::Request(RequestKind::WithdrawConsent)
    );
    assert_eq!(r.understanding.language, Language::Ru);
}
