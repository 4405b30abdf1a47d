//! The communities file (SPEC.md "Communities file"): what Tourgate serves and how each
//! community maps to Knock.
use std::path::Path;

use chrono_tz::Tz;
use serde::Deserialize;

use super::brand::{Brand, ImageDir, RawBrand, RawImage, TourKit};
use crate::domain::{Email, ReferencePrefix, SourceTitle};

#[derive(Debug, Clone)]
pub struct Community {
    pub slug: String,
    pub knock_community_id: String,
    pub name: String,
    pub timezone: Tz,
    pub address: String,
    /// Directions to `address` in a maps app (`directions_url()`), made once.
    pub(crate) directions: String,
    pub tour_minutes: u32,
    pub default_source_title: SourceTitle,
    pub units: Vec<String>,
    pub access: AccessTimes,
    /// Tourgate mails the renter (confirmation, reminders, access instructions). Off for a
    /// community whose own Knock automations already write to renters.
    pub renter_mail: bool,
    /// Sent as `autorespond` with `POST /prospect`: whether Knock e-mails the prospect its own
    /// auto-reply with a link to schedule a tour (K-PC). Off unless the community asks: the
    /// renter has just booked with us, and a second scheduling link only confuses.
    pub knock_autorespond: bool,
    /// The booking page shows the door code only to a browser that opened a link from our
    /// mail to the renter (README: "Door codes and the demo lock"). Off only where someone
    /// checks visitors anyway (a staffed lobby): then whoever holds the booking link sees it.
    pub door_code_needs_email_proof: bool,
    /// How the Knock sandbox schedules this community (demo and tests only).
    pub sandbox: SandboxSchedule,
    /// Its look, contacts and day-of-tour kit (all optional).
    pub brand: Brand,
    /// Which access provider and lock let renters in (`access = { provider = ... }`).
    pub lock: Lock,
    /// Locks of single units (`[community.unit_access]`), in the order of `units`: a booking
    /// gets its code on each of them too.
    pub unit_locks: Vec<UnitLock>,
    /// Where staff alerts about this community's locks go (a code that could not be set, a
    /// code that could not be removed): `staff_email`.
    pub staff_email: Option<Email>,
    /// The start of its bookings' short references (`MPL-4K7Q-9TZB`).
    pub reference_prefix: ReferencePrefix,
    /// Who sends the renter's one booking confirmation (README "One confirmation").
    pub confirmation: Confirmation,
}

/// The provider and lock that serve a community: the built-in codes (checked by Tourgate's own
/// keypad, or a partner's through `/callbacks/access`), or a Seam lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lock {
    BuiltIn,
    Seam { device_id: String },
}

impl Lock {
    pub fn seam_device(&self) -> Option<&str> {
        match self {
            Self::Seam { device_id } => Some(device_id),
            Self::BuiltIn => None,
        }
    }
}

/// A unit's own lock (`"101" = { provider = "seam", device_id = "..." }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitLock {
    pub unit: String,
    pub device_id: String,
}

/// One outside lock a booking opens: the building's (`unit` None) or a unit's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockAt<'a> {
    pub unit: Option<&'a str>,
    pub device_id: &'a str,
}

impl Community {
    /// Every Seam lock a booking here opens: the building's first, then the units'.
    pub fn seam_locks(&self) -> Vec<LockAt<'_>> {
        let building = self.lock.seam_device().map(|device_id| LockAt {
            unit: None,
            device_id,
        });
        building
            .into_iter()
            .chain(self.unit_locks.iter().map(|u| LockAt {
                unit: Some(&u.unit),
                device_id: &u.device_id,
            }))
            .collect()
    }
}

