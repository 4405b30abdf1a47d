//! VTIMEZONE for an IANA zone, built from chrono-tz's rules.
//!
//! chrono-tz does not expose its transitions, so they are found by scanning offsets hour by
//! hour and bisecting each change down to the second. Each transition in the window becomes
//! its own STANDARD or DAYLIGHT block with an explicit onset (no RRULE to get wrong).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use super::content_line::ContentLines;

/// The offset rules in force at one instant. Two instants with equal `Rule`s need no
/// transition between them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    utc_offset_seconds: i32,
    daylight: bool,
    abbreviation: Option<String>,
}

fn rule_at(tz: Tz, instant: DateTime<Utc>) -> Rule {
    let offset = tz.offset_from_utc_datetime(&instant.naive_utc());
    Rule {
        utc_offset_seconds: offset.fix().local_minus_utc(),
        daylight: offset.dst_offset() != Duration::zero(),
        abbreviation: offset.abbreviation().map(str::to_owned),
    }
}

/// One observance: from `onset` on, `after` applies (before it, `before` did).
#[derive(Debug)]
struct Transition {
    onset: DateTime<Utc>,
    before: Rule,
    after: Rule,
}

/// [`transitions`], remembered: every invitation of a year asks for the same window of the
/// same zone, and the hour-by-hour scan of three years was most of the cost of a booking's
/// confirmation mail (BENCHMARKS.md). A zone's rules are fixed for the life of the process.
fn known_transitions(tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> Arc<[Transition]> {
    type Known = HashMap<(Tz, DateTime<Utc>, DateTime<Utc>), Arc<[Transition]>>;
    /// Windows are whole years, so a few per zone served; more means an unusual caller.
    const MOST_REMEMBERED: usize = 256;
    static KNOWN: OnceLock<Mutex<Known>> = OnceLock::new();
    let known = KNOWN.get_or_init(Mutex::default);
    let key = (tz, from, until);
    if let Some(found) = known.lock().ok().and_then(|k| k.get(&key).cloned()) {
        return found;
    }
    let found: Arc<[Transition]> = transitions(tz, from, until).into();
    if let Ok(mut k) = known.lock() {
        if k.len() >= MOST_REMEMBERED {
            k.clear();
        }
        k.insert(key, found.clone());
    }
    found
}

/// Every change of rule in `[from, until)`, in order.
fn transitions(tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Transition> {
    let step = Duration::hours(1);
    let mut found = Vec::new();
    let mut at = from;
    let mut rule = rule_at(tz, at);
    while at < until {
        let next = at + step;
        let next_rule = rule_at(tz, next);
        if next_rule != rule {
            // Invariant: rule_at(lo) == rule, rule_at(hi) != rule.
            let (mut lo, mut hi) = (at, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if rule_at(tz, mid) == rule {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(Transition {
                onset: hi,
                before: rule,
                after: next_rule.clone(),
            });
        }
        at = next;
        rule = next_rule;
    }
    found
}

/// Writes the VTIMEZONE that covers `[from, until)` and, whatever the window holds, the
/// instant `covering` (the event's start).
pub(super) fn write(
    out: &mut ContentLines,
    tz: Tz,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    covering: DateTime<Utc>,
) {
    out.raw("BEGIN", "VTIMEZONE");
    out.text("TZID", tz.name());
    let found = known_transitions(tz, from, until);
    // Readers take the latest onset before a time; without one before the event (a zone with
    // no DST, or one whose rules change only later) an open-ended first block is needed.
    if !found.iter().any(|t| t.onset <= covering) {
        let rule = rule_at(tz, from);
        let epoch = NaiveDateTime::default();
        write_observance(out, &rule, &rule, epoch);
    }
    for transition in found.iter() {
        // The onset is written as wall-clock time under the offset being left (§3.6.5).
        let local_onset = transition.onset.naive_utc()
            + Duration::seconds(transition.before.utc_offset_seconds.into());
        write_observance(out, &transition.before, &transition.after, local_onset);
    }
    out.raw("END", "VTIMEZONE");
}

fn write_observance(out: &mut ContentLines, before: &Rule, after: &Rule, onset: NaiveDateTime) {
    let kind = if after.daylight {
        "DAYLIGHT"
    } else {
        "STANDARD"
    };
    out.raw("BEGIN", kind);
    out.raw("DTSTART", &onset.format("%Y%m%dT%H%M%S").to_string());
    out.raw("TZOFFSETFROM", &utc_offset(before.utc_offset_seconds));
    out.raw("TZOFFSETTO", &utc_offset(after.utc_offset_seconds));
    if let Some(name) = &after.abbreviation {
        out.text("TZNAME", name);
    }
    out.raw("END", kind);
}

/// UTC-OFFSET (§3.3.14): `+HHMM`, with seconds only when there are some.
pub(super) fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let magnitude = seconds.unsigned_abs();
    let (hours, minutes, secs) = (magnitude / 3600, magnitude / 60 % 60, magnitude % 60);
    if secs == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{secs:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("a real instant")
    }

    #[test]
    fn new_york_changes_at_7_utc_in_march_and_6_utc_in_november_2026() {
        let found = transitions(
            chrono_tz::America::New_York,
            utc(2026, 1, 1, 0, 0),
            utc(2027, 1, 1, 0, 0),
        );
        let onsets: Vec<_> = found.iter().map(|t| t.onset).collect();
        assert_eq!(onsets, [utc(2026, 3, 8, 7, 0), utc(2026, 11, 1, 6, 0)]);
        assert_eq!(found[0].before.utc_offset_seconds, -5 * 3600);
        assert!(found[0].after.daylight);
        assert_eq!(found[1].after.abbreviation.as_deref(), Some("EST"));
    }

    #[test]
    fn lord_howe_half_hour_change_is_found_to_the_minute() {
        // Lord Howe moves by 30 minutes, at 02:00 local (+11) = 15:00 UTC on the first
        // Sunday of April 2026.
        let found = transitions(
            chrono_tz::Australia::Lord_Howe,
            utc(2026, 3, 1, 0, 0),
            utc(2026, 5, 1, 0, 0),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].onset, utc(2026, 4, 4, 15, 0));
        assert_eq!(found[0].before.utc_offset_seconds, 11 * 3600);
        assert_eq!(found[0].after.utc_offset_seconds, 10 * 3600 + 1800);
    }

    #[test]
    fn remembered_transitions_are_the_scanned_ones_computed_once() {
        let (tz, from, until) = (
            chrono_tz::Europe::Berlin,
            utc(2025, 12, 31, 0, 0),
            utc(2029, 1, 2, 0, 0),
        );
        let first = known_transitions(tz, from, until);
        let onsets = |t: &[Transition]| t.iter().map(|t| t.onset).collect::<Vec<_>>();
        assert_eq!(onsets(&first), onsets(&transitions(tz, from, until)));
        assert_eq!(first.len(), 6);
        assert!(Arc::ptr_eq(&first, &known_transitions(tz, from, until)));
    }

    #[test]
    fn kolkata_has_no_transitions() {
        assert!(transitions(
            chrono_tz::Asia::Kolkata,
            utc(2025, 1, 1, 0, 0),
            utc(2028, 1, 1, 0, 0)
        )
        .is_empty());
    }

    #[test]
    fn offsets_are_written_with_sign_hours_and_minutes() {
        assert_eq!(utc_offset(0), "+0000");
        assert_eq!(utc_offset(-5 * 3600), "-0500");
        assert_eq!(utc_offset(5 * 3600 + 1800), "+0530");
        assert_eq!(utc_offset(-(3 * 3600 + 1800)), "-0330");
        assert_eq!(utc_offset(-(4 * 3600 + 56 * 60 + 2)), "-045602");
    }
}
