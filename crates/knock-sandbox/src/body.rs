//! Reading partner JSON member by member, so that every refusal names its field
//! (API.md §11: `{"errorMessage":"<field>: <reason>"}`). Unknown members are ignored (§2);
//! a `null` member counts as absent.
use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{Map, Value};

use super::rules::Rejection;

pub(super) fn parse_json(raw: &[u8]) -> Result<Value, Rejection> {
    serde_json::from_slice(raw).map_err(|_| Rejection::invalid("body", "must be valid JSON"))
}

/// A JSON object being read, with its path for error messages ("profile", "requestedTimes[0]").
pub(super) struct Fields<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub fn root(value: &'a Value) -> Result<Self, Rejection> {
        match value {
            Value::Object(map) => Ok(Self {
                path: String::new(),
                map,
            }),
            _ => Err(Rejection::invalid("body", "must be a JSON object")),
        }
    }

    pub fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn fail(&self, key: &str, reason: &str) -> Rejection {
        Rejection::invalid(self.name(key), reason)
    }

    fn present(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn required(&self, key: &str) -> Result<&'a Value, Rejection> {
        self.present(key)
            .ok_or_else(|| self.fail(key, "is required"))
    }

    /// A string member; blank counts as absent.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, Rejection> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(self.fail(key, "must be a string")),
        }
    }

    pub fn str(&self, key: &str) -> Result<&'a str, Rejection> {
        match self.required(key)? {
            Value::String(s) if s.trim().is_empty() => Err(self.fail(key, "must not be empty")),
            Value::String(s) => Ok(s.as_str()),
            _ => Err(self.fail(key, "must be a string")),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, Rejection> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.fail(key, "must be a boolean")),
        }
    }

    pub fn opt_count(&self, key: &str) -> Result<Option<u32>, Rejection> {
        match self.present(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| self.fail(key, "must be a non-negative integer")),
        }
    }

    pub fn opt_date(&self, key: &str) -> Result<Option<NaiveDate>, Rejection> {
        self.opt_str(key)?
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| self.fail(key, "must be a date (YYYY-MM-DD)"))
            })
            .transpose()
    }

    pub fn opt_time(&self, key: &str) -> Result<Option<DateTime<FixedOffset>>, Rejection> {
        self.opt_str(key)?
            .map(|s| {
                DateTime::parse_from_rfc3339(s)
                    .map_err(|_| self.fail(key, "must be an RFC 3339 date-time with an offset"))
            })
            .transpose()
    }

    pub fn time(&self, key: &str) -> Result<DateTime<FixedOffset>, Rejection> {
        self.required(key)?;
        self.opt_time(key)?
            .ok_or_else(|| self.fail(key, "must not be empty"))
    }

    /// A string member that must be one of `allowed` (listed in the error).
    pub fn opt_enum<T>(
        &self,
        key: &str,
        parse: fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Result<Option<T>, Rejection> {
        self.opt_str(key)?
            .map(|s| parse(s).ok_or_else(|| self.fail(key, &format!("must be one of {allowed}"))))
            .transpose()
    }

    pub fn enumerated<T>(
        &self,
        key: &str,
        parse: fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Result<T, Rejection> {
        self.str(key)?;
        self.opt_enum(key, parse, allowed)?
            .ok_or_else(|| self.fail(key, "is required"))
    }

    pub fn object(&self, key: &str) -> Result<Fields<'a>, Rejection> {
        match self.required(key)? {
            Value::Object(map) => Ok(Fields {
                path: self.name(key),
                map,
            }),
            _ => Err(self.fail(key, "must be an object")),
        }
    }

    pub fn opt_object(&self, key: &str) -> Result<Option<Fields<'a>>, Rejection> {
        match self.present(key) {
            None => Ok(None),
            Some(_) => self.object(key).map(Some),
        }
    }

    fn opt_array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, Rejection> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(self.fail(key, "must be an array")),
        }
    }

    /// A required array of objects, each read with its index in the path.
    pub fn objects(&self, key: &str) -> Result<Vec<Fields<'a>>, Rejection> {
        self.required(key)?;
        let items = self.opt_array(key)?.map(Vec::as_slice).unwrap_or_default();
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{}[{i}]", self.name(key));
                match item {
                    Value::Object(map) => Ok(Fields { path, map }),
                    _ => Err(Rejection::invalid(path, "must be an object")),
                }
            })
            .collect()
    }

    pub fn opt_strings(&self, key: &str) -> Result<Option<Vec<String>>, Rejection> {
        let Some(items) = self.opt_array(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                _ => Err(Rejection::invalid(
                    format!("{}[{i}]", self.name(key)),
                    "must be a string",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub fn opt_enums<T>(
        &self,
        key: &str,
        parse: fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Result<Option<Vec<T>>, Rejection> {
        let Some(items) = self.opt_strings(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                parse(s).ok_or_else(|| {
                    Rejection::invalid(
                        format!("{}[{i}]", self.name(key)),
                        format!("must be one of {allowed}"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reason(r: Rejection) -> String {
        match r {
            Rejection::InvalidField { field, reason } => format!("{field}: {reason}"),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_the_nested_field() {
        let v = json!({"requestedTimes": [{"startTime": "2026-01-01T10:00:00-05:00"}, {"startTime": "tomorrow"}]});
        let f = Fields::root(&v).expect("object");
        let times = f.objects("requestedTimes").expect("array of objects");
        assert!(times[0].time("startTime").is_ok());
        let err = times[1].time("startTime").expect_err("bad time");
        assert_eq!(
            reason(err),
            "requestedTimes[1].startTime: must be an RFC 3339 date-time with an offset"
        );
    }

    #[test]
    fn a_time_without_an_offset_is_refused() {
        let v = json!({"t": "2026-01-01T10:00:00"});
        let f = Fields::root(&v).expect("object");
        assert!(f.time("t").is_err());
    }

    #[test]
    fn wrong_types_missing_members_and_nulls_are_told_apart() {
        let v = json!({"n": "3", "s": 3, "z": null, "b": "yes"});
        let f = Fields::root(&v).expect("object");
        assert_eq!(
            reason(f.opt_count("n").expect_err("string")),
            "n: must be a non-negative integer"
        );
        assert_eq!(
            reason(f.str("s").expect_err("number")),
            "s: must be a string"
        );
        assert_eq!(reason(f.str("z").expect_err("null")), "z: is required");
        assert_eq!(
            reason(f.str("missing").expect_err("absent")),
            "missing: is required"
        );
        assert_eq!(
            reason(f.opt_bool("b").expect_err("string")),
            "b: must be a boolean"
        );
        assert_eq!(f.opt_str("z").expect("null is absent"), None);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        assert!(parse_json(b"{").is_err());
        let v = parse_json(b"[1]").expect("json");
        assert_eq!(
            reason(Fields::root(&v).err().expect("array")),
            "body: must be a JSON object"
        );
    }
}
