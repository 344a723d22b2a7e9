//! `smart demo`: start the embedded sandbox and run every flow against it. With `--server`, the
//! same flows run against another SMART server (`cargo xtask conformance`).

use crate::output::outln;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use smart_client::SecretMethod;
use smart_sandbox::{LaunchContext, Sandbox, demo};

use crate::args::{DemoArgs, Global};
use crate::clients_file::{self, AppEntry};
use crate::common::{Failure, esc, json_text, read_key, read_secret};
use crate::flows::{AppClient, BackendClient, DISCOVERY_STEP, Outcome, Profile, Report, run_all};
use crate::local::{LARGE_FILE, read_text};

pub(crate) fn run(global: &Global, args: &DemoArgs) -> Result<(), Failure> {
    let verbose = !args.table && !global.json;
    // The sandbox lives until the end of the run.
    let sandbox = match &args.server {
        None => Some(start_sandbox()?),
        Some(_) => None,
    };
    let profile = match (&args.server, &sandbox) {
        (None, Some(sandbox)) => {
            if verbose {
                outln!(
                    "SMART sandbox started at {} (loopback, offline)\n",
                    sandbox.base_url()
                );
            }
            sandbox_profile(sandbox, global)
        }
        (Some(server), _) => {
            let path = args
                .clients
                .as_deref()
                .ok_or_else(|| Failure::usage("--server needs --clients FILE"))?;
            if verbose {
                outln!("Running the SMART flows against {server}\n");
            }
            external_profile(server, path, args.auto_approve, global)?
        }
        (None, None) => return Err(Failure::server("the sandbox did not start")),
    };
    let report = run_all(&profile, verbose);
    let failure = verdict(&report);
    print_report(&report, args.table, global.json, failure.as_ref());
    match failure {
        None => Ok(()),
        // The JSON document already says what failed: stdout stays one document.
        Some(failure) if global.json => Err(Failure::Reported(failure.exit_code())),
        Some(failure) => Err(failure),
    }
}

/// The demo sandbox, with its UDAP mode on over a PKI made now.
fn start_sandbox() -> Result<Sandbox, Failure> {
    let pki = smart_udap::test_util::TestPki::new(std::time::SystemTime::now())
        .map_err(|error| Failure::server(format!("cannot make the UDAP test PKI: {error}")))?;
    let config = smart_sandbox::SandboxConfig::new()
        .udap(smart_sandbox::UdapMode::new(std::sync::Arc::new(pki)));
    Sandbox::start_with(config)
        .map_err(|error| Failure::server(format!("cannot start the sandbox: {error}")))
}

/// What the run verified: a failure when a flow failed, and also when nothing but discovery
/// passed (every other flow skipped): a run that verified nothing must not look like success.
fn verdict(report: &Report) -> Option<Failure> {
    if report.failed() > 0 {
        return Some(Failure::server(format!(
            "{} of {} flows failed",
            report.failed(),
            report.steps.len()
        )));
    }
    let verified = report
        .steps
        .iter()
        .filter(|(name, outcome)| *outcome == Outcome::Passed && name != DISCOVERY_STEP)
        .count();
    if verified == 0 {
        return Some(Failure::usage(format!(
            "nothing was verified beyond discovery: {} of {} flows were skipped; add clients to \
             the clients file, or give --auto-approve for a server that approves at once",
            report.steps.len() - report.passed(),
            report.steps.len()
        )));
    }
    None
}

fn print_report(report: &Report, table: bool, json_output: bool, failure: Option<&Failure>) {
    if json_output {
        let steps: Vec<_> = report
            .steps
            .iter()
            .map(|(name, outcome)| match outcome {
                Outcome::Passed => json!({"flow": name, "result": "pass"}),
                Outcome::Failed(reason) => {
                    json!({"flow": name, "result": "fail", "detail": reason})
                }
                Outcome::Skipped(reason) => {
                    json!({"flow": name, "result": "skip", "detail": reason})
                }
            })
            .collect();
        let mut document = json!({
            "ok": failure.is_none(),
            "passed": report.passed(),
            "failed": report.failed(),
            "skipped": report.skipped(),
            "steps": steps,
        });
        if let Some(failure) = failure {
            document["kind"] = json!(failure.kind());
            document["error"] = json!(failure.message());
        }
        outln!("{}", json_text(&document, false));
        return;
    }
    if table {
        outln!("| flow | result | detail |");
        outln!("|---|---|---|");
        for (name, outcome) in &report.steps {
            let (result, detail) = match outcome {
                Outcome::Passed => ("pass", String::new()),
                Outcome::Failed(reason) => ("FAIL", reason.replace('|', "\\|")),
                Outcome::Skipped(reason) => ("skip", reason.replace('|', "\\|")),
            };
            outln!("| {name} | {result} | {} |", esc(&detail));
        }
    }
    outln!(
        "\n{} passed, {} failed, {} skipped, of {} flows",
        report.passed(),
        report.failed(),
        report.skipped(),
        report.steps.len()
    );
}