/// `[community.unit_access]` as written: a lock per unit name.
fn unit_locks(
    units: &[String],
    building: &Lock,
    raw: std::collections::BTreeMap<String, RawLock>,
) -> Result<Vec<UnitLock>, String> {
    let mut by_unit = std::collections::HashMap::new();
    for (unit, lock) in raw {
        if !units.contains(&unit) {
            return Err(format!(
                "unit_access names unit `{unit}`, which is not one of units ({})",
                units.join(", ")
            ));
        }
        let device_id = match lock.parse() {
            Ok(Lock::Seam { device_id }) => device_id,
            Ok(Lock::BuiltIn) => {
                return Err(format!(
                    "unit_access.\"{unit}\": a unit's lock must be provider = \"seam\" (the \
                     built-in codes are the building's)"
                ))
            }
            Err(m) => {
                return Err(format!(
                    "unit_access.\"{unit}\": {}",
                    m.replace("access.", "")
                ))
            }
        };
        if building.seam_device() == Some(device_id.as_str()) {
            return Err(format!(
                "unit_access.\"{unit}\": device `{device_id}` is the community's own lock"
            ));
        }
        if let Some(other) = by_unit.insert(device_id.clone(), unit.clone()) {
            return Err(format!(
                "unit_access.\"{unit}\": device `{device_id}` is unit `{other}`'s lock too"
            ));
        }
    }
    // In the order of `units`, so that pages and visits list them as the community does.
    Ok(units
        .iter()
        .filter_map(|u| {
            by_unit
                .iter()
                .find(|(_, unit)| *unit == u)
                .map(|(d, _)| UnitLock {
                    unit: u.clone(),
                    device_id: d.clone(),
                })
        })
        .collect())
}

/// `access = { provider = "seam", device_id = "..." }` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLock {
    provider: String,
    #[serde(default)]
    device_id: Option<String>,
}

impl RawLock {
    fn parse(self) -> Result<Lock, String> {
        match (self.provider.as_str(), self.device_id) {
            ("built-in", None) => Ok(Lock::BuiltIn),
            ("built-in", Some(_)) => Err("access.device_id is for provider = \"seam\"".into()),
            ("seam", Some(d)) => {
                // Seam's ids are uuids; anything id-shaped is taken, nothing that could
                // smuggle a query or a path.
                let ok = !d.is_empty()
                    && d.len() <= 100
                    && d.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if ok {
                    Ok(Lock::Seam { device_id: d })
                } else {
                    Err(format!(
                        "access.device_id `{d}` must be Seam's device id (1-100 of a-z, 0-9, - and _)"
                    ))
                }
            }
            ("seam", None) => Err("access.device_id is required with provider = \"seam\"".into()),
            (other, _) => Err(format!(
                "access.provider `{other}` is not one of \"built-in\", \"seam\""
            )),
        }
    }
}

/// Who confirms a booking to the renter. Knock e-mails a confirmation for every appointment
/// request, and texts one when the renter consents (API.md §4, behaviours 1 and 2); the
/// partner API has no switch for either. So by default Knock's is the confirmation and our
/// first mail is the booking's link (to change it, and later to see the door code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confirmation {
    #[default]
    Knock,
    /// For a community whose Knock account no longer sends its own appointment
    /// confirmations: our first mail is the confirmation.
    Tourgate,
}

/// The most any access time may reach (`code_*_minutes`): a code never works, and is never
/// shown, more than a day before the tour.
pub use crate::domain::rules::LATEST_EARLY_ACCESS;

/// The scheduling inputs Knock uses (API.md §3), for the sandbox's copy of the community.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSchedule {
    #[serde(default = "default_opens")]
    pub opens: chrono::NaiveTime,
    #[serde(default = "default_closes")]
    pub closes: chrono::NaiveTime,
    #[serde(default = "default_notice")]
    pub min_notice_minutes: u32,
    #[serde(default)]
    pub self_guided_may_overlap: bool,
    /// The office reviews requests by hand: Knock answers a request `PENDING` until the office
    /// confirms it (API.md §4 "manually review requests"; the sandbox's
    /// `SandboxCommunity::reviews_requests`).
    #[serde(default)]
    pub reviews_requests: bool,
    /// Knock's own settings where they differ from ours (else Knock's copy is ours): its tour
    /// length (slot grid and in-person length), its time zone, its unit names.
    #[serde(default)]
    pub tour_minutes: Option<u32>,
    #[serde(default, deserialize_with = "optional_zone")]
    pub timezone: Option<Tz>,
    #[serde(default)]
    pub units: Option<Vec<String>>,
}

fn optional_zone<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Tz>, D::Error> {
    let name: Option<String> = Option::deserialize(d)?;
    name.map(|n| {
        n.parse::<Tz>().map_err(|_| {
            serde::de::Error::custom(format!("timezone `{n}` is not an IANA zone name"))
        })
    })
    .transpose()
}

fn default_opens() -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("valid time")
}
fn default_closes() -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(18, 0, 0).expect("valid time")
}
fn default_notice() -> u32 {
    60
}

