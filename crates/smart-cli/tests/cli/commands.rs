//! The subcommands one by one against the sandbox: launch, tokens, introspection, revocation,
//! registration, discovery's fallback, keys.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

use smart_sandbox::{LaunchContext, Sandbox, demo};

use super::{browser, child_stderr, run, scratch, smart, stderr, stdout};

/// `smart launch --launch TOKEN` without `--scope` asks for `launch` (not `launch/patient`),
/// so the EHR's context comes back.
#[test]
fn ehr_launch_with_the_default_scope() {
    let sandbox = Sandbox::start().unwrap();
    // A launch value is opaque base64url: one that starts with `-` must still be a value, not
    // an option (this test failed about one run in six before `--launch` allowed it).
    let mut launch = sandbox.launch(LaunchContext::for_patient(demo::OTHER_PATIENT_ID));
    while !launch.starts_with('-') {
        launch = sandbox.launch(LaunchContext::for_patient(demo::OTHER_PATIENT_ID));
    }
    let mut child = smart()
        .args([
            "--allow-insecure-localhost",
            "launch",
            "--fhir-base",
            sandbox.base_url(),
        ])
        .args(["--client-id", demo::PUBLIC_CLIENT_ID, "--wait", "30"])
        .args(["--launch", &launch])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let Some(url) = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.starts_with("http://"))
    else {
        let err = child_stderr(&mut child);
        panic!("no authorization URL: {:?}\n{err}", child.wait());
    };
    assert!(
        url.contains("&scope=launch+openid+fhirUser+patient%2F*.rs&"),
        "{url}"
    );
    let agent = browser();
    let response = agent.get(&url).call().unwrap();
    let callback = response.headers()["location"].to_str().unwrap().to_owned();
    agent.get(&callback).call().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    let err = child_stderr(&mut child);
    assert!(status.success(), "{rest:?}\n{err}");
    let text = rest.join("\n");
    // The EHR's patient, not the one a standalone launch picks.
    assert!(
        text.contains(&format!("patient:             {}", demo::OTHER_PATIENT_ID)),
        "{text}"
    );
}

/// The demo symmetric client's flags, its secret read from a file.
fn symmetric(command: &mut Command, sandbox: &Sandbox, secret_file: &Path) {
    command
        .args(["--fhir-base", sandbox.base_url()])
        .args([
            "--client-id",
            demo::SYMMETRIC_CLIENT_ID,
            "--client-secret-file",
        ])
        .arg(secret_file);
}

fn json(output: &std::process::Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(output),
        stderr(output)
    );
    serde_json::from_str(&stdout(output)).unwrap()
}