fn sandbox_profile<'a>(sandbox: &'a Sandbox, global: &Global) -> Profile<'a> {
    let base = sandbox.base_url().to_owned();
    let app = |client_id: &str| AppClient {
        client_id: client_id.to_owned(),
        redirect_uri: demo::REDIRECT_URI.to_owned(),
        scope: "launch/patient openid fhirUser offline_access patient/*.rs".to_owned(),
        secret: None,
        secret_method: SecretMethod::default(),
        key: None,
        kid: None,
    };
    let mut metadata = serde_json::Map::new();
    metadata.insert(
        "client_name".into(),
        json!("Demo app registered at run time"),
    );
    metadata.insert("redirect_uris".into(), json!([demo::REDIRECT_URI]));
    metadata.insert("token_endpoint_auth_method".into(), json!("none"));
    metadata.insert(
        "grant_types".into(),
        json!(["authorization_code", "refresh_token"]),
    );
    metadata.insert(
        "scope".into(),
        json!("launch/patient openid fhirUser patient/*.rs"),
    );
    Profile {
        fhir_base: base,
        allow_insecure_localhost: true,
        timeout: Duration::from_secs(global.timeout),
        public: Some(app(demo::PUBLIC_CLIENT_ID)),
        symmetric: Some(AppClient {
            secret: Some(demo::SYMMETRIC_CLIENT_SECRET.to_owned()),
            ..app(demo::SYMMETRIC_CLIENT_ID)
        }),
        asymmetric: Some(AppClient {
            key: Some(demo::asymmetric_key()),
            kid: Some(demo::asymmetric_kid().to_owned()),
            ..app(demo::ASYMMETRIC_CLIENT_ID)
        }),
        asymmetric_jwks_uri: Some(AppClient {
            key: Some(demo::asymmetric_key()),
            kid: Some(demo::asymmetric_kid().to_owned()),
            ..app(demo::ASYMMETRIC_JKU_CLIENT_ID)
        }),
        backend: Some(BackendClient {
            client_id: demo::BACKEND_CLIENT_ID.to_owned(),
            key: demo::backend_key(),
            kid: Some(demo::backend_kid().to_owned()),
            scope: Some("system/Patient.rs system/Observation.rs".to_owned()),
        }),
        ehr_launch: Some(Box::new(move || sandbox.launch(LaunchContext::demo()))),
        advance_clock: Some(Box::new(move |by| sandbox.advance_clock(by))),
        auto_approve: true,
        registration: Some(metadata),
        udap: crate::udap_flow::sandbox_profile(sandbox),
    }
}

fn external_profile(
    server: &str,
    path: &Path,
    auto_approve: bool,
    global: &Global,
) -> Result<Profile<'static>, Failure> {
    let text = read_text(path, "clients file", LARGE_FILE)?;
    let file = clients_file::parse(&text)
        .map_err(|error| Failure::usage(format!("{}: {error}", path.display())))?;
    let app = |entry: Option<AppEntry>| -> Result<Option<AppClient>, Failure> {
        let Some(entry) = entry else { return Ok(None) };
        let secret_method = entry
            .secret_method()
            .map_err(|error| Failure::usage(format!("{}: {error}", path.display())))?;
        Ok(Some(AppClient {
            secret: read_secret(entry.client_secret_env.as_deref(), None, "client secret")?,
            secret_method,
            key: entry.key_file.as_deref().map(read_key).transpose()?,
            client_id: entry.client_id,
            redirect_uri: entry.redirect_uri,
            scope: entry.scope,
            kid: entry.kid,
        }))
    };
    Ok(Profile {
        fhir_base: server.to_owned(),
        allow_insecure_localhost: global.allow_insecure_localhost,
        timeout: Duration::from_secs(global.timeout),
        public: app(file.public)?,
        symmetric: app(file.confidential_symmetric)?,
        asymmetric: app(file.confidential_asymmetric)?,
        asymmetric_jwks_uri: app(file.confidential_asymmetric_jwks_uri)?,
        backend: file
            .backend
            .map(|entry| -> Result<BackendClient, Failure> {
                Ok(BackendClient {
                    client_id: entry.client_id,
                    key: read_key(&entry.key_file)?,
                    kid: entry.kid,
                    scope: entry.scope,
                })
            })
            .transpose()?,
        ehr_launch: None,
        advance_clock: None,
        auto_approve,
        registration: file.registration,
        udap: None,
    })
}
