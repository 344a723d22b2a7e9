//! SMART scopes: the v1 and v2 grammar, launch-context and identity scopes, and scope sets
//! that answer "is this access granted?"
//! ([scopes-and-launch-context.html](https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html)).

use core::fmt;
use core::str::FromStr;

mod error;
mod set;

pub use error::{ScopeError, ScopeProblem};
pub use set::{ScopeComparison, ScopeSet};

/// One scope token.
///
/// ```
/// use smart_token::scope::{Compartment, Scope};
///
/// let scope: Scope = "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory".parse()?;
/// let Scope::Resource(resource) = &scope else { unreachable!() };
/// assert_eq!(resource.compartment(), Compartment::Patient);
/// assert_eq!(resource.resource_type(), Some("Observation"));
/// assert_eq!(resource.params().len(), 1);
///
/// // v1 scopes map to v2.
/// let v1: Scope = "user/*.read".parse()?;
/// assert_eq!(v1.to_v2().to_string(), "user/*.rs");
/// # Ok::<(), smart_token::scope::ScopeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// `patient/…`, `user/…` or `system/…`: access to FHIR resources.
    Resource(ResourceScope),
    /// `launch`: the EHR launch context (sent with the `launch` parameter).
    Launch,
    /// `launch/patient`, `launch/encounter` or `launch/<type>`, with an optional `?role=`.
    LaunchContext(LaunchContextScope),
    /// `openid`.
    OpenId,
    /// `fhirUser`.
    FhirUser,
    /// `profile` (the pre-`fhirUser` identity scope).
    Profile,
    /// `offline_access`: a refresh token usable after the user leaves.
    OfflineAccess,
    /// `online_access`: a refresh token usable while the user is online.
    OnlineAccess,
    /// Any other valid OAuth scope token (a vendor scope, for example), kept as given.
    Other(String),
}

/// Whose data a resource scope covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compartment {
    /// `patient/`: data about the patient in context.
    Patient,
    /// `user/`: data the user may see.
    User,
    /// `system/`: data a backend service may see.
    System,
}

impl Compartment {
    /// The prefix as written, without the slash.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::User => "user",
            Self::System => "system",
        }
    }
}

/// A set of the SMART v2 interactions: create, read, update, delete, search.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// `c`: create.
    pub const CREATE: Self = Self(1);
    /// `r`: read.
    pub const READ: Self = Self(2);
    /// `u`: update.
    pub const UPDATE: Self = Self(4);
    /// `d`: delete.
    pub const DELETE: Self = Self(8);
    /// `s`: search.
    pub const SEARCH: Self = Self(16);
    /// `cruds`: everything.
    pub const ALL: Self = Self(31);

    const LETTERS: [(u8, char); 5] = [(1, 'c'), (2, 'r'), (4, 'u'), (8, 'd'), (16, 's')];

    /// Both sets together.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every interaction of `other` is in this set.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, letter) in Self::LETTERS {
            if self.0 & bit != 0 {
                f.write_fmt(format_args!("{letter}"))?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Permissions({self})")
    }
}

/// How a resource scope's permissions were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// SMART v1: `.read`, `.write` or `.*`.
    V1(V1Action),
    /// SMART v2: letters of `cruds`, in that order.
    V2,
}

/// A SMART v1 action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum V1Action {
    /// `.read`, which maps to v2 `rs`.
    Read,
    /// `.write`, which maps to v2 `cud`.
    Write,
    /// `.*`, which maps to v2 `cruds`.
    All,
}

impl V1Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::All => "*",
        }
    }

    fn permissions(self) -> Permissions {
        match self {
            Self::Read => Permissions::READ.union(Permissions::SEARCH),
            Self::Write => Permissions::CREATE
                .union(Permissions::UPDATE)
                .union(Permissions::DELETE),
            Self::All => Permissions::ALL,
        }
    }
}

/// A clinical-data scope: `compartment/ResourceType.permissions[?param=value&…]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceScope {
    compartment: Compartment,
    resource_type: Option<String>,
    permissions: Permissions,
    syntax: Syntax,
    params: Vec<(String, String)>,
}

