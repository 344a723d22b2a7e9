//! SMART scopes: the v1 and v2 grammar, launch-context and identity scopes, and scope sets
//! that answer "is this access granted?"
//! ([scopes-and-launch-context.html](https://hl7.org/fhir/smart-app-launch/STU2.2/scopes-and-launch-context.html)).

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest scope token an error message shows before cutting it.
const SHOWN_TOKEN_LEN: usize = 100;

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
    fn new(token: &str, problem: ScopeProblem) -> Self {
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

/// A space-separated list of scopes, in order, without duplicates.
///
/// Adding a scope costs the same however many there are, so a server's scope string of any
/// length parses in linear time.
#[derive(Clone, Default)]
pub struct ScopeSet {
    scopes: Vec<Scope>,
    seen: std::collections::HashSet<Scope>,
}

impl PartialEq for ScopeSet {
    fn eq(&self, other: &Self) -> bool {
        self.scopes == other.scopes
    }
}

impl Eq for ScopeSet {}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ScopeSet").field(&self.scopes).finish()
    }
}

impl ScopeSet {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a space-separated scope string; any run of whitespace separates tokens.
    ///
    /// # Errors
    ///
    /// The [`ScopeError`] of the first invalid token.
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        let mut set = Self::new();
        for token in text.split_ascii_whitespace() {
            set.insert(Scope::parse(token)?);
        }
        Ok(set)
    }

    /// Parses what a server sent: invalid tokens are kept as [`Scope::Other`] (when they are
    /// still valid OAuth scope tokens) and reported, so nothing is lost.
    #[must_use]
    pub fn parse_lenient(text: &str) -> (Self, Vec<ScopeError>) {
        let mut set = Self::new();
        let mut errors = Vec::new();
        for token in text.split_ascii_whitespace() {
            match Scope::parse(token) {
                Ok(scope) => set.insert(scope),
                Err(error) => {
                    if error.problem() != ScopeProblem::Character {
                        set.insert(Scope::Other(token.to_owned()));
                    }
                    errors.push(error);
                }
            }
        }
        (set, errors)
    }

    /// Adds `scope` unless it is already present.
    pub fn insert(&mut self, scope: Scope) {
        if self.seen.insert(scope.clone()) {
            self.scopes.push(scope);
        }
    }

    /// Whether `scope` is present, as written.
    #[must_use]
    pub fn contains(&self, scope: &Scope) -> bool {
        self.seen.contains(scope)
    }

    /// The scopes, in order.
    pub fn iter(&self) -> core::slice::Iter<'_, Scope> {
        self.scopes.iter()
    }

    /// How many scopes there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// Whether some resource scope of the set allows `access`.
    ///
    /// Compartments are never merged: the access's compartment must be the scope's. A
    /// `user/Observation.rs` grant does not answer a `patient/` question, even though a user
    /// who may read every Observation may read the patient's; ask for each compartment the
    /// app would accept (see [`ScopeSet::permits_in_any`]).
    ///
    /// ```
    /// use smart_token::scope::{Access, Compartment, Permissions, ScopeSet};
    ///
    /// let granted: ScopeSet = "user/Observation.rs".parse()?;
    /// let patient = Access::new(Compartment::Patient, "Observation", Permissions::READ);
    /// assert!(!granted.permits(&patient));
    /// assert!(granted.permits_in_any(
    ///     &[Compartment::Patient, Compartment::User],
    ///     "Observation",
    ///     Permissions::READ,
    /// ));
    /// # Ok::<(), smart_token::scope::ScopeError>(())
    /// ```
    #[must_use]
    pub fn permits(&self, access: &Access<'_>) -> bool {
        self.scopes.iter().any(|scope| match scope {
            Scope::Resource(resource) => resource.permits(access),
            _ => false,
        })
    }

    /// Whether some resource scope of the set allows `permissions` on `resource_type` (with no
    /// granular constraint) in any of `compartments`: for an app that may read a patient's
    /// data through either a `patient/` or a `user/` grant.
    #[must_use]
    pub fn permits_in_any(
        &self,
        compartments: &[Compartment],
        resource_type: &str,
        permissions: Permissions,
    ) -> bool {
        compartments
            .iter()
            .any(|&compartment| self.permits(&Access::new(compartment, resource_type, permissions)))
    }

    /// Whether some scope of the set allows everything `scope` allows.
    #[must_use]
    pub fn covers(&self, scope: &Scope) -> bool {
        self.scopes.iter().any(|mine| mine.covers(scope))
    }

    /// Whether every scope of `other` is covered by this set.
    #[must_use]
    pub fn covers_all(&self, other: &Self) -> bool {
        other.iter().all(|scope| self.covers(scope))
    }

    /// Compares what was requested with what was granted (SMART: apps SHOULD examine the
    /// granted scopes and adapt).
    ///
    /// ```
    /// use smart_token::scope::ScopeSet;
    ///
    /// let requested: ScopeSet = "launch/patient patient/*.read offline_access".parse()?;
    /// let granted: ScopeSet = "launch/patient patient/Observation.rs".parse()?;
    /// let difference = requested.compare(&granted);
    /// assert_eq!(difference.not_granted().iter().map(ToString::to_string).collect::<Vec<_>>(),
    ///            ["patient/*.read", "offline_access"]);
    /// assert!(difference.beyond_request().is_empty());
    /// # Ok::<(), smart_token::scope::ScopeError>(())
    /// ```
    #[must_use]
    pub fn compare(&self, granted: &Self) -> ScopeComparison {
        let not_granted = self
            .iter()
            .filter(|wanted| !granted.iter().any(|got| got.same_access(wanted)))
            .cloned()
            .collect();
        let beyond_request = granted
            .iter()
            .filter(|got| !self.covers(got))
            .cloned()
            .collect();
        ScopeComparison {
            not_granted,
            beyond_request,
        }
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, scope) in self.scopes.iter().enumerate() {
            if index > 0 {
                f.write_str(" ")?;
            }
            scope.fmt(f)?;
        }
        Ok(())
    }
}

