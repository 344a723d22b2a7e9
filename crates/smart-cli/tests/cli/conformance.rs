//! `smart demo --table` and `smart demo --server ... --clients ...` (`cargo xtask conformance`).

use smart_sandbox::{Sandbox, demo};

use super::{run, scratch, smart, stderr, stdout};

#[test]
fn table_rows_all_pass_against_the_sandbox() {
    let output = run(smart().args(["demo", "--table"]));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("| flow | result | detail |"));
    assert_eq!(lines.next(), Some("|---|---|---|"));
    let rows: Vec<Vec<&str>> = lines
        .by_ref()
        .take_while(|line| line.starts_with('|'))
        .map(|line| line.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|row| row[0]).collect();
    for flow in [
        "discovery and compliance",
        "standalone launch (public, GET)",
        "standalone launch (symmetric, GET)",
        "EHR launch (symmetric, POST)",
        "standalone launch (asymmetric) and refresh",
        "standalone launch (asymmetric, jwks_uri)",
        "backend services",
        "introspection and revocation",
        "dynamic registration",
        "refusals",
        "reused assertion refused",
        "reused authorization code refused",
        "wrong redirect_uri refused",
        "expired authorization code refused",
    ] {
        assert!(names.contains(&flow), "{flow} missing: {names:?}");
    }
    for row in &rows {
        assert_eq!(row.len(), 3, "{row:?}");
        assert_eq!(row[1], "pass", "{row:?}");
    }
    assert!(
        text.contains(&format!(
            "{0} passed, 0 failed, 0 skipped, of {0} flows",
            rows.len()
        )),
        "{text}"
    );
}

/// Against a server given with `--server`, without `--auto-approve` and with only a public
/// client, every flow but discovery is skipped: that is not a success.
#[test]
fn a_run_that_verifies_nothing_fails() {
    let sandbox = Sandbox::start().unwrap();
    let dir = scratch();
    let clients = dir.join("clients.json");
    std::fs::write(
        &clients,
        serde_json::json!({
            "public": {
                "client_id": demo::PUBLIC_CLIENT_ID,
                "redirect_uri": demo::REDIRECT_URI,
                "scope": "launch/patient patient/*.rs"
            }
        })
        .to_string(),
    )
    .unwrap();
    let args = |json: bool| {
        let mut command = smart();
        if json {
            command.arg("--json");
        }
        command
            .args(["--allow-insecure-localhost", "demo", "--table", "--server"])
            .arg(sandbox.base_url())
            .arg("--clients")
            .arg(&clients);
        command
    };
    let output = run(&mut args(false));
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("| discovery and compliance | pass |"),
        "{text}"
    );
    assert!(
        text.contains("| standalone launch (public, GET) | skip |"),
        "{text}"
    );
    let err = stderr(&output);
    let error_line = err.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(
        error_line.starts_with("error: nothing was verified beyond discovery"),
        "{err}"
    );
    assert!(error_line.contains("--auto-approve"), "{err}");

    // --json: still exactly one document, which says so.
    let output = run(&mut args(true));
    assert_eq!(output.status.code(), Some(2));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["ok"], false);
    assert_eq!(value["passed"], 1);
    assert_eq!(value["failed"], 0);
    assert!(
        value["error"]
            .as_str()
            .unwrap()
            .starts_with("nothing was verified"),
        "{value}"
    );

    // With --auto-approve the public client's flows run and pass.
    let output = run(args(false).arg("--auto-approve"));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    assert!(
        text.contains("| standalone launch (public, GET) | pass |"),
        "{text}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
