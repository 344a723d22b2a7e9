//! A strict reader for JSON objects received from servers.
//!
//! `serde_json` accepts duplicate keys (the last one wins), which lets two parsers of the same
//! document disagree. [`parse_object`] refuses them at every depth, refuses anything but an
//! object at the top, caps the nesting depth, and reports problems without echoing the input:
//! error messages from here never contain a value from the body (a repeated key is named, with
//! control characters escaped).
//!
//! A body that is refused may still hold secrets (a JWK's `d`, a token): every string of the
//! partly built value, keys included, is zeroized before it is dropped. `serde_json`'s own
//! scratch buffer (used for strings with escapes) and the caller's `body` are not touched.

use core::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use zeroize::Zeroize as _;

/// Deepest nesting [`parse_object`] accepts (the top-level object is depth 1).
pub const MAX_DEPTH: usize = 64;

/// A JSON object, as parsed by [`parse_object`].
pub type JsonObject = Map<String, Value>;

/// Why a body is not a usable JSON object. Never contains content from the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The body is empty or only whitespace.
    #[error("the body is empty")]
    Empty,
    /// The body is not valid UTF-8.
    #[error("the body is not valid UTF-8 (invalid byte at offset {offset})")]
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// The body is not well-formed JSON.
    #[error("the body is not valid JSON (syntax error at line {line}, column {column})")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The body is JSON, but its top level is not an object.
    #[error("the body is a JSON {found}, not an object")]
    NotAnObject {
        /// What the top level is: `array`, `string`, `number`, `boolean` or `null`.
        found: &'static str,
    },
    /// An object has the same key twice.
    #[error("the JSON has the key `{key}` twice in one object")]
    DuplicateKey {
        /// The repeated key as it may be shown: control characters escaped, and cut (at a
        /// character boundary) to at most 64 bytes followed by `...` when longer, as
        /// [`display_text`](crate::display_text) does (the key is chosen by the server).
        key: String,
    },
    /// The JSON nests deeper than [`MAX_DEPTH`].
    #[error("the JSON nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The answer is compressed (`Content-Encoding` other than `identity`). The client never
    /// asks for compression, and compressed answers are not accepted.
    #[error(
        "the answer is compressed (Content-Encoding: {encoding}); compressed answers are not accepted: the server must answer uncompressed (the client sends no Accept-Encoding)"
    )]
    Compressed {
        /// The `Content-Encoding` as sent (control characters escaped, cut to 64 bytes).
        encoding: String,
    },
}

/// Refuses a compressed answer: `content_encoding` is the response's `Content-Encoding`
/// header, if any. `identity` (in any case) and an empty value are not compression.
///
/// ```
/// use smart_core::json::{JsonError, refuse_compressed};
///
/// assert!(refuse_compressed(None).is_ok());
/// assert!(refuse_compressed(Some(b"identity")).is_ok());
/// assert!(matches!(refuse_compressed(Some(b"gzip")), Err(JsonError::Compressed { .. })));
/// ```
///
/// # Errors
///
/// [`JsonError::Compressed`] for any other encoding.
pub fn refuse_compressed(content_encoding: Option<&[u8]>) -> Result<(), JsonError> {
    let Some(value) = content_encoding else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(value);
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("identity") {
        return Ok(());
    }
    Err(JsonError::Compressed {
        encoding: crate::display_text(text, 64),
    })
}