impl FromStr for ScopeSet {
    type Err = ScopeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = Self::new();
        for scope in iter {
            set.insert(scope);
        }
        set
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a Scope;
    type IntoIter = core::slice::Iter<'a, Scope>;

    fn into_iter(self) -> Self::IntoIter {
        self.scopes.iter()
    }
}

/// A [`ScopeSet`] is serialised as its space-separated string whenever that string parses
/// back (strictly) to the same set: the usual case, and the form to write by hand. A set that
/// holds what the strict grammar refuses (a server's [`Scope::Other`] token kept by
/// [`ScopeSet::parse_lenient`], a vendor token that looks like a SMART scope, a granular
/// constraint value with a space or `&`) is serialised as a list instead, one entry per
/// scope, so that a stored value (a pending authorization, a session) always loads back to
/// an equal set.
///
/// ```
/// use smart_token::scope::{Scope, ScopeSet};
///
/// let plain: ScopeSet = "launch/patient patient/Observation.rs".parse()?;
/// assert_eq!(serde_json::to_string(&plain)?, r#""launch/patient patient/Observation.rs""#);
///
/// let (granted, _) = ScopeSet::parse_lenient("openid patient/Observation.xyz");
/// assert_eq!(granted.iter().nth(1), Some(&Scope::Other("patient/Observation.xyz".into())));
/// let json = serde_json::to_string(&granted)?;
/// assert_eq!(json, r#"["openid",{"other":"patient/Observation.xyz"}]"#);
/// assert_eq!(serde_json::from_str::<ScopeSet>(&json)?, granted);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.to_string();
        if Self::parse(&text).is_ok_and(|parsed| parsed == *self) {
            serializer.serialize_str(&text)
        } else {
            serializer.collect_seq(self.scopes.iter().map(StoredScope::of))
        }
    }
}

/// Reads the string form strictly (as [`ScopeSet::parse`]) and the list form entry by entry
/// (see [`ScopeSet`]'s `Serialize`).
impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match StoredScopeSet::deserialize(deserializer)? {
            StoredScopeSet::Text(text) => Self::parse(&text).map_err(serde::de::Error::custom),
            StoredScopeSet::List(items) => {
                Ok(items.into_iter().map(StoredScope::into_scope).collect())
            }
        }
    }
}

/// The two serialised forms of a [`ScopeSet`].
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a space-separated scope string or a list of scopes"
)]
enum StoredScopeSet {
    Text(String),
    List(Vec<StoredScope>),
}

