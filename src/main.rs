//! The `tourgate` binary: a thin CLI over the library.
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use knock_sandbox::Sandbox;
use tourgate::config::{Communities, LogFormat, Settings};
use tourgate::staff as accounts;
use tourgate::startup::{sandbox_config, Application};
use tourgate::store::Store;

#[derive(Parser)]
#[command(
    name = "tourgate",
    version,
    about = "Self-guided apartment tours for Knock communities"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the application (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// List Knock deliveries or retry a dead one.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Run the Knock sandbox (an emulator of Knock's partner API) on its own.
    KnockSandbox {
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: std::net::SocketAddr,
        /// Communities file whose communities the sandbox knows (besides Knock's stage test community).
        #[arg(long, env = "TOURGATE_COMMUNITIES")]
        communities: Option<std::path::PathBuf>,
        /// How the sandbox answers where Knock's documents leave room (see the sandbox's rules.rs).
        #[arg(long, value_enum, default_value_t = SandboxProfile::Strict)]
        profile: SandboxProfile,
        /// APPOINTMENT_CREATED events carry the appointment's id in their data.
        #[arg(long)]
        events_name_appointment: bool,
    },
    /// Run the Seam sandbox (an emulator of Seam's smart-lock API) on its own.
    SeamSandbox {
        #[arg(long, default_value = "127.0.0.1:9091")]
        listen: std::net::SocketAddr,
        /// The Bearer key it accepts.
        #[arg(long, default_value = seam_sandbox::DEFAULT_API_KEY)]
        api_key: String,
    },
}

/// The sandbox's answer profiles (`knock_sandbox::Profile`), as the command line names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum SandboxProfile {
    /// API.md §11's recommended answers, every documented body (the default).
    Strict,
    /// Only what the articles show as required: `{}` to a visit, an e-mail log and a cancel.
    Sparse,
    /// The gateway's own answers: 401/403 for keys, 404 for unknown routes, no events feed.
    Gateway,
    /// The events feed lists only APPOINTMENT_CREATED.
    EventsAsDocumented,
}

