//! The console's command-line twin, for scripting: `dsr-worker review ...`, `staff add`,
//! `audit verify`. Output is plain text by default, JSON lines with `--json`.

use std::sync::Arc;

use sqlx::PgPool;

use super::audit::{self, Verification};
use super::auth::{self, Role, Staff};
use super::decisions::{Decider, Decision};
use crate::config::Settings;
use crate::domain::RequestKind;
use crate::outbound::templates::Templates;
use crate::queue::topology::WorkQueue;
use crate::workflow::deadline::{almaty, Calendar};

pub fn decider(settings: &Settings, pool: PgPool) -> anyhow::Result<Decider> {
    let templates = Arc::new(Templates::load(&settings.templates_dir)?);
    Ok(Decider::new(
        pool,
        templates,
        settings.company.clone(),
        WorkQueue::requests(
            &settings.rabbitmq.prefix,
            &settings.rabbitmq.retry_delays_ms,
        ),
        Calendar::new(&settings.calendar),
        settings.deadlines.clone(),
    ))
}

/// `staff add`: the password comes from `DSR_STAFF_PASSWORD` or the first line of stdin.
pub async fn staff_add(pool: &PgPool, email: &str, role: Role) -> anyhow::Result<()> {
    let password = match std::env::var("DSR_STAFF_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprintln!("password for the new account (one line on stdin):");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let actor = format!("cli:{}", whoami());
    let staff = auth::add_staff(pool, email, role, &password, &actor).await?;
    println!("staff {} added as {}", staff.id, role.as_str());
    Ok(())
}

/// `staff deactivate`: the account can no longer sign in; its sessions end now.
pub async fn staff_deactivate(pool: &PgPool, email: &str) -> anyhow::Result<()> {
    auth::deactivate_staff(pool, email, &format!("cli:{}", whoami())).await?;
    println!("staff account deactivated");
    Ok(())
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
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
    let items = super::queue(
        &mut conn,
        &calendar,
        &super::QueueFilter {
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
    let id = super::resolve(&mut conn, key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no request {key}"))?;
    let d = super::request_detail(&mut conn, &calendar, id)
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
fn print_match(d: &super::RequestDetail) {
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
                super::subject_match::MatchView::identifiers_of(t)
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
        super::resolve(&mut conn, key)
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

/// `audit verify`: `Ok(true)` when the chain is intact.
pub async fn verify(pool: &PgPool) -> anyhow::Result<bool> {
    let mut conn = pool.acquire().await?;
    match audit::verify(&mut conn).await? {
        Verification::Intact { entries, head } => {
            println!("audit log intact: {entries} entries, head {head}");
            Ok(true)
        }
        Verification::Broken {
            id,
            reason,
            checked,
        } => {
            println!(
                "audit log BROKEN at entry {id}: {reason} ({checked} entries before it verified)"
            );
            Ok(false)
        }
    }
}
