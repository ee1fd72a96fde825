//! The request as every stage reads it: [`RequestRow`], loaded and locked in the caller's
//! transaction, and the lookup of a request by its reference.

use serde_json::Value;
use sqlx::{PgConnection, Row};

use crate::domain::{Language, RequestKind, RequestStatus};
use crate::stores::SubjectIds;

/// The parts of a request every step needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub reference: String,
    pub kind: RequestKind,
    pub language: Language,
    pub review: bool,
    pub status: RequestStatus,
    pub sender: String,
    pub sender_message_id: Option<String>,
    pub sender_references: Vec<String>,
    /// The sender's later message the request now answers (a folded repeat, the details
    /// asked for), if any: the next e-mails are threaded to it.
    pub answering_message_id: Option<String>,
    pub understanding: Value,
    pub inbound_message_id: i64,
    /// The address that proved itself (trusted DKIM or a code round trip), if any.
    pub verified_address: Option<String>,
    pub approved: bool,
    /// What staff approved (kind, the match they saw, explicit overrides).
    pub approval: Option<Value>,
    /// Identifiers staff linked the request to (replace the sender's own when looking up).
    pub linked_subject: Option<Value>,
    /// Identifiers the sender gave: `{"iins": [...], "phones": [...], "emails": [...]}`.
    pub identifiers: Value,
    /// The last store match recorded (counts only).
    pub subject_match: Option<Value>,
    /// The acknowledgement was decided (`acknowledged_at` is set).
    pub acknowledged: bool,
}

impl RequestRow {
    /// Loads and locks a request; `None` if it does not exist. `FOR NO KEY UPDATE` does not
    /// conflict with the key-share locks that inserts referencing the request take, so two
    /// store tasks of one request finishing together queue up instead of deadlocking.
    pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Self>> {
        sqlx::query_as(
            "SELECT id, reference, kind, language, review, status, sender, sender_message_id,
                    sender_references, answering_message_id, understanding, inbound_message_id, verified_address,
                    approved_by IS NOT NULL AS approved, approval, linked_subject, identifiers,
                    subject_match, acknowledged_at IS NOT NULL AS acknowledged
             FROM requests WHERE id = $1 FOR NO KEY UPDATE",
        )
        .bind(id)
        .fetch_optional(conn)
        .await
    }

    /// Whether the sender's identity (or the contact on file) has been proven.
    pub fn verified(&self) -> bool {
        self.verified_address.is_some()
    }

    /// The staff-linked identifiers, if staff said who the request is about.
    pub fn linked(&self) -> Option<SubjectIds> {
        let mut ids: SubjectIds = serde_json::from_value(self.linked_subject.clone()?).ok()?;
        ids.linked = true;
        Some(ids)
    }

    /// Who to look for in the stores: the identifiers staff linked, or the verified address
    /// (before verification: the sender's, to know whether there is anyone to verify) with the
    /// IINs and phones the sender gave, which only narrow.
    pub fn probe(&self) -> SubjectIds {
        if let Some(linked) = self.linked() {
            return linked;
        }
        SubjectIds {
            emails: vec![self
                .verified_address
                .clone()
                .unwrap_or_else(|| self.sender.clone())],
            iins: self.offered("iins"),
            phones: self.offered("phones"),
            given_emails: self.offered("emails"),
            linked: false,
        }
    }

    /// Identifiers the sender offered (`iins`, `phones`).
    pub fn offered(&self, field: &str) -> Vec<String> {
        strings(self.identifiers.get(field))
    }

    /// Strings of an understanding field (`iin`, `phones`, `invalid_iin`, ...).
    pub fn understood(&self, field: &str) -> Vec<String> {
        strings(self.understanding.get(field))
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Loads the row of a request by reference (no lock).
pub async fn id_of_reference(
    conn: &mut PgConnection,
    reference: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query("SELECT id FROM requests WHERE reference = $1")
        .bind(reference)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()
}
