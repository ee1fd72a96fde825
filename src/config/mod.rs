//! Typed configuration: one TOML file, then environment overrides, validated before anything starts.
//!
//! Every key can be overridden from the environment as `DSR__SECTION__KEY` (double underscores
//! separate the path, e.g. `DSR__DATABASE__URL`, `DSR__IMAP__PASSWORD`). Values are read as TOML
//! scalars when they parse as such (`42`, `true`, `[1, 2]`) and as strings otherwise. A missing or
//! malformed key stops the worker with an error that names the key (`imap.port: invalid type ...`).
//!
//! The settings of a component that has its own (stores, retention, deadlines) are defined
//! beside it and assembled here; what they share with this module ([`Secret`],
//! [`ConfigError`], [`CompanySettings`]) lives in leaf files that import nothing of the crate.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::request::deadline::CalendarSettings;
use crate::request::deadline::DeadlineSettings;
pub use crate::retention::RetentionSettings;
pub use crate::stores::settings::{IdentitySettings, StoreSettings};

pub mod company;
pub mod error;
pub mod secret;

pub use company::CompanySettings;
pub use error::ConfigError;
pub use secret::Secret;

/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = "DSR__";

fn key_error(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.into(),
        message: message.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub imap: ImapSettings,
    pub smtp: SmtpSettings,
    pub rabbitmq: RabbitSettings,
    pub company: CompanySettings,
    #[serde(default)]
    pub worker: WorkerSettings,
    /// Public holidays and working weekends (Kazakhstan), per year.
    #[serde(default)]
    pub calendar: CalendarSettings,
    /// Working days allowed per request kind.
    #[serde(default)]
    pub deadlines: DeadlineSettings,
    /// When the worker may act without a confirmation round trip.
    #[serde(default)]
    pub identity: IdentitySettings,
    /// The company's registered data stores.
    #[serde(default)]
    pub stores: Vec<StoreSettings>,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    /// How mail is read: the cue vocabulary and the statistical reader's model.
    #[serde(default)]
    pub understand: UnderstandSettings,
    /// The staff review console (web) and its daily deadline digest.
    #[serde(default)]
    pub console: ConsoleSettings,
    /// How long the worker's own database keeps personal data it no longer needs.
    #[serde(default)]
    pub retention: RetentionSettings,
    /// The operations endpoint: Prometheus metrics and health probes.
    #[serde(default)]
    pub ops: OpsSettings,
    /// Directory of reply templates (`kk/`, `ru/`, `en/`), relative to the config file's
    /// directory's parent when relative (so `templates` works from `config/local.toml`).
    #[serde(default = "default_templates")]
    pub templates_dir: PathBuf,
}

fn default_templates() -> PathBuf {
    PathBuf::from("templates")
}

/// `[understand]`: how mail is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UnderstandSettings {
    /// A directory of cue vocabulary files (`kk.txt`, `ru.txt`, `en.txt`, the format of the
    /// repository's `vocabulary/`) replacing the embedded files of the same name, so staff can
    /// add a phrase without a rebuild; relative to the project root when relative.
    pub vocabulary_dir: Option<PathBuf>,
    /// A statistical model file (`dsr-worker train --out`) instead of the one built into the
    /// binary; relative to the project root when relative.
    pub model: Option<PathBuf>,
}

