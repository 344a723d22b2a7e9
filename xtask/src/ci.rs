//! `cargo xtask ci`: exactly what CI runs.

use std::path::Path;
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
    workflow_syntax(&workspace_root())?;
    deny()?;
    fuzz()?;
    println!("\nci: all steps passed");
    Ok(())
}

/// The umbrella's examples and the features each needs.
const EXAMPLES: [(&str, &str); 3] = [
    ("ehr_launch_web_app", "client-confidential-symmetric"),
    ("standalone_launch", "client-public"),
    ("backend_services", "backend-services"),
];

/// The umbrella's features named after SMART capabilities.
const CLIENT_FEATURES: [&str; 4] = [
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "backend-services",
];

/// Every feature combination of the umbrella builds: `cargo hack --feature-powerset` when it is
/// installed, otherwise each feature alone (every other combination is a union of these, and
/// the features are additive).
fn feature_combinations() -> Result<(), Error> {
    if has_cargo_subcommand("hack") {
        return run(
            "features",
            cargo().args([
                "hack",
                "check",
                "--package",
                "smart-on-fhir",
                "--feature-powerset",
                "--no-dev-deps",
                "--locked",
            ]),
        );
    }
    println!("\n==> features: cargo-hack is not installed; checking each feature alone");
    run(
        "features",
        cargo().args([
            "check",
            "--package",
            "smart-on-fhir",
            "--locked",
            "--no-default-features",
        ]),
    )?;
    for feature in CLIENT_FEATURES.iter().chain(&["rustls"]) {
        run(
            "features",
            cargo().args([
                "check",
                "--package",
                "smart-on-fhir",
                "--locked",
                "--no-default-features",
                "--features",
                feature,
            ]),
        )?;
    }
    Ok(())
}

/// Parses every workflow file with a YAML parser, since GitHub Actions cannot run here.
fn workflow_syntax(root: &Path) -> Result<(), Error> {
    let script = r#"
import sys, yaml
for path in sys.argv[1:]:
    with open(path) as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or "jobs" not in doc:
        sys.exit(f"{path}: not a workflow (no jobs)")
    # PyYAML reads the key `on` as the boolean True.
    if "on" not in doc and True not in doc:
        sys.exit(f"{path}: no `on:` triggers")
    print(f"{path}: {len(doc['jobs'])} jobs")
"#;
    let dir = root.join(".github/workflows");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|error| {
            Error::Failed(format!(
                "workflow syntax: cannot read {}: {error}",
                dir.display()
            ))
        })?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .map(|path| path.display().to_string())
        .collect();
    files.sort();
    run(
        "workflow syntax",
        Command::new("python3").arg("-c").arg(script).args(&files),
    )
    .map_err(|error| {
        Error::Failed(format!(
            "{error}\n(the check needs python3 with PyYAML: `python3 -m pip install pyyaml`)"
        ))
    })
}

/// A short run of every fuzz target, when cargo-fuzz is installed (`.ci/run` installs it).
fn fuzz() -> Result<(), Error> {
    if !has_cargo_subcommand("fuzz") {
        println!(
            "\n==> fuzz: skipped (cargo-fuzz is not installed; `cargo install --locked cargo-fuzz`)"
        );
        return Ok(());
    }
    let seconds = std::env::var("SMART_FUZZ_SECONDS").unwrap_or_else(|_| "10".to_owned());
    println!("\n==> fuzz: every target for {seconds} s");
    crate::fuzz::run_targets(&["--seconds".to_owned(), seconds])
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
            cargo().args(["deny", "check", "advisories"]),
        ),
        Ok("offline") => run(
            "deny advisories",
            cargo().args(["deny", "--offline", "check", "advisories"]),
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
