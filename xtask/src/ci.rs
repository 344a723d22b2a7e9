//! `cargo xtask ci`: exactly what CI runs.

use std::process::Command;

use crate::util::{Error, cargo, has_cargo_subcommand, run, workspace_root};

pub(crate) fn all(args: &[String]) -> Result<(), Error> {
    if let Some(unknown) = args.first() {
        return Err(Error::Usage(format!(
            "`ci` takes no arguments, got `{unknown}`"
        )));
    }
    run("fmt", cargo().args(["fmt", "--all", "--", "--check"]))?;
    for features in [&["--all-features"][..], &["--no-default-features"][..]] {
        run(
            "clippy",
            cargo()
                .args(["clippy", "--workspace", "--all-targets", "--locked"])
                .args(features)
                .args(["--", "-D", "warnings"]),
        )?;
    }
    // Each SMART client type on its own, through the umbrella crate.
    for feature in CLIENT_FEATURES {
        run(
            "clippy",
            cargo()
                .args([
                    "clippy",
                    "--package",
                    "smart-on-fhir",
                    "--all-targets",
                    "--locked",
                    "--no-default-features",
                ])
                .args(["--features", &format!("{feature},rustls")])
                .args(["--", "-D", "warnings"]),
        )?;
    }
    feature_combinations()?;
    run(
        "test",
        cargo().args(["test", "--workspace", "--all-features", "--locked"]),
    )?;
    feature_tests()?;
    // Every SMART flow against the embedded sandbox, as the workflow's test job runs it.
    println!("\n==> conformance");
    crate::conformance::run_flows(&[])?;
    // And against the SMART reference server, when its source is beside the repository.
    crate::launcher::ci_step()?;
    // The examples run offline against the embedded sandbox: run them, not only build them.
    for (example, features) in EXAMPLES {
        run(
            "example",
            cargo().args([
                "run",
                "--quiet",
                "--locked",
                "--package",
                "smart-on-fhir",
                "--example",
                example,
                "--features",
                features,
            ]),
        )?;
    }
    run(
        "doc",
        cargo().env("RUSTDOCFLAGS", "-D warnings").args([
            "doc",
            "--workspace",
            "--no-deps",
            "--all-features",
            "--locked",
        ]),
    )?;
    println!("\n==> tidy");
    crate::tidy::run()?;
    crate::workflow::check_all(&workspace_root())?;
    deny()?;
    fuzz()?;
    // The benchmark gate: short passes, ratios only, against docs/benchmarks-baseline.json
    // (the long run, `cargo xtask bench`, stays by hand).
    println!("\n==> bench --check --quick");
    crate::bench::run_benches(&["--check".to_owned(), "--quick".to_owned()])?;
    println!("\nci: all steps passed");
    Ok(())
}

/// The tests of feature sets the workspace run never builds: the umbrella's README examples
/// where their `#[cfg]`s differ, and smart-jwt-assertion with one algorithm or none.
fn feature_tests() -> Result<(), Error> {
    // The umbrella's README examples under the feature sets where their `#[cfg]`s differ: none,
    // a client without the built-in transport, and the runnable sandbox example without rustls.
    for features in UMBRELLA_DOC_FEATURES {
        run(
            "doctests",
            cargo()
                .env("RUSTFLAGS", DENY_WARNINGS)
                .args([
                    "test",
                    "--package",
                    "smart-on-fhir",
                    "--doc",
                    "--locked",
                    "--no-default-features",
                ])
                .args(features),
        )?;
    }
    // The light builds (docs/weight.md) that unification hides in the workspace runs:
    // smart-core without its features, smart-pkce without serde.
    for (package, features) in LIGHT {
        run(
            "clippy",
            cargo()
                .args(["clippy", "--package", package, "--all-targets", "--locked"])
                .args(features)
                .args(["--", "-D", "warnings"]),
        )?;
        run(
            "test",
            cargo()
                .env("RUSTFLAGS", DENY_WARNINGS)
                .args(["test", "--package", package, "--lib", "--tests", "--locked"])
                .args(features),
        )?;
    }
    // smart-jwt-assertion's `cfg(not(feature))` paths: feature unification turns both
    // algorithms on in the workspace run above, so test each build on its own.
    for features in JWT_FEATURES {
        run(
            "test",
            cargo()
                .env("RUSTFLAGS", DENY_WARNINGS)
                .args([
                    "test",
                    "--package",
                    "smart-jwt-assertion",
                    "--locked",
                    "--no-default-features",
                ])
                .args(features),
        )?;
    }
    Ok(())
}