impl UnderstandSettings {
    /// The cue vocabulary: the embedded files, overridden from `vocabulary_dir`. A file that
    /// cannot be used is an error naming the file and the line.
    pub fn vocabulary(
        &self,
    ) -> Result<crate::understand::Vocabulary, crate::understand::VocabularyError> {
        crate::understand::Vocabulary::load(self.vocabulary_dir.as_deref())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// PostgreSQL URL of the worker's own database.
    pub url: Secret,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_max_connections() -> u32 {
    10
}

/// How a connection to a mail server is secured.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connection upgraded with STARTTLS before authentication.
    Starttls,
    /// No encryption: allowed only towards a loopback address.
    Plain,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    #[serde(default = "default_security")]
    pub security: Security,
    /// Extra PEM trust roots (e.g. a private CA); the public web roots are always trusted.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    pub username: String,
    pub password: Secret,
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    /// Use IMAP IDLE when the server offers it; poll otherwise.
    #[serde(default = "yes")]
    pub idle: bool,
    /// How long one IDLE lasts before it is renewed (servers drop IDLE after 30 minutes).
    #[serde(default = "default_idle_secs")]
    pub idle_secs: u64,
    /// While the mailbox is quiet, IDLE lasts at most this long before intake looks again
    /// (DONE, NOOP, UID SEARCH, IDLE): it bounds how late a server's IDLE notification may be
    /// (Dovecot's comes about 0.5 s after the mail). 0: wait in IDLE for `idle_secs`, fewer
    /// commands against a hosted provider whose IDLE is prompt.
    #[serde(default = "default_idle_check_ms")]
    pub idle_check_ms: u64,
    /// Poll interval when IDLE is off or not offered.
    #[serde(default = "default_poll_secs")]
    pub poll_secs: u64,
    #[serde(default = "default_reconnect_min_ms")]
    pub reconnect_min_ms: u64,
    #[serde(default = "default_reconnect_max_ms")]
    pub reconnect_max_ms: u64,
    /// Messages larger than this are stored but not parsed (marked failed with the reason).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: u64,
    /// Longest wait for the server at each step of a session: connecting, TLS, greeting,
    /// login, SELECT, NOOP, SEARCH, each message of a FETCH, entering and leaving IDLE, LOGOUT
    /// (IDLE itself lasts `idle_secs`). Past it the session is dropped and intake reconnects.
    #[serde(default = "default_command_timeout_secs")]
    pub command_timeout_secs: u64,
}

fn default_security() -> Security {
    Security::Tls
}
fn default_mailbox() -> String {
    "INBOX".into()
}
fn yes() -> bool {
    true
}
fn default_idle_secs() -> u64 {
    300
}
fn default_idle_check_ms() -> u64 {
    250
}
fn default_poll_secs() -> u64 {
    30
}
fn default_reconnect_min_ms() -> u64 {
    500
}
fn default_reconnect_max_ms() -> u64 {
    60_000
}
fn default_max_message_bytes() -> u64 {
    25 * 1024 * 1024
}
fn default_command_timeout_secs() -> u64 {
    60
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    #[serde(default = "default_security")]
    pub security: Security,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// Longest wait for the server at each step: connecting (with TLS, greeting, EHLO,
    /// STARTTLS and AUTH), then sending one e-mail, then QUIT. Past it the connection is
    /// dropped and the e-mail is retried later.
    #[serde(default = "default_smtp_timeout")]
    pub timeout_secs: u64,
}

fn default_smtp_timeout() -> u64 {
    30
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RabbitSettings {
    pub url: Secret,
    /// Prefix of every exchange and queue name (`dsr` → `dsr.requests`, `dsr.requests.dlq`).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    #[serde(default = "default_prefetch")]
    pub prefetch: u16,
    /// Delay before each retry of a failed message; its length bounds the attempts. After the last
    /// retry fails the message goes to the dead-letter queue.
    #[serde(default = "default_retry_delays")]
    pub retry_delays_ms: Vec<u64>,
}

fn default_prefix() -> String {
    "dsr".into()
}
fn default_prefetch() -> u16 {
    16
}
fn default_retry_delays() -> Vec<u64> {
    vec![1_000, 5_000, 30_000, 120_000, 600_000]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSettings {
    /// How often the outbox and the unclassified-mail sweep look for work when nothing woke them.
    pub outbox_poll_ms: u64,
    /// Attempts at sending one email before it is marked failed for staff.
    pub outbox_max_attempts: i32,
    /// E-mails sent at the same time by one worker (each claims its own outbox row).
    pub mailer_concurrency: u16,
    /// Stored messages triaged at the same time (each in its own transaction).
    pub triage_concurrency: u16,
    /// At most this many automatic replies to one sender per hour (a loop guard).
    pub replies_per_sender_per_hour: i64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            outbox_poll_ms: 500,
            outbox_max_attempts: 8,
            mailer_concurrency: 4,
            triage_concurrency: 4,
            replies_per_sender_per_hour: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySettings {
    pub format: LogFormat,
    /// `tracing` filter directive; `RUST_LOG` wins when set.
    pub filter: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info,sqlx=warn,lapin=warn,async_imap=warn".into(),
        }
    }
}

/// `[ops]`: the operations endpoint (`/metrics`, `/healthz`, `/readyz`), see
/// [`crate::monitoring`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpsSettings {
    /// Address the endpoint listens on, e.g. `127.0.0.1:9187`; empty (the default) = no endpoint.
    pub bind: String,
    /// Longest wait for each readiness probe (PostgreSQL `SELECT 1`, the broker's status) and
    /// for the database queries behind the gauges on a scrape.
    pub probe_timeout_ms: u64,
}

impl Default for OpsSettings {
    fn default() -> Self {
        Self {
            bind: String::new(),
            probe_timeout_ms: 2000,
        }
    }
}

impl OpsSettings {
    /// The address to listen on; `None` when the endpoint is off.
    pub fn bind_addr(&self) -> Option<std::net::SocketAddr> {
        let bind = self.bind.trim();
        if bind.is_empty() {
            return None;
        }
        bind.parse().ok()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bind = self.bind.trim();
        if !bind.is_empty() && bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(key_error(
                "ops.bind",
                format!("must be an address with a port such as 127.0.0.1:9187 (or empty), not {bind:?}"),
            ));
        }
        if self.probe_timeout_ms == 0 || self.probe_timeout_ms > 60_000 {
            return Err(key_error(
                "ops.probe_timeout_ms",
                "must be between 1 and 60000",
            ));
        }
        Ok(())
    }
}

