//! How mail leaves: real SMTP through lettre, or files for the demo and for development.
use std::path::{Path, PathBuf};

use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Each message written as `<uuid>.eml` in this folder.
    Files(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP_URL is not usable: {0}")]
    Config(String),
    /// Worth retrying: the server or the network failed for now.
    #[error("sending failed for now: {0}")]
    Transient(String),
    /// The server refused the message for good (e.g. a 5xx to RCPT TO).
    #[error("the mail server refused the message: {0}")]
    Permanent(String),
    #[error("the message could not be built: {0}")]
    Build(String),
}

impl Mailer {
    /// `smtps://user:pass@host` (TLS from the start) or `smtp://user:pass@host:587`, where
    /// STARTTLS is required unless the URL says otherwise (`?tls=opportunistic`) or the server
    /// is on this machine (a local relay or a test server).
    pub fn smtp(url: &str) -> Result<Self, MailError> {
        let url = with_starttls_default(url)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| MailError::Config(e.to_string()))?
            .build();
        Ok(Self::Smtp(transport))
    }

    pub fn files(dir: &Path) -> Result<Self, MailError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| MailError::Config(format!("{}: {e}", dir.display())))?;
        Ok(Self::Files(dir.to_path_buf()))
    }

    pub async fn send(&self, message: Message) -> Result<(), MailError> {
        match self {
            Self::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    MailError::Permanent(e.to_string())
                } else {
                    MailError::Transient(e.to_string())
                }
            }),
            Self::Files(dir) => AsyncFileTransport::<Tokio1Executor>::new(dir)
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Transient(e.to_string())),
        }
    }
}

fn with_starttls_default(raw: &str) -> Result<String, MailError> {
    let mut url = url::Url::parse(raw).map_err(|e| MailError::Config(e.to_string()))?;
    let has_tls = url.query_pairs().any(|(k, _)| k == "tls");
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() == "smtp" && !has_tls && !local {
        url.query_pairs_mut().append_pair("tls", "required");
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::with_starttls_default;

    #[test]
    fn remote_smtp_requires_starttls_unless_told_otherwise() {
        assert_eq!(
            with_starttls_default("smtp://u:p@mail.example:587").unwrap(),
            "smtp://u:p@mail.example:587?tls=required"
        );
        assert_eq!(
            with_starttls_default("smtp://mail.example?tls=opportunistic").unwrap(),
            "smtp://mail.example?tls=opportunistic"
        );
        assert_eq!(
            with_starttls_default("smtp://127.0.0.1:2525").unwrap(),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(
            with_starttls_default("smtps://mail.example").unwrap(),
            "smtps://mail.example"
        );
    }
}
