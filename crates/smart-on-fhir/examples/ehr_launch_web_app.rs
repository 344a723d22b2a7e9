//! An EHR launch in a minimal web app: the EHR opens `/launch?iss=...&launch=...`, the app
//! checks `iss` against its allow-list, sends the browser to the authorization server with the
//! launch value, keeps the pending authorization in a server-side session tied to a cookie, and
//! on `/callback` checks the state, exchanges the code, verifies the `id_token` and shows the
//! patient.
//!
//! ```sh
//! cargo run -p smart-on-fhir --example ehr_launch_web_app --features client-confidential-symmetric,openid            # self-test, offline
//! cargo run -p smart-on-fhir --example ehr_launch_web_app --features client-confidential-symmetric,openid -- --serve # keep serving for a browser
//! ```
//!
//! It runs against the embedded sandbox: the sandbox plays the EHR (it makes the launch URL)
//! and, in the self-test, the example also plays the browser.
#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use std::collections::HashMap;
use std::error::Error;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use smart_on_fhir::{
    AuthorizeOptions, ClientConfig, ClientType, PendingAuthorization, SmartClient,
};
use smart_sandbox::{LaunchContext, Sandbox, demo};

/// The app: its client, the FHIR servers it trusts, and its sessions.
struct App {
    client: SmartClient,
    /// EHR launch `iss` values the app accepts. Launching from anywhere else is refused: that
    /// keeps the app from being an open redirector.
    trusted_issuers: Vec<String>,
    /// Session id (cookie) -> the pending authorization, serialised as a session store would.
    sessions: HashMap<String, String>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let serve = std::env::args().any(|arg| arg == "--serve");
    let sandbox = Sandbox::start()?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let app_url = format!("http://{}", listener.local_addr()?);

    let config = ClientConfig::builder(sandbox.base_url())
        .client_id(demo::SYMMETRIC_CLIENT_ID)
        .client_secret(smart_on_fhir::token::ClientSecret::new(
            demo::SYMMETRIC_CLIENT_SECRET,
        ))
        .redirect_uri(format!("{app_url}/callback"))
        .scopes("launch openid fhirUser patient/*.rs")
        .allow_insecure_localhost(true)
        .build()?;
    let mut app = App {
        client: SmartClient::new(config, ClientType::ConfidentialSymmetric)?,
        trusted_issuers: vec![sandbox.base_url().to_owned()],
        sessions: HashMap::new(),
    };

    // The EHR opens the app's launch URL with iss and a launch value bound to a patient.
    let launch_url = sandbox.ehr_launch_url(&format!("{app_url}/launch"), LaunchContext::demo())?;
    println!("app listening at {app_url}");
    println!("EHR launch URL: {launch_url}");

    if serve {
        println!("open the EHR launch URL in a browser; Ctrl-C to stop");
        for stream in listener.incoming() {
            app.handle(stream?);
        }
        return Ok(());
    }

    // Self-test: play the browser in a second thread while the app serves here.
    let browser = std::thread::spawn(move || browse(&launch_url));
    for _ in 0..2 {
        let (stream, _) = listener.accept()?;
        app.handle(stream);
    }
    let page = browser
        .join()
        .map_err(|_| "the browser thread panicked")??;
    println!("the browser ended on: {page}");
    Ok(())
}

impl App {
    fn handle(&mut self, mut stream: TcpStream) {
        let Some(target) = read_target(&mut stream) else {
            return;
        };
        let cookie = read_cookie(&target.1);
        let (path, query) = target.0.split_once('?').unwrap_or((target.0.as_str(), ""));
        let params: HashMap<String, String> = smart_on_fhir::core::form::decode(query.as_bytes())
            .into_iter()
            .collect();
        let response = match path {
            "/launch" => self.launch(&params),
            "/callback" => self.callback(&target.0, cookie.as_deref()),
            _ => Response::page(404, "not found"),
        };
        let _ = stream.write_all(response.render().as_bytes());
    }

