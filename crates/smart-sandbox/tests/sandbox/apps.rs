//! What the sandbox offers apps under test: the login-and-consent pages, the EHR launcher,
//! the FHIR data set behind the launch context, and refresh by public clients without
//! `client_id`.

use smart_sandbox::{Sandbox, SandboxConfig, demo};
use smart_token::TokenResponse;

use crate::{
    Answer, AuthorizeRequest, PATIENT_SCOPES, agent, code_flow, code_from, exchange, get,
    post_form, public_auth, redirect_params, symmetric_auth,
};

/// The value of the hidden `ticket` field of a page.
fn ticket_of(answer: &Answer) -> String {
    let html = String::from_utf8_lossy(&answer.body);
    html.split("name=\"ticket\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no ticket in {html}"))
        .to_owned()
}

fn html(answer: &Answer) -> String {
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    String::from_utf8(answer.body.clone()).unwrap()
}

fn login(sandbox: &Sandbox, ticket: &str, username: &str, password: &str) -> Answer {
    post_form(
        &agent(),
        &format!("{}/authorize/login", sandbox.base_url()),
        &[
            ("ticket", ticket),
            ("username", username),
            ("password", password),
        ],
        None,
    )
}

fn decide(sandbox: &Sandbox, ticket: &str, decision: &str) -> Answer {
    post_form(
        &agent(),
        &format!("{}/authorize/decision", sandbox.base_url()),
        &[("ticket", ticket), ("decision", decision)],
        None,
    )
}

fn id_token_claim(token: &TokenResponse, claim: &str) -> serde_json::Value {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let id_token = token.id_token().unwrap();
    let payload = id_token.expose_secret().split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(payload).unwrap()).unwrap();
    claims[claim].clone()
}

#[test]
fn login_then_consent_then_code() {
    let sandbox = Sandbox::start_with(SandboxConfig::new().login_and_consent(true)).unwrap();
    let agent = agent();
    let request = AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, PATIENT_SCOPES);
    let page = request.get(&agent, &sandbox);
    let text = html(&page);
    assert!(
        text.contains("name=\"password\"") && text.contains("Sign in"),
        "{text}"
    );
    assert!(!text.contains("Approve"), "the login comes first");
    let ticket = ticket_of(&page);

    // The consent page cannot be skipped.
    assert_eq!(
        decide(&sandbox, &ticket, "approve").oauth_error(400),
        "invalid_request"
    );
    // A wrong password shows the login page again, with the problem.
    let again = html(&login(&sandbox, &ticket, demo::PATIENT_USERNAME, "wrong"));
    assert!(again.contains("Wrong username or password"), "{again}");
    let unknown = html(&login(&sandbox, &ticket, "mallory", demo::USER_PASSWORD));
    assert!(unknown.contains("Wrong username or password"));

    let consent = login(
        &sandbox,
        &ticket,
        demo::PATIENT_USERNAME,
        demo::USER_PASSWORD,
    );
    let text = html(&consent);
    assert!(text.contains("Approve") && text.contains("Deny"), "{text}");
    // A patient shares their own record: no picker.
    assert!(
        !text.contains("<select") && text.contains("who signed in"),
        "{text}"
    );
    // The buttons answer with a redirect to the app: form-action names its origin.
    let policy = consent.header("content-security-policy").unwrap();
    assert!(
        policy.contains("form-action 'self' http://127.0.0.1;"),
        "{policy}"
    );
    // Logged in once: the login form is spent.
    assert_eq!(
        login(
            &sandbox,
            &ticket,
            demo::PATIENT_USERNAME,
            demo::USER_PASSWORD
        )
        .oauth_error(400),
        "invalid_request"
    );
    let answer = post_form(
        &agent,
        &format!("{}/authorize/decision", sandbox.base_url()),
        &[
            ("ticket", &ticket),
            ("decision", "approve"),
            ("patient", demo::PATIENT_ID),
        ],
        None,
    );
    let code = code_from(&answer, &sandbox, &request);
    let token = exchange(&agent, &sandbox, &public_auth(), &code, &request.verifier).token();
    assert_eq!(token.context().patient(), Some(demo::PATIENT_ID));
    // The user who signed in is the fhirUser.
    assert_eq!(
        id_token_claim(&token, "fhirUser"),
        format!("{}/Patient/{}", sandbox.base_url(), demo::PATIENT_ID)
    );
}

