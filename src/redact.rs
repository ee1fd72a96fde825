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

#[cfg(test)]
mod tests {
    use super::*;

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
