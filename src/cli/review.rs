//! `review ...`: the console's command-line twin, for scripting. Output is plain text by
//! default, JSON lines with `--json`. Every decision goes through the console's
//! [`Decider`] and is audited under the `--as` staff account.

use std::sync::Arc;

use sqlx::PgPool;

use clap::Subcommand;

use super::Application;
use crate::config::Settings;
use crate::domain::RequestKind;
use crate::outbound::templates::Templates;
use crate::request::deadline::{almaty, Calendar};
use crate::review::auth::{self, Staff};
use crate::review::decisions::{Decider, Decision};

#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Requests by deadline; by default those needing attention.
    List {
        /// A status, or `all`.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// One request: message, understanding, timeline, e-mails, decisions.
    Show {
        /// Request id or reference (DSR-2026-000123).
        request: String,
        #[arg(long)]
        json: bool,
    },
    /// Approve a flagged request as a kind, on the store match `review show` printed; it then
    /// runs like an automatic one.
    ///
    /// Refused until the stores have been searched, and when the match changed since you
    /// looked (its fingerprint differs). Conflicts, and open art. 8(2) obligations for erasure
    /// and consent withdrawal, hold the request unless you override them explicitly.
    Approve {
        request: String,
        #[arg(long)]
        kind: String,
        /// The store match fingerprint `review show` printed (the facts you approve).
        #[arg(long)]
        fingerprint: String,
        /// The identifiers point at different records and you have checked who it is.
        #[arg(long)]
        override_conflicts: bool,
        /// Go ahead despite an open obligation (law 94-V art. 8(2)).
        #[arg(long)]
        override_obligations: bool,
        /// The staff member deciding (an active account's e-mail).
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Reject with a reason, sent to the subject in the request's language (any open request;
    /// its open store tasks are cancelled).
    Reject {
        request: String,
        #[arg(long)]
        reason: String,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Close without action and without writing to the subject (any open request; its open
    /// store tasks are cancelled). The note is kept in the audit log.
    Close {
        request: String,
        #[arg(long)]
        note: String,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Send a failed request back through processing (to review if it was flagged and not
    /// approved).
    RetryRequest {
        request: String,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Ask the sender for more information.
    Ask {
        request: String,
        #[arg(long)]
        question: String,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Replay a failed store task.
    Retry {
        task_id: i64,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Mark a manual store task done (or record a processor's confirmation).
    Done {
        task_id: i64,
        /// What was done, and by whom.
        #[arg(long)]
        note: String,
        #[arg(long = "as")]
        as_staff: String,
    },
    /// Link a flagged request to the person it is about (replaces the sender's identifiers).
    Link {
        request: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        iin: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long = "as")]
        as_staff: String,
    },
}

/// Connected and migrated; a decision goes through [`decide`].
pub async fn run(app: &Application, command: ReviewCommand) -> anyhow::Result<()> {
    let (request, as_staff, decision) = match command {
        ReviewCommand::List { status, kind, json } => {
            return list(&app.settings, &app.pool, status, kind, json).await
        }
        ReviewCommand::Show { request, json } => {
            return show(&app.settings, &app.pool, &request, json).await
        }
        ReviewCommand::Approve {
            request,
            kind,
            fingerprint,
            override_conflicts,
            override_obligations,
            as_staff,
        } => (
            request,
            as_staff,
            Decision::Approve {
                kind: parse_kind(&kind)?,
                fingerprint,
                override_conflicts,
                override_obligations,
            },
        ),
        ReviewCommand::Close {
            request,
            note,
            as_staff,
        } => (request, as_staff, Decision::Close { note }),
        ReviewCommand::RetryRequest { request, as_staff } => {
            (request, as_staff, Decision::RetryRequest)
        }
        ReviewCommand::Reject {
            request,
            reason,
            as_staff,
        } => (request, as_staff, Decision::Reject { reason }),
        ReviewCommand::Retry { task_id, as_staff } => (
            request_of_task(&app.pool, task_id).await?,
            as_staff,
            Decision::RetryStoreTask { task_id },
        ),
        ReviewCommand::Done {
            task_id,
            note,
            as_staff,
        } => (
            request_of_task(&app.pool, task_id).await?,
            as_staff,
            Decision::MarkStoreTaskDone { task_id, note },
        ),
        ReviewCommand::Link {
            request,
            email,
            iin,
            phone,
            as_staff,
        } => {
            let mut subject = crate::stores::SubjectIds::default();
            if let Some(email) = email {
                let email = crate::domain::EmailAddress::parse(&email)
                    .map_err(|_| anyhow::anyhow!("--email is not a valid address"))?;
                subject.emails.push(email.to_string());
            }
            if let Some(iin) = iin {
                let iin =
                    crate::domain::Iin::parse(&iin).map_err(|e| anyhow::anyhow!("--iin: {e}"))?;
                subject.iins.push(iin.to_string());
            }
            if let Some(phone) = phone {
                let phone = crate::domain::Phone::parse(&phone)
                    .ok_or_else(|| anyhow::anyhow!("--phone is not a valid number"))?;
                subject.phones.push(phone.to_string());
            }
            (request, as_staff, Decision::LinkSubject { subject })
        }
        ReviewCommand::Ask {
            request,
            question,
            as_staff,
        } => (request, as_staff, Decision::AskInformation { question }),
    };
    decide(&app.settings, &app.pool, &request, &as_staff, decision).await
}

pub fn decider(settings: &Settings, pool: PgPool) -> anyhow::Result<Decider> {
    let templates = Arc::new(Templates::load(&settings.templates_dir)?);
    Ok(Decider::from_settings(settings, pool, templates))
}

pub async fn list(
    settings: &Settings,
    pool: &PgPool,
    status: Option<String>,
    kind: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
    let calendar = Calendar::new(&settings.calendar);
    let mut conn = pool.acquire().await?;
    let items = crate::review::queue(
        &mut conn,
        &calendar,
        &crate::review::QueueFilter {
            status,
            kind,
            limit: 1000,
        },
    )
    .await?;
    for i in items {
        if json {
            println!("{}", serde_json::to_string(&i)?);
        } else {
            println!(
                "{:>6}  {}  {:<18} {:<21} {:<5} due {}  {:>3} wd{}",
                i.id,
                i.reference,
                i.kind,
                i.status,
                i.language,
                i.due_at.with_timezone(&almaty()).format("%Y-%m-%d"),
                i.days_left,
                if i.review { "  flagged" } else { "" }
            );
        }
    }
    Ok(())
}

pub async fn show(settings: &Settings, pool: &PgPool, key: &str, json: bool) -> anyhow::Result<()> {
    let calendar = Calendar::new(&settings.calendar);
    let mut conn = pool.acquire().await?;
    let id = crate::review::resolve(&mut conn, key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no request {key}"))?;
    let d = crate::review::request_detail(&mut conn, &calendar, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no request {key}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    let i = &d.item;
    println!(
        "{} (id {})  {}  {}  language {}",
        i.reference, i.id, i.kind, i.status, i.language
    );
    println!("sender:   {}", d.sender);
    println!(
        "deadline: {} ({} working days left)",
        i.due_at.with_timezone(&almaty()).format("%Y-%m-%d %H:%M"),
        i.days_left
    );
    println!("flagged:  {}", i.review);
    if let Some(reasons) = d.understanding["reasons"].as_array() {
        for r in reasons {
            println!("  reason: {}", r.as_str().unwrap_or_default());
        }
    }
    if let Some(failure) = d.failure.as_deref().filter(|_| i.status == "failed") {
        println!("failed:   {failure}");
    }
    print_match(&d);
    println!(
        "\n--- message: {} ---\n{}\n---",
        d.message.subject, d.message.text
    );
    for a in &d.message.attachments {
        println!(
            "attachment {}: {} ({}, {} B)",
            a.index, a.filename, a.content_type, a.size
        );
    }
    println!("\ntimeline:");
    for e in &d.events {
        println!(
            "  {}  {}  {}",
            e.at.with_timezone(&almaty()).format("%Y-%m-%d %H:%M"),
            e.event,
            e.detail
        );
    }
    println!("e-mails:");
    for e in &d.emails {
        println!(
            "  {}  {}  {}  {}",
            e.created_at
                .with_timezone(&almaty())
                .format("%Y-%m-%d %H:%M"),
            e.kind,
            e.status,
            e.subject
        );
    }
    println!("decisions:");
    for a in &d.audit {
        println!(
            "  #{}  {}  {}  {}  {} -> {}",
            a.id,
            a.at.to_rfc3339(),
            a.actor,
            a.action,
            a.before,
            a.after
        );
    }
    Ok(())
}

/// The store match, as the console shows it: what `review approve --fingerprint` refers to.
fn print_match(d: &crate::review::RequestDetail) {
    let m = &d.subject_match;
    println!("\nstore match:");
    let Some(fingerprint) = &m.fingerprint else {
        println!("  the stores have not been searched yet (no approval possible until they are)");
        return;
    };
    println!("  fingerprint: {fingerprint}");
    if let Some(anchor) = &m.anchor {
        println!("  found by:    {anchor}");
    }
    if let Some(at) = &m.at {
        println!("  searched:    {at}");
    }
    if d.linked && m.anchor.as_deref() != Some("staff_link") {
        println!("  (found before staff linked the subject; the worker searches again)");
    }
    let mut any = false;
    for s in &m.stores {
        for t in &s.tables {
            any = true;
            let outside = t
                .outside
                .filter(|n| *n > 0)
                .map(|n| format!("  outside {n} (never acted on)"))
                .unwrap_or_default();
            println!(
                "  {}.{}: {} row(s) acted on  [{}]{outside}",
                s.store,
                t.table,
                t.bound,
                crate::review::subject_match::MatchView::identifiers_of(t)
            );
        }
    }
    if !any {
        println!("  no record of this subject in any store");
    }
    for c in &m.conflicts {
        println!("  CONFLICT: {c}  (approve with --override-conflicts only if checked)");
    }
    for o in &m.obligations {
        println!(
            "  OPEN OBLIGATION (art. 8(2)): {o}  (--override-obligations for erasure/withdrawal)"
        );
    }
    for u in &m.unreached {
        println!("  not searched: {u}");
    }
    if let Some(a) = &d.approval {
        println!(
            "  approved by {} as {} on {} (conflicts overridden: {}, obligations overridden: {})",
            a["by"].as_str().unwrap_or_default(),
            a["kind"].as_str().unwrap_or_default(),
            a["fingerprint"].as_str().unwrap_or_default(),
            a["override_conflicts"],
            a["override_obligations"],
        );
    }
}

async fn actor(pool: &PgPool, email: &str) -> anyhow::Result<Staff> {
    let mut conn = pool.acquire().await?;
    auth::find_staff(&mut conn, email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("--as: no active staff account with that address"))
}

/// The request a store task belongs to (its id as text, for [`decide`]).
pub async fn request_of_task(pool: &PgPool, task_id: i64) -> anyhow::Result<String> {
    let id: Option<i64> = sqlx::query_scalar("SELECT request_id FROM store_tasks WHERE id = $1")
        .bind(task_id)
        .fetch_optional(pool)
        .await?;
    id.map(|id| id.to_string())
        .ok_or_else(|| anyhow::anyhow!("no store task {task_id}"))
}

/// `review approve|reject|close|ask|retry-request|retry|done|link`: one decision through the
/// same [`Decider`] as the console, audited under the `--as` staff account.
pub async fn decide(
    settings: &Settings,
    pool: &PgPool,
    key: &str,
    as_staff: &str,
    decision: Decision,
) -> anyhow::Result<()> {
    let staff = actor(pool, as_staff).await?;
    let id = {
        let mut conn = pool.acquire().await?;
        crate::review::resolve(&mut conn, key)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no request {key}"))?
    };
    let decided = decider(settings, pool.clone())?
        .decide(&staff, id, decision)
        .await?;
    println!(
        "request {} is now {} (audit entry {})",
        decided.request_id, decided.status, decided.audit_id
    );
    Ok(())
}

pub fn parse_kind(kind: &str) -> anyhow::Result<RequestKind> {
    kind.parse().map_err(|e| anyhow::anyhow!("--kind: {e}"))
}
