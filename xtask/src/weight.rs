//! The weight of each feature set (`docs/weight.md`), kept true by `cargo xtask tidy`: the
//! crate counts in its table are recomputed with `cargo tree` from the committed `Cargo.lock`,
//! and the limits the project promises are checked.

use std::collections::BTreeSet;
use std::path::Path;

use crate::util::{cargo, output};

/// The table of crate counts and build times.
pub(crate) const WEIGHT_DOC: &str = "docs/weight.md";

/// The platform the counts are for, so that they read the same on every machine.
const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Most crates (itself included) a dependency may bring in, per feature set.
const LIMITS: &[(&str, usize)] = &[("smart-pkce = \"0.1\"", 15)];

/// Crates a feature set must not bring in (a public app without `openid` has no RSA or P-384).
const ABSENT: &[(&str, &[&str])] = &[
    (
        "smart-on-fhir = { version = \"0.1\", default-features = false, features = [\"client-public\"] }",
        &["rsa", "p384"],
    ),
    (
        "smart-on-fhir = { version = \"0.1\", default-features = false, features = [\"client-public\", \"rustls\"] }",
        &["rsa", "p384"],
    ),
];

/// One dependency line of the table, as a user writes it in `[dependencies]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FeatureSet {
    pub(crate) package: String,
    pub(crate) default_features: bool,
    pub(crate) features: Vec<String>,
}

impl FeatureSet {
    /// Reads `name = "0.1"` or `name = { version = "0.1", default-features = false, features =
    /// ["a", "b"] }`.
    pub(crate) fn parse(line: &str) -> Option<Self> {
        let (name, spec) = line.split_once('=')?;
        let package = name.trim().to_owned();
        if package.is_empty()
            || !package
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return None;
        }
        let compact: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
        let default_features = !compact.contains("default-features=false");
        let features = match compact.split_once("features=[") {
            Some((_, rest)) => rest
                .split(']')
                .next()?
                .split(',')
                .map(|feature| feature.trim_matches('"').to_owned())
                .filter(|feature| !feature.is_empty())
                .collect(),
            None => Vec::new(),
        };
        Some(Self {
            package,
            default_features,
            features,
        })
    }

    /// The `cargo tree` arguments that select this feature set.
    fn cargo_args(&self) -> Vec<String> {
        let mut args = vec!["--package".to_owned(), self.package.clone()];
        if !self.default_features {
            args.push("--no-default-features".to_owned());
        }
        if !self.features.is_empty() {
            args.push("--features".to_owned());
            args.push(self.features.join(","));
        }
        args
    }
}

/// A row of the table: the dependency line and the crate count it states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) line: String,
    pub(crate) set: FeatureSet,
    pub(crate) crates: usize,
}

/// The rows of `docs/weight.md` for the workspace's own crates (`smart-*`): a table whose
/// first column is a dependency line in backticks and whose second is the crate count.
pub(crate) fn rows(doc: &str) -> Vec<Row> {
    doc.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().strip_prefix('|')?.split('|').collect();
            let dependency = cells.first()?.trim().strip_prefix('`')?.strip_suffix('`')?;
            let set = FeatureSet::parse(dependency)?;
            if !set.package.starts_with("smart-") {
                return None;
            }
            let crates = cells.get(1)?.trim().parse().ok()?;
            Some(Row {
                line: dependency.to_owned(),
                set,
                crates,
            })
        })
        .collect()
}

