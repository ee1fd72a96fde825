//! The header facts a reply needs: who sent it, its Message-ID, the thread, the subject; and
//! whom it was addressed to (a message that only copies the company is addressed to somebody
//! else).

use mail_parser::{HeaderValue, Message};

use crate::domain::EmailAddress;

#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// The `From:` address (claimed, not verified).
    pub from: Option<EmailAddress>,
    pub from_name: Option<String>,
    pub reply_to: Option<EmailAddress>,
    /// `To:` addresses.
    pub to: Vec<EmailAddress>,
    /// `Cc:` addresses.
    pub cc: Vec<EmailAddress>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// `References` then `In-Reply-To`, without angle brackets, in thread order.
    pub references: Vec<String>,
    pub subject: String,
}

impl Envelope {
    pub fn from_message(message: &Message<'_>) -> Self {
        let first = |a: Option<&mail_parser::Address<'_>>| {
            a.and_then(|a| a.first())
                .map(|a| (a.address().map(str::to_owned), a.name().map(str::to_owned)))
        };
        let (from, from_name) = first(message.from()).unwrap_or_default();
        let (reply_to, _) = first(message.reply_to()).unwrap_or_default();
        let all = |a: Option<&mail_parser::Address<'_>>| -> Vec<EmailAddress> {
            a.map(|a| {
                a.iter()
                    .filter_map(|x| x.address())
                    .filter_map(|x| EmailAddress::parse(x).ok())
                    .collect()
            })
            .unwrap_or_default()
        };
        let mut references = ids(message.references());
        for id in ids(message.in_reply_to()) {
            if !references.contains(&id) {
                references.push(id);
            }
        }
        Self {
            from: from.and_then(|a| EmailAddress::parse(&a).ok()),
            from_name,
            reply_to: reply_to.and_then(|a| EmailAddress::parse(&a).ok()),
            to: all(message.to()),
            cc: all(message.cc()),
            message_id: message.message_id().map(str::to_owned),
            references,
            subject: message.subject().unwrap_or_default().to_owned(),
        }
    }
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => vec![],
    }
}
