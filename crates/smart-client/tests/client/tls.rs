//! TLS 1.2 or later only (SMART App Launch: TLS 1.2+ to the token endpoint and the FHIR
//! server): a loopback listener reads the `ClientHello` each shell's rustls sends and checks
//! the protocol versions it offers. Nothing answers it; the call then fails.

use std::io::Read as _;
use std::net::TcpListener;
use std::time::Duration;

use smart_client::{ClientConfig, ClientType, HttpOptions};
use test_support::{Client, both_shells};

/// TLS 1.2 on the wire.
const TLS12: u16 = 0x0303;

/// Reads one `ClientHello` from `listener`: (its legacy `client_version`, the versions of its
/// `supported_versions` extension).
fn client_hello(listener: &TcpListener) -> (u16, Vec<u16>) {
    let (mut stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut header = [0u8; 5];
    stream.read_exact(&mut header).unwrap();
    assert_eq!(header[0], 0x16, "a TLS handshake record");
    let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let mut record = vec![0u8; length];
    stream.read_exact(&mut record).unwrap();
    assert_eq!(record[0], 0x01, "a ClientHello");
    let body = &record[4..];
    let legacy = u16::from_be_bytes([body[0], body[1]]);
    let mut at = 2 + 32; // version, random
    at += 1 + usize::from(body[at]); // session id
    at += 2 + usize::from(u16::from_be_bytes([body[at], body[at + 1]])); // cipher suites
    at += 1 + usize::from(body[at]); // compression methods
    let end = at + 2 + usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
    at += 2;
    let mut versions = Vec::new();
    while at + 4 <= end {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let size = usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
        let data = &body[at + 4..at + 4 + size];
        if kind == 0x002b {
            versions = data[1..]
                .chunks(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                // GREASE values (0x?a?a) are not versions.
                .filter(|version| version & 0x0f0f != 0x0a0a)
                .collect();
        }
        at += 4 + size;
    }
    (legacy, versions)
}

both_shells! {
fn only_tls_1_2_and_1_3_are_offered() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = ClientConfig::builder(format!("https://127.0.0.1:{port}/fhir"))
        .client_id("app")
        .http_options(HttpOptions::new().timeout(Duration::from_secs(10)))
        .build()
        .unwrap();
    let client = Client::new(config, ClientType::Public).unwrap();
    let hello = std::thread::spawn(move || client_hello(&listener));
    assert!(client.token_endpoint().is_err(), "nothing answered the handshake");
    let (legacy, versions) = hello.join().unwrap();
    assert_eq!(legacy, TLS12, "the legacy version field is TLS 1.2, never lower");
    assert!(!versions.is_empty(), "a supported_versions extension");
    assert!(
        versions.iter().all(|version| *version >= TLS12),
        "offered versions {versions:04x?}"
    );
    assert!(versions.contains(&TLS12), "{versions:04x?}");
}
}