/// The staff review console: a web server in the worker, and a daily digest of deadlines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// Serve the console from `run`/`process`/`console`.
    pub enabled: bool,
    /// Address the console listens on.
    pub bind: std::net::SocketAddr,
    /// Mark the session cookie `Secure` (HTTPS only). May be off only on a loopback bind.
    pub secure_cookie: bool,
    /// How long a staff session lasts after signing in.
    pub session_minutes: u64,
    /// Failed logins in a row that lock an account...
    pub lockout_attempts: u32,
    /// ...for this long.
    pub lockout_minutes: u64,
    /// Hour (0-23, Almaty time) after which the daily digest of deadlines is sent.
    pub digest_hour: u32,
    /// Who gets the digest; empty = no digest.
    pub digest_recipients: Vec<String>,
    /// Language of the digest (kk, ru or en).
    pub digest_language: String,
    /// Requests with at most this many working days left are in the digest (overdue always).
    pub digest_days_left: i64,
    /// The console's address as staff open it (behind the reverse proxy), for links in the
    /// e-mails to staff; default `http://` + `bind`.
    pub public_url: Option<String>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            secure_cookie: true,
            session_minutes: 8 * 60,
            lockout_attempts: 5,
            lockout_minutes: 15,
            digest_hour: 9,
            digest_recipients: vec![],
            digest_language: "ru".into(),
            digest_days_left: 1,
            public_url: None,
        }
    }
}

