//! The second half of the confirmation round trip: a reply from the request's sender that
//! quotes the one-time code of a request awaiting confirmation, before it expires.
//!
//! Auto-replies and bounces never confirm anything, even though they often quote our message
//! (and so the code): a machine answered, not the person.

use serde_json::json;
use sqlx::{PgConnection, Row};

use super::identity;
use super::process::publish_request;
use super::reply::event;
use super::status::{transition, RequestStatus};
use crate::queue::topology::WorkQueue;
use crate::understand::Reading;

/// Confirms the request this reply answers, if it is a valid confirmation; returns its id.
pub async fn accept(
    conn: &mut PgConnection,
    inbound_id: i64,
    reading: &Reading,
    raw: &[u8],
    requests: &WorkQueue,
) -> anyhow::Result<Option<i64>> {
    if reading.understanding.kind.is_automatic() {
        return Ok(None);
    }
    let Some(from) = reading.envelope.from.as_ref() else {
        return Ok(None);
    };
    let references = references_in(&reading.envelope.subject);
    if references.is_empty() {
        return Ok(None);
    }
    let codes: Vec<Vec<u8>> = identity::codes_in(&String::from_utf8_lossy(raw))
        .iter()
        .map(|c| identity::hash_code(c))
        .collect();
    if codes.is_empty() {
        return Ok(None);
    }
    for reference in references {
        let Some(row) = sqlx::query(
            "SELECT r.id, r.sender, v.code_hash, v.expires_at > now() AS fresh
             FROM requests r JOIN verifications v ON v.request_id = r.id
             WHERE r.reference = $1 AND r.status = 'awaiting_confirmation' AND v.confirmed_at IS NULL AND v.closed_at IS NULL
             FOR NO KEY UPDATE OF r",
        )
        .bind(&reference)
        .fetch_optional(&mut *conn)
        .await?
        else {
            continue;
        };
        let request_id: i64 = row.try_get("id")?;
        let sender: String = row.try_get("sender")?;
        let hash: Vec<u8> = row.try_get("code_hash")?;
        let fresh: bool = row.try_get("fresh")?;
        if !sender.eq_ignore_ascii_case(from.as_str()) || !codes.contains(&hash) {
            continue;
        }
        if !fresh {
            event(
                conn,
                request_id,
                "confirmation_expired",
                json!({ "inbound_id": inbound_id }),
            )
            .await?;
            continue;
        }
        sqlx::query("UPDATE verifications SET confirmed_at = now(), inbound_message_id = $2 WHERE request_id = $1 AND confirmed_at IS NULL AND closed_at IS NULL")
            .bind(request_id)
            .bind(inbound_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE requests SET verified_at = now(), verification = 'confirmation round trip',
                    verified_address = sender WHERE id = $1",
        )
        .bind(request_id)
        .execute(&mut *conn)
        .await?;
        transition(
            conn,
            request_id,
            RequestStatus::Confirmed,
            "identity_verified",
            json!({ "how": "confirmation round trip", "inbound_id": inbound_id }),
        )
        .await?;
        publish_request(
            conn,
            requests,
            request_id,
            &format!("publish:request:{request_id}:confirmed"),
        )
        .await?;
        sqlx::query(
            "UPDATE inbound_messages SET status = 'confirmation', kind = 'confirmation', processed_at = now()
             WHERE id = $1",
        )
        .bind(inbound_id)
        .execute(&mut *conn)
        .await?;
        return Ok(Some(request_id));
    }
    Ok(None)
}

fn references_in(subject: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\bDSR-\d{4}-\d{6,}\b").expect("valid regex");
    re.find_iter(subject)
        .map(|m| m.as_str().to_owned())
        .collect()
}
