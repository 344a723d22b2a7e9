//! The workspace's packages as `cargo metadata --no-deps` describes them: what tidy,
//! quickstart, release and ci read.

use std::path::PathBuf;

use serde_json::Value;

use crate::util::{Error, cargo, output};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DepKind {
    Normal,
    Dev,
    Build,
}

#[derive(Debug, Clone)]
pub(crate) struct Dep {
    pub(crate) name: String,
    pub(crate) kind: DepKind,
    /// The version requirement; `*` when the manifest gave none.
    pub(crate) req: String,
    pub(crate) has_path: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) manifest_path: PathBuf,
    pub(crate) publish: bool,
    pub(crate) is_library: bool,
    pub(crate) deps: Vec<Dep>,
    /// The names of the package's features.
    pub(crate) features: Vec<String>,
}

/// The workspace's packages, from `cargo metadata --no-deps`.
pub(crate) fn load() -> Result<Vec<Package>, Error> {
    let json = output(
        "cargo metadata",
        cargo().args(["metadata", "--format-version", "1", "--no-deps", "--locked"]),
    )?;
    parse_metadata(&json)
}

pub(crate) fn parse_metadata(json: &str) -> Result<Vec<Package>, Error> {
    let metadata: Value = serde_json::from_str(json)
        .map_err(|error| Error::Failed(format!("cargo metadata: invalid JSON: {error}")))?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or_else(|| Error::Failed("cargo metadata: no `packages` array".to_owned()))?;
    packages
        .iter()
        .map(|package| {
            let name = package["name"].as_str().unwrap_or_default().to_owned();
            let deps = package["dependencies"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|dep| Dep {
                    name: dep["name"].as_str().unwrap_or_default().to_owned(),
                    kind: match dep["kind"].as_str() {
                        Some("dev") => DepKind::Dev,
                        Some("build") => DepKind::Build,
                        _ => DepKind::Normal,
                    },
                    req: dep["req"].as_str().unwrap_or("*").to_owned(),
                    has_path: dep["path"].is_string(),
                })
                .collect();
            let is_library = package["targets"].as_array().is_some_and(|targets| {
                targets.iter().any(|target| {
                    target["kind"]
                        .as_array()
                        .is_some_and(|kinds| kinds.iter().any(|kind| kind == "lib"))
                })
            });
            // `publish: []` means "nowhere"; `null` means crates.io.
            let publish = !package["publish"].as_array().is_some_and(Vec::is_empty);
            let features = package["features"]
                .as_object()
                .map(|features| features.keys().cloned().collect())
                .unwrap_or_default();
            Ok(Package {
                name,
                manifest_path: PathBuf::from(package["manifest_path"].as_str().unwrap_or_default()),
                publish,
                is_library,
                deps,
                features,
            })
        })
        .collect()
}
