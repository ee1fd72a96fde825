//! The original message as staff see it: header fields and text, never rendered HTML.
//!
//! Text parts are shown as they are; an HTML-only message is converted to plain text the way
//! understanding reads it ([`crate::understand::text::html_to_text`]: nothing fetched, scripts
//! and styles dropped), and its HTML source is also offered, as escaped text. Attachments are listed and
//! downloadable as opaque bytes.

use mail_parser::{MessageParser, MimeHeaders, PartType};
use serde::Serialize;

use crate::understand::text::html_to_text;

#[derive(Debug, Clone, Default, Serialize)]
pub struct AttachmentView {
    /// Position among the message's attachments (the download URL's index).
    pub index: usize,
    pub filename: String,
    pub content_type: String,
    pub size: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageView {
    pub from: String,
    pub to: String,
    pub date: String,
    pub subject: String,
    /// The text of the message (HTML converted to text when there is no text part).
    pub text: String,
    /// The HTML source, when the message has an HTML part (shown escaped, never rendered).
    pub html_source: Option<String>,
    pub attachments: Vec<AttachmentView>,
    /// Could not be parsed as MIME: `text` is the raw bytes, lossily decoded.
    pub unparsed: bool,
    /// The retention job dropped the message's bytes (sha256 and size are kept).
    pub purged_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn addresses(a: Option<&mail_parser::Address<'_>>) -> String {
    let Some(a) = a else {
        return String::new();
    };
    a.iter()
        .map(|addr| match (addr.name(), addr.address()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (None, Some(e)) => e.to_owned(),
            (Some(n), None) => n.to_owned(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl MessageView {
    /// A message whose bytes the retention job dropped.
    pub fn purged(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            text: format!(
                "(purged on {} under the retention policy; sha256 and size are kept)",
                at.format("%Y-%m-%d")
            ),
            purged_at: Some(at),
            ..Self::default()
        }
    }

    pub fn parse(raw: &[u8]) -> Self {
        let Some(m) = MessageParser::default().parse(raw) else {
            return Self {
                text: String::from_utf8_lossy(raw).into_owned(),
                unparsed: true,
                ..Self::default()
            };
        };
        let texts: Vec<String> = m
            .text_body
            .iter()
            .filter_map(|i| m.parts.get(*i as usize))
            .filter_map(|part| match &part.body {
                PartType::Text(t) => Some(t.clone().into_owned()),
                PartType::Html(h) => Some(html_to_text(h)),
                _ => None,
            })
            .collect();
        let html_source = m
            .html_part(0)
            .filter(|p| p.is_text_html())
            .and_then(|p| p.text_contents())
            .map(str::to_owned);
        let attachments = m
            .attachments()
            .enumerate()
            .map(|(index, p)| AttachmentView {
                index,
                filename: p
                    .attachment_name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("attachment-{}", index + 1)),
                content_type: p
                    .content_type()
                    .map(|c| match c.subtype() {
                        Some(s) => format!("{}/{s}", c.ctype()),
                        None => c.ctype().to_owned(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".into()),
                size: p.contents().len(),
            })
            .collect();
        Self {
            from: addresses(m.from()),
            to: addresses(m.to()),
            date: m.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
            subject: m.subject().unwrap_or_default().to_owned(),
            text: texts.join("\n\n"),
            html_source,
            attachments,
            unparsed: false,
            purged_at: None,
        }
    }
}

impl MessageView {
    /// Masks the one-time codes we sent (`sent`: their hashes) wherever the text shows them:
    /// a reply quoting our confirmation mail must not put the code on a staff screen.
    pub fn mask_codes(&mut self, sent: &[Vec<u8>]) {
        use super::mask::sent_codes;
        self.subject = sent_codes(&self.subject, sent).into_owned();
        self.text = sent_codes(&self.text, sent).into_owned();
        if let Some(html) = &self.html_source {
            self.html_source = Some(sent_codes(html, sent).into_owned());
        }
    }
}

/// The bytes and file name of attachment `index`.
pub fn attachment(raw: &[u8], index: usize) -> Option<(String, Vec<u8>)> {
    let m = MessageParser::default().parse(raw)?;
    let part = m.attachments().nth(index)?;
    let name = part
        .attachment_name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("attachment-{}", index + 1));
    Some((name, part.contents().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "From: Evil <evil@example.com>\r\nTo: info@nlg.kz\r\nSubject: hi\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
        Content-Type: text/html; charset=utf-8\r\n\r\n<p>Delete <b>me</b></p><script>alert(1)</script>\
        <img src=\"http://tracker.example/x.png\">\r\n--b\r\nContent-Type: application/pdf\r\n\
        Content-Disposition: attachment; filename=\"id.pdf\"\r\n\r\n%PDF-1.4 fake\r\n--b--\r\n";

    #[test]
    fn html_is_turned_into_text_and_attachments_listed() {
        let v = MessageView::parse(HOSTILE.as_bytes());
        assert!(v.text.contains("Delete"), "{}", v.text);
        assert!(!v.text.contains("<b>"), "{}", v.text);
        assert!(!v.text.contains("alert"), "scripts are dropped: {}", v.text);
        assert!(v.html_source.as_deref().unwrap().contains("<script>"));
        assert_eq!(v.attachments.len(), 1);
        assert_eq!(v.attachments[0].filename, "id.pdf");
        assert_eq!(v.attachments[0].content_type, "application/pdf");
        let (name, bytes) = attachment(HOSTILE.as_bytes(), 0).unwrap();
        assert_eq!(name, "id.pdf");
        assert!(bytes.starts_with(b"%PDF"));
        assert!(attachment(HOSTILE.as_bytes(), 1).is_none());
    }

    #[test]
    fn garbage_is_shown_raw() {
        let v = MessageView::parse(b"");
        assert!(v.unparsed || v.text.is_empty());
    }
}
