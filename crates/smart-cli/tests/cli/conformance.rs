//! `smart demo --table` and `smart demo --server ... --clients ...` (`cargo xtask conformance`).

use smart_sandbox::{RegisteredClient, Sandbox, SandboxConfig, demo};

use super::{run, scratch, smart, stderr, stdout};

/// `smart demo --table --auto-approve` against `sandbox` with `profile` as the clients file
/// (written to `clients`) and the secret `env` (name, value) in the environment.
fn demo_against(
    sandbox: &Sandbox,
    clients: &std::path::Path,
    profile: &str,
    env: (&str, &str),
) -> std::process::Output {
    std::fs::write(clients, profile).unwrap();
    run(smart()
        .args([
            "--allow-insecure-localhost",
            "demo",
            "--table",
            "--auto-approve",
        ])
        .arg("--server")
        .arg(sandbox.base_url())
        .arg("--clients")
        .arg(clients)
        .env(env.0, env.1))
}

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
        "introspection",
        "revocation",
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
            "{0} passed, 0 failed, 0 skipped, 0 with server findings, of {0} flows",
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

/// A profile's confidential-symmetric client sends its secret by the method it registered: a
/// `client_secret_post` client's flows pass (the sandbox refuses Basic for it).
#[test]
fn a_client_secret_post_client_in_a_profile() {
    let sandbox = Sandbox::start_with(SandboxConfig::new().client(
        RegisteredClient::confidential_symmetric_post(
            "post-app",
            "post-app-secret",
            vec![demo::REDIRECT_URI.to_owned()],
        ),
    ))
    .unwrap();
    let dir = scratch();
    let clients = dir.join("clients.json");
    let profile = |method: &str| {
        serde_json::json!({
            "confidential_symmetric": {
                "client_id": "post-app",
                "redirect_uri": demo::REDIRECT_URI,
                "scope": "launch/patient openid fhirUser offline_access patient/*.rs",
                "client_secret_env": "POST_APP_SECRET",
                "token_endpoint_auth_method": method
            }
        })
        .to_string()
    };
    let run_with = |method: &str| {
        demo_against(
            &sandbox,
            &clients,
            &profile(method),
            ("POST_APP_SECRET", "post-app-secret"),
        )
    };
    let output = run_with("client_secret_post");
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    assert!(
        text.contains("| standalone launch (symmetric, GET) | pass |"),
        "{text}"
    );
    // Sent by the other method, the same client is refused: the field is what decides.
    let output = run_with("client_secret_basic");
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    // An unknown method is a usage error naming the field.
    let output = run_with("private_key_jwt");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("token_endpoint_auth_method `private_key_jwt`"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The clients file says how to get an EHR launch: here the sandbox's launcher page, opened
/// as a browser would; its redirect to the app's launch URL carries `iss` and `launch`.
#[test]
fn an_ehr_launch_from_the_servers_launcher_page() {
    let sandbox = Sandbox::start().unwrap();
    let dir = scratch();
    let clients = dir.join("clients.json");
    let profile = |ehr_launch: serde_json::Value| {
        serde_json::json!({
            "confidential_symmetric": {
                "client_id": demo::SYMMETRIC_CLIENT_ID,
                "redirect_uri": demo::REDIRECT_URI,
                "scope": "launch/patient openid fhirUser offline_access patient/*.rs",
                "client_secret_env": "SYMMETRIC_SECRET"
            },
            "ehr_launch": ehr_launch
        })
        .to_string()
    };
    let run_with = |ehr_launch: serde_json::Value| {
        demo_against(
            &sandbox,
            &clients,
            &profile(ehr_launch),
            ("SYMMETRIC_SECRET", demo::SYMMETRIC_CLIENT_SECRET),
        )
    };
    let launcher = format!(
        "{}/launcher?go=1&launch_url={{launch_uri}}",
        sandbox.base_url()
    );
    let output = run_with(serde_json::json!({
        "launcher_url": launcher,
        "launch_uri": "http://127.0.0.1:9/launch"
    }));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    assert!(
        text.contains("| EHR launch (symmetric, POST) | pass |"),
        "{text}"
    );
    // A launcher that does not redirect to the app fails the flow, saying why.
    let output = run_with(serde_json::json!({
        "launcher_url": format!("{}/launcher?launch_url={{launch_uri}}", sandbox.base_url()),
        "launch_uri": "http://127.0.0.1:9/launch"
    }));
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("without a redirect to the app's launch URL"),
        "{}",
        stdout(&output)
    );
    // A template without {launch_uri}, or half a recipe, is a usage error naming the field.
    for (recipe, says) in [
        (
            serde_json::json!({"launcher_url": sandbox.base_url(), "launch_uri": "http://127.0.0.1:9/launch"}),
            "has no {launch_uri}",
        ),
        (
            serde_json::json!({"launcher_url": launcher}),
            "needs ehr_launch.launch_uri",
        ),
    ] {
        let output = run_with(recipe);
        assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
        assert!(stderr(&output).contains(says), "{}", stderr(&output));
    }
    std::fs::remove_dir_all(dir).unwrap();
}
