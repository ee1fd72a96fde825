//! One-time codes that prove an address: the sender's own (a reply from the `From:` address),
//! or the contact on file (the address a record itself holds, when the typed identifiers match
//! a record the sender's address does not).
//!
//! A request has at most one open verification at a time. A code is stored only as its hash;
//! it is valid until `expires_at`, from the address it was sent to, for a few attempts.

use rand::Rng;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::request::lifecycle::event;
use crate::request::RequestRow;

/// Replies with a wrong code accepted before the verification is closed.
pub const MAX_ATTEMPTS: i32 = 5;

/// Where a code was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The request's own `From:` address.
    Sender,
    /// The address held by the record the typed identifiers match.
    ContactOnFile,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sender => "sender",
            Channel::ContactOnFile => "contact_on_file",
        }
    }
}

/// A new one-time code (no easily confused characters) and its hash for storage.
pub fn new_code() -> (String, Vec<u8>) {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let mut code = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            code.push('-');
        }
        code.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    let hash = hash_code(&code);
    (code, hash)
}

pub fn hash_code(code: &str) -> Vec<u8> {
    Sha256::digest(code.to_ascii_uppercase().as_bytes()).to_vec()
}

/// Codes in `text` that look like ours (`XXXX-XXXX`, any case), normalised.
pub fn codes_in(text: &str) -> Vec<String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b([A-Z2-9]{4})-([A-Z2-9]{4})\b").expect("valid regex")
    });
    RE.captures_iter(text)
        .map(|c| format!("{}-{}", &c[1], &c[2]).to_ascii_uppercase())
        .collect()
}

/// Opens a verification to `address` and returns the plaintext code to send, or `None` if one
/// is already open for this request (a redelivery: the code was sent then).
pub async fn open(
    conn: &mut PgConnection,
    request_id: i64,
    channel: Channel,
    address: &str,
    hours: u32,
) -> sqlx::Result<Option<String>> {
    let (code, hash) = new_code();
    let inserted = sqlx::query(
        "INSERT INTO verifications (request_id, code_hash, expires_at, address, channel)
         VALUES ($1, $2, now() + make_interval(hours => $3), $4, $5)
         ON CONFLICT (request_id) WHERE confirmed_at IS NULL AND closed_at IS NULL DO NOTHING",
    )
    .bind(request_id)
    .bind(hash)
    .bind(hours as i32)
    .bind(address.to_lowercase())
    .bind(channel.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    Ok(inserted.then_some(code))
}

/// How many verifications the request has had (numbers the e-mails of each round).
pub async fn rounds(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM verifications WHERE request_id = $1")
        .bind(request_id)
        .fetch_one(conn)
        .await
}

/// Ends the open verification of a request without confirmation (`why` for the record).
pub async fn close_open(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE verifications SET closed_at = now()
         WHERE request_id = $1 AND confirmed_at IS NULL AND closed_at IS NULL",
    )
    .bind(request_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that `address` proved itself for the request (`how`: for the record).
pub async fn mark_verified(
    conn: &mut PgConnection,
    request: &RequestRow,
    address: &str,
    how: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE requests SET verified_at = now(), verification = $2, verified_address = $3
         WHERE id = $1",
    )
    .bind(request.id)
    .bind(how)
    .bind(address.to_lowercase())
    .execute(&mut *conn)
    .await?;
    event(conn, request.id, "identity_verified", json!({ "how": how })).await
}

/// The open verification of a request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Open {
    pub id: i64,
    pub channel: String,
    pub address: String,
    pub code_hash: Vec<u8>,
    pub fresh: bool,
    pub attempts: i32,
}

pub async fn open_of(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Option<Open>> {
    sqlx::query_as(
        "SELECT id, channel, address, code_hash, expires_at > now() AS fresh, attempts
         FROM verifications
         WHERE request_id = $1 AND confirmed_at IS NULL AND closed_at IS NULL
         FOR UPDATE",
    )
    .bind(request_id)
    .fetch_optional(conn)
    .await
}

/// Every address a verification of this request was sent to (lower-case).
pub async fn addresses(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT DISTINCT address FROM verifications WHERE request_id = $1")
        .bind(request_id)
        .fetch_all(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_and_hashed_case_insensitively() {
        let (code, hash) = new_code();
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        let reply = format!("my code is {}, yes it was me", code.to_lowercase());
        assert_eq!(codes_in(&reply), vec![code.clone()]);
        assert_eq!(hash_code(&code.to_lowercase()), hash);
        assert_eq!(codes_in(&format!("({code})")), vec![code]);
    }

    #[test]
    fn references_and_ordinary_words_are_not_codes() {
        assert!(codes_in("[DSR-2026-000123] Re: confirm").is_empty());
        assert!(codes_in("hello world").is_empty());
        assert!(codes_in("IIN 900101300123").is_empty());
    }
}
