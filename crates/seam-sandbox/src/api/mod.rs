//! Seam's routes (PROVIDERS.md §4.4 item 1): which methods each takes and the handler that
//! answers it. A handler gets the parsed parameters and the locked state (already advanced to
//! now) and returns the success object without `ok`, or a `SeamError`.
mod access_codes;
mod devices;
mod events;
mod simulate;
mod webhooks;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::errors::{SeamError, Validation};
use super::params::Params;
use super::state::State;

/// One Seam route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    DevicesList,
    DevicesGet,
    LocksList,
    LocksGet,
    AccessCodesCreate,
    AccessCodesGet,
    AccessCodesList,
    AccessCodesUpdate,
    AccessCodesDelete,
    ActionAttemptsGet,
    EventsList,
    EventsGet,
    WebhooksCreate,
    WebhooksList,
    WebhooksGet,
    WebhooksUpdate,
    WebhooksDelete,
    LocksUnlockDoor,
    LocksLockDoor,
    SimulateKeypadCodeEntry,
    SimulateManualLockViaKeypad,
    DevicesSimulateConnect,
    DevicesSimulateDisconnect,
    DevicesSimulateRemove,
    WorkspacesGet,
}

impl Route {
    pub const ALL: [Route; 25] = [
        Route::DevicesList,
        Route::DevicesGet,
        Route::LocksList,
        Route::LocksGet,
        Route::AccessCodesCreate,
        Route::AccessCodesGet,
        Route::AccessCodesList,
        Route::AccessCodesUpdate,
        Route::AccessCodesDelete,
        Route::ActionAttemptsGet,
        Route::EventsList,
        Route::EventsGet,
        Route::WebhooksCreate,
        Route::WebhooksList,
        Route::WebhooksGet,
        Route::WebhooksUpdate,
        Route::WebhooksDelete,
        Route::LocksUnlockDoor,
        Route::LocksLockDoor,
        Route::SimulateKeypadCodeEntry,
        Route::SimulateManualLockViaKeypad,
        Route::DevicesSimulateConnect,
        Route::DevicesSimulateDisconnect,
        Route::DevicesSimulateRemove,
        Route::WorkspacesGet,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Self::DevicesList => "/devices/list",
            Self::DevicesGet => "/devices/get",
            Self::LocksList => "/locks/list",
            Self::LocksGet => "/locks/get",
            Self::AccessCodesCreate => "/access_codes/create",
            Self::AccessCodesGet => "/access_codes/get",
            Self::AccessCodesList => "/access_codes/list",
            Self::AccessCodesUpdate => "/access_codes/update",
            Self::AccessCodesDelete => "/access_codes/delete",
            Self::ActionAttemptsGet => "/action_attempts/get",
            Self::EventsList => "/events/list",
            Self::EventsGet => "/events/get",
            Self::WebhooksCreate => "/webhooks/create",
            Self::WebhooksList => "/webhooks/list",
            Self::WebhooksGet => "/webhooks/get",
            Self::WebhooksUpdate => "/webhooks/update",
            Self::WebhooksDelete => "/webhooks/delete",
            Self::LocksUnlockDoor => "/locks/unlock_door",
            Self::LocksLockDoor => "/locks/lock_door",
            Self::SimulateKeypadCodeEntry => "/locks/simulate/keypad_code_entry",
            Self::SimulateManualLockViaKeypad => "/locks/simulate/manual_lock_via_keypad",
            Self::DevicesSimulateConnect => "/devices/simulate/connect",
            Self::DevicesSimulateDisconnect => "/devices/simulate/disconnect",
            Self::DevicesSimulateRemove => "/devices/simulate/remove",
            Self::WorkspacesGet => "/workspaces/get",
        }
    }

    /// Read routes also take `GET` with a query string (SPEC; both SDKs send GET).
    pub fn takes_get(self) -> bool {
        matches!(
            self,
            Self::DevicesList
                | Self::DevicesGet
                | Self::LocksList
                | Self::LocksGet
                | Self::AccessCodesGet
                | Self::AccessCodesList
                | Self::ActionAttemptsGet
                | Self::EventsList
                | Self::EventsGet
                | Self::WebhooksList
                | Self::WebhooksGet
                | Self::WorkspacesGet
        )
    }

    /// `/access_codes/delete` also takes `DELETE` with a query string (what the SDKs send).
    pub fn takes_delete(self) -> bool {
        matches!(self, Self::AccessCodesDelete)
    }
}