impl ConsoleSettings {
    /// The console's base URL for links (no trailing slash).
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !self.secure_cookie && !self.bind.ip().is_loopback() {
            return Err(key_error(
                "console.secure_cookie",
                format!(
                    "may be false only when console.bind is a loopback address, not {}",
                    self.bind
                ),
            ));
        }
        if self.session_minutes == 0 || self.session_minutes > 7 * 24 * 60 {
            return Err(key_error(
                "console.session_minutes",
                "must be between 1 and 10080 (a week)",
            ));
        }
        if self.lockout_attempts == 0 {
            return Err(key_error("console.lockout_attempts", "must be positive"));
        }
        if self.lockout_minutes == 0 {
            return Err(key_error("console.lockout_minutes", "must be positive"));
        }
        if self.digest_hour > 23 {
            return Err(key_error("console.digest_hour", "must be between 0 and 23"));
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.contains(char::is_whitespace)
            {
                return Err(key_error(
                    "console.public_url",
                    "must be an http(s):// URL such as https://dsr.nlg.kz",
                ));
            }
        }
        if let Some(bad) = self
            .digest_recipients
            .iter()
            .find(|r| r.parse::<lettre::message::Mailbox>().is_err())
        {
            let _ = bad;
            return Err(key_error(
                "console.digest_recipients",
                "every entry must be an e-mail address",
            ));
        }
        if !matches!(self.digest_language.as_str(), "kk" | "ru" | "en") {
            return Err(key_error("console.digest_language", "must be kk, ru or en"));
        }
        Ok(())
    }
}

impl ImapSettings {
    /// The backoff of reconnect loops: `reconnect_min_ms` doubling up to `reconnect_max_ms`.
    pub fn reconnect_backoff(&self) -> crate::backoff::Backoff {
        crate::backoff::Backoff::new(
            Duration::from_millis(self.reconnect_min_ms),
            Duration::from_millis(self.reconnect_max_ms),
        )
    }
}

impl Settings {
    /// The key of keyed-hash anonymisation, from the environment variable named in
    /// `identity.hash_key_env`; required only when some table anonymises with `hash`.
    pub fn hash_key(&self) -> anyhow::Result<Vec<u8>> {
        let var = &self.identity.hash_key_env;
        match std::env::var(var) {
            Ok(key) if !key.is_empty() => Ok(key.into_bytes()),
            _ => {
                let needed = self.stores.iter().flat_map(|s| &s.tables).any(|t| {
                    t.actions
                        .values()
                        .any(|a| matches!(a, crate::stores::settings::Action::Anonymise(m) if m.values().any(|v| v == "hash")))
                });
                if needed {
                    anyhow::bail!(
                        "environment variable {var} (identity.hash_key_env) must hold the anonymisation key"
                    );
                }
                Ok(vec![])
            }
        }
    }