/// One entry of the list form of a [`ScopeSet`].
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum StoredScope {
    /// A scope token that parses back to the same scope (or, read from elsewhere, any token:
    /// one that does not parse is kept as [`Scope::Other`]).
    Token(String),
    /// A [`Scope::Other`] that must stay one, whatever its text.
    Other { other: String },
    /// A resource scope whose granular constraints do not survive printing.
    Resource {
        resource: String,
        params: Vec<(String, String)>,
    },
}

impl StoredScope {
    fn of(scope: &Scope) -> Self {
        let text = scope.to_string();
        if Scope::parse(&text).is_ok_and(|parsed| parsed == *scope) {
            return Self::Token(text);
        }
        match scope {
            Scope::Resource(resource) if !resource.params.is_empty() => {
                let base = ResourceScope {
                    params: Vec::new(),
                    ..resource.clone()
                };
                Self::Resource {
                    resource: base.to_string(),
                    params: resource.params.clone(),
                }
            }
            _ => Self::Other { other: text },
        }
    }

    fn into_scope(self) -> Scope {
        match self {
            Self::Token(text) => Scope::parse(&text).unwrap_or(Scope::Other(text)),
            Self::Other { other } => Scope::Other(other),
            Self::Resource { resource, params } => match Scope::parse(&resource) {
                Ok(Scope::Resource(mut base)) if base.params.is_empty() => {
                    base.params = params;
                    Scope::Resource(base)
                }
                _ => Scope::Other(resource),
            },
        }
    }
}

/// The difference between requested and granted scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeComparison {
    not_granted: Vec<Scope>,
    beyond_request: Vec<Scope>,
}

impl ScopeComparison {
    /// Requested scopes the server did not grant as such (it may have granted a narrower one).
    #[must_use]
    pub fn not_granted(&self) -> &[Scope] {
        &self.not_granted
    }

    /// Granted scopes that no requested scope covers (a server SHALL NOT grant more than was
    /// asked for).
    #[must_use]
    pub fn beyond_request(&self) -> &[Scope] {
        &self.beyond_request
    }

    /// Whether the server granted exactly what was requested.
    #[must_use]
    pub fn is_exact(&self) -> bool {
        self.not_granted.is_empty() && self.beyond_request.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) {
        let scope = Scope::parse(text).unwrap();
        assert_eq!(scope.to_string(), text);
    }

    #[test]
    fn grammar_round_trips() {
        for text in [
            "patient/Observation.read",
            "patient/Observation.write",
            "user/*.*",
            "system/*.rs",
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
            "patient/Condition.rs?category=a|b&code=c|d",
            "user/Patient.cruds",
            "user/Patient.c",
            "launch",
            "launch/patient",
            "launch/encounter",
            "launch/diagnosticreport",
            "launch/patient?role=https://example.org/role",
            "openid",
            "fhirUser",
            "profile",
            "offline_access",
            "online_access",
            "https://vendor.example/scopes/read",
            "email",
        ] {
            round_trip(text);
        }
    }

    #[test]
    fn v1_maps_to_v2() {
        for (v1, v2) in [
            ("patient/Observation.read", "patient/Observation.rs"),
            ("patient/Observation.write", "patient/Observation.cud"),
            ("user/*.*", "user/*.cruds"),
        ] {
            assert_eq!(Scope::parse(v1).unwrap().to_v2().to_string(), v2);
        }
    }

    #[test]
    fn invalid_tokens_name_the_token() {
        for (text, problem) in [
            ("", ScopeProblem::Empty),
            ("patient/Observation", ScopeProblem::MissingPermissions),
            ("patient/observation.rs", ScopeProblem::ResourceType),
            ("patient/.rs", ScopeProblem::ResourceType),
            ("patient/Observation.rx", ScopeProblem::PermissionLetter),
            ("patient/Observation.sr", ScopeProblem::PermissionOrder),
            ("patient/Observation.rrs", ScopeProblem::PermissionOrder),
            ("patient/Observation.", ScopeProblem::EmptyPermissions),
            ("patient/Observation.rs?category", ScopeProblem::Param),
            ("patient/Observation.rs?=x", ScopeProblem::Param),
            (
                "patient/Observation.read?category=x",
                ScopeProblem::ParamsNeedV2,
            ),
            ("launch/Patient", ScopeProblem::LaunchType),
            ("launch/", ScopeProblem::LaunchType),
            ("launch/patient?foo=bar", ScopeProblem::LaunchParam),
            ("launch/patient?role=a&role=b", ScopeProblem::LaunchParam),
            ("pat\"ient", ScopeProblem::Character),
            ("é", ScopeProblem::Character),
        ] {
            let err = Scope::parse(text).unwrap_err();
            assert_eq!(err.problem(), problem, "{text}");
            assert_eq!(err.token(), text);
            assert!(err.to_string().contains(&format!("`{text}`")), "{err}");
        }
    }

