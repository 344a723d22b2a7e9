//! The client metadata of a UDAP registration (UDAP Security STU2 §3.1), validated with
//! safire's rules. Errors name the attribute and the rule, never the value.

use std::sync::Once;

use serde_json::Value;
use smart_core::TransportPolicy;
use smart_core::json::JsonObject;
use smart_core::url::Url;

use crate::error::UdapError;

/// Fields the software statement or the request sets; callers may not give them.
pub const RESERVED_FIELDS: [&str; 11] = [
    "iss",
    "sub",
    "aud",
    "iat",
    "exp",
    "jti",
    "software_statement",
    "certifications",
    "udap",
    "response_types",
    "token_endpoint_auth_method",
];

/// The grant types a UDAP client may register, in canonical order.
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "client_credentials", "refresh_token"];

/// Register (or modify, with the same client URI and community) or cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Register, or modify an existing registration.
    Register,
    /// Cancel: `grant_types` is sent empty.
    Cancel,
}

/// Client metadata that passed validation, with the generated fields (`grant_types` in
/// canonical order or empty for a cancellation, `response_types`,
/// `token_endpoint_auth_method`).
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationMetadata {
    fields: JsonObject,
    operation: Operation,
}

fn invalid(attribute: &str, reason: &'static str) -> UdapError {
    UdapError::InvalidRegistrationMetadata {
        attribute: smart_core::display_text(attribute, 64),
        reason,
    }
}

static LOCALHOST_WARNING: Once = Once::new();

impl RegistrationMetadata {
    /// Validates `input` for `operation`.
    ///
    /// ```
    /// use serde_json::json;
    /// use smart_core::TransportPolicy;
    /// use smart_udap::{Operation, RegistrationMetadata, UdapError};
    ///
    /// let input = json!({
    ///     "client_name": "B2B app",
    ///     "contacts": ["mailto:ops@app.example"],
    ///     "scope": "system/*.rs",
    ///     "grant_types": ["client_credentials"],
    /// });
    /// let metadata = RegistrationMetadata::new(
    ///     input.as_object().unwrap(), Operation::Register, TransportPolicy::STRICT)?;
    /// assert_eq!(metadata.fields()["token_endpoint_auth_method"], "private_key_jwt");
    ///
    /// let bad = json!({"client_name": "x", "contacts": ["tel:+1"], "scope": "a",
    ///                  "grant_types": ["client_credentials"]});
    /// let error = RegistrationMetadata::new(
    ///     bad.as_object().unwrap(), Operation::Register, TransportPolicy::STRICT).unwrap_err();
    /// assert_eq!(error.to_string(),
    ///     "invalid registration metadata: `contacts` must contain at least one valid mailto email address");
    /// # Ok::<(), UdapError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`UdapError::InvalidRegistrationMetadata`] for the first rule broken.
    pub fn new(
        input: &JsonObject,
        operation: Operation,
        transport: TransportPolicy,
    ) -> Result<Self, UdapError> {
        let mut fields = input.clone();
        for key in RESERVED_FIELDS {
            if fields.contains_key(key) {
                return Err(invalid(key, "is reserved (smart-udap sets it)"));
            }
        }
        if operation == Operation::Cancel {
            if fields.contains_key("grant_types") {
                return Err(invalid("grant_types", "must be omitted for cancellation"));
            }
            fields.remove("redirect_uris");
            fields.remove("logo_uri");
        }
        let mut required = vec!["client_name", "contacts", "scope"];
        if operation == Operation::Register {
            required.push("grant_types");
        }
        for key in required {
            if fields.get(key).is_none_or(Value::is_null) {
                return Err(invalid(key, "is required"));
            }
        }
        if fields
            .get("client_name")
            .and_then(Value::as_str)
            .is_none_or(|name| name.trim().is_empty())
        {
            return Err(invalid("client_name", "must be a non-blank string"));
        }
        check_contacts(fields.get("contacts"))?;
        if !fields
            .get("scope")
            .and_then(Value::as_str)
            .is_some_and(is_scope)
        {
            return Err(invalid(
                "scope",
                "must be a space-delimited OAuth scope string",
            ));
        }
        let mut insecure = false;
        let grants = match operation {
            Operation::Register => {
                let grants = check_grants(fields.get("grant_types"))?;
                check_authorization_code(&fields, &grants, transport, &mut insecure)?;
                grants
            }
            Operation::Cancel => Vec::new(),
        };
        let code = grants.contains(&"authorization_code");
        fields.insert(
            "grant_types".into(),
            Value::from(grants.iter().map(|g| Value::from(*g)).collect::<Vec<_>>()),
        );
        if code {
            fields.insert("response_types".into(), Value::from(vec!["code"]));
        }
        fields.insert(
            "token_endpoint_auth_method".into(),
            Value::from("private_key_jwt"),
        );
        if insecure {
            LOCALHOST_WARNING.call_once(|| {
                log::warn!(
                    "[smart-udap] allow_insecure_localhost permits development-only HTTP loopback URIs; the resulting UDAP registration metadata is non-conformant and must not be used in production"
                );
            });
        }
        Ok(Self { fields, operation })
    }

