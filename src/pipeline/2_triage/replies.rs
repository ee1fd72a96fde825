//! Replies to our own e-mails, attached to the request they answer instead of opening a new one.
//!
//! A message is a reply to request R when its `In-Reply-To`/`References` name one of our
//! Message-IDs (`dsr-2026-000123.<purpose>@<domain>`) or its subject carries R's reference, and
//! it comes from an address R has dealt with (its sender, its verified address, or an address a
//! code was sent to). What it does depends on what it says and on where R is:
//!
//! - it disputes R ("it wasn't me", "ничего не удаляйте", "мен жазған жоқпын") → `disputed`:
//!   nothing is executed, staff are told, the person gets a short answer that nothing was done.
//!   This wins over everything else, also over a code quoted in it;
//! - R waits for a code and the person typed the right one in their *own new words* (quoted text
//!   and our own subject line never count), from the address it was sent to, in time → confirmed;
//!   a wrong code counts an attempt, and too many send R to staff;
//! - R waits for details (we could not find the person) → the IINs/phones join R's identifiers,
//!   where they may narrow the subject but never add to it, and R is looked up again;
//! - anything else is kept on R's timeline for staff; it is never answered.
//!
//! Machine mail (auto-replies, bounces, read receipts) quoting our mail changes nothing.

use serde_json::json;
use sqlx::{PgConnection, Row};

use crate::domain::{RequestKind, RequestStatus};
use crate::outbound::dedupe::{Again, DedupeKey, Reply};
use crate::outbound::outbox::Urgency;
use crate::outbound::reply::{reference_of_message_id, references_in_subject, Replier, To};
use crate::queue::messages::publish_request;
use crate::queue::topology::WorkQueue;
use crate::request::lifecycle::{event, transition};
use crate::request::subject::{merge_offered, offered};
use crate::request::verification::MAX_ATTEMPTS;
use crate::request::{verification, RequestRow};
use crate::understand::{dispute, Reading};

/// What a reply did to its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// The right code: the request is confirmed and continues.
    Confirmed,
    /// The person disputes the request: cancelled before anything was done.
    Disputed,
    /// Disputed after stores were already touched: staff must look.
    DisputedTooLate,
    /// A wrong code (an attempt counted).
    WrongCode,
    /// Too many wrong codes: the request goes to staff.
    Locked,
    /// Details that join the search for the subject.
    Information,
    /// Kept on the timeline; nothing else.
    Kept,
    /// Machine mail answering ours: ignored.
    Machine,
}

impl Attached {
    fn inbound_status(self) -> &'static str {
        match self {
            Attached::Confirmed => "confirmation",
            Attached::Machine => "ignored",
            _ => "reply",
        }
    }
}

/// Requests a message may answer that are looked at.
const MAX_REFERENCES: usize = 8;

/// The requests a message answers, from its thread headers and its subject.
pub fn references(reading: &Reading, message_id_domain: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    // The nearest ancestors only (In-Reply-To is last): a header with thousands of our
    // Message-IDs must not turn one message into thousands of lookups.
    let thread = reading
        .envelope
        .references
        .iter()
        .rev()
        .take(MAX_REFERENCES);
    for r in thread
        .filter_map(|id| reference_of_message_id(id, message_id_domain))
        .chain(references_in_subject(&reading.envelope.subject))
    {
        if !out.contains(&r) {
            out.push(r);
        }
        if out.len() == MAX_REFERENCES {
            break;
        }
    }
    out
}

/// The subject line as the person wrote it: without `Re:`-style prefixes and our references,
/// and empty when it is our own subject answered.
fn own_subject(reading: &Reading) -> String {
    let subject = reading.envelope.subject.trim();
    let ours = !references_in_subject(subject).is_empty();
    if ours {
        // "Re: [DSR-…] Подтвердите обращение": our words, not theirs.
        return String::new();
    }
    subject.to_owned()
}

/// The person's own new words in a reply: the body without quotes and signature, plus the
/// subject when it is their own.
fn own_words(reading: &Reading) -> String {
    format!("{}\n{}", own_subject(reading), reading.text)
}

