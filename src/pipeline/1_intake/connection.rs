//! An authenticated IMAP session over TLS, STARTTLS or (loopback only) plain TCP, and the
//! limit on every wait for the server ([`CommandLimit`]): a server that accepts the connection
//! and then stops answering fails the session instead of holding intake (and the mailbox
//! leader lock) forever.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use crate::config::{ImapSettings, Security};

pub type Session = async_imap::Session<ImapStream>;

/// A plain or TLS stream, so one session type serves every security mode.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// rustls client configuration: the public web roots plus an optional private CA file.
pub fn tls_config(ca_file: Option<&std::path::Path>) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem =
            std::fs::read(path).with_context(|| format!("reading CA file {}", path.display()))?;
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots
                .add(cert.with_context(|| format!("CA file {}", path.display()))?)
                .with_context(|| format!("CA file {}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            anyhow::bail!("CA file {} holds no certificate", path.display());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn tls_wrap(
    tcp: TcpStream,
    host: &str,
    config: Arc<ClientConfig>,
) -> anyhow::Result<ImapStream> {
    let name = ServerName::try_from(host.to_owned())
        .with_context(|| format!("imap.host {host} is not a valid TLS server name"))?;
    let tls = TlsConnector::from(config).connect(name, tcp).await?;
    Ok(ImapStream::Tls(Box::new(tls)))
}

/// How long each step of a session may wait for the server (`imap.command_timeout_secs`).
#[derive(Debug, Clone)]
pub struct CommandLimit {
    endpoint: String,
    limit: Duration,
}

impl CommandLimit {
    pub fn new(settings: &ImapSettings) -> Self {
        Self {
            endpoint: format!("{}:{}", settings.host, settings.port),
            limit: Duration::from_secs(settings.command_timeout_secs.max(1)),
        }
    }

    /// Runs one step; its error, or its timeout, names the endpoint and the step
    /// (`IMAP host:993: UID FETCH timed out after 60 s`).
    pub async fn run<T, E: Into<anyhow::Error>>(
        &self,
        what: &str,
        step: impl Future<Output = Result<T, E>>,
    ) -> anyhow::Result<T> {
        match tokio::time::timeout(self.limit, step).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(e.into().context(format!("IMAP {}: {what}", self.endpoint))),
            Err(_) => Err(anyhow::anyhow!(
                "IMAP {}: {what} timed out after {} s",
                self.endpoint,
                self.limit.as_secs()
            )),
        }
    }
}

/// Connects, secures and logs in, each step under the command limit. Errors say which step
/// failed, never the password.
pub async fn open(
    settings: &ImapSettings,
) -> anyhow::Result<(Session, async_imap::types::Capabilities)> {
    let limit = CommandLimit::new(settings);
    let tcp = limit
        .run(
            "connecting",
            TcpStream::connect((settings.host.as_str(), settings.port)),
        )
        .await?;
    tcp.set_nodelay(true).ok();

    let stream = match settings.security {
        Security::Plain => ImapStream::Plain(tcp),
        Security::Tls => {
            let config = tls_config(settings.ca_file.as_deref())?;
            limit
                .run("TLS handshake", tls_wrap(tcp, &settings.host, config))
                .await?
        }
        Security::Starttls => {
            let mut client = async_imap::Client::new(ImapStream::Plain(tcp));
            greeting(&mut client, &limit).await?;
            limit
                .run(
                    "STARTTLS",
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await?;
            let ImapStream::Plain(tcp) = client.into_inner() else {
                unreachable!("the stream was created plain")
            };
            let config = tls_config(settings.ca_file.as_deref())?;
            let stream = limit
                .run("TLS handshake", tls_wrap(tcp, &settings.host, config))
                .await?;
            return login(async_imap::Client::new(stream), settings, &limit, false).await;
        }
    };
    login(async_imap::Client::new(stream), settings, &limit, true).await
}

async fn greeting(
    client: &mut async_imap::Client<ImapStream>,
    limit: &CommandLimit,
) -> anyhow::Result<()> {
    limit
        .run("reading greeting", client.read_response())
        .await?
        .ok_or_else(|| anyhow::anyhow!("IMAP {}: closed before greeting", limit.endpoint))?;
    Ok(())
}

async fn login(
    mut client: async_imap::Client<ImapStream>,
    settings: &ImapSettings,
    limit: &CommandLimit,
    read_greeting: bool,
) -> anyhow::Result<(Session, async_imap::types::Capabilities)> {
    if read_greeting {
        greeting(&mut client, limit).await?;
    }
    let login = async {
        client
            .login(&settings.username, settings.password.expose())
            .await
            .map_err(|(e, _)| anyhow::anyhow!("login refused: {e}"))
    };
    let mut session = limit.run("LOGIN", login).await?;
    let capabilities = limit.run("CAPABILITY", session.capabilities()).await?;
    Ok((session, capabilities))
}
