//! Private key loading from PEM and JWK, and JWK Set parsing, for any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smart_jwt_assertion::{JwkSet, PrivateKey};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for loaded in [
        PrivateKey::from_pem(&text),
        PrivateKey::from_jwk(&text),
        PrivateKey::parse(&text),
    ] {
        match loaded {
            Ok(key) => {
                let _ = format!("{key:?}");
                let _ = key.thumbprint();
                let _ = key.public_jwk_set(Some("kid")).to_json();
                let _ = key.signer(None);
            }
            Err(error) => {
                let _ = format!("{error} {error:?}");
            }
        }
    }
    match JwkSet::parse(&text) {
        Ok(set) => {
            let _ = set.to_json();
            for key in set.find("kid") {
                let _ = key.thumbprint();
            }
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
        }
    }
});
