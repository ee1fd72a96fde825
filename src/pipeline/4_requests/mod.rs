//! Stage 4, the `requests` queue handler: moves one request as far as it can go, then stops to
//! wait. Its parts: [`acknowledge`] (one acknowledgement per request), [`identity`] (who the
//! sender is), [`plan`] (what each store does), [`access`] (the access report).
//!
//! ```text
//! received (acknowledgement deferred: it may carry the code, see `acknowledge`)
//!   │ identity and lookup as below, then in the same transaction:
//!   ├─ records found, sender not verified ─▶ ONE e-mail: the acknowledgement with the code
//!   │                                        ─▶ accepted ─▶ awaiting_confirmation
//!   └─ anything else ──────────────────────▶ the plain acknowledgement ─▶ accepted, and on:
//! accepted / confirmed / approved
//!   │ 1. the sender's identity: trusted Authentication-Results of our MX (once)
//!   │ 2. the subject: records the verified address matches (typed IINs/phones only narrow)
//!   │ 3. an approval must still cover the facts (same rows; conflicts/obligations overridden)
//!   ├─ records found, sender not verified ──────────▶ awaiting_confirmation (code to the sender)
//!   ├─ conflicts / open obligation (art. 8(2)) ─────▶ needs_review (+ reply to the verified address)
//!   ├─ access ──────────────────────────────────────▶ completed (report to the verified address)
//!   ├─ otherwise: one task per store ───────────────▶ executing ─(all tasks done)─▶ completed
//!   ├─ nobody under the address, typed identifiers ─▶ awaiting_confirmation (code to the address
//!   │                                                  on file; the sender learns nothing)
//!   └─ nobody, nothing typed ───────────────────────▶ awaiting_information (ask for details)
//! needs_review: the lookup runs too, so staff decide on the facts; nothing else happens.
//! ```
//!
//! Every step runs in one transaction on the request row (locked), so a redelivery, a restart or a
//! second worker continues from the recorded state and never repeats a step.
//!
//! The code goes in the acknowledgement only when it is issued with it (the first lookup of a
//! request). A code issued later (a re-lookup after the sender sent details, a staff decision)
//! comes in a `confirmation` e-mail of its own; a code for the contact on file always does, to
//! that address (`contact_confirmation`). The sender hears of it in the acknowledgement (the
//! first lookup) or, on a later lookup, in a `contact_on_file_notice`.

pub mod access;
pub mod acknowledge;
pub mod identity;
pub mod plan;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::config::IdentitySettings;
use crate::domain::{RequestKind, RequestStatus};
use crate::outbound::dedupe::{DedupeKey, Reply};
use crate::outbound::outbox::Urgency;
use crate::outbound::reply::{Replier, To};
use crate::pipeline::requests::acknowledge::{Acknowledged, Acknowledger, CodeForSender, Finding};
use crate::pipeline::store_actions;
use crate::queue::consumer::Failure;
use crate::queue::messages::{self, publish_task, RequestMessage};
use crate::queue::topology::WorkQueue;
use crate::request::approval::approval_covers;
use crate::request::lifecycle::{end, event, transition, transition_also, Also, TransitionError};
use crate::request::subject::{Anchor, Lookup};
use crate::request::verification::Channel;
use crate::request::{verification, RequestRow};
use crate::stores::{Registry, StoreMatch, SubjectIds};
use plan::plan_for;

/// Where a request stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to do in this state (waiting for staff, a confirmation, tasks, or already done).
    Waiting(RequestStatus),
    /// Flagged: the stores were searched so staff see the facts; staff decide.
    LookedUp,
    AwaitingConfirmation,
    /// A code went to the address on file of the record the typed identifiers match.
    AwaitingContactOnFile,
    NeedsReview(Vec<String>),
    UnknownSubject,
    Answered,
    Executing {
        tasks: usize,
    },
    Completed,
}

#[derive(Clone)]
pub struct Processor {
    pub pool: PgPool,
    pub registry: Arc<Registry>,
    pub replier: Replier,
    pub identity: IdentitySettings,
    pub acknowledger: Acknowledger,
    pub store_actions: WorkQueue,
}

fn poison(e: TransitionError) -> Failure {
    match e {
        TransitionError::Database(e) => Failure::Retry(e.into()),
        other => Failure::Poison(other.into()),
    }
}

