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

/// Where the key for cookies, door codes and proofs of e-mail came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `TOURGATE_SECRET_KEY`.
    Configured,
    /// Demo mode without one: random for this process (tests, and commands that sign nothing).
    Random,
    /// Demo mode, `tourgate serve`: generated once under the data directory and read back, so
    /// that a restart keeps door codes and staff sessions.
    File(std::path::PathBuf),
}

/// A kept key that cannot be used, naming its file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{0}: cannot read the demo's secret key ({1})")]
    Read(std::path::PathBuf, std::io::Error),
    #[error(
        "{0}: the demo's secret key is shorter than 32 characters; delete the file to start \
         with a new key (every door code and staff session changes)"
    )]
    TooShort(std::path::PathBuf),
    #[error("{0}: cannot write the demo's secret key ({1})")]
    Write(std::path::PathBuf, std::io::Error),
}

/// The demo's key in `file`: read back if there, else generated (64 random bytes, base64) and
/// written once, readable by its owner only (0600). Written beside and linked into place, so
/// that two starts at once agree on one key and a crash leaves no half-written one.
pub fn kept_key(file: &std::path::Path) -> Result<Secret, KeyFileError> {
    use base64::Engine;
    match std::fs::read_to_string(file) {
        Ok(text) => return checked(file, text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(KeyFileError::Read(file.to_owned(), e)),
    }
    let write = |e| KeyFileError::Write(file.to_owned(), e);
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write)?;
    }
    let key = base64::engine::general_purpose::STANDARD.encode(super::random_bytes::<64>());
    let mut name = file.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    let tmp = file.with_file_name(name);
    let written = write_private(&tmp, key.as_bytes()).and_then(|()| std::fs::hard_link(&tmp, file));
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(Secret::new(key)),
        // Another start won the race: its key is the one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| KeyFileError::Read(file.to_owned(), e))?;
            checked(file, text)
        }
        Err(e) => Err(write(e)),
    }
}

fn checked(file: &std::path::Path, text: String) -> Result<Secret, KeyFileError> {
    let key = text.trim();
    if key.len() < 32 {
        return Err(KeyFileError::TooShort(file.to_owned()));
    }
    Ok(Secret::new(key.to_string()))
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod kept_key_tests {
    use super::*;

    fn temp_file() -> std::path::PathBuf {
        let n: u64 = rand::random();
        std::env::temp_dir()
            .join(format!("tourgate-key-{n:016x}"))
            .join("secret-key")
    }

    #[test]
    fn a_kept_key_is_written_once_private_and_read_back() {
        let file = temp_file();
        let first = kept_key(&file).unwrap();
        assert!(first.expose().len() >= 64);
        assert_eq!(kept_key(&file).unwrap().expose(), first.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(file.parent().unwrap());
    }

    #[test]
    fn a_short_kept_key_is_refused_naming_the_file() {
        let file = temp_file();
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "short\n").unwrap();
        let e = kept_key(&file).expect_err("refused").to_string();
        assert!(e.contains(&file.display().to_string()), "{e}");
        assert!(e.contains("shorter than 32"), "{e}");
        let _ = std::fs::remove_dir_all(file.parent().unwrap());
    }
}
