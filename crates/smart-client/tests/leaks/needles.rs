//! The secrets the tests use, every form they could leak in, and the search for them.
//!
//! A secret counts as leaked when any 16-byte window of any of its forms appears in a text:
//! that catches it whole, cut into pieces (a hex dump prints 16 bytes a row), or inside a
//! longer base64 blob (a Basic header, a JWT, a PEM). Every form is 16 bytes or longer.

use std::collections::HashMap;

use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};
use smart_client::core::url::form_urlencoded;

/// The length of the windows compared.
pub(crate) const WINDOW: usize = 16;

pub(crate) const CLIENT_ID: &str = "leak-test-app";
/// Characters that change under every encoding: `:` splits Basic credentials, `+/=` are base64
/// and form syntax, `%&` are form syntax, `é` is not ASCII.
pub(crate) const CLIENT_SECRET: &str = "leak-client-secret:+/=%&é-Gx7Qp9Lr4Vb";
pub(crate) const ACCESS_TOKEN: &str = "leak-access-token.Zk3vQ8wLm2Xp9Rt4Yh6";
pub(crate) const REFRESH_TOKEN: &str = "leak-refresh-token/Hq8wN5bV1cT6yU0i+=";
pub(crate) const AUTH_CODE: &str = "leak-authorization-code_Pn2rK7jD4fS9gH3a";
pub(crate) const ID_TOKEN: &str = "leak-id-token.eyJhbGciOi.Jq5mW8eR2tY6uI1o";
pub(crate) const INITIAL_ACCESS_TOKEN: &str = "leak-initial-access-token-Wc4xE7rT1yU5";
pub(crate) const REGISTERED_SECRET: &str = "leak-registered-client-secret-Ab3Cd5Ef7";
pub(crate) const REGISTRATION_TOKEN: &str = "leak-registration-access-token-Gh9Ij2Kl";

/// The forms of a secret that must never appear, with the name of each.
#[derive(Default)]
pub(crate) struct Needles {
    windows: HashMap<Vec<u8>, String>,
}

impl Needles {
    /// Adds `value` under `name`: as is, form-urlencoded, lowercase hex, and base64 (standard
    /// and URL-safe, with and without padding) at each of the three byte alignments it can
    /// have inside a longer encoded blob.
    pub(crate) fn add(&mut self, name: &str, value: &[u8]) {
        assert!(value.len() >= WINDOW, "{name} is too short to search for");
        self.add_form(&format!("{name} (as is)"), value);
        let encoded: String = form_urlencoded::byte_serialize(value).collect();
        self.add_form(&format!("{name} (form-urlencoded)"), encoded.as_bytes());
        let hex: String = value
            .iter()
            .flat_map(|byte| {
                [byte >> 4, byte & 0x0f].map(|nibble| char::from_digit(nibble.into(), 16).unwrap())
            })
            .collect();
        self.add_form(&format!("{name} (hex)"), hex.as_bytes());
        for offset in 0..3 {
            let mut shifted = vec![0u8; offset];
            shifted.extend_from_slice(value);
            for (label, text) in [
                ("base64", Base64::encode_string(&shifted)),
                ("base64, unpadded", Base64Unpadded::encode_string(&shifted)),
                ("base64url", Base64Url::encode_string(&shifted)),
                (
                    "base64url, unpadded",
                    Base64UrlUnpadded::encode_string(&shifted),
                ),
            ] {
                // Only the 4-character groups made of the value's bytes alone.
                let first = offset.div_ceil(3) * 4;
                let last = (offset + value.len()) / 3 * 4;
                if last > first && last - first >= WINDOW {
                    self.add_form(
                        &format!("{name} ({label}, offset {offset})"),
                        &text.as_bytes()[first..last],
                    );
                }
            }
        }
    }

    /// Adds one form exactly as given (for values that are already encoded, such as a Basic
    /// header value).
    pub(crate) fn add_form(&mut self, name: &str, form: &[u8]) {
        assert!(form.len() >= WINDOW, "{name} is too short to search for");
        for window in form.windows(WINDOW) {
            self.windows
                .entry(window.to_vec())
                .or_insert_with(|| name.to_owned());
        }
    }

    /// The name of the first secret found in `text`, with where.
    pub(crate) fn find(&self, text: &str) -> Option<String> {
        text.as_bytes()
            .windows(WINDOW)
            .enumerate()
            .find_map(|(at, window)| {
                self.windows
                    .get(window)
                    .map(|name| format!("{name} at byte {at}"))
            })
    }
}

/// The known secrets that every test shares.
pub(crate) fn fixed() -> Needles {
    let mut needles = Needles::default();
    for (name, value) in [
        ("client secret", CLIENT_SECRET),
        ("access token", ACCESS_TOKEN),
        ("refresh token", REFRESH_TOKEN),
        ("authorization code", AUTH_CODE),
        ("id_token", ID_TOKEN),
        ("initial access token", INITIAL_ACCESS_TOKEN),
        ("registered client secret", REGISTERED_SECRET),
        ("registration access token", REGISTRATION_TOKEN),
    ] {
        needles.add(name, value.as_bytes());
    }
    // The Basic header values, both encodings.
    let raw = Base64::encode_string(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes());
    needles.add_form("Basic header value (raw)", raw.as_bytes());
    let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let rfc6749 = Base64::encode_string(
        format!("{}:{}", encode(CLIENT_ID), encode(CLIENT_SECRET)).as_bytes(),
    );
    needles.add_form("Basic header value (RFC 6749)", rfc6749.as_bytes());
    needles
}

#[test]
fn the_search_finds_every_form() {
    let mut needles = fixed();
    needles.add("a key", &[7u8; 48]);
    let basic = Base64::encode_string(format!("{CLIENT_ID}:{CLIENT_SECRET}").as_bytes());
    let long_blob = Base64UrlUnpadded::encode_string(
        format!("{{\"prefix\":\"x\",\"token\":\"{REFRESH_TOKEN}\"}}").as_bytes(),
    );
    let hex_dump_row = |row: &str| format!("TRACE ureq_proto::util 6c65 616b ... {row}");
    for leaked in [
        format!("token={ACCESS_TOKEN}"),
        format!("Authorization: Basic {basic}"),
        format!(
            "body: client_secret={}",
            form_urlencoded::byte_serialize(CLIENT_SECRET.as_bytes()).collect::<String>()
        ),
        format!("a JWT segment {long_blob}"),
        hex_dump_row(&AUTH_CODE[8..24]),
        format!(
            "{:?}",
            smart_client::token::RefreshToken::new(REFRESH_TOKEN).expose_secret()
        ),
        format!("d = {}", Base64UrlUnpadded::encode_string(&[7u8; 48])),
        format!("key bytes {}", "07".repeat(48)),
    ] {
        assert!(needles.find(&leaked).is_some(), "not found in {leaked}");
    }
    for clean in [
        "POST http://127.0.0.1:1234/token -> 200",
        "AccessToken([redacted])",
        "leak-access-tok",
        "the client secret is not shown",
    ] {
        assert_eq!(needles.find(clean), None, "{clean}");
    }
}
