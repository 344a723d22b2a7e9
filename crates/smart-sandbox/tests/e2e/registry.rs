//! The issuer registry over two embedded sandboxes as two EHRs, each with its own client:
//! EHR launches from either through both shells, unknown issuers refused before any request,
//! secrets only by reference.

use std::path::Path;

use smart_client::registry::{EhrSettings, IssuerRegistry, RegistryError, SecretRef};
use smart_client::{ClientType, SecretMethod};
use smart_sandbox::{LaunchContext, Sandbox, demo};
use test_support::{Client, both_shells};

use crate::browse;

/// Two EHRs: the public demo client at `a`, the symmetric one (secret from `secret_file`) at
/// `b`.
fn two_ehrs(a: &Sandbox, b: &Sandbox, secret_file: &Path) -> IssuerRegistry {
    let scopes = "openid fhirUser patient/*.rs";
    IssuerRegistry::new(vec![
        EhrSettings::new(
            "a",
            a.base_url(),
            demo::PUBLIC_CLIENT_ID,
            ClientType::Public,
        )
        .redirect_uri(demo::REDIRECT_URI)
        .scopes(scopes)
        .allow_insecure_localhost(true),
        EhrSettings::new(
            "b",
            b.base_url(),
            demo::SYMMETRIC_CLIENT_ID,
            ClientType::ConfidentialSymmetric,
        )
        .client_secret(SecretRef::File(secret_file.to_owned()))
        .secret_method(SecretMethod::Basic)
        .redirect_uri(demo::REDIRECT_URI)
        .scopes(scopes)
        .allow_insecure_localhost(true),
    ])
    .unwrap()
}

/// A secret file of its own for each call (the two shells' runs of a test run at once).
fn secret_file(name: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "smart-registry-{}-{name}-{}.secret",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(&path, format!("{}\n", demo::SYMMETRIC_CLIENT_SECRET)).unwrap();
    path
}

both_shells! {
#[test]
fn ehr_launches_from_either_of_two_ehrs() {
    let (a, b) = (Sandbox::start().unwrap(), Sandbox::start().unwrap());
    let secret = secret_file("launches");
    let registry = two_ehrs(&a, &b, &secret);
    for sandbox in [&a, &b] {
        let iss = sandbox.base_url();
        let launch = sandbox.launch(LaunchContext::demo());
        let (flows, options) = registry.ehr_launch(iss, &launch).unwrap();
        let client = Client::from_flows(flows);
        let request = client.authorize(options).unwrap();
        let callback = browse(&request).unwrap();
        let token = client
            .complete_authorization(&callback, request.pending())
            .unwrap();
        assert_eq!(token.context().patient(), Some(demo::PATIENT_ID), "{iss}");
        assert_eq!(token.context().encounter(), Some(demo::ENCOUNTER_ID), "{iss}");
    }
    // Each sandbox saw only its own client.
    assert_eq!(a.token_requests(demo::SYMMETRIC_CLIENT_ID).authorization_code, 0);
    assert_eq!(b.token_requests(demo::PUBLIC_CLIENT_ID).authorization_code, 0);
    assert_eq!(b.token_requests(demo::SYMMETRIC_CLIENT_ID).authorization_code, 1);
    let _ = std::fs::remove_file(secret);
}
}

#[test]
fn an_unknown_issuer_is_refused_with_the_near_miss_named() {
    let (a, b) = (Sandbox::start().unwrap(), Sandbox::start().unwrap());
    let secret = secret_file("unknown");
    let registry = two_ehrs(&a, &b, &secret);
    let slash = format!("{}/", a.base_url());
    let err = registry.ehr_launch(&slash, "xyz").unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, RegistryError::UnknownIssuer { .. }),
        "{err:?}"
    );
    assert!(message.contains(&format!("\"{slash}\"")), "{message}");
    assert!(
        message.contains(&format!(
            "\"{}\" is registered, which differs only by a trailing slash",
            a.base_url()
        )),
        "{message}"
    );
    let upper = a.base_url().replace("http://", "HTTP://");
    let message = registry.ehr_launch(&upper, "xyz").unwrap_err().to_string();
    assert!(message.contains("differs only in letter case"), "{message}");
    let message = registry
        .ehr_launch("https://evil.example/fhir", "xyz")
        .unwrap_err()
        .to_string();
    assert!(message.contains("treat the link as forged"), "{message}");
    // Nothing reached either sandbox.
    for sandbox in [&a, &b] {
        for client in [demo::PUBLIC_CLIENT_ID, demo::SYMMETRIC_CLIENT_ID] {
            assert_eq!(sandbox.token_requests(client).authorization_code, 0);
        }
    }
    let _ = std::fs::remove_file(secret);
}

