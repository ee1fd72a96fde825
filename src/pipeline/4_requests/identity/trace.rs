//! Which `Authentication-Results` headers our own MX wrote, read from the trace headers.
//!
//! Trace headers are prepended: each hop adds its `Received:` (and its checks' results) on top
//! of what it got. So everything above the `Received:` header written by our receiving MX was
//! added inside our own systems, and everything below it came with the message and may be
//! forged. The results that count are the ones in the block directly above our MX's
//! `Received:` header — between it and the next `Received:` header above (the next hop's) —
//! carrying a trusted authserv-id: the MX's own verdict, possibly split over several headers
//! (one per milter). Results added by later internal hops are not the MX's verdict on the
//! connection from outside, and results below our `Received:` were forged or written elsewhere.
//!
//! Our MX's `Received:` is the topmost one naming a receiving host after `by`. The name is
//! searched anywhere in the header, not only in its `by` clause as parsed, so that attacker
//! text in that same header (a HELO name with parentheses, say) cannot hide it and make a
//! forged header lower down look like ours. Matching an internal hop above it by mistake is
//! harmless: the block above an internal hop holds no verdict of our MX, so nothing counts.

use super::auth_results::{self, AuthResults};

/// One header as it appears in the message, top first; the value unfolded.
#[derive(Debug, Clone)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// Headers in message order, values unfolded (CR/LF to spaces).
pub fn headers(raw: &[u8]) -> Option<Vec<Header>> {
    let message = mail_parser::MessageParser::default().parse_headers(raw)?;
    Some(
        message
            .headers()
            .iter()
            .map(|h| {
                let start = (h.offset_start() as usize).min(raw.len());
                let end = (h.offset_end() as usize).clamp(start, raw.len());
                Header {
                    name: h.name().to_owned(),
                    value: String::from_utf8_lossy(&raw[start..end]).replace(['\r', '\n'], " "),
                }
            })
            .collect(),
    )
}

fn is(header: &Header, name: &str) -> bool {
    header.name.eq_ignore_ascii_case(name)
}

/// Whether a `Received:` value says it was written by one of `hosts` (`by HOST`).
pub fn received_by(value: &str, hosts: &[String]) -> bool {
    let words: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(2).any(|pair| {
        pair[0].eq_ignore_ascii_case("by") && {
            let host = pair[1]
                .trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .trim_end_matches('.');
            hosts
                .iter()
                .any(|h| h.trim_end_matches('.').eq_ignore_ascii_case(host))
        }
    })
}

/// Where our MX's verdict is: the trusted `Authentication-Results` headers directly above the
/// topmost `Received:` by a receiving host. Empty when the mail never passed our MX (no such
/// `Received:`), or when our MX wrote no trusted verdict there.
pub fn our_verdict(
    headers: &[Header],
    receiving_hosts: &[String],
    trusted: &[String],
) -> Vec<AuthResults> {
    let Some(ours) = headers
        .iter()
        .position(|h| is(h, "Received") && received_by(&h.value, receiving_hosts))
    else {
        return vec![];
    };
    headers[..ours]
        .iter()
        .rev()
        .take_while(|h| !is(h, "Received"))
        .filter(|h| is(h, "Authentication-Results"))
        .filter_map(|h| auth_results::parse(&h.value))
        .filter(|ar| {
            trusted
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&ar.authserv_id))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<String> {
        vec!["mx.nlg.kz".into()]
    }

    #[test]
    fn finds_the_receiving_host_in_by() {
        let postfix = "from mail.example.kz (mail.example.kz [192.0.2.1])  \tby mx.nlg.kz (Postfix) with ESMTPS id 4Xy for <info@nlg.kz>; Tue, 24 Nov 2026 10:00:00 +0500";
        assert!(received_by(postfix, &hosts()));
        assert!(received_by("from x by MX.NLG.KZ. with SMTP", &hosts()));
        assert!(received_by("from x (by (mx.nlg.kz)) with SMTP", &hosts()));
        assert!(!received_by(
            "from mx.nlg.kz by imap.nlg.kz with LMTP",
            &hosts()
        ));
        assert!(!received_by("from x by mx.nlg.kz.evil.example", &hosts()));
        assert!(!received_by("from x by evil-mx.nlg.kz", &hosts()));
    }

    #[test]
    fn a_helo_with_parentheses_cannot_hide_our_received() {
        // Attacker text in our own header (its HELO) opens a comment it never closes.
        let ours = "from x((( (unknown [192.0.2.9]) by mx.nlg.kz (Postfix) with ESMTP id 1";
        assert!(received_by(ours, &hosts()));
    }
}