impl Default for SandboxSchedule {
    fn default() -> Self {
        Self {
            opens: default_opens(),
            closes: default_closes(),
            min_notice_minutes: default_notice(),
            self_guided_may_overlap: false,
            reviews_requests: false,
            tour_minutes: None,
            timezone: None,
            units: None,
        }
    }
}

/// When a booking's door code works and when the renter sees it, around the tour window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessTimes {
    /// The code opens the door from this long before the start...
    pub valid_before: chrono::Duration,
    /// ...until this long after the end.
    pub valid_after: chrono::Duration,
    /// The booking page shows the code from this long before the start.
    pub shown_before: chrono::Duration,
}

/// How far ahead the demo community's codes reach: further than Knock offers times.
pub const DEMO_EARLY_ACCESS: chrono::Duration = chrono::Duration::days(366);

impl AccessTimes {
    /// The built-in demo community's: the code is shown and opens the door from booking, for
    /// any upcoming tour. Set in code, past the file's limit of a day (`LATEST_EARLY_ACCESS`),
    /// so that no communities file can give it to a real building.
    pub fn demo() -> Self {
        Self {
            valid_before: DEMO_EARLY_ACCESS,
            shown_before: DEMO_EARLY_ACCESS,
            ..Self::default()
        }
    }

    /// The longest a code works before its tour's start: how far ahead the keypad looks.
    pub fn reach(&self) -> chrono::Duration {
        self.valid_before
    }
}

impl Default for AccessTimes {
    fn default() -> Self {
        Self {
            valid_before: chrono::Duration::minutes(15),
            valid_after: chrono::Duration::minutes(15),
            shown_before: chrono::Duration::minutes(60),
        }
    }
}

/// The built-in demo community (Maple Court), as it has always been: spec_smoke and many
/// tests rely on it.
const DEMO_BUILT_IN: &str = r##"[[community]]
slug = "maple-court"
knock_community_id = "b9XQN6eMvvrr07zg"
name = "Maple Court Apartments"
timezone = "America/Los_Angeles"
address = "100 Maple St, Seattle, WA 98101"
tour_minutes = 30
default_source_title = "Self-Guided Tour Vendor"
units = ["101", "102", "2B"]
brand_color = "#8a2c0d"
office_phone = "(206) 555-0100"
office_email = "leasing@maplecourt.example"
apply_url = "https://maplecourt.example/apply"
logo = { file = "static/brand/maple-logo.svg", width = 200, height = 56, alt = "Maple Court Apartments" }
hero = { file = "static/brand/maple-hero.svg", width = 960, height = 540, alt = "The brick front of Maple Court, its door between two trees" }

[community.kit]
entrance = "Use the glass door on Maple St, left of the bike racks. The keypad is on the wall to the right of the door, at shoulder height."
parking = "Visitor spaces V1 to V4 are in front of the building; street parking is free after 6 PM."
bring = "Your phone, to read the door code, and a photo ID in case you meet staff."
accessibility = "The Maple St entrance has a ramp and an automatic door; homes 101 and 102 are step-free."
"##;

/// The demo community on a Seam lock: the emulator's August "Front Door" (`{device}`).
const DEMO_SEAM: &str = r##"
[[community]]
slug = "cedar-lofts"
knock_community_id = "cedarLofts2026Dm"
name = "Cedar Lofts"
timezone = "America/Los_Angeles"
address = "200 Cedar Ave, Seattle, WA 98102"
tour_minutes = 30
default_source_title = "Self-Guided Tour Vendor"
units = ["1A", "2C", "PH"]
brand_color = "#1f5c45"
office_phone = "(206) 555-0142"
office_email = "leasing@cedarlofts.example"
staff_email = "leasing@cedarlofts.example"
access = { provider = "seam", device_id = "{device}" }

[community.kit]
entrance = "The front door on Cedar Ave has a smart lock (through Seam): type your code on its keypad and the door unlocks; it locks itself again after 30 seconds."
bring = "Your phone, to read the door code."
"##;

#[derive(Debug, Clone)]
pub struct Communities(Vec<Community>);

