//! The Redis store on a real redis-server, started for each test on a free loopback port in
//! a temporary directory: the store contract, 2 processes × 32 tasks sharing one session, a
//! process killed while holding the lease mid-refresh, and Redis restarted mid-run.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smart_client::token::scope::ScopeSet;
use smart_client::token::{RefreshToken, TokenResponse};
use smart_client::{AsyncSmartClient, ClientError};
use smart_sandbox::{SandboxConfig, demo};
use smart_session::{
    AsyncSession, AsyncTokenSource, RedisStore, SessionConfig, SessionError, StoreError, TokenStore,
};

use crate::{asynchronous, client_from, launch, public_client, sandbox};

/// A redis-server of this test run: its own port and directory, stopped and removed on drop.
struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("smart-session-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = Self {
            child: None,
            port,
            dir,
        };
        server.run();
        server
    }

    /// Starts redis-server (again) on the same port and directory; its append-only file
    /// keeps the data across restarts.
    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start redis-server ({error}): the Redis tests need it; install it with `apt-get install -y redis-server` (.ci/run does)"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Short real lifetimes: 4 s tokens renewed 0.75-1.5 s before expiry.
fn short_config() -> SessionConfig {
    SessionConfig::new()
        .refresh_buffer(Duration::from_millis(1500))
        .lease_ttl(Duration::from_secs(2))
        .lease_wait(Duration::from_secs(10))
        .wait_timeout(Duration::from_secs(15))
}

#[test]
fn the_redis_store_keeps_the_contract() {
    let server = RedisServer::start();
    runtime().block_on(async {
        let store = RedisStore::connect(&server.url(), "contract")
            .await
            .unwrap();
        crate::stores::contract(&store, "user-1").await;
        // Namespaces keep apart.
        let other = RedisStore::connect(&server.url(), "other").await.unwrap();
        store
            .compare_and_swap("k", None, b"x", None, None)
            .await
            .unwrap();
        assert!(other.load("k").await.unwrap().is_none());
    });
    // The blocking face, on the store's own runtime.
    let blocking = RedisStore::connect_blocking(&server.url(), "blocking").unwrap();
    assert!(
        blocking
            .acquire_lease("k", Duration::from_secs(1))
            .unwrap()
            .is_some()
    );
}

/// The role of a child process, read from the environment; `None` in a normal test run.
fn child_role() -> Option<String> {
    std::env::var("SMART_SESSION_CHILD").ok()
}

