//! SMTP delivery of outbox e-mails (lettre).
//!
//! Each of `mailer_concurrency` send slots leases a few due rows in one statement
//! ([`outbox::lease`]: `lease_until` set, an attempt counted, committed at once), sends
//! them over its own SMTP connection, and marks each row sent right after the server's `250`.
//! No row lock and no database connection is held during the SMTP dialogue. A leased row is
//! not claimable by any slot or worker until its lease expires, so two workers never send it;
//! a worker that dies mid-batch leaves its rows claimable once the lease has run out (or at
//! once when a worker takes its lease name again: [`crate::outbound::owner`]), and the
//! only e-mail sent twice is the one that was in flight (the server had said `250`, the row was
//! not yet marked), with the same Message-ID so mail clients fold it.
//!
//! The lease outlasts any attempt: one e-mail's attempt (a `NOOP` on a kept connection,
//! reconnecting, sending) is cut off after twice `smtp.timeout_secs`, the lease is three times
//! it plus 10 s, and a slot starts the next e-mail of its batch only while the rest of the lease
//! still covers a whole attempt (`send_window`). Rows it could not start in time, or that follow
//! a failure, are handed back at once (their attempt uncounted).
//!
//! Every wait for the server is bounded by `smtp.timeout_secs` (lettre's own timeout covers
//! only the TCP connect): connecting with TLS, greeting, EHLO, STARTTLS and AUTH; sending one
//! e-mail; QUIT. A connection that timed out or failed is dropped, never reused, so a stalled
//! server cannot leave a half-spoken SMTP dialogue for the next e-mail. A slot keeps its
//! connection open across passes; one idle for longer than [`IDLE_CLOSE`] is closed, and one
//! idle for longer than [`IDLE_CHECK`] is checked with `NOOP` before it is trusted again.
//!
//! The slots take turns at the lease statement ([`LeaseGate`]), and a slot woken by a
//! notification that another slot has already found the outbox empty after does not look
//! again: one wake-up costs one lease statement that finds nothing, not one per slot.
//!
//! One e-mail costs two round trips where the server offers PIPELINING (RFC 2920): `MAIL`,
//! `RCPT` and `DATA` in one write, then the message and its final dot in one write. (lettre's
//! own `send` waits for the answer to each command: four round trips.)

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{
    header::Header, Attachment as LettreAttachment, Mailbox, MessageBuilder, MultiPart, SinglePart,
};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::Message;
use sqlx::PgPool;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::{Security, SmtpSettings};
use crate::db::{self, CHANNEL_EMAIL};
use crate::monitoring::Metrics;
use crate::outbound::outbox::{self, OutgoingEmail};
use crate::redact;

/// A connection idle this long is closed (servers drop idle clients after a few minutes).
pub const IDLE_CLOSE: Duration = Duration::from_secs(60);
/// A connection idle this long is tested with `NOOP` before the next e-mail.
pub const IDLE_CHECK: Duration = Duration::from_secs(5);
/// The most rows one slot leases at once; a slot starts at one and doubles while rows keep
/// coming, so a few due e-mails spread over all the slots and a burst costs few claims.
pub const MAX_BATCH: i64 = 8;

#[derive(Clone)]
pub struct Mailer {
    server: Arc<SmtpServer>,
    from: Mailbox,
    max_attempts: i32,
    lease: Duration,
    metrics: Metrics,
}

/// One send slot: its SMTP connection, kept across passes.
#[derive(Default)]
pub struct Slot {
    session: Option<Session>,
}

/// Where the slots of one mailer take turns at leasing: wake-ups are numbered, and
/// `empty_after` is the latest wake-up after which a lease found nothing due. Rows committed
/// after that lease came with a notification of their own (a later number), so a slot holding
/// a wake-up at or below `empty_after` has nothing to look for.
#[derive(Debug, Default)]
struct LeaseGate {
    turn: tokio::sync::Mutex<()>,
    empty_after: std::sync::atomic::AtomicU64,
}

