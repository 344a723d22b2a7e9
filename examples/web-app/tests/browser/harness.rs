//! chromedriver and Chromium for the browser test: found (or the test fails with how to
//! install them), started on a free loopback port, stopped on drop.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

/// Where Debian's packages `chromium` and `chromium-driver` put them; `CHROMIUM` and
/// `CHROMEDRIVER` override.
fn program(variable: &str, debian: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(debian), PathBuf::from);
    assert!(
        path.is_file(),
        "{} is missing: this test drives Debian's headless Chromium. Install it with \
         `apt-get update && apt-get install -y chromium chromium-driver` (.ci/run does), or set \
         CHROMIUM and CHROMEDRIVER to the browser and its driver",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

/// The test's scratch directory under `target/`.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running chromedriver, killed on drop.
pub(crate) struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    pub(crate) fn start() -> Self {
        let driver = program("CHROMEDRIVER", "/usr/bin/chromedriver");
        program("CHROMIUM", "/usr/bin/chromium");
        let port = free_port();
        let log = scratch("logs").join(format!("chromedriver-{port}.log"));
        let mut command = Command::new(driver);
        // Its own process group, which Chromium joins: dropping the driver ends them all,
        // even when a failing test never closed its browser session.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("chromedriver does not start: {error}"));
        let mut driver = Self { child, port };
        let started = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!("chromedriver exited with {status}; see {}", log.display());
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen on port {port} within 20 s; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver.port = port;
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group of the driver's process (its id): the driver and the browsers it started.
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session that reaches loopback only.
pub(crate) struct Browser;

impl Browser {
    pub(crate) async fn connect(driver: &Chromedriver) -> Client {
        let chromium = program("CHROMIUM", "/usr/bin/chromium");
        // One profile per browser: Chromium refuses to share one between two processes.
        let profile = scratch(&format!("profile-{}-{}", std::process::id(), driver.port));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1000,800",
            "--no-first-run",
            "--no-default-browser-check",
            // Nothing beyond loopback.
            "--no-proxy-server",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--disable-background-networking",
            "--dns-prefetch-disable",
            "--no-pings",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--disable-breakpad",
            "--metrics-recording-only",
            "--safebrowsing-disable-auto-update",
            "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
        ];
        let mut args: Vec<Value> = args.iter().map(|arg| Value::from(*arg)).collect();
        args.push(Value::from(format!(
            "--user-data-dir={}",
            profile.display()
        )));
        let capabilities = json!({
            "browserName": "chrome",
            "proxy": {"proxyType": "direct"},
            "goog:chromeOptions": {"binary": chromium, "args": args},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|error| panic!("chromedriver did not start Chromium: {error}"))
    }
}

/// Saves the page as `target/tmp/browser/screenshots/NAME.png`, for a reviewer to look at.
pub(crate) async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(scratch("screenshots").join(format!("{name}.png")), png).unwrap();
}