impl Processor {
    /// Queue handler entry point.
    pub async fn handle(&self, payload: Vec<u8>) -> Result<(), Failure> {
        let message: RequestMessage = messages::decode("requests", &payload)?;
        let step = self.advance(message.request_id).await?;
        tracing::info!(request_id = message.request_id, ?step, "request advanced");
        Ok(())
    }

    /// The queue gave up on a request message (attempts used up, or it can never succeed):
    /// the request is marked failed with the reason, in its own transaction, for staff.
    pub async fn dead_lettered(&self, payload: Vec<u8>, error: String) -> anyhow::Result<()> {
        let Ok(message) = serde_json::from_slice::<RequestMessage>(&payload) else {
            return Ok(());
        };
        let mut tx = self.pool.begin().await?;
        let status: Option<RequestStatus> =
            sqlx::query_scalar("SELECT status FROM requests WHERE id = $1 FOR NO KEY UPDATE")
                .bind(message.request_id)
                .fetch_optional(&mut *tx)
                .await?;
        if status.is_some_and(|s| s.can_become(RequestStatus::Failed)) {
            sqlx::query("UPDATE requests SET failure = $2 WHERE id = $1")
                .bind(message.request_id)
                .bind(crate::db::clean_text(&error, 2000).as_ref())
                .execute(&mut *tx)
                .await?;
            transition(
                &mut tx,
                message.request_id,
                RequestStatus::Failed,
                "processing_failed",
                json!({ "error": crate::db::clean_text(&error, 2000) }),
            )
            .await?;
        }
        tx.commit().await?;
        tracing::warn!(
            request_id = message.request_id,
            "request processing failed for good; staff can retry it"
        );
        Ok(())
    }