impl LeaseGate {
    /// Leases up to `batch` e-mails for a slot woken by wake-up `woken` (numbered from 1),
    /// unless the outbox was seen empty since that wake-up; `None`: nothing to send.
    async fn lease(
        &self,
        pool: &PgPool,
        batch: i64,
        lease: Duration,
        woken: u64,
    ) -> sqlx::Result<Option<Vec<outbox::Leased<OutgoingEmail>>>> {
        use std::sync::atomic::Ordering;
        let _turn = self.turn.lock().await;
        if self.empty_after.load(Ordering::Acquire) >= woken {
            return Ok(None);
        }
        let leased: Vec<outbox::Leased<OutgoingEmail>> = outbox::lease(pool, batch, lease).await?;
        if leased.is_empty() {
            self.empty_after.fetch_max(woken, Ordering::AcqRel);
            return Ok(None);
        }
        Ok(Some(leased))
    }
}

struct Session {
    conn: AsyncSmtpConnection,
    pipelining: bool,
    used: Instant,
}

/// What one outbox pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub failed: usize,
}

/// The configured SMTP server and how to talk to it.
struct SmtpServer {
    host: String,
    port: u16,
    security: Security,
    /// STARTTLS parameters (lettre upgrades our stream).
    tls: Option<TlsParameters>,
    /// Implicit TLS (`smtp.security = "tls"`): our own handshake on our own stream.
    wrapper: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    credentials: Option<Credentials>,
    hello: ClientId,
    limit: Duration,
}

