//! Two instances of the app sharing their sessions in a real redis-server: a login through
//! one, the patient page and the refresh through the other, logout through the first.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smart_sandbox::{Sandbox, SandboxConfig, demo};
use smart_session::{RedisStore, SessionConfig, TokenStore};
use smart_web_app::{AppConfig, router};

use crate::harness::{Browser, Chromedriver, scratch, screenshot};
use crate::{TOKEN_LIFETIME, click, sign_in, text};

/// A redis-server on a free loopback port, without persistence, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(scratch("redis"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start redis-server ({error}): the Redis scenario (feature redis) needs it; install it with `apt-get install -y redis-server` (.ci/run does)"
                )
            });
        let started = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One instance of the app, its sessions in Redis.
async fn instance(sandbox: &Sandbox, redis: &RedisServer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let store: Arc<dyn TokenStore> =
        Arc::new(RedisStore::connect(&url, "web-app-test").await.unwrap());
    let mut config = AppConfig::new(crate::registry(sandbox, &app_url), &app_url).store(store);
    config.session = SessionConfig::new()
        .refresh_buffer(Duration::from_millis(250))
        .max_jitter(Duration::ZERO);
    tokio::spawn(async move { axum::serve(listener, router(config)).await });
    app_url
}

#[test]
fn two_instances_share_sessions_in_redis() {
    let redis = RedisServer::start();
    let driver = Chromedriver::start();
    let config = SandboxConfig::new()
        .login_and_consent(true)
        .access_token_lifetime(TOKEN_LIFETIME);
    let sandbox = Sandbox::start_with(config).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let first = instance(&sandbox, &redis).await;
        let second = instance(&sandbox, &redis).await;
        let browser = Browser::connect(&driver).await;
        browser
            .goto(&format!("{first}/login?ehr=sandbox"))
            .await
            .unwrap();
        sign_in(&browser, demo::PATIENT_USERNAME).await;
        click(&browser, "approve").await;
        assert_eq!(text(&browser, "patient-name").await, "Amy V. Shaw");

        // Cookies are per host, not per port: the second instance gets the same session id
        // and finds the session in Redis.
        browser.goto(&format!("{second}/")).await.unwrap();
        assert_eq!(text(&browser, "patient-name").await, "Amy V. Shaw");
        tokio::time::sleep(Duration::from_secs(TOKEN_LIFETIME + 2)).await;
        browser.refresh().await.unwrap();
        assert_eq!(text(&browser, "patient-name").await, "Amy V. Shaw");
        screenshot(&browser, "redis-second-instance").await;
        // The first instance uses the token the second one renewed: still one refresh.
        browser.goto(&format!("{first}/")).await.unwrap();
        assert_eq!(text(&browser, "patient-name").await, "Amy V. Shaw");
        let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
        assert_eq!(
            (
                counts.authorization_code,
                counts.refresh_token,
                counts.refused
            ),
            (1, 1, 0),
            "{counts:?}"
        );

        // Logout through the first: the second has no session either.
        click(&browser, "logout").await;
        assert_eq!(text(&browser, "signed-out").await, "Signed out");
        browser.goto(&format!("{second}/")).await.unwrap();
        assert_eq!(
            text(&browser, "login-sandbox").await,
            "Sign in with sandbox"
        );
        browser.close().await.unwrap();
    });
}
