//! `cargo xtask release [--dry-run]`: the checks before a release, `cargo publish --dry-run`
//! of every publishable crate in dependency order, and every README quickstart compiled as
//! printed against the packaged crates (`quickstart.rs`). Without `--dry-run` it stops before
//! anything irreversible and prints what it would do.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::packages::{DepKind, Package, load};
use crate::util::{Error, cargo, output, run, target_directory, workspace_root};

pub(crate) fn release(args: &[String]) -> Result<(), Error> {
    let dry_run = match args {
        [] => false,
        [flag] if flag == "--dry-run" => true,
        [other, ..] => {
            return Err(Error::Usage(format!(
                "`release` takes only --dry-run, got `{other}`"
            )));
        }
    };
    let root = workspace_root();

    // A clean tree: what is released is what is committed.
    let status = output(
        "git status",
        std::process::Command::new("git")
            .current_dir(&root)
            .args(["status", "--porcelain"]),
    )?;
    if !status.trim().is_empty() {
        return Err(Error::Failed(format!(
            "the working tree has uncommitted changes; commit or stash them first:\n{status}"
        )));
    }

    // One version across the workspace.
    let packages = load()?;
    let metadata = output(
        "cargo metadata",
        cargo().args(["metadata", "--format-version", "1", "--no-deps", "--locked"]),
    )?;
    let versions = versions(&metadata)?;
    let distinct: BTreeSet<&str> = versions.iter().map(|(_, v)| v.as_str()).collect();
    let version = match distinct.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => (*one).to_owned(),
        many => {
            return Err(Error::Failed(format!(
                "the crates have different versions: {many:?}; use [workspace.package] version"
            )));
        }
    };
    println!("version {version} across {} crates", versions.len());

    // A changelog entry for it.
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md"))
        .map_err(|error| Error::Failed(format!("cannot read CHANGELOG.md: {error}")))?;
    if !changelog.contains(&format!("## [{version}]")) {
        return Err(Error::Failed(format!(
            "CHANGELOG.md has no `## [{version}]` entry; add one"
        )));
    }
    println!("CHANGELOG.md has an entry for {version}");

    // Internal dependencies carry version + path (tidy's rules).
    let problems = crate::tidy::check(&packages);
    if !problems.is_empty() {
        return Err(Error::Failed(format!(
            "tidy problems:\n  - {}",
            problems.join("\n  - ")
        )));
    }

    let order = publish_order(&packages)?;
    println!("publish order: {}", order.join(" -> "));
    if dry_run {
        // Cargo packages the crates together, so unpublished internal dependencies resolve
        // from the local packages, and builds each package as it would be published.
        let target = fresh_rehearsal(&order, &version)?;
        let mut command = cargo();
        command
            .env("CARGO_TARGET_DIR", &target)
            .args(["publish", "--dry-run", "--locked"]);
        for name in &order {
            command.args(["--package", name]);
        }
        run("cargo publish --dry-run", &mut command)?;
        // Then as a new user: each README quickstart, exactly as printed, in a fresh crate
        // outside the workspace, against the crates just packaged.
        crate::quickstart::compile(
            &packages,
            &target.join("package"),
            &target.join("quickstarts"),
        )?;
        // And `cargo install smart-cli` as a user would: from the packages, then run it.
        install_cli(
            &order,
            &version,
            &target.join("quickstarts").join("packaged"),
            &target,
        )?;
        println!("\nrelease --dry-run: every check passed; nothing was published");
    } else {
        println!("\nrelease: every check passed. The irreversible steps, in order, would be:");
        for name in &order {
            println!("  cargo publish --locked --package {name}");
        }
        println!("  git tag v{version} && git push origin v{version}");
        println!("They were not run: run them by hand, or use --dry-run to rehearse.");
    }
    Ok(())
}

/// Installs `smart` from the packaged smart-cli (its internal dependencies patched to their
/// packages in `unpacked`, as crates.io would serve them) into a temporary root under
/// `target`, and runs `smart --version` and `smart demo --table` with it. When smart-cli is
/// not publishable it says so and why: the step is then skipped, never silently.
fn install_cli(
    order: &[String],
    version: &str,
    unpacked: &std::path::Path,
    target: &std::path::Path,
) -> Result<(), Error> {
    if !order.iter().any(|name| name == "smart-cli") {
        println!(
            "\n==> install smart from the packages: skipped: smart-cli is `publish = false` \
             (it needs smart-sandbox and smart-conformance published first)"
        );
        return Ok(());
    }
    // Outside the workspace: under `target/`, cargo would take the package for an unlisted
    // member of this repository's workspace and refuse to install it.
    let packaged = unpacked.join(format!("smart-cli-{version}"));
    let outside = std::env::temp_dir().join(format!("smart-cli-install-{}", std::process::id()));
    let source = outside.join(format!("smart-cli-{version}"));
    if outside.exists() {
        std::fs::remove_dir_all(&outside).map_err(|error| {
            Error::Failed(format!("cannot empty {}: {error}", outside.display()))
        })?;
    }
    crate::util::copy_tree(&packaged, &source).map_err(|error| {
        Error::Failed(format!(
            "copying {} to {}: {error}",
            packaged.display(),
            source.display()
        ))
    })?;
    let root = target.join("install-root");
    let mut command = cargo();
    command
        .env("CARGO_TARGET_DIR", target.join("install-target"))
        .args(["install", "--force", "--root"])
        .arg(&root)
        .arg("--path")
        .arg(&source);
    for arg in patch_args(order, version, unpacked) {
        command.arg(arg);
    }
    let installed = run("cargo install smart-cli (from the packages)", &mut command);
    let _ = std::fs::remove_dir_all(&outside);
    installed?;
    let smart = root.join("bin").join("smart");
    let printed = output(
        "smart --version",
        std::process::Command::new(&smart).arg("--version"),
    )?;
    if !printed.contains(version) {
        return Err(Error::Failed(format!(
            "`smart --version` printed {printed:?}, not version {version}"
        )));
    }
    println!("    {}", printed.trim());
    run(
        "smart demo --table (installed)",
        std::process::Command::new(&smart).args(["demo", "--table"]),
    )
}

