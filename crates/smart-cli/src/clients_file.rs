//! The clients file of `smart demo --server` (and `cargo xtask conformance --clients`): the
//! clients registered at a server, read strictly. Self-contained (serde, `serde_json` and
//! `smart_client::SecretMethod` only), so that the fuzz target `clients_file` includes it.

use serde::Deserialize;
use smart_client::SecretMethod;

/// The clients file of `--server`: every client optional; missing ones skip their flows.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientsFile {
    pub(crate) public: Option<AppEntry>,
    pub(crate) confidential_symmetric: Option<AppEntry>,
    pub(crate) confidential_asymmetric: Option<AppEntry>,
    pub(crate) confidential_asymmetric_jwks_uri: Option<AppEntry>,
    pub(crate) backend: Option<BackendEntry>,
    pub(crate) registration: Option<serde_json::Map<String, serde_json::Value>>,
    /// How to get an EHR launch (for the confidential-symmetric client).
    pub(crate) ehr_launch: Option<EhrLaunchEntry>,
}

/// How to get an EHR launch from the server: a fixed `launch` value, or a `launcher_url`
/// template (`{launch_uri}` in it) opened like a browser, with the app's `launch_uri`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EhrLaunchEntry {
    pub(crate) launch: Option<String>,
    pub(crate) launcher_url: Option<String>,
    pub(crate) launch_uri: Option<String>,
}

/// An `ehr_launch` entry, read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LaunchRecipe {
    /// `launch`: the same value every time.
    Fixed(String),
    /// `launcher_url` (a template holding `{launch_uri}`) and `launch_uri`.
    Launcher { url: String, launch_uri: String },
}

