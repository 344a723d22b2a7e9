//! The real `smart` binary against the embedded sandbox.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions: a failing unwrap is a failing test"
)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use smart_sandbox::{Sandbox, demo};
use test_support::browser::agent as browser;

mod commands;
mod conformance;
mod hostile;
mod registry;
mod robustness;
mod udap;

fn smart() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_smart"));
    command.env_remove("RUST_LOG");
    command
}

fn run(command: &mut Command) -> Output {
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// All a spawned command wrote to stderr (read after it has stopped writing).
fn child_stderr(child: &mut std::process::Child) -> String {
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    err
}

/// A fresh directory for one test's files.
fn scratch() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "smart-cli-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn demo_runs_every_flow_offline() {
    let output = run(smart().arg("demo"));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    assert!(
        text.contains("18 passed, 0 failed, 0 skipped, 0 with server findings, of 18 flows"),
        "{text}"
    );
    assert!(text.contains("id_token verified"), "{text}");
    // The transcript never shows a token or a code.
    assert!(text.contains("code=[redacted]"), "{text}");
    assert!(!text.contains(demo::SYMMETRIC_CLIENT_SECRET), "{text}");
}

#[test]
fn demo_as_json() {
    let output = run(smart().args(["--json", "demo"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(value["ok"], true);
    assert_eq!(value["passed"], 18);
    assert_eq!(value["server_findings"], 0);
}

#[test]
fn discover_prints_capabilities_and_compliance() {
    let sandbox = Sandbox::start().unwrap();
    let output = run(smart().args(["--allow-insecure-localhost", "discover", sandbox.base_url()]));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    assert!(text.contains("[x] launch-ehr"), "{text}");
    assert!(text.contains("Compliance: no findings"), "{text}");

    let output = run(smart().args([
        "--json",
        "--allow-insecure-localhost",
        "discover",
        sandbox.base_url(),
    ]));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["compliant"], true);
    assert_eq!(value["supports"]["backend_services"], true);
    assert_eq!(
        value["configuration"]["token_endpoint"],
        sandbox.token_url()
    );
}

#[test]
fn exit_codes_and_one_line_errors() {
    let sandbox = Sandbox::start().unwrap();
    // Configuration problem (http:// without the opt-in): exit 2, one line, no backtrace.
    let output = run(smart().args(["discover", sandbox.base_url()]));
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    // It names the flag, not the library's setting.
    assert_eq!(
        err.trim_end(),
        format!(
            "error: unusable URLs: the FHIR base URL uses http:// on a loopback host; pass --allow-insecure-localhost to permit this during development: `{}/`",
            sandbox.base_url()
        )
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );

    // Server problem (nothing listening): exit 1.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = run(smart().args([
        "--allow-insecure-localhost",
        "discover",
        &format!("http://{closed}"),
    ]));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    // Usage error from the parser: exit 2.
    let output = run(smart().args(["discover"]));
    assert_eq!(output.status.code(), Some(2));
    let output = run(smart().args(["--help"]));
    assert_eq!(output.status.code(), Some(0));
    // The help states the contract: the exit codes, and where secrets come from.
    let help = stdout(&output);
    assert!(
        help.contains("Exit codes: 0 success, 1 server or protocol error, 2 usage"),
        "{help}"
    );
    assert!(help.contains("never from the command line"), "{help}");
}

