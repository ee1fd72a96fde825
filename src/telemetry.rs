//! Logging set-up: `tracing` with a pretty or JSON formatter, filtered by config or `RUST_LOG`.
//!
//! Personal data never goes into a log field in clear; see [`crate::redact`]. As a last line of
//! defence every formatted line also passes [`crate::redact::text`] on its way out, so text we
//! did not write (a server's answer, a driver's error) cannot carry an address or an IIN out.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::{LogFormat, TelemetrySettings};

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(settings: &TelemetrySettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(settings.filter.clone()));
    let builder = fmt().with_env_filter(filter).with_writer(Redacting);
    let _ = match settings.format {
        LogFormat::Pretty => builder.with_target(true).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Standard error, with every line redacted ([`crate::redact::text`]).
#[derive(Clone, Copy)]
pub struct Redacting;

impl<'a> MakeWriter<'a> for Redacting {
    type Writer = RedactingWriter<std::io::Stderr>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(std::io::stderr())
    }
}

/// Collects one event's output and writes it, redacted, to `out` when dropped.
pub struct RedactingWriter<W: Write> {
    line: Vec<u8>,
    out: W,
}

impl<W: Write> RedactingWriter<W> {
    pub fn new(out: W) -> Self {
        Self {
            line: Vec::with_capacity(256),
            out,
        }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let line = String::from_utf8_lossy(&self.line);
        let _ = self.out.write_all(crate::redact::text(&line).as_bytes());
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_reaches_the_log_is_redacted() {
        let mut out = Vec::new();
        {
            let mut w = RedactingWriter::new(&mut out);
            w.write_all(b"intake: 550 <aigerim@mail.kz> ").unwrap();
            w.write_all(b"rejected, IIN 870221304582\n").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "intake: 550 <a***@m***.kz> rejected, IIN **********82\n"
        );
    }
}
