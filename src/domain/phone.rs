//! A Kazakhstan phone number in E.164 (`+7` and ten digits).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    /// Accepts `+7 701 555 80 23`, `8 (701) 555-80-23`, `87015558023`, `7015558023`.
    pub fn parse(text: &str) -> Option<Self> {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let national = match digits.len() {
            11 if digits.starts_with('7') || digits.starts_with('8') => &digits[1..],
            10 => &digits[..],
            _ => return None,
        };
        // Kazakhstan numbers are +7 6xx / 7xx (mobile 70x/747/75x/77x, geographic 71x/72x).
        if !(national.starts_with('7') || national.starts_with('6')) {
            return None;
        }
        Some(Self(format!("+7{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
        ] {
            assert_eq!(Phone::parse(s).unwrap().as_str(), "+77015558023", "{s}");
        }
        assert!(Phone::parse("12345").is_none());
        assert!(Phone::parse("+1 212 555 0100").is_none());
    }
}
