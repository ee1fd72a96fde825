//! The mailbox reader loop: select, fetch what is new, wait (IDLE or poll), reconnect on failure.
//!
//! Every command waits at most `imap.command_timeout_secs` for the server (each message of a
//! FETCH too); a timeout fails the session like any other error: it is dropped, logged
//! (`intake: IMAP host:993: UID FETCH timed out after 60 s; reconnecting in 500 ms`), and
//! intake reconnects with backoff. Nothing is lost: the checkpoint advances only with what was
//! stored.
//!
//! While mail is arriving the reader does not IDLE: Dovecot reports new mail in IDLE about half a
//! second late, which was the whole of the intake latency at 50 requests/s. For `BUSY_FOR` after
//! the last new message it polls (NOOP + UID SEARCH) every `BUSY_POLL`, then goes back to IDLE
//! (or to `poll_secs` polling) when the mailbox is quiet. A quiet IDLE lasts at most
//! `imap.idle_check_ms` (default 250 ms) before the reader looks again, so the first message
//! after a quiet spell does not wait for a late notification either.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::TryStreamExt;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::connection::{self, CommandLimit, Session};
use super::leader::Leadership;
use super::store::{self, Fetched, Stored};
use crate::config::{ImapSettings, Secret};

/// UIDs fetched per FETCH command.
const FETCH_CHUNK: usize = 50;
/// While mail is arriving: poll this often instead of waiting in IDLE…
const BUSY_POLL: Duration = Duration::from_millis(40);
/// …for this long after the last new message.
const BUSY_FOR: Duration = Duration::from_secs(2);
/// How often a standby worker tries to become the mailbox reader.
const STANDBY_RETRY: Duration = Duration::from_secs(5);

/// Reads the mailbox until `shutdown`, as the leader or as a standby waiting to become one.
pub async fn run(
    settings: ImapSettings,
    pool: PgPool,
    database_url: Secret,
    shutdown: CancellationToken,
) {
    let key = checkpoint_key(&settings);
    let mut backoff = settings.reconnect_backoff();
    let mut standby_logged = false;
    loop {
        let mut leadership = match Leadership::try_acquire(&database_url, &key).await {
            Ok(Some(l)) => {
                tracing::info!("intake: this worker reads the mailbox");
                standby_logged = false;
                l
            }
            Ok(None) => {
                if !standby_logged {
                    tracing::info!("intake: another worker reads the mailbox; standing by");
                    standby_logged = true;
                }
                if sleep_or_shutdown(STANDBY_RETRY, &shutdown).await {
                    return;
                }
                continue;
            }
            Err(e) => {
                let wait = backoff.next_wait();
                tracing::warn!("intake: cannot take the leader lock: {e:#}; retrying in {wait:?}");
                if sleep_or_shutdown(wait, &shutdown).await {
                    return;
                }
                continue;
            }
        };
        loop {
            let mut connected = false;
            match session(
                &settings,
                &pool,
                &key,
                &mut leadership,
                &shutdown,
                &mut connected,
            )
            .await
            {
                Ok(()) => return,
                Err(e) => {
                    if connected {
                        backoff.reset();
                    }
                    tracing::warn!(
                        "intake: {e:#}; reconnecting in {} ms",
                        backoff.current().as_millis()
                    );
                }
            }
            if sleep_or_shutdown(backoff.next_wait(), &shutdown).await {
                return;
            }
            if leadership.check().await.is_err() {
                tracing::warn!("intake: leader lock lost; trying to take it again");
                break;
            }
        }
    }
}

/// The checkpoint key of a mailbox: `user@host:port/MAILBOX` (the company's mailbox, not a
/// subject's address).
pub fn checkpoint_key(settings: &ImapSettings) -> String {
    format!(
        "{}@{}:{}/{}",
        settings.username, settings.host, settings.port, settings.mailbox
    )
}

/// Returns `true` if shutdown was requested while sleeping.
async fn sleep_or_shutdown(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => false,
        _ = shutdown.cancelled() => true,
    }
}

async fn session(
    settings: &ImapSettings,
    pool: &PgPool,
    key: &str,
    leadership: &mut Leadership,
    shutdown: &CancellationToken,
    connected: &mut bool,
) -> anyhow::Result<()> {
    let limit = CommandLimit::new(settings);
    let (mut session, capabilities) = connection::open(settings).await?;
    *connected = true;
    let use_idle = settings.idle && capabilities.has_str("IDLE");
    let selected = limit
        .run(
            &format!("SELECT {}", settings.mailbox),
            session.select(&settings.mailbox),
        )
        .await?;
    let validity = selected
        .uid_validity
        .ok_or_else(|| anyhow::anyhow!("server sent no UIDVALIDITY for {}", settings.mailbox))?;
    let mut last = store::last_uid(pool, key, validity).await?;
    tracing::info!(
        mailbox = %settings.mailbox,
        uid_validity = validity,
        last_uid = last,
        idle = use_idle,
        "intake: mailbox selected"
    );
    let mut last_new: Option<Instant> = None;
    loop {
        let before = last;
        last = fetch_new(&mut session, pool, settings, key, validity, last).await?;
        leadership.check().await?;
        if last != before {
            last_new = Some(Instant::now());
        }
        if last_new.is_some_and(|at| at.elapsed() < BUSY_FOR) {
            if sleep_or_shutdown(BUSY_POLL, shutdown).await {
                limit.run("LOGOUT", session.logout()).await.ok();
                return Ok(());
            }
        } else if use_idle {
            let mut idle = session.idle();
            limit.run("IDLE", idle.init()).await?;
            let outcome = {
                // Bounded by idle_secs (and by idle_check_ms: a late notification is not
                // waited for): then DONE, and the next round of NOOP/SEARCH.
                let (wait, _stop) = idle.wait_with_timeout(idle_wait(settings));
                tokio::select! {
                    r = wait => Some(r),
                    _ = shutdown.cancelled() => None,
                }
            };
            session = limit.run("DONE (ending IDLE)", idle.done()).await?;
            match outcome {
                None => {
                    limit.run("LOGOUT", session.logout()).await.ok();
                    return Ok(());
                }
                Some(result) => {
                    result.context("waiting in IDLE")?;
                }
            }
        } else if sleep_or_shutdown(Duration::from_secs(settings.poll_secs), shutdown).await {
            limit.run("LOGOUT", session.logout()).await.ok();
            return Ok(());
        }
    }
}