#[test]
fn a_clinician_picks_the_patient_a_patient_shares_their_own() {
    let sandbox = Sandbox::start_with(SandboxConfig::new().login_and_consent(true)).unwrap();
    let agent = agent();
    let approve_for = |username: &str, patient: &str| {
        let request = AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, PATIENT_SCOPES);
        let ticket = ticket_of(&request.get(&agent, &sandbox));
        let consent = html(&login(&sandbox, &ticket, username, demo::USER_PASSWORD));
        let answer = post_form(
            &agent,
            &format!("{}/authorize/decision", sandbox.base_url()),
            &[
                ("ticket", &ticket),
                ("decision", "approve"),
                ("patient", patient),
            ],
            None,
        );
        (consent, answer, request)
    };
    let (consent, answer, request) =
        approve_for(demo::PRACTITIONER_USERNAME, demo::OTHER_PATIENT_ID);
    assert!(consent.contains("<select"), "{consent}");
    let code = code_from(&answer, &sandbox, &request);
    let token = exchange(&agent, &sandbox, &public_auth(), &code, &request.verifier).token();
    assert_eq!(token.context().patient(), Some(demo::OTHER_PATIENT_ID));
    assert_eq!(
        id_token_claim(&token, "fhirUser"),
        format!(
            "{}/Practitioner/{}",
            sandbox.base_url(),
            demo::PRACTITIONER_ID
        )
    );
    let (_, answer, _) = approve_for(demo::PATIENT_USERNAME, demo::OTHER_PATIENT_ID);
    assert_eq!(answer.oauth_error(400), "invalid_request");
    let description = answer.json()["error_description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(description.contains("their own record"), "{description}");
}

#[test]
fn consent_denied_goes_back_to_the_app_with_the_reason() {
    let sandbox = Sandbox::start_with(SandboxConfig::new().login_and_consent(true)).unwrap();
    let request = AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, PATIENT_SCOPES);
    let ticket = ticket_of(&request.get(&agent(), &sandbox));
    html(&login(
        &sandbox,
        &ticket,
        demo::PRACTITIONER_USERNAME,
        demo::USER_PASSWORD,
    ));
    let params = redirect_params(&decide(&sandbox, &ticket, "deny").location());
    assert_eq!(params["error"], "access_denied");
    assert_eq!(
        params["error_description"],
        "the user denied the app access on the consent page"
    );
    assert_eq!(params["state"], request.state.as_str());
    assert_eq!(params["iss"], sandbox.base_url());
}

#[test]
fn too_many_wrong_passwords_drop_the_request() {
    let sandbox = Sandbox::start_with(SandboxConfig::new().login_and_consent(true)).unwrap();
    let request = AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, PATIENT_SCOPES);
    let ticket = ticket_of(&request.get(&agent(), &sandbox));
    for _ in 0..4 {
        html(&login(&sandbox, &ticket, demo::PATIENT_USERNAME, "guess"));
    }
    assert_eq!(
        login(&sandbox, &ticket, demo::PATIENT_USERNAME, "guess").oauth_error(400),
        "invalid_request"
    );
    assert_eq!(
        login(
            &sandbox,
            &ticket,
            demo::PATIENT_USERNAME,
            demo::USER_PASSWORD
        )
        .oauth_error(400),
        "invalid_request"
    );
}

