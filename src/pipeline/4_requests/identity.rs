//! Is the sender who they say they are? Never act destructively or disclose on `From:` alone.
//!
//! Two ways to know:
//! 1. Our own MX checked the message on arrival and said so. Its verdict is the block of
//!    `Authentication-Results` headers (RFC 8601) with a trusted authserv-id directly above the
//!    `Received:` header it added ([`trace`]); anything below that header came from outside and
//!    may be forged, and mail that never passed our MX has no such header at all. For every
//!    kind that changes or discloses data (all but a marketing opt-out) only an aligned DKIM
//!    pass proves the mailbox: the signing domain's organisational domain ([`alignment`], from
//!    the public-suffix list) is the `From:` domain's. An SPF pass proves only the envelope
//!    sender's path, and `dmarc=pass` alone does not say whether DKIM or SPF made it pass, so
//!    neither is proof for those kinds. A marketing opt-out needs no proof at all (it only sets
//!    flags); for it any aligned pass is recorded.
//! 2. A confirmation round trip ([`crate::request::verification`]): a one-time code sent to the address,
//!    typed back in a reply from it before it expires.

mod alignment;
mod auth_results;
mod trace;

pub use alignment::{aligned, organisational_domain};

use crate::domain::{EmailAddress, RequestKind};
use crate::stores::settings::IdentitySettings;

/// How our MX verified the sender of `raw` for a request of `kind`, for the request's record
/// (`dkim=pass header.d=mail.kz (aligned with From mail.kz) by mx.nlg.kz`: domains only), or
/// `None` when nothing our MX wrote proves it. `from` is the request's `From:` address; it
/// must be the message's one and only `From:` address.
pub fn authenticated(
    raw: &[u8],
    from: &str,
    kind: RequestKind,
    settings: &IdentitySettings,
) -> Option<String> {
    if settings.trusted_authserv_ids.is_empty() || settings.receiving_hosts.is_empty() {
        return None;
    }
    let from_domain = EmailAddress::parse(from).ok()?.domain().to_owned();
    if sole_from_domain(raw)? != from_domain {
        return None;
    }
    let headers = trace::headers(raw)?;
    let verdict = trace::our_verdict(
        &headers,
        &settings.receiving_hosts,
        &settings.trusted_authserv_ids,
    );
    for ar in &verdict {
        for r in ar.results.iter().filter(|r| r.result == "pass") {
            let (domain, accepted) = match r.method.as_str() {
                // The signature covers From and the body: proof of the domain's mail system.
                "dkim" => (r.property("header.d"), true),
                // Proves the envelope path only; DMARC may rest on SPF alone.
                "spf" => (
                    r.property("smtp.mailfrom")
                        .map(|m| m.rsplit('@').next().unwrap_or(m)),
                    kind == RequestKind::MarketingOptOut,
                ),
                "dmarc" => (
                    r.property("header.from"),
                    kind == RequestKind::MarketingOptOut,
                ),
                _ => (None, false),
            };
            if let Some(domain) = domain.filter(|d| accepted && aligned(d, &from_domain)) {
                let property = match r.method.as_str() {
                    "dkim" => "header.d",
                    "spf" => "smtp.mailfrom domain",
                    _ => "header.from",
                };
                return Some(format!(
                    "{}=pass {property}={domain} (aligned with From {from_domain}) by {}",
                    r.method, ar.authserv_id
                ));
            }
        }
    }
    None
}

