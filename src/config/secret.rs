use secrecy::{ExposeSecret, SecretString};

/// A configuration secret: Debug and Display never show it, so it cannot reach a log line.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(SecretString::from(value))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn as_secret_string(&self) -> SecretString {
        self.0.clone()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_output_never_contains_the_secret() {
        let s = super::Secret::new("hunter2-hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
