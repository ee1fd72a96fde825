//! Masking of personal data before it reaches a log line.
//!
//! The worker never logs an IIN, phone number, e-mail address or name in clear. Log fields that
//! must identify a subject use these masks, which keep enough shape for an operator to correlate
//! lines (first letter, domain suffix, last digits) and nothing more.

/// `aigerim.n@mail.kz` → `a***@m***.kz`; anything without an `@` becomes `***`.
pub fn email(address: &str) -> String {
    let Some((local, domain)) = address.trim().rsplit_once('@') else {
        return "***".to_owned();
    };
    let first = local.chars().next().map(String::from).unwrap_or_default();
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let host_first = host.chars().next().map(String::from).unwrap_or_default();
    if tld.is_empty() {
        format!("{first}***@{host_first}***")
    } else {
        format!("{first}***@{host_first}***.{tld}")
    }
}

/// Keeps the last two digits of a number (IIN, BIN, phone): `870221304582` → `**********82`.
pub fn digits(value: &str) -> String {
    let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
    let keep = digits.len().min(2);
    let mut out = "*".repeat(digits.len() - keep);
    out.extend(&digits[digits.len() - keep..]);
    out
}

/// Masks anything in free text that looks like an e-mail address or a long number (IIN, BIN,
/// phone): the last line of defence for log lines that carry text we did not write (an SMTP
/// server's answer echoing a recipient, a driver error quoting a value).
pub fn text(line: &str) -> std::borrow::Cow<'_, str> {
    use std::sync::LazyLock;
    static ADDRESS: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
            .expect("valid regex")
    });
    // Ten digits or more, possibly grouped by spaces, dashes, dots or brackets (+7 701 555 80 23).
    static NUMBER: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\+?\d(?:[ \-.()]?\d){9,}").expect("valid regex"));
    let masked = ADDRESS.replace_all(line, |c: &regex::Captures<'_>| email(&c[0]));
    match NUMBER.replace_all(&masked, |c: &regex::Captures<'_>| digits(&c[0])) {
        std::borrow::Cow::Borrowed(_) => masked,
        std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_loses_addresses_and_long_numbers() {
        let line = "SMTP 127.0.0.1:2525: 550 5.1.1 <aigerim.n@mail.kz>: Recipient rejected; \
                    key (iin)=(870221304582) phone +7 701 555 80 23 at 2026-12-01T22:01:10Z id=42";
        let t = text(line);
        for clear in ["aigerim", "mail.kz", "870221304582", "701 555", "5558023"] {
            assert!(!t.contains(clear), "{clear} in {t}");
        }
        for kept in [
            "127.0.0.1:2525",
            "550 5.1.1",
            "2026-12-01T22:01:10Z",
            "id=42",
        ] {
            assert!(t.contains(kept), "{kept} lost in {t}");
        }
        assert!(matches!(
            text("nothing personal, 42 rows"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn email_keeps_only_initials_and_tld() {
        assert_eq!(email("aigerim.n@mail.kz"), "a***@m***.kz");
        assert_eq!(email("x@localhost"), "x***@l***");
        assert_eq!(email("not an address"), "***");
        assert!(!email("aigerim.n@mail.kz").contains("aigerim"));
    }

    #[test]
    fn digits_keeps_last_two() {
        assert_eq!(digits("870221304582"), "**********82");
        assert_eq!(digits("+7 701 555 80 23"), "*********23");
        assert_eq!(digits("1"), "1");
    }
}
