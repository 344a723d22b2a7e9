//! The profiles for the SMART reference server, smart-launcher-v2: it has no client registry,
//! a client *is* its "sim" (a base64url JSON array in the URL path or the `launch` value), so
//! each client type gets its own FHIR base. Keys are made at run time; a loopback helper
//! serves their JWK Set (for `jwks_url` clients) and stands in for the upstream FHIR server.

use std::io::{BufRead, BufReader, Read as _, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::json;
use smart_client::SecretMethod;
use smart_client::jwt::{JwkSet, PrivateKey};

use crate::profile::{AppClient, BackendClient, Profile};

/// Never contacted: the browser stops at it.
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
const PATIENT: &str = "123";
const PROVIDER: &str = "prov-1";

/// The sim for one client: the 17 launch parameters, base64url of their JSON array.
#[derive(Debug, Clone)]
struct Sim {
    launch_type: u8,
    client_id: &'static str,
    secret: &'static str,
    jwks_url: String,
    jwks: String,
    client_type: u8,
    scope: &'static str,
    fhir_server: String,
}

impl Sim {
    fn encode(&self) -> String {
        let backend = self.launch_type == 4;
        let array = json!([
            self.launch_type,
            if backend { "" } else { PATIENT },
            if backend { "" } else { PROVIDER },
            if backend { "" } else { "NONE" },
            u8::from(!backend),
            u8::from(!backend),
            0,
            self.scope,
            if backend { "" } else { REDIRECT_URI },
            self.client_id,
            self.secret,
            "",
            self.jwks_url,
            self.jwks,
            self.client_type,
            // PKCE: always for the public client, when sent for the others.
            if self.client_type == 0 { 2 } else { 1 },
            self.fhir_server,
        ]);
        Base64UrlUnpadded::encode_string(array.to_string().as_bytes())
    }
}

/// One client type at the launcher: its name in the table and its profile.
pub type NamedProfile = (String, Profile<'static>);

/// The loopback helper: the client keys' JWK Set at `/jwks.json`, and a FHIR server that
/// answers every read with a Patient, for the launcher to proxy to.
#[derive(Debug)]
pub struct LoopbackHelper {
    base: String,
}

impl LoopbackHelper {
    /// Starts the helper on a free loopback port, serving `jwks` (it runs until the process
    /// ends).
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub fn start(jwks: &JwkSet) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base = format!("http://{}", listener.local_addr()?);
        let jwks = Arc::new(jwks.to_json());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let jwks = Arc::clone(&jwks);
                std::thread::spawn(move || serve(stream, &jwks));
            }
        });
        Ok(Self { base })
    }

    fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.base)
    }

    fn fhir(&self) -> String {
        format!("{}/fhir", self.base)
    }
}

fn serve(stream: std::net::TcpStream, jwks: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone).take(64 * 1024);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split(' ').nth(1).unwrap_or_default();
    let (kind, body) = if path.starts_with("/jwks.json") {
        ("application/json", jwks.to_owned())
    } else {
        let id = path.rsplit('/').next().unwrap_or(PATIENT);
        (
            "application/fhir+json",
            json!({"resourceType": "Patient", "id": id}).to_string(),
        )
    };
    let mut stream = stream;
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}

