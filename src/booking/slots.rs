//! Knock's slots shown in the community's own time, grouped by day.
use chrono::NaiveDate;

pub use crate::domain::{describe, describe_time, Slot};
use chrono_tz::Tz;

#[derive(Debug, Clone)]
pub struct Day {
    pub date: NaiveDate,
    /// e.g. "Tuesday, November 24"
    pub heading: String,
    pub slots: Vec<DaySlot>,
}

#[derive(Debug, Clone)]
pub struct DaySlot {
    pub value: String,
    /// e.g. "10:30 AM"
    pub label: String,
}

/// Groups starts by local calendar day in `tz` (DST-correct: each instant converted on its own).
pub fn group_by_day(slots: &[Slot], tz: Tz) -> Vec<Day> {
    let mut sorted: Vec<&Slot> = slots.iter().collect();
    sorted.sort_by_key(|s| s.start);
    let mut days: Vec<Day> = Vec::new();
    for s in sorted {
        let local = s.start.with_timezone(&tz);
        let date = local.date_naive();
        if days.last().map(|d| d.date) != Some(date) {
            days.push(Day {
                date,
                heading: local.format("%A, %B %-d").to_string(),
                slots: vec![],
            });
        }
        if let Some(day) = days.last_mut() {
            day.slots.push(DaySlot {
                value: s.value.clone(),
                label: local.format("%-I:%M %p").to_string(),
            });
        }
    }
    days
}

/// `days` without the slot whose form value is `value` (a day left empty goes too): what
/// [`group_by_day`] gives for the slots less that one, without formatting every label again.
pub fn without_slot(days: &[Day], value: &str) -> Vec<Day> {
    days.iter()
        .filter_map(|d| {
            let slots: Vec<DaySlot> = d
                .slots
                .iter()
                .filter(|s| s.value != value)
                .cloned()
                .collect();
            (!slots.is_empty()).then(|| Day {
                date: d.date,
                heading: d.heading.clone(),
                slots,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removing_a_slot_matches_grouping_without_it() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let all: Vec<Slot> = [
            "2026-10-31T09:00:00-04:00",
            "2026-10-31T23:30:00-04:00",
            "2026-11-02T09:00:00-05:00",
        ]
        .iter()
        .map(|s| Slot::parse(s).unwrap())
        .collect();
        let days = group_by_day(&all, tz);
        for gone in &all {
            let rest: Vec<Slot> = all.iter().filter(|s| s != &gone).cloned().collect();
            let expected = group_by_day(&rest, tz);
            let got = without_slot(&days, &gone.value);
            let shape = |d: &[Day]| {
                d.iter()
                    .map(|d| {
                        (
                            d.heading.clone(),
                            d.slots
                                .iter()
                                .map(|s| (s.value.clone(), s.label.clone()))
                                .collect::<Vec<_>>(),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(shape(&got), shape(&expected), "without {}", gone.value);
        }
    }

    #[test]
    fn slots_group_by_local_day_across_a_dst_change() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let slots: Vec<Slot> = [
            "2026-10-31T09:00:00-04:00",
            "2026-11-02T09:00:00-05:00",
            "2026-10-31T23:30:00-04:00",
        ]
        .iter()
        .map(|s| Slot::parse(s).unwrap())
        .collect();
        let days = group_by_day(&slots, tz);
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].heading, "Saturday, October 31");
        assert_eq!(days[0].slots[0].label, "9:00 AM");
        assert_eq!(days[0].slots[1].label, "11:30 PM");
        assert_eq!(days[1].slots[0].label, "9:00 AM");
        assert_eq!(days[1].slots[0].value, "2026-11-02T09:00:00-05:00");
    }

    #[test]
    fn a_half_hour_offset_zone_is_described_in_its_own_time() {
        let tz: Tz = "Asia/Kolkata".parse().unwrap();
        let at = Slot::parse("2026-11-24T10:30:00+05:30").unwrap().utc();
        assert_eq!(
            describe(at, tz),
            "Tuesday, November 24, 2026 at 10:30 AM IST"
        );
    }

    #[test]
    fn a_start_without_an_offset_is_refused() {
        assert!(Slot::parse("2026-11-24T10:30:00").is_none());
        assert!(Slot::parse("tomorrow").is_none());
    }
}