/// What a handler knows besides its parameters.
pub struct Call<'a> {
    pub now: DateTime<Utc>,
    /// `scheme://host` and the route's path, for `next_page_url`.
    pub url_base: &'a str,
}

/// Answers one call: the success object (without `ok`).
pub fn handle(
    route: Route,
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
) -> Result<Map<String, Value>, SeamError> {
    match route {
        Route::DevicesList => devices::list(state, p, call, false),
        Route::LocksList => devices::list(state, p, call, true),
        Route::DevicesGet => devices::get(state, p, call, "device"),
        Route::LocksGet => devices::get(state, p, call, "lock"),
        Route::AccessCodesCreate => access_codes::create(state, p, call),
        Route::AccessCodesGet => access_codes::get(state, p),
        Route::AccessCodesList => access_codes::list(state, p, call),
        Route::AccessCodesUpdate => access_codes::update(state, p, call),
        Route::AccessCodesDelete => access_codes::delete(state, p, call),
        Route::ActionAttemptsGet => simulate::action_attempt(state, p),
        Route::EventsList => events::list(state, p),
        Route::EventsGet => events::get(state, p),
        Route::WebhooksCreate => webhooks::create(state, p),
        Route::WebhooksList => webhooks::list(state, p),
        Route::WebhooksGet => webhooks::get(state, p),
        Route::WebhooksUpdate => webhooks::update(state, p),
        Route::WebhooksDelete => webhooks::delete(state, p),
        Route::LocksUnlockDoor => simulate::unlock_door(state, p, call, true),
        Route::LocksLockDoor => simulate::unlock_door(state, p, call, false),
        Route::SimulateKeypadCodeEntry => simulate::keypad_code_entry(state, p, call),
        Route::SimulateManualLockViaKeypad => simulate::manual_lock(state, p, call),
        Route::DevicesSimulateConnect => simulate::connection(state, p, call, true),
        Route::DevicesSimulateDisconnect => simulate::connection(state, p, call, false),
        Route::DevicesSimulateRemove => simulate::remove(state, p, call),
        Route::WorkspacesGet => Ok(simulate::workspace()),
    }
}

/// An object from pairs.
pub(crate) fn object(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Seam lists page with `limit` and an opaque `page_cursor`; the cursor here is the offset.
pub(crate) fn paginate(
    items: Vec<Value>,
    p: &Params,
    v: &mut Validation,
    call: &Call<'_>,
    default_limit: u64,
) -> (Vec<Value>, Value) {
    let limit = p.uint("limit", v).unwrap_or(default_limit).max(1) as usize;
    let offset = match p.str("page_cursor", v) {
        None => 0,
        Some(cursor) => match decode_cursor(&cursor) {
            Some(offset) => offset,
            None => {
                v.add("page_cursor", "Invalid page cursor");
                0
            }
        },
    };
    let has_next = items.len() > offset.saturating_add(limit);
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let next_cursor = has_next.then(|| encode_cursor(offset + limit));
    let next_url = next_cursor
        .as_ref()
        .map(|c| format!("{}?limit={limit}&page_cursor={c}", call.url_base));
    (
        page,
        json!({
            "has_next_page": has_next,
            "next_page_cursor": next_cursor,
            "next_page_url": next_url,
        }),
    )
}

fn encode_cursor(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("offset:")?
        .parse()
        .ok()
}