    /// Takes the request one step on (in the span `process`, with its id).
    #[tracing::instrument(name = "process", skip_all, fields(request_id = request_id))]
    pub async fn advance(&self, request_id: i64) -> Result<Step, Failure> {
        let missing = || Failure::Poison(anyhow::anyhow!("request {request_id} does not exist"));
        // Synchronous commits: the queue message is acknowledged once this returns, so what it
        // did must survive a crash of PostgreSQL too (a relaxed commit lost there would leave
        // the request with no message to carry it on).
        let mut tx = self.pool.begin().await?;
        let mut request = RequestRow::lock(&mut tx, request_id)
            .await
            .map_err(unreadable(request_id))?
            .ok_or_else(missing)?;
        if request.status == RequestStatus::Received
            && !crate::pipeline::requests::acknowledge::waits_for_lookup(&request)
        {
            // Acknowledged at once, in a transaction of its own (the latency the sender sees);
            // one that may carry a code is acknowledged below, after the lookup.
            self.acknowledger
                .acknowledge_in(&mut tx, &request, None)
                .await?;
            tx.commit().await?;
            tx = self.pool.begin().await?;
            request = RequestRow::lock(&mut tx, request_id)
                .await
                .map_err(unreadable(request_id))?
                .ok_or_else(missing)?;
        }
        let looking_for_staff = request.status == RequestStatus::NeedsReview;
        // Not acknowledged yet (deferred by `acknowledge`): acknowledged below, after the lookup.
        let unacknowledged = request.status == RequestStatus::Received
            && crate::pipeline::requests::acknowledge::waits_for_lookup(&request);
        if !request.status.is_actionable() && !looking_for_staff && !unacknowledged {
            return Ok(Step::Waiting(request.status));
        }
        let kind = request.kind;

        // 1. The sender's identity, from our own MX's verdict (never from From: alone).
        // (Without a trusted MX configured there is no verdict to read: skip the raw mail.)
        let trusting = !self.identity.trusted_authserv_ids.is_empty();
        if !request.verified() && trusting {
            let raw: Vec<u8> = sqlx::query_scalar("SELECT raw FROM inbound_messages WHERE id = $1")
                .bind(request.inbound_message_id)
                .fetch_one(&mut *tx)
                .await?;
            if let Some(how) = identity::authenticated(&raw, &request.sender, kind, &self.identity)
            {
                verification::mark_verified(&mut tx, &request, &request.sender.clone(), &how)
                    .await?;
                request.verified_address = Some(request.sender.clone());
            }
        }

        // 2. Who is it? Records the verified address matches; typed identifiers only narrow.
        let probe = request.probe();
        let anchor = if probe.linked {
            Anchor::StaffLink
        } else if request.verified() {
            Anchor::Verified
        } else {
            Anchor::Sender
        };
        let lookup = match Lookup::run(&self.registry, &probe, kind).await {
            Ok(lookup) => lookup,
            Err(e) if unacknowledged => {
                // A store is down: the sender still hears from us at once, without a code;
                // the code comes later in a confirmation of its own, when the lookup succeeds.
                tx.rollback().await?;
                self.acknowledge_now(request_id).await?;
                return Err(Failure::Retry(e));
            }
            Err(e) => return Err(Failure::Retry(e)),
        };
        let summary = lookup.summary(anchor);
        if !unacknowledged {
            // (Else written with the acknowledgement's status, below.)
            sqlx::query("UPDATE requests SET subject_match = $2 WHERE id = $1")
                .bind(request_id)
                .bind(&summary)
                .execute(&mut *tx)
                .await?;
        }
        if looking_for_staff {
            event(
                &mut tx,
                request_id,
                "stores_searched",
                json!({ "anchor": anchor.as_str(), "found": lookup.found(), "outside": lookup.outside() }),
            )
            .await?;
            tx.commit().await?;
            return Ok(Step::LookedUp);
        }

        // 3. Staff approved what they saw: the same rows, and any override said explicitly.
        let approved = request.status == RequestStatus::Approved;
        if approved {
            let approval = request.approval.clone().unwrap_or(json!({}));
            if let Err(why) = approval_covers(&approval, &summary) {
                return self.to_review(tx, request_id, vec![why]).await;
            }
        }

        let mut told = Finding::NotLookedUp;
        if unacknowledged {
            let code_to_sender =
                lookup.found() && !request.verified() && kind != RequestKind::MarketingOptOut;
            if code_to_sender {
                // One e-mail: the acknowledgement carries the code.
                self.ask_sender_in_acknowledgement(&mut tx, &request, &summary)
                    .await?;
                tx.commit().await?;
                return Ok(Step::AwaitingConfirmation);
            }
            // Nobody under the address: the acknowledgement itself asks for details (nothing
            // typed to look for) or says that only the address on file can confirm (typed
            // identifiers) — one e-mail instead of two.
            if !lookup.found() && !probe.linked {
                told = if probe.typed() {
                    Finding::OnFileAsked {
                        expires_hours: self.identity.confirmation_hours,
                    }
                } else {
                    Finding::NotFound
                };
            }
            self.acknowledger
                .acknowledge_with(&mut tx, &request, None, told, Some(&summary))
                .await?;
            request.status = RequestStatus::Accepted;
        }

        if !lookup.found() {
            return self
                .nobody_under_the_address(tx, &request, kind, &probe, &lookup, told)
                .await;
        }

        // 4. Records found. Acting (or disclosing) needs a verified address.
        if !request.verified() && kind != RequestKind::MarketingOptOut {
            self.ask_sender(&mut tx, &request).await?;
            tx.commit().await?;
            return Ok(Step::AwaitingConfirmation);
        }
        let conflicts = lookup.conflicts();
        if !conflicts.is_empty() && !approved {
            return self.to_review(tx, request_id, conflicts).await;
        }
        if !lookup.obligations.is_empty() && !approved {
            self.replier
                .send_to(
                    &mut tx,
                    &request,
                    &To::Verified,
                    Urgency::Result,
                    "obligation_hold",
                    &DedupeKey::reply(request_id, Reply::Obligation),
                    json!({ "obligations": lookup.obligations }),
                    vec![],
                )
                .await
                .map_err(Failure::Retry)?;
            let reasons = lookup
                .obligations
                .iter()
                .map(|o| format!("open obligation (art. 8(2)): {o}"))
                .collect();
            return self.to_review(tx, request_id, reasons).await;
        }

        // 5. Access: the bound records only, to the verified address only.
        if kind == RequestKind::Access {
            access::answer(&mut tx, &self.registry, &self.replier, &request, &probe)
                .await
                .map_err(Failure::Retry)?;
            end(
                &mut tx,
                request_id,
                RequestStatus::Completed,
                "done",
                "completed",
                json!({ "outcome": "done" }),
            )
            .await
            .map_err(poison)?;
            tx.commit().await?;
            return Ok(Step::Answered);
        }

        // 6. One task per store.
        let planned = self
            .plan(&mut tx, &request, kind, &probe, &lookup.stores)
            .await?;
        transition(
            &mut tx,
            request_id,
            RequestStatus::Executing,
            "planned",
            json!({ "tasks": planned }),
        )
        .await
        .map_err(poison)?;
        let completed = store_actions::complete_if_done(&mut tx, &self.replier, request_id).await?;
        tx.commit().await?;
        Ok(if completed {
            Step::Completed
        } else {
            Step::Executing { tasks: planned }
        })
    }