#[derive(Debug, thiserror::Error)]
pub enum CommunityError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    community: Vec<RawCommunity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommunity {
    slug: String,
    knock_community_id: String,
    name: String,
    timezone: String,
    address: String,
    tour_minutes: u32,
    default_source_title: String,
    #[serde(default)]
    units: Vec<String>,
    code_valid_before_minutes: Option<u32>,
    code_valid_after_minutes: Option<u32>,
    code_shown_before_minutes: Option<u32>,
    #[serde(default = "mail_on")]
    renter_mail: bool,
    #[serde(default)]
    knock_autorespond: bool,
    #[serde(default = "proof_needed")]
    door_code_needs_email_proof: bool,
    #[serde(default)]
    sandbox: SandboxSchedule,
    // Branding and the day-of-tour kit (`super::brand`).
    logo: Option<RawImage>,
    hero: Option<RawImage>,
    brand_color: Option<String>,
    office_phone: Option<String>,
    office_email: Option<String>,
    mail_from: Option<String>,
    apply_url: Option<String>,
    #[serde(default)]
    kit: TourKit,
    #[serde(default)]
    access: Option<RawLock>,
    #[serde(default)]
    unit_access: std::collections::BTreeMap<String, RawLock>,
    #[serde(default)]
    staff_email: Option<String>,
    reference_prefix: Option<String>,
    #[serde(default)]
    confirmation: Confirmation,
}

impl Communities {
    pub fn load(path: &Path) -> Result<Self, CommunityError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CommunityError::Read {
            path: p.clone(),
            source,
        })?;
        // Image files are named relative to the communities file's folder.
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self::parse_with(&text, &ImageDir::Dir(dir.to_path_buf()))
            .map_err(|message| CommunityError::Invalid { path: p, message })
    }

    /// A file's text, its images only those Tourgate ships (`static/brand/...`).
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_with(text, &ImageDir::Shipped)
    }

    fn parse_with(text: &str, images: &ImageDir) -> Result<Self, String> {
        let file: FileShape = toml::from_str(text).map_err(|e| e.to_string())?;
        if file.community.is_empty() {
            return Err("no [[community]] entries".into());
        }
        let mut out: Vec<Community> = Vec::new();
        for raw in file.community {
            let c = raw.validate(images)?;
            if out.iter().any(|o| o.slug == c.slug) {
                return Err(format!("slug `{}` appears twice", c.slug));
            }
            out.push(c);
        }
        Ok(Self(out))
    }

    /// The demo communities served when nothing is configured: Knock's stage test community
    /// on the built-in codes, and beside it Cedar Lofts, whose door is the Seam emulator's
    /// seeded August "Front Door" (the emulator runs in the process in demo mode). Their door
    /// codes show and work from booking, for any upcoming tour ([`AccessTimes::demo`]), so
    /// that whoever tries the demo can open the demo lock right after booking whatever day
    /// they picked: for the Seam lock the code's window has begun when it is created, so the
    /// emulator puts it on the lock at its next tick instead of 72 hours before the tour.
    pub fn demo() -> Self {
        let text = format!(
            "{}{}",
            DEMO_BUILT_IN,
            DEMO_SEAM.replace("{device}", seam_sandbox::seeds::FRONT_DOOR)
        );
        let mut demo = Self::parse(&text).expect("the demo communities are valid");
        for c in &mut demo.0 {
            c.access = AccessTimes::demo();
        }
        demo
    }

    pub fn get(&self, slug: &str) -> Option<&Community> {
        self.0.iter().find(|c| c.slug == slug)
    }

    pub fn all(&self) -> &[Community] {
        &self.0
    }
}

