//! The sandbox's clients file (`smart sandbox --clients`, `SandboxConfig::clients_from_json`):
//! `{"clients": [...]}` with RFC 7591 metadata per client, keys as JWK Sets or PEM.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smart_sandbox::SandboxConfig;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(error) = SandboxConfig::new().clients_from_json(&text) {
        let _ = error.to_string();
    }
});
