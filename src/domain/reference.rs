//! The reference a subject sees on every reply: `DSR-<year>-<number, 6+ digits>`.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reference {
    year: i32,
    number: i64,
}

impl Reference {
    pub fn new(year: i32, number: i64) -> Self {
        Self { year, number }
    }
    pub fn year(&self) -> i32 {
        self.year
    }
    pub fn number(&self) -> i64 {
        self.number
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DSR-{}-{:06}", self.year, self.number)
    }
}

impl FromStr for Reference {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a reference like DSR-2026-000123");
        let rest = s.trim().strip_prefix("DSR-").ok_or_else(bad)?;
        let (year, number) = rest.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || number.len() < 6 {
            return Err(bad());
        }
        Ok(Self {
            year: year.parse().map_err(|_| bad())?,
            number: number.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let r = Reference::new(2026, 123);
        assert_eq!(r.to_string(), "DSR-2026-000123");
        assert_eq!("DSR-2026-000123".parse::<Reference>().unwrap(), r);
        assert_eq!(
            Reference::new(2026, 1_234_567).to_string(),
            "DSR-2026-1234567"
        );
        assert!("DSR-26-1".parse::<Reference>().is_err());
        assert!("ABC-2026-000001".parse::<Reference>().is_err());
    }
}
