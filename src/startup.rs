//! Builds the application from settings: database, Knock (real or the in-process sandbox),
//! the HTTP server and the background workers.
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web as actix, App, HttpServer};
use anyhow::Context;
use chrono::Utc;
use knock_sandbox::{Sandbox, SandboxCommunity, SandboxConfig};
use seam_sandbox::{RunningSeamSandbox, SeamSandbox, SeamSandboxConfig};
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;
use url::Url;

use crate::access::Access;
use crate::booking::{run_booking_worker, run_prune, run_window_sweep, BookingService};
use crate::config::{Communities, Settings};
use crate::demo::DemoStaff;
use crate::knock::{KnockClient, KnockClientConfig};
use crate::mail::{MailDesk, Mailer};
use crate::metrics::Metrics;
use crate::outbox::{run_outbox_worker, Outbox};
use crate::store::Store;
use crate::telemetry::RouteSpan;
use crate::web::{self, AppState};

pub struct Application {
    port: u16,
    server: Server,
    /// The metrics listener's server and port (`TOURGATE_METRICS_LISTEN`), unless `off`.
    metrics_server: Option<Server>,
    metrics_port: Option<u16>,
    pub settings: Arc<Settings>,
    pub store: Store,
    pub bookings: BookingService,
    pub outbox: Outbox,
    /// The in-process Knock sandbox in demo mode.
    pub sandbox: Option<(Sandbox, Url)>,
    /// The in-process Seam emulator (demo mode with a Seam lock and no `SEAM_ENDPOINT` or
    /// `SEAM_API_KEY`): it runs until the server stops.
    pub seam_sandbox: Option<RunningSeamSandbox>,
    /// The demo's staff account (demo mode, built by [`Application::build`] only).
    pub demo_staff: Option<DemoStaff>,
    stop_workers: CancellationToken,
}

