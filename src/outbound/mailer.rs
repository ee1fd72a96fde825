//! SMTP delivery of outbox e-mails (lettre).
//!
//! Each e-mail is claimed in its own transaction (`FOR UPDATE SKIP LOCKED`), sent, and marked
//! sent in that same transaction. Another worker skips a claimed row, so two workers never send
//! it; a crash before the commit leaves the row pending and it is sent again — the only window
//! for a duplicate is a crash between the SMTP server's `250` and the commit, and the resend
//! carries the same Message-ID so mail clients can fold it.
//!
//! Every wait for the server is bounded by `smtp.timeout_secs` (lettre's own timeout covers
//! only the TCP connect): connecting with TLS, greeting, EHLO, STARTTLS and AUTH; sending one
//! e-mail; QUIT. A connection that timed out or failed is dropped, never reused, so a stalled
//! server can neither hold a claimed row (and its database connection) nor leave a half-spoken
//! SMTP dialogue for the next e-mail. Each send slot keeps its connection for the e-mails of
//! one pass and closes it when the outbox is empty.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{
    header::Header, Attachment as LettreAttachment, Mailbox, MessageBuilder, MultiPart, SinglePart,
};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;
use sqlx::{PgPool, Row};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::outbox::{self, OutgoingEmail};
use crate::config::{Security, SmtpSettings};
use crate::db::{self, CHANNEL_OUTBOX};
use crate::monitoring::Metrics;
use crate::redact;

#[derive(Clone)]
pub struct Mailer {
    server: Arc<SmtpServer>,
    from: Mailbox,
    max_attempts: i32,
    metrics: Metrics,
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
    async fn connect(&self) -> anyhow::Result<AsyncSmtpConnection> {
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
            Ok(conn)
        })
        .await
    }

    async fn send(&self, conn: &mut AsyncSmtpConnection, message: &Message) -> anyhow::Result<()> {
        let raw = message.formatted();
        self.bounded("sending", conn.send(message.envelope(), &raw))
            .await
            .map(|_| ())
    }

    /// Says goodbye; a server that does not answer in time is simply left.
    async fn close(&self, mut conn: AsyncSmtpConnection) {
        let _ = self.bounded("QUIT", conn.quit()).await;
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
            Security::Tls => Some(crate::intake::connection::tls_config(
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
            metrics: Metrics::default(),
        })
    }

    /// Counts sends and failures and times them (`dsr_emails_*`, `dsr_smtp_send_seconds`,
    /// `dsr_ack_latency_seconds`).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
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

    /// Sends due e-mails one by one until none is due; returns what it did.
    pub async fn drain(&self, pool: &PgPool) -> anyhow::Result<Pass> {
        let mut pass = Pass::default();
        let mut conn: Option<AsyncSmtpConnection> = None;
        let result = self.drain_on(pool, &mut conn, &mut pass).await;
        if let Some(conn) = conn {
            self.server.close(conn).await;
        }
        result.map(|()| pass)
    }

    async fn drain_on(
        &self,
        pool: &PgPool,
        conn: &mut Option<AsyncSmtpConnection>,
        pass: &mut Pass,
    ) -> anyhow::Result<()> {
        loop {
            let mut tx = pool.begin().await?;
            let Some(row) = sqlx::query(
                // Acknowledgements first: they are the promise of an answer within seconds;
                // then everything else in the order it was decided.
                // For an acknowledgement, also when intake stored the request's message: the
                // start of dsr_ack_latency_seconds.
                "SELECT o.id, o.payload, o.request_id,
                        CASE WHEN o.dedupe_key LIKE 'ack:%' THEN
                          (SELECT i.received_at FROM requests r
                             JOIN inbound_messages i ON i.id = r.inbound_message_id
                           WHERE r.id = o.request_id)
                        END AS intake_at
                 FROM outbox o
                 WHERE o.channel = 'email' AND o.status = 'pending' AND o.next_attempt_at <= now()
                 ORDER BY (o.dedupe_key NOT LIKE 'ack:%'), o.id LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(());
            };
            let id: i64 = row.try_get("id")?;
            let request_id: Option<i64> = row.try_get("request_id")?;
            let intake_at: Option<chrono::DateTime<chrono::Utc>> = row.try_get("intake_at")?;
            let payload: sqlx::types::Json<OutgoingEmail> = row.try_get("payload")?;
            let email = payload.0;
            let span = tracing::info_span!("send", outbox_id = id, request_id);
            let result = match self.build(&email) {
                Ok(message) => self.deliver(conn, &message).instrument(span.clone()).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => {
                    outbox::mark_sent(&mut tx, id).await?;
                    tx.commit().await?;
                    pass.sent += 1;
                    self.metrics.email_sent();
                    if let Some(at) = intake_at {
                        let latency = chrono::Utc::now() - at;
                        self.metrics
                            .ack_latency(latency.to_std().unwrap_or(Duration::ZERO));
                    }
                    span.in_scope(|| tracing::info!(to = %redact::email(&email.to), "e-mail sent"));
                }
                Err(e) => {
                    let gave_up =
                        outbox::record_failure(&mut tx, id, &format!("{e:#}"), self.max_attempts)
                            .await?;
                    tx.commit().await?;
                    pass.failed += 1;
                    self.metrics.email_failed(gave_up);
                    span.in_scope(|| tracing::warn!(to = %redact::email(&email.to), gave_up, "sending failed: {e:#}"));
                    // A failing server fails every row: stop this pass and back off.
                    return Ok(());
                }
            }
        }
    }

    /// Sends on the slot's connection, opening one if needed; a connection that failed or
    /// timed out is dropped (closed without a word) and never used again.
    async fn deliver(
        &self,
        conn: &mut Option<AsyncSmtpConnection>,
        message: &Message,
    ) -> anyhow::Result<()> {
        let mut open = match conn.take() {
            Some(open) => open,
            None => self.server.connect().await?,
        };
        let started = std::time::Instant::now();
        self.server.send(&mut open, message).await?;
        self.metrics.smtp_send(started.elapsed());
        *conn = Some(open);
        Ok(())
    }

    /// Drains the outbox whenever it is notified, and at least every `poll`, with `concurrency`
    /// sends in flight (each claims its own row; one LISTEN connection for all of them).
    pub async fn run(
        self,
        pool: PgPool,
        poll: Duration,
        concurrency: u16,
        shutdown: CancellationToken,
    ) {
        db::run_on_notify(
            "mailer",
            CHANNEL_OUTBOX,
            pool,
            poll,
            shutdown,
            move |pool| {
                let mailer = self.clone();
                async move {
                    let passes = futures::future::join_all(
                        (0..concurrency.max(1)).map(|_| mailer.drain(&pool)),
                    )
                    .await;
                    let mut handled = 0;
                    for pass in passes {
                        let pass = pass?;
                        handled += pass.sent + pass.failed;
                    }
                    Ok(handled)
                }
            },
        )
        .await
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
