//! `smart-web-app`: serves the example app, against an embedded SMART sandbox (`--sandbox`)
//! or the EHRs given with `--ehr`.
#![allow(
    clippy::print_stdout,
    reason = "the command prints where to open the app"
)]

use std::error::Error;

use clap::Parser;
use smart_client::ClientType;
use smart_client::registry::{EhrSettings, IssuerRegistry};
use smart_web_app::AppConfig;

/// A SMART on FHIR web app (an example): EHR launch, standalone launch, the patient page,
/// logout.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The port to listen on (127.0.0.1).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Also start an embedded SMART sandbox (login and consent pages, demo data) and trust it
    /// as the EHR named `sandbox`.
    #[arg(long)]
    sandbox: bool,
    /// With --sandbox: the lifetime of its access tokens in seconds (short ones show the
    /// refresh at work).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    token_lifetime: u64,
    /// An EHR to trust: its name, its FHIR base URL (the iss) and the client id of a public
    /// client registered there for the app's /callback, separated by commas. Repeat for more.
    #[arg(long, value_name = "NAME,ISS,CLIENT_ID")]
    ehr: Vec<String>,
    /// Keep sessions in the Redis server at this redis:// URL instead of memory.
    #[cfg(feature = "redis")]
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
}

/// A public client at `iss` whose redirect URI is the app's `/callback`.
fn ehr(name: &str, iss: &str, client_id: &str, app_url: &str) -> EhrSettings {
    EhrSettings::new(name, iss, client_id, ClientType::Public)
        .redirect_uri(format!("{app_url}/callback"))
        .allow_insecure_localhost(true)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let app_url = format!("http://{}", listener.local_addr()?);
    let mut ehrs = Vec::new();
    for spec in &args.ehr {
        let [name, iss, client_id] = spec.split(',').collect::<Vec<_>>()[..] else {
            return Err(format!("--ehr {spec}: give NAME,ISS,CLIENT_ID").into());
        };
        ehrs.push(ehr(name, iss, client_id, &app_url));
    }
    let sandbox = if args.sandbox {
        let config = smart_sandbox::SandboxConfig::new()
            .login_and_consent(true)
            .access_token_lifetime(args.token_lifetime);
        let sandbox = smart_sandbox::Sandbox::start_with(config)?;
        let id = smart_sandbox::demo::PUBLIC_CLIENT_ID;
        ehrs.push(ehr("sandbox", sandbox.base_url(), id, &app_url));
        Some(sandbox)
    } else {
        None
    };
    if ehrs.is_empty() {
        return Err("no EHR to trust: give --sandbox or --ehr NAME,ISS,CLIENT_ID".into());
    }
    #[allow(unused_mut, reason = "changed only with the redis feature")]
    let mut config = AppConfig::new(IssuerRegistry::new(ehrs)?, &app_url);
    #[cfg(feature = "redis")]
    if let Some(url) = &args.redis {
        let store = smart_session::RedisStore::connect(url, "smart-web-app").await?;
        config = config.store(std::sync::Arc::new(store));
    }
    println!("the app: {app_url}/");
    if let Some(sandbox) = &sandbox {
        println!(
            "EHR launch: {}",
            sandbox.launcher_url(&format!("{app_url}/launch"))
        );
        println!(
            "sign in as {} or {}, password {}",
            smart_sandbox::demo::PRACTITIONER_USERNAME,
            smart_sandbox::demo::PATIENT_USERNAME,
            smart_sandbox::demo::USER_PASSWORD
        );
    }
    println!("Ctrl-C to stop");
    axum::serve(listener, smart_web_app::router(config))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    drop(sandbox);
    Ok(())
}
