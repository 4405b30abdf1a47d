//! The emulator's locks: brand profiles (what each brand does differently: native scheduling,
//! unlock attribution, offline codes; PROVIDERS.md §1.2, §1.3, §1.6, §1.8) and the seeded
//! sandbox devices with fixed ids (§1.7, §4.4 item 13).
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{json, Value};

use super::wire::seam_time;

/// A lock brand as Seam models it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Brand {
    August,
    Schlage,
    Yale,
    Kwikset,
    Lockly,
    Igloohome,
}

impl Brand {
    /// Seam's `device_type`.
    pub fn device_type(self) -> &'static str {
        match self {
            Self::August => "august_lock",
            Self::Schlage => "schlage_lock",
            Self::Yale => "yale_lock",
            Self::Kwikset => "kwikset_lock",
            Self::Lockly => "lockly_lock",
            Self::Igloohome => "igloohome_lock",
        }
    }

    pub fn manufacturer(self) -> &'static str {
        match self {
            Self::August => "august",
            Self::Schlage => "schlage",
            Self::Yale => "yale",
            Self::Kwikset => "kwikset",
            Self::Lockly => "lockly",
            Self::Igloohome => "igloohome",
        }
    }

    /// Brands Seam schedules codes on natively (S-LIFE): loaded 72 h ahead, active at
    /// `starts_at`. Others are programmed just in time, 60 min ahead. Lockly is not native.
    pub fn schedules_natively(self) -> bool {
        !matches!(self, Self::Lockly)
    }

    /// Brands whose `lock.unlocked` carries `access_code_id` (S-ACGUIDE: August, Kwikset,
    /// Salto KS, Schlage, Tedee, TTLock, Yale). Not Lockly or igloohome.
    pub fn attributes_unlocks(self) -> bool {
        matches!(
            self,
            Self::August | Self::Schlage | Self::Yale | Self::Kwikset
        )
    }
}

/// One lock the emulator holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeamDevice {
    pub device_id: String,
    pub display_name: String,
    pub brand: Brand,
    /// `location.timezone`.
    #[serde(serialize_with = "zone_name")]
    pub timezone: Tz,
    /// `properties.online`; `set_device_offline` and `/devices/simulate/disconnect` flip it.
    pub online: bool,
    /// `properties.locked`.
    pub locked: bool,
    /// `properties.max_active_codes_supported`.
    pub max_active_codes: usize,
    /// No room for another code whatever the count (`fill_device`).
    pub full: bool,
    /// `properties.supported_code_lengths`.
    pub supported_code_lengths: Vec<usize>,
    /// `can_program_online_access_codes`.
    pub online_codes: bool,
    /// `can_program_offline_access_codes` (igloohome algoPIN, §1.8).
    pub offline_codes: bool,
    /// Seconds after a keypad unlock until the lock relocks itself (`lock.locked`, method
    /// `automatic`); None: it stays unlocked.
    pub auto_relock_seconds: Option<i64>,
    pub connected_account_id: String,
    pub created_at: DateTime<Utc>,
    /// `/devices/simulate/remove`: gone from Seam.
    pub removed: bool,
}

fn zone_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

impl SeamDevice {
    /// An online lock of `brand` with that brand's defaults.
    pub fn new(device_id: &str, display_name: &str, brand: Brand, timezone: Tz) -> Self {
        let (lengths, max): (Vec<usize>, usize) = match brand {
            Brand::August => ((4..=8).collect(), 250),
            Brand::Schlage => ((4..=8).collect(), 100),
            Brand::Yale => ((4..=8).collect(), 250),
            Brand::Kwikset => ((4..=8).collect(), 30),
            Brand::Lockly => ((6..=8).collect(), 64),
            Brand::Igloohome => ((4..=10).collect(), 199),
        };
        Self {
            device_id: device_id.to_owned(),
            display_name: display_name.to_owned(),
            brand,
            timezone,
            online: true,
            locked: true,
            max_active_codes: max,
            full: false,
            supported_code_lengths: lengths,
            online_codes: brand != Brand::Igloohome,
            offline_codes: brand == Brand::Igloohome,
            auto_relock_seconds: Some(30),
            connected_account_id: seeds::CONNECTED_ACCOUNT.to_owned(),
            created_at: seeds::seeded_at(),
            removed: false,
        }
    }

    pub fn is_lock(&self) -> bool {
        true
    }

    /// Device errors Seam copies onto the device object.
    fn errors(&self, _now: DateTime<Utc>) -> Vec<Value> {
        if self.online {
            Vec::new()
        } else {
            vec![json!({
                "error_code": "device_offline",
                "message": "Device is offline",
                "is_device_error": true,
                "created_at": seam_time(self.created_at),
            })]
        }
    }

