//! The app in a real browser: Debian's headless Chromium, driven through chromedriver by
//! fantoccini, against the sandbox in its login-and-consent mode. Every
//! scenario saves a screenshot under `target/tmp/browser/`.
//!
//! Chromium never reaches beyond loopback: no proxy, no background networking, no component
//! updates or sync, and every host name but `127.0.0.1` resolves to nothing.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: a failing unwrap or panic is a failing test"
)]

mod harness;
#[cfg(feature = "redis")]
mod redis;

use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, Locator};
use smart_client::registry::{EhrSettings, IssuerRegistry};
use smart_client::token::TokenRef;
use smart_client::{AsyncSmartClient, ClientConfig, ClientType, IntrospectWith};
use smart_sandbox::{Sandbox, SandboxConfig, demo};
use smart_session::{AsyncSession, MemoryStore, SessionConfig, SessionError, TokenStore};
use smart_web_app::{AppConfig, SESSION_COOKIE, router, session_key};

use crate::harness::{Browser, Chromedriver, screenshot};

/// The sandbox's access tokens live this long: the refresh scenario waits past it.
pub(crate) const TOKEN_LIFETIME: u64 = 3;

struct World {
    sandbox: Sandbox,
    app_url: String,
    client: AsyncSmartClient,
    store: Arc<MemoryStore>,
}

pub(crate) fn client(sandbox: &Sandbox, app_url: &str) -> AsyncSmartClient {
    let config = ClientConfig::builder(sandbox.base_url())
        .client_id(demo::PUBLIC_CLIENT_ID)
        .redirect_uri(format!("{app_url}/callback"))
        .scopes("launch/patient openid fhirUser online_access patient/*.rs")
        .allow_insecure_localhost(true)
        .build()
        .unwrap();
    AsyncSmartClient::new(config, ClientType::Public).unwrap()
}

/// The app's issuer registry: the sandbox's public client, redirecting to the app.
pub(crate) fn registry(sandbox: &Sandbox, app_url: &str) -> IssuerRegistry {
    IssuerRegistry::new(vec![
        EhrSettings::new(
            "sandbox",
            sandbox.base_url(),
            demo::PUBLIC_CLIENT_ID,
            ClientType::Public,
        )
        .redirect_uri(format!("{app_url}/callback"))
        .allow_insecure_localhost(true),
    ])
    .unwrap()
}

/// The sandbox (login and consent, 3-second tokens) and the app on loopback.
async fn start_world() -> World {
    let config = SandboxConfig::new()
        .login_and_consent(true)
        .access_token_lifetime(TOKEN_LIFETIME);
    let sandbox = Sandbox::start_with(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    let client = client(&sandbox, &app_url);
    let store = Arc::new(MemoryStore::new());
    let shared: Arc<dyn TokenStore> = store.clone();
    let mut config = AppConfig::new(registry(&sandbox, &app_url), &app_url).store(shared);
    assert!(!config.secure_cookies, "no Secure cookies on loopback");
    // Renew a quarter second before expiry, without jitter: the first page after the login
    // (however slow a loaded machine makes it) uses the first token, and the reload past its
    // expiry makes exactly one refresh.
    config.session = SessionConfig::new()
        .refresh_buffer(Duration::from_millis(250))
        .max_jitter(Duration::ZERO);
    tokio::spawn(async move { axum::serve(listener, router(config)).await });
    World {
        sandbox,
        app_url,
        client,
        store,
    }
}

/// The text of the element with this id, once it is there.
pub(crate) async fn text(browser: &Client, id: &str) -> String {
    let found = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id(id))
        .await;
    let url = browser.current_url().await.map(|url| url.to_string());
    match found {
        Ok(element) => element.text().await.unwrap(),
        Err(error) => panic!(
            "no #{id} on {url:?} ({error}): {}",
            browser.source().await.unwrap_or_default()
        ),
    }
}

pub(crate) async fn click(browser: &Client, id: &str) {
    let element = browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|error| panic!("no #{id} to click: {error}"));
    element.click().await.unwrap();
}

