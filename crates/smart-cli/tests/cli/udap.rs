//! `smart udap discover` and `smart udap register` against the sandbox's UDAP mode.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;
use smart_sandbox::{Sandbox, SandboxConfig, UdapMode};
use smart_udap::test_util::{LeafKey, TestPki, pem};

use crate::{run, scratch, smart, stderr, stdout};

const CLIENT_URI: &str = "https://app.example/cli-client";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

struct Files {
    anchor: String,
    crls: Vec<String>,
    chain: String,
    key: String,
    metadata: String,
}

fn make_files(pki: &TestPki) -> Files {
    let dir = scratch();
    let leaf = pki
        .leaf(&pki.leaf_spec(CLIENT_URI, LeafKey::ClientRsa))
        .unwrap();
    let crls = pki
        .empty_crls()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(index, crl)| {
            write(
                &dir,
                &format!("crl{index}.pem"),
                &pem("X509 CRL", crl.der()),
            )
        })
        .collect();
    Files {
        anchor: write(&dir, "root.pem", &pem("CERTIFICATE", pki.root().der())),
        crls,
        chain: write(&dir, "chain.pem", &pki.chain_pem(&leaf.certificate)),
        key: write(&dir, "key.pem", &leaf.key_pem),
        metadata: write(
            &dir,
            "metadata.json",
            r#"{"client_name": "CLI B2B", "contacts": ["mailto:ops@app.example"],
                "scope": "system/Patient.rs", "grant_types": ["client_credentials"]}"#,
        ),
    }
}

fn trust_args(files: &Files) -> Vec<String> {
    let mut args = vec!["--anchor".to_owned(), files.anchor.clone()];
    for crl in &files.crls {
        args.push("--crl".into());
        args.push(crl.clone());
    }
    args
}

fn start() -> (Arc<TestPki>, Sandbox) {
    let pki = Arc::new(TestPki::new(SystemTime::now()).unwrap());
    let sandbox =
        Sandbox::start_with(SandboxConfig::new().udap(UdapMode::new(Arc::clone(&pki)))).unwrap();
    (pki, sandbox)
}

#[test]
fn udap_discover_verifies_signed_metadata() {
    let (pki, sandbox) = start();
    let files = make_files(&pki);
    let output = run(smart()
        .args([
            "udap",
            "discover",
            sandbox.base_url(),
            "--allow-insecure-localhost",
        ])
        .args(trust_args(&files)));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}\n{}", stderr(&output));
    assert!(text.contains("signed_metadata verified"), "{text}");
    assert!(text.contains("/udap/register"), "{text}");
    assert!(text.contains("no findings"), "{text}");

    // Another community's root: refused, exit 1.
    let stranger = TestPki::new(SystemTime::now()).unwrap();
    let other = make_files(&stranger);
    let output = run(smart()
        .args([
            "udap",
            "discover",
            sandbox.base_url(),
            "--allow-insecure-localhost",
        ])
        .args(trust_args(&other)));
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("signed_metadata validation failed"),
        "{}",
        stderr(&output)
    );

    // No anchor: a usage error before any request.
    let output = run(smart().args([
        "udap",
        "discover",
        sandbox.base_url(),
        "--allow-insecure-localhost",
    ]));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--anchor"), "{}", stderr(&output));
    // An invalid community: a usage error.
    let output = run(smart()
        .args([
            "udap",
            "discover",
            sandbox.base_url(),
            "--allow-insecure-localhost",
            "--community",
            "not a uri",
        ])
        .args(trust_args(&files)));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid community"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn udap_register_modify_and_cancel() {
    let (pki, sandbox) = start();
    let files = make_files(&pki);
    let register = |extra: &[&str]| {
        run(smart()
            .args(["--json", "udap", "register", "--allow-insecure-localhost"])
            .args(["--fhir-base", sandbox.base_url()])
            .args(["--metadata", &files.metadata, "--client-uri", CLIENT_URI])
            .args(["--cert-chain", &files.chain, "--key", &files.key])
            .args(trust_args(&files))
            .args(extra))
    };
    let output = register(&[]);
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let first: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(first["outcome"], "registered");
    let client_id = first["client_id"].as_str().unwrap().to_owned();
    assert!(client_id.starts_with("udap-"));
    assert!(
        !stdout(&output).contains("BEGIN"),
        "no key material in the output"
    );

    let output = register(&[]);
    let second: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(second["outcome"], "modified");
    assert_eq!(second["client_id"], client_id.as_str());

    // A client URI the certificate does not carry: a usage error, nothing sent.
    let output = run(smart()
        .args(["udap", "register", "--allow-insecure-localhost"])
        .args(["--fhir-base", sandbox.base_url()])
        .args([
            "--metadata",
            &files.metadata,
            "--client-uri",
            "https://app.example/other",
        ])
        .args(["--cert-chain", &files.chain, "--key", &files.key])
        .args(trust_args(&files)));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("URI SAN"), "{}", stderr(&output));

    // Cancelling needs metadata without grant_types.
    let dir = scratch();
    let cancel_metadata = write(
        &dir,
        "cancel.json",
        r#"{"client_name": "CLI B2B", "contacts": ["mailto:ops@app.example"], "scope": "system/Patient.rs"}"#,
    );
    let output = run(smart()
        .args([
            "--json",
            "udap",
            "register",
            "--cancel",
            "--allow-insecure-localhost",
        ])
        .args(["--fhir-base", sandbox.base_url()])
        .args(["--metadata", &cancel_metadata, "--client-uri", CLIENT_URI])
        .args(["--cert-chain", &files.chain, "--key", &files.key])
        .args(trust_args(&files)));
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let cancelled: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(cancelled["outcome"], "cancelled");
    assert_eq!(cancelled["client_id"], client_id.as_str());
}
