//! Private files, logs, closed pipes, out-of-range numbers, one-line errors, `--json` documents.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use smart_sandbox::{Sandbox, demo};

use super::{browser, child_stderr, run, scratch, smart, stderr, stdout};

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn world_readable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, "old contents\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(mode(path), 0o644);
}

/// `--force` and `--save-pending` replace an existing file: the private key or verifier must
/// not inherit its 0644.
#[cfg(unix)]
#[test]
fn replaced_files_become_private() {
    let dir = scratch();
    let key = dir.join("key.pem");
    world_readable(&key);
    let output = run(smart()
        .args(["keygen", "--alg", "ES384", "--force", "--out"])
        .arg(&key));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(mode(&key), 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );

    let sandbox = Sandbox::start().unwrap();
    let pending = dir.join("pending.json");
    world_readable(&pending);
    let output = run(smart()
        .args([
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
            "--scope",
            "patient/*.rs",
            "--save-pending",
        ])
        .arg(&pending));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(mode(&pending), 0o600);
    assert!(
        std::fs::read_to_string(&pending)
            .unwrap()
            .contains("verifier")
    );
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `-vvv` turns on every log, ureq's included: the codes, states, tokens and assertions of
/// every flow must still stay out of them.
#[test]
fn trace_logs_of_the_demo_show_no_code_state_or_token() {
    let output = run(smart().args(["-vvv", "demo"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let logs = stderr(&output);
    assert!(logs.contains("DEBUG ureq::run"), "ureq logs are on: {logs}");
    for secret in [
        "code=",
        "state=",
        "code_verifier",
        "access_token",
        "refresh_token",
        "client_assertion=",
        "eyJ",
        demo::SYMMETRIC_CLIENT_SECRET,
        "Authorization",
        "authorization: ",
        "TRACE ureq",
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs: {logs}");
    }
    // The redirect's Location header is logged redacted.
    assert!(logs.contains(r#""location": "******""#), "{logs}");
}

/// `smart --json launch`: the URL to open goes to stderr, stdout is one JSON document.
#[test]
fn json_launch_prints_one_document() {
    let sandbox = Sandbox::start().unwrap();
    let mut child = smart()
        .args([
            "--json",
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
    let mut errors = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = errors
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.starts_with("http://"))
        .unwrap();
    let agent = browser();
    let response = agent.get(&url).call().unwrap();
    let callback = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(agent.get(&callback).call().unwrap().status().as_u16(), 200);
    let status = child.wait().unwrap();
    let mut text = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(status.success(), "{text}");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["ok"], true, "{text}");
    assert_eq!(value["access_token"], "[redacted]");
    assert_eq!(value["launch_context"]["patient"], demo::PATIENT_ID);
}

/// `smart demo | head -1`: the reader goes away; the command stops quietly (no panic, no 101).
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let mut child = smart()
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader (and the pipe) is dropped here, as `head -1` exits.
    assert!(first.starts_with("SMART sandbox started"), "{first}");
    let status = child.wait().unwrap();
    let err = child_stderr(&mut child);
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A failure reported as JSON on a stdout that is already closed keeps its exit code: a closed
/// pipe never turns a failure into a success.
#[test]
fn a_closed_stdout_keeps_a_failures_exit_code() {
    let dir = scratch();
    let mut child = smart()
        .args(["--json", "jwks", "--key"])
        .arg(dir.join("no-such-key.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end at once: the JSON error document meets a closed pipe.
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let err = child_stderr(&mut child);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Seconds beyond a day would overflow the clock (`Instant + Duration`); 0 is not a time limit.
#[test]
fn out_of_range_seconds_are_usage_errors() {
    for args in [
        &[
            "--timeout",
            "18446744073709551615",
            "discover",
            "https://ehr.example",
        ][..],
        &["--timeout", "0", "discover", "https://ehr.example"],
        &["--timeout", "86401", "discover", "https://ehr.example"],
        &[
            "launch",
            "--fhir-base",
            "https://ehr.example",
            "--wait",
            "18446744073709551615",
        ],
        &[
            "launch",
            "--fhir-base",
            "https://ehr.example",
            "--wait",
            "0",
        ],
    ] {
        let output = run(smart().args(args));
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("is not in 1..=86400"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Exit 1: one line that carries the cause too (`... the connection failed: <why>`).
#[test]
fn server_errors_are_one_line_with_their_causes() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = run(smart().args([
        "--allow-insecure-localhost",
        "discover",
        &format!("http://{closed}"),
    ]));
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    // The only other line is the warning that the http:// opt-in is for development.
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("WARN ")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("error: network error calling http://127.0.0.1:"),
        "{err}"
    );
    // The transport's own cause follows on the same line.
    assert!(lines[0].contains("the connection failed: "), "{err}");
    assert!(
        !err.contains("backtrace") && !err.contains("panicked"),
        "{err}"
    );
}

/// With `--json`, failures are a JSON document on stdout too, with `ok: false`.
#[test]
fn json_errors_are_json() {
    let output = run(smart().args(["--json", "discover", "http://127.0.0.1:9"]));
    assert_eq!(output.status.code(), Some(2));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["ok"], false);
    assert_eq!(value["kind"], "usage");
    assert!(
        value["error"].as_str().unwrap().contains("http://"),
        "{value}"
    );

    let sandbox = Sandbox::start().unwrap();
    let output = run(super::symmetric_refresh(&sandbox, "WRONG_SECRET")
        .arg("--json")
        .env("WRONG_SECRET", "not-the-secret")
        .env("SOME_REFRESH_TOKEN", "rt-unknown"));
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["ok"], false);
    assert_eq!(value["kind"], "server");
    assert_eq!(value["oauth"]["error"], "invalid_client");
    assert_eq!(value["oauth"]["status"], 401);
}