    /// The device object (SPEC `components.schemas.device`; the fields §1.2 names).
    pub fn to_json(&self, now: DateTime<Utc>) -> Value {
        let mut device = json!({
            "device_id": self.device_id,
            "device_type": self.brand.device_type(),
            "display_name": self.display_name,
            "nickname": self.display_name,
            "workspace_id": seeds::WORKSPACE,
            "connected_account_id": self.connected_account_id,
            "created_at": seam_time(self.created_at),
            "is_managed": true,
            "custom_metadata": {},
            "space_ids": [],
            "errors": self.errors(now),
            "warnings": [],
            "capabilities_supported": ["access_code", "lock"],
            "location": {
                "location_name": self.display_name,
                "timezone": self.timezone.name(),
            },
            "properties": self.properties(),
        });
        let flags = json!({
            "can_program_online_access_codes": self.online_codes,
            "can_program_offline_access_codes": self.offline_codes,
            "can_remotely_unlock": self.brand != Brand::Igloohome,
            "can_remotely_lock": self.brand != Brand::Igloohome,
            "can_simulate_disconnection": true,
            "can_simulate_connection": true,
            "can_simulate_removal": true,
        });
        if let (Some(device), Value::Object(flags)) = (device.as_object_mut(), flags) {
            device.extend(flags);
        }
        device
    }

    fn properties(&self) -> Value {
        let mut properties = json!({
            "name": self.display_name,
            "online": self.online,
            "locked": self.locked,
            "door_open": false,
            "manufacturer": self.brand.manufacturer(),
            "battery_level": 0.87,
            "battery": {"level": 0.87, "status": "good"},
            "has_direct_power": false,
            "supports_offline_access_codes": self.offline_codes,
            "supports_accessory_keypad": false,
        });
        let codes = json!({
            "supported_code_lengths": self.supported_code_lengths,
            "max_active_codes_supported": self.max_active_codes,
            "code_constraints": [{"constraint_type": "no_all_same_digits"}],
            "has_native_entry_events": true,
            "model": {
                "display_name": format!("{} smart lock", self.brand.manufacturer()),
                "manufacturer_display_name": self.brand.manufacturer(),
                "offline_access_codes_supported": self.offline_codes,
                "online_access_codes_supported": self.online_codes,
                "accessory_keypad_supported": false,
            },
        });
        if let (Some(properties), Value::Object(codes)) = (properties.as_object_mut(), codes) {
            properties.extend(codes);
        }
        properties
    }
}

/// The seeded sandbox workspace: fixed ids so tests and the demo can name devices.
pub mod seeds {
    use chrono::{DateTime, TimeZone, Utc};

    use super::{Brand, SeamDevice};

    pub const WORKSPACE: &str = "5e4a0000-0000-4000-8000-00000000f001";
    pub const WORKSPACE_NAME: &str = "Tourgate Sandbox";
    pub const CONNECTED_ACCOUNT: &str = "5e4a0000-0000-4000-8000-00000000ca01";

    /// August, native scheduling, unlocks attributed to codes. America/Los_Angeles.
    pub const FRONT_DOOR: &str = "5e4a0000-0000-4000-8000-000000000001";
    /// August, like the front door. America/Los_Angeles.
    pub const BACK_DOOR: &str = "5e4a0000-0000-4000-8000-000000000002";
    /// Schlage, native scheduling, attributed. America/New_York.
    pub const MODEL_UNIT: &str = "5e4a0000-0000-4000-8000-000000000003";
    /// Yale, native scheduling, attributed. America/Chicago.
    pub const LEASING_OFFICE: &str = "5e4a0000-0000-4000-8000-000000000004";
    /// Lockly: just-in-time programming, unlocks not attributed. America/Los_Angeles.
    pub const GARDEN_GATE: &str = "5e4a0000-0000-4000-8000-000000000005";
    /// igloohome: offline (algoPIN) codes only, no attribution. America/Los_Angeles.
    pub const LOCKBOX: &str = "5e4a0000-0000-4000-8000-000000000006";

    pub(crate) fn seeded_at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The devices every sandbox starts with unless its config replaces them.
    pub fn devices() -> Vec<SeamDevice> {
        use chrono_tz::America::{Chicago, Los_Angeles, New_York};
        vec![
            SeamDevice::new(FRONT_DOOR, "Front Door", Brand::August, Los_Angeles),
            SeamDevice::new(BACK_DOOR, "Back Door", Brand::August, Los_Angeles),
            SeamDevice::new(MODEL_UNIT, "Model Unit 5A", Brand::Schlage, New_York),
            SeamDevice::new(LEASING_OFFICE, "Leasing Office", Brand::Yale, Chicago),
            SeamDevice::new(GARDEN_GATE, "Garden Gate", Brand::Lockly, Los_Angeles),
            SeamDevice::new(LOCKBOX, "Key Lockbox", Brand::Igloohome, Los_Angeles),
        ]
    }
}
