//! `tourgate outbox list [--state dead]` and `tourgate outbox retry ID`.
use std::fmt::Write;

use anyhow::{bail, Context};
use chrono::Utc;

use super::{retry_dead, Actor, JobState, OutboxJob};
use crate::store::Store;

pub enum Command {
    List { state: Option<String>, limit: i64 },
    Retry { id: i64 },
}

pub async fn run(store: &Store, command: Command) -> anyhow::Result<()> {
    match command {
        Command::List { state, limit } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(JobState::parse(s).with_context(|| {
                    format!("--state: `{s}` is not pending, delivering, delivered, skipped or dead")
                })?),
            };
            let jobs = store.outbox_jobs(state, limit.clamp(1, 10_000)).await?;
            print!("{}", table(&jobs));
            Ok(())
        }
        Command::Retry { id } => {
            let now = Utc::now();
            if retry_dead(store, id, Actor::Cli, now).await? {
                println!("delivery {id} is pending again; a running worker picks it up");
                Ok(())
            } else {
                match store.outbox_job(id).await? {
                    None => bail!("no delivery {id}"),
                    Some(job) => bail!(
                        "delivery {id} is {}, not dead: nothing to retry",
                        job.state.as_str()
                    ),
                }
            }
        }
    }
}

/// One line per job; the error column shows Knock's own message when it refused.
pub fn table(jobs: &[OutboxJob]) -> String {
    let mut out = format!(
        "{:>6}  {:<18}  {:<19}  {:<10}  {:>8}  {:<20}  {}\n",
        "id", "kind", "booking", "state", "attempts", "next attempt (UTC)", "error"
    );
    for j in jobs {
        let error = j
            .knock_error_message
            .as_deref()
            .or(j.last_error.as_deref())
            .unwrap_or("");
        let next = match j.state {
            JobState::Pending => j.next_attempt_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:>6}  {:<18}  {:<19}  {:<10}  {:>8}  {:<20}  {}",
            j.id,
            j.kind.as_str(),
            j.booking_id.as_str(),
            j.state.as_str(),
            j.attempts,
            next,
            error.replace('\n', " ")
        );
    }
    out
}
