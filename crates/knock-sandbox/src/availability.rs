//! Slot arithmetic: which tour starts a community offers (API.md §3, §4 "Concurrency").
use chrono::{DateTime, LocalResult, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::records::TourType;
use super::SandboxCommunity;

/// The span a confirmed appointment occupies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Booking {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub tour_type: TourType,
}

pub(super) fn tour_length(community: &SandboxCommunity) -> TimeDelta {
    TimeDelta::minutes(i64::from(community.tour_minutes))
}

/// Whether `booking` keeps a tour of `tour_type` out of the span it covers: one of the same
/// type always does; one of the other type only when the two may not overlap (K-SGA).
fn blocks(community: &SandboxCommunity, tour_type: TourType, booking: &Booking) -> bool {
    booking.tour_type == tour_type || !community.self_guided_may_overlap
}

/// Whether a tour of `tour_type` over [start, end) collides with no booking.
pub(super) fn span_is_free(
    community: &SandboxCommunity,
    tour_type: TourType,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    booked: &[Booking],
) -> bool {
    !booked
        .iter()
        .any(|b| blocks(community, tour_type, b) && start < b.end && b.start < end)
}

/// One local day's slot starts: on the tour grid from `opens`, each tour ending by `closes`
/// (wall-clock). A local time that does not exist (clocks spring forward) is skipped; one that
/// exists twice (clocks fall back) is offered once, at its first occurrence.
fn daily_grid(community: &SandboxCommunity, day: NaiveDate) -> Vec<DateTime<Tz>> {
    let mut starts = Vec::new();
    if community.tour_minutes == 0 {
        return starts;
    }
    let step = tour_length(community);
    let mut start = community.opens;
    loop {
        let (end, wrapped_seconds) = start.overflowing_add_signed(step);
        if wrapped_seconds != 0 || end > community.closes {
            break;
        }
        match community.timezone.from_local_datetime(&day.and_time(start)) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => starts.push(t),
            LocalResult::None => {}
        }
        start = end;
    }
    starts
}

/// The `acceptableTimes` for `tour_type`: in the community's zone, ascending, unique, after
/// `now` and at least the minimum notice ahead, within `horizon_days`, and free of blocking
/// bookings over the whole tour length.
pub(super) fn acceptable_times(
    community: &SandboxCommunity,
    now: DateTime<Utc>,
    horizon_days: u32,
    tour_type: TourType,
    booked: &[Booking],
) -> Vec<DateTime<Tz>> {
    let earliest = now + TimeDelta::minutes(i64::from(community.min_notice_minutes));
    let latest = now + TimeDelta::days(i64::from(horizon_days));
    let first_day = now.with_timezone(&community.timezone).date_naive();
    let last_day = latest.with_timezone(&community.timezone).date_naive();
    let length = tour_length(community);
    let mut times: Vec<DateTime<Tz>> = first_day
        .iter_days()
        .take_while(|day| *day <= last_day)
        .flat_map(|day| daily_grid(community, day))
        .filter(|t| {
            let start = t.with_timezone(&Utc);
            start > now
                && start >= earliest
                && start < latest
                && span_is_free(community, tour_type, start, start + length, booked)
        })
        .collect();
    times.sort();
    times.dedup();
    times
}

