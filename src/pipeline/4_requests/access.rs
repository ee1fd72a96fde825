//! The answer to an access request (law 94-V art. 24(1)): everything held about the subject in
//! every store, as a readable HTML document and a machine-readable JSON file, in the request's
//! language, with only the records the verified address binds, sent only to that address.

use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::outbound::dedupe::{DedupeKey, Reply};
use crate::outbound::outbox::{Attachment, Urgency};
use crate::outbound::reply::{Replier, To};
use crate::request::RequestRow;
use crate::stores::{Registry, StoreData, SubjectIds};

#[derive(Debug, Serialize)]
pub struct AccessReport<'a> {
    pub reference: &'a str,
    pub generated_at: String,
    pub company: &'a str,
    pub company_mailbox: &'a str,
    pub held: bool,
    pub subject: &'a SubjectIds,
    pub stores: Vec<StoreData>,
    pub third_parties: Vec<String>,
}

/// Gathers the subject's data and enqueues the answer with both attachments.
pub async fn answer(
    conn: &mut PgConnection,
    registry: &Registry,
    replier: &Replier,
    request: &RequestRow,
    ids: &SubjectIds,
) -> anyhow::Result<()> {
    let mut stores = vec![];
    // The records the verified address binds (typed identifiers narrow, never add).
    for store in registry.sql_stores() {
        let data = store.gather(ids).await?;
        if !data.tables.is_empty() {
            stores.push(data);
        }
    }
    let context = replier.context(request, json!({}));
    // The report names the subject by what they proved, not by what they typed.
    let shown = if ids.linked {
        ids.clone()
    } else {
        SubjectIds {
            emails: ids.emails.clone(),
            ..Default::default()
        }
    };
    let report = AccessReport {
        reference: &request.reference,
        generated_at: chrono::Utc::now()
            .with_timezone(&crate::request::deadline::almaty())
            .format("%Y-%m-%d %H:%M (UTC+5)")
            .to_string(),
        company: context["company"].as_str().unwrap_or_default(),
        company_mailbox: context["company_mailbox"].as_str().unwrap_or_default(),
        held: !stores.is_empty(),
        subject: &shown,
        third_parties: registry.processors(),
        stores,
    };
    let html =
        replier
            .templates()
            .render_document("access_report.html", request.language, &report)?;
    let attachments = vec![
        Attachment {
            filename: "report.html".into(),
            content_type: "text/html; charset=utf-8".into(),
            content: html,
        },
        Attachment {
            filename: "report.json".into(),
            content_type: "application/json".into(),
            content: serde_json::to_string_pretty(&report)?,
        },
    ];
    replier
        .send_to(
            conn,
            request,
            &To::Verified,
            Urgency::Result,
            "access",
            &DedupeKey::reply(request.id, Reply::Access),
            json!({ "held": report.held }),
            attachments,
        )
        .await?;
    Ok(())
}
