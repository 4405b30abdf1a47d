use std::fmt;

use chrono::{Datelike, NaiveDate};

/// How many years before and after this one a staff filter may name.
pub const YEARS_AROUND: i32 = 5;

/// A day a staff filter names: `YYYY-MM-DD`, in a year at most [`YEARS_AROUND`] from this
/// one. Nothing built from it (a day later, two weeks later, its local midnight) can leave
/// chrono's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StaffDate(NaiveDate);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffDateError {
    #[error("must look like 2026-11-24")]
    Invalid,
    #[error("must be in a year from {earliest} to {latest}")]
    OutOfRange { earliest: i32, latest: i32 },
}

impl StaffDate {
    /// `today` anchors the years allowed.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, StaffDateError> {
        let input = input.trim();
        // chrono alone takes signed, six-digit and unpadded years ("+262142-12-25").
        let shaped = input.len() == 10
            && input.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shaped {
            return Err(StaffDateError::Invalid);
        }
        let date =
            NaiveDate::parse_from_str(input, "%Y-%m-%d").map_err(|_| StaffDateError::Invalid)?;
        let (earliest, latest) = (today.year() - YEARS_AROUND, today.year() + YEARS_AROUND);
        if !(earliest..=latest).contains(&date.year()) {
            return Err(StaffDateError::OutOfRange { earliest, latest });
        }
        Ok(Self(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

impl fmt::Display for StaffDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 15).unwrap()
    }

    #[test]
    fn dates_five_years_either_side_are_taken() {
        for ok in ["2021-01-01", "2026-03-15", "2031-12-31", " 2026-11-24 "] {
            assert!(StaffDate::parse(ok, today()).is_ok(), "{ok:?}");
        }
        assert_eq!(
            StaffDate::parse("2026-11-24", today()).unwrap().to_string(),
            "2026-11-24"
        );
    }

    #[test]
    fn years_further_out_are_refused_with_the_range() {
        for far in ["2020-12-31", "2032-01-01", "9999-12-31", "0000-01-01"] {
            assert_eq!(
                StaffDate::parse(far, today()),
                Err(StaffDateError::OutOfRange {
                    earliest: 2021,
                    latest: 2031
                }),
                "{far:?}"
            );
        }
        let e = StaffDate::parse("2040-01-01", today()).unwrap_err();
        assert_eq!(e.to_string(), "must be in a year from 2021 to 2031");
    }

    #[test]
    fn signed_long_unpadded_and_impossible_dates_are_not_dates() {
        for bad in [
            "+262142-12-25",
            "-262143-01-01",
            "262142-12-31",
            "+2026-11-24",
            "2026-9-1",
            "2026-02-30",
            "2026-13-01",
            "",
            "２０２６-09-01",
            "2026-11-24T00:00",
        ] {
            assert_eq!(
                StaffDate::parse(bad, today()),
                Err(StaffDateError::Invalid),
                "{bad:?}"
            );
        }
    }
}
