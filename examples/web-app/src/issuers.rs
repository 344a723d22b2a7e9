//! The issuer allow-list, by `iss` and by name: the one place to swap for smart-client's registry.

use crate::Ehr;
use crate::web::Failure;

/// The EHR whose FHIR base URL is `iss`, compared as exact strings: an EHR launch from
/// anywhere else is refused before any request is made.
pub(crate) fn by_iss<'a>(ehrs: &'a [Ehr], iss: &str) -> Result<&'a Ehr, Failure> {
    let trusted = |ehr: &&Ehr| ehr.client.config().base_url().as_str() == iss;
    (ehrs.iter().find(trusted)).ok_or_else(|| Failure::UnknownIssuer(iss.to_owned()))
}

/// The EHR of a standalone launch or of a session, by its name.
pub(crate) fn by_name<'a>(ehrs: &'a [Ehr], name: &str) -> Option<&'a Ehr> {
    ehrs.iter().find(|ehr| ehr.name == name)
}
