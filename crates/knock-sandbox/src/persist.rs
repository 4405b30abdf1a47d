//! The sandbox's records kept in a file between starts (demo mode: `SandboxConfig::state_file`),
//! so that a restart of the demo still knows its prospects, appointments and visits. Written
//! whole after each call that may change them, atomically (a temporary file, then a rename);
//! read once at start. A file that cannot be read is renamed aside, said so, and the sandbox
//! starts empty: never a panic, never a silent overwrite.
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::records::{
    AppointmentRecord, EmailRecord, EventRecord, MessageRecord, ProspectRecord, RequestRecord,
    VisitRecord,
};

/// The file's format; another version is set aside like a corrupt file.
const VERSION: u32 = 1;

/// What is kept: the records and the id sequences. Not the communities (they come from the
/// configuration), nor faults or the clock (a test's, for one run).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Persisted {
    pub version: u32,
    pub prospects: Vec<ProspectRecord>,
    pub appointments: Vec<AppointmentRecord>,
    pub visits: Vec<VisitRecord>,
    pub emails: Vec<EmailRecord>,
    pub messages: Vec<MessageRecord>,
    pub events: Vec<EventRecord>,
    pub requests: VecDeque<RequestRecord>,
    pub next_prospect: u64,
    pub next_appointment: u64,
    pub next_visit: u64,
    pub next_communication: u64,
}

impl Persisted {
    pub fn current_version() -> u32 {
        VERSION
    }
}

/// What the start found in the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// No file configured: nothing is kept (tests, unless they ask).
    NotKept,
    /// No file yet: the sandbox starts empty and will write one.
    Fresh { file: PathBuf },
    /// The records of the last run.
    Loaded { file: PathBuf, prospects: usize },
    /// The file could not be read: renamed to `moved_to`, and the sandbox starts empty.
    SetAside {
        file: PathBuf,
        moved_to: PathBuf,
        reason: String,
    },
    /// The file could not be read nor moved: the sandbox starts empty and keeps nothing, so
    /// as not to overwrite it.
    Unreadable { file: PathBuf, reason: String },
}

impl std::fmt::Display for Restored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotKept => f.write_str("the Knock sandbox keeps nothing between starts"),
            Self::Fresh { file } => write!(
                f,
                "the Knock sandbox starts empty; its records will be kept in {}",
                file.display()
            ),
            Self::Loaded { file, prospects } => write!(
                f,
                "the Knock sandbox loaded {prospects} prospect(s) from {}",
                file.display()
            ),
            Self::SetAside {
                file,
                moved_to,
                reason,
            } => write!(
                f,
                "the Knock sandbox's state file {} could not be read ({reason}); it was moved \
                 to {} and the sandbox starts empty",
                file.display(),
                moved_to.display()
            ),
            Self::Unreadable { file, reason } => write!(
                f,
                "the Knock sandbox's state file {} could not be read nor moved aside \
                 ({reason}); the sandbox starts empty and keeps nothing this run",
                file.display()
            ),
        }
    }
}

/// Reads the state file: the records, or what happened instead. Sets an unreadable file aside.
pub(super) fn load(file: &Path) -> (Option<Persisted>, Restored) {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (
                None,
                Restored::Fresh {
                    file: file.to_owned(),
                },
            )
        }
        Err(e) => return set_aside(file, format!("cannot read it: {e}")),
    };
    match serde_json::from_slice::<Persisted>(&bytes) {
        Ok(p) if p.version == VERSION => {
            let prospects = p.prospects.len();
            (
                Some(p),
                Restored::Loaded {
                    file: file.to_owned(),
                    prospects,
                },
            )
        }
        Ok(p) => set_aside(file, format!("format version {}, not {VERSION}", p.version)),
        Err(e) => set_aside(file, format!("not the sandbox's JSON: {e}")),
    }
}

fn set_aside(file: &Path, reason: String) -> (Option<Persisted>, Restored) {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut name = file.file_name().unwrap_or_default().to_owned();
    name.push(format!(".corrupt-{stamp}"));
    let moved_to = file.with_file_name(name);
    match std::fs::rename(file, &moved_to) {
        Ok(()) => (
            None,
            Restored::SetAside {
                file: file.to_owned(),
                moved_to,
                reason,
            },
        ),
        Err(e) => (
            None,
            Restored::Unreadable {
                file: file.to_owned(),
                reason: format!("{reason}; moving it failed: {e}"),
            },
        ),
    }
}

/// The records as [`Persisted`] holds them, borrowed from the live state: written without
/// copying them first (the same JSON).
#[derive(Serialize)]
pub(super) struct PersistedRef<'a> {
    pub version: u32,
    pub prospects: &'a [ProspectRecord],
    pub appointments: &'a [AppointmentRecord],
    pub visits: &'a [VisitRecord],
    pub emails: &'a [EmailRecord],
    pub messages: &'a [MessageRecord],
    pub events: &'a [EventRecord],
    pub requests: &'a VecDeque<RequestRecord>,
    pub next_prospect: u64,
    pub next_appointment: u64,
    pub next_visit: u64,
    pub next_communication: u64,
}

/// Writes the records: a temporary file beside it, flushed, then renamed over the old one, so
/// that a crash leaves the old file or the new one, never half of one. `write` streams them
/// (a demo's records copied, or made one JSON buffer, each second were most of the process's
/// memory: BENCHMARKS.md); the caller may hold the state only for that step, not for the
/// disk's sync.
pub(super) fn save(
    file: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> serde_json::Result<()>,
) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut name = file.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    let tmp = file.with_file_name(name);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    write(&mut out).map_err(std::io::Error::other)?;
    out.flush()?;
    let out = out.into_inner().map_err(|e| e.into_error())?;
    out.sync_all()?;
    drop(out);
    std::fs::rename(&tmp, file)
}
