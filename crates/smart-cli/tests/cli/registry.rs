//! `--config FILE` (and `SMART_CONFIG`): the issuer registry fills the client flags; an
//! issuer it does not list is refused. `authorize-url` keeps the nonce with the pending
//! authorization and does not print the verifier it saved; `launch --param` adds parameters.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use smart_sandbox::{Sandbox, demo};

use super::{browser, run, scratch, smart, stderr, stdout};

fn registry_file(sandbox: &Sandbox, dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("ehrs.toml");
    std::fs::write(
        &path,
        format!(
            "[[ehr]]\nname = \"sandbox\"\nissuer = \"{}\"\nclient_id = \"{}\"\nclient_type = \"public\"\n",
            sandbox.base_url(),
            demo::PUBLIC_CLIENT_ID
        ),
    )
    .unwrap();
    path
}

#[test]
fn the_config_file_fills_the_client_and_saves_the_nonce() {
    let sandbox = Sandbox::start().unwrap();
    let dir = scratch();
    let config = registry_file(&sandbox, &dir);
    let pending = dir.join("pending.json");
    // No --client-id: the registry entry for --fhir-base gives it.
    let output = run(smart()
        .arg("--config")
        .arg(&config)
        .args(["--json", "--allow-insecure-localhost", "authorize-url"])
        .args(["--fhir-base", sandbox.base_url()])
        .args(["--redirect-uri", demo::REDIRECT_URI])
        .args(["--scope", "launch/patient openid fhirUser patient/*.rs"])
        .arg("--save-pending")
        .arg(&pending));
    assert!(output.status.success(), "{}", stderr(&output));
    let request: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let url = request["url"].as_str().unwrap();
    assert!(
        url.contains(&format!("client_id={}", demo::PUBLIC_CLIENT_ID)),
        "{url}"
    );
    assert!(request["code_verifier"].is_null(), "saved, so not printed");
    let nonce = request["nonce"].as_str().unwrap();
    assert!(url.contains(&format!("nonce={nonce}")), "{url}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&pending).unwrap()).unwrap();
    assert_eq!(saved["nonce"], nonce);

    // The exchange verifies the id_token against the saved nonce, unasked.
    let callback = browser().get(url).call().unwrap().headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let output = run(smart()
        .env("SMART_CONFIG", &config)
        .args(["--allow-insecure-localhost", "token", "exchange"])
        .args(["--fhir-base", sandbox.base_url()])
        .args(["--callback-env", "CALLBACK", "--pending"])
        .arg(&pending)
        .env("CALLBACK", &callback));
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn an_issuer_the_config_does_not_list_is_refused() {
    let sandbox = Sandbox::start().unwrap();
    let dir = scratch();
    let config = registry_file(&sandbox, &dir);
    let output = run(smart()
        .arg("--config")
        .arg(&config)
        .args(["--allow-insecure-localhost", "authorize-url"])
        .args(["--fhir-base", &format!("{}/", sandbox.base_url())])
        .args([
            "--redirect-uri",
            demo::REDIRECT_URI,
            "--scope",
            "patient/*.rs",
        ]));
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains("--config"), "{err}");
    assert!(err.contains("no EHR is registered for the issuer"), "{err}");
    assert!(err.contains("differs only by a trailing slash"), "{err}");
}

#[test]
fn launch_takes_extra_parameters() {
    let sandbox = Sandbox::start().unwrap();
    let output = run(smart()
        .args(["--allow-insecure-localhost", "launch"])
        .args(["--fhir-base", sandbox.base_url()])
        .args(["--client-id", demo::PUBLIC_CLIENT_ID, "--param", "prompt"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--param `prompt` is not NAME=VALUE"));

    let mut child = smart()
        .args(["--allow-insecure-localhost", "launch"])
        .args(["--fhir-base", sandbox.base_url()])
        .args(["--client-id", demo::PUBLIC_CLIENT_ID, "--wait", "5"])
        .args(["--param", "prompt=none"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("http://"))
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(url.contains("prompt=none"), "{url}");
}
