//! The UDAP mode's configuration ([`UdapMode`]) and the running UDAP server's state: its
//! certificate, trust policy and registrations. The endpoints are in `udap.rs`.

use core::fmt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use smart_udap::test_util::{Leaf, LeafKey, TestPki};
use smart_udap::{TrustPolicy, X509Certificate};

/// The UDAP mode's configuration: the PKI (the trust community) and revoked certificates.
#[derive(Clone)]
pub struct UdapMode {
    pki: Arc<TestPki>,
    revoked: Vec<X509Certificate>,
}

impl UdapMode {
    /// A UDAP mode over `pki`: the sandbox's certificate is issued by its intermediate, and
    /// clients must present certificates chaining to its root.
    #[must_use]
    pub fn new(pki: Arc<TestPki>) -> Self {
        Self {
            pki,
            revoked: Vec::new(),
        }
    }

    /// Lists `certificate` in the intermediate's CRL: its software statements and
    /// assertions are refused.
    #[must_use]
    pub fn revoke(mut self, certificate: X509Certificate) -> Self {
        self.revoked.push(certificate);
        self
    }

    /// The PKI.
    #[must_use]
    pub fn pki(&self) -> &Arc<TestPki> {
        &self.pki
    }
}

impl fmt::Debug for UdapMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { pki, revoked } = self;
        f.debug_struct("UdapMode")
            .field("pki", pki)
            .field("revoked", &revoked.len())
            .finish()
    }
}

/// The running UDAP server's state.
pub(crate) struct UdapServer {
    pub(crate) pki: Arc<TestPki>,
    pub(crate) leaf: Leaf,
    pub(crate) policy: TrustPolicy,
    /// `client_id` to `client_uri`.
    pub(crate) registrations: Mutex<HashMap<String, String>>,
}

impl UdapServer {
    pub(crate) fn start(mode: UdapMode, base: &str) -> Result<Self, String> {
        let UdapMode { pki, revoked } = mode;
        let leaf = pki
            .leaf(&pki.leaf_spec(base, LeafKey::ServerRsa))
            .map_err(|error| format!("cannot issue the sandbox's UDAP certificate: {error}"))?;
        let revoked: Vec<&X509Certificate> = revoked.iter().collect();
        let crl = |result: Result<smart_udap::Crl, _>| {
            result.map_err(|error: smart_udap::test_util::TestPkiError| {
                format!("cannot make a CRL: {error}")
            })
        };
        let policy = TrustPolicy::new(vec![pki.root().clone()])
            .with_crl(crl(pki.root_crl(&[]))?)
            .with_crl(crl(pki.intermediate_crl(&revoked))?)
            .with_transport(smart_core::TransportPolicy::ALLOW_INSECURE_LOCALHOST);
        Ok(Self {
            pki,
            leaf,
            policy,
            registrations: Mutex::new(HashMap::new()),
        })
    }

    /// The PKI (tests issue client certificates from it).
    pub(crate) fn pki(&self) -> &Arc<TestPki> {
        &self.pki
    }
}

impl fmt::Debug for UdapServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdapServer")
            .field("leaf", &self.leaf.certificate)
            .finish_non_exhaustive()
    }
}
