//! A phone number in E.164: Kazakhstan and Russia (`+7` and ten digits) or another country's
//! number written with its `+` country code.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    /// Accepts `+7 701 555 80 23`, `8 (701) 555-80-23`, `87015558023`, `7015558023`,
    /// `+7 916 204-55-81` and international numbers such as `+44 20 7946 0321`.
    pub fn parse(text: &str) -> Option<Self> {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let plus = text.trim_start().starts_with('+');
        if plus && !digits.starts_with('7') {
            // Another country: E.164 allows up to 15 digits; country codes never start with 0.
            if (10..=15).contains(&digits.len()) && !digits.starts_with('0') {
                return Some(Self(format!("+{digits}")));
            }
            return None;
        }
        let national = match digits.len() {
            11 if digits.starts_with('7') || (!plus && digits.starts_with('8')) => &digits[1..],
            10 if !plus => &digits[..],
            _ => return None,
        };
        // Kazakhstan: 7xx (mobile 70x/747/75x/77x, geographic 71x/72x); Russia: 9xx mobile,
        // 3xx/4xx/8xx geographic — the latter only when written with a +7 or 8 prefix.
        let first = national.as_bytes()[0];
        let prefixed = digits.len() == 11;
        let plausible = first == b'7' || (prefixed && matches!(first, b'9' | b'3' | b'4' | b'8'));
        if !plausible {
            return None;
        }
        Some(Self(format!("+7{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Numbers such as `+7 701 000 00 00` that are placeholders, not anybody's phone.
    pub fn is_placeholder(&self) -> bool {
        let subscriber = &self.0[self.0.len().saturating_sub(7)..];
        let zeros = subscriber.bytes().filter(|b| *b == b'0').count();
        let first = subscriber.as_bytes()[0];
        zeros >= 6 || subscriber.bytes().all(|b| b == first) || subscriber == "1234567"
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_e164() {
        for s in [
            "+7 701 555 80 23",
            "8 (701) 555-80-23",
            "87015558023",
            "7015558023",
            "+7(701)5558023",
            "8-701-555-80-23",
        ] {
            assert_eq!(Phone::parse(s).unwrap().as_str(), "+77015558023", "{s}");
        }
        assert_eq!(
            Phone::parse("+7 916 204-55-81").unwrap().as_str(),
            "+79162045581"
        );
        assert_eq!(
            Phone::parse("+44 20 7946 0321").unwrap().as_str(),
            "+442079460321"
        );
        assert!(Phone::parse("12345").is_none());
        assert!(Phone::parse("0212202513").is_none());
        // A bare 10-digit number is only taken for a Kazakhstan one.
        assert!(Phone::parse("9162045581").is_none());
    }

    #[test]
    fn placeholders() {
        assert!(Phone::parse("+7 701 000 00 00").unwrap().is_placeholder());
        assert!(Phone::parse("+7 701 111 11 11").unwrap().is_placeholder());
        assert!(!Phone::parse("+7 776 000 12 12").unwrap().is_placeholder());
    }
}
