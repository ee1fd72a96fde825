//! Kazakhstan's 12-digit identifiers: IIN (ЖСН/ИИН, a person) and BIN (БСН/БИН, an organisation).
//!
//! Both end in a check digit: the weighted sum of the first 11 digits with weights 1..11, modulo
//! 11; when that is 10, again with weights 3..11,1,2; a second 10 means the number is invalid.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IinError {
    #[error("must be 12 digits")]
    Length,
    #[error("check digit does not match")]
    Checksum,
    #[error("digits do not form a plausible {0}")]
    Structure(&'static str),
}

/// The check digit of the first 11 digits, or `None` when the number cannot be valid.
pub fn check_digit(digits: &[u8; 12]) -> Option<u8> {
    let sum = |weights: [u32; 11]| -> u32 {
        digits[..11]
            .iter()
            .zip(weights)
            .map(|(d, w)| u32::from(*d) * w)
            .sum::<u32>()
            % 11
    };
    let first = sum([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    let check = if first == 10 {
        sum([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])
    } else {
        first
    };
    (check != 10).then_some(check as u8)
}

fn twelve_digits(text: &str) -> Result<[u8; 12], IinError> {
    let bytes = text.as_bytes();
    if bytes.len() != 12 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(IinError::Length);
    }
    let mut out = [0u8; 12];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = b - b'0';
    }
    Ok(out)
}

fn checked(text: &str) -> Result<[u8; 12], IinError> {
    let d = twelve_digits(text)?;
    match check_digit(&d) {
        Some(c) if c == d[11] => Ok(d),
        _ => Err(IinError::Checksum),
    }
}

/// An individual identification number: YYMMDD, a century/sex digit 1–6, a serial, a check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iin(String);

impl Iin {
    pub fn parse(text: &str) -> Result<Self, IinError> {
        let d = checked(text)?;
        let month = d[2] * 10 + d[3];
        let day = d[4] * 10 + d[5];
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || !(1..=6).contains(&d[6]) {
            return Err(IinError::Structure("IIN"));
        }
        let century = match d[6] {
            1 | 2 => 1800,
            3 | 4 => 1900,
            _ => 2000,
        };
        let year = century + i32::from(d[0] * 10 + d[1]);
        if chrono::NaiveDate::from_ymd_opt(year, month.into(), day.into()).is_none() {
            return Err(IinError::Structure("IIN"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A business identification number: YYMM, an entity-type digit 4–6, an attribute digit, a
/// serial, a check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bin(String);

impl Bin {
    pub fn parse(text: &str) -> Result<Self, IinError> {
        let d = checked(text)?;
        let month = d[2] * 10 + d[3];
        if !(1..=12).contains(&month) || !(4..=6).contains(&d[4]) || d[5] > 4 {
            return Err(IinError::Structure("BIN"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Bin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_bin_from_the_agreement_is_valid() {
        assert!(Bin::parse("250140021383").is_ok());
        assert_eq!(Bin::parse("250140021384"), Err(IinError::Checksum));
    }

    fn with_check(first11: &str) -> Option<String> {
        let mut d = [0u8; 12];
        for (o, b) in d.iter_mut().zip(first11.bytes()) {
            *o = b - b'0';
        }
        check_digit(&d).map(|c| format!("{first11}{c}"))
    }

    /// Finds an 11-digit IIN prefix (valid date, digit 3) whose first round gives 10.
    fn second_round_prefix(double_ten: bool) -> String {
        for serial in 0..100_000u32 {
            let p = format!("8501013{serial:04}");
            let mut d = [0u8; 12];
            for (o, b) in d.iter_mut().zip(p.bytes()) {
                *o = b - b'0';
            }
            let first: u32 = d[..11]
                .iter()
                .zip(1..=11u32)
                .map(|(x, w)| u32::from(*x) * w)
                .sum::<u32>()
                % 11;
            if first != 10 {
                continue;
            }
            let second: u32 = d[..11]
                .iter()
                .zip([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2])
                .map(|(x, w)| u32::from(*x) * w)
                .sum::<u32>()
                % 11;
            if (second == 10) == double_ten {
                return p;
            }
        }
        unreachable!()
    }

    #[test]
    fn second_round_weights_decide_when_the_first_gives_ten() {
        let p = second_round_prefix(false);
        let iin = with_check(&p).expect("second round gives a digit");
        assert!(Iin::parse(&iin).is_ok(), "{iin}");
        // Every other final digit fails.
        for last in 0..10 {
            let other = format!("{p}{last}");
            if other != iin {
                assert_eq!(Iin::parse(&other), Err(IinError::Checksum));
            }
        }
    }

    #[test]
    fn a_second_ten_means_invalid() {
        let p = second_round_prefix(true);
        assert_eq!(with_check(&p), None);
        for last in 0..10 {
            assert_eq!(Iin::parse(&format!("{p}{last}")), Err(IinError::Checksum));
        }
    }

    #[test]
    fn structure_is_checked() {
        for prefix in ["85023030001", "85011370001", "85011330001"] {
            // 30 Feb; century digit 7; (third one valid date, digit 3 — must parse when checksum ok)
            if let Some(n) = with_check(prefix) {
                let ok = Iin::parse(&n).is_ok();
                assert_eq!(ok, prefix == "85011330001", "{n}");
            }
        }
        // A BIN needs an entity-type digit 4-6 in position 5; an IIN is never a BIN.
        let bin = with_check("25014002138").unwrap();
        assert_eq!(bin, "250140021383");
        assert!(Iin::parse(&bin).is_err());
    }

    #[test]
    fn iin_checks_length_checksum_and_date() {
        assert_eq!(Iin::parse("12345"), Err(IinError::Length));
        assert_eq!(Iin::parse("12345678901a"), Err(IinError::Length));
        // A number whose check digit is right but whose month is 13 is not an IIN.
        let mut d = *b"901301300000";
        for last in 0..10u8 {
            d[11] = b'0' + last;
            let s = std::str::from_utf8(&d).unwrap();
            assert_ne!(Iin::parse(s).map(|_| ()), Ok(()), "{s}");
        }
    }
}
