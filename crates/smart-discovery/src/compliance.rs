//! The compliance report: how a configuration measures up to SMART App Launch 2.2
//! ([conformance.html#metadata](https://hl7.org/fhir/smart-app-launch/STU2.2/conformance.html#metadata)).

use core::fmt;

use crate::capability::Capability;
use crate::configuration::SmartConfiguration;
use crate::finding::Finding;

/// One way a configuration falls short of SMART App Launch 2.2.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComplianceFinding {
    /// A field every server must send is missing (or was unusable and ignored):
    /// `grant_types_supported`, `token_endpoint`, `capabilities` or
    /// `code_challenge_methods_supported`.
    MissingRequired {
        /// The field.
        field: &'static str,
    },
    /// A field an advertised capability requires is missing: `issuer` and `jwks_uri` with
    /// `sso-openid-connect`, `authorization_endpoint` with `launch-ehr` or
    /// `launch-standalone`.
    MissingConditional {
        /// The field.
        field: &'static str,
        /// The capability that requires it.
        capability: Capability,
    },
    /// `code_challenge_methods_supported` does not list `S256`, which SMART requires.
    S256Missing,
    /// `code_challenge_methods_supported` lists `plain`, which SMART prohibits.
    PlainPresent,
    /// `capabilities` include `client-confidential-asymmetric`, but
    /// `token_endpoint_auth_signing_alg_values_supported` lists neither RS384 nor ES384, the
    /// two algorithms SMART requires servers to accept
    /// ([client-confidential-asymmetric.html](https://hl7.org/fhir/smart-app-launch/STU2.2/client-confidential-asymmetric.html)).
    /// A client that signed with either would be refused.
    AsymmetricAlgorithmMissing {
        /// What the list holds instead (each value cleaned and cut).
        listed: Vec<String>,
    },
    /// Something the parser tolerated (see [`Finding`]): a wrong type, a relative URL, a
    /// dropped link, or a configuration read from the legacy CapabilityStatement.
    Document(Finding),
}

impl fmt::Display for ComplianceFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingRequired { field } => write!(f, "required field '{field}' is missing"),
            Self::MissingConditional { field, capability } => write!(
                f,
                "required field '{field}' is missing (capabilities include '{capability}', which requires it)"
            ),
            Self::S256Missing => f.write_str(
                "'S256' is missing from code_challenge_methods_supported (SMART App Launch 2.2 requires S256)",
            ),
            Self::PlainPresent => f.write_str(
                "'plain' is present in code_challenge_methods_supported (SMART App Launch 2.2 prohibits plain)",
            ),
            Self::AsymmetricAlgorithmMissing { listed } => write!(
                f,
                "capabilities include 'client-confidential-asymmetric', but token_endpoint_auth_signing_alg_values_supported lists neither RS384 nor ES384 (it lists {}); SMART requires servers to accept both",
                listed.join(", ")
            ),
            Self::Document(finding) => fmt::Display::fmt(finding, f),
        }
    }
}

/// The result of [`SmartConfiguration::compliance`]: every finding, in a stable order.
///
/// Building it never fails; a server that advertises badly can still be used as far as its
/// document allows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComplianceReport {
    findings: Vec<ComplianceFinding>,
}

impl ComplianceReport {
    /// Whether the configuration has no findings at all.
    #[must_use]
    pub fn is_compliant(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings.
    #[must_use]
    pub fn findings(&self) -> &[ComplianceFinding] {
        &self.findings
    }

    /// The findings, in order.
    pub fn iter(&self) -> core::slice::Iter<'_, ComplianceFinding> {
        self.findings.iter()
    }

    /// The findings, by value.
    #[must_use]
    pub fn into_findings(self) -> Vec<ComplianceFinding> {
        self.findings
    }
}

impl<'a> IntoIterator for &'a ComplianceReport {
    type Item = &'a ComplianceFinding;
    type IntoIter = core::slice::Iter<'a, ComplianceFinding>;

    fn into_iter(self) -> Self::IntoIter {
        self.findings.iter()
    }
}