/// `RUSTFLAGS` for the builds that no clippy run above covers (feature sets that workspace-wide
/// feature unification never builds), as the workflow sets it for every job: a warning there
/// fails here too. Dependencies are unaffected (cargo caps their lints).
const DENY_WARNINGS: &str = "-D warnings";

/// The umbrella's examples and the features each needs.
const EXAMPLES: [(&str, &str); 6] = [
    ("ehr_launch_web_app", "client-confidential-symmetric,openid"),
    ("standalone_launch", "client-public,openid"),
    ("backend_services", "backend-services,session"),
    ("two_ehrs", "client-confidential-symmetric,openid"),
    ("async_standalone_launch", "client-public,openid,reqwest"),
    ("async_backend_services", "backend-services,reqwest"),
];

/// `cargo test -p smart-on-fhir --doc --no-default-features` runs with each of these.
pub(crate) const UMBRELLA_DOC_FEATURES: [&[&str]; 3] = [
    &[],
    &["--features", "client-public"],
    &["--features", "backend-services,ureq"],
];

/// Crates whose light feature sets are linted and tested on their own.
const LIGHT: [(&str, &[&str]); 2] = [
    ("smart-core", &["--no-default-features"]),
    ("smart-pkce", &["--no-default-features"]),
];

/// `cargo test -p smart-jwt-assertion --no-default-features` runs with each of these.
pub(crate) const JWT_FEATURES: [&[&str]; 3] =
    [&[], &["--features", "rs384"], &["--features", "es384"]];

/// The umbrella's features named after SMART capabilities.
const CLIENT_FEATURES: [&str; 4] = [
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "backend-services",
];