/// Parses `body` as one JSON object, strictly (see the module docs).
///
/// ```
/// use smart_core::json::{JsonError, parse_object};
///
/// let object = parse_object(br#"{"token_endpoint": "https://ehr.example/token"}"#)?;
/// assert_eq!(object["token_endpoint"], "https://ehr.example/token");
///
/// assert_eq!(parse_object(b"[1, 2]"), Err(JsonError::NotAnObject { found: "array" }));
/// assert!(matches!(parse_object(br#"{"a": 1, "a": 2}"#), Err(JsonError::DuplicateKey { .. })));
/// # Ok::<(), JsonError>(())
/// ```
///
/// # Errors
///
/// Returns [`JsonError`] for an empty body, invalid UTF-8, invalid JSON, a top level that is
/// not an object, a duplicate key, or nesting deeper than [`MAX_DEPTH`].
pub fn parse_object(body: &[u8]) -> Result<JsonObject, JsonError> {
    let text = core::str::from_utf8(body).map_err(|error| JsonError::InvalidUtf8 {
        offset: error.valid_up_to(),
    })?;
    if text.trim().is_empty() {
        return Err(JsonError::Empty);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let mut failure = None;
    let value = StrictValue {
        depth: 1,
        failure: &mut failure,
    }
    .deserialize(&mut deserializer)
    .and_then(|mut value| match deserializer.end() {
        Ok(()) => Ok(value),
        Err(error) => {
            scrub_value(&mut value);
            Err(error)
        }
    });
    let value = match value {
        Ok(value) => value,
        Err(error) => {
            return Err(failure.unwrap_or(JsonError::Syntax {
                line: error.line(),
                column: error.column(),
            }));
        }
    };
    match value {
        Value::Object(object) => Ok(object),
        mut other => {
            let found = kind(&other);
            scrub_value(&mut other);
            Err(JsonError::NotAnObject { found })
        }
    }
}

/// Zeroizes every string, keys included, of a value dropped on an error path: a refused body
/// may still hold secrets (a JWK's `d`, a token).
fn scrub_value(value: &mut Value) {
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(scrub_value),
        Value::Object(members) => scrub_map(members),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn scrub_map(map: &mut Map<String, Value>) {
    // Keys cannot be changed in place: take the entries out.
    for (mut key, mut value) in core::mem::take(map) {
        key.zeroize();
        scrub_value(&mut value);
    }
}

/// An object being built; zeroized when dropped before it is complete (a later error).
struct PartialObject(Map<String, Value>);

impl Drop for PartialObject {
    fn drop(&mut self) {
        scrub_map(&mut self.0);
    }
}

/// An array being built; zeroized when dropped before it is complete (a later error).
struct PartialArray(Vec<Value>);

impl Drop for PartialArray {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(scrub_value);
    }
}

/// How many names [`field_names`] lists at most.
pub const MAX_FIELD_NAMES: usize = 30;
/// The most characters of each name [`field_names`] keeps.
pub const MAX_FIELD_NAME: usize = 64;

/// The names (never the values) of an object's fields, for an error such as "the answer has
/// no `client_id`; received fields: ...": at most [`MAX_FIELD_NAMES`] of them, each cleaned
/// like [`clean_server_text`](crate::clean_server_text) (control characters become spaces)
/// and cut to [`MAX_FIELD_NAME`] characters, then `...`.
///
/// ```
/// use smart_core::json::{field_names, parse_object};
///
/// let object = parse_object(br#"{"access_token": "secret", "bad\nkey": 1}"#)?;
/// assert_eq!(field_names(&object), ["access_token", "bad key"]);
/// # Ok::<(), smart_core::json::JsonError>(())
/// ```
#[must_use]
pub fn field_names(object: &Map<String, Value>) -> Vec<String> {
    object
        .keys()
        .take(MAX_FIELD_NAMES)
        .map(|name| crate::transport::clean_to(name, MAX_FIELD_NAME))
        .collect()
}

/// The JSON type name of a value, for messages.
#[must_use]
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Builds a `serde_json::Value`, refusing duplicate keys and deep nesting. The reason for a
/// refusal goes into `failure`, because serde's own error type would carry only a string.
struct StrictValue<'f> {
    depth: usize,
    failure: &'f mut Option<JsonError>,
}

