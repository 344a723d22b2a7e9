//! How the harness gets an EHR launch from a server it does not run: a fixed `launch` value,
//! or the server's own launcher page, opened as a browser would.

use smart_client::core::{display_text, display_url, form};

use crate::browser::Browser;

/// What [`crate::Profile::ehr_launch`] is made from for a server the harness does not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EhrLaunchRecipe {
    /// The same `launch` value every time: a server whose launch values are registered or
    /// encode the context themselves (smart-launcher-v2's do).
    Fixed(String),
    /// An EHR launcher page. `url` is a template: `{launch_uri}` in it is replaced by
    /// `launch_uri`, form-encoded. The harness opens it and follows the redirects, with a
    /// cookie jar, until one goes to `launch_uri` (never opened); that redirect's `iss` must be
    /// the server under test, and its `launch` is used.
    Launcher {
        /// The launcher page, with `{launch_uri}` where the app's launch URL goes.
        url: String,
        /// The app's launch URL, as registered at the server.
        launch_uri: String,
    },
}

impl EhrLaunchRecipe {
    /// Checks the recipe: a launcher template must hold `{launch_uri}`.
    ///
    /// # Errors
    /// What to change, in the clients file's words.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Self::Fixed(launch) if launch.is_empty() => {
                Err("ehr_launch.launch is empty; give the launch value".to_owned())
            }
            Self::Launcher { url, .. } if !url.contains("{launch_uri}") => Err(
                "ehr_launch.launcher_url has no {launch_uri}; put it where the launcher takes the app's launch URL (launch_url={launch_uri}, say)".to_owned(),
            ),
            _ => Ok(()),
        }
    }

    /// The launch maker for the server whose FHIR base (and so `iss`) is `fhir_base`.
    #[must_use]
    pub fn maker(self, fhir_base: &str) -> Box<dyn Fn() -> Result<String, String>> {
        match self {
            Self::Fixed(launch) => Box::new(move || Ok(launch.clone())),
            Self::Launcher { url, launch_uri } => {
                let fhir_base = fhir_base.to_owned();
                Box::new(move || launch_from(&url, &launch_uri, &fhir_base))
            }
        }
    }
}

/// Opens the launcher and reads `iss` and `launch` from where it sends the browser.
fn launch_from(template: &str, launch_uri: &str, fhir_base: &str) -> Result<String, String> {
    let encoded = form::encode([("", launch_uri)]);
    let url = template.replace("{launch_uri}", encoded.trim_start_matches('='));
    let opened = Browser::new().open_launcher(&url, launch_uri)?;
    let query = opened
        .split_once('?')
        .map_or("", |(_, query)| query.split('#').next().unwrap_or_default());
    let params = form::decode(query.as_bytes());
    let value = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    match (value("iss"), value("launch")) {
        (Some(iss), Some(launch)) if iss == fhir_base && !launch.is_empty() => Ok(launch),
        (Some(iss), Some(_)) if iss != fhir_base => Err(format!(
            "the launcher sent iss \"{}\", not the server under test ({}); an app must refuse such a launch",
            display_text(&iss, 256),
            display_url(fhir_base)
        )),
        _ => Err(format!(
            "the launcher sent the app to {} without iss and launch",
            display_url(launch_uri)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_are_checked() {
        assert!(EhrLaunchRecipe::Fixed("abc".into()).check().is_ok());
        assert!(EhrLaunchRecipe::Fixed(String::new()).check().is_err());
        let launcher = |url: &str| EhrLaunchRecipe::Launcher {
            url: url.to_owned(),
            launch_uri: "http://127.0.0.1:9/launch".to_owned(),
        };
        assert!(
            launcher("http://127.0.0.1:1/launcher?launch_url={launch_uri}")
                .check()
                .is_ok()
        );
        let err = launcher("http://127.0.0.1:1/launcher").check().unwrap_err();
        assert!(err.contains("{launch_uri}"), "{err}");
        let fixed = EhrLaunchRecipe::Fixed("abc".into()).maker("http://127.0.0.1:1/fhir");
        assert_eq!(fixed().unwrap(), "abc");
    }
}