/// The client types run against the launcher at `base` (its origin, such as
/// `http://127.0.0.1:8445`): public, symmetric, asymmetric ES384 and RS384 with inline JWKS and
/// with a `jwks_url`, an EHR launch, and Backend Services ES384 and RS384.
///
/// # Errors
/// When a key cannot be made or the loopback helper cannot start.
pub fn launcher_profiles(base: &str, timeout: Duration) -> Result<Vec<NamedProfile>, String> {
    let base = base.trim_end_matches('/').to_owned();
    let es384 = PrivateKey::generate_p384().map_err(|e| e.to_string())?;
    let rs384 = PrivateKey::generate_rsa(2048).map_err(|e| e.to_string())?;
    let set: JwkSet = [
        es384.public_jwk(Some("es384-key")),
        rs384.public_jwk(Some("rs384-key")),
    ]
    .into_iter()
    .collect();
    let helper = LoopbackHelper::start(&set).map_err(|e| e.to_string())?;
    let jwks = set.to_json();
    let sim = |launch_type, client_type, client_id| Sim {
        launch_type,
        client_id,
        secret: "",
        jwks_url: String::new(),
        jwks: String::new(),
        client_type,
        scope: "",
        fhir_server: helper.fhir(),
    };
    let fhir = |sim: &Sim| format!("{base}/v/r4/sim/{}/fhir", sim.encode());
    let app = |client_id: &str| AppClient {
        client_id: client_id.to_owned(),
        redirect_uri: REDIRECT_URI.to_owned(),
        scope: "launch/patient openid fhirUser offline_access patient/*.read".to_owned(),
        secret: None,
        secret_method: SecretMethod::Basic,
        key: None,
        kid: None,
    };
    let copy = |key: &PrivateKey| -> Result<PrivateKey, String> {
        let pem = key.to_pkcs8_pem().map_err(|e| e.to_string())?;
        PrivateKey::from_pem(&pem).map_err(|e| e.to_string())
    };
    let empty = |fhir_base: String| Profile {
        fhir_base,
        allow_insecure_localhost: true,
        timeout,
        public: None,
        symmetric: None,
        asymmetric: None,
        asymmetric_jwks_uri: None,
        ehr_client: None,
        backend: None,
        ehr_launch: None,
        advance_clock: None,
        auto_approve: true,
        registration: None,
        udap: None,
    };
    let mut profiles = Vec::new();

    let public = sim(3, 0, "pub-app");
    profiles.push((
        "public".to_owned(),
        Profile {
            public: Some(app("pub-app")),
            ..empty(fhir(&public))
        },
    ));

    let symmetric = Sim {
        secret: "s3cr3t",
        ..sim(2, 1, "sym-app")
    };
    let sym_app = || AppClient {
        secret: Some("s3cr3t".to_owned()),
        ..app("sym-app")
    };
    profiles.push((
        "symmetric".to_owned(),
        Profile {
            symmetric: Some(sym_app()),
            ..empty(fhir(&symmetric))
        },
    ));

    // EHR launch: the client's sim travels as the launch value (it wins over the path sim);
    // the path sim only points the FHIR proxy at the loopback helper.
    let ehr = Sim {
        secret: "s3cr3t",
        ..sim(0, 1, "sym-app")
    };
    let launch = ehr.encode();
    profiles.push((
        "EHR launch".to_owned(),
        Profile {
            ehr_client: Some(sym_app()),
            ehr_launch: Some(Box::new(move || Ok(launch.clone()))),
            ..empty(fhir(&ehr))
        },
    ));

    for (name, key, kid) in [
        ("ES384", &es384, "es384-key"),
        ("RS384", &rs384, "rs384-key"),
    ] {
        let asym_app = || -> Result<AppClient, String> {
            Ok(AppClient {
                key: Some(copy(key)?),
                kid: Some(kid.to_owned()),
                ..app("asym-app")
            })
        };
        let inline = Sim {
            jwks: jwks.clone(),
            ..sim(2, 2, "asym-app")
        };
        profiles.push((
            format!("asymmetric {name} inline JWKS"),
            Profile {
                asymmetric: Some(asym_app()?),
                ..empty(fhir(&inline))
            },
        ));
        let by_url = Sim {
            jwks_url: helper.jwks_url(),
            ..sim(2, 2, "asym-app")
        };
        profiles.push((
            format!("asymmetric {name} jwks_url"),
            Profile {
                asymmetric_jwks_uri: Some(asym_app()?),
                ..empty(fhir(&by_url))
            },
        ));
        let backend = Sim {
            jwks: jwks.clone(),
            scope: "system/*.read",
            ..sim(4, 3, "bs-app")
        };
        profiles.push((
            format!("backend {name}"),
            Profile {
                backend: Some(BackendClient {
                    client_id: "bs-app".to_owned(),
                    key: copy(key)?,
                    kid: Some(kid.to_owned()),
                    scope: Some("system/Patient.read system/Observation.read".to_owned()),
                }),
                ..empty(fhir(&backend))
            },
        ));
    }
    // The helper thread lives on; the value only carries its address.
    drop(helper);
    Ok(profiles)
}

/// Whether a skip means the profile has no such client at all (the merged table leaves those
/// out: each launcher profile holds one client type).
pub fn not_applicable(outcome: &crate::Outcome) -> bool {
    matches!(outcome, crate::Outcome::Skipped(reason)
        if reason.starts_with("no ") && reason.contains("configured"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sim_is_base64url_of_the_17_launch_parameters() {
        let sim = Sim {
            secret: "s3cr3t",
            ..Sim {
                launch_type: 2,
                client_id: "sym-app",
                secret: "",
                jwks_url: String::new(),
                jwks: String::new(),
                client_type: 1,
                scope: "",
                fhir_server: "http://127.0.0.1:9/fhir".to_owned(),
            }
        };
        let encoded = sim.encode();
        assert!(!encoded.contains(['=', '+', '/']), "{encoded}");
        let bytes = Base64UrlUnpadded::decode_vec(&encoded).unwrap();
        let array: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let array = array.as_array().unwrap();
        assert_eq!(array.len(), 17);
        assert_eq!(array[0], 2);
        assert_eq!(array[1], PATIENT);
        assert_eq!(array[3], "NONE");
        assert_eq!(array[8], REDIRECT_URI);
        assert_eq!(array[9], "sym-app");
        assert_eq!(array[10], "s3cr3t");
        assert_eq!(array[14], 1);
        assert_eq!(array[16], "http://127.0.0.1:9/fhir");
    }
}