#[test]
fn the_launcher_page_mints_an_ehr_launch_and_redirects_to_the_app() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let app = "http://127.0.0.1:9/launch";
    let url = sandbox.launcher_url(app);
    let page = get(&agent, &url, None);
    let text = html(&page);
    assert!(
        text.contains("value=\"http://127.0.0.1:9/launch\""),
        "{text}"
    );
    assert!(text.contains(demo::OTHER_PATIENT_ID) && text.contains("id=\"launch\""));
    let policy = page.header("content-security-policy").unwrap();
    assert!(
        policy.contains("form-action 'self' http: https:"),
        "{policy}"
    );

    let go = format!("{url}&patient={}&encounter=1&go=launch", demo::PATIENT_ID);
    let location = get(&agent, &go, None).location();
    assert!(
        location
            .as_str()
            .starts_with("http://127.0.0.1:9/launch?iss="),
        "{location}"
    );
    let params = redirect_params(&location);
    assert_eq!(params["iss"], sandbox.base_url());
    let launch = params["launch"].as_str().unwrap();
    let token = code_flow(
        &agent,
        &sandbox,
        &symmetric_auth(),
        "launch openid fhirUser patient/*.rs",
        Some(launch),
    );
    assert_eq!(token.context().patient(), Some(demo::PATIENT_ID));
    assert_eq!(token.context().encounter(), Some(demo::ENCOUNTER_ID));

    // The other patient, without the encounter.
    let go = format!("{url}&patient={}&go=launch", demo::OTHER_PATIENT_ID);
    let launch = redirect_params(&get(&agent, &go, None).location())["launch"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = code_flow(
        &agent,
        &sandbox,
        &symmetric_auth(),
        "launch patient/*.rs",
        Some(&launch),
    );
    assert_eq!(token.context().patient(), Some(demo::OTHER_PATIENT_ID));
    assert_eq!(token.context().encounter(), None);

    // Nowhere but https and loopback http; only the demo patients.
    for (query, problem) in [
        (
            "launch_url=http%3A%2F%2Fapp.example%2Flaunch&go=launch",
            "is not an https URL",
        ),
        ("go=launch", "launch_url is missing"),
        (
            "launch_url=http%3A%2F%2F127.0.0.1%3A9%2Fl&patient=nobody&go=launch",
            "unknown patient",
        ),
    ] {
        let answer = get(
            &agent,
            &format!("{}/launcher?{query}", sandbox.base_url()),
            None,
        );
        assert_eq!(answer.oauth_error(400), "invalid_request");
        let description = answer.json()["error_description"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(description.contains(problem), "{description}");
    }
}

/// A token for a standalone patient launch of the demo patient.
fn patient_token(sandbox: &Sandbox, scopes: &str) -> String {
    let token = code_flow(&agent(), sandbox, &public_auth(), scopes, None);
    token.access_token().expose_secret().to_owned()
}

#[test]
fn the_data_set_behind_the_launch_context() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let base = sandbox.base_url();
    let token = patient_token(&sandbox, "launch/patient patient/*.rs");

    let bundle = get(
        &agent,
        &format!("{base}/Observation?patient={}", demo::PATIENT_ID),
        Some(&token),
    );
    assert_eq!(bundle.status, 200);
    assert_eq!(bundle.header("content-type"), Some("application/fhir+json"));
    let bundle = bundle.json();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 3);
    let entries = bundle["entry"].as_array().unwrap();
    let dates: Vec<&str> = entries
        .iter()
        .map(|entry| entry["resource"]["effectiveDateTime"].as_str().unwrap())
        .collect();
    assert!(
        dates.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first: {dates:?}"
    );
    let first = &entries[0];
    assert_eq!(
        first["resource"]["subject"]["reference"],
        format!("Patient/{}", demo::PATIENT_ID)
    );
    let full_url = first["fullUrl"].as_str().unwrap();
    assert_eq!(
        get(&agent, full_url, Some(&token)).json()["id"],
        first["resource"]["id"]
    );
    // `subject=Patient/..`, `_count`.
    let two = get(
        &agent,
        &format!(
            "{base}/Observation?subject=Patient/{}&_count=2",
            demo::PATIENT_ID
        ),
        Some(&token),
    );
    assert_eq!(two.json()["entry"].as_array().unwrap().len(), 2);
    // Without `patient`, a patient token searches its own patient.
    assert_eq!(
        get(&agent, &format!("{base}/Observation"), Some(&token)).json()["total"],
        3
    );

    let patient = get(
        &agent,
        &format!("{base}/Patient/{}", demo::PATIENT_ID),
        Some(&token),
    )
    .json();
    assert_eq!(patient["birthDate"], "1987-02-20");
    assert_eq!(patient["name"][0]["family"], "Shaw");
    let encounter = get(
        &agent,
        &format!("{base}/Encounter/{}", demo::ENCOUNTER_ID),
        Some(&token),
    );
    assert_eq!(
        encounter.json()["subject"]["reference"],
        format!("Patient/{}", demo::PATIENT_ID)
    );

    // Another patient's data, a Practitioner under patient scopes: forbidden.
    for path in [
        format!("Observation?patient={}", demo::OTHER_PATIENT_ID),
        "Observation/sandbox-observation-4".to_owned(),
        format!("Patient/{}", demo::OTHER_PATIENT_ID),
        format!("Practitioner/{}", demo::PRACTITIONER_ID),
    ] {
        let answer = get(&agent, &format!("{base}/{path}"), Some(&token));
        assert_eq!(answer.status, 403, "{path}");
        assert!(
            answer
                .header("www-authenticate")
                .unwrap()
                .contains("insufficient_scope")
        );
    }
    // Without a token, 401; an unknown id, 404; another method, 405.
    assert_eq!(
        get(&agent, &format!("{base}/Observation"), None).status,
        401
    );

    // user/ scopes read every patient's data and the practitioner.
    let user = patient_token(&sandbox, "openid fhirUser user/*.rs");
    let all = get(&agent, &format!("{base}/Observation"), Some(&user)).json();
    assert_eq!(all["total"], 5);
    let other = get(
        &agent,
        &format!("{base}/Observation?patient={}", demo::OTHER_PATIENT_ID),
        Some(&user),
    );
    assert_eq!(other.json()["total"], 2);
    let practitioner = get(
        &agent,
        &format!("{base}/Practitioner/{}", demo::PRACTITIONER_ID),
        Some(&user),
    );
    assert_eq!(practitioner.json()["name"][0]["family"], "Rivera");
    assert_eq!(
        get(&agent, &format!("{base}/Observation/nothing"), Some(&user)).status,
        404
    );
    let post = post_form(
        &agent,
        &format!("{base}/Observation"),
        &[],
        Some(&format!("Bearer {user}")),
    );
    assert_eq!(post.status, 405);
    assert_eq!(
        get(&agent, &format!("{base}/Medication/x"), Some(&user)).status,
        404
    );
    assert_eq!(
        get(
            &agent,
            &format!("{base}/Observation?_count=many"),
            Some(&user)
        )
        .status,
        400
    );
}

