//! The issuer allow-list is smart-client's issuer registry: by `iss` for EHR launches and
//! callbacks, by name for standalone launches and sessions.

use smart_client::registry::{IssuerRegistry, RegistryError};

use crate::Ehr;
use crate::web::Failure;

/// The EHR whose issuer is `iss` (exact string): any other launch is refused before a request.
pub(crate) fn by_iss(registry: &IssuerRegistry, iss: &str) -> Result<Ehr, Failure> {
    let name = match registry.settings(iss) {
        Ok(settings) => settings.name().to_owned(),
        Err(RegistryError::UnknownIssuer { .. }) => return Err(Failure::UnknownIssuer(iss.into())),
        Err(other) => return Err(Failure::Ehr(other.to_string())),
    };
    let client = registry
        .async_client_for(iss)
        .map_err(|e| Failure::Ehr(e.to_string()))?;
    Ok(Ehr { name, client })
}

/// The EHR of a standalone launch or of a session, by its name.
pub(crate) fn by_name(registry: &IssuerRegistry, name: &str) -> Option<Ehr> {
    let iss = registry.by_name(name).ok()?.issuer().to_owned();
    by_iss(registry, &iss).ok()
}