/// The sandbox's login form, as a person fills it.
pub(crate) async fn sign_in(browser: &Client, username: &str) {
    let field = |id| async move {
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Id(id))
            .await
            .unwrap_or_else(|error| panic!("no #{id} on the login page: {error}"))
    };
    field("username").await.send_keys(username).await.unwrap();
    field("password")
        .await
        .send_keys(demo::USER_PASSWORD)
        .await
        .unwrap();
    click(browser, "sign-in").await;
}

/// The session of this id, read from the app's store.
async fn stored_session(
    world: &World,
    id: &str,
) -> Result<AsyncSession<AsyncSmartClient>, SessionError> {
    let store: Arc<dyn TokenStore> = world.store.clone();
    let key = session_key(id);
    AsyncSession::restore(world.client.clone(), store, key, SessionConfig::new()).await
}

async fn is_active(world: &World, token: TokenRef<'_>) -> bool {
    let answer = world.client.introspect(token, IntrospectWith::Client).await;
    answer.unwrap().active()
}

async fn ehr_launch(world: &World, browser: &Client) {
    let launcher = world
        .sandbox
        .launcher_url(&format!("{}/launch", world.app_url));
    browser.goto(&launcher).await.unwrap();
    click(browser, "launch").await;
    text(browser, "username").await;
    screenshot(browser, "sandbox-login").await;
    sign_in(browser, demo::PRACTITIONER_USERNAME).await;
    text(browser, "approve").await;
    screenshot(browser, "sandbox-consent").await;
    click(browser, "approve").await;
    assert_eq!(text(browser, "patient-name").await, "Amy V. Shaw");
    assert_eq!(text(browser, "birth-date").await, "1987-02-20");
    let observations = text(browser, "observations").await;
    assert!(observations.contains("Heart rate"), "{observations}");
    assert!(
        observations.contains("2026-03-02T09:31:00Z"),
        "{observations}"
    );
    screenshot(browser, "ehr-launch").await;

    // The EHR revokes the access token before it expires: the FHIR read is refused (401),
    // the session refreshes once, and the page loads all the same.
    let cookie = browser.get_named_cookie(SESSION_COOKIE).await.unwrap();
    let token = stored_session(world, cookie.value())
        .await
        .unwrap()
        .token()
        .unwrap();
    world
        .client
        .revoke(TokenRef::Access(token.access_token()))
        .await
        .unwrap();
    assert!(!is_active(world, TokenRef::Access(token.access_token())).await);
    let before = world
        .sandbox
        .token_requests(demo::PUBLIC_CLIENT_ID)
        .refresh_token;
    browser.refresh().await.unwrap();
    assert_eq!(text(browser, "patient-name").await, "Amy V. Shaw");
    let after = world
        .sandbox
        .token_requests(demo::PUBLIC_CLIENT_ID)
        .refresh_token;
    assert_eq!(after, before + 1, "one refresh after the 401");

    // The session ends behind the app's back (expired from the store): the next page says so.
    let key = session_key(cookie.value());
    assert!(world.store.delete(&key, None).await.unwrap());
    browser.refresh().await.unwrap();
    assert!(text(browser, "what").await.contains("expired"));
    assert!(!browser.source().await.unwrap().contains("Signed in"));
    screenshot(browser, "session-expired").await;
}

async fn standalone_launch(world: &World, browser: &Client) {
    browser.goto(&format!("{}/", world.app_url)).await.unwrap();
    click(browser, "login-sandbox").await;
    // A clinician picks the patient on the consent page.
    sign_in(browser, demo::PRACTITIONER_USERNAME).await;
    let picker = browser
        .wait()
        .for_element(Locator::Id("patient"))
        .await
        .unwrap();
    picker
        .select_by_value(demo::OTHER_PATIENT_ID)
        .await
        .unwrap();
    click(browser, "approve").await;
    assert_eq!(text(browser, "patient-name").await, "Daniel X. Adams");
    assert_eq!(text(browser, "birth-date").await, "1925-12-23");
    screenshot(browser, "standalone-launch").await;
}