/// The distinct packages (name and version) in the normal dependency tree of `set`, itself
/// included, for [`TARGET`].
fn tree(set: &FeatureSet) -> Result<BTreeSet<String>, String> {
    let run = |offline: bool| {
        let mut command = cargo();
        command
            .args(["tree", "--locked", "--edges", "normal", "--prefix", "none"])
            .args(["--format", "{p}", "--target", TARGET])
            .args(set.cargo_args());
        if offline {
            command.arg("--offline");
        }
        output("cargo tree", &mut command)
    };
    // Offline first (the tidy test must not need the network); a fresh machine that has not
    // fetched every package yet lets cargo download them.
    let text = run(true)
        .or_else(|_| run(false))
        .map_err(|error| error.to_string())?;
    Ok(text
        .lines()
        .map(|line| line.trim_end_matches(" (*)").trim())
        .filter(|line| !line.is_empty())
        // `name vX.Y.Z (/path)` for path packages: the path is not part of the identity.
        .map(|line| line.split(" (").next().unwrap_or(line).to_owned())
        .collect())
}

/// Every problem with `docs/weight.md` and the promised limits.
pub(crate) fn check(root: &Path) -> Vec<String> {
    let path = root.join(WEIGHT_DOC);
    let Ok(doc) = std::fs::read_to_string(&path) else {
        return vec![format!("cannot read {}", path.display())];
    };
    let rows = rows(&doc);
    let mut problems = Vec::new();
    if rows.is_empty() {
        problems.push(format!(
            "{WEIGHT_DOC} has no table rows of the form | `smart-... = ...` | <crates> | ... |"
        ));
    }
    for row in &rows {
        match tree(&row.set) {
            Ok(packages) if packages.len() != row.crates => problems.push(format!(
                "{WEIGHT_DOC}: `{}` brings {} crates, not {}; update the table (cargo xtask tidy recounts them)",
                row.line,
                packages.len(),
                row.crates
            )),
            Ok(_) => {}
            Err(error) => problems.push(format!("{WEIGHT_DOC}: `{}`: {error}", row.line)),
        }
    }
    for (line, limit) in LIMITS {
        let Some(set) = FeatureSet::parse(line) else {
            continue;
        };
        match tree(&set) {
            Ok(packages) if packages.len() > *limit => problems.push(format!(
                "`{line}` brings {} crates, more than the {limit} promised in {WEIGHT_DOC}: make the new dependency optional",
                packages.len()
            )),
            Ok(_) => {}
            Err(error) => problems.push(format!("`{line}`: {error}")),
        }
    }
    for (line, absent) in ABSENT {
        let Some(set) = FeatureSet::parse(line) else {
            continue;
        };
        match tree(&set) {
            Ok(packages) => {
                for name in *absent {
                    if packages
                        .iter()
                        .any(|package| package.split(' ').next() == Some(*name))
                    {
                        problems.push(format!(
                            "`{line}` brings in {name}, which only `openid` and the confidential-asymmetric features may"
                        ));
                    }
                }
            }
            Err(error) => problems.push(format!("`{line}`: {error}")),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_lines_are_read() {
        assert_eq!(
            FeatureSet::parse("smart-pkce = \"0.1\""),
            Some(FeatureSet {
                package: "smart-pkce".to_owned(),
                default_features: true,
                features: Vec::new(),
            })
        );
        let set = FeatureSet::parse(
            "smart-on-fhir = { version = \"0.1\", default-features = false, features = [\"client-public\", \"rustls\"] }",
        )
        .expect("parses");
        assert!(!set.default_features);
        assert_eq!(set.features, ["client-public", "rustls"]);
        assert_eq!(
            set.cargo_args(),
            [
                "--package",
                "smart-on-fhir",
                "--no-default-features",
                "--features",
                "client-public,rustls"
            ]
        );
        assert_eq!(FeatureSet::parse("not a dependency"), None);
    }

    #[test]
    fn only_our_rows_are_checked() {
        let doc = "\
| dependency | crates | clean build |
|---|---|---|
| `smart-pkce = \"0.1\"` | 15 | 9 s |
| `oauth2 = { version = \"5\", default-features = false, features = [\"ureq\"] }` | 83 | 40 s |
| `smart-client = { version = \"0.1\", default-features = false, features = [\"rustls\"] }` | 76 | 30 s |
";
        let rows = rows(doc);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[0].crates, 15);
        assert_eq!(rows[1].set.features, ["rustls"]);
    }
}
