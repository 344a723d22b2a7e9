//! The SMART parts: the routes, and the server-side sessions they keep in the token store.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use smart_client::token::TokenRef;
use smart_client::{AsyncSmartClient, AuthorizeOptions};
use smart_session::AsyncSession;

use crate::Ehr;
use crate::issuers::{by_iss, by_name};
use crate::web::{App, Cookies, Failure, Page};

type Session = AsyncSession<AsyncSmartClient>;
type Reply = Result<Response, Failure>;
const SCOPES: &str = "openid fhirUser online_access patient/Patient.rs patient/Observation.rs";

/// The routes.
pub(crate) fn routes(app: App) -> Router {
    let router = Router::new()
        .route("/", get(patient))
        .route("/logout", post(logout));
    let router = router
        .route("/launch", get(launch))
        .route("/login", get(login));
    router
        .route("/callback", get(callback))
        .with_state(Arc::new(app))
}

/// `GET /launch?iss=..&launch=..`: an EHR launch, from a trusted EHR only.
pub(crate) async fn launch(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let iss = q.get("iss").ok_or(Failure::BadLaunch)?;
    let launch = q.get("launch").ok_or(Failure::BadLaunch)?;
    let ehr = by_iss(&app.registry, iss)?;
    let options = AuthorizeOptions::new().ehr_launch(iss, launch);
    authorize(&app, &ehr, options.scopes(&format!("launch {SCOPES}"))?).await
}

/// `GET /login?ehr=NAME`: a standalone launch at a configured EHR.
pub(crate) async fn login(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let name = q.get("ehr").map_or("", String::as_str);
    let ehr = by_name(&app.registry, name).ok_or_else(|| Failure::UnknownEhr(name.into()))?;
    let options = AuthorizeOptions::new().scopes(&format!("launch/patient {SCOPES}"))?;
    authorize(&app, &ehr, options).await
}

/// Keeps the pending authorization under its `state` (and the state in a cookie of this
/// browser), then sends the browser to the EHR.
async fn authorize(app: &App, ehr: &Ehr, options: AuthorizeOptions) -> Reply {
    let request = ehr.client.authorize(options).await?;
    app.pending.put(request.pending()).await?;
    let cookie = app.cookies.pending(request.pending());
    Ok(([cookie], Redirect::to(request.url().as_str())).into_response())
}

/// `GET /callback`: the pending authorization of this browser's `state`, taken once; the
/// code exchanged (or the EHR's error shown); the session saved under an id naming the EHR.
pub(crate) async fn callback(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Reply {
    let query = uri.query().unwrap_or_default();
    let state = Cookies::checked_state(&headers, query)?;
    let pending = app.pending.take(&state).await?;
    let ehr = by_iss(&app.registry, pending.aud().as_str())?;
    let token = ehr.client.complete_authorization(query, &pending).await?;
    let id = format!("{}.{}", ehr.name, crate::web::random_id()?);
    let (store, key) = (Arc::clone(&app.store), crate::session_key(&id));
    AsyncSession::create(ehr.client.clone(), token, store, key, app.config()).await?;
    let cookies = AppendHeaders([app.cookies.session(&id), app.cookies.clear_pending()]);
    Ok((cookies, Redirect::to("/")).into_response())
}

/// The EHR and the session of a session id; `SessionExpired` when the store has none.
async fn restore(app: &App, id: &str) -> Result<(Ehr, Session), Failure> {
    let name = id.rsplit_once('.').map_or("", |(name, _)| name);
    let ehr = by_name(&app.registry, name).ok_or(Failure::SessionExpired)?;
    let (store, key) = (Arc::clone(&app.store), crate::session_key(id));
    let session = AsyncSession::restore(ehr.client.clone(), store, key, app.config());
    Ok((ehr, session.await?))
}

/// `GET /`: the session's patient and their latest Observations, read through the session
/// (the token refreshed when due, and once more when the server refuses it); the home page
/// without a session.
pub(crate) async fn patient(State(app): State<Arc<App>>, headers: HeaderMap) -> Reply {
    let Some(id) = Cookies::session_id(&headers) else {
        return Ok(Page::Home(app.registry.names()).into_response());
    };
    let (ehr, session) = restore(&app, &id).await?;
    let context = session.context();
    let patient_id = context.patient().ok_or(Failure::NoPatient)?;
    let patient = session.read(&format!("Patient/{patient_id}")).await?;
    let search = format!("Observation?patient={patient_id}&_sort=-date&_count=5");
    let observations = session.read(&search).await?;
    Ok(Page::Patient(&ehr.name, patient, observations).into_response())
}

/// `POST /logout`: revokes the tokens at the EHR, then forgets the session and its cookie.
pub(crate) async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Reply {
    if let Some(id) = Cookies::session_id(&headers)
        && let Ok((ehr, session)) = restore(&app, &id).await
    {
        if let Some(token) = session.token() {
            if let Some(refresh) = token.refresh_token() {
                ehr.client.revoke(TokenRef::Refresh(refresh)).await?;
            }
            let access = TokenRef::Access(token.access_token());
            ehr.client.revoke(access).await?;
        }
        session.end().await?;
    }
    Ok(([app.cookies.clear_session()], Page::SignedOut).into_response())
}