/// The domain of the message's only `From:` address; `None` with several `From:` headers or
/// addresses (which one would a signature cover, which one would the person see?).
fn sole_from_domain(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse_headers(raw)?;
    let from_headers = message
        .headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case("From"))
        .count();
    if from_headers != 1 {
        return None;
    }
    let addresses = message.from()?;
    let mut all = addresses.iter();
    let first = all.next()?.address()?;
    if all.next().is_some() {
        return None;
    }
    Some(EmailAddress::parse(first).ok()?.domain().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> IdentitySettings {
        IdentitySettings {
            trusted_authserv_ids: vec!["mx.nlg.kz".into()],
            receiving_hosts: vec!["mx.nlg.kz".into()],
            ..IdentitySettings::default()
        }
    }

    const OURS: &str = "Received: from mail.mail.kz (mail.mail.kz [192.0.2.1])\r\n\tby mx.nlg.kz (Postfix) with ESMTPS id 4Xy\r\n\tfor <info@nlg.kz>; Tue, 24 Nov 2026 10:00:00 +0500\r\n";
    const OUTSIDE: &str = "Received: from attacker.example (attacker.example [198.51.100.7])\r\n\tby relay.outside.example with ESMTP id 77; Tue, 24 Nov 2026 09:59:00 +0500\r\n";
    const DKIM: &str = "Authentication-Results: mx.nlg.kz;\r\n\tdkim=pass (2048-bit key) header.d=mail.kz header.s=s1\r\n";
    const SPF: &str = "Authentication-Results: mx.nlg.kz; spf=pass smtp.mailfrom=aigerim@mail.kz;\r\n\tdkim=none; dmarc=pass header.from=mail.kz\r\n";
    const BODY: &str =
        "From: Aigerim <aigerim@mail.kz>\r\nTo: info@nlg.kz\r\nSubject: x\r\n\r\nbody\r\n";

    fn mail(headers: &[&str]) -> Vec<u8> {
        let mut raw = headers.concat();
        raw.push_str(BODY);
        raw.into_bytes()
    }

    fn check(headers: &[&str], kind: RequestKind) -> Option<String> {
        authenticated(&mail(headers), "aigerim@mail.kz", kind, &settings())
    }

    #[test]
    fn our_mx_verdict_above_its_received_counts() {
        let how = check(&[DKIM, OURS], RequestKind::Erasure).unwrap();
        assert_eq!(
            how,
            "dkim=pass header.d=mail.kz (aligned with From mail.kz) by mx.nlg.kz"
        );
        // Later internal hops (LMTP delivery) above it change nothing.
        let lmtp = "Received: from mx.nlg.kz by imap.nlg.kz with LMTP id 9; Tue, 24 Nov 2026 10:00:01 +0500\r\n";
        assert!(check(&[lmtp, DKIM, OURS, OUTSIDE], RequestKind::Access).is_some());
    }

    #[test]
    fn a_trusted_header_below_a_received_is_not_ours() {
        // Forged before the mail reached anyone: below an outside server's Received ...
        assert!(check(&[OUTSIDE, DKIM], RequestKind::Erasure).is_none());
        // ... and below our own MX's Received, whatever our MX or others added above.
        assert!(check(&[OURS, DKIM], RequestKind::Erasure).is_none());
        assert!(check(&[OURS, OUTSIDE, DKIM], RequestKind::Erasure).is_none());
        // A forged copy of our Received lower down does not make its block ours.
        let honest = "Authentication-Results: mx.nlg.kz; dkim=fail header.d=mail.kz\r\n";
        assert!(check(&[honest, OURS, DKIM, OURS], RequestKind::Erasure).is_none());
    }

    #[test]
    fn mail_that_never_passed_our_mx_is_unverified() {
        // Appended to the mailbox directly, or delivered around the MX: no Received of ours.
        assert!(check(&[DKIM], RequestKind::Erasure).is_none());
        let other_host = "Received: from x by mx2.elsewhere.example with ESMTP id 1; Tue, 24 Nov 2026 10:00:00 +0500\r\n";
        assert!(check(&[DKIM, other_host], RequestKind::Erasure).is_none());
        // Without configured receiving hosts nothing counts at all.
        let mut s = settings();
        s.receiving_hosts.clear();
        assert!(authenticated(
            &mail(&[DKIM, OURS]),
            "aigerim@mail.kz",
            RequestKind::Erasure,
            &s
        )
        .is_none());
    }

    #[test]
    fn two_headers_directly_above_our_received_are_one_verdict() {
        // One milter writes SPF/DMARC, another DKIM: together they are the MX's verdict.
        let dmarc = "Authentication-Results: mx.nlg.kz; dmarc=pass header.from=mail.kz\r\n";
        assert!(check(&[dmarc, DKIM, OURS], RequestKind::Erasure).is_some());
        assert!(check(&[DKIM, dmarc, OURS], RequestKind::Erasure).is_some());
        // A header of an untrusted authserv-id in the block counts for nothing.
        let theirs =
            "Authentication-Results: relay.outside.example; dkim=pass header.d=mail.kz\r\n";
        assert!(check(&[theirs, OURS], RequestKind::Erasure).is_none());
        // A trusted header above a later hop's Received is not the MX's verdict on the mail
        // as it came in.
        let lmtp = "Received: from mx.nlg.kz by imap.nlg.kz with LMTP id 9; Tue, 24 Nov 2026 10:00:01 +0500\r\n";
        let none = "Authentication-Results: mx.nlg.kz; dkim=none\r\n";
        assert!(check(&[DKIM, lmtp, none, OURS], RequestKind::Erasure).is_none());
    }

    #[test]
    fn spf_or_dmarc_alone_proves_nothing_destructive() {
        for kind in RequestKind::ALL {
            let spf_only = check(&[SPF, OURS], kind);
            if kind == RequestKind::MarketingOptOut {
                assert!(spf_only.is_some(), "{kind}");
            } else {
                assert!(spf_only.is_none(), "{kind}: SPF/DMARC only is no proof");
            }
            assert!(check(&[DKIM, OURS], kind).is_some(), "{kind}: aligned DKIM");
        }
    }

    #[test]
    fn dkim_must_be_aligned_with_from_and_pass() {
        let other = "Authentication-Results: mx.nlg.kz; dkim=pass header.d=attacker.kz\r\n";
        assert!(check(&[other, OURS], RequestKind::Access).is_none());
        let failed = "Authentication-Results: mx.nlg.kz; dkim=fail header.d=mail.kz\r\n";
        assert!(check(&[failed, OURS], RequestKind::Access).is_none());
        // A signature of the public suffix (or a sibling under it) is not the From domain's.
        let suffix = "Authentication-Results: mx.nlg.kz; dkim=pass header.d=kz\r\n";
        assert!(check(&[suffix, OURS], RequestKind::Access).is_none());
        // A subdomain of the same organisation aligns.
        let sub = "Authentication-Results: mx.nlg.kz; dkim=pass header.d=news.mail.kz\r\n";
        assert!(check(&[sub, OURS], RequestKind::Access).is_some());
        // The From address given must be the message's.
        assert!(authenticated(
            &mail(&[DKIM, OURS]),
            "aigerim@other.kz",
            RequestKind::Access,
            &settings()
        )
        .is_none());
    }

    #[test]
    fn several_from_headers_or_addresses_prove_nothing() {
        let mut raw = [DKIM, OURS, "From: someone@attacker.kz\r\n"].concat();
        raw.push_str(BODY);
        assert!(authenticated(
            raw.as_bytes(),
            "aigerim@mail.kz",
            RequestKind::Erasure,
            &settings()
        )
        .is_none());
        let two = [
            DKIM,
            OURS,
            "From: aigerim@mail.kz, other@attacker.kz\r\nSubject: x\r\n\r\nbody\r\n",
        ]
        .concat();
        assert!(authenticated(
            two.as_bytes(),
            "aigerim@mail.kz",
            RequestKind::Erasure,
            &settings()
        )
        .is_none());
    }
}