/// Attaches `reading` (stored as inbound message `inbound_id`) to the request it answers, if
/// it is a reply from someone that request has dealt with. `None`: not such a reply (the caller
/// triages it as new mail).
pub async fn attach(
    conn: &mut PgConnection,
    inbound_id: i64,
    reading: &Reading,
    requests: &WorkQueue,
    replier: &Replier,
) -> anyhow::Result<Option<(i64, Attached)>> {
    let Some(from) = reading.envelope.from.as_ref() else {
        return Ok(None);
    };
    let from = from.as_str().to_lowercase();
    for reference in references(reading, &replier.company().message_id_domain) {
        let Some(id) = crate::request::row::id_of_reference(conn, &reference).await? else {
            continue;
        };
        let Some(request) = RequestRow::lock(conn, id).await? else {
            continue;
        };
        let mut known = verification::addresses(conn, id).await?;
        known.push(request.sender.to_lowercase());
        known.extend(request.verified_address.iter().map(|a| a.to_lowercase()));
        if !known.contains(&from) {
            continue;
        }
        let automatic = reading.understanding.kind.is_automatic();
        if request.status.is_final() && !automatic && reading.understanding.kind.request().is_some()
        {
            // A new request written in the thread of a finished one.
            return Ok(None);
        }
        let attached = if automatic {
            Attached::Machine
        } else if request.status.is_final() {
            Attached::Kept
        } else {
            decide(
                conn, inbound_id, reading, &request, &from, requests, replier,
            )
            .await?
        };
        record(conn, inbound_id, reading, id, attached).await?;
        return Ok(Some((id, attached)));
    }
    Ok(None)
}

async fn decide(
    conn: &mut PgConnection,
    inbound_id: i64,
    reading: &Reading,
    request: &RequestRow,
    from: &str,
    requests: &WorkQueue,
    replier: &Replier,
) -> anyhow::Result<Attached> {
    let kind = request.kind;
    let own = own_words(reading);
    let open = verification::open_of(conn, request.id).await?;

    if dispute::disputes(&own, kind) {
        if !request.status.before_execution() {
            event(
                conn,
                request.id,
                "disputed_after_execution",
                json!({ "inbound_id": inbound_id }),
            )
            .await?;
            return Ok(Attached::DisputedTooLate);
        }
        verification::close_open(conn, request.id).await?;
        let by = if from == request.sender.to_lowercase() {
            "sender"
        } else {
            "contact_on_file"
        };
        transition(
            conn,
            request.id,
            RequestStatus::Disputed,
            "disputed",
            json!({ "by": by, "inbound_id": inbound_id }),
        )
        .await?;
        let to = if by == "sender" {
            To::Sender
        } else {
            To::OnFile(from.to_owned())
        };
        replier
            .send_to(
                conn,
                request,
                &to,
                Urgency::Ordinary,
                "disputed",
                &DedupeKey::reply(request.id, Reply::Disputed),
                json!({}),
                vec![],
            )
            .await?;
        return Ok(Attached::Disputed);
    }

    match request.status {
        RequestStatus::AwaitingConfirmation => {
            let Some(open) = open.filter(|o| o.address == from) else {
                return keep(conn, request.id, inbound_id, "reply_received").await;
            };
            let codes = verification::codes_in(&own);
            if codes.is_empty() {
                return keep(conn, request.id, inbound_id, "reply_without_code").await;
            }
            let matches = codes
                .iter()
                .any(|c| verification::hash_code(c) == open.code_hash);
            if matches && !open.fresh {
                return keep(conn, request.id, inbound_id, "confirmation_expired").await;
            }
            if matches {
                sqlx::query(
                    "UPDATE verifications SET confirmed_at = now(), inbound_message_id = $2
                     WHERE id = $1",
                )
                .bind(open.id)
                .bind(inbound_id)
                .execute(&mut *conn)
                .await?;
                let how = if open.channel == "contact_on_file" {
                    "code round trip through the contact on file"
                } else {
                    "code round trip"
                };
                verification::mark_verified(conn, request, &open.address, how).await?;
                transition(
                    conn,
                    request.id,
                    RequestStatus::Confirmed,
                    "confirmed",
                    json!({ "channel": open.channel, "inbound_id": inbound_id }),
                )
                .await?;
                publish_request(
                    conn,
                    requests,
                    request.id,
                    Some(Again::Confirmed { code: open.id }),
                )
                .await?;
                return Ok(Attached::Confirmed);
            }
            let attempts: i32 = sqlx::query_scalar(
                "UPDATE verifications SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
            )
            .bind(open.id)
            .fetch_one(&mut *conn)
            .await?;
            event(
                conn,
                request.id,
                "wrong_code",
                json!({ "inbound_id": inbound_id, "attempts": attempts }),
            )
            .await?;
            if attempts < MAX_ATTEMPTS {
                return Ok(Attached::WrongCode);
            }
            verification::close_open(conn, request.id).await?;
            sqlx::query("UPDATE requests SET review = true WHERE id = $1")
                .bind(request.id)
                .execute(&mut *conn)
                .await?;
            transition(
                conn,
                request.id,
                RequestStatus::NeedsReview,
                "flagged_for_review",
                json!({ "reasons": [format!("{attempts} wrong confirmation codes")] }),
            )
            .await?;
            Ok(Attached::Locked)
        }
        RequestStatus::AwaitingInformation => {
            let waiting_for_details: bool =
                sqlx::query_scalar("SELECT expires_at IS NOT NULL FROM requests WHERE id = $1")
                    .bind(request.id)
                    .fetch_one(&mut *conn)
                    .await?;
            let mut identifiers = request.identifiers.clone();
            let added = merge_offered(
                &mut identifiers,
                &offered(reading, &replier.company().message_id_domain),
            );
            // Looked up again with the details: what that finds answers this reply.
            let answering = waiting_for_details
                .then(|| super::thread_parent(reading))
                .flatten();
            super::record_identifiers(conn, request.id, &identifiers, answering).await?;
            let added = json!({ "inbound_id": inbound_id, "new_identifiers": added });
            if waiting_for_details {
                transition(
                    conn,
                    request.id,
                    RequestStatus::Accepted,
                    "information_received",
                    added,
                )
                .await?;
                publish_request(
                    conn,
                    requests,
                    request.id,
                    Some(Again::Information {
                        inbound: inbound_id,
                    }),
                )
                .await?;
            } else {
                transition(
                    conn,
                    request.id,
                    RequestStatus::NeedsReview,
                    "information_received",
                    added,
                )
                .await?;
            }
            Ok(Attached::Information)
        }
        _ => keep(conn, request.id, inbound_id, "reply_received").await,
    }
}