impl StrictValue<'_> {
    fn fail<E: de::Error>(&mut self, error: JsonError) -> E {
        let message = error.to_string();
        *self.failure = Some(error);
        E::custom(message)
    }

    fn child(&mut self) -> StrictValue<'_> {
        StrictValue {
            depth: self.depth + 1,
            failure: self.failure,
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity; serde_json already refuses them, so `from_f64` holds.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth > MAX_DEPTH {
            return Err(self.fail(JsonError::TooDeep));
        }
        let mut items = PartialArray(Vec::new());
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.0.push(item);
        }
        Ok(Value::Array(core::mem::take(&mut items.0)))
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        if self.depth > MAX_DEPTH {
            return Err(self.fail(JsonError::TooDeep));
        }
        let mut object = PartialObject(Map::new());
        while let Some(mut key) = map.next_key::<String>()? {
            if object.0.contains_key(&key) {
                let error = JsonError::DuplicateKey {
                    key: crate::transport::display_text(&key, 64),
                };
                key.zeroize();
                return Err(self.fail(error));
            }
            let value = map.next_value_seed(self.child())?;
            object.0.insert(key, value);
        }
        Ok(Value::Object(core::mem::take(&mut object.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_parse() {
        let object =
            parse_object(br#" {"a": [1, {"b": null}], "c": "d", "e": 1.5, "f": -3} "#).unwrap();
        assert_eq!(object.len(), 4);
        assert_eq!(object["a"][1]["b"], Value::Null);
    }

    #[test]
    fn top_level_kinds() {
        for (body, found) in [
            (&b"[]"[..], "array"),
            (b"\"value\"", "string"),
            (b"123", "number"),
            (b"true", "boolean"),
            (b"null", "null"),
        ] {
            assert_eq!(parse_object(body), Err(JsonError::NotAnObject { found }));
        }
    }

    #[test]
    fn empty_and_syntax_errors() {
        assert_eq!(parse_object(b""), Err(JsonError::Empty));
        assert_eq!(parse_object(b"  \n"), Err(JsonError::Empty));
        assert!(matches!(
            parse_object(b"{not-json"),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(
            parse_object(b"{} {}"),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(
            parse_object(b"<html><body>502 Bad Gateway</body></html>"),
            Err(JsonError::Syntax { line: 1, column: 1 })
        ));
    }

    #[test]
    fn invalid_utf8() {
        assert_eq!(
            parse_object(b"{\"a\": \"\xff\"}"),
            Err(JsonError::InvalidUtf8 { offset: 7 })
        );
    }

    #[test]
    fn duplicate_keys_at_any_depth() {
        assert_eq!(
            parse_object(br#"{"access_token": "x", "access_token": "y"}"#),
            Err(JsonError::DuplicateKey {
                key: "access_token".to_owned()
            })
        );
        assert!(matches!(
            parse_object(br#"{"a": [{"b": 1, "b": 1}]}"#),
            Err(JsonError::DuplicateKey { .. })
        ));
    }

    #[test]
    fn a_long_duplicate_key_is_cut_at_a_character_boundary() {
        let key = "é".repeat(40);
        let body = format!(r#"{{"{key}": 1, "{key}": 2}}"#);
        let Err(JsonError::DuplicateKey { key: shown }) = parse_object(body.as_bytes()) else {
            panic!("not refused")
        };
        // 64 bytes of two-byte characters: 32 of them, then `...`.
        assert_eq!(shown, format!("{}...", "é".repeat(32)));
    }

    #[test]
    fn field_names_are_cleaned_cut_and_bounded() {
        let long = "n".repeat(100);
        let mut object = Map::new();
        object.insert(
            "client\u{1b}[31m_secret\nX".to_owned(),
            Value::from("LEAK-ME"),
        );
        object.insert(long.clone(), Value::from(1));
        let names = field_names(&object);
        assert!(
            names.contains(&"client [31m_secret X".to_owned()),
            "{names:?}"
        );
        assert!(names.contains(&format!("{}...", &long[..64])), "{names:?}");
        assert!(!names.concat().contains("LEAK-ME"));
        let many: Map<String, Value> = (0..50).map(|i| (format!("f{i}"), Value::Null)).collect();
        assert_eq!(field_names(&many).len(), MAX_FIELD_NAMES);
    }

    #[test]
    fn refused_values_are_scrubbed() {
        let mut value = serde_json::json!({"d": "secret", "k": ["x", {"y": "z"}], "n": 1});
        scrub_value(&mut value);
        assert_eq!(value, serde_json::json!({}));
        let mut items = PartialArray(vec![Value::from("secret")]);
        items.0.iter_mut().for_each(scrub_value);
        assert_eq!(items.0, [Value::from("")]);
        // A refused document still parses its parts first; nothing panics while scrubbing.
        assert!(parse_object(br#"{"d": "secret", "e": [1, "two"], "d": "again"}"#).is_err());
        assert!(parse_object(br#"[{"d": "secret"}]"#).is_err());
        assert!(parse_object(br#"{"d": "secret"} trailing"#).is_err());
    }

    #[test]
    fn a_duplicate_key_is_shown_escaped() {
        let err = parse_object(b"{\"a\\nINFO forged\": 1, \"a\\nINFO forged\": 2}").unwrap_err();
        assert_eq!(
            err,
            JsonError::DuplicateKey {
                key: "a\\nINFO forged".to_owned()
            }
        );
        assert!(!err.to_string().contains('\n'), "{err}");
        let long = format!("{{\"{0}\": 1, \"{0}\": 2}}", "k".repeat(100));
        let JsonError::DuplicateKey { key } = parse_object(long.as_bytes()).unwrap_err() else {
            panic!("not a duplicate key error");
        };
        assert_eq!(key, format!("{}...", "k".repeat(64)));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let body = format!("{{\"a\": {deep}}}");
        let err = parse_object(body.as_bytes()).unwrap_err();
        assert!(
            matches!(err, JsonError::TooDeep | JsonError::Syntax { .. }),
            "{err:?}"
        );

        let objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
        assert!(parse_object(objects.as_bytes()).is_err());

        let ok = format!(
            "{{\"a\": {}{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        parse_object(ok.as_bytes()).unwrap();
        let too_deep = format!(
            "{{\"a\": {}{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert_eq!(parse_object(too_deep.as_bytes()), Err(JsonError::TooDeep));
    }

    #[test]
    fn errors_do_not_echo_the_body() {
        let body = br#"{"refresh_token": "sekret-value", "x": tru}"#;
        let err = parse_object(body).unwrap_err();
        assert!(!err.to_string().contains("sekret"), "{err}");
    }

    #[test]
    fn big_strings_are_fine() {
        let body = format!("{{\"a\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));
        let object = parse_object(body.as_bytes()).unwrap();
        assert_eq!(object["a"].as_str().map(str::len), Some(5 * 1024 * 1024));
    }
}