impl SmtpServer {
    /// Runs one step under the limit; a timeout names the server and the step.
    async fn bounded<T>(
        &self,
        what: &str,
        step: impl std::future::Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> anyhow::Result<T> {
        match tokio::time::timeout(self.limit, step).await {
            Ok(result) => {
                result.with_context(|| format!("SMTP {}:{}: {what}", self.host, self.port))
            }
            Err(_) => Err(anyhow::anyhow!(
                "SMTP {}:{}: {what} timed out after {} s",
                self.host,
                self.port,
                self.limit.as_secs()
            )),
        }
    }

    /// A connection ready to send: TLS as configured, greeted, authenticated.
    ///
    /// The TCP connection is ours, with `TCP_NODELAY`: lettre writes a message's body and its
    /// terminating `.` in two writes before it reads the answer, and with Nagle's algorithm on
    /// that second write waits for the server's delayed ACK (~40 ms) on every e-mail.
    async fn connect(&self) -> anyhow::Result<Session> {
        let tcp = match tokio::time::timeout(
            self.limit,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => {
                return Err(anyhow::anyhow!(
                    "SMTP {}:{}: connecting: {e}",
                    self.host,
                    self.port
                ))
            }
            Err(_) => {
                return Err(anyhow::anyhow!(
                    "SMTP {}:{}: connecting timed out after {} s",
                    self.host,
                    self.port,
                    self.limit.as_secs()
                ))
            }
        };
        tcp.set_nodelay(true)
            .with_context(|| format!("SMTP {}:{}: TCP_NODELAY", self.host, self.port))?;
        let stream: Box<dyn AsyncTokioStream> = match (&self.security, &self.wrapper) {
            (Security::Tls, Some(config)) => {
                let name = ServerName::try_from(self.host.clone())
                    .with_context(|| format!("smtp.host {} is not a TLS server name", self.host))?;
                let tls = tokio::time::timeout(
                    self.limit,
                    tokio_rustls::TlsConnector::from(config.clone()).connect(name, tcp),
                )
                .await
                .map_err(|_| {
                    anyhow::anyhow!(
                        "SMTP {}:{}: TLS handshake timed out after {} s",
                        self.host,
                        self.port,
                        self.limit.as_secs()
                    )
                })?
                .with_context(|| format!("SMTP {}:{}: TLS handshake", self.host, self.port))?;
                Box::new(TlsTcp(tls))
            }
            _ => Box::new(tcp),
        };
        self.bounded("connecting", async {
            let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
            if let (Security::Starttls, Some(tls)) = (self.security, &self.tls) {
                // Required: fails when the server does not offer STARTTLS.
                conn.starttls(tls.clone(), &self.hello).await?;
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(DEFAULT_MECHANISMS, credentials).await?;
            }
            // lettre keeps only the extensions it uses itself; PIPELINING is read here.
            let ehlo = conn.command(Ehlo::new(self.hello.clone())).await?;
            let pipelining = ehlo
                .message()
                .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING"));
            Ok(Session {
                conn,
                pipelining,
                used: Instant::now(),
            })
        })
        .await
    }

    /// Sends one e-mail on `session`.
    async fn send(&self, session: &mut Session, message: &Message) -> Result<(), SendError> {
        let raw = message.formatted();
        let envelope = message.envelope();
        let conn = &mut session.conn;
        if !session.pipelining {
            return self
                .bounded("sending", conn.send(envelope, &raw))
                .await
                .map(|_| ())
                .map_err(SendError::anywhere);
        }
        let mut options = vec![];
        let non_ascii = |a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii();
        if envelope.from().is_some_and(non_ascii) || envelope.to().iter().any(non_ascii) {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(SendError::anywhere(anyhow::anyhow!(
                    "the address is not ASCII and the server does not offer SMTPUTF8"
                )));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !raw.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(SendError::anywhere(anyhow::anyhow!(
                    "the message is not ASCII and the server does not offer 8BITMIME"
                )));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let mut group = Mail::new(envelope.from().cloned(), options).to_string();
        for to in envelope.to() {
            group.push_str(&Rcpt::new(to.clone(), vec![]).to_string());
        }
        group.push_str(&Data.to_string());
        let recipients = envelope.to().len();
        let body = DataBody::new(&raw).map_err(SendError::anywhere)?;
        // One write for MAIL, RCPT… and DATA; then their answers in order (an error answer
        // ends the dialogue: the connection is dropped, never reused). Until the message
        // itself is written the server cannot have taken it.
        self.bounded("sending", async {
            conn.command(Verbatim(&group)).await?;
            for _ in 0..recipients {
                conn.read_response().await?;
            }
            conn.read_response().await
        })
        .await
        .map_err(|error| SendError {
            error,
            nothing_taken: true,
        })?;
        // One write for the message and its final dot.
        self.bounded("sending", conn.command(body))
            .await
            .map(|_| ())
            .map_err(SendError::anywhere)
    }

    /// Says goodbye; a server that does not answer in time is simply left.
    async fn close(&self, mut session: Session) {
        let _ = self.bounded("QUIT", session.conn.quit()).await;
    }
}

impl Mailer {
    pub fn new(smtp: &SmtpSettings, reply_from: &str, max_attempts: i32) -> anyhow::Result<Self> {
        let from: Mailbox = reply_from
            .parse()
            .context("company.reply_from is not a mailbox")?;
        let tls = match smtp.security {
            Security::Plain => None,
            Security::Starttls | Security::Tls => {
                let mut builder = TlsParameters::builder(smtp.host.clone());
                if let Some(path) = &smtp.ca_file {
                    let pem = std::fs::read(path)
                        .with_context(|| format!("smtp.ca_file {}", path.display()))?;
                    builder = builder.add_root_certificate(
                        Certificate::from_pem(&pem)
                            .with_context(|| format!("smtp.ca_file {}", path.display()))?,
                    );
                }
                Some(builder.build_rustls()?)
            }
        };
        let wrapper = match smtp.security {
            Security::Tls => Some(crate::pipeline::intake::connection::tls_config(
                smtp.ca_file.as_deref(),
            )?),
            _ => None,
        };
        let credentials = match (&smtp.username, &smtp.password) {
            (Some(user), Some(password)) => {
                Some(Credentials::new(user.clone(), password.expose().to_owned()))
            }
            _ => None,
        };
        Ok(Self {
            server: Arc::new(SmtpServer {
                host: smtp.host.clone(),
                port: smtp.port,
                security: smtp.security,
                tls,
                wrapper,
                credentials,
                hello: ClientId::default(),
                limit: Duration::from_secs(smtp.timeout_secs.max(1)),
            }),
            from,
            max_attempts,
            lease: Duration::from_secs(3 * smtp.timeout_secs.max(1) + 10),
            metrics: Metrics::default(),
        })
    }

    /// Counts sends and failures and times them (`dsr_emails_*`, `dsr_smtp_send_seconds`,
    /// `dsr_ack_latency_seconds`).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Another lease length; never shorter than a whole attempt plus two seconds.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(self.attempt_limit() + Duration::from_secs(2));
        self
    }

    /// The longest one e-mail's attempt takes, whatever happens in it (a `NOOP` on a kept
    /// connection, connecting again, sending): twice the SMTP timeout.
    fn attempt_limit(&self) -> Duration {
        2 * self.server.limit
    }

    /// How long a leased row stays unclaimable by others.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// How long after leasing a batch its next e-mail may still be started: the rest of the
    /// lease must hold a whole attempt that times out, and a second for marking it.
    fn send_window(&self) -> Duration {
        self.lease
            .saturating_sub(self.attempt_limit() + Duration::from_secs(1))
    }

    /// Builds the RFC 5322 message for an outbox e-mail.
    pub fn build(&self, email: &OutgoingEmail) -> anyhow::Result<Message> {
        let to: Mailbox = email
            .to
            .parse()
            .context("recipient is not a valid address")?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{}>", email.message_id)))
            .header(ContentLanguage(email.language.clone()));
        let builder = with_thread(builder, email);
        if email.attachments.is_empty() {
            return Ok(builder
                .header(ContentType::TEXT_PLAIN)
                .body(email.body.clone())?);
        }
        let mut mixed = MultiPart::mixed().singlepart(SinglePart::plain(email.body.clone()));
        for a in &email.attachments {
            let content_type = ContentType::parse(&a.content_type)
                .with_context(|| format!("attachment {} has a bad content type", a.filename))?;
            mixed = mixed.singlepart(
                LettreAttachment::new(a.filename.clone()).body(a.content.clone(), content_type),
            );
        }
        Ok(builder.multipart(mixed)?)
    }

    /// Sends due e-mails until none is due, on a connection of its own that it closes at the
    /// end; returns what it did.
    pub async fn drain(&self, pool: &PgPool) -> anyhow::Result<Pass> {
        let mut slot = Slot::default();
        let result = self
            .drain_slot(pool, &mut slot, &LeaseGate::default(), 1)
            .await;
        self.close_slot(&mut slot).await;
        result
    }

    /// Closes the slot's connection, if any.
    pub async fn close_slot(&self, slot: &mut Slot) {
        if let Some(session) = slot.session.take() {
            self.server.close(session).await;
        }
    }

    /// Sends due e-mails on `slot` until none is due; the slot's connection stays open. `woken`
    /// is the number of the wake-up this pass answers (see [`LeaseGate`]).
    async fn drain_slot(
        &self,
        pool: &PgPool,
        slot: &mut Slot,
        gate: &LeaseGate,
        woken: u64,
    ) -> anyhow::Result<Pass> {
        let mut pass = Pass::default();
        if slot
            .session
            .as_ref()
            .is_some_and(|s| s.used.elapsed() >= IDLE_CLOSE)
        {
            self.close_slot(slot).await;
        }
        let mut batch = 1;
        loop {
            let Some(leased) = gate.lease(pool, batch, self.lease, woken).await? else {
                return Ok(pass);
            };
            let full = leased.len() as i64 == batch;
            let started = Instant::now();
            let mut rows = leased.into_iter().enumerate();
            while let Some((i, row)) = rows.next() {
                if i > 0 && started.elapsed() > self.send_window() {
                    // Too late to start within this lease: back to the pool, claimable at once.
                    let ids: Vec<i64> = std::iter::once(row.id)
                        .chain(rows.map(|(_, r)| r.id))
                        .collect();
                    outbox::release_leases(pool, &ids).await?;
                    break;
                }
                let email = &row.payload;
                let message = match self.build(email) {
                    Ok(message) => message,
                    Err(e) => {
                        // This e-mail can never be sent; the server is fine: go on.
                        self.failed(pool, row.id, &e, &mut pass).await?;
                        tracing::warn!(outbox_id = row.id, to = %redact::email(&email.to), "e-mail cannot be built: {e:#}");
                        continue;
                    }
                };
                let span =
                    tracing::info_span!("send", outbox_id = row.id, request_id = row.request_id);
                let attempt =
                    tokio::time::timeout(self.attempt_limit(), self.deliver(slot, &message))
                        .instrument(span.clone())
                        .await
                        .unwrap_or_else(|_| {
                            // The connection, if any, went with the future.
                            Err(anyhow::anyhow!(
                                "SMTP {}:{}: the attempt took longer than {} s",
                                self.server.host,
                                self.server.port,
                                self.attempt_limit().as_secs()
                            ))
                        });
                match attempt {
                    Ok(()) => {
                        let intake_at = outbox::mark_leased_sent(pool, row.id).await?;
                        pass.sent += 1;
                        self.metrics.email_sent();
                        if let Some(at) = intake_at {
                            let latency = chrono::Utc::now() - at;
                            self.metrics
                                .ack_latency(latency.to_std().unwrap_or(Duration::ZERO));
                        }
                        span.in_scope(
                            || tracing::info!(to = %redact::email(&email.to), "e-mail sent"),
                        );
                    }
                    Err(e) => {
                        let gave_up = self.failed(pool, row.id, &e, &mut pass).await?;
                        let rest: Vec<i64> = rows.map(|(_, r)| r.id).collect();
                        outbox::release_leases(pool, &rest).await?;
                        span.in_scope(|| tracing::warn!(to = %redact::email(&email.to), gave_up, "sending failed: {e:#}"));
                        // A failing server fails every row: stop this pass and back off.
                        return Ok(pass);
                    }
                }
            }
            batch = if full { (batch * 2).min(MAX_BATCH) } else { 1 };
        }
    }

    /// Records a failed attempt at a leased e-mail (its lease ends, it backs off or is given
    /// up) and counts it; returns whether it was given up.
    async fn failed(
        &self,
        pool: &PgPool,
        id: i64,
        error: &anyhow::Error,
        pass: &mut Pass,
    ) -> anyhow::Result<bool> {
        let gave_up =
            outbox::record_leased_failure(pool, id, &format!("{error:#}"), self.max_attempts)
                .await?;
        pass.failed += 1;
        self.metrics.email_failed(gave_up);
        Ok(gave_up)
    }

    /// Sends on the slot's connection, opening one if needed (or if the kept one does not
    /// answer `NOOP` after a while idle); a connection that failed or timed out is dropped
    /// (closed without a word) and never used again.
    async fn deliver(&self, slot: &mut Slot, message: &Message) -> anyhow::Result<()> {
        let reused = slot.session.is_some();
        let mut session = match slot.session.take() {
            Some(mut kept) if kept.used.elapsed() >= IDLE_CHECK => {
                let alive = tokio::time::timeout(self.server.limit, kept.conn.test_connected())
                    .await
                    .unwrap_or(false);
                if alive {
                    kept
                } else {
                    drop(kept);
                    self.server.connect().await?
                }
            }
            Some(kept) => kept,
            None => self.server.connect().await?,
        };
        let started = Instant::now();
        match self.server.send(&mut session, message).await {
            Ok(()) => {}
            // A kept connection the server has closed meanwhile fails on its first command,
            // before the server could take anything: once more on a new connection.
            Err(e) if reused && e.nothing_taken => {
                drop(session);
                tracing::debug!("kept SMTP connection failed ({:#}); reconnecting", e.error);
                session = self.server.connect().await?;
                self.server
                    .send(&mut session, message)
                    .await
                    .map_err(|e| e.error)?;
            }
            Err(e) => return Err(e.error),
        }
        self.metrics.smtp_send(started.elapsed());
        session.used = Instant::now();
        slot.session = Some(session);
        Ok(())
    }

    /// Sends the outbox's e-mails until `shutdown`, with `concurrency` slots sending at once.
    ///
    /// Each slot runs on its own: it drains (leasing its own rows, on its own SMTP connection
    /// kept across passes), then waits for the next wake-up. One LISTEN connection wakes every
    /// slot on each outbox notification and at least every `poll`. (Slots that waited for each
    /// other's pass to end left one connection doing all the work under a steady stream: the
    /// first slot to find a row kept finding more while the others sat out the pass.)
    pub async fn run(
        self,
        pool: PgPool,
        poll: Duration,
        concurrency: u16,
        shutdown: CancellationToken,
    ) {
        // Wake-ups are numbered from 1 (the first pass of each slot answers number 1).
        let (wake, woken) = tokio::sync::watch::channel(1u64);
        let gate = std::sync::Arc::new(LeaseGate::default());
        let listener = db::run_on_notify(
            "mailer",
            CHANNEL_EMAIL,
            pool.clone(),
            poll,
            shutdown.clone(),
            move |_| {
                wake.send_modify(|n| *n = n.wrapping_add(1));
                async { Ok(0) }
            },
        );
        let slots = (0..concurrency.max(1)).map(|_| {
            let (mailer, pool, shutdown) = (self.clone(), pool.clone(), shutdown.clone());
            let (mut woken, gate) = (woken.clone(), gate.clone());
            async move {
                let mut slot = Slot::default();
                loop {
                    let number = *woken.borrow_and_update();
                    if let Err(e) = mailer.drain_slot(&pool, &mut slot, &gate, number).await {
                        tracing::warn!("mailer: {e:#}");
                    }
                    tokio::select! {
                        changed = woken.changed() => if changed.is_err() { break },
                        _ = shutdown.cancelled() => break,
                    }
                }
                mailer.close_slot(&mut slot).await;
            }
        });
        futures::future::join(listener, futures::future::join_all(slots)).await;
    }
}

/// A failed send, and whether the server can have taken the message.
struct SendError {
    error: anyhow::Error,
    /// Failed before the message itself was written: nothing was taken.
    nothing_taken: bool,
}

impl SendError {
    fn anywhere(error: anyhow::Error) -> Self {
        Self {
            error,
            nothing_taken: false,
        }
    }
}

/// Text written as it is (a pipelined group of commands, each with its CRLF).
struct Verbatim<'a>(&'a str);