    /// The fields to put in the software statement.
    #[must_use]
    pub fn fields(&self) -> &JsonObject {
        &self.fields
    }

    /// The operation.
    #[must_use]
    pub fn operation(&self) -> Operation {
        self.operation
    }
}

fn check_contacts(value: Option<&Value>) -> Result<(), UdapError> {
    let Some(Value::Array(contacts)) = value else {
        return Err(invalid("contacts", "must be a non-empty array"));
    };
    if contacts.is_empty() {
        return Err(invalid("contacts", "must be a non-empty array"));
    }
    let Some(contacts) = contacts
        .iter()
        .map(Value::as_str)
        .collect::<Option<Vec<_>>>()
    else {
        return Err(invalid("contacts", "must contain only URI strings"));
    };
    let mut mailto = false;
    for contact in contacts {
        let Ok(url) = Url::parse(contact) else {
            return Err(invalid(
                "contacts",
                "must contain only valid absolute URI strings",
            ));
        };
        match url.scheme() {
            "http" | "https" if url.host_str().is_none_or(str::is_empty) => {
                return Err(invalid(
                    "contacts",
                    "must contain only valid absolute URI strings",
                ));
            }
            "mailto" => {
                if !is_mailto(contact) {
                    return Err(invalid(
                        "contacts",
                        "must contain only valid absolute URI strings",
                    ));
                }
                mailto = true;
            }
            _ => {}
        }
    }
    if !mailto {
        return Err(invalid(
            "contacts",
            "must contain at least one valid mailto email address",
        ));
    }
    Ok(())
}

/// `mailto:a@b[,c@d][?headers]` with every address `local@domain`.
fn is_mailto(contact: &str) -> bool {
    let Some(rest) = contact
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("mailto:"))
        .and_then(|_| contact.get(7..))
    else {
        return false;
    };
    let addresses = rest.split('?').next().unwrap_or_default();
    !addresses.is_empty()
        && addresses.split(',').all(|address| {
            let mut parts = address.split('@');
            let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next())
            else {
                return false;
            };
            !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && address
                    .chars()
                    .all(|c| c.is_ascii_graphic() && c != '<' && c != '>')
        })
}

/// RFC 6749 §3.3 `scope-token *( SP scope-token )`.
pub(crate) fn is_scope(scope: &str) -> bool {
    !scope.is_empty()
        && scope.split(' ').all(|token| {
            !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        })
}

fn check_grants(value: Option<&Value>) -> Result<Vec<&'static str>, UdapError> {
    let Some(grants) = value
        .and_then(Value::as_array)
        .and_then(|grants| grants.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
    else {
        return Err(invalid("grant_types", "must be an array of strings"));
    };
    if grants.iter().any(|grant| !GRANT_TYPES.contains(grant)) {
        return Err(invalid("grant_types", "contains an unsupported grant type"));
    }
    for (index, grant) in grants.iter().enumerate() {
        if grants[..index].contains(grant) {
            return Err(invalid("grant_types", "must not contain duplicate values"));
        }
    }
    let primaries = grants
        .iter()
        .filter(|grant| matches!(**grant, "authorization_code" | "client_credentials"))
        .count();
    if primaries != 1 {
        return Err(invalid(
            "grant_types",
            "must contain exactly one primary grant",
        ));
    }
    if grants.contains(&"refresh_token") && !grants.contains(&"authorization_code") {
        return Err(invalid(
            "grant_types",
            "refresh_token requires authorization_code",
        ));
    }
    Ok(GRANT_TYPES
        .into_iter()
        .filter(|grant| grants.contains(grant))
        .collect())
}

