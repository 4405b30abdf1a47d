//! Process-wide memory settings for `serve`.

/// How often free memory is handed back to the OS.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// glibc's malloc gives each thread that contends an arena of its own (up to eight per core)
/// and keeps what is freed there for reuse: under load, each arena holds on to its own peak.
/// Two arenas kept the benchmark's peak RSS 7-9 MB lower, but a thread keeps the arena it drew
/// first, and in some starts both HTTP workers drew the same one (pages a fifth slower in
/// that process: BENCHMARKS.md). So the arenas stay as glibc makes them, and a thread of its
/// own hands free pages back every second (`malloc_trim`): the peak stays within about 2 MB of
/// two arenas', and no start is slow. An operator's `MALLOC_ARENA_MAX` (which glibc reads
/// itself) still stands.
pub fn start_trimming() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let spawned = std::thread::Builder::new()
            .name("malloc-trim".into())
            .spawn(|| loop {
                std::thread::sleep(TRIM_EVERY);
                // SAFETY: malloc_trim only returns free memory to the OS; any thread may call
                // it at any time.
                unsafe {
                    libc::malloc_trim(0);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the malloc trim thread: memory is given back less often");
        }
    }
}