#[test]
fn the_proxy_environment_is_not_used() {
    let sandbox = Sandbox::start().unwrap();
    // A proxy that does not exist: if the client read it, discovery would fail.
    let output = run(smart()
        .args(["--allow-insecure-localhost", "discover", sandbox.base_url()])
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("http_proxy", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9"));
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn keygen_jwks_and_assertion() {
    let dir = scratch();
    let key = dir.join("key.pem");
    let output = run(smart()
        .args(["--json", "keygen", "--alg", "ES384", "--out"])
        .arg(&key));
    assert!(output.status.success(), "{}", stderr(&output));
    let generated: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let kid = generated["kid"].as_str().unwrap().to_owned();
    assert_eq!(generated["jwks"]["keys"][0]["kid"], kid.as_str());
    assert_eq!(generated["jwks"]["keys"][0]["crv"], "P-384");
    assert!(
        generated["jwks"]["keys"][0].get("d").is_none(),
        "the JWKS is public"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // No silent overwrite.
    let output = run(smart()
        .args(["keygen", "--alg", "ES384", "--out"])
        .arg(&key));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--force"));

    let output = run(smart().args(["jwks", "--key"]).arg(&key));
    let jwks: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(jwks["keys"][0]["kid"], kid.as_str());

    let output = run(smart()
        .args([
            "--json",
            "assertion",
            "--client-id",
            "app",
            "--aud",
            "https://ehr.example/token",
            "--key",
        ])
        .arg(&key));
    assert!(output.status.success(), "{}", stderr(&output));
    let assertion: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(assertion["header"]["alg"], "ES384");
    assert_eq!(assertion["header"]["kid"], kid.as_str());
    assert_eq!(assertion["claims"]["aud"], "https://ehr.example/token");
    assert_eq!(assertion["claims"]["iss"], "app");
    std::fs::remove_dir_all(dir).unwrap();
}

fn write_demo_key(dir: &std::path::Path, key: &smart_client::jwt::PrivateKey) -> PathBuf {
    let path = dir.join("demo-key.pem");
    std::fs::write(&path, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    path
}

#[test]
fn backend_token_is_redacted_unless_asked() {
    let sandbox = Sandbox::start().unwrap();
    let dir = scratch();
    let key = write_demo_key(&dir, &demo::backend_key());
    let args = |show: bool| {
        let mut command = smart();
        command
            .args([
                "--allow-insecure-localhost",
                "token",
                "backend",
                "--fhir-base",
                sandbox.base_url(),
            ])
            .args([
                "--client-id",
                demo::BACKEND_CLIENT_ID,
                "--kid",
                demo::backend_kid(),
                "--key",
            ])
            .arg(&key);
        if show {
            command.arg("--show-tokens");
        }
        command
    };
    let output = run(&mut args(false));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    assert!(text.contains("access_token:  [redacted]"), "{text}");
    assert!(text.contains("scope:         system/*.rs"), "{text}");
    let output = run(&mut args(true));
    assert!(!stdout(&output).contains("[redacted]"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn trace_logs_show_no_secret() {
    let sandbox = Sandbox::start().unwrap();
    let dir = scratch();
    let key = write_demo_key(&dir, &demo::backend_key());
    let output = run(smart()
        .args([
            "-vvv",
            "--json",
            "--allow-insecure-localhost",
            "token",
            "backend",
            "--fhir-base",
            sandbox.base_url(),
        ])
        .args([
            "--client-id",
            demo::BACKEND_CLIENT_ID,
            "--kid",
            demo::backend_kid(),
            "--show-tokens",
            "--key",
        ])
        .arg(&key));
    assert!(output.status.success(), "{}", stderr(&output));
    let token: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let access_token = token["access_token"].as_str().unwrap();
    let logs = stderr(&output);
    assert!(
        logs.contains("DEBUG smart_client"),
        "trace logging is on: {logs}"
    );
    assert!(!logs.contains(access_token), "{logs}");
    assert!(!logs.contains("client_assertion="), "{logs}");
    assert!(
        !logs.contains("TRACE ureq_proto"),
        "ureq's wire dump must not be printed: {logs}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `smart token refresh` as the demo symmetric client, its secret from `secret_var` and the
/// refresh token from `SOME_REFRESH_TOKEN`.
fn symmetric_refresh(sandbox: &Sandbox, secret_var: &str) -> Command {
    let mut command = smart();
    command
        .args([
            "--allow-insecure-localhost",
            "token",
            "refresh",
            "--fhir-base",
            sandbox.base_url(),
        ])
        .args([
            "--client-id",
            demo::SYMMETRIC_CLIENT_ID,
            "--client-secret-env",
            secret_var,
        ])
        .args(["--token-env", "SOME_REFRESH_TOKEN"]);
    command
}

#[test]
fn oauth_errors_print_their_fields_and_exit_1() {
    let sandbox = Sandbox::start().unwrap();
    let output = run(symmetric_refresh(&sandbox, "WRONG_SECRET")
        .env("WRONG_SECRET", "not-the-secret")
        .env("SOME_REFRESH_TOKEN", "rt-unknown"));
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    // The opt-in's warning may come first; the error is one line, then the OAuth fields.
    let error_line = err
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap();
    assert!(
        error_line.starts_with("error: token request failed — HTTP 401 — invalid_client"),
        "{err}"
    );
    assert!(err.contains("\n  error: invalid_client\n"), "{err}");
    assert!(
        !err.contains("not-the-secret") && !err.contains("rt-unknown"),
        "{err}"
    );

    // A missing secret variable is a usage error.
    let output = run(symmetric_refresh(&sandbox, "UNSET_VARIABLE_FOR_TEST")
        .env("SOME_REFRESH_TOKEN", "rt-unknown")
        .env_remove("UNSET_VARIABLE_FOR_TEST"));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("UNSET_VARIABLE_FOR_TEST"));
}

#[test]
fn launch_through_the_loopback_listener() {
    let sandbox = Sandbox::start().unwrap();
    let mut child = smart()
        .args([
            "--allow-insecure-localhost",
            "launch",
            "--fhir-base",
            sandbox.base_url(),
        ])
        .args(["--client-id", demo::PUBLIC_CLIENT_ID, "--wait", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.starts_with("http://"))
        .unwrap();
    // Play the browser: the sandbox approves at once and redirects to the listener.
    let agent = browser();
    let response = agent.get(&url).call().unwrap();
    assert_eq!(response.status().as_u16(), 302);
    let callback = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    let page = agent.get(&callback).call().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    let err = child_stderr(&mut child);
    assert!(status.success(), "{rest:?}\n{err}");
    let text = rest.join("\n");
    assert!(text.contains("access_token:  [redacted]"), "{text}");
    assert!(
        text.contains(&format!("patient:             {}", demo::PATIENT_ID)),
        "{text}"
    );
    assert!(text.contains("id_token verified"), "{text}");
}

#[test]
fn authorize_url_then_token_exchange() {
    let sandbox = Sandbox::start().unwrap();
    let dir = scratch();
    let pending = dir.join("pending.json");
    let output = run(smart()
        .args([
            "--json",
            "--allow-insecure-localhost",
            "authorize-url",
            "--fhir-base",
            sandbox.base_url(),
        ])
        .args([
            "--client-id",
            demo::PUBLIC_CLIENT_ID,
            "--redirect-uri",
            demo::REDIRECT_URI,
        ])
        .args(["--scope", "launch/patient patient/*.rs", "--save-pending"])
        .arg(&pending));
    assert!(output.status.success(), "{}", stderr(&output));
    let request: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let url = request["url"].as_str().unwrap();
    assert_eq!(request["state"].as_str().unwrap().len(), 32);
    let agent = browser();
    let response = agent.get(url).call().unwrap();
    let callback = response.headers()["location"].to_str().unwrap().to_owned();
    let output = run(smart()
        .args([
            "--allow-insecure-localhost",
            "token",
            "exchange",
            "--fhir-base",
            sandbox.base_url(),
        ])
        // No --client-id: the pending authorization names its client.
        .args(["--callback-env", "CALLBACK", "--pending"])
        .arg(&pending)
        .env("CALLBACK", &callback));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    assert!(
        text.contains(&format!("patient:             {}", demo::PATIENT_ID)),
        "{text}"
    );
    // Another --client-id than the pending authorization's is refused before anything is sent.
    let output = run(smart()
        .args([
            "--allow-insecure-localhost",
            "token",
            "exchange",
            "--fhir-base",
            sandbox.base_url(),
        ])
        .args([
            "--client-id",
            "someone-else",
            "--callback-env",
            "CALLBACK",
            "--pending",
        ])
        .arg(&pending)
        .env("CALLBACK", &callback));
    assert_eq!(output.status.code(), Some(2));
    let err: Vec<String> = stderr(&output)
        .lines()
        .filter(|line| !line.starts_with("WARN "))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        err,
        [format!(
            "error: --client-id someone-else is not the client of the pending authorization in {} ({}); leave --client-id out to use the pending authorization's",
            pending.display(),
            demo::PUBLIC_CLIENT_ID
        )]
    );
    std::fs::remove_dir_all(dir).unwrap();
}
