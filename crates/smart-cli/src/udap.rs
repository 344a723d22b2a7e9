//! `smart udap discover` and `smart udap register`: UDAP Security STU2 with smart-udap's
//! sans-IO steps over the same ureq transport as the other commands.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use smart_client::HttpClient as _;
use smart_client::core::{FhirBaseUrl, SystemClock, TransportPolicy};
use smart_client::{UreqClient, jwt::Algorithm};
use smart_udap::{
    Community, Crl, TrustPolicy, UdapCredentials, UdapError, UdapRegistration,
    VerifiedUdapMetadata, X509Certificate, discovery_request, read_cancellation, read_discovery,
    read_registration,
};

use crate::args::{Global, TrustArgs, UdapDiscoverArgs, UdapRegisterArgs};
use crate::common::{Failure, error_chain, http_options, print_json};
use crate::output::outln;

/// A certificate, key, CRL or metadata file: read with the size cap every local file of the
/// command has.
fn read_text(path: &Path, what: &str) -> Result<String, Failure> {
    crate::local::read_text(path, what, crate::local::SMALL_FILE)
}

fn failure(error: &UdapError) -> Failure {
    let message = error_chain(error);
    match error {
        UdapError::InvalidCommunity { .. }
        | UdapError::InvalidSetting { .. }
        | UdapError::InvalidRegistrationMetadata { .. }
        | UdapError::MalformedCertificate { .. }
        | UdapError::MalformedCrl { .. }
        | UdapError::ClientCertificate(_)
        | UdapError::Key(_) => Failure::usage(message),
        _ => Failure::server(message),
    }
}

fn policy(global: &Global, trust: &TrustArgs) -> Result<TrustPolicy, Failure> {
    let mut anchors = Vec::new();
    for path in &trust.anchors {
        let text = read_text(path, "trust anchor")?;
        anchors.extend(X509Certificate::chain_from_pem(&text).map_err(|e| failure(&e))?);
    }
    let mut policy = TrustPolicy::new(anchors)
        .with_transport(TransportPolicy::new(global.allow_insecure_localhost));
    for path in &trust.crls {
        let bytes = fs::read(path).map_err(|error| {
            Failure::usage(format!("cannot read the CRL {}: {error}", path.display()))
        })?;
        let crl = match std::str::from_utf8(&bytes) {
            Ok(text) if text.contains("-----BEGIN") => Crl::from_pem(text),
            _ => Crl::from_der(&bytes),
        }
        .map_err(|e| failure(&e))?;
        policy = policy.with_crl(crl);
    }
    if trust.dangerously_skip_chain {
        policy = policy.dangerous_skip_chain_validation();
    } else if trust.anchors.is_empty() {
        return Err(Failure::usage(
            "give the community's root certificate with --anchor FILE (or, for development only, --dangerously-skip-chain)",
        ));
    }
    Ok(policy)
}

fn discover(
    global: &Global,
    fhir_base: &str,
    trust: &TrustArgs,
) -> Result<(VerifiedUdapMetadata, TrustPolicy, UreqClient), Failure> {
    let base = FhirBaseUrl::parse(fhir_base)
        .map_err(|error| Failure::usage(format!("invalid FHIR base URL: {error}")))?;
    base.check_transport(TransportPolicy::new(global.allow_insecure_localhost))
        .map_err(|error| Failure::usage(error.to_string()))?;
    let community = match &trust.community {
        Some(value) => Community::parse(value).map_err(|e| failure(&e))?,
        None => None,
    };
    let policy = policy(global, trust)?;
    let http = UreqClient::new(&http_options(global))
        .map_err(|error| Failure::server(error_chain(&error)))?;
    let request = discovery_request(&base, community.as_ref()).map_err(|e| failure(&e))?;
    let response = http
        .send(request)
        .map_err(|error| Failure::server(error_chain(&error)))?;
    let verified = read_discovery(&base, community.as_ref(), &response, &policy, &SystemClock)
        .map_err(|e| failure(&e))?;
    Ok((verified, policy, http))
}