/// Every feature combination of the umbrella builds: `cargo hack --feature-powerset` when it is
/// installed, otherwise the same powerset enumerated here, one `cargo check` per combination
/// (the library only, so no dev-dependency unifies features into it).
fn feature_combinations() -> Result<(), Error> {
    if has_cargo_subcommand("hack") {
        return run(
            "features",
            cargo().env("RUSTFLAGS", DENY_WARNINGS).args([
                "hack",
                "check",
                "--package",
                "smart-on-fhir",
                "--feature-powerset",
                "--locked",
            ]),
        );
    }
    let packages = crate::packages::load()?;
    let umbrella = packages
        .iter()
        .find(|package| package.name == "smart-on-fhir")
        .ok_or_else(|| Error::Failed("features: no smart-on-fhir package".to_owned()))?;
    let combinations = powerset(&umbrella.features);
    println!(
        "\n==> features: cargo-hack is not installed; checking all {} combinations of {}",
        combinations.len(),
        umbrella
            .features
            .iter()
            .filter(|f| *f != "default")
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    for combination in combinations {
        run(
            "features",
            cargo().env("RUSTFLAGS", DENY_WARNINGS).args([
                "check",
                "--package",
                "smart-on-fhir",
                "--lib",
                "--locked",
                "--no-default-features",
                "--features",
                &combination.join(","),
            ]),
        )?;
    }
    Ok(())
}

/// Every subset of `features` except `default` (which is itself a combination of the others).
pub(crate) fn powerset(features: &[String]) -> Vec<Vec<String>> {
    let features: Vec<&String> = features.iter().filter(|f| *f != "default").collect();
    let mut combinations = Vec::new();
    for mask in 0..1_u64 << features.len() {
        combinations.push(
            features
                .iter()
                .enumerate()
                .filter(|(bit, _)| mask & (1 << bit) != 0)
                .map(|(_, feature)| (*feature).clone())
                .collect(),
        );
    }
    combinations
}

/// A short run of every fuzz target, when cargo-fuzz is installed (`.ci/run` installs it).
fn fuzz() -> Result<(), Error> {
    if !has_cargo_subcommand("fuzz") {
        println!(
            "\n==> fuzz: skipped (cargo-fuzz is not installed; `cargo install --locked cargo-fuzz`)"
        );
        return Ok(());
    }
    if let Err(tried) = cxx_compiler() {
        println!(
            "\n==> fuzz: skipped (no C++ compiler found, tried {tried}; libfuzzer-sys builds libFuzzer \
             from C++: install one, for example `apt-get install g++`, or set CXX)"
        );
        return Ok(());
    }
    let seconds = std::env::var("SMART_FUZZ_SECONDS").unwrap_or_else(|_| "10".to_owned());
    println!("\n==> fuzz: every target for {seconds} s");
    crate::fuzz::run_targets(&["--seconds".to_owned(), seconds])
}

/// The C++ compiler the `cc` crate (behind libfuzzer-sys) will use, if it works: `$CXX` when
/// set, otherwise `c++` (cc looks no further on Linux). The error names what was tried.
fn cxx_compiler() -> Result<String, String> {
    let candidate = std::env::var("CXX")
        .ok()
        .filter(|cxx| !cxx.trim().is_empty())
        .unwrap_or_else(|| "c++".to_owned());
    first_working(&[candidate])
}

/// The first of `candidates` that runs with `--version`; the error lists them all.
fn first_working(candidates: &[String]) -> Result<String, String> {
    candidates
        .iter()
        .find(|compiler| {
            Command::new(compiler.as_str())
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success())
        })
        .cloned()
        .ok_or_else(|| candidates.join(", "))
}

/// `cargo deny`, when installed. `bans licenses sources` always run; `advisories` needs the
/// advisory database from GitHub, so it runs only where that database can be had.
fn deny() -> Result<(), Error> {
    if !has_cargo_subcommand("deny") {
        println!(
            "\n==> deny: skipped (cargo-deny is not installed; `cargo install --locked cargo-deny`)"
        );
        return Ok(());
    }
    run(
        "deny",
        cargo().args([
            "deny",
            "--all-features",
            "check",
            "bans",
            "licenses",
            "sources",
        ]),
    )?;
    match std::env::var("SMART_DENY_ADVISORIES").as_deref() {
        Ok("fetch") => run(
            "deny advisories",
            cargo().args(["deny", "--all-features", "check", "advisories"]),
        ),
        Ok("offline") => run(
            "deny advisories",
            cargo().args(["deny", "--all-features", "--offline", "check", "advisories"]),
        ),
        _ => {
            println!(
                "\n==> deny advisories: skipped (the advisory database lives on GitHub, which this machine cannot reach; \
                 set SMART_DENY_ADVISORIES=fetch where GitHub is reachable, or =offline with a local copy)"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_cxx_compiler_is_named() {
        let missing = vec!["no-such-c++-compiler".to_owned()];
        assert_eq!(
            first_working(&missing),
            Err("no-such-c++-compiler".to_owned())
        );
        // cargo itself answers `--version`, standing in for a compiler that is there.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        assert_eq!(
            first_working(&[missing[0].clone(), cargo.clone()]),
            Ok(cargo)
        );
    }

    #[test]
    fn the_powerset_has_every_combination_and_no_default() {
        let features: Vec<String> = ["default", "a", "b", "c"].map(str::to_owned).to_vec();
        let combinations = powerset(&features);
        assert_eq!(combinations.len(), 8);
        assert!(combinations.contains(&Vec::new()));
        assert!(combinations.contains(&vec!["a".to_owned(), "c".to_owned()]));
        assert!(combinations.contains(&vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]));
        assert!(!combinations.iter().flatten().any(|f| f == "default"));
    }
}
