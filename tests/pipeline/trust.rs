//! Only our own MX's verdict proves a sender: black-box tests on the real services with the
//! stores of [`crate::stores::StoreLab`]. Mail goes in as our MX would deliver it (or as an
//! attacker would craft it) and the stores' rows and the replies come out.

use sqlx::Row;

use crate::helpers::*;
use crate::stores::*;

/// Our MX's verdict counts only directly above its own `Received:` header, and for an erasure
/// only an aligned DKIM pass is proof: a forged verdict below an outside server's `Received:`,
/// an SPF-only pass, or mail that never passed our MX all get the confirmation round trip;
/// an aligned DKIM pass above our `Received:` is carried out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_aligned_dkim_pass_above_our_received_skips_the_round_trip() {
    let lab = StoreLab::new().await;
    let forged = Person::new("forged-ar", 21);
    let spf_only = Person::new("spf-only", 22);
    let around = Person::new("around-mx", 23);
    let signed = Person::new("dkim-signed", 24);
    for p in [&forged, &spf_only, &around, &signed] {
        lab.seed(p, false).await;
    }
    let d = deployment(&lab, 3306, vec![]).await;
    let worker = d.start_worker();
    let (subject, body) = (
        "Удаление персональных данных",
        "Прошу удалить все мои персональные данные из ваших систем.",
    );

    // Forged before it reached us: a trusted-looking pass below an outside relay's Received
    // (and so below ours; our MX added no verdict of its own, so the forged one is the
    // topmost `Authentication-Results` of the message).
    let mut raw = format!(
        "{}Received: from attacker.example (attacker.example [198.51.100.7])\r\n\tby relay.outside.example with ESMTP id 77; Tue, 24 Nov 2026 09:59:00 +0500\r\n\
         Authentication-Results: {TRUSTED}; dkim=pass header.d=subjects.test header.s=s1\r\n",
        received_by(RECEIVING)
    )
    .into_bytes();
    raw.extend(message(&forged.email, "info@nlg.kz", subject, body));
    d.deliver(&raw).await;
    // The envelope sender's path passed SPF, and DMARC passed on it: no DKIM signature.
    d.deliver(&arrived(
        &[&format!(
            "Authentication-Results: {TRUSTED}; spf=pass smtp.mailfrom={}; dkim=none; dmarc=pass header.from=subjects.test",
            spf_only.email
        )],
        &spf_only.email,
        subject,
        body,
    ))
    .await;
    // Went around our MX (appended, or through another server): a pass and no Received of ours.
    let mut raw = format!(
        "Authentication-Results: {TRUSTED}; dkim=pass header.d=subjects.test header.s=s1\r\n"
    )
    .into_bytes();
    raw.extend(message(&around.email, "info@nlg.kz", subject, body));
    d.deliver(&raw).await;
    // Signed by the sender's domain, verified by our MX on arrival.
    d.deliver(&authenticated(&signed.email, subject, body))
        .await;

    wait_status(&d, &signed.email, "completed").await;
    assert_eq!(lab.shop_rows(&signed).await, (0, 0, 0), "carried out");
    let how: Option<String> =
        sqlx::query_scalar("SELECT verification FROM requests WHERE sender = $1")
            .bind(&signed.email)
            .fetch_one(&d.pool)
            .await
            .unwrap();
    assert_eq!(
        how.as_deref(),
        Some(
            "dkim=pass header.d=subjects.test (aligned with From subjects.test) by mx.test.nlg.kz"
        ),
        "the record says how, with domains only"
    );

    for p in [&forged, &spf_only, &around] {
        wait_status(&d, &p.email, "awaiting_confirmation").await;
        // One e-mail: the acknowledgement asks for the code.
        let mail = wait_for_mail(&p.email, 1, WAIT).await;
        assert!(
            mail.iter()
                .any(|m| m.subject.contains("Confirm") || m.subject.contains("Подтверд")),
            "{}: a confirmation request: {:?}",
            p.name,
            mail.iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
        assert_eq!(
            lab.crm_rows(p).await,
            (1, 0, 2, 0),
            "{}: nothing done",
            p.name
        );
        assert_eq!(
            lab.shop_rows(p).await,
            (1, 0, 1),
            "{}: nothing done",
            p.name
        );
        assert_eq!(
            lab.newsletter_rows(p).await,
            (1, 1, 0),
            "{}: nothing done",
            p.name
        );
        let row = sqlx::query(
            "SELECT verified_at IS NOT NULL AS verified FROM requests WHERE sender = $1",
        )
        .bind(&p.email)
        .fetch_one(&d.pool)
        .await
        .unwrap();
        assert!(!row.get::<bool, _>("verified"), "{}: not verified", p.name);
    }
    worker.stop().await;
    d.cleanup().await;
    lab.drop().await;
}