fn spawn_child(role: &str, sandbox_url: &str, redis_url: &str, extra: &[(&str, &str)]) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "redis::child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SMART_SESSION_CHILD", role)
        .env("SMART_SESSION_SANDBOX", sandbox_url)
        .env("SMART_SESSION_REDIS", redis_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in extra {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

/// A source that announces the refresh and then stalls, so the parent can kill the process
/// while it holds the lease mid-refresh (before the refresh token is sent).
struct Stall;

impl AsyncTokenSource for Stall {
    async fn refresh(
        &self,
        _refresh_token: &RefreshToken,
        _scope: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError> {
        println!("REFRESHING");
        std::io::Write::flush(&mut std::io::stdout()).unwrap();
        tokio::time::sleep(Duration::from_secs(120)).await;
        unreachable!("killed before this")
    }

    async fn client_credentials(
        &self,
        _scopes: Option<&ScopeSet>,
    ) -> Result<TokenResponse, ClientError> {
        unreachable!("not a backend test")
    }
}

/// Not a test of its own: the entry point of the child processes the tests below spawn
/// (it returns at once in a normal run).
#[test]
fn child_process() {
    let Some(role) = child_role() else { return };
    let sandbox_url = std::env::var("SMART_SESSION_SANDBOX").unwrap();
    let redis_url = std::env::var("SMART_SESSION_REDIS").unwrap();
    runtime().block_on(async {
        let store: Arc<dyn TokenStore> =
            Arc::new(RedisStore::connect(&redis_url, "multi").await.unwrap());
        match role.as_str() {
            "worker" => {
                let client = asynchronous(&client_from(&sandbox_url, None));
                let session = Arc::new(
                    AsyncSession::restore(client, store, "user-1", short_config())
                        .await
                        .unwrap(),
                );
                let seconds: u64 = std::env::var("SMART_SESSION_SECONDS")
                    .unwrap()
                    .parse()
                    .unwrap();
                let until = Instant::now() + Duration::from_secs(seconds);
                let tasks: Vec<_> = (0..32)
                    .map(|_| {
                        let session = Arc::clone(&session);
                        tokio::spawn(async move {
                            let mut errors = 0;
                            while Instant::now() < until {
                                if let Err(error) = session.access_token().await {
                                    eprintln!("worker error: {error}");
                                    errors += 1;
                                }
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            errors
                        })
                    })
                    .collect();
                let mut errors = 0;
                for task in tasks {
                    errors += task.await.unwrap();
                }
                println!("ERRORS {errors}");
            }
            "stall" => {
                let session = AsyncSession::restore(Stall, store, "user-1", short_config())
                    .await
                    .unwrap();
                let current = session.token().unwrap().access_token().clone();
                let _ = session.force_refresh(&current).await;
            }
            other => panic!("unknown child role {other}"),
        }
    });
}

#[test]
fn two_processes_of_32_tasks_refresh_as_one_caller_would() {
    if child_role().is_some() {
        return;
    }
    let server = RedisServer::start();
    let sandbox = sandbox(None, SandboxConfig::new().access_token_lifetime(4));
    let client = public_client(&sandbox, None);
    let token = launch(&client, None);
    let rt = runtime();
    rt.block_on(async {
        let store: Arc<dyn TokenStore> =
            Arc::new(RedisStore::connect(&server.url(), "multi").await.unwrap());
        AsyncSession::create(
            asynchronous(&client),
            token,
            store,
            "user-1",
            short_config(),
        )
        .await
        .unwrap();
    });
    let started = Instant::now();
    let seconds = 9;
    let children: Vec<_> = (0..2)
        .map(|_| {
            spawn_child(
                "worker",
                sandbox.base_url(),
                &server.url(),
                &[("SMART_SESSION_SECONDS", "9")],
            )
        })
        .collect();
    for mut child in children {
        let stdout = BufReader::new(child.stdout.take().unwrap());
        // Read it all (the child writes on after its report).
        let lines: Vec<String> = stdout.lines().map_while(Result::ok).collect();
        let errors = lines
            .iter()
            // libtest writes `test redis::child_process ... ` before the test's own output.
            .find_map(|line| line.split("ERRORS ").nth(1).map(str::to_owned))
            .expect("the child reports its errors");
        assert!(child.wait().unwrap().success());
        assert_eq!(errors, "0", "a worker's calls failed");
    }
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    // One caller alone renews a 4 s token every 2.5-3.25 s: over 9 s (plus start-up),
    // between 2 and 4 refreshes. Two uncoordinated processes would double that, and with
    // rotation answer invalid_grant.
    let most = elapsed_ms.div_ceil(2500);
    eprintln!(
        "2 processes x 32 tasks: {} refreshes in {elapsed:.1} s, {} invalid_grant",
        counts.refresh_token, counts.invalid_grant
    );
    assert!(
        (seconds / 4..=most).contains(&counts.refresh_token),
        "{} refreshes in {elapsed:.1} s",
        counts.refresh_token
    );
    assert_eq!(counts.invalid_grant, 0);
}

#[test]
fn a_process_killed_mid_refresh_loses_no_refresh_token() {
    if child_role().is_some() {
        return;
    }
    let server = RedisServer::start();
    let sandbox = sandbox(None, SandboxConfig::new());
    let client = Arc::new(public_client(&sandbox, None));
    let token = launch(&client, None);
    let rt = runtime();
    let store: Arc<dyn TokenStore> =
        rt.block_on(async { Arc::new(RedisStore::connect(&server.url(), "multi").await.unwrap()) });
    rt.block_on(async {
        AsyncSession::create(
            asynchronous(&client),
            token,
            Arc::clone(&store),
            "user-1",
            short_config(),
        )
        .await
        .unwrap();
    });
    let mut child = spawn_child("stall", sandbox.base_url(), &server.url(), &[]);
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let announced = stdout
        .lines()
        .map_while(Result::ok)
        .any(|line| line.ends_with("REFRESHING"));
    assert!(announced, "the child reached the refresh");
    let killed_at = Instant::now();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    rt.block_on(async {
        let session = AsyncSession::restore(asynchronous(&client), store, "user-1", short_config())
            .await
            .unwrap();
        let old = session.token().unwrap().access_token().clone();
        let new = session.force_refresh(&old).await.unwrap();
        assert_ne!(new.expose_secret(), old.expose_secret());
    });
    // The takeover waited for the dead holder's lease to expire (2 s from its grant).
    assert!(killed_at.elapsed() >= Duration::from_millis(500));
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!((counts.refresh_token, counts.invalid_grant), (1, 0));
}

#[test]
fn redis_restarted_mid_run_is_a_store_error_then_the_session_goes_on() {
    if child_role().is_some() {
        return;
    }
    let mut server = RedisServer::start();
    let sandbox = sandbox(None, SandboxConfig::new().access_token_lifetime(2));
    let client = public_client(&sandbox, None);
    let token = launch(&client, None);
    let rt = runtime();
    let session = rt.block_on(async {
        let store: Arc<dyn TokenStore> =
            Arc::new(RedisStore::connect(&server.url(), "restart").await.unwrap());
        AsyncSession::create(
            asynchronous(&client),
            token,
            store,
            "user-1",
            short_config().refresh_buffer(Duration::from_secs(1)),
        )
        .await
        .unwrap()
    });
    let call = |session: &AsyncSession<Arc<AsyncSmartClient>>| rt.block_on(session.access_token());
    let mut store_errors = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        call(&session).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    server.stop();
    while start.elapsed() < Duration::from_millis(4500) {
        match call(&session) {
            Ok(_) => {}
            Err(SessionError::Store(StoreError::Unavailable { store: "redis", .. })) => {
                store_errors += 1;
            }
            Err(other) => panic!("not a store error: {other}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    server.run();
    let mut recovered = 0;
    let again = Instant::now();
    while again.elapsed() < Duration::from_secs(4) {
        if call(&session).is_ok() {
            recovered += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        store_errors > 0,
        "a due refresh failed with a store error while Redis was down"
    );
    assert!(
        recovered > 20,
        "the session went on after the restart ({recovered} calls)"
    );
    let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!(counts.invalid_grant, 0);
    assert!(counts.refresh_token >= 2);
}