/// How long one IDLE lasts while the mailbox is quiet.
fn idle_wait(settings: &ImapSettings) -> Duration {
    let renew = Duration::from_secs(settings.idle_secs);
    match settings.idle_check_ms {
        0 => renew,
        ms => renew.min(Duration::from_millis(ms)),
    }
}

/// Fetches and stores every message above `last`; returns the new last UID.
#[tracing::instrument(name = "fetch", skip_all, fields(uid_validity = uid_validity, after = last))]
pub async fn fetch_new(
    session: &mut Session,
    pool: &PgPool,
    settings: &ImapSettings,
    key: &str,
    uid_validity: u32,
    mut last: u32,
) -> anyhow::Result<u32> {
    let limit = CommandLimit::new(settings);
    // Without a NOOP, Dovecot's UID SEARCH does not see mail appended since the last command.
    limit.run("NOOP", session.noop()).await?;
    let found = limit
        .run(
            "UID SEARCH",
            session.uid_search(format!("UID {}:*", last.saturating_add(1))),
        )
        .await?;
    // `n:*` also matches the highest UID when it is below n: keep only what is new.
    let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
    uids.sort_unstable();
    for chunk in uids.chunks(FETCH_CHUNK) {
        let sizes: HashMap<u32, u32> = fetch(session, &limit, chunk, "(UID RFC822.SIZE)")
            .await?
            .iter()
            .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
            .collect();
        let (whole, too_big): (Vec<u32>, Vec<u32>) = chunk.iter().partition(|u| {
            u64::from(sizes.get(u).copied().unwrap_or(0)) <= settings.max_message_bytes
        });
        let mut messages: Vec<(u32, Vec<u8>, u64, bool)> = vec![];
        if !whole.is_empty() {
            for f in fetch(session, &limit, &whole, "(UID RFC822.SIZE BODY.PEEK[])").await? {
                if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                    messages.push((uid, body.to_vec(), body.len() as u64, false));
                }
            }
        }
        if !too_big.is_empty() {
            for f in fetch(
                session,
                &limit,
                &too_big,
                "(UID RFC822.SIZE BODY.PEEK[HEADER])",
            )
            .await?
            {
                if let (Some(uid), Some(header)) = (f.uid, f.header()) {
                    tracing::warn!(
                        uid,
                        size = f.size,
                        limit = settings.max_message_bytes,
                        "intake: message over the size limit; keeping its header only"
                    );
                    messages.push((uid, header.to_vec(), u64::from(f.size.unwrap_or(0)), true));
                }
            }
        }
        messages.sort_by_key(|m| m.0);
        let batch: Vec<Fetched> = messages
            .into_iter()
            .map(|(uid, raw, size_bytes, truncated)| Fetched {
                uid,
                raw,
                size_bytes,
                truncated,
            })
            .collect();
        let stored = store::store_all(pool, key, uid_validity, &batch).await?;
        for (m, stored) in batch.iter().zip(stored) {
            match stored {
                Stored::New(id) => {
                    tracing::info!(
                        uid = m.uid,
                        inbound_id = id,
                        bytes = m.size_bytes,
                        "intake: stored"
                    )
                }
                Stored::Known(id) => {
                    tracing::debug!(uid = m.uid, inbound_id = id, "intake: already stored")
                }
            }
            last = last.max(m.uid);
        }
        // UIDs that vanished between SEARCH and FETCH (expunged) are passed over.
        last = last.max(*chunk.last().expect("chunks are never empty"));
    }
    Ok(last)
}

/// One UID FETCH; the limit applies to the command and to each message's arrival, so a large
/// batch may take long but a server that stops sending fails it.
async fn fetch(
    session: &mut Session,
    limit: &CommandLimit,
    uids: &[u32],
    query: &str,
) -> anyhow::Result<Vec<async_imap::types::Fetch>> {
    let set = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let what = format!("UID FETCH {query}");
    let stream = limit.run(&what, session.uid_fetch(&set, query)).await?;
    futures::pin_mut!(stream);
    let mut fetched = vec![];
    while let Some(item) = limit.run(&what, stream.try_next()).await? {
        fetched.push(item);
    }
    Ok(fetched)
}
