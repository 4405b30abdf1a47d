//! What each Seam lock can do, read from Seam's device list (PROVIDERS.md §1.2, §1.8): an
//! online-code lock takes our PIN, can be revoked and (for the brands Seam links) names the
//! code in its entries; an offline-code lockbox (igloohome algoPIN) picks its own PIN, takes
//! whole hours only, cannot be revoked through the API and reports no entries.
use std::collections::HashMap;
use std::sync::RwLock;

use super::client::DeviceObject;
use super::CAPABILITIES;
use crate::access::provider::{Attribution, Capabilities};

/// An offline-code lockbox.
pub const OFFLINE_CODES: Capabilities = Capabilities {
    custom_code: false,
    revocable: false,
    async_provisioning: true,
    window_granularity: chrono::Duration::hours(1),
    attribution: Attribution::None,
    pull_events: true,
};

/// Brands whose `lock.unlocked` carries `access_code_id` (S-ACGUIDE).
const LINKED_BRANDS: [&str; 7] = [
    "august_lock",
    "kwikset_lock",
    "salto_lock",
    "schlage_lock",
    "tedee_lock",
    "ttlock_lock",
    "yale_lock",
];

/// A device's capabilities from its object.
pub fn capabilities_of(d: &DeviceObject) -> Capabilities {
    let online = d.can_program_online_access_codes.unwrap_or(true);
    if !online && d.can_program_offline_access_codes == Some(true) {
        return OFFLINE_CODES;
    }
    let linked = d
        .device_type
        .as_deref()
        .is_some_and(|t| LINKED_BRANDS.contains(&t));
    Capabilities {
        attribution: if linked {
            Attribution::Exact
        } else {
            Attribution::ByCode
        },
        ..CAPABILITIES
    }
}

/// The devices learned so far; a device not (yet) listed is taken as an online-code lock,
/// the common case (a wrong guess shows as a refused write, which alerts staff).
#[derive(Default)]
pub struct DeviceBook(RwLock<HashMap<String, Capabilities>>);

impl DeviceBook {
    pub fn get(&self, device_id: &str) -> Capabilities {
        self.0
            .read()
            .ok()
            .and_then(|m| m.get(device_id).copied())
            .unwrap_or(CAPABILITIES)
    }

    pub fn learn(&self, devices: &[DeviceObject]) {
        if let Ok(mut m) = self.0.write() {
            for d in devices {
                m.insert(d.device_id.clone(), capabilities_of(d));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(kind: &str, online: bool, offline: bool) -> DeviceObject {
        DeviceObject {
            device_id: "d".into(),
            device_type: Some(kind.into()),
            can_program_online_access_codes: Some(online),
            can_program_offline_access_codes: Some(offline),
        }
    }

    #[test]
    fn a_lockbox_is_not_revocable_and_takes_whole_hours_and_an_august_lock_names_its_codes() {
        let lockbox = capabilities_of(&device("igloohome_lock", false, true));
        assert!(!lockbox.revocable && !lockbox.custom_code);
        assert_eq!(lockbox.window_granularity, chrono::Duration::hours(1));
        let august = capabilities_of(&device("august_lock", true, false));
        assert!(august.revocable && august.custom_code);
        assert_eq!(august.attribution, Attribution::Exact);
        let lockly = capabilities_of(&device("lockly_lock", true, false));
        assert_eq!(lockly.attribution, Attribution::ByCode);
    }
}
