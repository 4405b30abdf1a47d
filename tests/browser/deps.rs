//! Chromium, chromedriver and axe-core: found, or installed once per test run, or a clear failure.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Deps {
    pub axe_source: String,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn axe_path() -> PathBuf {
    let dir = std::env::var_os("TOURGATE_TEST_DEPS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/test-deps"));
    let dir = if dir.is_absolute() {
        dir
    } else {
        repo().join(dir)
    };
    dir.join("node_modules/axe-core/axe.min.js")
}

fn missing() -> Vec<String> {
    [
        PathBuf::from(CHROMIUM),
        PathBuf::from(CHROMEDRIVER),
        axe_path(),
    ]
    .into_iter()
    .filter(|p| !p.exists())
    .map(|p| p.display().to_string())
    .collect()
}

fn install() -> Result<(), String> {
    let script = repo().join("scripts/install-test-deps.sh");
    let status = Command::new("bash")
        .arg(&script)
        .current_dir(repo())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", script.display()))
    }
}

fn find_or_install() -> Result<Deps, String> {
    if !missing().is_empty() {
        eprintln!(
            "browser tests: missing {}; running scripts/install-test-deps.sh",
            missing().join(", ")
        );
        install()?;
    }
    let still = missing();
    if !still.is_empty() {
        return Err(format!(
            "still missing after scripts/install-test-deps.sh: {}",
            still.join(", ")
        ));
    }
    let axe_source = std::fs::read_to_string(axe_path())
        .map_err(|e| format!("cannot read {}: {e}", axe_path().display()))?;
    Ok(Deps { axe_source })
}

/// Everything the browser tests need. Never skips: a machine without them fails loudly.
pub fn deps() -> &'static Deps {
    static DEPS: OnceLock<Result<Deps, String>> = OnceLock::new();
    match DEPS.get_or_init(find_or_install) {
        Ok(d) => d,
        Err(why) => panic!(
            "the browser tests need Chromium, chromedriver and axe-core: {why}. \
             Run `bash scripts/install-test-deps.sh` (as root, or with sudo available)."
        ),
    }
}