    /// The address (or the staff link) binds no record.
    async fn nobody_under_the_address(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        request: &RequestRow,
        kind: RequestKind,
        probe: &SubjectIds,
        lookup: &Lookup,
        told: Finding,
    ) -> Result<Step, Failure> {
        let request_id = request.id;
        if probe.linked {
            return self
                .to_review(
                    tx,
                    request_id,
                    vec!["the identifiers staff linked match no record".into()],
                )
                .await;
        }
        if !probe.typed() {
            // Ask for the details the company may know the person by (unless the
            // acknowledgement just did).
            if told != Finding::NotFound {
                let round = verification::rounds(&mut tx, request_id).await?;
                self.replier
                    .send(
                        &mut tx,
                        request,
                        "unknown_subject",
                        &DedupeKey::reply(request_id, Reply::Unknown { round }),
                        json!({}),
                        vec![],
                    )
                    .await
                    .map_err(Failure::Retry)?;
            }
            transition_also(
                &mut tx,
                request_id,
                RequestStatus::AwaitingInformation,
                "unknown_subject",
                json!({ "asked": "details to find the subject" }),
                self.expiring(),
            )
            .await
            .map_err(poison)?;
            tx.commit().await?;
            return Ok(Step::UnknownSubject);
        }

        // The typed identifiers may be someone else's: never act, never disclose. The sender
        // hears the same whatever was found; only the address on file can bind the request.
        let on_file = lookup.on_file();
        let round = verification::rounds(&mut tx, request_id).await?;
        if !matches!(told, Finding::OnFileAsked { .. }) {
            self.replier
                .send(
                    &mut tx,
                    request,
                    "contact_on_file_notice",
                    &DedupeKey::reply(request_id, Reply::OnFile { round }),
                    json!({ "expires_hours": self.identity.confirmation_hours }),
                    vec![],
                )
                .await
                .map_err(Failure::Retry)?;
        }
        if on_file.len() == 1 && lookup.without_address() == 0 {
            let address = on_file.into_iter().next().expect("one address");
            let code = verification::open(
                &mut tx,
                request_id,
                Channel::ContactOnFile,
                &address,
                self.identity.confirmation_hours,
            )
            .await?;
            if let Some(code) = code {
                self.replier
                    .send_to(
                        &mut tx,
                        request,
                        &To::OnFile(address),
                        Urgency::Ordinary,
                        "contact_confirmation",
                        &DedupeKey::reply(request_id, Reply::Contact { round }),
                        json!({ "code": code, "expires_hours": self.identity.confirmation_hours }),
                        vec![],
                    )
                    .await
                    .map_err(Failure::Retry)?;
            }
            self.await_code(
                &mut tx,
                request_id,
                json!({ "channel": "contact_on_file", "kind": kind }),
            )
            .await?;
            tx.commit().await?;
            return Ok(Step::AwaitingContactOnFile);
        }
        if on_file.is_empty() && lookup.without_address() == 0 {
            // Nobody at all: the request waits out the same time as one sent to an address on
            // file, then closes the same way, so the sender cannot tell the two apart.
            self.await_code(
                &mut tx,
                request_id,
                json!({ "channel": "none", "matched": false }),
            )
            .await?;
            tx.commit().await?;
            return Ok(Step::AwaitingContactOnFile);
        }
        let why = if on_file.is_empty() {
            "the identifiers in the text match a record that holds no e-mail address: verify the person by other means"
        } else {
            "the identifiers in the text match records with different e-mail addresses on file"
        };
        self.to_review(tx, request_id, vec![why.to_owned()]).await
    }

