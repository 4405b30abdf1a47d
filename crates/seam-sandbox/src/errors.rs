//! Seam's error envelope (PROVIDERS.md §1.1, §4.4 items 2–4): every refusal the emulator gives,
//! with its HTTP status and `error.type`, in one place. Types marked INF are not documented
//! anywhere we could read; they are our best guess and may change.
use actix_web::http::StatusCode;
use serde_json::{json, Map, Value};

/// One refusal: the status and the `error` object of Seam's envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct SeamError {
    pub status: StatusCode,
    /// `error.type`.
    pub kind: &'static str,
    pub message: String,
    /// Seconds, sent as `Retry-After` (429).
    pub retry_after: Option<u64>,
    details: Option<Box<Details>>,
}

/// The rarer parts of an error, boxed so that `Result<_, SeamError>` stays small.
#[derive(Debug, Clone, PartialEq, Default)]
struct Details {
    /// `error.validation_errors`, for `invalid_input`: `{param: {"_errors": [..]}}`.
    validation_errors: Option<Map<String, Value>>,
    /// `error.data`.
    data: Option<Value>,
}

impl std::fmt::Display for SeamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.kind,
            self.message
        )
    }
}

impl std::error::Error for SeamError {}

impl SeamError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            message: message.into(),
            retry_after: None,
            details: None,
        }
    }

    /// `error.validation_errors`, if any.
    pub fn validation_errors(&self) -> Option<&Map<String, Value>> {
        self.details.as_ref()?.validation_errors.as_ref()
    }

    /// Missing or unknown key (S-JS error-interceptor maps 401 to `unauthorized`).
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
    }

    /// One parameter wrong; `invalid_input` with `validation_errors.<param>._errors`.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        let mut errors = Validation::default();
        errors.add(param, message);
        errors
            .into_error()
            .unwrap_or_else(|| Self::bad_input("invalid input"))
    }

    /// `invalid_input` without a single parameter to blame (a bad body, a rule across fields).
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    pub fn device_not_found(device_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "device_not_found",
            format!("Device not found: {device_id}"),
        )
    }

    pub fn access_code_not_found(access_code_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "access_code_not_found",
            format!("Access code not found: {access_code_id}"),
        )
    }

    /// The fake's `not_found` for other resources (S-FAKE).
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn duplicate_access_code() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "duplicate_access_code",
            "An access code with this code already exists on the device for an overlapping time frame",
        )
    }

    /// INF: Seam documents 429 but not its `type`.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests for this device, retry later",
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// INF: an unknown route.
    pub fn unknown_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No route {path}"),
        )
    }

    /// INF: a method the route does not take.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed on {path}"),
        )
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.details.get_or_insert_with(Default::default).data = Some(data);
        self
    }

    /// `{"error": {...}}` with the request's id.
    pub fn body(&self, request_id: &str) -> Value {
        let mut error = Map::new();
        error.insert("type".into(), json!(self.kind));
        error.insert("message".into(), json!(self.message));
        error.insert("request_id".into(), json!(request_id));
        if let Some(data) = self.details.as_ref().and_then(|d| d.data.as_ref()) {
            error.insert("data".into(), data.clone());
        }
        if let Some(validation) = self.validation_errors() {
            error.insert(
                "validation_errors".into(),
                Value::Object(validation.clone()),
            );
        }
        json!({ "error": error })
    }
}

/// Collects every parameter's problem, so one answer names them all (as Seam's zod does).
#[derive(Debug, Default)]
pub struct Validation {
    errors: Map<String, Value>,
    first: Option<String>,
}

impl Validation {
    pub fn add(&mut self, param: &str, message: impl Into<String>) {
        let message = message.into();
        if self.first.is_none() {
            self.first = Some(format!("{param}: {message}"));
        }
        let entry = self
            .errors
            .entry(param.to_owned())
            .or_insert_with(|| json!({ "_errors": [] }));
        if let Some(list) = entry.get_mut("_errors").and_then(Value::as_array_mut) {
            list.push(json!(message));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// None when nothing was wrong.
    pub fn into_error(self) -> Option<SeamError> {
        let first = self.first?;
        let mut error = SeamError::bad_input(format!("Invalid input: {first}"));
        error.details = Some(Box::new(Details {
            validation_errors: Some(self.errors),
            data: None,
        }));
        Some(error)
    }

    pub fn finish(self) -> Result<(), SeamError> {
        match self.into_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
