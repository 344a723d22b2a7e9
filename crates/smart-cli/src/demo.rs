//! `smart demo`: start the embedded sandbox and run every flow against it. With `--server`, the
//! same flows run against another SMART server (`cargo xtask conformance`).

use crate::output::outln;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use smart_conformance::{
    AppClient, BackendClient, DISCOVERY_STEP, EhrLaunchRecipe, Outcome, Profile, Report,
    Transcript, run_all, sandbox_profile,
};
use smart_sandbox::Sandbox;

use crate::args::{DemoArgs, Global};
use crate::clients_file::{self, AppEntry};
use crate::common::{Failure, json_text, read_key, read_secret};
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
            sandbox_profile(sandbox, Duration::from_secs(global.timeout))
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
    let sink = |line: &str| outln!("{line}");
    let transcript = if verbose {
        Transcript::to(&sink)
    } else {
        Transcript::quiet()
    };
    let report = run_all(&profile, &transcript);
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
        .filter(|(name, outcome)| {
            matches!(outcome, Outcome::Passed | Outcome::ServerFinding(_)) && name != DISCOVERY_STEP
        })
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
        let mut document = report.to_json();
        document["ok"] = json!(failure.is_none());
        if let Some(failure) = failure {
            document["kind"] = json!(failure.kind());
            document["error"] = json!(failure.message());
        }
        outln!("{}", json_text(&document, false));
        return;
    }
    if table {
        outln!("{}", report.table().trim_end());
    }
    outln!("\n{}", report.summary());
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
        ehr_client: None,
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
        ehr_launch: file
            .ehr_launch
            .map(|entry| ehr_launch(entry, server, path))
            .transpose()?,
        advance_clock: None,
        auto_approve,
        registration: file.registration,
        udap: None,
    })
}

/// The EHR launch maker of a clients file's `ehr_launch`.
fn ehr_launch(
    entry: clients_file::EhrLaunchEntry,
    server: &str,
    path: &Path,
) -> Result<Box<dyn Fn() -> Result<String, String>>, Failure> {
    let usage = |error: String| Failure::usage(format!("{}: {error}", path.display()));
    let recipe = match entry.recipe().map_err(usage)? {
        clients_file::LaunchRecipe::Fixed(launch) => EhrLaunchRecipe::Fixed(launch),
        clients_file::LaunchRecipe::Launcher { url, launch_uri } => {
            EhrLaunchRecipe::Launcher { url, launch_uri }
        }
    };
    recipe.check().map_err(usage)?;
    Ok(recipe.maker(server))
}
