//! SMART scope parsing, strict and lenient, and the round trip of what parses: printing a
//! parsed scope set and parsing it again gives the same set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smart_token::scope::{Access, Compartment, Permissions, Scope, ScopeSet};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    if let Ok(scope) = Scope::parse(&text) {
        let printed = scope.to_string();
        assert_eq!(Scope::parse(&printed).as_ref(), Ok(&scope), "{printed}");
        let _ = scope.to_v2();
    }

    match ScopeSet::parse(&text) {
        Ok(set) => {
            let printed = set.to_string();
            assert_eq!(ScopeSet::parse(&printed).as_ref(), Ok(&set), "{printed}");
            let access = Access::new(Compartment::Patient, "Observation", Permissions::READ)
                .with_param("category", "laboratory");
            let _ = set.permits(&access);
            let _ = set.covers_all(&set);
            let comparison = set.compare(&set);
            assert!(comparison.not_granted().is_empty(), "{printed}");
        }
        Err(error) => {
            let _ = format!("{error} {error:?}");
        }
    }

    let (lenient, errors) = ScopeSet::parse_lenient(&text);
    for error in &errors {
        let _ = error.to_string();
    }
    // What the lenient parser keeps reads back the same, and without new complaints about
    // characters (those tokens were dropped).
    let printed = lenient.to_string();
    let (again, _) = ScopeSet::parse_lenient(&printed);
    assert_eq!(again, lenient, "{printed}");
});
