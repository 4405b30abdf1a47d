//! `/webhooks/create|list|get|update|delete` (S-WH; SPEC; S-FAKE's `invalid_event_types`).
use actix_web::http::StatusCode;
use serde_json::{json, Map, Value};

use super::object;
use crate::errors::{SeamError, Validation};
use crate::events::is_known_filter;
use crate::params::Params;
use crate::state::State;
use crate::webhooks::{new_secret, WebhookEndpoint};
use crate::wire::new_id;

fn to_json(w: &WebhookEndpoint) -> Value {
    json!({
        "webhook_id": w.webhook_id,
        "url": w.url,
        "event_types": w.event_types,
        "secret": w.secret,
    })
}

fn event_types(p: &Params, v: &mut Validation) -> Result<Option<Vec<String>>, SeamError> {
    let types = p.str_list("event_types", v);
    if let Some(types) = &types {
        let unknown: Vec<&String> = types.iter().filter(|t| !is_known_filter(t)).collect();
        if !unknown.is_empty() {
            return Err(SeamError::new(
                StatusCode::BAD_REQUEST,
                "invalid_event_types",
                format!("Unknown event types: {unknown:?}"),
            ));
        }
    }
    Ok(types)
}

pub fn create(state: &mut State, p: &Params) -> Result<Map<String, Value>, SeamError> {
    let mut v = Validation::default();
    p.only(&["url", "event_types"], &mut v);
    let url = p.required_str("url", &mut v);
    if let Some(url) = &url {
        if reqwest::Url::parse(url)
            .ok()
            .filter(|u| u.scheme() == "http" || u.scheme() == "https")
            .is_none()
        {
            v.add("url", "Expected an http or https URL");
        }
    }
    let types = event_types(p, &mut v)?;
    v.finish()?;
    let endpoint = WebhookEndpoint {
        webhook_id: new_id(),
        url: url.unwrap_or_default(),
        event_types: types.unwrap_or_else(|| vec!["*".to_owned()]),
        secret: new_secret(),
    };
    let json = to_json(&endpoint);
    state.webhooks.push(endpoint);
    Ok(object(vec![("webhook", json)]))
}

pub fn list(state: &mut State, p: &Params) -> Result<Map<String, Value>, SeamError> {
    let mut v = Validation::default();
    p.only(&[], &mut v);
    v.finish()?;
    let all: Vec<Value> = state.webhooks.iter().map(to_json).collect();
    Ok(object(vec![("webhooks", json!(all))]))
}

fn index(state: &State, p: &Params) -> Result<usize, SeamError> {
    let mut v = Validation::default();
    p.only(&["webhook_id", "event_types"], &mut v);
    let id = p.required_str("webhook_id", &mut v);
    v.finish()?;
    let id = id.unwrap_or_default();
    state
        .webhooks
        .iter()
        .position(|w| w.webhook_id == id)
        .ok_or_else(|| SeamError::not_found("Webhook"))
}

pub fn get(state: &mut State, p: &Params) -> Result<Map<String, Value>, SeamError> {
    if p.has("event_types") {
        return Err(SeamError::invalid(
            "event_types",
            "Unrecognized key: \"event_types\"",
        ));
    }
    let i = index(state, p)?;
    Ok(object(vec![("webhook", to_json(&state.webhooks[i]))]))
}

pub fn update(state: &mut State, p: &Params) -> Result<Map<String, Value>, SeamError> {
    let i = index(state, p)?;
    let mut v = Validation::default();
    let types = event_types(p, &mut v)?;
    v.finish()?;
    if let Some(types) = types {
        state.webhooks[i].event_types = types;
    }
    Ok(Map::new())
}

pub fn delete(state: &mut State, p: &Params) -> Result<Map<String, Value>, SeamError> {
    if p.has("event_types") {
        return Err(SeamError::invalid(
            "event_types",
            "Unrecognized key: \"event_types\"",
        ));
    }
    let i = index(state, p)?;
    state.webhooks.remove(i);
    Ok(Map::new())
}