impl ResourceScope {
    /// A v2 scope for one resource type (`None` for `*`) with no search constraints.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] when the type is not a FHIR resource type name or the set is empty.
    pub fn new(
        compartment: Compartment,
        resource_type: Option<&str>,
        permissions: Permissions,
    ) -> Result<Self, ScopeError> {
        let scope = Self {
            compartment,
            resource_type: resource_type.map(str::to_owned),
            permissions,
            syntax: Syntax::V2,
            params: Vec::new(),
        };
        let text = scope.to_string();
        if permissions.is_empty() {
            return Err(ScopeError::new(&text, ScopeProblem::EmptyPermissions));
        }
        if resource_type.is_some_and(|name| !is_resource_type(name)) {
            return Err(ScopeError::new(&text, ScopeProblem::ResourceType));
        }
        Ok(scope)
    }

    /// The same scope with a granular constraint `name=value` added (SMART v2 only).
    #[must_use]
    pub fn with_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.syntax = Syntax::V2;
        self.params.push((name.into(), value.into()));
        self
    }

    /// `patient`, `user` or `system`.
    #[must_use]
    pub fn compartment(&self) -> Compartment {
        self.compartment
    }

    /// The resource type, or `None` for `*`.
    #[must_use]
    pub fn resource_type(&self) -> Option<&str> {
        self.resource_type.as_deref()
    }

    /// The interactions granted, as v2 letters (v1 actions mapped).
    #[must_use]
    pub fn permissions(&self) -> Permissions {
        self.permissions
    }

    /// How the permissions were written.
    #[must_use]
    pub fn syntax(&self) -> Syntax {
        self.syntax
    }

    /// The granular constraints (`?category=…`), in order, as written.
    #[must_use]
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The v2 form of this scope.
    #[must_use]
    pub fn to_v2(&self) -> Self {
        Self {
            syntax: Syntax::V2,
            ..self.clone()
        }
    }

    /// Whether this scope allows `access`.
    #[must_use]
    pub fn permits(&self, access: &Access<'_>) -> bool {
        self.compartment == access.compartment
            && self
                .resource_type
                .as_deref()
                .is_none_or(|name| name == access.resource_type)
            && self.permissions.contains(access.permissions)
            && self
                .params
                .iter()
                .all(|(name, value)| access.params.iter().any(|(n, v)| n == name && v == value))
    }

    /// Whether everything `other` allows, this scope allows too.
    #[must_use]
    pub fn covers(&self, other: &Self) -> bool {
        self.compartment == other.compartment
            && (self.resource_type.is_none() || self.resource_type == other.resource_type)
            && self.permissions.contains(other.permissions)
            && self.params.iter().all(|param| other.params.contains(param))
    }

    /// Whether the two scopes allow exactly the same thing, however they are written.
    #[must_use]
    pub fn same_access(&self, other: &Self) -> bool {
        self.covers(other) && other.covers(self)
    }
}

impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}.",
            self.compartment.as_str(),
            self.resource_type.as_deref().unwrap_or("*")
        )?;
        match self.syntax {
            Syntax::V1(action) => f.write_str(action.as_str())?,
            Syntax::V2 => write!(f, "{}", self.permissions)?,
        }
        for (index, (name, value)) in self.params.iter().enumerate() {
            f.write_str(if index == 0 { "?" } else { "&" })?;
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

/// A launch-context scope: `launch/<type>` with an optional `?role=`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LaunchContextScope {
    resource_type: String,
    role: Option<String>,
}

impl LaunchContextScope {
    /// `launch/patient`.
    #[must_use]
    pub fn patient() -> Self {
        Self {
            resource_type: "patient".to_owned(),
            role: None,
        }
    }

    /// `launch/encounter`.
    #[must_use]
    pub fn encounter() -> Self {
        Self {
            resource_type: "encounter".to_owned(),
            role: None,
        }
    }