/// Whether `start` is one of [`acceptable_times`], found without listing them: on its own
/// local day's grid, inside the notice and the horizon, its span free. A booking asks this of
/// one time; listing a dense schedule's every time for it was most of a booking's cost.
pub(super) fn is_acceptable(
    community: &SandboxCommunity,
    now: DateTime<Utc>,
    horizon_days: u32,
    tour_type: TourType,
    start: DateTime<Utc>,
    booked: &[Booking],
) -> bool {
    let earliest = now + TimeDelta::minutes(i64::from(community.min_notice_minutes));
    let latest = now + TimeDelta::days(i64::from(horizon_days));
    if !(start > now && start >= earliest && start < latest) {
        return false;
    }
    let day = start.with_timezone(&community.timezone).date_naive();
    daily_grid(community, day)
        .iter()
        .any(|t| t.with_timezone(&Utc) == start)
        && span_is_free(
            community,
            tour_type,
            start,
            start + tour_length(community),
            booked,
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;
    use chrono_tz::America::New_York;
    use chrono_tz::Asia::Kolkata;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid test time")
            .with_timezone(&Utc)
    }

    fn community(tz: Tz, minutes: u32) -> SandboxCommunity {
        SandboxCommunity::new("c", "C", tz, minutes, vec![])
    }

    fn rfc3339(times: &[DateTime<Tz>]) -> Vec<String> {
        times.iter().map(|t| t.to_rfc3339()).collect()
    }

    #[test]
    fn a_day_has_every_grid_slot_that_ends_by_closing() {
        let c = community(New_York, 30);
        let day = NaiveDate::from_ymd_opt(2026, 6, 1).expect("valid date");
        let grid = daily_grid(&c, day);
        assert_eq!(grid.len(), 18);
        assert_eq!(grid[0].to_rfc3339(), "2026-06-01T09:00:00-04:00");
        assert_eq!(grid[17].to_rfc3339(), "2026-06-01T17:30:00-04:00");
    }

    #[test]
    fn a_tour_that_would_end_after_closing_is_not_offered() {
        let c = community(New_York, 45);
        let day = NaiveDate::from_ymd_opt(2026, 6, 1).expect("valid date");
        let grid = daily_grid(&c, day);
        // 09:00 + 12 × 45 min = 18:00 exactly: the 12th tour (17:15) ends at closing.
        assert_eq!(grid.len(), 12);
        assert_eq!(
            grid.last().map(|t| t.to_rfc3339()),
            Some("2026-06-01T17:15:00-04:00".to_owned())
        );
    }

    #[test]
    fn a_local_time_skipped_by_spring_forward_is_not_offered() {
        let mut c = community(New_York, 30);
        c.opens = NaiveTime::from_hms_opt(1, 0, 0).expect("valid time");
        c.closes = NaiveTime::from_hms_opt(4, 0, 0).expect("valid time");
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).expect("valid date");
        assert_eq!(
            rfc3339(&daily_grid(&c, day)),
            [
                "2026-03-08T01:00:00-05:00",
                "2026-03-08T01:30:00-05:00",
                "2026-03-08T03:00:00-04:00",
                "2026-03-08T03:30:00-04:00"
            ]
        );
    }

    #[test]
    fn a_local_time_repeated_by_fall_back_is_offered_once() {
        let mut c = community(New_York, 30);
        c.opens = NaiveTime::from_hms_opt(1, 0, 0).expect("valid time");
        c.closes = NaiveTime::from_hms_opt(2, 30, 0).expect("valid time");
        let day = NaiveDate::from_ymd_opt(2026, 11, 1).expect("valid date");
        assert_eq!(
            rfc3339(&daily_grid(&c, day)),
            [
                "2026-11-01T01:00:00-04:00",
                "2026-11-01T01:30:00-04:00",
                "2026-11-01T02:00:00-05:00"
            ]
        );
    }

    #[test]
    fn one_time_is_acceptable_exactly_when_the_list_has_it() {
        // Every quarter hour over two weeks spanning both DST changes, with notice, horizon,
        // a booking, an in-between minute and the hour a fall back repeats.
        let mut c = community(New_York, 30);
        c.opens = NaiveTime::from_hms_opt(0, 30, 0).expect("valid time");
        c.closes = NaiveTime::from_hms_opt(23, 0, 0).expect("valid time");
        let booking = Booking {
            start: utc("2026-11-02T15:00:00Z"),
            end: utc("2026-11-02T15:30:00Z"),
            tour_type: TourType::InPerson,
        };
        for now in [utc("2026-10-28T12:10:00Z"), utc("2026-03-05T03:00:00Z")] {
            for tour_type in [TourType::InPerson, TourType::SelfGuided] {
                let list: Vec<DateTime<Utc>> = acceptable_times(&c, now, 10, tour_type, &[booking])
                    .iter()
                    .map(|t| t.with_timezone(&Utc))
                    .collect();
                assert!(list.len() > 300, "{}", list.len());
                let mut at = now - TimeDelta::hours(2);
                while at < now + TimeDelta::days(11) {
                    for t in [at, at + TimeDelta::minutes(1)] {
                        assert_eq!(
                            is_acceptable(&c, now, 10, tour_type, t, &[booking]),
                            list.binary_search(&t).is_ok(),
                            "{t}"
                        );
                    }
                    at += TimeDelta::minutes(15);
                }
            }
        }
    }

    #[test]
    fn opening_hours_stay_local_across_a_dst_change() {
        let c = community(New_York, 30);
        let times = acceptable_times(&c, utc("2026-10-29T12:00:00Z"), 7, TourType::InPerson, &[]);
        let text = rfc3339(&times);
        assert!(text.contains(&"2026-10-30T09:00:00-04:00".to_owned()));
        assert!(text.contains(&"2026-11-02T09:00:00-05:00".to_owned()));
        assert!(!text.iter().any(|t| t.contains("T08:")));
    }

    #[test]
    fn slots_respect_the_minimum_notice_and_the_horizon() {
        let c = community(Kolkata, 30);
        // 10:10 in Kolkata; notice 60 min ⇒ first slot 11:30 local.
        let now = utc("2026-06-01T04:40:00Z");
        let times = acceptable_times(&c, now, 2, TourType::InPerson, &[]);
        assert_eq!(times[0].to_rfc3339(), "2026-06-01T11:30:00+05:30");
        assert!(times.windows(2).all(|w| w[0] < w[1]));
        let last = times.last().map(|t| t.with_timezone(&Utc));
        assert!(last < Some(now + TimeDelta::days(2)));
        assert_eq!(
            times.last().map(|t| t.to_rfc3339()),
            Some("2026-06-03T10:00:00+05:30".to_owned())
        );
    }

    #[test]
    fn a_booking_blocks_every_slot_its_span_overlaps() {
        let c = community(New_York, 30);
        let now = utc("2026-06-01T10:00:00Z");
        let booking = Booking {
            start: utc("2026-06-02T14:15:00Z"),
            end: utc("2026-06-02T15:15:00Z"),
            tour_type: TourType::SelfGuided,
        };
        let free = rfc3339(&acceptable_times(
            &c,
            now,
            3,
            TourType::SelfGuided,
            &[booking],
        ));
        for gone in ["T10:00:00-04:00", "T10:30:00-04:00", "T11:00:00-04:00"] {
            assert!(
                !free.contains(&format!("2026-06-02{gone}")),
                "{gone} offered"
            );
        }
        assert!(free.contains(&"2026-06-02T09:30:00-04:00".to_owned()));
        assert!(free.contains(&"2026-06-02T11:30:00-04:00".to_owned()));
    }

    #[test]
    fn the_other_tour_type_blocks_only_when_overlap_is_not_allowed() {
        let mut c = community(New_York, 30);
        let now = utc("2026-06-01T10:00:00Z");
        let booking = Booking {
            start: utc("2026-06-02T14:00:00Z"),
            end: utc("2026-06-02T14:30:00Z"),
            tour_type: TourType::InPerson,
        };
        let slot = utc("2026-06-02T14:00:00Z");
        let offered = |c: &SandboxCommunity| {
            acceptable_times(c, now, 3, TourType::SelfGuided, &[booking])
                .iter()
                .any(|t| t.with_timezone(&Utc) == slot)
        };
        assert!(!offered(&c));
        c.self_guided_may_overlap = true;
        assert!(offered(&c));
    }

    #[test]
    fn a_zero_tour_length_offers_nothing_instead_of_looping() {
        let c = community(New_York, 0);
        assert!(
            acceptable_times(&c, utc("2026-06-01T10:00:00Z"), 14, TourType::InPerson, &[])
                .is_empty()
        );
    }
}