    #[test]
    fn long_tokens_are_cut_in_errors() {
        let token = format!("patient/{}.rs", "a".repeat(500));
        let err = Scope::parse(&token).unwrap_err();
        assert!(err.token().len() <= 103);
    }

    #[test]
    fn permits_follows_compartment_type_permissions_and_params() {
        let set =
            ScopeSet::parse("patient/Observation.rs?category=lab user/Patient.r system/*.cud")
                .unwrap();
        let lab = Access::new(Compartment::Patient, "Observation", Permissions::READ)
            .with_param("category", "lab");
        assert!(set.permits(&lab));
        assert!(!set.permits(&Access::new(
            Compartment::Patient,
            "Observation",
            Permissions::READ
        )));
        assert!(
            !set.permits(
                &Access::new(Compartment::User, "Observation", Permissions::READ)
                    .with_param("category", "lab")
            )
        );
        assert!(
            !set.permits(
                &Access::new(Compartment::Patient, "Observation", Permissions::UPDATE)
                    .with_param("category", "lab")
            )
        );
        assert!(set.permits(&Access::new(
            Compartment::User,
            "Patient",
            Permissions::READ
        )));
        assert!(!set.permits(&Access::new(
            Compartment::User,
            "Patient",
            Permissions::SEARCH
        )));
        assert!(set.permits(&Access::new(
            Compartment::System,
            "Anything",
            Permissions::CREATE
        )));
        assert!(!set.permits(&Access::new(
            Compartment::System,
            "Anything",
            Permissions::READ
        )));
        let v1 = ScopeSet::parse("patient/*.read").unwrap();
        assert!(v1.permits(&Access::new(
            Compartment::Patient,
            "Condition",
            Permissions::SEARCH
        )));
    }

    #[test]
    fn covers_and_compare() {
        let requested = ScopeSet::parse("launch patient/*.rs openid fhirUser").unwrap();
        let granted =
            ScopeSet::parse("launch patient/Observation.r patient/*.read openid").unwrap();
        assert!(requested.covers_all(&granted));
        let comparison = requested.compare(&granted);
        // patient/*.read grants the same as patient/*.rs, so only fhirUser is missing.
        assert_eq!(comparison.not_granted(), &[Scope::FhirUser]);
        assert!(comparison.beyond_request().is_empty());

        let more = ScopeSet::parse("patient/*.cruds").unwrap();
        let comparison = requested.compare(&more);
        assert_eq!(comparison.beyond_request().len(), 1);
        assert!(!requested.covers_all(&more));
    }

    #[test]
    fn lenient_parsing_keeps_what_it_can() {
        let (set, errors) = ScopeSet::parse_lenient("patient/Observation.rx  openid\tvendor:scope");
        assert_eq!(
            set.to_string(),
            "patient/Observation.rx openid vendor:scope"
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].problem(), ScopeProblem::PermissionLetter);
    }

    #[test]
    fn a_huge_scope_string_parses_in_linear_time() {
        // A hostile server can send megabytes of scopes; de-duplication must not be quadratic
        // (100 000 distinct tokens would take minutes with a linear search per insert).
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str("vendor:scope");
            text.push_str(&i.to_string());
            text.push_str(" openid ");
        }
        let (set, errors) = ScopeSet::parse_lenient(&text);
        assert_eq!(set.len(), 100_001);
        assert!(errors.is_empty());
        assert!(set.contains(&Scope::OpenId));
    }

    #[test]
    fn duplicates_are_dropped() {
        let set = ScopeSet::parse("openid openid launch").unwrap();
        assert_eq!(set.to_string(), "openid launch");
    }
}