impl IntoIterator for ComplianceReport {
    type Item = ComplianceFinding;
    type IntoIter = std::vec::IntoIter<ComplianceFinding>;

    fn into_iter(self) -> Self::IntoIter {
        self.findings.into_iter()
    }
}

impl fmt::Display for ComplianceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.findings.len() {
            0 => f.write_str("the SMART configuration complies with SMART App Launch 2.2"),
            count => {
                let plural = if count == 1 { "" } else { "s" };
                write!(
                    f,
                    "the SMART configuration has {count} compliance finding{plural}:"
                )?;
                for finding in &self.findings {
                    write!(f, "\n- {finding}")?;
                }
                Ok(())
            }
        }
    }
}

impl SmartConfiguration {
    /// Checks the configuration against SMART App Launch 2.2 and logs one `log::warn!` per
    /// finding. Never fails.
    ///
    /// The checks, in this order:
    ///
    /// 1. required fields: `grant_types_supported`, `token_endpoint`, `capabilities`,
    ///    `code_challenge_methods_supported` (an empty array counts as present);
    /// 2. conditional fields: `issuer` and `jwks_uri` when `capabilities` include
    ///    `sso-openid-connect`, `authorization_endpoint` when they include `launch-ehr` or
    ///    `launch-standalone`;
    /// 3. PKCE: `S256` listed and `plain` absent in `code_challenge_methods_supported`
    ///    (checked only when the list is present; a missing list is reported in step 1);
    /// 4. assertion algorithms: with `client-confidential-asymmetric`, a non-empty
    ///    `token_endpoint_auth_signing_alg_values_supported` must list RS384 or ES384;
    /// 5. every [`Finding`] the parser recorded.
    #[must_use = "the report is the result; the log lines are a side effect"]
    pub fn compliance(&self) -> ComplianceReport {
        let mut findings = Vec::new();
        let required = [
            (
                "grant_types_supported",
                self.grant_types_supported().is_some(),
            ),
            ("token_endpoint", self.token_endpoint().is_some()),
            ("capabilities", self.capabilities().is_some()),
            (
                "code_challenge_methods_supported",
                self.code_challenge_methods_supported().is_some(),
            ),
        ];
        for (field, present) in required {
            if !present {
                findings.push(ComplianceFinding::MissingRequired { field });
            }
        }

        if self.openid_connect_capability() {
            for (field, present) in [
                ("issuer", self.issuer().is_some()),
                ("jwks_uri", self.jwks_uri().is_some()),
            ] {
                if !present {
                    findings.push(ComplianceFinding::MissingConditional {
                        field,
                        capability: Capability::SsoOpenidConnect,
                    });
                }
            }
        }
        if self.authorization_endpoint().is_none() {
            let launch = [Capability::LaunchEhr, Capability::LaunchStandalone]
                .into_iter()
                .find(|capability| self.has_capability(capability));
            if let Some(capability) = launch {
                findings.push(ComplianceFinding::MissingConditional {
                    field: "authorization_endpoint",
                    capability,
                });
            }
        }

        if let Some(methods) = self.code_challenge_methods_supported() {
            if !methods.iter().any(|method| method == "S256") {
                findings.push(ComplianceFinding::S256Missing);
            }
            if methods.iter().any(|method| method == "plain") {
                findings.push(ComplianceFinding::PlainPresent);
            }
        }

        if self.has_capability(Capability::ClientConfidentialAsymmetric)
            && let Some(listed) = self.token_endpoint_auth_signing_alg_values_supported()
            && !listed.is_empty()
            && self.asymmetric_signing_algorithms_supported().is_empty()
        {
            findings.push(ComplianceFinding::AsymmetricAlgorithmMissing {
                listed: listed
                    .iter()
                    .take(16)
                    .map(|alg| smart_core::clean_server_text(alg))
                    .collect(),
            });
        }

        findings.extend(
            self.findings()
                .iter()
                .cloned()
                .map(ComplianceFinding::Document),
        );

        for finding in &findings {
            log::warn!("SMART metadata non-compliance: {finding}");
        }
        ComplianceReport { findings }
    }
}