#[test]
fn a_public_client_refreshes_without_client_id() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let token = code_flow(&agent, &sandbox, &public_auth(), PATIENT_SCOPES, None);
    let refresh = |refresh_token: &str| {
        post_form(
            &agent,
            &sandbox.token_url(),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
            None,
        )
    };
    let renewed = refresh(token.refresh_token().unwrap().expose_secret()).token();
    assert_eq!(renewed.context().patient(), Some(demo::PATIENT_ID));
    assert_eq!(
        sandbox.token_requests(demo::PUBLIC_CLIENT_ID).refresh_token,
        1
    );
    // Rotation still holds: the old one is spent.
    assert_eq!(
        refresh(token.refresh_token().unwrap().expose_secret()).oauth_error(400),
        "invalid_grant"
    );
    assert_eq!(refresh("not-a-token").oauth_error(400), "invalid_grant");

    // A confidential client's refresh token still needs its credentials, and the error says
    // whose it is.
    let confidential = code_flow(&agent, &sandbox, &symmetric_auth(), PATIENT_SCOPES, None);
    let answer = refresh(confidential.refresh_token().unwrap().expose_secret());
    assert_eq!(answer.oauth_error(401), "invalid_client");
    let description = answer.json()["error_description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        description.contains(demo::SYMMETRIC_CLIENT_ID),
        "{description}"
    );
}