impl fmt::Display for Verbatim<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A message after `DATA`: dot-stuffed (RFC 5321 4.5.2) as lettre's own codec does, with the
/// final `CRLF . CRLF`, to be written at once.
struct DataBody(String);

impl DataBody {
    fn new(raw: &[u8]) -> anyhow::Result<Self> {
        let text = std::str::from_utf8(raw).context("the formatted message is not UTF-8")?;
        let mut out = String::with_capacity(text.len() + 16);
        let mut line_start = true;
        let mut after_cr = false;
        for c in text.chars() {
            if c == '.' && line_start {
                out.push('.');
            }
            out.push(c);
            line_start = after_cr && c == '\n';
            after_cr = c == '\r';
        }
        out.push_str("\r\n.\r\n");
        Ok(Self(out))
    }
}

impl fmt::Display for DataBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Threading (`In-Reply-To`, `References`) and RFC 3834 marking.
fn with_thread(mut builder: MessageBuilder, email: &OutgoingEmail) -> MessageBuilder {
    if let Some(parent) = &email.in_reply_to {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    if !email.references.is_empty() {
        let refs: Vec<String> = email.references.iter().map(|r| format!("<{r}>")).collect();
        builder = builder.references(refs.join(" "));
    }
    if email.auto_replied {
        builder = builder.header(AutoSubmitted("auto-replied".into()));
    }
    builder
}

#[derive(Clone)]
struct AutoSubmitted(String);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[derive(Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// An implicit-TLS stream as lettre's transport.
#[derive(Debug)]
struct TlsTcp(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl tokio::io::AsyncRead for TlsTcp {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsTcp {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
