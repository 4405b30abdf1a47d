//! A route's parameters, from a JSON body (POST, as the docs' cURL sends them) or a query
//! string (GET and DELETE, as the official SDKs send them: arrays as repeated keys, booleans
//! as `true`/`false`, a trailing `_strict=true`; PROVIDERS.md §1.1). Both forms read through
//! the same getters, so a route checks its input once. Unknown keys are refused, as Seam's
//! strict validation does.
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::errors::{SeamError, Validation};

#[derive(Debug, Default)]
pub struct Params {
    map: Map<String, Value>,
    /// Values are strings (and arrays of strings) that getters must convert.
    from_query: bool,
}

impl Params {
    pub fn from_json(body: &[u8]) -> Result<Self, SeamError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self {
                map,
                from_query: false,
            }),
            Ok(_) => Err(SeamError::bad_input(
                "The request body must be a JSON object",
            )),
            Err(e) => Err(SeamError::bad_input(format!(
                "The request body is not valid JSON: {e}"
            ))),
        }
    }

    pub fn from_query(query: &str) -> Result<Self, SeamError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|_| SeamError::bad_input("The query string is malformed"))?;
        let mut map = Map::new();
        for (key, value) in pairs {
            // `device_ids[]=…` is how some clients write arrays; treat it as a repeated key.
            let key = key.strip_suffix("[]").unwrap_or(&key).to_owned();
            if key == "_strict" {
                continue;
            }
            match map.get_mut(&key) {
                None => {
                    map.insert(key, Value::String(value));
                }
                Some(Value::Array(list)) => list.push(Value::String(value)),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(value)]);
                }
            }
        }
        Ok(Self {
            map,
            from_query: true,
        })
    }

    /// Refuses keys the route does not take.
    pub fn only(&self, allowed: &[&str], v: &mut Validation) {
        for key in self.map.keys() {
            if key != "_strict" && !allowed.contains(&key.as_str()) {
                v.add(key, format!("Unrecognized key: \"{key}\""));
            }
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    fn value(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn str(&self, key: &str, v: &mut Validation) -> Option<String> {
        match self.value(key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                v.add(key, "Expected string");
                None
            }
        }
    }

    pub fn required_str(&self, key: &str, v: &mut Validation) -> Option<String> {
        if !self.has(key) {
            v.add(key, "Required");
            return None;
        }
        let s = self.str(key, v)?;
        if s.is_empty() {
            v.add(key, "Must not be empty");
            return None;
        }
        Some(s)
    }

    pub fn bool(&self, key: &str, v: &mut Validation) -> Option<bool> {
        match self.value(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if self.from_query && s == "true" => Some(true),
            Value::String(s) if self.from_query && s == "false" => Some(false),
            _ => {
                v.add(key, "Expected boolean");
                None
            }
        }
    }

    pub fn uint(&self, key: &str, v: &mut Validation) -> Option<u64> {
        let parsed = match self.value(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) if self.from_query => s.parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            v.add(key, "Expected a non-negative whole number");
        }
        parsed
    }

    /// An ISO 8601 date-time with an offset.
    pub fn time(&self, key: &str, v: &mut Validation) -> Option<DateTime<Utc>> {
        let text = self.str(key, v)?;
        match DateTime::parse_from_rfc3339(&text) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                v.add(key, "Invalid datetime: expected ISO 8601 with a time zone");
                None
            }
        }
    }

    /// A list of strings: a JSON array, or (query) one or repeated keys.
    pub fn str_list(&self, key: &str, v: &mut Validation) -> Option<Vec<String>> {
        match self.value(key)? {
            Value::Array(items) => {
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect();
                if strings.is_none() {
                    v.add(key, "Expected an array of strings");
                }
                strings
            }
            Value::String(s) if self.from_query => Some(vec![s.clone()]),
            _ => {
                v.add(key, "Expected an array of strings");
                None
            }
        }
    }

    /// A singular key and its plural array form (`device_id` / `device_ids`), merged.
    pub fn one_or_many(&self, one: &str, many: &str, v: &mut Validation) -> Option<Vec<String>> {
        let mut all = Vec::new();
        if let Some(s) = self.str(one, v) {
            all.push(s);
        }
        if let Some(list) = self.str_list(many, v) {
            all.extend(list);
        }
        (self.has(one) || self.has(many)).then_some(all)
    }

    pub fn time_list(&self, key: &str, v: &mut Validation) -> Option<Vec<DateTime<Utc>>> {
        let texts = self.str_list(key, v)?;
        let mut times = Vec::new();
        for text in texts {
            match DateTime::parse_from_rfc3339(&text) {
                Ok(t) => times.push(t.with_timezone(&Utc)),
                Err(_) => {
                    v.add(key, "Invalid datetime: expected ISO 8601 with a time zone");
                    return None;
                }
            }
        }
        Some(times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_repeated_keys_become_arrays_and_strict_is_dropped() {
        let p = Params::from_query("device_ids=a&device_ids=b&limit=3&_strict=true&x=true")
            .expect("valid query");
        let mut v = Validation::default();
        assert_eq!(
            p.str_list("device_ids", &mut v),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(p.uint("limit", &mut v), Some(3));
        assert_eq!(p.bool("x", &mut v), Some(true));
        assert!(v.is_empty());
        assert!(!p.has("_strict"));
    }

    #[test]
    fn json_strings_are_not_numbers() {
        let p = Params::from_json(br#"{"limit":"3"}"#).expect("valid json");
        let mut v = Validation::default();
        assert_eq!(p.uint("limit", &mut v), None);
        assert!(!v.is_empty());
    }
}