#[test]
fn cors_for_browser_apps_on_the_api_only() {
    let sandbox = Sandbox::start().unwrap();
    let agent = agent();
    let base = sandbox.base_url();
    let origin = "http://127.0.0.1:3000";
    let with_origin = |method: http::Method, path: &str, extra: &[(&str, &str)]| {
        let mut request = http::Request::builder()
            .method(method)
            .uri(format!("{base}{path}"))
            .header("origin", origin);
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        crate::send(&agent, request.body(Vec::new()).unwrap())
    };
    for path in [
        "/token",
        "/Observation",
        "/.well-known/smart-configuration",
        "/introspect",
    ] {
        let preflight = with_origin(
            http::Method::OPTIONS,
            path,
            &[
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "authorization"),
            ],
        );
        assert_eq!(preflight.status, 204, "{path}");
        assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
        assert!(
            preflight
                .header("access-control-allow-headers")
                .unwrap()
                .contains("Authorization")
        );
        assert!(
            preflight
                .header("access-control-allow-methods")
                .unwrap()
                .contains("POST")
        );
    }
    let discovery = with_origin(http::Method::GET, "/.well-known/smart-configuration", &[]);
    assert_eq!(discovery.status, 200);
    assert_eq!(discovery.header("access-control-allow-origin"), Some("*"));
    let fhir = with_origin(http::Method::GET, "/Observation", &[]);
    assert_eq!(fhir.status, 401);
    assert_eq!(fhir.header("access-control-allow-origin"), Some("*"));
    assert!(
        fhir.header("access-control-expose-headers")
            .unwrap()
            .contains("WWW-Authenticate")
    );
    // Navigations get none; requests without Origin neither.
    let page = with_origin(http::Method::GET, "/launcher", &[]);
    assert_eq!(page.header("access-control-allow-origin"), None);
    let preflight = with_origin(
        http::Method::OPTIONS,
        "/authorize",
        &[("access-control-request-method", "POST")],
    );
    assert_eq!(preflight.header("access-control-allow-origin"), None);
    let plain = get(
        &agent,
        &format!("{base}/.well-known/smart-configuration"),
        None,
    );
    assert_eq!(plain.header("access-control-allow-origin"), None);
}

#[test]
fn pending_requests_and_launches_are_capped() {
    let config = SandboxConfig::new()
        .login_and_consent(true)
        .max_pending_requests(2);
    let sandbox = Sandbox::start_with(config).unwrap();
    let agent = agent();
    let page = || {
        AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, PATIENT_SCOPES)
            .get(&agent, &sandbox)
    };
    html(&page());
    html(&page());
    let refused = page();
    assert_eq!(refused.status, 503);
    assert_eq!(refused.json()["error"], "temporarily_unavailable");
    // They expire after 10 minutes, and make room.
    sandbox.advance_clock(std::time::Duration::from_secs(601));
    html(&page());

    let launch = format!(
        "{}&go=launch",
        sandbox.launcher_url("http://127.0.0.1:9/launch")
    );
    assert_eq!(get(&agent, &launch, None).status, 302);
    assert_eq!(get(&agent, &launch, None).status, 302);
    assert_eq!(get(&agent, &launch, None).status, 503);
}

#[test]
fn unexchanged_codes_are_capped_and_exchanged_ones_make_room() {
    let sandbox = Sandbox::start_with(SandboxConfig::new().max_pending_requests(2)).unwrap();
    let agent = agent();
    let (first, request) = crate::authorize(
        &agent,
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    crate::authorize(
        &agent,
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
    let third = AuthorizeRequest::new(&sandbox, demo::PUBLIC_CLIENT_ID, PATIENT_SCOPES);
    let params = redirect_params(&third.get(&agent, &sandbox).location());
    assert_eq!(params["error"], "temporarily_unavailable");
    assert_eq!(params["state"], third.state.as_str());
    // Exchanging a code makes room.
    exchange(&agent, &sandbox, &public_auth(), &first, &request.verifier).token();
    crate::authorize(
        &agent,
        &sandbox,
        demo::PUBLIC_CLIENT_ID,
        PATIENT_SCOPES,
        None,
    );
}