    /// Reads `path`, applies `DSR__*` overrides from the process environment and validates.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."));
        Self::from_text(&text, base, env).map_err(|e| match e {
            ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Parses configuration text; relative paths are resolved from `base` (the project root).
    pub fn from_text(
        text: &str,
        base: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut settings = Self::parse(text, env)?;
        settings.resolve_paths(base);
        // Files named by the configuration are checked once their paths are known.
        if settings.understand.vocabulary_dir.is_some() {
            settings
                .understand
                .vocabulary()
                .map_err(|e| key_error("understand.vocabulary_dir", e.to_string()))?;
        }
        Ok(settings)
    }

    /// Parses TOML text with overrides; relative paths are left as they are.
    pub fn parse(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut value: toml::Value = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: PathBuf::new(),
            message: e.message().to_owned(),
        })?;
        let mut overrides: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        // By key, stably: for a key given twice, the later value wins.
        overrides.sort_by(|a, b| a.0.cmp(&b.0));
        for (var, raw) in overrides {
            apply_override(&mut value, &var, &raw)?;
        }
        let settings: Settings = serde_path_to_error::deserialize(value).map_err(|e| {
            let key = e.path().to_string();
            key_error(
                if key == "." {
                    "(top level)".into()
                } else {
                    key
                },
                e.into_inner().to_string(),
            )
        })?;
        settings.validate()?;
        Ok(settings)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut self.templates_dir);
        if let Some(p) = self.understand.vocabulary_dir.as_mut() {
            resolve(p);
        }
        if let Some(p) = self.understand.model.as_mut() {
            resolve(p);
        }
        if let Some(p) = self.imap.ca_file.as_mut() {
            resolve(p);
        }
        if let Some(p) = self.smtp.ca_file.as_mut() {
            resolve(p);
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database.url.expose();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(key_error("database.url", "must be a postgres:// URL"));
        }
        let amqp = self.rabbitmq.url.expose();
        if !(amqp.starts_with("amqp://") || amqp.starts_with("amqps://")) {
            return Err(key_error(
                "rabbitmq.url",
                "must be an amqp:// or amqps:// URL",
            ));
        }
        for (key, host, port, security) in [
            ("imap", &self.imap.host, self.imap.port, self.imap.security),
            ("smtp", &self.smtp.host, self.smtp.port, self.smtp.security),
        ] {
            if host.trim().is_empty() {
                return Err(key_error(format!("{key}.host"), "must not be empty"));
            }
            if port == 0 {
                return Err(key_error(
                    format!("{key}.port"),
                    "must be between 1 and 65535",
                ));
            }
            if security == Security::Plain && !is_loopback(host) {
                return Err(key_error(
                    format!("{key}.security"),
                    format!("`plain` is allowed only towards a loopback host, not {host}; use `tls` or `starttls`"),
                ));
            }
        }
        if self.imap.username.trim().is_empty() {
            return Err(key_error("imap.username", "must not be empty"));
        }
        if self.imap.reconnect_min_ms == 0
            || self.imap.reconnect_min_ms > self.imap.reconnect_max_ms
        {
            return Err(key_error(
                "imap.reconnect_min_ms",
                "must be positive and not above imap.reconnect_max_ms",
            ));
        }
        if self.imap.idle_secs == 0 || self.imap.idle_secs > 29 * 60 {
            return Err(key_error(
                "imap.idle_secs",
                "must be between 1 and 1740 (29 minutes)",
            ));
        }
        if self.imap.idle_check_ms != 0 && self.imap.idle_check_ms < 20 {
            return Err(key_error(
                "imap.idle_check_ms",
                "must be 0 (off) or at least 20 ms",
            ));
        }
        if self.imap.poll_secs == 0 {
            return Err(key_error("imap.poll_secs", "must be positive"));
        }
        if self.imap.command_timeout_secs == 0 || self.imap.command_timeout_secs > 3600 {
            return Err(key_error(
                "imap.command_timeout_secs",
                "must be between 1 and 3600",
            ));
        }
        if self.smtp.timeout_secs == 0 || self.smtp.timeout_secs > 3600 {
            return Err(key_error("smtp.timeout_secs", "must be between 1 and 3600"));
        }
        if self.smtp.username.is_some() != self.smtp.password.is_some() {
            return Err(key_error(
                "smtp.password",
                "smtp.username and smtp.password must be given together",
            ));
        }
        if self.rabbitmq.retry_delays_ms.is_empty() {
            return Err(key_error(
                "rabbitmq.retry_delays_ms",
                "must list at least one delay",
            ));
        }
        let prefix_ok = !self.rabbitmq.prefix.is_empty()
            && self
                .rabbitmq
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !prefix_ok {
            return Err(key_error(
                "rabbitmq.prefix",
                "must be non-empty ASCII letters, digits, '.', '-' or '_'",
            ));
        }
        if !self.company.mailbox.contains('@') {
            return Err(key_error("company.mailbox", "must be an e-mail address"));
        }
        if self
            .company
            .reply_from
            .parse::<lettre::message::Mailbox>()
            .is_err()
        {
            return Err(key_error(
                "company.reply_from",
                "must be a mailbox like `NLG.KZ <info@nlg.kz>`",
            ));
        }
        if !(1..=64).contains(&self.worker.triage_concurrency) {
            return Err(key_error(
                "worker.triage_concurrency",
                "must be between 1 and 64",
            ));
        }
        if !(1..=64).contains(&self.worker.mailer_concurrency) {
            return Err(key_error(
                "worker.mailer_concurrency",
                "must be between 1 and 64",
            ));
        }
        if self.worker.outbox_max_attempts <= 0 || self.worker.outbox_poll_ms == 0 {
            return Err(key_error(
                "worker.outbox_max_attempts",
                "worker.outbox_max_attempts and worker.outbox_poll_ms must be positive",
            ));
        }
        self.identity.validate()?;
        crate::stores::settings::validate(&self.stores)?;
        self.console.validate()?;
        self.ops.validate()?;
        self.retention
            .validate()
            .map_err(|(key, message)| key_error(key, message))?;
        Ok(())
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn apply_override(root: &mut toml::Value, var: &str, raw: &str) -> Result<(), ConfigError> {
    let path: Vec<String> = var[ENV_PREFIX.len()..]
        .split("__")
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if path.iter().any(String::is_empty) {
        return Err(ConfigError::Env {
            var: var.to_owned(),
            message: "empty path segment (use DSR__SECTION__KEY)".into(),
        });
    }
    // A value that parses as a TOML scalar or array keeps its type; otherwise it is a string.
    let parsed = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !v.is_table())
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    let mut node = root;
    for (i, segment) in path.iter().enumerate() {
        let table = node.as_table_mut().ok_or_else(|| ConfigError::Env {
            var: var.to_owned(),
            message: format!("`{}` is not a section", path[..i].join(".")),
        })?;
        if i + 1 == path.len() {
            table.insert(segment.clone(), parsed);
            return Ok(());
        }
        node = table
            .entry(segment.clone())
            .or_insert_with(|| toml::Value::Table(Default::default()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [database]
        url = "postgres://postgres@127.0.0.1/dsr"
        [imap]
        host = "127.0.0.1"
        port = 1143
        security = "plain"
        username = "info@nlg.kz"
        password = "secret"
        [smtp]
        host = "127.0.0.1"
        port = 2525
        security = "plain"
        [rabbitmq]
        url = "amqp://guest:guest@127.0.0.1:5672/%2f"
        [company]
        name = "NLG.KZ LLP"
        mailbox = "info@nlg.kz"
        reply_from = "NLG.KZ <info@nlg.kz>"
    "#;

    fn no_env() -> Vec<(String, String)> {
        vec![]
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let s = Settings::parse(MINIMAL, no_env()).unwrap();
        assert_eq!(s.imap.mailbox, "INBOX");
        assert!(s.imap.idle);
        assert_eq!(s.rabbitmq.prefix, "dsr");
        assert_eq!(s.rabbitmq.retry_delays_ms.len(), 5);
        assert_eq!(s.imap.command_timeout_secs, 60);
        assert_eq!(s.smtp.timeout_secs, 30);
        assert_eq!(s.imap.idle_check_ms, 250);
        let env = vec![("DSR__IMAP__COMMAND_TIMEOUT_SECS".to_owned(), "0".to_owned())];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("imap.command_timeout_secs"), "{err}");
        // A quiet IDLE checked every few milliseconds would hammer the server; 0 turns it off.
        let env = vec![("DSR__IMAP__IDLE_CHECK_MS".to_owned(), "5".to_owned())];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("imap.idle_check_ms"), "{err}");
        let env = vec![("DSR__IMAP__IDLE_CHECK_MS".to_owned(), "0".to_owned())];
        assert_eq!(Settings::parse(MINIMAL, env).unwrap().imap.idle_check_ms, 0);
    }

    #[test]
    fn env_overrides_keep_types_and_win() {
        let env = vec![
            ("DSR__IMAP__PORT".to_owned(), "1993".to_owned()),
            ("DSR__IMAP__PASSWORD".to_owned(), "other".to_owned()),
            (
                "DSR__RABBITMQ__RETRY_DELAYS_MS".to_owned(),
                "[10, 20]".to_owned(),
            ),
            ("UNRELATED".to_owned(), "x".to_owned()),
        ];
        let s = Settings::parse(MINIMAL, env).unwrap();
        assert_eq!(s.imap.port, 1993);
        assert_eq!(s.imap.password.expose(), "other");
        assert_eq!(s.rabbitmq.retry_delays_ms, vec![10, 20]);
    }

    #[test]
    fn missing_key_is_named() {
        let text = MINIMAL.replace("port = 1143", "");
        let err = Settings::parse(&text, no_env()).unwrap_err().to_string();
        assert!(err.contains("imap"), "{err}");
        assert!(err.contains("port"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        let env = vec![("DSR__IMAP__PORT".to_owned(), "not-a-port".to_owned())];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("imap.port"), "{err}");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let text = MINIMAL.replace("[smtp]", "[smtp]\nhots = \"x\"");
        let err = Settings::parse(&text, no_env()).unwrap_err().to_string();
        assert!(err.contains("hots"), "{err}");
    }

    #[test]
    fn plain_towards_remote_host_is_refused() {
        let env = vec![("DSR__IMAP__HOST".to_owned(), "imap.example.com".to_owned())];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("imap.security"), "{err}");
    }

    #[test]
    fn shipped_config_files_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for file in [
            "config/example.toml",
            "config/local.toml",
            "config/docker.toml",
        ] {
            let s = Settings::load_with_env(&root.join(file), no_env())
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(
                s.templates_dir.starts_with(root),
                "{file}: paths resolve from the root"
            );
        }
    }

