//! Is the sender who they say they are? Never act destructively or disclose on `From:` alone.
//!
//! Two ways to know:
//! 1. An `Authentication-Results` header (RFC 8601) added by one of *our* receiving servers
//!    (its authserv-id is configured as trusted) says DMARC passed, or DKIM/SPF passed for a
//!    domain aligned with the `From:` domain. Only the topmost such header counts: anything
//!    below it came from outside and could be forged.
//! 2. A confirmation round trip: we send a one-time code to the `From:` address; a reply from
//!    that address quoting the code, before it expires, confirms the request.

use rand::Rng;
use sha2::{Digest, Sha256};

/// Which check passed, for the request's record (`dkim=pass header.d=mail.kz`).
pub fn authenticated(raw: &[u8], from_domain: &str, trusted: &[String]) -> Option<String> {
    if trusted.is_empty() {
        return None;
    }
    let message = mail_parser::MessageParser::default().parse_headers(raw)?;
    let topmost = message
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("Authentication-Results"))?;
    let raw_value = &raw[topmost.offset_start() as usize..topmost.offset_end() as usize];
    let value = String::from_utf8_lossy(raw_value).replace(['\r', '\n'], " ");
    evaluate(&value, from_domain, trusted)
}

/// Evaluates one `Authentication-Results` value.
pub fn evaluate(value: &str, from_domain: &str, trusted: &[String]) -> Option<String> {
    let mut parts = value.split(';').map(str::trim);
    let authserv = parts
        .next()?
        .split_whitespace()
        .next()?
        .to_ascii_lowercase();
    if !trusted.iter().any(|t| t.eq_ignore_ascii_case(&authserv)) {
        return None;
    }
    let from_domain = from_domain.to_ascii_lowercase();
    for result in parts {
        let result = strip_comments(result);
        let mut words = result.split_whitespace();
        let Some(method) = words.next() else { continue };
        let Some((name, outcome)) = method.split_once('=') else {
            continue;
        };
        if !outcome.eq_ignore_ascii_case("pass") {
            continue;
        }
        let props: Vec<(String, String)> = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.trim_matches('"').to_ascii_lowercase(),
                )
            })
            .collect();
        let prop = |key: &str| {
            props
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let domain = match name.to_ascii_lowercase().as_str() {
            "dmarc" => prop("header.from"),
            "dkim" => prop("header.d")
                .or_else(|| prop("header.i").map(|i| i.rsplit('@').next().unwrap_or(i))),
            "spf" => prop("smtp.mailfrom").map(|m| m.rsplit('@').next().unwrap_or(m)),
            _ => None,
        };
        if let Some(domain) = domain {
            if aligned(domain, &from_domain) {
                return Some(format!(
                    "{}=pass ({domain}) by {authserv}",
                    name.to_ascii_lowercase()
                ));
            }
        }
    }
    None
}

fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Relaxed alignment (DMARC): the same domain, or one a subdomain of the other.
fn aligned(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

/// A new one-time code (no easily confused characters) and its hash for storage.
pub fn new_code() -> (String, Vec<u8>) {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let code: String = (0..8)
        .map(|i| {
            let c = ALPHABET[rng.gen_range(0..ALPHABET.len())] as char;
            if i == 4 {
                format!("-{c}")
            } else {
                c.to_string()
            }
        })
        .collect();
    let hash = hash_code(&code);
    (code, hash)
}

pub fn hash_code(code: &str) -> Vec<u8> {
    Sha256::digest(code.to_ascii_uppercase().as_bytes()).to_vec()
}

/// Codes in `text` that look like ours (`XXXX-XXXX`), normalised.
pub fn codes_in(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"(?i)\b([A-Z2-9]{4})-([A-Z2-9]{4})\b").expect("valid regex");
    re.captures_iter(text)
        .map(|c| format!("{}-{}", &c[1], &c[2]).to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> Vec<String> {
        vec!["mx.nlg.kz".into()]
    }

    #[test]
    fn aligned_dkim_from_our_server_passes() {
        let v = "mx.nlg.kz; dkim=pass (2048-bit key) header.d=mail.kz header.s=s1; spf=neutral";
        assert!(evaluate(v, "mail.kz", &trusted())
            .unwrap()
            .starts_with("dkim=pass"));
        let v = "mx.nlg.kz; spf=pass smtp.mailfrom=aigerim@mail.kz";
        assert!(evaluate(v, "mail.kz", &trusted()).is_some());
        let v = "mx.nlg.kz; dmarc=pass header.from=mail.kz";
        assert!(evaluate(v, "mail.kz", &trusted()).is_some());
    }

    #[test]
    fn untrusted_server_unaligned_domain_or_failure_do_not() {
        assert!(evaluate(
            "evil.example; dkim=pass header.d=mail.kz",
            "mail.kz",
            &trusted()
        )
        .is_none());
        assert!(evaluate(
            "mx.nlg.kz; dkim=pass header.d=attacker.kz",
            "mail.kz",
            &trusted()
        )
        .is_none());
        assert!(evaluate(
            "mx.nlg.kz; dkim=fail header.d=mail.kz",
            "mail.kz",
            &trusted()
        )
        .is_none());
        assert!(evaluate("mx.nlg.kz; dkim=pass header.d=mail.kz", "mail.kz", &[]).is_none());
        // "pass" inside a comment is not a result.
        assert!(evaluate(
            "mx.nlg.kz; dkim=fail (would pass header.d=mail.kz) header.d=x.kz",
            "mail.kz",
            &trusted()
        )
        .is_none());
    }

    #[test]
    fn only_the_topmost_header_counts() {
        let forged_below = b"Authentication-Results: mx.nlg.kz; dkim=fail header.d=mail.kz\r\n\
Authentication-Results: mx.nlg.kz; dkim=pass header.d=mail.kz\r\nFrom: a@mail.kz\r\nSubject: x\r\n\r\nbody\r\n";
        assert!(authenticated(forged_below, "mail.kz", &trusted()).is_none());
        let good = b"Authentication-Results: mx.nlg.kz;\r\n dkim=pass header.d=mail.kz\r\nFrom: a@mail.kz\r\nSubject: x\r\n\r\nbody\r\n";
        assert!(authenticated(good, "mail.kz", &trusted()).is_some());
    }

    #[test]
    fn codes_are_found_and_hashed_case_insensitively() {
        let (code, hash) = new_code();
        assert_eq!(code.len(), 9);
        let reply = format!(
            "Re: confirm\n\n> your code is {}\nyes it was me",
            code.to_lowercase()
        );
        assert_eq!(codes_in(&reply), vec![code.clone()]);
        assert_eq!(hash_code(&code.to_lowercase()), hash);
    }
}