/// `smart udap discover`.
pub(crate) fn run_discover(global: &Global, args: &UdapDiscoverArgs) -> Result<(), Failure> {
    let (verified, _, _) = discover(global, &args.fhir_base, &args.trust)?;
    let metadata = verified.metadata();
    let report = metadata.conformance();
    let signed = verified.signed();
    let supports = json!({
        "dynamic_registration": metadata.supports_dynamic_registration(),
        "jwt_client_auth": metadata.supports_jwt_client_auth(),
        "client_authorization": metadata.supports_client_authorization(),
        "authorization_code": metadata.supports_authorization_code(),
        "refresh_token": metadata.supports_refresh_token(),
        "tiered_oauth": metadata.supports_tiered_oauth(),
    });
    let findings: Vec<String> = report.findings().iter().map(ToString::to_string).collect();
    if global.json {
        print_json(&json!({
            "ok": true,
            "fhir_base": args.fhir_base,
            "signed_endpoints": {
                "token_endpoint": signed.token_endpoint().as_str(),
                "registration_endpoint": signed.registration_endpoint().as_str(),
                "authorization_endpoint": signed.authorization_endpoint().map(smart_client::core::AuthorizeUrl::as_str),
            },
            "server_certificate": signed.leaf().subject(),
            "chain_verified": !args.trust.dangerously_skip_chain,
            "metadata": Value::Object(metadata.as_object().clone()),
            "supports": supports,
            "conformant": report.is_conformant(),
            "findings": findings,
        }));
        return Ok(());
    }
    outln!(
        "UDAP metadata of {} (signed_metadata verified)",
        args.fhir_base
    );
    if args.trust.dangerously_skip_chain {
        outln!("  WARNING: the certificate chain was NOT verified (--dangerously-skip-chain)");
    }
    outln!("  server certificate       {}", signed.leaf().subject());
    outln!(
        "  token_endpoint           {}",
        signed.token_endpoint().as_str()
    );
    outln!(
        "  registration_endpoint    {}",
        signed.registration_endpoint().as_str()
    );
    outln!(
        "  authorization_endpoint   {}",
        signed
            .authorization_endpoint()
            .map_or("-", |url| url.as_str())
    );
    outln!(
        "  profiles                 {}",
        metadata
            .udap_profiles_supported()
            .unwrap_or_default()
            .join(" ")
    );
    if let Some(object) = supports.as_object() {
        for (name, value) in object {
            outln!("  supports {name:<24} {value}");
        }
    }
    if findings.is_empty() {
        outln!("  conformance              no findings");
    } else {
        outln!("  conformance findings:");
        for finding in &findings {
            outln!("    - {finding}");
        }
    }
    Ok(())
}

/// `smart udap register`.
pub(crate) fn run_register(global: &Global, args: &UdapRegisterArgs) -> Result<(), Failure> {
    let chain = read_text(&args.cert_chain, "certificate chain")?;
    let key = read_text(&args.key, "key")?;
    let credentials = UdapCredentials::from_pem(&chain, &key).map_err(|e| failure(&e))?;
    let text = read_text(&args.metadata, "metadata file")?;
    let metadata = smart_client::core::json::parse_object(text.as_bytes()).map_err(|error| {
        Failure::usage(format!(
            "the metadata file {} is not a JSON object: {error}",
            args.metadata.display()
        ))
    })?;
    let alg = args
        .alg
        .as_deref()
        .map(|name| {
            name.parse::<Algorithm>().map_err(|_| {
                Failure::usage(format!(
                    "unknown algorithm `{name}`; use RS256, RS384 or ES384"
                ))
            })
        })
        .transpose()?;
    let (verified, _, http) = discover(global, &args.fhir_base, &args.trust)?;
    let mut registration = UdapRegistration::new(&verified, &credentials, args.client_uri.clone());
    if let Some(alg) = alg {
        registration = registration.with_algorithm(alg);
    }
    let request = if args.cancel {
        registration.cancel_request(&metadata)
    } else {
        registration.register_request(&metadata)
    }
    .map_err(|e| failure(&e))?;
    let response = http
        .send(request)
        .map_err(|error| Failure::server(error_chain(&error)))?;
    let client = if args.cancel {
        read_cancellation(&response)
    } else {
        read_registration(&response)
    }
    .map_err(|e| failure(&e))?;
    let status = response.status().as_u16();
    let outcome = match (args.cancel, status) {
        (true, _) => "cancelled",
        (false, 201) => "registered",
        (false, _) => "modified",
    };
    if global.json {
        print_json(&json!({
            "ok": true,
            "outcome": outcome,
            "status": status,
            "client_id": client.client_id().as_str(),
            "token_endpoint": verified.signed().token_endpoint().as_str(),
            "registration": Value::Object(client.response().clone()),
        }));
        return Ok(());
    }
    outln!("UDAP client {outcome} (HTTP {status})");
    outln!("  client_id       {}", client.client_id().as_str());
    outln!("  grant_types     {}", client.grant_types().join(" "));
    outln!(
        "  token_endpoint  {}",
        verified.signed().token_endpoint().as_str()
    );
    Ok(())
}
