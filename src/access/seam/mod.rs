//! The Seam adapter (PROVIDERS.md §1): a time-bound code per booking on the community's lock,
//! found again by its name (Seam has no idempotency key), removed on cancel, no-show and move;
//! Seam's signed webhooks and its event log turned into normalized events.
pub mod client;
pub mod devices;
pub mod events;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use client::{AccessCodeObject, NewCode, SeamClient, SeamError};

use super::event::InboundEvent;
use super::provider::{Attribution, Capabilities};
use super::webhook::{self, Unverified};
use super::AccessCode;
use crate::config::{SeamSettings, Secret};
use crate::domain::{BookingId, GrantState};

/// The provider's name in stored rows (`access_grants.provider`, the event cursor).
pub const PROVIDER: &str = "seam";
/// Events read per catch-up call.
const EVENTS_PAGE: u32 = 500;

/// Seam's online codes: our PIN, revocable, set on the lock some time after the create, and
/// (for the brands Seam links) entries naming the code; `/events/list` for catch-up.
pub const CAPABILITIES: Capabilities = Capabilities {
    custom_code: true,
    revocable: true,
    async_provisioning: true,
    window_granularity: chrono::Duration::seconds(1),
    attribution: Attribution::Exact,
    pull_events: true,
};

pub struct Seam {
    client: SeamClient,
    webhook_secret: Secret,
    /// What each lock can do, from Seam's device list.
    devices: devices::DeviceBook,
}

/// The name our code carries on the lock: the booking id, so a retry finds it.
pub fn code_name(booking: &BookingId) -> String {
    format!("Tour {}", booking.as_str())
}

/// Where a code Seam answered with is in its life.
pub fn state_of(c: &AccessCodeObject) -> (GrantState, Option<String>) {
    let failure = c.errors.iter().find_map(|e| {
        e.error_code.as_deref().filter(|code| {
            matches!(
                *code,
                "failed_to_set_on_device"
                    | "no_space_for_access_code_on_device"
                    | "code_constraints_violated"
                    | "duplicate_code_on_device"
                    | "device_offline"
            ) || code.starts_with("device_")
        })
    });
    if let Some(f) = failure {
        return (GrantState::Failed, Some(f.to_string()));
    }
    let state = match c.status.as_str() {
        "set" => GrantState::Set,
        _ if c.is_scheduled_on_device == Some(true) => GrantState::Scheduled,
        "setting" => GrantState::Setting,
        "removing" => GrantState::Revoking,
        _ => GrantState::Unset,
    };
    (state, None)
}

impl Seam {
    pub fn new(settings: &SeamSettings) -> Result<Self, String> {
        let mut endpoint = settings.endpoint.clone();
        if !endpoint.path().ends_with('/') {
            let path = format!("{}/", endpoint.path());
            endpoint.set_path(&path);
        }
        Ok(Self {
            client: SeamClient::new(endpoint, settings.api_key.clone())?,
            webhook_secret: settings.webhook_secret.clone(),
            devices: devices::DeviceBook::default(),
        })
    }

    /// What lock `device_id` can do (an online-code lock until the device list says more).
    pub fn capabilities(&self, device_id: &str) -> Capabilities {
        self.devices.get(device_id)
    }

    /// Reads Seam's device list to learn what each lock can do; how many devices it lists.
    pub async fn learn_devices(&self) -> Result<usize, SeamError> {
        let list = self.client.list_devices().await?;
        self.devices.learn(&list);
        Ok(list.len())
    }

    /// The PIN the lock's maker picked for code `access_code_id` (an offline code), read
    /// from Seam each time: it is never stored.
    pub async fn pin_of(&self, access_code_id: &str) -> Result<Option<AccessCode>, SeamError> {
        let c = self.client.get_code(access_code_id).await?;
        Ok(c.code.map(|p| AccessCode::new(p.reveal().to_string())))
    }

    /// The booking's code on `device_id` for the window: the one an earlier try made when it
    /// is there as asked, else a new one; codes of ours with another window or PIN (an older
    /// window after a move, a half-finished earlier try) are deleted first. `code` None: an
    /// offline code whose PIN the lock's maker picks (any PIN of it is then adopted).
    pub async fn issue(
        &self,
        booking: &BookingId,
        device_id: &str,
        code: Option<&AccessCode>,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<AccessCodeObject, SeamError> {
        let name = code_name(booking);
        let mut adopted = None;
        for c in self.client.list_codes(device_id).await? {
            if c.name.as_deref() != Some(name.as_str()) {
                continue;
            }
            let same_pin = match code {
                Some(code) => c.code.as_ref().map(|p| p.reveal()) == Some(code.reveal()),
                None => true,
            };
            let same = c.starts_at == Some(window.0) && c.ends_at == Some(window.1) && same_pin;
            if same && adopted.is_none() && c.status != "removing" {
                tracing::info!(booking = %booking, access_code_id = %c.access_code_id,
                    "Seam has this booking's code from an earlier try: not creating another");
                adopted = Some(c);
            } else if code.is_some() {
                self.delete_quietly(&c.access_code_id).await?;
            }
            // An offline code cannot be deleted through the API: an older one runs out.
        }
        if let Some(c) = adopted {
            return Ok(c);
        }
        self.client
            .create_code(&NewCode {
                device_id,
                name: &name,
                code: code.map(|c| c.reveal()),
                starts_at: window.0,
                ends_at: window.1,
            })
            .await
    }

    /// Deletes every code of the booking's on the device; how many there were.
    pub async fn revoke(&self, booking: &BookingId, device_id: &str) -> Result<usize, SeamError> {
        let name = code_name(booking);
        let mut n = 0;
        for c in self.client.list_codes(device_id).await? {
            if c.name.as_deref() == Some(name.as_str()) {
                self.delete_quietly(&c.access_code_id).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// A code that is gone already is deleted.
    async fn delete_quietly(&self, access_code_id: &str) -> Result<(), SeamError> {
        match self.client.delete_code(access_code_id).await {
            Ok(()) | Err(SeamError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Verifies a webhook (`svix-*` or `webhook-*` headers) on its raw body: its delivery id.
    pub fn verify<'a>(
        &self,
        get: impl Fn(&str) -> Option<&'a [u8]>,
        body: &[u8],
    ) -> Result<String, Unverified> {
        webhook::verify(self.webhook_secret.expose(), get, body)
    }

    /// A verified webhook body: one bare event object (PROVIDERS.md §1.6).
    pub fn parse(body: &[u8]) -> Result<InboundEvent, events::NotAnEvent> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| events::NotAnEvent(e.to_string()))?;
        events::parse(&v)
    }

    /// Events that happened since `since`, oldest first; unreadable ones are skipped (logged).
    pub async fn events_since(&self, since: DateTime<Utc>) -> Result<Vec<InboundEvent>, SeamError> {
        let mut out: Vec<InboundEvent> = Vec::new();
        for v in self.client.list_events(since, EVENTS_PAGE).await? {
            match events::parse(&v) {
                Ok(e) => out.push(e),
                Err(e) => tracing::warn!(error = %e, "skipped an unreadable Seam event"),
            }
        }
        out.sort_by_key(|e| e.occurred_at);
        Ok(out)
    }
}