async fn consent_denied(world: &World, browser: &Client) {
    browser
        .goto(&format!("{}/login?ehr=sandbox", world.app_url))
        .await
        .unwrap();
    sign_in(browser, demo::PATIENT_USERNAME).await;
    click(browser, "deny").await;
    let what = text(browser, "what").await;
    assert!(what.contains("access_denied"), "{what}");
    assert!(
        what.contains("the user denied the app access on the consent page"),
        "{what}"
    );
    assert!(text(browser, "todo").await.contains("start again"));
    let page = browser.source().await.unwrap();
    assert!(!page.contains("Signed in"), "{page}");
    assert!(browser.get_named_cookie(SESSION_COOKIE).await.is_err());
    screenshot(browser, "consent-denied").await;
}

async fn failures(world: &World, browser: &Client) {
    let app = &world.app_url;
    browser
        .goto(&format!(
            "{app}/launch?iss=http%3A%2F%2F127.0.0.1%3A9%2Ffhir&launch=x"
        ))
        .await
        .unwrap();
    let what = text(browser, "what").await;
    assert!(
        what.contains("does not know the EHR http://127.0.0.1:9/fhir"),
        "{what}"
    );
    screenshot(browser, "unknown-iss").await;
    browser
        .goto(&format!("{app}/callback?code=x&state=forged"))
        .await
        .unwrap();
    assert!(text(browser, "what").await.contains("state mismatch"));
    screenshot(browser, "state-mismatch").await;
}

async fn refresh_then_logout(world: &World, browser: &Client) {
    world.sandbox.reset_token_requests();
    browser
        .goto(&format!("{}/login?ehr=sandbox", world.app_url))
        .await
        .unwrap();
    sign_in(browser, demo::PATIENT_USERNAME).await;
    click(browser, "approve").await;
    assert_eq!(text(browser, "patient-name").await, "Amy V. Shaw");
    let counts = world.sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!((counts.authorization_code, counts.refresh_token), (1, 0));

    // Past the token's lifetime: the reload refreshes it, once, unseen.
    tokio::time::sleep(Duration::from_secs(TOKEN_LIFETIME + 2)).await;
    browser.refresh().await.unwrap();
    assert_eq!(text(browser, "patient-name").await, "Amy V. Shaw");
    let counts = world.sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
    assert_eq!(counts.refresh_token, 1, "{counts:?}");
    assert_eq!(counts.refused, 0, "{counts:?}");
    screenshot(browser, "after-refresh").await;

    let cookie = browser.get_named_cookie(SESSION_COOKIE).await.unwrap();
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Lax)");
    assert_eq!(cookie.secure(), Some(false), "not Secure on loopback");
    let id = cookie.value().to_owned();
    let token = stored_session(world, &id).await.unwrap().token().unwrap();
    let refresh = token.refresh_token().unwrap();
    assert!(is_active(world, TokenRef::Access(token.access_token())).await);
    assert!(is_active(world, TokenRef::Refresh(refresh)).await);
    click(browser, "logout").await;
    assert_eq!(text(browser, "signed-out").await, "Signed out");
    assert!(!is_active(world, TokenRef::Access(token.access_token())).await);
    assert!(!is_active(world, TokenRef::Refresh(refresh)).await);
    assert!(browser.get_named_cookie(SESSION_COOKIE).await.is_err());
    screenshot(browser, "signed-out").await;
    // The session is gone from the store, and the app shows its home page again.
    assert!(matches!(
        stored_session(world, &id).await,
        Err(SessionError::Removed)
    ));
    browser.goto(&format!("{}/", world.app_url)).await.unwrap();
    assert_eq!(text(browser, "login-sandbox").await, "Sign in with sandbox");
}

#[test]
fn the_app_in_headless_chromium() {
    let driver = Chromedriver::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let world = start_world().await;
        let browser = Browser::connect(&driver).await;
        ehr_launch(&world, &browser).await;
        browser.delete_all_cookies().await.unwrap();
        standalone_launch(&world, &browser).await;
        browser.delete_all_cookies().await.unwrap();
        consent_denied(&world, &browser).await;
        browser.delete_all_cookies().await.unwrap();
        failures(&world, &browser).await;
        browser.delete_all_cookies().await.unwrap();
        refresh_then_logout(&world, &browser).await;
        browser.close().await.unwrap();
    });
}