impl EhrLaunchEntry {
    /// Which of the two recipes it is.
    ///
    /// # Errors
    ///
    /// Both or neither given, or a `launcher_url` without its `launch_uri`.
    pub(crate) fn recipe(self) -> Result<LaunchRecipe, String> {
        match (self.launch, self.launcher_url, self.launch_uri) {
            (Some(launch), None, None) => Ok(LaunchRecipe::Fixed(launch)),
            (None, Some(url), Some(launch_uri)) => Ok(LaunchRecipe::Launcher { url, launch_uri }),
            (None, Some(_), None) => Err(
                "ehr_launch.launcher_url needs ehr_launch.launch_uri, the app's launch URL as registered".to_owned(),
            ),
            (None, None, _) => Err(
                "ehr_launch needs `launch` (a fixed value) or `launcher_url` with `launch_uri`".to_owned(),
            ),
            _ => Err(
                "ehr_launch takes `launch` or `launcher_url` with `launch_uri`, not both".to_owned(),
            ),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppEntry {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) scope: String,
    pub(crate) client_secret_env: Option<String>,
    /// `client_secret_basic` (the default) or `client_secret_post`: the method registered.
    pub(crate) token_endpoint_auth_method: Option<String>,
    /// For `client_secret_basic`: `raw` (the default, what most SMART servers expect) or
    /// `rfc6749` (id and secret form-encoded first, RFC 6749 §2.3.1), as
    /// `--secret-method basic-rfc6749` does.
    pub(crate) basic_encoding: Option<String>,
    pub(crate) key_file: Option<std::path::PathBuf>,
    pub(crate) kid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackendEntry {
    pub(crate) client_id: String,
    pub(crate) key_file: std::path::PathBuf,
    pub(crate) kid: Option<String>,
    pub(crate) scope: Option<String>,
}

/// Reads a clients file: JSON of exactly this shape (unknown fields refused).
///
/// # Errors
///
/// What is wrong, with serde's line and column.
pub(crate) fn parse(text: &str) -> Result<ClientsFile, String> {
    serde_json::from_str(text).map_err(|error| format!("not a clients file: {error}"))
}

impl AppEntry {
    /// How the client secret is sent: `token_endpoint_auth_method` (`client_secret_basic`,
    /// the default, or `client_secret_post`) and, for Basic, `basic_encoding` (`raw`, the
    /// default, or `rfc6749`).
    ///
    /// # Errors
    ///
    /// A value that is none of those, or `basic_encoding` with `client_secret_post`.
    pub(crate) fn secret_method(&self) -> Result<SecretMethod, String> {
        let shown = |text: &str| smart_core::escape_text(text).into_owned();
        match (
            self.token_endpoint_auth_method.as_deref(),
            self.basic_encoding.as_deref(),
        ) {
            (None | Some("client_secret_basic"), None | Some("raw")) => Ok(SecretMethod::Basic),
            (None | Some("client_secret_basic"), Some("rfc6749")) => {
                Ok(SecretMethod::BasicRfc6749)
            }
            (None | Some("client_secret_basic"), Some(other)) => Err(format!(
                "basic_encoding `{}` is not raw or rfc6749",
                shown(other)
            )),
            (Some("client_secret_post"), None) => Ok(SecretMethod::Post),
            (Some("client_secret_post"), Some(_)) => Err(
                "basic_encoding applies only to client_secret_basic; remove it or use client_secret_basic"
                    .to_owned(),
            ),
            (Some(other), _) => Err(format!(
                "token_endpoint_auth_method `{}` is not client_secret_basic or client_secret_post",
                shown(other)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ehr_launch_recipes() {
        let recipe = |json: &str| {
            parse(&format!(r#"{{"ehr_launch": {json}}}"#))?
                .ehr_launch
                .ok_or_else(|| "no entry".to_owned())?
                .recipe()
        };
        assert_eq!(
            recipe(r#"{"launch": "abc"}"#),
            Ok(LaunchRecipe::Fixed("abc".to_owned()))
        );
        assert_eq!(
            recipe(
                r#"{"launcher_url": "http://127.0.0.1:1/l?u={launch_uri}", "launch_uri": "http://127.0.0.1:2/launch"}"#
            ),
            Ok(LaunchRecipe::Launcher {
                url: "http://127.0.0.1:1/l?u={launch_uri}".to_owned(),
                launch_uri: "http://127.0.0.1:2/launch".to_owned()
            })
        );
        for (json, says) in [
            (
                r#"{"launch": "a", "launcher_url": "x", "launch_uri": "y"}"#,
                "not both",
            ),
            (r"{}", "needs `launch`"),
            (r#"{"launch_uri": "y"}"#, "needs `launch`"),
            (r#"{"launcher_url": "x"}"#, "needs ehr_launch.launch_uri"),
            (r#"{"launch": "a", "iss": "b"}"#, "unknown field `iss`"),
        ] {
            let error = recipe(json).unwrap_err();
            assert!(error.contains(says), "{json}: {error}");
        }
    }

    fn entry(extra: &str) -> Result<SecretMethod, String> {
        let text = format!(
            r#"{{"confidential_symmetric": {{"client_id": "a", "redirect_uri": "https://app/cb", "scope": "openid"{extra}}}}}"#
        );
        parse(&text)?
            .confidential_symmetric
            .unwrap()
            .secret_method()
    }

    #[test]
    fn the_secret_method_and_basic_encoding() {
        assert_eq!(entry(""), Ok(SecretMethod::Basic));
        assert_eq!(
            entry(r#", "basic_encoding": "raw""#),
            Ok(SecretMethod::Basic)
        );
        assert_eq!(
            entry(r#", "basic_encoding": "rfc6749""#),
            Ok(SecretMethod::BasicRfc6749)
        );
        assert_eq!(
            entry(r#", "token_endpoint_auth_method": "client_secret_post""#),
            Ok(SecretMethod::Post)
        );
        assert_eq!(
            entry(r#", "basic_encoding": "base64""#),
            Err("basic_encoding `base64` is not raw or rfc6749".to_owned())
        );
        assert_eq!(
            entry(r#", "token_endpoint_auth_method": "client_secret_post", "basic_encoding": "raw""#),
            Err("basic_encoding applies only to client_secret_basic; remove it or use client_secret_basic".to_owned())
        );
        assert_eq!(
            entry(r#", "token_endpoint_auth_method": "private_key_jwt\u001b""#),
            Err("token_endpoint_auth_method `private_key_jwt\\u{1b}` is not client_secret_basic or client_secret_post".to_owned())
        );
        assert!(
            entry(r#", "color": "red""#)
                .unwrap_err()
                .starts_with("not a clients file: unknown field `color`")
        );
    }
}
