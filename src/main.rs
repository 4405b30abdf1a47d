//! The `tourgate` binary: a thin CLI over the library.
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tourgate::config::{Communities, LogFormat, Settings};
use tourgate::knock::sandbox::Sandbox;
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
            eprintln!("tourgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::KnockSandbox {
            listen,
            communities,
        } => {
            tourgate::telemetry::init(LogFormat::Text);
            let communities = match communities {
                Some(p) => Communities::load(&p)?,
                None => Communities::demo(),
            };
            let sandbox = Sandbox::new(sandbox_config(&communities, true));
            let server = sandbox.start(std::net::TcpListener::bind(listen)?)?;
            println!(
                "Knock sandbox listening on http://{listen} (state: http://{listen}/_sandbox)"
            );
            server.await?;
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
            let app = Application::build(settings).await?;
            announce(&app);
            app.run_until_stopped().await?;
            Ok(())
        }
    }
}

fn announce(app: &Application) {
    let s = &app.settings;
    let base = s.public_url.as_str().trim_end_matches('/');
    tracing::info!(
        port = app.port(),
        database = app.store.backend(),
        "tourgate is serving"
    );
    if let Some((_, sandbox_url)) = &app.sandbox {
        println!("Tourgate demo is running.");
        for c in s.communities.all() {
            println!(
                "  Doorway link for {}: {base}/tours/{}?utm_knock_source_title=Zillow%20Self%20Tour%20%26%20Co",
                c.name, c.slug
            );
        }
        println!(
            "  Knock sandbox (what Knock received): {}_sandbox",
            sandbox_url
        );
        for c in s.communities.all() {
            println!("  Demo lock for {}: {base}/sandbox/lock/{}", c.name, c.slug);
        }
        if std::env::var_os("ACCESS_WEBHOOK_SECRET").is_none() {
            println!(
                "  Access webhook secret (demo only): {}",
                s.access_webhook_secret.expose()
            );
        }
    }
}

impl From<OutboxCommand> for tourgate::outbox::cli::Command {
    fn from(c: OutboxCommand) -> Self {
        match c {
            OutboxCommand::List { state, limit } => Self::List { state, limit },
            OutboxCommand::Retry { id } => Self::Retry { id },
        }
    }
}