impl Application {
    /// Binds the listener (port 0 picks a free one; read it back with `port()`), migrates the
    /// database and wires everything. Nothing is served until `run_until_stopped`.
    ///
    /// This is `tourgate serve`: in demo mode it keeps its secret key (unless
    /// `TOURGATE_SECRET_KEY` is set) and the Knock sandbox's records under the data directory,
    /// and makes sure the demo staff account exists (src/demo.rs).
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
        let mut sandbox = sandbox_config(&settings.communities, true);
        let demo = settings.demo();
        if demo {
            crate::demo::keep_key(&mut settings)?;
            sandbox.state_file = Some(crate::demo::sandbox_state_file(&settings));
        }
        Self::assemble(settings, sandbox, demo).await
    }

    /// As `build`, with the in-process Knock sandbox (demo mode only: no `KNOCK_BASE_URL`)
    /// configured by the caller rather than copied from our communities: tests use it to
    /// choose the sandbox's profile and to give Knock settings that differ from ours. It keeps
    /// nothing on disk and makes no demo account unless the caller's configuration asks.
    pub async fn build_with_sandbox(
        settings: Settings,
        sandbox_config: SandboxConfig,
    ) -> anyhow::Result<Self> {
        Self::assemble(settings, sandbox_config, false).await
    }

    async fn assemble(
        mut settings: Settings,
        sandbox_config: SandboxConfig,
        demo_account: bool,
    ) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        let store = Store::connect(&settings.database)
            .await
            .context("DATABASE_URL: cannot open the database")?;
        store.migrate().await.context("database migration failed")?;
        let demo_staff = match demo_account && settings.demo() {
            true => Some(
                crate::demo::ensure_staff(&store, &settings.communities, &settings.secret_key)
                    .await
                    .context("cannot create the demo staff account")?,
            ),
            false => None,
        };

        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("TOURGATE_LISTEN: cannot bind {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        if settings.public_url.port() == Some(0) {
            let _ = settings.public_url.set_port(Some(port));
        }

        let metrics_listener = settings
            .metrics_listen
            .map(|addr| {
                TcpListener::bind(addr).with_context(|| {
                    format!(
                        "TOURGATE_METRICS_LISTEN: cannot bind {addr} (set another address, or off)"
                    )
                })
            })
            .transpose()?;
        let metrics_port = metrics_listener
            .as_ref()
            .map(|l| l.local_addr().map(|a| a.port()))
            .transpose()?;

        let sandbox = match &settings.knock.base_url {
            Some(_) => None,
            None => Some(start_sandbox(sandbox_config)?),
        };
        let seam_sandbox = start_seam_sandbox(&mut settings, &listener)?;
        let base_url = match (&settings.knock.base_url, &sandbox) {
            (Some(url), _) => url.clone(),
            (None, Some((_, url))) => url.clone(),
            (None, None) => unreachable!("demo mode always starts the sandbox"),
        };
        let knock = KnockClient::new(
            KnockClientConfig {
                base_url,
                prospect_api_key: settings.knock.prospect_api_key.as_secret_string(),
                appointment_api_key: settings.knock.appointment_api_key.as_secret_string(),
                api_key_header: settings.knock.api_key_header.clone(),
                connect_timeout: settings.knock.connect_timeout,
                timeout: settings.knock.timeout,
            },
            metrics.clone(),
        )
        .context("KNOCK_BASE_URL: cannot build the Knock client")?;
        let outbox = Outbox::new(
            store.clone(),
            knock.clone(),
            settings.knock.timeout,
            &metrics,
        );
        let access = with_seam_locks(
            Access::codes(settings.secret_key.expose()),
            &settings,
            &store,
        )?;
        learn_locks(&access).await;
        if seam_sandbox.is_some() {
            // The emulator starts empty each time: what our grants say is on its lock is
            // set there again (src/demo.rs, "restart").
            crate::demo::reissue_seam_codes(&store, &access, &settings.communities, Utc::now())
                .await
                .context("cannot queue the demo's Seam codes again")?;
        }
        let outbox = outbox
            .with_mail(mail_desk(&settings, access.clone())?)
            .with_access(access.clone());
        let bookings = BookingService::new(
            store.clone(),
            knock,
            settings.knock.timeout,
            access,
            (settings.availability_fresh, settings.availability_stale),
        );

        let metrics_server = metrics_listener
            .map(|listener| metrics_server(listener, &metrics))
            .transpose()?;
        let settings = Arc::new(settings);
        let state = actix::Data::new(AppState {
            settings: settings.clone(),
            staff: crate::staff::StaffDesk::new(store.clone()),
            bookings: bookings.clone(),
            metrics,
            staff_sign_in: crate::staff::SignInLimits::new(),
            demo_staff: demo_staff.clone(),
            sandbox_view: sandbox
                .as_ref()
                .and_then(|(_, url)| url.join("_sandbox").ok()),
            seam_sandbox: seam_sandbox.as_ref().map(RunningSeamSandbox::sandbox),
        });
        let outbox_data = actix::Data::new(outbox.clone());
        let session_settings = settings.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(web::session(&session_settings))
                .wrap(web::security_headers(&session_settings))
                .wrap(from_fn(web::observe))
                .wrap(TracingLogger::<RouteSpan>::new())
                .app_data(state.clone())
                .app_data(outbox_data.clone())
                .app_data(web::form_config())
                .app_data(web::query_config())
                .configure(web::routes)
        })
        .listen(listener)?
        .run();

        let stop_workers = CancellationToken::new();
        if settings.workers {
            tokio::spawn(run_booking_worker(
                bookings.clone(),
                settings.communities.clone(),
                stop_workers.clone(),
            ));
            tokio::spawn(run_outbox_worker(outbox.clone(), stop_workers.clone()));
            tokio::spawn(run_window_sweep(bookings.clone(), stop_workers.clone()));
            tokio::spawn(run_prune(
                store.clone(),
                settings.retention,
                stop_workers.clone(),
            ));
        }
        Ok(Self {
            port,
            server,
            metrics_server,
            metrics_port,
            settings,
            store,
            bookings,
            outbox,
            sandbox,
            seam_sandbox,
            demo_staff,
            stop_workers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The metrics listener's port (`None` when `TOURGATE_METRICS_LISTEN=off`).
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|server| {
            let handle = server.handle();
            tokio::spawn(server);
            handle
        });
        let result = self.server.await;
        self.stop_workers.cancel();
        if let Some(seam) = self.seam_sandbox {
            seam.stop().await;
        }
        if let Some(handle) = metrics {
            handle.stop(true).await;
        }
        result
    }
}

