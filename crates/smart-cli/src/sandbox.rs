//! `smart sandbox`: the embedded SMART server as a process.

use crate::output::outln;
use smart_sandbox::{LaunchContext, Sandbox, SandboxConfig, demo};

use crate::args::{Global, SandboxArgs};
use crate::common::{Failure, error_chain};

pub(crate) fn run(global: &Global, args: &SandboxArgs) -> Result<(), Failure> {
    let mut config = SandboxConfig::new()
        .port(args.port)
        .interactive(args.interactive)
        .login_and_consent(args.login);
    if let Some(seconds) = args.access_token_lifetime {
        config = config.access_token_lifetime(seconds);
    }
    if let Some(seconds) = args.backend_token_lifetime {
        config = config.backend_token_lifetime(seconds);
    }
    if let Some(path) = &args.clients {
        config = config
            .clients_from_file(path)
            .map_err(|error| Failure::usage(error_chain(&error)))?;
    }
    let sandbox =
        Sandbox::start_with(config).map_err(|error| Failure::usage(error_chain(&error)))?;
    let base = sandbox.base_url().to_owned();
    let launch = match &args.ehr_launch {
        Some(patient) => Some(ehr_launch(
            &sandbox,
            patient,
            args.app_launch_url.as_deref(),
        )?),
        None => None,
    };
    if global.json {
        let mut answer = serde_json::json!({
            "ok": true,
            "fhir_base": base,
            "token_endpoint": sandbox.token_url(),
            "launcher": format!("{base}/launcher"),
        });
        if let Some((launch, url)) = &launch {
            answer["launch"] = serde_json::Value::from(launch.as_str());
            if let Some(url) = url {
                answer["ehr_launch_url"] = serde_json::Value::from(url.as_str());
            }
        }
        outln!("{answer}");
    } else {
        outln!("SMART sandbox listening at {base} (FHIR base and issuer)");
        outln!("  discovery:  {base}/.well-known/smart-configuration");
        outln!("  demo clients (public test credentials, never use them elsewhere):");
        outln!(
            "    {:<30} public, redirect {}",
            demo::PUBLIC_CLIENT_ID,
            demo::REDIRECT_URI
        );
        outln!(
            "    {:<30} client secret \"{}\"",
            demo::SYMMETRIC_CLIENT_ID,
            demo::SYMMETRIC_CLIENT_SECRET
        );
        outln!(
            "    {:<30} key crates/smart-sandbox/keys/es384.pem, kid {}",
            demo::ASYMMETRIC_CLIENT_ID,
            demo::asymmetric_kid()
        );
        outln!(
            "    {:<30} key crates/smart-sandbox/keys/rs384.pem, kid {}",
            demo::BACKEND_CLIENT_ID,
            demo::backend_kid()
        );
        outln!("  EHR launcher: {base}/launcher?launch_url=YOUR_APP_LAUNCH_URL");
        if args.login {
            outln!(
                "  login: {} or {}, password {}",
                demo::PRACTITIONER_USERNAME,
                demo::PATIENT_USERNAME,
                demo::USER_PASSWORD
            );
        }
        if let Some((launch, url)) = &launch {
            outln!("  EHR launch: iss={base} launch={launch}");
            if let Some(url) = url {
                outln!("  open: {url}");
            }
        }
        outln!("  try: smart --allow-insecure-localhost discover {base}");
        outln!("Press Ctrl-C to stop.");
    }
    sandbox.wait();
    Ok(())
}

/// A launch bound to `patient` (with its encounter, when it has one) and, with the app's
/// launch URL, the whole URL an EHR would open.
fn ehr_launch(
    sandbox: &Sandbox,
    patient: &str,
    app_launch_url: Option<&str>,
) -> Result<(String, Option<String>), Failure> {
    let mut context = LaunchContext::for_patient(patient);
    if patient == demo::PATIENT_ID {
        context = context.with_encounter(demo::ENCOUNTER_ID);
    } else if patient != demo::OTHER_PATIENT_ID {
        return Err(Failure::usage(format!(
            "--ehr-launch {patient}: not a demo patient; use {} or {}",
            demo::PATIENT_ID,
            demo::OTHER_PATIENT_ID
        )));
    }
    match app_launch_url {
        None => Ok((sandbox.launch(context), None)),
        Some(app) => {
            let url = sandbox.ehr_launch_url(app, context).map_err(|error| {
                Failure::usage(format!("--app-launch-url: {}", error_chain(&error)))
            })?;
            let launch = smart_core::url::Url::parse(&url)
                .ok()
                .and_then(|url| {
                    url.query_pairs()
                        .find(|(name, _)| name == "launch")
                        .map(|(_, value)| value.into_owned())
                })
                .unwrap_or_default();
            Ok((launch, Some(url)))
        }
    }
}
