//! The partner's request bodies, parsed and validated at the edge (API.md §4, §7, §8).
use chrono::{DateTime, FixedOffset, NaiveDate};
use email_address::EmailAddress;
use serde_json::Value;

use super::body::{parse_json, Fields};
use super::records::{Bedrooms, EmailType, TourType};
use super::rules::Rejection;

/// The guest-card fields shared by POST /prospect and an appointment's `profile`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Person {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    /// Digits only.
    pub phone: Option<String>,
    pub move_date: Option<NaiveDate>,
    pub bedrooms: Option<Vec<Bedrooms>>,
    pub occupants: Option<u32>,
    pub lease_term_months: Option<u32>,
    pub min_budget: Option<u32>,
    pub max_budget: Option<u32>,
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

/// Digits of a phone number written with the usual separators; None if it is not one.
fn phone_digits(raw: &str) -> Option<String> {
    let mut digits = String::new();
    for c in raw.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '+' => {}
            _ => return None,
        }
    }
    (10..=15).contains(&digits.len()).then_some(digits)
}

fn person(f: &Fields, last_name_required: bool) -> Result<Person, Rejection> {
    let last_name = if last_name_required {
        Some(f.str("lastName")?)
    } else {
        f.opt_str("lastName")?
    };
    let email = f
        .opt_str("email")?
        .map(|e| {
            EmailAddress::is_valid(e)
                .then(|| e.to_owned())
                .ok_or_else(|| f.fail("email", "must be an e-mail address"))
        })
        .transpose()?;
    let phone = f
        .opt_str("phone")?
        .map(|p| phone_digits(p).ok_or_else(|| f.fail("phone", "must be a phone number")))
        .transpose()?;
    if email.is_none() && phone.is_none() {
        return Err(f.fail(
            "email",
            &format!("is required unless {} is given", f.name("phone")),
        ));
    }
    Ok(Person {
        first_name: owned(f.opt_str("firstName")?),
        last_name: owned(last_name),
        email,
        phone,
        move_date: f.opt_date("moveDate")?,
        bedrooms: f.opt_enums("bedrooms", Bedrooms::parse, Bedrooms::KNOCK_NAMES)?,
        occupants: f.opt_count("occupants")?,
        lease_term_months: f.opt_count("leaseTermMonths")?,
        min_budget: f.opt_count("minBudget")?,
        max_budget: f.opt_count("maxBudget")?,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct RequestedTime {
    pub start: DateTime<FixedOffset>,
    pub end: Option<DateTime<FixedOffset>>,
}

/// POST /appointment/request (API.md §4).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AppointmentRequest {
    pub community_id: String,
    pub requested_times: Vec<RequestedTime>,
    pub tour_type: TourType,
    pub source_title: Option<String>,
    pub sms_consent: bool,
    pub person: Person,
    /// The `profile` object as received, for the record.
    pub profile: Value,
}

pub(super) fn appointment_request(raw: &[u8]) -> Result<AppointmentRequest, Rejection> {
    let value = parse_json(raw)?;
    let f = Fields::root(&value)?;
    let community_id = f.str("communityId")?.to_owned();
    let times = f.objects("requestedTimes")?;
    if times.is_empty() {
        return Err(f.fail("requestedTimes", "must not be empty"));
    }
    let requested_times = times
        .iter()
        .map(|t| {
            let start = t.time("startTime")?;
            let end = t.opt_time("endTime")?;
            if end.is_some_and(|end| end <= start) {
                return Err(t.fail("endTime", "must be after startTime"));
            }
            Ok(RequestedTime { start, end })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tour_type = f
        .opt_enum("tourType", TourType::parse, TourType::KNOCK_NAMES)?
        .unwrap_or(TourType::InPerson);
    let source_title = owned(f.opt_str("sourceTitle")?);
    let sms_consent = f.opt_bool("smsConsent")?.unwrap_or(false);
    // Documented optional members are still type-checked (API.md §4's body table).
    for key in [
        "smsConsentDisclaimer",
        "smsConsentUrl",
        "message",
        "firstContactType",
    ] {
        f.opt_str(key)?;
    }
    let profile_fields = f.object("profile")?;
    let person = person(&profile_fields, true)?;
    Ok(AppointmentRequest {
        community_id,
        requested_times,
        tour_type,
        source_title,
        sms_consent,
        person,
        profile: value.get("profile").cloned().unwrap_or(Value::Null),
    })
}

/// POST /prospect (API.md §8.1).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ProspectUpsert {
    pub community_id: String,
    pub source_title: String,
    pub person: Person,
    pub agent_username: Option<String>,
    pub address: Option<String>,
    pub unit: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub first_contact_type: Option<String>,
    pub sms_consent: Option<bool>,
    pub message: Option<String>,
}

pub(super) fn prospect_upsert(raw: &[u8]) -> Result<ProspectUpsert, Rejection> {
    let value = parse_json(raw)?;
    let f = Fields::root(&value)?;
    let community_id = f.str("communityId")?.to_owned();
    let source_title = f.str("sourceTitle")?.to_owned();
    let person = person(&f, false)?;
    let agent_username = match f.opt_object("agent")? {
        Some(agent) => owned(agent.opt_str("username")?),
        None => None,
    };
    for key in [
        "smsConsentDisclaimer",
        "smsConsentUrl",
        "prospectIpAddress",
        "knockTrackingEmail",
    ] {
        f.opt_str(key)?;
    }
    f.opt_bool("autorespond")?;
    Ok(ProspectUpsert {
        community_id,
        source_title,
        person,
        agent_username,
        address: owned(f.opt_str("address")?),
        unit: owned(f.opt_str("unit")?),
        city: owned(f.opt_str("city")?),
        state: owned(f.opt_str("state")?),
        zip: owned(f.opt_str("zip")?),
        first_contact_type: owned(f.opt_str("firstContactType")?),
        sms_consent: f.opt_bool("smsConsent")?,
        message: owned(f.opt_str("message")?),
    })
}

/// POST /visit (API.md §7).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct VisitRequest {
    /// As sent; checked against the prospects by the state.
    pub prospect_id: String,
    pub visit_time: DateTime<FixedOffset>,
    pub appointment_id: Option<String>,
    pub is_self_guided: Option<bool>,
    pub source_title: Option<String>,
    pub unit_names: Vec<String>,
}

pub(super) fn visit_request(raw: &[u8]) -> Result<VisitRequest, Rejection> {
    let value = parse_json(raw)?;
    let f = Fields::root(&value)?;
    let prospect_id = match value.get("prospectId") {
        // An empty id is a malformed id, not a missing one.
        Some(Value::String(id)) => id.clone(),
        _ => f.str("prospectId")?.to_owned(),
    };
    Ok(VisitRequest {
        prospect_id,
        visit_time: f.time("visitTime")?,
        appointment_id: owned(f.opt_str("appointmentId")?),
        is_self_guided: f.opt_bool("isSelfGuided")?,
        source_title: owned(f.opt_str("sourceTitle")?),
        unit_names: f.opt_strings("unitNames")?.unwrap_or_default(),
    })
}

/// POST /prospect/{id}/email (API.md §8.4: all five fields required).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct EmailLog {
    pub email_type: EmailType,
    pub sent_time: DateTime<FixedOffset>,
    pub agent_username: String,
    pub subject: String,
    pub body: String,
}

pub(super) fn email_log(raw: &[u8]) -> Result<EmailLog, Rejection> {
    let value = parse_json(raw)?;
    let f = Fields::root(&value)?;
    Ok(EmailLog {
        email_type: f.enumerated("type", EmailType::parse, EmailType::KNOCK_NAMES)?,
        sent_time: f.time("sentTime")?,
        agent_username: f.object("agent")?.str("username")?.to_owned(),
        subject: f.str("subject")?.to_owned(),
        body: f.str("body")?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_error(r: Rejection) -> String {
        match r {
            Rejection::InvalidField { field, reason } => format!("{field}: {reason}"),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn phones_keep_their_digits_and_refuse_letters() {
        assert_eq!(
            phone_digits("(206) 555-0155").as_deref(),
            Some("2065550155")
        );
        assert_eq!(
            phone_digits("+1 206 555 0155").as_deref(),
            Some("12065550155")
        );
        assert_eq!(phone_digits("206-CALL-NOW"), None);
        assert_eq!(phone_digits("555"), None);
    }

    #[test]
    fn an_appointment_needs_a_last_name_and_a_way_to_reach_the_prospect() {
        let no_last =
            br#"{"communityId":"c","requestedTimes":[{"startTime":"2026-01-01T10:00:00Z"}],
            "profile":{"email":"a@example.com"}}"#;
        assert_eq!(
            field_error(appointment_request(no_last).expect_err("no last name")),
            "profile.lastName: is required"
        );
        let no_contact =
            br#"{"communityId":"c","requestedTimes":[{"startTime":"2026-01-01T10:00:00Z"}],
            "profile":{"lastName":"Lead"}}"#;
        assert_eq!(
            field_error(appointment_request(no_contact).expect_err("no contact")),
            "profile.email: is required unless profile.phone is given"
        );
    }

    #[test]
    fn an_end_time_must_follow_its_start() {
        let body = br#"{"communityId":"c","tourType":"SELF_GUIDED","profile":{"lastName":"L","phone":"2065550155"},
            "requestedTimes":[{"startTime":"2026-01-01T10:00:00-05:00","endTime":"2026-01-01T15:00:00Z"}]}"#;
        assert_eq!(
            field_error(appointment_request(body).expect_err("end == start")),
            "requestedTimes[0].endTime: must be after startTime"
        );
    }

    #[test]
    fn unknown_members_are_ignored_and_defaults_apply() {
        let body = br#"{"communityId":"c","whatever":{"x":1},"requestedTimes":[{"startTime":"2026-01-01T10:00:00Z"}],
            "profile":{"lastName":"L","phone":"2065550155","pets":[]}}"#;
        let request = appointment_request(body).expect("valid");
        assert_eq!(request.tour_type, TourType::InPerson);
        assert!(!request.sms_consent);
    }
}