impl RawCommunity {
    fn validate(self, images: &ImageDir) -> Result<Community, String> {
        let slug_ok = !self.slug.is_empty()
            && self.slug.len() <= 64
            && self
                .slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !slug_ok {
            return Err(format!(
                "slug `{}` must be 1-64 characters of a-z, 0-9 and -",
                self.slug
            ));
        }
        let at = |m: &str| format!("community `{}`: {m}", self.slug);
        if self.knock_community_id.trim().is_empty()
            || !self
                .knock_community_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        {
            return Err(at(
                "knock_community_id must be Knock's alphanumeric community id",
            ));
        }
        if self.name.trim().is_empty() || self.address.trim().is_empty() {
            return Err(at("name and address must not be empty"));
        }
        let timezone: Tz = self.timezone.parse().map_err(|_| {
            at(&format!(
                "timezone `{}` is not an IANA zone name",
                self.timezone
            ))
        })?;
        if !(10..=240).contains(&self.tour_minutes) {
            return Err(at("tour_minutes must be between 10 and 240"));
        }
        let default_source_title = SourceTitle::parse(&self.default_source_title)
            .map_err(|e| at(&format!("default_source_title: {e}")))?;
        let defaults = AccessTimes::default();
        let minutes = |v: Option<u32>, default: chrono::Duration, name: &str| match v {
            None => Ok(default),
            Some(m) if chrono::Duration::minutes(i64::from(m)) <= LATEST_EARLY_ACCESS => {
                Ok(chrono::Duration::minutes(i64::from(m)))
            }
            Some(_) => Err(at(&format!("{name} must be at most 1440"))),
        };
        let access = AccessTimes {
            valid_before: minutes(
                self.code_valid_before_minutes,
                defaults.valid_before,
                "code_valid_before_minutes",
            )?,
            valid_after: minutes(
                self.code_valid_after_minutes,
                defaults.valid_after,
                "code_valid_after_minutes",
            )?,
            shown_before: minutes(
                self.code_shown_before_minutes,
                defaults.shown_before,
                "code_shown_before_minutes",
            )?,
        };
        if !self.renter_mail && self.door_code_needs_email_proof {
            return Err(at(
                "renter_mail = false needs door_code_needs_email_proof = false: renters prove \
                 their e-mail address by opening a link in our mail, and none would be sent",
            ));
        }
        if self.sandbox.opens >= self.sandbox.closes {
            return Err(at("sandbox.opens must be before sandbox.closes"));
        }
        if self.sandbox.tour_minutes == Some(0) {
            return Err(at("sandbox.tour_minutes must be more than 0"));
        }
        let brand = RawBrand {
            logo: self.logo,
            hero: self.hero,
            brand_color: self.brand_color,
            office_phone: self.office_phone,
            office_email: self.office_email,
            mail_from: self.mail_from,
            apply_url: self.apply_url,
            kit: self.kit,
        }
        .parse(&self.slug, images)
        .map_err(|m| at(&m))?;
        let lock = match self.access {
            None => Lock::BuiltIn,
            Some(raw) => raw.parse().map_err(|m| at(&m))?,
        };
        let unit_locks = unit_locks(&self.units, &lock, self.unit_access).map_err(|m| at(&m))?;
        let staff_email = self
            .staff_email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|e| at(&format!("staff_email: {e}")))?;
        let reference_prefix = match &self.reference_prefix {
            Some(p) => {
                ReferencePrefix::parse(p).map_err(|e| at(&format!("reference_prefix {e}")))?
            }
            None => ReferencePrefix::from_name(&self.name),
        };
        Ok(Community {
            brand,
            lock,
            unit_locks,
            staff_email,
            reference_prefix,
            confirmation: self.confirmation,
            sandbox: self.sandbox,
            slug: self.slug,
            knock_community_id: self.knock_community_id,
            name: self.name,
            timezone,
            directions: super::directions_url(&self.address),
            address: self.address,
            tour_minutes: self.tour_minutes,
            default_source_title,
            access,
            renter_mail: self.renter_mail,
            knock_autorespond: self.knock_autorespond,
            door_code_needs_email_proof: self.door_code_needs_email_proof,
            units: self.units,
        })
    }
}

fn mail_on() -> bool {
    true
}