    /// A waiting status that closes by itself after `confirmation_hours`.
    fn expiring(&self) -> Also<'static> {
        Also {
            expires_in_hours: Some(self.identity.confirmation_hours),
            ..Also::default()
        }
    }

    /// The plain acknowledgement of a deferred request, in a transaction of its own.
    async fn acknowledge_now(&self, request_id: i64) -> Result<(), Failure> {
        let mut tx = self.pool.begin().await?;
        if let Some(request) = RequestRow::lock(&mut tx, request_id).await? {
            self.acknowledger
                .acknowledge_in(&mut tx, &request, None)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The first code to the sender's own address, in the acknowledgement (`ack:<id>`): one
    /// e-mail with the reference, what we understood, the code and how long it is valid.
    async fn ask_sender_in_acknowledgement(
        &self,
        tx: &mut PgConnection,
        request: &RequestRow,
        subject_match: &serde_json::Value,
    ) -> Result<(), Failure> {
        let hours = self.identity.confirmation_hours;
        let code =
            verification::open(tx, request.id, Channel::Sender, &request.sender, hours).await?;
        let carried = code.as_deref().map(|code| CodeForSender {
            code,
            expires_hours: hours,
        });
        let acknowledged = self
            .acknowledger
            .acknowledge_with(
                tx,
                request,
                carried,
                Finding::NotLookedUp,
                Some(subject_match),
            )
            .await?;
        if acknowledged == Acknowledged::NotReplied {
            // Never reached: `acknowledge` does not defer a silent sender's acknowledgement.
            tracing::warn!(
                request_id = request.id,
                "code not sent: the sender is not written to"
            );
        }
        self.await_code(
            tx,
            request.id,
            json!({ "channel": "sender", "reason": "no trusted sender authentication", "in_acknowledgement": true }),
        )
        .await
    }

    /// A one-time code to the sender's own address.
    async fn ask_sender(&self, tx: &mut PgConnection, request: &RequestRow) -> Result<(), Failure> {
        let hours = self.identity.confirmation_hours;
        let round = verification::rounds(tx, request.id).await?;
        if let Some(code) =
            verification::open(tx, request.id, Channel::Sender, &request.sender, hours).await?
        {
            self.replier
                .send(
                    tx,
                    request,
                    "confirmation",
                    &DedupeKey::reply(request.id, Reply::Confirm { round }),
                    json!({ "code": code, "expires_hours": hours }),
                    vec![],
                )
                .await
                .map_err(Failure::Retry)?;
        }
        self.await_code(
            tx,
            request.id,
            json!({ "channel": "sender", "reason": "no trusted sender authentication" }),
        )
        .await
    }

    /// The request waits for a code (or for nobody, as long as a code would be waited for),
    /// and closes by itself after `confirmation_hours`.
    async fn await_code(
        &self,
        tx: &mut PgConnection,
        request_id: i64,
        detail: serde_json::Value,
    ) -> Result<(), Failure> {
        transition_also(
            tx,
            request_id,
            RequestStatus::AwaitingConfirmation,
            "confirmation_requested",
            detail,
            self.expiring(),
        )
        .await
        .map_err(poison)?;
        Ok(())
    }

    async fn to_review(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        request_id: i64,
        reasons: Vec<String>,
    ) -> Result<Step, Failure> {
        sqlx::query("UPDATE requests SET review = true WHERE id = $1")
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        transition(
            &mut tx,
            request_id,
            RequestStatus::NeedsReview,
            "flagged_for_review",
            json!({ "reasons": reasons }),
        )
        .await
        .map_err(poison)?;
        tx.commit().await?;
        Ok(Step::NeedsReview(reasons))
    }

    /// Creates the tasks; publishes those a worker can run. Returns how many were created.
    async fn plan(
        &self,
        tx: &mut PgConnection,
        request: &RequestRow,
        kind: RequestKind,
        ids: &SubjectIds,
        matches: &BTreeMap<String, StoreMatch>,
    ) -> Result<usize, Failure> {
        let mut count = 0;
        for store in &self.registry.settings {
            let Some((status, plan)) = plan_for(store, kind, ids, matches.get(&store.name)) else {
                continue;
            };
            let task: Option<i64> = sqlx::query_scalar(
                "INSERT INTO store_tasks (request_id, store, status, plan) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (request_id, store) DO NOTHING RETURNING id",
            )
            .bind(request.id)
            .bind(&store.name)
            .bind(status)
            .bind(&plan)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(task_id) = task else { continue };
            count += 1;
            if status == "pending" {
                publish_task(tx, &self.store_actions, task_id, None).await?;
            }
        }
        Ok(count)
    }
}

/// A request row that cannot be read (a kind or status this worker does not know) does not
/// become readable by trying again; anything else the database says may pass.
fn unreadable(request_id: i64) -> impl Fn(sqlx::Error) -> Failure {
    move |e| match e {
        sqlx::Error::ColumnDecode { .. } => {
            Failure::Poison(anyhow::anyhow!("request {request_id}: {e}"))
        }
        other => Failure::Retry(other.into()),
    }
}
