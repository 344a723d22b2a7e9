//! Property tests of the SMART scope grammar: every valid scope (v1 and v2 resource scopes
//! with and without granular constraints, `launch`, launch context, identity, vendor scopes)
//! prints back to the text it was parsed from, and parsing what is printed gives the same
//! value.

use proptest::prelude::*;
use smart_token::scope::{
    Compartment, Permissions, ResourceScope, Scope, ScopeSet, Syntax, V1Action,
};

fn compartment() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("patient"), Just("user"), Just("system")]
}

fn resource_type() -> impl Strategy<Value = String> {
    prop_oneof![Just("*".to_owned()), "[A-Z][A-Za-z0-9]{0,15}"]
}

/// v2 permissions: a non-empty subsequence of `cruds`, in that order.
fn v2_permissions() -> impl Strategy<Value = String> {
    proptest::sample::subsequence(vec!['c', 'r', 'u', 'd', 's'], 1..=5)
        .prop_map(|letters| letters.into_iter().collect())
}

/// Granular constraints: `name=value` pairs joined by `&` (values may hold `=`, `|`, `:`, `/`,
/// `?`; never `&`, which separates pairs).
fn params() -> impl Strategy<Value = String> {
    proptest::collection::vec(("[a-z][a-z0-9_-]{0,10}", "[A-Za-z0-9:/.|_=?-]{1,24}"), 1..4)
        .prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("&")
        })
}

fn resource_scope() -> impl Strategy<Value = String> {
    let v1 = (
        compartment(),
        resource_type(),
        prop_oneof![Just("read"), Just("write"), Just("*")],
    )
        .prop_map(|(compartment, kind, action)| format!("{compartment}/{kind}.{action}"));
    let v2 = (
        compartment(),
        resource_type(),
        v2_permissions(),
        proptest::option::of(params()),
    )
        .prop_map(|(compartment, kind, permissions, params)| match params {
            Some(params) => format!("{compartment}/{kind}.{permissions}?{params}"),
            None => format!("{compartment}/{kind}.{permissions}"),
        });
    prop_oneof![v1, v2]
}

fn launch_scope() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("launch".to_owned()),
        (
            "[a-z]{1,16}",
            proptest::option::of("[A-Za-z0-9:/._|-]{1,30}")
        )
            .prop_map(|(kind, role)| match role {
                Some(role) => format!("launch/{kind}?role={role}"),
                None => format!("launch/{kind}"),
            }),
    ]
}

fn identity_scope() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("openid"),
        Just("fhirUser"),
        Just("profile"),
        Just("offline_access"),
        Just("online_access"),
    ]
    .prop_map(str::to_owned)
}

/// Other valid OAuth scope tokens (RFC 6749 §3.3), kept as `Scope::Other`: a URL or a name
/// with a colon, which no SMART prefix starts.
fn vendor_scope() -> impl Strategy<Value = String> {
    prop_oneof![
        "https://vendor\\.example/scopes/[a-z]{1,10}",
        "[a-z]{1,8}:[a-z!#$%'()*+,.;<=>@^_`{|}~-]{1,12}",
    ]
}

fn scope_token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => resource_scope(),
        2 => launch_scope(),
        2 => identity_scope(),
        1 => vendor_scope(),
    ]
}

/// A scope string without repeated tokens (a set drops repeats).
fn scope_string() -> impl Strategy<Value = String> {
    proptest::collection::vec(scope_token(), 0..10).prop_map(|tokens| {
        let mut unique: Vec<String> = Vec::new();
        for token in tokens {
            if !unique.contains(&token) {
                unique.push(token);
            }
        }
        unique.join(" ")
    })
}

