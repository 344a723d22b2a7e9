//! Scope sets: what was granted, and the questions asked of it ("is this access granted?",
//! "what differs from the request?"), with the serde form stores use.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Access, Compartment, Permissions, ResourceScope, Scope, ScopeError, ScopeProblem};

/// A space-separated list of scopes, in order, without duplicates.
///
/// Adding a scope costs the same however many there are, so a server's scope string of any
/// length parses in linear time.
#[derive(Clone, Default)]
pub struct ScopeSet {
    scopes: Vec<Scope>,
    /// An index of `scopes`, made once there are more than [`LINEAR_SCAN`]: a short set is
    /// searched in place (no hashing, no second copy of each scope).
    seen: std::collections::HashSet<Scope>,
}

/// Up to how many scopes a set is searched linearly.
const LINEAR_SCAN: usize = 16;

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
        if self.contains(&scope) {
            return;
        }
        if !self.seen.is_empty() {
            self.seen.insert(scope.clone());
        } else if self.scopes.len() == LINEAR_SCAN {
            self.seen = self.scopes.iter().cloned().collect();
            self.seen.insert(scope.clone());
        }
        self.scopes.push(scope);
    }

    /// Whether `scope` is present, as written.
    #[must_use]
    pub fn contains(&self, scope: &Scope) -> bool {
        if self.seen.is_empty() {
            self.scopes.contains(scope)
        } else {
            self.seen.contains(scope)
        }
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
