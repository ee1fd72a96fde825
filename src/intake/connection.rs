//! An authenticated IMAP session over TLS, STARTTLS or (loopback only) plain TCP.

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
    let tls = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .with_context(|| format!("TLS handshake with {host}"))?;
    Ok(ImapStream::Tls(Box::new(tls)))
}

/// Connects, secures and logs in. Errors say which step failed, never the password.
pub async fn open(
    settings: &ImapSettings,
) -> anyhow::Result<(Session, async_imap::types::Capabilities)> {
    let endpoint = format!("{}:{}", settings.host, settings.port);
    let tcp = tokio::time::timeout(
        Duration::from_secs(15),
        TcpStream::connect((settings.host.as_str(), settings.port)),
    )
    .await
    .map_err(|_| anyhow::anyhow!("IMAP {endpoint}: connection timed out"))?
    .with_context(|| format!("IMAP {endpoint}: cannot connect"))?;
    tcp.set_nodelay(true).ok();

    let stream = match settings.security {
        Security::Plain => ImapStream::Plain(tcp),
        Security::Tls => {
            tls_wrap(
                tcp,
                &settings.host,
                tls_config(settings.ca_file.as_deref())?,
            )
            .await?
        }
        Security::Starttls => {
            let mut client = async_imap::Client::new(ImapStream::Plain(tcp));
            client
                .read_response()
                .await
                .with_context(|| format!("IMAP {endpoint}: reading greeting"))?
                .ok_or_else(|| anyhow::anyhow!("IMAP {endpoint}: closed before greeting"))?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .with_context(|| format!("IMAP {endpoint}: STARTTLS refused"))?;
            let ImapStream::Plain(tcp) = client.into_inner() else {
                unreachable!("the stream was created plain")
            };
            let stream = tls_wrap(
                tcp,
                &settings.host,
                tls_config(settings.ca_file.as_deref())?,
            )
            .await?;
            return login(async_imap::Client::new(stream), settings, &endpoint, false).await;
        }
    };
    login(async_imap::Client::new(stream), settings, &endpoint, true).await
}

async fn login(
    mut client: async_imap::Client<ImapStream>,
    settings: &ImapSettings,
    endpoint: &str,
    read_greeting: bool,
) -> anyhow::Result<(Session, async_imap::types::Capabilities)> {
    if read_greeting {
        client
            .read_response()
            .await
            .with_context(|| format!("IMAP {endpoint}: reading greeting"))?
            .ok_or_else(|| anyhow::anyhow!("IMAP {endpoint}: closed before greeting"))?;
    }
    let mut session = client
        .login(&settings.username, settings.password.expose())
        .await
        .map_err(|(e, _)| anyhow::anyhow!("IMAP {endpoint}: login refused: {e}"))?;
    let capabilities = session
        .capabilities()
        .await
        .with_context(|| format!("IMAP {endpoint}: CAPABILITY"))?;
    Ok((session, capabilities))
}
