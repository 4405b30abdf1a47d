use std::fmt;

use chrono::{Months, NaiveDate};

/// How far ahead a move-in date may be; further out is almost certainly a typo in the year.
const HORIZON_MONTHS: u32 = 24;

/// The renter's desired move-in date: today or later, at most two years ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MoveDate(NaiveDate);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoveDateError {
    #[error("Enter the move-in date as year-month-day, like 2026-09-01.")]
    Invalid,
    #[error("Choose a move-in date that is today or later.")]
    InThePast,
    #[error("Choose a move-in date within the next two years.")]
    TooFar,
}

impl MoveDate {
    /// `today` is the community's current date, so "today" means the same day for the renter.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, MoveDateError> {
        let input = input.trim();
        // chrono accepts unpadded fields ("2026-9-1"); the form sends exactly YYYY-MM-DD.
        let shaped = input.len() == 10
            && input.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shaped {
            return Err(MoveDateError::Invalid);
        }
        let date =
            NaiveDate::parse_from_str(input, "%Y-%m-%d").map_err(|_| MoveDateError::Invalid)?;
        if date < today {
            return Err(MoveDateError::InThePast);
        }
        match today.checked_add_months(Months::new(HORIZON_MONTHS)) {
            Some(latest) if date <= latest => Ok(Self(date)),
            _ => Err(MoveDateError::TooFar),
        }
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

impl fmt::Display for MoveDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl serde::Serialize for MoveDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a real date")
    }

    fn today() -> NaiveDate {
        day(2026, 3, 15)
    }

    #[test]
    fn today_and_the_last_day_two_years_ahead_are_accepted() {
        assert_eq!(
            MoveDate::parse("2026-03-15", today()).map(MoveDate::date),
            Ok(today())
        );
        assert_eq!(
            MoveDate::parse("2028-03-15", today()).map(MoveDate::date),
            Ok(day(2028, 3, 15))
        );
    }

    #[test]
    fn yesterday_is_in_the_past() {
        assert_eq!(
            MoveDate::parse("2026-03-14", today()),
            Err(MoveDateError::InThePast)
        );
    }

    #[test]
    fn the_day_after_the_two_year_horizon_is_too_far() {
        assert_eq!(
            MoveDate::parse("2028-03-16", today()),
            Err(MoveDateError::TooFar)
        );
    }

    #[test]
    fn from_a_leap_day_the_horizon_ends_on_the_28th_of_february() {
        let leap_day = day(2028, 2, 29);
        assert!(MoveDate::parse("2030-02-28", leap_day).is_ok());
        assert_eq!(
            MoveDate::parse("2030-03-01", leap_day),
            Err(MoveDateError::TooFar)
        );
    }

    #[test]
    fn malformed_and_impossible_dates_are_refused() {
        for bad in [
            "",
            "2026-9-1",
            "2026/09/01",
            "09/01/2026",
            "2026-02-30",
            "2026-13-01",
            "2026-09-01T00:00",
            "２０２６-09-01",
            "tomorrow",
        ] {
            assert_eq!(
                MoveDate::parse(bad, today()),
                Err(MoveDateError::Invalid),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn display_and_serde_use_the_iso_date() {
        let date = MoveDate::parse(" 2026-09-01 ", today()).expect("valid");
        assert_eq!(date.to_string(), "2026-09-01");
        assert_eq!(
            serde_json::to_string(&date).expect("serialize"),
            "\"2026-09-01\""
        );
    }
}