/// `--config patch.crates-io.NAME.path="DIR"` for each packaged crate but smart-cli itself.
fn patch_args(order: &[String], version: &str, unpacked: &std::path::Path) -> Vec<String> {
    order
        .iter()
        .filter(|name| *name != "smart-cli")
        .flat_map(|name| {
            let dir = unpacked.join(format!("{name}-{version}"));
            let path = dir
                .display()
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"");
            [
                "--config".to_owned(),
                format!("patch.crates-io.{name}.path=\"{path}\""),
            ]
        })
        .collect()
}

/// `cargo publish --dry-run` of several packages unpacks each into a local overlay registry
/// under `$CARGO_HOME/registry/src/-<hash>/NAME-VERSION`, and builds them as registry crates.
/// Cargo takes a registry crate of one version to be the same code forever, so a later
/// rehearsal of the same version would reuse both the unpacked source and its builds: it would
/// verify the first rehearsal's code. So each rehearsal builds in a target directory of its
/// own, emptied first, and the unpacked copies of our crates are removed (only in nameless
/// local registries, whose directory names start with `-`). Returns that target directory.
fn fresh_rehearsal(crates: &[String], version: &str) -> Result<PathBuf, Error> {
    let target = target_directory()?.join("release-rehearsal");
    if target.is_dir() {
        std::fs::remove_dir_all(&target).map_err(|error| {
            Error::Failed(format!("cannot empty {}: {error}", target.display()))
        })?;
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let registries = cargo_home
        .map(|home| home.join("registry").join("src"))
        .and_then(|sources| std::fs::read_dir(sources).ok());
    for registry in registries.into_iter().flatten().flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for name in crates {
            let unpacked = registry.path().join(format!("{name}-{version}"));
            if unpacked.is_dir() {
                println!("forgetting an earlier rehearsal: {}", unpacked.display());
                std::fs::remove_dir_all(&unpacked).map_err(|error| {
                    Error::Failed(format!("cannot remove {}: {error}", unpacked.display()))
                })?;
            }
        }
    }
    Ok(target)
}

fn versions(metadata: &str) -> Result<Vec<(String, String)>, Error> {
    let value: serde_json::Value = serde_json::from_str(metadata)
        .map_err(|error| Error::Failed(format!("cargo metadata: {error}")))?;
    Ok(value["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|package| {
            (
                package["name"].as_str().unwrap_or_default().to_owned(),
                package["version"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

/// The publishable crates, each after the internal crates it depends on.
pub(crate) fn publish_order(packages: &[Package]) -> Result<Vec<String>, Error> {
    let publishable: Vec<&Package> = packages.iter().filter(|p| p.publish).collect();
    let names: BTreeSet<&str> = publishable.iter().map(|p| p.name.as_str()).collect();
    let mut order: Vec<String> = Vec::new();
    while order.len() < publishable.len() {
        let ready = publishable.iter().find(|package| {
            !order.contains(&package.name)
                && package
                    .deps
                    .iter()
                    .filter(|dep| dep.kind != DepKind::Dev && names.contains(dep.name.as_str()))
                    .all(|dep| order.contains(&dep.name))
        });
        match ready {
            Some(package) => order.push(package.name.clone()),
            None => {
                return Err(Error::Failed(
                    "the internal dependencies form a cycle".to_owned(),
                ));
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_patches_every_packaged_crate_but_the_cli() {
        let order = ["smart-core".to_owned(), "smart-cli".to_owned()];
        let args = patch_args(&order, "0.1.0", std::path::Path::new("/p"));
        assert_eq!(
            args,
            [
                "--config",
                "patch.crates-io.smart-core.path=\"/p/smart-core-0.1.0\""
            ]
        );
    }

    #[test]
    fn the_real_workspace_publishes_foundation_first() {
        let order = publish_order(&load().expect("cargo metadata runs")).expect("no cycle");
        let position = |name: &str| order.iter().position(|n| n == name).unwrap_or(usize::MAX);
        assert_eq!(order.first().map(String::as_str), Some("smart-core"));
        assert!(position("smart-token") > position("smart-jwt-assertion"));
        assert!(position("smart-client") > position("smart-token"));
        assert!(position("smart-on-fhir") > position("smart-client"));
        assert!(position("smart-sandbox") > position("smart-udap"));
        assert!(position("smart-conformance") > position("smart-sandbox"));
        assert!(position("smart-cli") > position("smart-conformance"));
        assert!(
            !order
                .iter()
                .any(|n| n == "test-support" || n == "smart-web-app" || n == "xtask")
        );
    }
}