fn proof_needed() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_parses() {
        let c = Communities::parse(
            r#"[[community]]
slug = "maple-court"
knock_community_id = "b9XQN6eMvvrr07zg"
name = "Maple Court Apartments"
timezone = "America/Los_Angeles"
address = "100 Maple St, Seattle, WA"
tour_minutes = 30
default_source_title = "Self-Guided Tour Vendor"
units = ["101", "102", "2B"]
"#,
        )
        .unwrap();
        let m = c.get("maple-court").unwrap();
        assert_eq!(m.timezone, chrono_tz::America::Los_Angeles);
        assert_eq!(m.units.len(), 3);
        assert_eq!(m.sandbox.min_notice_minutes, 60);
        assert!(
            !m.knock_autorespond,
            "Knock's auto-reply is off unless asked for"
        );
    }

    #[test]
    fn knock_autorespond_is_a_boolean_a_community_can_turn_on() {
        let base = "[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\n";
        let c = Communities::parse(&format!("{base}knock_autorespond = true\n")).unwrap();
        assert!(c.get("ab").unwrap().knock_autorespond);
        let e = Communities::parse(&format!("{base}knock_autorespond = \"yes\"\n")).unwrap_err();
        assert!(e.contains("knock_autorespond"), "{e}");
        let e = Communities::parse(&format!("{base}knock_auto_respond = true\n")).unwrap_err();
        assert!(
            e.contains("knock_auto_respond"),
            "unknown keys are refused: {e}"
        );
    }

    #[test]
    fn the_door_code_needs_proof_of_email_unless_a_community_says_otherwise() {
        let base = "[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\n";
        let c = Communities::parse(base).unwrap();
        assert!(c.get("ab").unwrap().door_code_needs_email_proof);
        let c =
            Communities::parse(&format!("{base}door_code_needs_email_proof = false\n")).unwrap();
        assert!(!c.get("ab").unwrap().door_code_needs_email_proof);
        // Without our mail nobody could prove anything: the file must say so.
        let e = Communities::parse(&format!("{base}renter_mail = false\n")).unwrap_err();
        assert!(e.contains("door_code_needs_email_proof"), "{e}");
        let c = Communities::parse(&format!(
            "{base}renter_mail = false\ndoor_code_needs_email_proof = false\n"
        ))
        .unwrap();
        assert!(!c.get("ab").unwrap().renter_mail);
        assert!(Communities::demo().all()[0].door_code_needs_email_proof);
    }

    #[test]
    fn knock_confirms_unless_a_community_says_tourgate_does() {
        let base = "[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"Maple Court\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\n";
        let c = Communities::parse(base).unwrap();
        assert_eq!(c.get("ab").unwrap().confirmation, Confirmation::Knock);
        let c = Communities::parse(&format!("{base}confirmation = \"tourgate\"\n")).unwrap();
        assert_eq!(c.get("ab").unwrap().confirmation, Confirmation::Tourgate);
        let e = Communities::parse(&format!("{base}confirmation = \"both\"\n")).unwrap_err();
        assert!(e.contains("both"), "{e}");
    }

    #[test]
    fn the_reference_prefix_comes_from_the_name_unless_set() {
        let base = "[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"Maple Court\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\n";
        let c = Communities::parse(base).unwrap();
        assert_eq!(c.get("ab").unwrap().reference_prefix.as_str(), "MPL");
        let c = Communities::parse(&format!("{base}reference_prefix = \"MC\"\n")).unwrap();
        assert_eq!(c.get("ab").unwrap().reference_prefix.as_str(), "MC");
        let e = Communities::parse(&format!("{base}reference_prefix = \"m-1\"\n")).unwrap_err();
        assert!(e.contains("reference_prefix"), "{e}");
    }

    #[test]
    fn the_sandbox_schedule_can_be_set_per_community() {
        let c = Communities::parse("[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\n[community.sandbox]\nopens=\"07:30:00\"\nmin_notice_minutes=0\nself_guided_may_overlap=true\n").unwrap();
        let s = &c.get("ab").unwrap().sandbox;
        assert_eq!(s.opens.to_string(), "07:30:00");
        assert!(s.self_guided_may_overlap);
        assert!(
            !s.reviews_requests,
            "Knock books at once unless told otherwise"
        );
    }

    #[test]
    fn knocks_copy_of_a_community_may_differ_from_ours() {
        let base = "[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\nunits=[\"1\"]\n[community.sandbox]\n";
        let c = Communities::parse(&format!(
            "{base}tour_minutes = 45\ntimezone = \"America/Chicago\"\nunits = [\"1A\"]\n"
        ))
        .unwrap();
        let ab = c.get("ab").unwrap();
        assert_eq!((ab.tour_minutes, ab.sandbox.tour_minutes), (30, Some(45)));
        assert_eq!(ab.sandbox.timezone, Some(chrono_tz::America::Chicago));
        assert_eq!(ab.sandbox.units.as_deref(), Some(&["1A".to_string()][..]));
        let e = Communities::parse(&format!("{base}timezone = \"Mars/Base\"\n")).unwrap_err();
        assert!(e.contains("Mars/Base"), "{e}");
        let e = Communities::parse(&format!("{base}tour_minutes = 0\n")).unwrap_err();
        assert!(e.contains("sandbox.tour_minutes"), "{e}");
    }

    #[test]
    fn a_community_can_have_its_requests_reviewed_in_the_sandbox() {
        let c = Communities::parse("[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\n[community.sandbox]\nreviews_requests = true\n").unwrap();
        assert!(c.get("ab").unwrap().sandbox.reviews_requests);
    }

    #[test]
    fn a_bad_zone_or_slug_is_named() {
        let e = Communities::parse("[[community]]\nslug=\"A B\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\n").unwrap_err();
        assert!(e.contains("slug"), "{e}");
        let e = Communities::parse("[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"Mars/Base\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\n").unwrap_err();
        assert!(e.contains("Mars/Base"), "{e}");
    }

    #[test]
    fn units_may_have_their_own_seam_locks_and_a_bad_one_is_named_with_its_community_and_unit() {
        let base = "[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\nunits = [\"101\", \"102\", \"2B\"]\naccess = { provider = \"seam\", device_id = \"front\" }\n[community.unit_access]\n";
        let c = Communities::parse(&format!(
            "{base}\"2B\" = {{ provider = \"seam\", device_id = \"lockbox-2b\" }}\n\"101\" = {{ provider = \"seam\", device_id = \"door-101\" }}\n"
        ))
        .unwrap();
        let ab = c.get("ab").unwrap();
        assert_eq!(ab.units, ["101", "102", "2B"], "units stay strings");
        let locks: Vec<(Option<&str>, &str)> = ab
            .seam_locks()
            .iter()
            .map(|l| (l.unit, l.device_id))
            .collect();
        assert_eq!(
            locks,
            [
                (None, "front"),
                (Some("101"), "door-101"),
                (Some("2B"), "lockbox-2b")
            ],
            "the building's first, then the units in their order"
        );
        for (bad, named) in [
            ("\"9Z\" = { provider = \"seam\", device_id = \"d\" }", "unit `9Z`"),
            ("\"101\" = { provider = \"kwikset\", device_id = \"d\" }", "kwikset"),
            ("\"101\" = { provider = \"built-in\" }", "unit_access.\"101\""),
            ("\"101\" = { provider = \"seam\" }", "device_id is required"),
            ("\"101\" = { provider = \"seam\", device_id = \"front\" }", "own lock"),
            (
                "\"101\" = { provider = \"seam\", device_id = \"d\" }\n\"102\" = { provider = \"seam\", device_id = \"d\" }",
                "too",
            ),
        ] {
            let e = Communities::parse(&format!("{base}{bad}\n")).unwrap_err();
            assert!(e.contains("community `ab`") && e.contains(named), "{bad}: {e}");
        }
    }

    #[test]
    fn a_community_names_its_lock_and_the_built_in_codes_are_the_default() {
        let base = "[[community]]\nslug=\"ab\"\nknock_community_id=\"x\"\nname=\"n\"\ntimezone=\"UTC\"\naddress=\"a\"\ntour_minutes=30\ndefault_source_title=\"s\"\n";
        let c = Communities::parse(base).unwrap();
        assert_eq!(c.get("ab").unwrap().lock, Lock::BuiltIn);
        assert_eq!(c.get("ab").unwrap().staff_email, None);
        let c = Communities::parse(&format!(
            "{base}staff_email = \"desk@example.com\"\naccess = {{ provider = \"seam\", device_id = \"a5036385-1e5c\" }}\n"
        ))
        .unwrap();
        let ab = c.get("ab").unwrap();
        assert_eq!(ab.lock.seam_device(), Some("a5036385-1e5c"));
        assert_eq!(
            ab.staff_email.as_ref().unwrap().as_str(),
            "desk@example.com"
        );
        for (bad, named) in [
            ("access = { provider = \"seam\" }", "device_id is required"),
            ("access = { provider = \"kwikset\" }", "kwikset"),
            (
                "access = { provider = \"seam\", device_id = \"a/../b\" }",
                "a/../b",
            ),
            (
                "access = { provider = \"built-in\", device_id = \"x\" }",
                "device_id",
            ),
            ("access = { provider = \"seam\", device = \"x\" }", "device"),
            ("staff_email = \"not mail\"", "staff_email"),
        ] {
            let e = Communities::parse(&format!("{base}{bad}\n")).unwrap_err();
            assert!(e.contains(named), "{bad}: {e}");
        }
    }
}
