//! Knock's slots shown in the community's own time, grouped by day.
use std::sync::Arc;

use chrono::{NaiveDate, Timelike};

pub use crate::domain::{describe, describe_time, Slot};
use chrono_tz::Tz;

#[derive(Debug, Clone)]
pub struct Day {
    pub date: NaiveDate,
    /// `2026-11-24`: the day tab's value.
    pub value: String,
    /// e.g. "Tuesday, November 24"
    pub heading: String,
    /// e.g. "Tue" and "Nov 24", for the day strip.
    pub weekday: String,
    pub short: String,
    /// The day's times by part of the day, in order; parts without times left out.
    pub parts: Vec<DayPart>,
    /// The day's times as the picker shows them with none chosen, made once by the web layer
    /// and kept while the day is (a booking makes only its own day anew); shared by every page
    /// body that shows the day.
    pub times_html: std::sync::OnceLock<bytes::Bytes>,
}

impl Day {
    pub fn slots(&self) -> impl Iterator<Item = &DaySlot> {
        self.parts.iter().flat_map(|p| &p.slots)
    }

    /// Whether `value` is one of this day's starts.
    pub fn has(&self, value: &str) -> bool {
        self.slots().any(|s| s.value == value)
    }
}

/// Morning (before noon), afternoon (before 5 PM) or evening, in the community's time.
#[derive(Debug, Clone)]
pub struct DayPart {
    pub name: &'static str,
    pub slots: Vec<DaySlot>,
}

#[derive(Debug, Clone)]
pub struct DaySlot {
    pub value: String,
    /// e.g. "10:30 AM"
    pub label: String,
    /// The chip's large part, "10:30"; its part of the day says whether AM or PM.
    pub clock: String,
    /// " AM" or " PM", read out by screen readers with the time.
    pub meridiem: String,
}

const PARTS: [(&str, u32); 3] = [("Morning", 12), ("Afternoon", 17), ("Evening", 24)];

fn part_of(hour: u32) -> &'static str {
    PARTS
        .iter()
        .find(|(_, until)| hour < *until)
        .map_or("Evening", |(name, _)| name)
}

/// Groups starts by local calendar day in `tz` (DST-correct: each instant converted on its own).
pub fn group_by_day(slots: &[Slot], tz: Tz) -> Vec<Arc<Day>> {
    let mut sorted: Vec<&Slot> = slots.iter().collect();
    sorted.sort_by_key(|s| s.start);
    let mut days: Vec<Day> = Vec::new();
    for s in sorted {
        let local = s.start.with_timezone(&tz);
        let date = local.date_naive();
        if days.last().map(|d| d.date) != Some(date) {
            days.push(Day {
                date,
                value: date.format("%Y-%m-%d").to_string(),
                heading: local.format("%A, %B %-d").to_string(),
                weekday: local.format("%a").to_string(),
                short: local.format("%b %-d").to_string(),
                parts: vec![],
                times_html: std::sync::OnceLock::new(),
            });
        }
        let Some(day) = days.last_mut() else {
            continue;
        };
        let name = part_of(local.hour());
        if day.parts.last().map(|p| p.name) != Some(name) {
            day.parts.push(DayPart {
                name,
                slots: vec![],
            });
        }
        if let Some(part) = day.parts.last_mut() {
            part.slots.push(DaySlot {
                value: s.value.clone(),
                label: local.format("%-I:%M %p").to_string(),
                clock: local.format("%-I:%M").to_string(),
                meridiem: local.format(" %p").to_string(),
            });
        }
    }
    days.into_iter().map(Arc::new).collect()
}

/// `days` without the slot whose form value is `value` (a day left empty goes too): what
/// [`group_by_day`] gives for the slots less that one, without formatting every label again.
pub fn without_slot(days: &[Arc<Day>], value: &str) -> Vec<Arc<Day>> {
    days.iter()
        .filter_map(|d| {
            if !d.has(value) {
                // Shared, not copied: only the day that loses a time is made anew.
                return Some(d.clone());
            }
            let parts: Vec<DayPart> = d
                .parts
                .iter()
                .filter_map(|p| {
                    let slots: Vec<DaySlot> = p
                        .slots
                        .iter()
                        .filter(|s| s.value != value)
                        .cloned()
                        .collect();
                    (!slots.is_empty()).then_some(DayPart {
                        name: p.name,
                        slots,
                    })
                })
                .collect();
            (!parts.is_empty()).then(|| {
                Arc::new(Day {
                    date: d.date,
                    value: d.value.clone(),
                    heading: d.heading.clone(),
                    weekday: d.weekday.clone(),
                    short: d.short.clone(),
                    parts,
                    times_html: std::sync::OnceLock::new(),
                })
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
            "2026-10-31T13:00:00-04:00",
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
            let shape = |d: &[Arc<Day>]| {
                d.iter()
                    .map(|d| {
                        (
                            d.heading.clone(),
                            d.parts
                                .iter()
                                .map(|p| {
                                    let s: Vec<_> = p
                                        .slots
                                        .iter()
                                        .map(|s| (s.value.clone(), s.label.clone()))
                                        .collect();
                                    (p.name, s)
                                })
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
        let labels = |d: &Day| d.slots().map(|s| s.label.clone()).collect::<Vec<_>>();
        assert_eq!(labels(&days[0]), ["9:00 AM", "11:30 PM"]);
        assert_eq!(labels(&days[1]), ["9:00 AM"]);
        assert!(days[1].has("2026-11-02T09:00:00-05:00"));
    }

    #[test]
    fn a_days_times_are_grouped_into_morning_afternoon_and_evening() {
        let tz: Tz = "America/Los_Angeles".parse().unwrap();
        let slots: Vec<Slot> = [
            "2026-11-24T11:30:00-08:00",
            "2026-11-24T12:00:00-08:00",
            "2026-11-24T16:30:00-08:00",
            "2026-11-24T17:00:00-08:00",
            "2026-11-24T09:00:00-08:00",
        ]
        .iter()
        .map(|s| Slot::parse(s).unwrap())
        .collect();
        let days = group_by_day(&slots, tz);
        let parts: Vec<(&str, Vec<&str>)> = days[0]
            .parts
            .iter()
            .map(|p| (p.name, p.slots.iter().map(|s| s.label.as_str()).collect()))
            .collect();
        assert_eq!(
            parts,
            [
                ("Morning", vec!["9:00 AM", "11:30 AM"]),
                ("Afternoon", vec!["12:00 PM", "4:30 PM"]),
                ("Evening", vec!["5:00 PM"]),
            ]
        );
        let first = &days[0].parts[0].slots[0];
        assert_eq!(
            (first.clock.as_str(), first.meridiem.as_str()),
            ("9:00", " AM")
        );
        assert_eq!(
            (days[0].weekday.as_str(), days[0].short.as_str()),
            ("Tue", "Nov 24")
        );
        assert_eq!(days[0].value, "2026-11-24");
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
