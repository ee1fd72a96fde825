//! Statutory deadlines counted in Kazakhstan working days.
//!
//! A working day is Monday–Friday that is not a public holiday, plus any weekend day the
//! government made a working day (holiday transfers). Holidays are configured per year
//! (`[calendar]`), since the transfers are decreed yearly. Days are counted in Almaty time
//! (UTC+5): a request received on a working day counts from the next one.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};
use serde::Deserialize;

use crate::domain::RequestKind;

/// Kazakhstan's single time zone since 1 March 2024.
pub fn almaty() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600).expect("valid offset")
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarSettings {
    /// Public holidays and transferred days off (`YYYY-MM-DD`).
    pub holidays: Vec<NaiveDate>,
    /// Weekend days decreed working days.
    pub working_weekends: Vec<NaiveDate>,
}

/// Working days allowed per request kind (DESIGN.md; law 94-V art. 25(2)).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeadlineSettings {
    pub access: u32,
    pub withdraw_consent: u32,
    pub erasure: u32,
    pub restriction: u32,
    pub rectification: u32,
    pub marketing_opt_out: u32,
    /// A reasoned refusal.
    pub refusal: u32,
}

impl Default for DeadlineSettings {
    fn default() -> Self {
        Self {
            access: 3,
            withdraw_consent: 1,
            erasure: 1,
            restriction: 1,
            rectification: 1,
            marketing_opt_out: 3,
            refusal: 3,
        }
    }
}

impl DeadlineSettings {
    pub fn working_days(&self, kind: RequestKind) -> u32 {
        match kind {
            RequestKind::Access => self.access,
            RequestKind::WithdrawConsent => self.withdraw_consent,
            RequestKind::Erasure => self.erasure,
            RequestKind::Restriction => self.restriction,
            RequestKind::Rectification => self.rectification,
            RequestKind::MarketingOptOut => self.marketing_opt_out,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
    working_weekends: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn new(settings: &CalendarSettings) -> Self {
        Self {
            holidays: settings.holidays.iter().copied().collect(),
            working_weekends: settings.working_weekends.iter().copied().collect(),
        }
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.working_weekends.contains(&day) {
            return true;
        }
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&day)
    }

    /// The `n`-th working day after `day` (`n = 0`: `day` itself if working, else the next).
    pub fn add_working_days(&self, day: NaiveDate, n: u32) -> NaiveDate {
        let mut current = day;
        let mut left = n;
        if left == 0 {
            while !self.is_working_day(current) {
                current += Duration::days(1);
            }
            return current;
        }
        while left > 0 {
            current += Duration::days(1);
            if self.is_working_day(current) {
                left -= 1;
            }
        }
        current
    }

    /// The end (23:59:59 Almaty time) of the last working day for an answer to something
    /// received at `received`.
    pub fn due(&self, received: DateTime<Utc>, working_days: u32) -> DateTime<Utc> {
        let local = received.with_timezone(&almaty()).date_naive();
        let last = self.add_working_days(local, working_days);
        let end = last.and_hms_opt(23, 59, 59).expect("valid time");
        almaty()
            .from_local_datetime(&end)
            .single()
            .expect("fixed offsets are unambiguous")
            .with_timezone(&Utc)
    }

    /// Working days from `now` until `due` (negative when overdue; 0 on the last day).
    pub fn working_days_left(&self, now: DateTime<Utc>, due: DateTime<Utc>) -> i64 {
        let today = now.with_timezone(&almaty()).date_naive();
        let last = due.with_timezone(&almaty()).date_naive();
        let (from, to, sign) = if last >= today {
            (today, last, 1)
        } else {
            (last, today, -1)
        };
        let mut count = 0;
        let mut d = from;
        while d < to {
            d += Duration::days(1);
            if self.is_working_day(d) {
                count += 1;
            }
        }
        if sign < 0 && count == 0 {
            // Past the deadline on a day off still counts as overdue.
            return -1;
        }
        sign * count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn calendar() -> Calendar {
        Calendar::new(&CalendarSettings {
            // Republic Day (Sun 25 Oct 2026) moved to Mon 26 Oct; 16 Dec Independence Day.
            holidays: vec![d("2026-10-26"), d("2026-12-16")],
            working_weekends: vec![d("2026-12-19")],
        })
    }

    #[test]
    fn weekends_and_holidays_are_skipped() {
        let c = calendar();
        // Friday + 1 working day = Monday.
        assert_eq!(c.add_working_days(d("2026-11-20"), 1), d("2026-11-23"));
        // Friday 23 Oct + 1 = Tuesday 27 Oct (Monday is the moved holiday).
        assert_eq!(c.add_working_days(d("2026-10-23"), 1), d("2026-10-27"));
        // Tue 15 Dec + 3: 17, 18, then Saturday 19 Dec is a working weekend day.
        assert_eq!(c.add_working_days(d("2026-12-15"), 3), d("2026-12-19"));
        assert!(!c.is_working_day(d("2026-11-22")));
        assert!(c.is_working_day(d("2026-12-19")));
    }

    #[test]
    fn due_is_end_of_day_in_almaty() {
        let c = calendar();
        // Received Friday 20 Nov 2026 at 22:00 Almaty (17:00 UTC): 3 working days → Wed 25 Nov.
        let received = Utc.with_ymd_and_hms(2026, 11, 20, 17, 0, 0).unwrap();
        let due = c.due(received, 3);
        assert_eq!(due, Utc.with_ymd_and_hms(2026, 11, 25, 18, 59, 59).unwrap());
        // Received at 20:00 UTC Friday = 01:00 Saturday in Almaty: counts from Saturday.
        let late = Utc.with_ymd_and_hms(2026, 11, 20, 20, 0, 0).unwrap();
        assert_eq!(
            c.due(late, 1),
            Utc.with_ymd_and_hms(2026, 11, 23, 18, 59, 59).unwrap()
        );
    }

    #[test]
    fn working_days_left_counts_both_ways() {
        let c = calendar();
        let due = c.due(Utc.with_ymd_and_hms(2026, 11, 20, 6, 0, 0).unwrap(), 3);
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0).unwrap();
        assert_eq!(c.working_days_left(monday, due), 2);
        let due_day = Utc.with_ymd_and_hms(2026, 11, 25, 6, 0, 0).unwrap();
        assert_eq!(c.working_days_left(due_day, due), 0);
        let later = Utc.with_ymd_and_hms(2026, 11, 27, 6, 0, 0).unwrap();
        assert_eq!(c.working_days_left(later, due), -2);
        let saturday_after = Utc.with_ymd_and_hms(2026, 11, 28, 6, 0, 0).unwrap();
        assert!(c.working_days_left(saturday_after, due) < 0);
    }

    #[test]
    fn deadlines_per_kind_follow_design_defaults() {
        let s = DeadlineSettings::default();
        assert_eq!(s.working_days(RequestKind::Access), 3);
        assert_eq!(s.working_days(RequestKind::Restriction), 1);
    }
}
