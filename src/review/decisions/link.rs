//! Link: say who the request is about; these identifiers replace the sender's in the stores.

use serde_json::json;

use super::{mask, Change, DecisionError, Recorded, Step};
use crate::outbound::dedupe::Again;
use crate::stores::SubjectIds;

/// At least one identifier, before anything is locked.
pub(super) fn check(subject: &SubjectIds) -> Result<(), DecisionError> {
    if subject.emails.is_empty() && subject.iins.is_empty() && subject.phones.is_empty() {
        return Err(DecisionError::Invalid(
            "give an e-mail address, a valid IIN or a phone number".into(),
        ));
    }
    Ok(())
}

pub(super) async fn apply(
    step: &mut Step<'_>,
    subject: &SubjectIds,
) -> Result<Recorded, DecisionError> {
    let request_id = step.request_id;
    sqlx::query("UPDATE requests SET linked_subject = $2 WHERE id = $1")
        .bind(request_id)
        .bind(json!(subject))
        .execute(&mut *step.tx)
        .await?;
    let status = step.status;
    let recorded = step
        .record(Change {
            status,
            // The identifiers stay in requests.linked_subject (purged with the request's
            // data); the audit log keeps only their masked forms.
            after: json!({ "linked_subject": mask::subject_ids(subject) }),
            event: "subject_linked",
            outcome: "linked",
        })
        .await?;
    // The match on the page was found for the old identifiers: the processor
    // searches again for the linked subject.
    step.publish(Again::Link {
        entry: recorded.entry.id,
    })
    .await?;
    Ok(recorded)
}