impl From<SandboxProfile> for knock_sandbox::Profile {
    fn from(p: SandboxProfile) -> Self {
        match p {
            SandboxProfile::Strict => Self::Strict,
            SandboxProfile::Sparse => Self::Sparse,
            SandboxProfile::Gateway => Self::Gateway,
            SandboxProfile::EventsAsDocumented => Self::EventsAsDocumented,
        }
    }
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff member (password from TOURGATE_STAFF_PASSWORD, else a prompt).
    Add {
        #[arg(long)]
        email: String,
        /// A community slug this member may see; repeat for several.
        #[arg(long = "community")]
        communities: Vec<String>,
        /// Sees every community.
        #[arg(long)]
        admin: bool,
    },
    /// List staff members and their communities.
    List,
    /// Remove a staff member and end their sessions.
    Remove {
        #[arg(long)]
        email: String,
    },
    /// Give a staff member a community.
    Grant {
        #[arg(long)]
        email: String,
        #[arg(long)]
        community: String,
    },
    /// Take a community away from a staff member.
    Revoke {
        #[arg(long)]
        email: String,
        #[arg(long)]
        community: String,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// List deliveries, newest first.
    List {
        /// Only jobs in this state: pending, delivering, delivered or dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Move a dead delivery back to pending (due now, with a fresh retry window).
    Retry { id: i64 },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, naming what is wrong (configuration errors name their variable).
            eprintln!("tourgate: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each reason said once: an error whose message
/// already quotes its source (thiserror's `"{0}"` with `#[from]`) would otherwise print as
/// "X: X".
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::KnockSandbox {
            listen,
            communities,
            profile,
            events_name_appointment,
        } => {
            tourgate::telemetry::init(LogFormat::Text);
            let communities = match communities {
                Some(p) => Communities::load(&p)?,
                None => Communities::demo(),
            };
            let profile = knock_sandbox::Profile::from(profile);
            let sandbox = Sandbox::new(knock_sandbox::SandboxConfig {
                profile,
                events_name_appointment,
                ..sandbox_config(&communities, true)
            });
            let server = sandbox.start(std::net::TcpListener::bind(listen)?)?;
            println!(
                "Knock sandbox ({profile} profile) listening on http://{listen} (state: http://{listen}/_sandbox)"
            );
            server.await?;
            Ok(())
        }
        Command::SeamSandbox { listen, api_key } => {
            tourgate::telemetry::init(LogFormat::Text);
            seam_sandbox::serve_forever(seam_sandbox::SeamSandboxConfig {
                listen: Some(listen),
                api_key,
                ..Default::default()
            })
            .await?;
            Ok(())
        }
        Command::Migrate => {
            let settings = Settings::from_env()?;
            tourgate::telemetry::init(settings.log_format);
            let store = Store::connect(&settings.database).await?;
            store.migrate().await?;
            println!("migrations applied ({})", store.backend());
            Ok(())
        }
        Command::Staff { command } => staff(command).await,
        Command::Outbox { command } => {
            let settings = Settings::from_env()?;
            tourgate::telemetry::init(settings.log_format);
            let store = Store::connect(&settings.database).await?;
            store.migrate().await?;
            tourgate::outbox::cli::run(&store, command.into()).await
        }
        Command::Serve => {
            let settings = Settings::from_env()?;
            tourgate::telemetry::init(settings.log_format);
            tourgate::memory::start_trimming();
            let app = Application::build(settings).await?;
            announce(&app);
            app.run_until_stopped().await?;
            Ok(())
        }
    }
}

async fn staff(command: StaffCommand) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let store = Store::connect(&settings.database).await?;
    store.migrate().await?;
    let communities = &settings.communities;
    let done = match command {
        StaffCommand::Add {
            email,
            communities: slugs,
            admin,
        } => {
            let password = staff_password()?;
            let m =
                accounts::add_staff(&store, communities, &email, &password, &slugs, admin).await?;
            format!("added {}{}", m.email, describe_access(&m))
        }
        StaffCommand::List => {
            let all = accounts::list(&store).await?;
            for m in &all {
                println!("{}{}", m.email, describe_access(m));
            }
            format!("{} staff member(s)", all.len())
        }
        StaffCommand::Remove { email } => {
            format!("removed {}", accounts::remove(&store, &email).await?)
        }
        StaffCommand::Grant { email, community } => format!(
            "granted {community} to {}",
            accounts::grant(&store, communities, &email, &community).await?
        ),
        StaffCommand::Revoke { email, community } => format!(
            "revoked {community} from {}",
            accounts::revoke(&store, &email, &community).await?
        ),
    };
    store.close().await;
    println!("{done}");
    Ok(())
}

fn describe_access(m: &tourgate::staff::StaffMember) -> String {
    match (m.is_admin, m.communities.is_empty()) {
        (true, _) => " (admin: all communities)".into(),
        (false, true) => " (no communities)".into(),
        (false, false) => format!(" ({})", m.communities.join(", ")),
    }
}

/// TOURGATE_STAFF_PASSWORD, else asked twice on the terminal (not echoed).
fn staff_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("TOURGATE_STAFF_PASSWORD") {
        return Ok(p);
    }
    let first = rpassword::prompt_password("Password for the new staff member: ").map_err(|e| {
        anyhow::anyhow!("cannot read a password ({e}); set TOURGATE_STAFF_PASSWORD")
    })?;
    let again = rpassword::prompt_password("Same password again: ")
        .map_err(|e| anyhow::anyhow!("cannot read a password ({e})"))?;
    if first != again {
        anyhow::bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

fn announce(app: &Application) {
    let s = &app.settings;
    let base = s.public_url.as_str().trim_end_matches('/');
    tracing::info!(
        port = app.port(),
        database = app.store.backend(),
        "tourgate is serving"
    );
    let Some((sandbox, sandbox_url)) = &app.sandbox else {
        return;
    };
    println!("Tourgate demo is running. Start here: {base}/");
    for c in s.communities.all() {
        println!(
            "  Doorway link for {}: {base}{}",
            c.name,
            tourgate::demo::doorway_path(&c.slug)
        );
    }
    if s.smtp_url.is_none() {
        println!("  Mail sent to renters: {base}/sandbox/mail");
    }
    for c in s.communities.all() {
        println!("  Demo lock for {}: {base}/sandbox/lock/{}", c.name, c.slug);
    }
    if s.communities
        .all()
        .iter()
        .any(|c| c.access.valid_before >= tourgate::config::DEMO_EARLY_ACCESS)
    {
        println!("  (Door codes open the demo lock for any upcoming tour; the booking page shows the code once you open the link in the renter's mail.)");
    }
    println!("  Knock sandbox (what Knock received): {sandbox_url}_sandbox");
    if let Some(seam) = &app.seam_sandbox {
        let locks: Vec<&str> = s
            .communities
            .all()
            .iter()
            .filter(|c| c.lock.seam_device().is_some())
            .map(|c| c.name.as_str())
            .collect();
        println!(
            "  Seam emulator (the lock of {}): {}",
            locks.join(", "),
            seam.base_url()
        );
    }
    match &app.demo_staff {
        Some(staff) => println!(
            "  Staff area: {base}/staff (sign in as {} with password {})",
            staff.email,
            staff.password.expose()
        ),
        None => println!("  Staff area: {base}/staff"),
    }
    if std::env::var_os("ACCESS_WEBHOOK_SECRET").is_none() {
        println!(
            "  Access webhook secret (demo only): {}",
            s.access_webhook_secret.expose()
        );
    }
    if let tourgate::config::KeyOrigin::File(file) = &s.secret_key_origin {
        println!(
            "  Secret key kept in {} (door codes and staff sessions survive a restart)",
            file.display()
        );
    }
    println!("  Knock sandbox: {}", sandbox.restored());
}

impl From<OutboxCommand> for tourgate::outbox::cli::Command {
    fn from(c: OutboxCommand) -> Self {
        match c {
            OutboxCommand::List { state, limit } => Self::List { state, limit },
            OutboxCommand::Retry { id } => Self::Retry { id },
        }
    }
}
