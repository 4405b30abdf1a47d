//! One headless Chromium behind its own chromedriver, cleaned up even when a test fails.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tokio::sync::{Mutex, MutexGuard};

use crate::deps::{deps, CHROMEDRIVER, CHROMIUM};

/// Two cores: one browser at a time, whichever tests the harness runs in parallel.
static ONE_BROWSER_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const STARTUP_DEADLINE: Duration = Duration::from_secs(30);
pub const PAGE_DEADLINE: Duration = Duration::from_secs(15);

pub struct Browser {
    pub client: Client,
    process: Driver,
    height: u32,
    _turn: MutexGuard<'static, ()>,
}

/// The chromedriver process group (Chromium runs inside it) and the session to end.
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // A failed test unwinds here without an async runtime to close the session politely:
        // end it with a plain HTTP request, then stop the whole process group we started.
        if let Some(id) = self.session.take() {
            delete_session(self.port, &id);
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn delete_session(port: u16, id: &str) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /session/{id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(request.as_bytes()).is_ok() {
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port for chromedriver")
}

async fn wait_until_ready(port: u16, child: &mut Child) {
    let url = format!("http://127.0.0.1:{port}/status");
    let deadline = Instant::now() + STARTUP_DEADLINE;
    loop {
        if let Ok(r) = reqwest::get(&url).await {
            if r.status().is_success() {
                return;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("chromedriver exited before it was ready ({status})");
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer on port {port} within {STARTUP_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Browser {
    /// Chromium with a fresh profile and a `width`x`height` viewport.
    pub async fn start(width: u32, height: u32) -> Self {
        deps();
        let turn = ONE_BROWSER_AT_A_TIME.lock().await;
        let port = free_port();
        let profile = std::env::temp_dir().join(format!(
            "tourgate-chromium-{}",
            crate::helpers::random_name()
        ));
        std::fs::create_dir_all(&profile).expect("a temporary Chromium profile folder");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that one signal ends chromedriver and its Chromium.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let mut process = Driver {
            child,
            port,
            session: None,
            profile,
        };
        wait_until_ready(port, &mut process.child).await;

        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--hide-scrollbars".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", process.profile.display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let Value::Object(caps) = caps else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session: {e}"));
        process.session = client.session_id().await.ok().flatten();
        let browser = Self {
            client,
            process,
            height,
            _turn: turn,
        };
        browser.resize(width, height).await;
        browser
    }

    /// Ends the session; the process group goes with the guard.
    pub async fn close(mut self) {
        let client = self.client.clone();
        if client.close().await.is_ok() {
            self.process.session = None;
        }
    }

    /// Sets the layout viewport to exactly `width`x`height` CSS pixels, as a phone or a desktop
    /// would have it (headless windows cannot be narrower than 500 px, emulation can).
    pub async fn resize(&self, width: u32, height: u32) {
        let mobile = width < 768;
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width, "height": height, "screenWidth": width, "screenHeight": height,
                "deviceScaleFactor": 1, "mobile": mobile,
            }),
        )
        .await;
        self.cdp(
            "Emulation.setTouchEmulationEnabled",
            json!({ "enabled": mobile, "maxTouchPoints": if mobile { 5 } else { 1 } }),
        )
        .await;
        self.assert_page_fits_the_device().await;
    }

    /// The layout viewport is the device's width (the meta viewport tag is honoured); pages
    /// without the tag (about:blank) are let be.
    async fn assert_page_fits_the_device(&self) {
        let v = self
            .js("const wide = [...document.body.querySelectorAll('*')]
                     .filter(e => e.getBoundingClientRect().right > screen.width)
                     .slice(0, 5).map(e => e.outerHTML.slice(0, 120));
                 return [!!document.querySelector('meta[name=viewport]'), window.innerWidth,
                         screen.width, wide]")
            .await;
        if v[0].as_bool() == Some(true) {
            assert_eq!(
                v[1], v[2],
                "the page is laid out {} px wide on a {} px device: something is too wide, \
                 so a phone would zoom out or scroll sideways; wider than the device: {}",
                v[1], v[2], v[3]
            );
        }
    }

    /// A Chrome DevTools command through chromedriver's own endpoint for it.
    async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let id = self.process.session.as_deref().expect("an open session");
        let url = format!(
            "http://127.0.0.1:{}/session/{id}/goog/cdp/execute",
            self.process.port
        );
        let r = reqwest::Client::new()
            .post(&url)
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{cmd} failed: {status} {body}");
        body
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        self.assert_page_fits_the_device().await;
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element matches {css:?}: {e}"))
    }

    /// Waits for the next page to show `css` (after a click that navigates).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("cannot search for {css:?}: {e}"))
    }

    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PAGE_DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css:?} did not appear within {PAGE_DEADLINE:?}: {e}"))
    }

    /// Finds `css` and clicks it, as a tap or a mouse click does.
    pub async fn tap(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("tap {css:?}: {e}"));
    }

    /// Opens `url` again and again until `script` returns true there, for work done in the
    /// background (Knock deliveries); fails after [`PAGE_DEADLINE`] saying `what` was awaited.
    pub async fn reload_until(&self, url: &str, script: &str, what: &str) {
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            self.goto(url).await;
            if self.js(script).await == Value::Bool(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not seen at {url} within {PAGE_DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    pub async fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css:?}: {e}"))
    }

    /// Presses keys one after another, as a person on a keyboard would.
    pub async fn press(&self, keys: &[char]) {
        let mut actions = KeyActions::new("keyboard".into());
        for &k in keys {
            actions = actions
                .then(KeyAction::Down { value: k })
                .then(KeyAction::Up { value: k });
        }
        self.client
            .perform_actions(actions)
            .await
            .expect("keyboard actions");
    }

    pub async fn type_text(&self, text: &str) {
        let keys: Vec<char> = text.chars().collect();
        self.press(&keys).await;
    }

    /// A short description of the focused element, e.g. `input#email` or `input[name=start]`.
    pub async fn focused(&self) -> String {
        let v = self
            .js("const e = document.activeElement; if (!e) return '';
                 return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                   (e.name ? '[name=' + e.name + ']' : '');")
            .await;
        v.as_str().unwrap_or_default().to_string()
    }

    /// The whole page as a PNG under target/browser-artifacts/ (for people; never asserted on).
    pub async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
        std::fs::create_dir_all(&dir).expect("target/browser-artifacts");
        let (w, _) = self.viewport().await;
        let full = self
            .js("return Math.ceil(document.documentElement.scrollHeight)")
            .await
            .as_u64()
            .unwrap_or(u64::from(self.height))
            .clamp(200, 6000) as u32;
        self.resize(w, full).await;
        let png = self.client.screenshot().await.expect("a screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
        self.resize(w, self.height).await;
    }

    pub async fn viewport(&self) -> (u32, u32) {
        let v = self
            .js("return [window.innerWidth, window.innerHeight]")
            .await;
        (
            v[0].as_u64().unwrap_or(0) as u32,
            v[1].as_u64().unwrap_or(0) as u32,
        )
    }
}