    #[test]
    fn a_statistical_model_file_can_be_configured() {
        assert!(Settings::parse(MINIMAL, no_env())
            .unwrap()
            .understand
            .model
            .is_none());
        let env = vec![(
            "DSR__UNDERSTAND__MODEL".to_owned(),
            "models/retrained.bin".to_owned(),
        )];
        let s = Settings::parse(MINIMAL, env).unwrap();
        assert_eq!(
            s.understand.model.as_deref(),
            Some(Path::new("models/retrained.bin"))
        );
        let env = vec![("DSR__UNDERSTAND__WEIGHTS".to_owned(), "x".to_owned())];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("understand"), "{err}");
    }

    #[test]
    fn console_defaults_and_validation() {
        let s = Settings::parse(MINIMAL, no_env()).unwrap();
        assert!(s.console.enabled && s.console.secure_cookie);
        assert_eq!(s.console.bind.to_string(), "127.0.0.1:8080");
        let env = vec![
            ("DSR__CONSOLE__BIND".to_owned(), "0.0.0.0:8080".to_owned()),
            ("DSR__CONSOLE__SECURE_COOKIE".to_owned(), "false".to_owned()),
        ];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("console.secure_cookie"), "{err}");
        let env = vec![("DSR__CONSOLE__DIGEST_HOUR".to_owned(), "24".to_owned())];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("console.digest_hour"), "{err}");
        let env = vec![(
            "DSR__CONSOLE__DIGEST_RECIPIENTS".to_owned(),
            "[\"not an address\"]".to_owned(),
        )];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("console.digest_recipients"), "{err}");
        assert_eq!(s.console.base_url(), "http://127.0.0.1:8080");
        let env = vec![(
            "DSR__CONSOLE__PUBLIC_URL".to_owned(),
            "https://dsr.nlg.kz/".to_owned(),
        )];
        let s = Settings::parse(MINIMAL, env).unwrap();
        assert_eq!(s.console.base_url(), "https://dsr.nlg.kz");
        let env = vec![(
            "DSR__CONSOLE__PUBLIC_URL".to_owned(),
            "javascript:alert(1)".to_owned(),
        )];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("console.public_url"), "{err}");
    }

    #[test]
    fn trusted_authserv_ids_need_receiving_hosts() {
        let text = format!("{MINIMAL}\n[identity]\ntrusted_authserv_ids = [\"mx.nlg.kz\"]\n");
        let err = Settings::parse(&text, no_env()).unwrap_err().to_string();
        assert!(err.contains("identity.receiving_hosts"), "{err}");
        let text = format!("{text}receiving_hosts = [\"mx.nlg.kz\"]\n");
        let s = Settings::parse(&text, no_env()).unwrap();
        assert_eq!(s.identity.receiving_hosts, vec!["mx.nlg.kz"]);
        let env = vec![(
            "DSR__IDENTITY__RECEIVING_HOSTS".to_owned(),
            "[\"mx nlg\"]".to_owned(),
        )];
        let err = Settings::parse(&text, env).unwrap_err().to_string();
        assert!(err.contains("identity.receiving_hosts"), "{err}");
        // Nothing trusted: no receiving host needed.
        assert!(Settings::parse(MINIMAL, no_env())
            .unwrap()
            .identity
            .receiving_hosts
            .is_empty());
    }

    #[test]
    fn a_vocabulary_directory_overrides_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{MINIMAL}\n[understand]\nvocabulary_dir = \"{}\"\n",
            dir.path().display()
        );
        // An empty directory keeps every embedded file.
        let s = Settings::from_text(&text, Path::new("/"), no_env()).unwrap();
        assert_eq!(s.understand.vocabulary_dir.as_deref(), Some(dir.path()));
        // A bad line stops the worker, naming the file and the line.
        std::fs::write(
            dir.path().join("ru.txt"),
            "# staff additions\nerasure=3\tудалите * навсегда\nerasure\t\n",
        )
        .unwrap();
        let err = Settings::from_text(&text, Path::new("/"), no_env())
            .unwrap_err()
            .to_string();
        assert!(err.contains("understand.vocabulary_dir"), "{err}");
        assert!(err.contains("ru.txt, line 3"), "{err}");
        // A directory that does not exist is named too.
        let missing = format!("{MINIMAL}\n[understand]\nvocabulary_dir = \"no/such/dir\"\n");
        let err = Settings::from_text(&missing, dir.path(), no_env())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a directory"), "{err}");
        // No key: the embedded vocabulary, nothing to check.
        let s = Settings::from_text(MINIMAL, Path::new("/"), no_env()).unwrap();
        assert!(s.understand.vocabulary_dir.is_none());
        assert!(s.understand.vocabulary().is_ok());
    }

    #[test]
    fn ops_endpoint_is_off_unless_bound() {
        let s = Settings::parse(MINIMAL, no_env()).unwrap();
        assert_eq!(s.ops.bind_addr(), None);
        let env = vec![("DSR__OPS__BIND".to_owned(), "127.0.0.1:9187".to_owned())];
        let s = Settings::parse(MINIMAL, env).unwrap();
        assert_eq!(s.ops.bind_addr().unwrap().to_string(), "127.0.0.1:9187");
        let text = format!("{MINIMAL}\n[ops]\nbind = \"\"\n");
        assert_eq!(
            Settings::parse(&text, no_env()).unwrap().ops.bind_addr(),
            None
        );
        let env = vec![("DSR__OPS__BIND".to_owned(), "localhost".to_owned())];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("ops.bind"), "{err}");
        let env = vec![("DSR__OPS__PROBE_TIMEOUT_MS".to_owned(), "0".to_owned())];
        let err = Settings::parse(MINIMAL, env).unwrap_err().to_string();
        assert!(err.contains("ops.probe_timeout_ms"), "{err}");
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let s = Settings::parse(MINIMAL, no_env()).unwrap();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("secret\""), "{dbg}");
        assert!(!dbg.contains("guest:guest"), "{dbg}");
    }
}