async fn keep(
    conn: &mut PgConnection,
    request_id: i64,
    inbound_id: i64,
    what: &str,
) -> anyhow::Result<Attached> {
    event(conn, request_id, what, json!({ "inbound_id": inbound_id })).await?;
    Ok(Attached::Kept)
}

async fn record(
    conn: &mut PgConnection,
    inbound_id: i64,
    reading: &Reading,
    request_id: i64,
    attached: Attached,
) -> anyhow::Result<()> {
    let mut understanding = serde_json::to_value(&reading.understanding)?;
    crate::db::clean_json(&mut understanding, 2000);
    sqlx::query(
        "UPDATE inbound_messages SET status = $2, kind = $3, understanding = $4, request_id = $5,
                processed_at = now()
         WHERE id = $1",
    )
    .bind(inbound_id)
    .bind(attached.inbound_status())
    .bind(reading.understanding.kind.as_str())
    .bind(understanding)
    .bind(request_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The open requests of `sender` that a new request of `kind` folds into: unconfirmed, not
/// yet executing, same kind. Locked; the newest first.
pub async fn foldable(
    conn: &mut PgConnection,
    sender: &str,
    kind: RequestKind,
) -> sqlx::Result<Option<i64>> {
    sqlx::query(
        "SELECT id FROM requests
         WHERE lower(sender) = lower($1) AND kind = $2 AND verified_address IS NULL
           AND status IN ('received', 'accepted', 'needs_review', 'awaiting_confirmation',
                          'awaiting_information')
         ORDER BY id DESC LIMIT 1 FOR NO KEY UPDATE",
    )
    .bind(sender)
    .bind(kind.as_str())
    .fetch_optional(conn)
    .await?
    .map(|r| r.try_get("id"))
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::understand::Reader;

    #[test]
    fn the_nearest_of_our_message_ids_name_the_request_and_only_a_few_are_looked_at() {
        let many: Vec<String> = (1..=1000)
            .map(|n| format!("<dsr-2026-{n:06}.ack@nlg.kz>"))
            .collect();
        let raw = format!(
            "From: a@mail.kz\r\nTo: info@nlg.kz\r\nSubject: Re: [DSR-2026-000777] x\r\n\
             Message-ID: <m1@mail.kz>\r\nReferences: <other@mail.kz> {}\r\n\
             In-Reply-To: <dsr-2026-000042.confirm-42-0@nlg.kz>\r\n\r\nhello\r\n",
            many.join(" ")
        );
        let reading = Reader::default().read(raw.as_bytes()).unwrap();
        let refs = references(&reading, "nlg.kz");
        assert_eq!(refs.len(), MAX_REFERENCES);
        assert_eq!(refs[0], "DSR-2026-000042", "In-Reply-To first: {refs:?}");
        let plain = "From: a@mail.kz\r\nTo: info@nlg.kz\r\nSubject: Re: [DSR-2026-000777] x\r\n\
                     Message-ID: <m2@mail.kz>\r\nIn-Reply-To: <x@elsewhere.kz>\r\n\r\nhello\r\n";
        let reading = Reader::default().read(plain.as_bytes()).unwrap();
        assert_eq!(
            references(&reading, "nlg.kz"),
            vec!["DSR-2026-000777".to_owned()]
        );
        assert!(
            own_words(&reading).trim() == "hello",
            "our subject is not their words"
        );
    }
}