    /// The lower-case resource type after `launch/`.
    #[must_use]
    pub fn resource_type(&self) -> &str {
        &self.resource_type
    }

    /// The requested role, if any.
    #[must_use]
    pub fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }
}

impl fmt::Display for LaunchContextScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "launch/{}", self.resource_type)?;
        if let Some(role) = &self.role {
            write!(f, "?role={role}")?;
        }
        Ok(())
    }
}

fn is_scope_token_char(c: char) -> bool {
    // RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E.
    matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

fn is_resource_type(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

fn parse_params(query: &str, token: &str) -> Result<Vec<(String, String)>, ScopeError> {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !name.is_empty() && !value.is_empty() => {
                Ok((name.to_owned(), value.to_owned()))
            }
            _ => Err(ScopeError::new(token, ScopeProblem::Param)),
        })
        .collect()
}

fn parse_permissions(text: &str, token: &str) -> Result<(Permissions, Syntax), ScopeError> {
    let v1 = match text {
        "read" => Some(V1Action::Read),
        "write" => Some(V1Action::Write),
        "*" => Some(V1Action::All),
        _ => None,
    };
    if let Some(action) = v1 {
        return Ok((action.permissions(), Syntax::V1(action)));
    }
    if text.is_empty() {
        return Err(ScopeError::new(token, ScopeProblem::EmptyPermissions));
    }
    let mut permissions = Permissions::default();
    let mut last_index = None;
    for letter in text.chars() {
        let Some(index) = Permissions::LETTERS.iter().position(|(_, l)| *l == letter) else {
            return Err(ScopeError::new(token, ScopeProblem::PermissionLetter));
        };
        if last_index.is_some_and(|last| index <= last) {
            return Err(ScopeError::new(token, ScopeProblem::PermissionOrder));
        }
        last_index = Some(index);
        permissions = permissions.union(Permissions(Permissions::LETTERS[index].0));
    }
    Ok((permissions, Syntax::V2))
}

fn parse_resource(
    compartment: Compartment,
    rest: &str,
    token: &str,
) -> Result<ResourceScope, ScopeError> {
    let (main, query) = match rest.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (rest, None),
    };
    let Some((resource, permissions)) = main.split_once('.') else {
        return Err(ScopeError::new(token, ScopeProblem::MissingPermissions));
    };
    let resource_type = match resource {
        "*" => None,
        name if is_resource_type(name) => Some(name.to_owned()),
        _ => return Err(ScopeError::new(token, ScopeProblem::ResourceType)),
    };
    let (permissions, syntax) = parse_permissions(permissions, token)?;
    let params = match query {
        None => Vec::new(),
        Some(_) if syntax != Syntax::V2 => {
            return Err(ScopeError::new(token, ScopeProblem::ParamsNeedV2));
        }
        Some(query) => parse_params(query, token)?,
    };
    Ok(ResourceScope {
        compartment,
        resource_type,
        permissions,
        syntax,
        params,
    })
}

fn parse_launch_context(rest: &str, token: &str) -> Result<LaunchContextScope, ScopeError> {
    let (resource_type, query) = match rest.split_once('?') {
        Some((resource_type, query)) => (resource_type, Some(query)),
        None => (rest, None),
    };
    if resource_type.is_empty() || !resource_type.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(ScopeError::new(token, ScopeProblem::LaunchType));
    }
    let role = match query {
        None => None,
        Some(query) => match parse_params(query, token)?.as_slice() {
            [(name, value)] if name == "role" => Some(value.clone()),
            _ => return Err(ScopeError::new(token, ScopeProblem::LaunchParam)),
        },
    };
    Ok(LaunchContextScope {
        resource_type: resource_type.to_owned(),
        role,
    })
}