fn allowed(url: &Url, transport: TransportPolicy, insecure: &mut bool) -> bool {
    if transport.problem(url).is_some() {
        return false;
    }
    if url.scheme() == "http" {
        *insecure = true;
    }
    true
}

fn check_authorization_code(
    fields: &JsonObject,
    grants: &[&str],
    transport: TransportPolicy,
    insecure: &mut bool,
) -> Result<(), UdapError> {
    if !grants.contains(&"authorization_code") {
        for key in ["redirect_uris", "logo_uri"] {
            if fields.contains_key(key) {
                return Err(invalid(key, "must be absent without authorization_code"));
            }
        }
        return Ok(());
    }
    let Some(redirects) = fields.get("redirect_uris") else {
        return Err(invalid(
            "redirect_uris",
            "is required for authorization_code",
        ));
    };
    let Some(redirects) = redirects
        .as_array()
        .filter(|list| !list.is_empty())
        .and_then(|list| list.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
    else {
        return Err(invalid(
            "redirect_uris",
            "must be a non-empty array of strings",
        ));
    };
    for redirect in redirects {
        let usable = Url::parse(redirect)
            .is_ok_and(|url| url.fragment().is_none() && allowed(&url, transport, insecure));
        if !usable {
            return Err(invalid(
                "redirect_uris",
                "must contain only absolute HTTPS URIs",
            ));
        }
    }
    let Some(logo) = fields.get("logo_uri") else {
        return Err(invalid("logo_uri", "is required for authorization_code"));
    };
    let Some(logo) = logo
        .as_str()
        .and_then(|logo| Url::parse(logo).ok())
        .filter(|url| allowed(url, transport, insecure))
    else {
        return Err(invalid("logo_uri", "must be an absolute HTTPS URI"));
    };
    let path = logo.path().to_ascii_lowercase();
    if ![".png", ".jpg", ".jpeg", ".gif"]
        .iter()
        .any(|ext| path.ends_with(ext))
    {
        return Err(invalid(
            "logo_uri",
            "must reference a PNG, JPEG, JPG, or GIF resource",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(value: &Value, operation: Operation) -> Result<RegistrationMetadata, String> {
        RegistrationMetadata::new(
            value.as_object().unwrap(),
            operation,
            TransportPolicy::STRICT,
        )
        .map_err(|error| error.to_string())
    }

    fn base() -> Value {
        json!({"client_name": "App", "contacts": ["mailto:a@b.example"], "scope": "system/*.read",
               "grant_types": ["client_credentials"]})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut object = base();
        object[key] = value;
        object
    }

    #[test]
    fn every_rule_has_its_message() {
        let cases: Vec<(Value, &str)> = vec![
            (with("iss", json!("x")), "`iss` is reserved"),
            (with("udap", json!("1")), "`udap` is reserved"),
            (
                with("client_name", json!(" ")),
                "`client_name` must be a non-blank string",
            ),
            (
                with("contacts", json!([])),
                "`contacts` must be a non-empty array",
            ),
            (
                with("contacts", json!([1])),
                "`contacts` must contain only URI strings",
            ),
            (
                with("contacts", json!(["not a uri"])),
                "must contain only valid absolute URI strings",
            ),
            (
                with("contacts", json!(["mailto:@example.com"])),
                "must contain only valid absolute URI strings",
            ),
            (
                with("contacts", json!(["https://", "mailto:a@b"])),
                "must contain only valid absolute URI strings",
            ),
            (
                with("contacts", json!(["tel:+1", "sip:a@b"])),
                "at least one valid mailto",
            ),
            (
                with("scope", json!("a  b")),
                "`scope` must be a space-delimited OAuth scope string",
            ),
            (
                with("scope", json!("a\"b")),
                "`scope` must be a space-delimited OAuth scope string",
            ),
            (
                with("grant_types", json!("client_credentials")),
                "must be an array of strings",
            ),
            (
                with("grant_types", json!(["implicit"])),
                "contains an unsupported grant type",
            ),
            (
                with(
                    "grant_types",
                    json!(["client_credentials", "client_credentials"]),
                ),
                "duplicate",
            ),
            (
                with(
                    "grant_types",
                    json!(["client_credentials", "authorization_code"]),
                ),
                "exactly one primary grant",
            ),
            (
                with("grant_types", json!(["refresh_token"])),
                "exactly one primary grant",
            ),
            (
                with(
                    "grant_types",
                    json!(["client_credentials", "refresh_token"]),
                ),
                "refresh_token requires authorization_code",
            ),
            (
                with("redirect_uris", json!(["https://a/cb"])),
                "`redirect_uris` must be absent without authorization_code",
            ),
            (
                with("grant_types", json!(["authorization_code"])),
                "`redirect_uris` is required for authorization_code",
            ),
        ];
        for (input, expected) in cases {
            let message = check(&input.clone(), Operation::Register).unwrap_err();
            assert!(message.contains(expected), "{input}: {message}");
            assert!(
                !message.contains("b.example"),
                "no values in messages: {message}"
            );
        }
        let mut missing = base();
        missing.as_object_mut().unwrap().remove("scope");
        assert!(
            check(&missing, Operation::Register)
                .unwrap_err()
                .contains("`scope` is required")
        );
    }

    #[test]
    fn authorization_code_rules() {
        let mut code = with(
            "grant_types",
            json!(["refresh_token", "authorization_code"]),
        );
        code["redirect_uris"] = json!(["https://app.example/cb"]);
        assert!(
            check(&code.clone(), Operation::Register)
                .unwrap_err()
                .contains("`logo_uri` is required")
        );
        code["logo_uri"] = json!("https://app.example/logo.svg");
        assert!(
            check(&code.clone(), Operation::Register)
                .unwrap_err()
                .contains("PNG, JPEG")
        );
        code["logo_uri"] = json!("http://app.example/logo.png");
        assert!(
            check(&code.clone(), Operation::Register)
                .unwrap_err()
                .contains("absolute HTTPS URI")
        );
        code["logo_uri"] = json!("https://app.example/Logo.PNG?v=2");
        let ok = check(&code.clone(), Operation::Register).unwrap();
        assert_eq!(
            ok.fields()["grant_types"],
            json!(["authorization_code", "refresh_token"])
        );
        assert_eq!(ok.fields()["response_types"], json!(["code"]));
        code["redirect_uris"] = json!(["http://localhost:3000/cb"]);
        assert!(check(&code.clone(), Operation::Register).is_err());
        let dev = RegistrationMetadata::new(
            code.as_object().unwrap(),
            Operation::Register,
            TransportPolicy::ALLOW_INSECURE_LOCALHOST,
        );
        assert!(dev.is_ok());
    }

    #[test]
    fn cancellation() {
        assert!(
            check(&base(), Operation::Cancel)
                .unwrap_err()
                .contains("must be omitted for cancellation")
        );
        let mut cancel = base();
        let object = cancel.as_object_mut().unwrap();
        object.remove("grant_types");
        object.insert("logo_uri".into(), json!("not checked"));
        let ok = check(&cancel, Operation::Cancel).unwrap();
        assert_eq!(ok.fields()["grant_types"], json!([]));
        assert!(!ok.fields().contains_key("logo_uri"));
        assert!(!ok.fields().contains_key("response_types"));
    }

    #[test]
    fn mailto_shapes() {
        assert!(is_mailto("mailto:a@b.example"));
        assert!(is_mailto("mailto:a@b.example,c@d.example?subject=hi"));
        for bad in [
            "mailto:",
            "mailto:@b",
            "mailto:a@",
            "mailto:a@b@c",
            "mailto:a b@c",
        ] {
            assert!(!is_mailto(bad), "{bad}");
        }
    }
}