    /// `/launch?iss=...&launch=...`: check iss, start the authorization.
    fn launch(&mut self, params: &HashMap<String, String>) -> Response {
        let (Some(iss), Some(launch)) = (params.get("iss"), params.get("launch")) else {
            return Response::page(400, "an EHR launch needs iss and launch");
        };
        if !self.trusted_issuers.contains(iss) {
            return Response::page(403, "this app is not registered with that EHR");
        }
        let request = match self
            .client
            .authorize(AuthorizeOptions::new().launch(launch.clone()))
        {
            Ok(request) => request,
            Err(error) => return Response::page(502, &error.to_string()),
        };
        let location = request.url().to_string();
        let Ok(session) = smart_on_fhir::pkce::State::generate() else {
            return Response::page(500, "no randomness");
        };
        let Ok(stored) = serde_json::to_string(request.pending()) else {
            return Response::page(500, "cannot store the session");
        };
        self.sessions
            .insert(session.expose_secret().to_owned(), stored);
        Response {
            status: 302,
            headers: vec![
                ("location".into(), location),
                (
                    "set-cookie".into(),
                    format!(
                        "sid={}; HttpOnly; SameSite=Lax; Path=/",
                        session.expose_secret()
                    ),
                ),
            ],
            body: String::new(),
        }
    }

    /// `/callback?code=...&state=...`: the session's pending authorization, the state check,
    /// the exchange, the `id_token`, the patient.
    fn callback(&mut self, target: &str, cookie: Option<&str>) -> Response {
        let Some(stored) = cookie.and_then(|sid| self.sessions.remove(sid)) else {
            return Response::page(400, "no launch in progress for this browser");
        };
        let Ok(pending) = serde_json::from_str::<PendingAuthorization>(&stored) else {
            return Response::page(500, "the session is corrupt");
        };
        let token = match self.client.complete_authorization(target, &pending) {
            Ok(token) => token,
            Err(error) => return Response::page(400, &error.to_string()),
        };
        let user = token
            .id_token()
            .and_then(|id| self.client.verify_id_token(id, pending.nonce()).ok())
            .and_then(|claims| claims.fhir_user().map(str::to_owned))
            .unwrap_or_else(|| "unknown".to_owned());
        let patient = token.context().patient().unwrap_or_default().to_owned();
        match self
            .client
            .read_resource(token.access_token(), &format!("Patient/{patient}"))
        {
            Ok(resource) => Response::page(
                200,
                &format!(
                    "{user} is looking at Patient/{} ({})",
                    patient, resource["name"][0]["family"]
                ),
            ),
            Err(error) => Response::page(502, &error.to_string()),
        }
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn page(status: u16, text: &str) -> Self {
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        Self {
            status,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: format!("<!doctype html><p>{escaped}</p>"),
        }
    }

    fn render(&self) -> String {
        let mut headers = String::new();
        for (name, value) in &self.headers {
            headers.push_str(name);
            headers.push_str(": ");
            headers.push_str(value);
            headers.push_str("\r\n");
        }
        format!(
            "HTTP/1.1 {} X\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{}",
            self.status,
            self.body.len(),
            self.body
        )
    }
}

/// The request target and the raw head.
fn read_target(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut read = 0;
    while read < buffer.len() {
        let n = stream.read(&mut buffer[read..]).ok()?;
        if n == 0 {
            break;
        }
        read += n;
        if buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buffer[..read]).into_owned();
    let target = head.lines().next()?.split_whitespace().nth(1)?.to_owned();
    Some((target, head))
}

fn read_cookie(head: &str) -> Option<String> {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, value)| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("sid=").map(str::to_owned))
}

/// The browser: follows the redirects (launch -> authorize -> callback) carrying the cookie,
/// and returns the text of the final page.
fn browse(launch_url: &str) -> Result<String, String> {
    let agent: smart_on_fhir::client::ureq::Agent =
        smart_on_fhir::client::ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
    let mut url = launch_url.to_owned();
    let mut cookie: Option<String> = None;
    for _ in 0..5 {
        let mut request = agent.get(&url);
        if let Some(cookie) = &cookie {
            request = request.header("cookie", cookie);
        }
        let mut response = request.call().map_err(|error| error.to_string())?;
        if let Some(set) = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
        {
            cookie = set.split(';').next().map(str::to_owned);
        }
        let next = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(next) = next {
            url = next;
        } else {
            let body = response
                .body_mut()
                .read_to_string()
                .map_err(|error| error.to_string())?;
            return Ok(body
                .trim_start_matches("<!doctype html><p>")
                .trim_end_matches("</p>")
                .to_owned());
        }
    }
    Err("too many redirects".to_owned())
}
