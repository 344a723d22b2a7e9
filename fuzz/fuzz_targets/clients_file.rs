//! The clients file of `smart demo --server` (the CLI's own `clients_file.rs`, included as it
//! is): strict JSON of a fixed shape, then each client's secret method.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/smart-cli/src/clients_file.rs"]
#[allow(dead_code, unreachable_pub)]
mod clients_file;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(file) = clients_file::parse(&text) {
        for entry in [
            &file.public,
            &file.confidential_symmetric,
            &file.confidential_asymmetric,
            &file.confidential_asymmetric_jwks_uri,
        ]
        .into_iter()
        .flatten()
        {
            if let Err(message) = entry.secret_method() {
                assert!(
                    !message.chars().any(smart_core::is_unsafe_char),
                    "{message:?}"
                );
            }
        }
    }
});