/// `/metrics` on a listener of its own, as atuin's server does: one worker, no middleware
/// (its requests are not counted), stopped with the main server.
fn metrics_server(listener: TcpListener, metrics: &Metrics) -> anyhow::Result<Server> {
    let addr = listener.local_addr()?;
    let metrics = actix::Data::new(metrics.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .configure(web::metrics_listener_routes)
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .with_context(|| format!("TOURGATE_METRICS_LISTEN: cannot serve on {addr}"))?
    .run();
    tracing::info!(%addr, "metrics at http://{addr}/metrics");
    Ok(server)
}

/// Mail through `SMTP_URL`, else as `.eml` files under the data folder.
fn mail_desk(settings: &Settings, access: Access) -> anyhow::Result<MailDesk> {
    let mailer = match &settings.smtp_url {
        Some(url) => Mailer::smtp(url.expose()).context("SMTP_URL")?,
        None => Mailer::files(&settings.data_dir.join("mail")).context("TOURGATE_DATA_DIR")?,
    };
    let host = match settings.public_url.host() {
        Some(url::Host::Domain(d)) if d.contains('.') => d.to_string(),
        _ => "tourgate.localhost".to_string(),
    };
    let from = match &settings.mail_from {
        Some(from) => from.clone(),
        None => format!("Tourgate <tours@{host}>")
            .parse()
            .context("TOURGATE_PUBLIC_URL: no usable sender address for mail (set MAIL_FROM)")?,
    };
    Ok(MailDesk {
        mailer,
        communities: settings.communities.clone(),
        public_url: settings.public_url.clone(),
        from,
        access,
        proof: crate::access::EmailProof::new(settings.secret_key.expose()),
        knock_agent: settings.knock_agent_username.clone(),
    })
}

/// The Knock sandbox on its own loopback port, reached by the real client over HTTP.
fn start_sandbox(config: SandboxConfig) -> anyhow::Result<(Sandbox, Url)> {
    let sandbox = Sandbox::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind the Knock sandbox")?;
    let url = Url::parse(&format!("http://{}", listener.local_addr()?))?;
    let server = sandbox.start(listener)?;
    tokio::spawn(server);
    Ok((sandbox, url))
}

/// Demo mode with a Seam lock and neither `SEAM_ENDPOINT` nor `SEAM_API_KEY` set: the Seam
/// emulator on a loopback port of its own, in real time (its lifecycle and webhook deliveries
/// run every second, as `tourgate seam-sandbox` runs them), with a webhook to our own
/// `POST /callbacks/seam` under the demo's webhook secret; the Seam adapter is pointed at it.
/// Never outside demo mode.
fn start_seam_sandbox(
    settings: &mut Settings,
    listener: &TcpListener,
) -> anyhow::Result<Option<RunningSeamSandbox>> {
    let demo = settings.demo();
    let Some(seam) = settings
        .seam
        .as_mut()
        .filter(|s| demo && s.in_process_emulator)
    else {
        return Ok(None);
    };
    let callback = own_address(listener)?.join("callbacks/seam")?;
    let running = SeamSandbox::start(SeamSandboxConfig {
        api_key: seam.api_key.expose().to_string(),
        real_time_ticks: true,
        webhook: Some((
            callback.to_string(),
            seam.webhook_secret.expose().to_string(),
        )),
        ..SeamSandboxConfig::default()
    })
    .context("cannot start the Seam emulator")?;
    seam.endpoint = Url::parse(&running.base_url())?;
    tracing::info!(endpoint = %seam.endpoint, "the Seam emulator runs in the process");
    Ok(Some(running))
}

/// Our listener's address as this process reaches it (loopback for an unspecified address).
fn own_address(listener: &TcpListener) -> anyhow::Result<Url> {
    let mut addr = listener.local_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    Ok(Url::parse(&format!("http://{addr}/"))?)
}

/// Each configured community exists in the sandbox, with its zone, tour length and units, or
/// Knock's own where its `[community.sandbox]` table says they differ; the strict profile.
pub fn sandbox_config(communities: &Communities, html_view: bool) -> SandboxConfig {
    SandboxConfig {
        communities: communities
            .all()
            .iter()
            .map(|c| SandboxCommunity {
                opens: c.sandbox.opens,
                closes: c.sandbox.closes,
                min_notice_minutes: c.sandbox.min_notice_minutes,
                self_guided_may_overlap: c.sandbox.self_guided_may_overlap,
                reviews_requests: c.sandbox.reviews_requests,
                ..SandboxCommunity::new(
                    c.knock_community_id.clone(),
                    c.name.clone(),
                    c.sandbox.timezone.unwrap_or(c.timezone),
                    c.sandbox.tour_minutes.unwrap_or(c.tour_minutes),
                    c.sandbox.units.clone().unwrap_or_else(|| c.units.clone()),
                )
            })
            .collect(),
        html_view,
        ..SandboxConfig::default()
    }
}

/// The Seam adapter, when a community's lock is a Seam device (`SEAM_*` settings).
fn with_seam_locks(access: Access, settings: &Settings, store: &Store) -> anyhow::Result<Access> {
    let Some(seam) = &settings.seam else {
        return Ok(access);
    };
    let adapter = crate::access::Seam::new(seam)
        .map_err(|e| anyhow::anyhow!("SEAM_ENDPOINT: cannot build the Seam client: {e}"))?;
    Ok(access.with_seam(adapter, store.clone(), settings.communities.clone()))
}

/// What each Seam lock can do, read once before serving (briefly: Seam being down delays
/// nothing for long, and the sweep reads it again).
async fn learn_locks(access: &Access) {
    const AT_MOST: std::time::Duration = std::time::Duration::from_secs(5);
    if tokio::time::timeout(AT_MOST, access.learn_locks())
        .await
        .is_err()
    {
        tracing::warn!("Seam's device list not read at start: the sweep reads it again");
    }
}
