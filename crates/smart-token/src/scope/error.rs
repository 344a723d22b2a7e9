//! Why a scope token does not parse.

use core::fmt;

/// The longest scope token an error message shows before cutting it.
const SHOWN_TOKEN_LEN: usize = 100;

/// What is wrong with a scope token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScopeProblem {
    /// The token is empty.
    Empty,
    /// The token has a character RFC 6749 §3.3 does not allow (space, `"`, `\`, control or
    /// non-ASCII).
    Character,
    /// A resource scope has no `.permissions` part.
    MissingPermissions,
    /// The resource type is neither `*` nor a FHIR resource type name.
    ResourceType,
    /// The permissions are neither v1 (`read`, `write`, `*`) nor letters of `cruds`.
    PermissionLetter,
    /// The v2 letters are repeated or not in `cruds` order.
    PermissionOrder,
    /// No permission at all.
    EmptyPermissions,
    /// A `?` constraint is not `name=value`.
    Param,
    /// Search constraints with v1 permissions (granular scopes are SMART v2 only).
    ParamsNeedV2,
    /// A `launch/` scope names something other than a lower-case resource type.
    LaunchType,
    /// A `launch/` scope has a parameter other than a single `role`.
    LaunchParam,
}

impl fmt::Display for ScopeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "the scope is empty",
            Self::Character => {
                "scopes may contain only printable ASCII other than space, '\"' and '\\' (RFC 6749 section 3.3)"
            }
            Self::MissingPermissions => {
                "a resource scope needs permissions after a '.', as in patient/Observation.rs"
            }
            Self::ResourceType => "the resource type must be '*' or a FHIR resource type such as Observation",
            Self::PermissionLetter => {
                "permissions must be v1 (read, write, *) or v2 letters from 'cruds'"
            }
            Self::PermissionOrder => "v2 permission letters must appear once each, in 'cruds' order",
            Self::EmptyPermissions => "a resource scope must grant at least one permission",
            Self::Param => "constraints after '?' must be name=value pairs joined by '&'",
            Self::ParamsNeedV2 => {
                "search constraints need v2 permissions (for example .rs instead of .read)"
            }
            Self::LaunchType => {
                "launch context scopes name a lower-case resource type, as in launch/patient"
            }
            Self::LaunchParam => "a launch context scope takes at most one parameter, role",
        })
    }
}

/// An invalid scope token: the token (cut to 100 characters) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope `{token}`: {problem}")]
pub struct ScopeError {
    token: String,
    problem: ScopeProblem,
}

impl ScopeError {
    pub(super) fn new(token: &str, problem: ScopeProblem) -> Self {
        let mut shown: String = token.chars().take(SHOWN_TOKEN_LEN).collect();
        if shown.len() < token.len() {
            shown.push_str("...");
        }
        Self {
            token: shown,
            problem,
        }
    }

    /// The offending token (cut to 100 characters).
    #[must_use]
    pub fn token(&self) -> &str {
        &self.token
    }

    /// What is wrong with it.
    #[must_use]
    pub fn problem(&self) -> ScopeProblem {
        self.problem
    }
}
