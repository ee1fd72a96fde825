//! DMARC-style relaxed alignment: two domains are aligned when their organisational domains
//! (the registrable domain under the public-suffix list, RFC 7489 §3.2) are the same.
//!
//! The list is the `psl` crate's copy of Mozilla's Public Suffix List, compiled in (nothing is
//! fetched at run time), ICANN and private sections both: `alice.github.io` and
//! `bob.github.io` belong to different people, and `co.uk` or `kz` is nobody's domain.

/// The organisational domain of `domain`, lower-cased; `None` for a public suffix itself, an
/// empty name, or something that is not a host name.
pub fn organisational_domain(domain: &str) -> Option<String> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let plausible = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !plausible {
        return None;
    }
    psl::domain_str(&domain).map(str::to_owned)
}

/// Whether `a` and `b` have the same organisational domain.
pub fn aligned(a: &str, b: &str) -> bool {
    match (organisational_domain(a), organisational_domain(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_of_one_registrable_domain_align() {
        assert!(aligned("mail.example.co.uk", "example.co.uk"));
        assert!(aligned("a.b.kz", "b.kz"));
        assert!(aligned("MAIL.KZ.", "mail.kz"));
        assert!(aligned("subjects.test", "news.subjects.test"));
    }

    #[test]
    fn public_suffixes_and_siblings_do_not() {
        // `.kz`, `co.uk`, `com.kz` are public suffixes: nobody's organisational domain.
        assert_eq!(organisational_domain("kz"), None);
        assert_eq!(organisational_domain("co.uk"), None);
        assert!(!aligned("kz", "b.kz"));
        assert!(!aligned("co.uk", "example.co.uk"));
        assert!(!aligned("good.com.kz", "evil.com.kz"));
        assert!(!aligned("com.kz", "good.com.kz"));
        assert!(!aligned("mail.kz", "attacker.kz"));
        assert!(!aligned("example.co.uk", "other.co.uk"));
    }

    #[test]
    fn private_suffixes_count_too() {
        assert_eq!(
            organisational_domain("x.alice.github.io").as_deref(),
            Some("alice.github.io")
        );
        assert_eq!(organisational_domain("github.io"), None);
        assert!(!aligned("alice.github.io", "bob.github.io"));
        assert!(!aligned("github.io", "alice.github.io"));
    }

    #[test]
    fn not_host_names() {
        assert_eq!(organisational_domain(""), None);
        assert_eq!(organisational_domain("a..kz"), None);
        assert_eq!(organisational_domain("a b.kz"), None);
        assert_eq!(
            organisational_domain("mаil.kz"),
            None,
            "Cyrillic а is not ASCII"
        );
    }
}