/// A code flow for the symmetric client through `authorize-url --post` and `token exchange`,
/// then refresh, introspect, revoke, all with the secret from `--client-secret-file`.
#[test]
fn symmetric_client_post_authorize_refresh_introspect_revoke() {
    let sandbox = Sandbox::start().unwrap();
    let dir = scratch();
    let secret = dir.join("secret");
    std::fs::write(&secret, format!("{}\n", demo::SYMMETRIC_CLIENT_SECRET)).unwrap();
    let pending = dir.join("pending.json");

    let mut command = smart();
    command.args([
        "--json",
        "--allow-insecure-localhost",
        "authorize-url",
        "--post",
    ]);
    symmetric(&mut command, &sandbox, &secret);
    let request = json(&run(command
        .args(["--redirect-uri", demo::REDIRECT_URI])
        .args(["--scope", "launch/patient offline_access patient/*.rs"])
        .arg("--save-pending")
        .arg(&pending)));
    assert_eq!(request["method"], "POST");
    assert_eq!(request["url"], sandbox.authorize_url());
    let form: Vec<(String, String)> = request["form"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(form.contains(&("response_type".to_owned(), "code".to_owned())));
    assert!(form.iter().any(|(name, _)| name == "code_challenge"));
    let response = browser()
        .post(request["url"].as_str().unwrap())
        .send_form(form.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .unwrap();
    assert_eq!(response.status().as_u16(), 302);
    let callback = response.headers()["location"].to_str().unwrap().to_owned();

    let mut command = smart();
    command.args(["--json", "--allow-insecure-localhost", "token", "exchange"]);
    symmetric(&mut command, &sandbox, &secret);
    let token = json(&run(command
        .args(["--show-tokens", "--callback-env", "CALLBACK", "--pending"])
        .arg(&pending)
        .env("CALLBACK", &callback)));
    let refresh_token = token["refresh_token"].as_str().unwrap().to_owned();

    // A successful refresh, narrower.
    let mut command = smart();
    command.args(["--json", "--allow-insecure-localhost", "token", "refresh"]);
    symmetric(&mut command, &sandbox, &secret);
    let refreshed = json(&run(command
        .args(["--show-tokens", "--scope", "patient/*.rs"])
        .args(["--token-env", "REFRESH"])
        .env("REFRESH", &refresh_token)));
    assert_eq!(refreshed["ok"], true);
    assert_eq!(refreshed["scope"], "patient/*.rs");
    let access = refreshed["access_token"].as_str().unwrap().to_owned();
    let access_file = dir.join("access");
    std::fs::write(&access_file, &access).unwrap();

    let introspect = |dir: &Path| {
        let mut command = smart();
        command.args(["--json", "--allow-insecure-localhost", "introspect"]);
        symmetric(&mut command, &sandbox, &secret);
        json(&run(command.arg("--token-file").arg(dir.join("access"))))
    };
    let info = introspect(&dir);
    assert_eq!(info["ok"], true);
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], demo::SYMMETRIC_CLIENT_ID);
    assert_eq!(info["launch_context"]["patient"], demo::PATIENT_ID);

    let mut command = smart();
    command.args(["--allow-insecure-localhost", "revoke"]);
    symmetric(&mut command, &sandbox, &secret);
    let output = run(command.arg("--token-file").arg(&access_file));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "revoked");
    assert_eq!(introspect(&dir)["active"], false);

    // The text form of introspection.
    let mut command = smart();
    command.args(["--allow-insecure-localhost", "introspect"]);
    symmetric(&mut command, &sandbox, &secret);
    let output = run(command.arg("--token-file").arg(&access_file));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("inactive"), "{}", stdout(&output));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn register_a_client() {
    let sandbox = Sandbox::start().unwrap();
    let dir = scratch();
    let metadata = dir.join("metadata.json");
    std::fs::write(
        &metadata,
        serde_json::json!({
            "client_name": "cli test",
            "redirect_uris": [demo::REDIRECT_URI],
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code"],
            "scope": "launch/patient patient/*.rs",
        })
        .to_string(),
    )
    .unwrap();
    let output = run(smart()
        .args([
            "--allow-insecure-localhost",
            "register",
            "--fhir-base",
            sandbox.base_url(),
            "--metadata",
        ])
        .arg(&metadata));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    assert!(text.starts_with("client_id:     "), "{text}");
    assert!(text.contains("client_secret: [redacted]"), "{text}");

    let output = run(smart()
        .args([
            "--json",
            "--allow-insecure-localhost",
            "register",
            "--fhir-base",
            sandbox.base_url(),
            "--show-tokens",
            "--metadata",
        ])
        .arg(&metadata));
    let value = json(&output);
    assert_eq!(value["ok"], true);
    assert!(!value["client_id"].as_str().unwrap().is_empty());
    let secret = value["client_secret"].as_str().unwrap();
    assert!(secret != "[redacted]" && !secret.is_empty(), "{value}");
    assert_eq!(value["metadata"]["client_name"], "cli test");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A FHIR server without `.well-known/smart-configuration` (404) whose CapabilityStatement
/// (`/metadata`, copied from the sandbox) carries the OAuth URIs.
fn server_without_well_known(sandbox: &Sandbox) -> String {
    let capability = browser()
        .get(&format!("{}/metadata", sandbox.base_url()))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            while reader.read_line(&mut head).is_ok_and(|n| n > 2) {}
            let (status, body) = if head.starts_with("GET /metadata ") {
                ("200 OK", capability.as_str())
            } else {
                ("404 Not Found", "{}")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: application/fhir+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[test]
fn discover_falls_back_to_the_capability_statement() {
    let sandbox = Sandbox::start().unwrap();
    let base = server_without_well_known(&sandbox);
    let output = run(smart().args(["--json", "--allow-insecure-localhost", "discover", &base]));
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));

    let output = run(smart().args([
        "--json",
        "--allow-insecure-localhost",
        "discover",
        "--fallback-metadata",
        &base,
    ]));
    let value = json(&output);
    assert_eq!(
        value["configuration"]["token_endpoint"],
        sandbox.token_url(),
        "{value}"
    );
    assert_eq!(
        value["configuration"]["authorization_endpoint"],
        sandbox.authorize_url()
    );
}

/// An RS384 key: its JWK Set, `jwks --json` (with `ok` like every command), an RS384 assertion.
#[test]
fn rs384_keys_and_jwks_as_json() {
    let dir = scratch();
    let key = dir.join("rsa.pem");
    let output = run(smart()
        .args([
            "--json", "keygen", "--alg", "RS384", "--bits", "2048", "--out",
        ])
        .arg(&key));
    let generated = json(&output);
    assert_eq!(generated["jwks"]["keys"][0]["kty"], "RSA");
    assert!(generated["jwks"]["keys"][0].get("d").is_none());
    let kid = generated["kid"].as_str().unwrap().to_owned();

    let value = json(&run(smart().args(["--json", "jwks", "--key"]).arg(&key)));
    assert_eq!(value["ok"], true);
    assert_eq!(value["kid"], kid.as_str());
    assert_eq!(value["jwks"], generated["jwks"]);
    let value = json(&run(smart()
        .args(["--json", "jwks", "--kid", "mine", "--key"])
        .arg(&key)));
    assert_eq!(value["kid"], "mine");
    assert_eq!(value["jwks"]["keys"][0]["kid"], "mine");

    let value = json(&run(smart()
        .args([
            "--json",
            "assertion",
            "--client-id",
            "app",
            "--aud",
            "https://ehr.example/token",
            "--key",
        ])
        .arg(&key)));
    assert_eq!(value["header"]["alg"], "RS384");
    assert_eq!(value["header"]["kid"], kid.as_str());
    std::fs::remove_dir_all(dir).unwrap();
}

/// `smart sandbox --login --ehr-launch`: the launch printed, the launcher and the login page
/// served, the token lifetime applied.
#[test]
fn sandbox_prints_an_ehr_launch_and_serves_the_login_page() {
    let mut child = smart()
        .args(["--json", "sandbox", "--port", "0", "--login"])
        .args([
            "--access-token-lifetime",
            "7",
            "--backend-token-lifetime",
            "9",
        ])
        .args(["--ehr-launch", demo::PATIENT_ID])
        .args(["--app-launch-url", "http://127.0.0.1:9/launch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok);
    let Some(first) = first else {
        let _ = child.kill();
        panic!("no output: {}", child_stderr(&mut child));
    };
    let answer: serde_json::Value = serde_json::from_str(&first).unwrap();
    let base = answer["fhir_base"].as_str().unwrap().to_owned();
    let url = answer["ehr_launch_url"].as_str().unwrap().to_owned();
    let launch = answer["launch"].as_str().unwrap().to_owned();
    let agent = browser();
    let checks = || -> Result<(), String> {
        let expected = format!(
            "http://127.0.0.1:9/launch?{}",
            smart_client::core::form::encode([("iss", base.as_str()), ("launch", launch.as_str())])
        );
        if url != expected {
            return Err(format!("{url} is not {expected}"));
        }
        let launcher = agent
            .get(answer["launcher"].as_str().unwrap())
            .call()
            .map_err(|e| e.to_string())?;
        let page = launcher
            .into_body()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        if !page.contains("id=\"launch\"") {
            return Err(format!("no launcher page: {page}"));
        }
        let discovery = agent
            .get(format!("{base}/.well-known/smart-configuration"))
            .call()
            .map_err(|e| e.to_string())?;
        if discovery.status().as_u16() != 200 {
            return Err("no discovery".to_owned());
        }
        let config = smart_client::ClientConfig::builder(base.as_str())
            .client_id(demo::BACKEND_CLIENT_ID)
            .private_key(demo::backend_key())
            .kid(demo::backend_kid())
            .allow_insecure_localhost(true)
            .build()
            .map_err(|e| e.to_string())?;
        let client = smart_client::SmartClient::new(
            config,
            smart_client::ClientType::ConfidentialAsymmetric,
        )
        .map_err(|e| e.to_string())?;
        let token = client
            .backend_services_token(None)
            .map_err(|e| e.to_string())?;
        if token.expires_in() != Some(9) {
            return Err(format!("backend token lifetime {:?}", token.expires_in()));
        }
        Ok(())
    };
    let result = checks();
    let _ = child.kill();
    let _ = child.wait();
    result.unwrap();

    // An unknown patient is a usage error.
    let output = run(smart().args(["sandbox", "--port", "0", "--ehr-launch", "nobody"]));
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--ehr-launch nobody: not a demo patient; use sandbox-patient-1"),
        "{}",
        stderr(&output)
    );
}