proptest! {
    #[test]
    fn every_valid_scope_prints_as_parsed(text in scope_token()) {
        let scope = Scope::parse(&text).unwrap();
        prop_assert_eq!(scope.to_string(), text.clone());
        prop_assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope.clone());
        // The v2 form grants the same, and is itself a valid scope.
        let v2 = scope.to_v2();
        prop_assert_eq!(Scope::parse(&v2.to_string()).unwrap(), v2.clone());
        if let (Scope::Resource(original), Scope::Resource(mapped)) = (&scope, &v2) {
            prop_assert_eq!(original.permissions(), mapped.permissions());
            prop_assert!(original.same_access(mapped));
        }
    }

    #[test]
    fn scope_sets_round_trip(text in scope_string()) {
        let set = ScopeSet::parse(&text).unwrap();
        prop_assert_eq!(set.to_string(), text.clone());
        prop_assert_eq!(ScopeSet::parse(&set.to_string()).unwrap(), set.clone());
        // Lenient parsing of a valid string keeps everything and reports nothing.
        let (lenient, errors) = ScopeSet::parse_lenient(&text);
        prop_assert!(errors.is_empty(), "{:?}", errors);
        prop_assert_eq!(&lenient, &set);
        // Any whitespace separates tokens.
        let spaced = text.replace(' ', " \t\n ");
        prop_assert_eq!(ScopeSet::parse(&spaced).unwrap(), set.clone());
        prop_assert!(set.covers_all(&set));
        prop_assert!(set.compare(&set).is_exact());
    }

    #[test]
    fn built_resource_scopes_round_trip(
        compartment in prop_oneof![
            Just(Compartment::Patient),
            Just(Compartment::User),
            Just(Compartment::System),
        ],
        kind in proptest::option::of("[A-Z][A-Za-z0-9]{0,15}"),
        bits in 1u8..32,
        params in proptest::collection::vec(("[a-z][a-z0-9_-]{0,10}", "[A-Za-z0-9:/.|_-]{1,24}"), 0..3),
    ) {
        let permissions = [
            Permissions::CREATE,
            Permissions::READ,
            Permissions::UPDATE,
            Permissions::DELETE,
            Permissions::SEARCH,
        ]
        .into_iter()
        .enumerate()
        .filter(|(index, _)| bits & (1 << index) != 0)
        .fold(Permissions::default(), |all, (_, one)| all.union(one));
        let mut scope = ResourceScope::new(compartment, kind.as_deref(), permissions).unwrap();
        for (name, value) in params {
            scope = scope.with_param(name, value);
        }
        prop_assert_eq!(scope.syntax(), Syntax::V2);
        let scope = Scope::Resource(scope);
        prop_assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope);
    }

    #[test]
    fn v1_actions_map_to_their_v2_letters(
        compartment in compartment(),
        kind in resource_type(),
        action in prop_oneof![
            Just(("read", V1Action::Read, "rs")),
            Just(("write", V1Action::Write, "cud")),
            Just(("*", V1Action::All, "cruds")),
        ],
    ) {
        let (written, parsed, letters) = action;
        let Scope::Resource(v1) = Scope::parse(&format!("{compartment}/{kind}.{written}")).unwrap() else {
            return Err(TestCaseError::fail("not a resource scope"));
        };
        prop_assert_eq!(v1.syntax(), Syntax::V1(parsed));
        prop_assert_eq!(v1.to_v2().to_string(), format!("{compartment}/{kind}.{letters}"));
    }

    #[test]
    fn parsing_never_panics_and_lenient_keeps_what_it_can(text in "\\PC{0,80}") {
        let _ = ScopeSet::parse(&text);
        let (set, _) = ScopeSet::parse_lenient(&text);
        let (again, errors) = ScopeSet::parse_lenient(&set.to_string());
        prop_assert_eq!(again, set);
        // Only tokens that are still valid OAuth scope tokens were kept.
        prop_assert!(errors.iter().all(|error| error.problem() != smart_token::scope::ScopeProblem::Character));
    }
}

/// Any scope a `ScopeSet` can hold, valid or not: parsed scopes, lenient leftovers, vendor
/// tokens that look like SMART scopes, `Scope::Other` with any text (spaces included), and
/// built resource scopes whose constraint values hold spaces, `&` or `=`.
fn any_scope() -> impl Strategy<Value = Scope> {
    let parsed = scope_token().prop_map(|text| Scope::parse(&text).unwrap());
    let lenient = "\\PC{1,30}".prop_filter_map("no token kept", |text| {
        ScopeSet::parse_lenient(&text).0.iter().next().cloned()
    });
    let other = prop_oneof![
        Just("launch".to_owned()),
        Just("patient/Observation.rs".to_owned()),
        Just(String::new()),
        "\\PC{0,20}",
    ]
    .prop_map(Scope::Other);
    let built = (
        proptest::option::of("[A-Z][a-z]{0,8}"),
        proptest::collection::vec(("[a-z]{1,6}", "\\PC{0,12}"), 1..3),
    )
        .prop_map(|(kind, params)| {
            let mut scope =
                ResourceScope::new(Compartment::Patient, kind.as_deref(), Permissions::READ)
                    .unwrap();
            for (name, value) in params {
                scope = scope.with_param(name, value);
            }
            Scope::Resource(scope)
        });
    prop_oneof![3 => parsed, 2 => lenient, 2 => other, 2 => built]
}

proptest! {
    #[test]
    fn every_scope_set_survives_serde(scopes in proptest::collection::vec(any_scope(), 0..8)) {
        let set: ScopeSet = scopes.into_iter().collect();
        let json = serde_json::to_string(&set).unwrap();
        let back: ScopeSet = serde_json::from_str(&json)
            .unwrap_or_else(|error| panic!("{json}: {error}"));
        prop_assert_eq!(&back, &set, "{}", json);
        // A set the strict grammar reads back is stored as the plain string.
        if ScopeSet::parse(&set.to_string()).is_ok_and(|parsed| parsed == set) {
            prop_assert_eq!(json, serde_json::to_string(&set.to_string()).unwrap());
        }
    }
}

proptest! {
    /// Short sets are searched in place and long ones through an index: on both sides of the
    /// switch, a set holds each scope once, in first-seen order, and finds every one.
    #[test]
    fn sets_of_any_size_keep_each_scope_once(picks in proptest::collection::vec(0usize..40, 0..120)) {
        let texts: Vec<String> = picks.iter().map(|pick| format!("patient/T{pick}.rs")).collect();
        let set = ScopeSet::parse(&texts.join(" ")).unwrap();
        let mut expected: Vec<&str> = Vec::new();
        for text in &texts {
            if !expected.contains(&text.as_str()) {
                expected.push(text);
            }
        }
        let shown: Vec<String> = set.iter().map(ToString::to_string).collect();
        prop_assert_eq!(&shown, &expected);
        for text in &texts {
            prop_assert!(set.contains(&Scope::parse(text).unwrap()));
        }
        prop_assert!(!set.contains(&Scope::parse("patient/Absent.rs").unwrap()));
    }
}