impl Scope {
    /// Parses one scope token.
    ///
    /// Tokens that start like a SMART scope (`patient/`, `user/`, `system/`, `launch`) must
    /// follow its grammar; any other valid OAuth scope token is kept as [`Scope::Other`].
    ///
    /// # Errors
    ///
    /// [`ScopeError`] naming the token and what is wrong with it.
    pub fn parse(token: &str) -> Result<Self, ScopeError> {
        if token.is_empty() {
            return Err(ScopeError::new(token, ScopeProblem::Empty));
        }
        if !token.chars().all(is_scope_token_char) {
            return Err(ScopeError::new(token, ScopeProblem::Character));
        }
        Ok(match token {
            "launch" => Self::Launch,
            "openid" => Self::OpenId,
            "fhirUser" => Self::FhirUser,
            "profile" => Self::Profile,
            "offline_access" => Self::OfflineAccess,
            "online_access" => Self::OnlineAccess,
            _ => {
                if let Some(rest) = token.strip_prefix("patient/") {
                    Self::Resource(parse_resource(Compartment::Patient, rest, token)?)
                } else if let Some(rest) = token.strip_prefix("user/") {
                    Self::Resource(parse_resource(Compartment::User, rest, token)?)
                } else if let Some(rest) = token.strip_prefix("system/") {
                    Self::Resource(parse_resource(Compartment::System, rest, token)?)
                } else if let Some(rest) = token.strip_prefix("launch/") {
                    Self::LaunchContext(parse_launch_context(rest, token)?)
                } else {
                    Self::Other(token.to_owned())
                }
            }
        })
    }

    /// The v2 form: resource scopes written in v1 become v2; everything else is unchanged.
    #[must_use]
    pub fn to_v2(&self) -> Self {
        match self {
            Self::Resource(resource) => Self::Resource(resource.to_v2()),
            other => other.clone(),
        }
    }

    /// Whether everything `other` allows, this scope allows too.
    #[must_use]
    pub fn covers(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Resource(mine), Self::Resource(theirs)) => mine.covers(theirs),
            (mine, theirs) => mine == theirs,
        }
    }

    fn same_access(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Resource(mine), Self::Resource(theirs)) => mine.same_access(theirs),
            (mine, theirs) => mine == theirs,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Resource(resource) => resource.fmt(f),
            Self::Launch => f.write_str("launch"),
            Self::LaunchContext(context) => context.fmt(f),
            Self::OpenId => f.write_str("openid"),
            Self::FhirUser => f.write_str("fhirUser"),
            Self::Profile => f.write_str("profile"),
            Self::OfflineAccess => f.write_str("offline_access"),
            Self::OnlineAccess => f.write_str("online_access"),
            Self::Other(token) => f.write_str(token),
        }
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(token: &str) -> Result<Self, Self::Err> {
        Self::parse(token)
    }
}

/// An access to check against granted scopes: "may the app read Observations with category
/// laboratory for this patient?"
///
/// ```
/// use smart_token::scope::{Access, Compartment, Permissions, ScopeSet};
///
/// const LAB: &str = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory";
/// let granted: ScopeSet = format!("launch/patient patient/Observation.rs?category={LAB}").parse()?;
///
/// let lab = Access::new(Compartment::Patient, "Observation", Permissions::READ).with_param("category", LAB);
/// assert!(granted.permits(&lab));
///
/// // Without the category, the read could return any Observation: not granted.
/// assert!(!granted.permits(&Access::new(Compartment::Patient, "Observation", Permissions::READ)));
/// # Ok::<(), smart_token::scope::ScopeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access<'a> {
    compartment: Compartment,
    resource_type: &'a str,
    permissions: Permissions,
    params: Vec<(&'a str, &'a str)>,
}

impl<'a> Access<'a> {
    /// An access to `resource_type` in `compartment` needing `permissions`.
    #[must_use]
    pub fn new(compartment: Compartment, resource_type: &'a str, permissions: Permissions) -> Self {
        Self {
            compartment,
            resource_type,
            permissions,
            params: Vec::new(),
        }
    }

    /// The access is limited to resources matching `name=value`.
    #[must_use]
    pub fn with_param(mut self, name: &'a str, value: &'a str) -> Self {
        self.params.push((name, value));
        self
    }
}

#[cfg(test)]
mod tests;