#[test]
fn files_take_secrets_by_reference_only() {
    let a = Sandbox::start().unwrap();
    let dir = std::env::temp_dir();
    let inline_json = format!(
        r#"{{"ehr": [{{"name": "a", "issuer": "{}", "client_id": "x",
            "client_type": "confidential-symmetric", "client_secret": "hunter2-LEAK"}}]}}"#,
        a.base_url()
    );
    let err = IssuerRegistry::from_json(&inline_json, &dir).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            RegistryError::InlineSecret {
                field: "client_secret",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(message.contains("client_secret_env"), "{message}");
    assert!(!message.contains("hunter2-LEAK"), "{message}");

    let inline_toml = format!(
        "[[ehr]]\nname = \"a\"\nissuer = \"{}\"\nclient_id = \"x\"\nclient_type = \"confidential-asymmetric\"\nprivate_key = \"-----BEGIN PRIVATE KEY-----LEAK\"\n",
        a.base_url()
    );
    let err = IssuerRegistry::from_toml(&inline_toml, &dir).unwrap_err();
    assert!(
        matches!(
            err,
            RegistryError::InlineSecret {
                field: "private_key",
                ..
            }
        ),
        "{err:?}"
    );

    // By reference: an environment variable that is not set is named in the error.
    let by_env = format!(
        "[[ehr]]\nname = \"a\"\nissuer = \"{}\"\nclient_id = \"{}\"\nclient_type = \"confidential-symmetric\"\nclient_secret_env = \"SMART_TEST_REGISTRY_UNSET_SECRET\"\nallow_insecure_localhost = true\n",
        a.base_url(),
        demo::SYMMETRIC_CLIENT_ID
    );
    let registry = IssuerRegistry::from_toml(&by_env, &dir).unwrap();
    let err = registry.flows_for(a.base_url()).unwrap_err();
    assert!(
        err.to_string()
            .contains("the environment variable SMART_TEST_REGISTRY_UNSET_SECRET is not set"),
        "{err}"
    );

    // A file, relative to the registry file's directory.
    let dir = std::env::temp_dir().join(format!("smart-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("b.secret"), demo::SYMMETRIC_CLIENT_SECRET).unwrap();
    let path = dir.join("ehrs.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"ehr": [{{"name": "a", "issuer": "{}", "client_id": "{}",
                "client_type": "confidential-symmetric", "client_secret_file": "b.secret",
                "redirect_uri": "{}", "scopes": "patient/*.rs", "allow_insecure_localhost": true}}]}}"#,
            a.base_url(),
            demo::SYMMETRIC_CLIENT_ID,
            demo::REDIRECT_URI
        ),
    )
    .unwrap();
    let registry = IssuerRegistry::load(&path).unwrap();
    let client = registry.client_for(a.base_url()).unwrap();
    let request = client
        .authorize(smart_client::AuthorizeOptions::new())
        .unwrap();
    let callback = browse(&request).unwrap();
    let token = client
        .complete_authorization(&callback, request.pending())
        .unwrap();
    assert!(!token.access_token().expose_secret().is_empty());
    assert_eq!(
        a.token_requests(demo::SYMMETRIC_CLIENT_ID)
            .authorization_code,
        1,
        "the secret read from the file authenticated the client"
    );
    let _ = std::fs::remove_dir_all(dir);
}
