//! `cargo xtask tidy`: the workspace rules, read from `cargo metadata` and the manifests.

use std::collections::BTreeMap;
use std::path::Path;

use crate::packages::{DepKind, Package, load};
use crate::util::Error;

/// Which internal crates each crate may depend on (normal and build dependencies), from
/// DESIGN.md §3. Arrows point down only; the three leaf crates never depend on each other.
const ALLOWED: &[(&str, &[&str])] = &[
    ("smart-core", &[]),
    ("smart-pkce", &["smart-core"]),
    ("smart-discovery", &["smart-core"]),
    ("smart-jwt-assertion", &["smart-core"]),
    (
        "smart-token",
        &["smart-core", "smart-pkce", "smart-jwt-assertion"],
    ),
    (
        "smart-udap",
        &["smart-core", "smart-jwt-assertion", "smart-token"],
    ),
    ("smart-client", LOWER),
    ("smart-session", WITH_CLIENT),
    ("smart-on-fhir", WITH_SESSION),
    ("smart-sandbox", WITH_CLIENT_AND_UDAP),
    ("smart-conformance", WITH_SANDBOX_AND_SESSION),
    ("smart-cli", WITH_SANDBOX_AND_CONFORMANCE),
    ("test-support", WITH_CLIENT),
    // The example web app (publish = false): `--sandbox` runs the app against an embedded
    // sandbox in one command.
    ("smart-web-app", WEB_APP),
    ("xtask", &[]),
];

const LOWER: &[&str] = &[
    "smart-core",
    "smart-pkce",
    "smart-discovery",
    "smart-jwt-assertion",
    "smart-token",
];
const WITH_CLIENT: &[&str] = &[
    "smart-core",
    "smart-pkce",
    "smart-discovery",
    "smart-jwt-assertion",
    "smart-token",
    "smart-client",
];
const WITH_SESSION: &[&str] = &[
    "smart-core",
    "smart-pkce",
    "smart-discovery",
    "smart-jwt-assertion",
    "smart-token",
    "smart-client",
    "smart-session",
];
const WITH_CLIENT_AND_UDAP: &[&str] = &[
    "smart-core",
    "smart-pkce",
    "smart-discovery",
    "smart-jwt-assertion",
    "smart-token",
    "smart-client",
    "smart-udap",
];
/// The harness sits above smart-session and uses the sandbox (DESIGN.md §3).
const WITH_SANDBOX_AND_SESSION: &[&str] = &[
    "smart-udap",
    "smart-core",
    "smart-pkce",
    "smart-discovery",
    "smart-jwt-assertion",
    "smart-token",
    "smart-client",
    "smart-session",
    "smart-sandbox",
];
/// The CLI runs the harness for `smart demo`.
const WITH_SANDBOX_AND_CONFORMANCE: &[&str] = &[
    "smart-udap",
    "smart-core",
    "smart-pkce",
    "smart-discovery",
    "smart-jwt-assertion",
    "smart-token",
    "smart-client",
    "smart-session",
    "smart-sandbox",
    "smart-conformance",
];

const WEB_APP: &[&str] = &[
    "smart-core",
    "smart-pkce",
    "smart-discovery",
    "smart-jwt-assertion",
    "smart-token",
    "smart-client",
    "smart-session",
    "smart-sandbox",
];

/// Crates whose tests may also use the sandbox (end-to-end tests over real HTTP).
const SANDBOX_IN_TESTS: &[&str] = &[
    "smart-client",
    "smart-session",
    "smart-on-fhir",
    "smart-cli",
];

pub(crate) fn run() -> Result<(), Error> {
    let packages = load()?;
    let problems = check(&packages);
    if problems.is_empty() {
        println!("tidy: {} crates follow the workspace rules", packages.len());
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "tidy found {} problem(s):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        )))
    }
}

/// Crates whose files still form cycles, each with the issue that removes them. The check
/// fails for any other crate with a cycle, and for a listed crate that has none left.
const KNOWN_CYCLES: &[(&str, &str)] = &[];

/// No circles between the files of a crate ([`crate::cycles`]).
fn file_cycles(packages: &[Package]) -> Vec<String> {
    let mut problems = Vec::new();
    for package in packages {
        let src = package
            .manifest_path
            .parent()
            .unwrap_or(Path::new("."))
            .join("src");
        let cycles = crate::cycles::cycles(&src);
        let known = KNOWN_CYCLES.iter().any(|(name, _)| *name == package.name);
        match (cycles.is_empty(), known) {
            (true, true) => problems.push(format!(
                "{}: its files no longer form a cycle; remove it from KNOWN_CYCLES in xtask/src/tidy.rs",
                package.name
            )),
            (false, false) => {
                for cycle in cycles {
                    problems.push(format!(
                        "{}: these files name each other in a cycle: {}; move what they share into a file both use",
                        package.name,
                        cycle.join(", ")
                    ));
                }
            }
            _ => {}
        }
    }
    problems
}

/// Every rule; each problem is one line that says what to change.
pub(crate) fn check(packages: &[Package]) -> Vec<String> {
    let mut problems = dependency_direction(packages);
    for package in packages {
        let dir = package.manifest_path.parent().unwrap_or(Path::new("."));
        match std::fs::read_to_string(&package.manifest_path) {
            Ok(manifest) if !opts_into_workspace_lints(&manifest) => problems.push(format!(
                "{}: add `[lints] workspace = true` to {}",
                package.name,
                package.manifest_path.display()
            )),
            Ok(_) => {}
            Err(error) => problems.push(format!(
                "{}: cannot read {}: {error}",
                package.name,
                package.manifest_path.display()
            )),
        }
        if !dir.join("README.md").is_file() {
            problems.push(format!(
                "{}: add a README.md in {}",
                package.name,
                dir.display()
            ));
        }
        if package.is_library && package.name != "xtask" {
            let lib = dir.join("src/lib.rs");
            let uses_readme = std::fs::read_to_string(&lib)
                .is_ok_and(|text| text.contains("include_str!(\"../README.md\")"));
            if !uses_readme {
                problems.push(format!(
                    "{}: make the README the crate docs: `#![doc = include_str!(\"../README.md\")]` in {}",
                    package.name,
                    lib.display()
                ));
            }
        }
    }
    problems.extend(file_cycles(packages));
    problems.extend(internal_versions(packages));
    problems.extend(umbrella_features(packages));
    problems.extend(errors_documented(&crate::util::workspace_root()));
    problems.extend(crate::weight::check(&crate::util::workspace_root()));
    problems.extend(crate::quickstart::check(packages));
    problems
}

/// The troubleshooting guide, which must quote every error message.
const TROUBLESHOOTING: &str = "docs/troubleshooting.md";

/// Every `#[error("...")]` in `crates/*/src` is quoted in `docs/troubleshooting.md`, so the
/// guide covers every error ("every error and what to do about it").
fn errors_documented(root: &Path) -> Vec<String> {
    let guide_path = root.join(TROUBLESHOOTING);
    let Ok(guide) = std::fs::read_to_string(&guide_path) else {
        return vec![format!("cannot read {}", guide_path.display())];
    };
    let mut sources = Vec::new();
    let mut stack = vec![root.join("crates")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(Result::ok).map(|entry| entry.path()) {
            let in_src = path
                .strip_prefix(root.join("crates"))
                .ok()
                .and_then(|rel| rel.components().nth(1))
                .is_none_or(|second| second.as_os_str() == "src");
            if path.is_dir() && in_src {
                stack.push(path);
            } else if in_src
                && path.extension().is_some_and(|ext| ext == "rs")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                let shown = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                sources.push((shown, text));
            }
        }
    }
    sources.sort();
    undocumented_errors(&sources, &guide)
}

/// The problems for `(path, source)` pairs whose error messages `guide` does not quote.
fn undocumented_errors(sources: &[(String, String)], guide: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, text) in sources {
        for (line, format) in error_formats(text) {
            let Some(quoted) = quotable_text(&format) else {
                continue;
            };
            if !guide.contains(quoted.as_str()) {
                problems.push(format!(
                    "{path}:{line}: the error \"{format}\" is not in {TROUBLESHOOTING}; quote `{quoted}` there and say what to do"
                ));
            }
        }
    }
    problems
}

/// The format string of every `#[error("...")]` (not `transparent`), and of every `write!(f,
/// "...")` / `f.write_str("...")` in a hand-written `Display` of a type named `*Error`, with its
/// line number.
fn error_formats(text: &str) -> Vec<(usize, String)> {
    let mut found = attribute_formats(text);
    found.extend(display_formats(text));
    found.sort();
    found
}

/// The strings written by hand-written `impl fmt::Display for *Error` blocks (a crate that
/// avoids thiserror to stay light writes its messages there).
fn display_formats(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices("impl ") {
        let rest = &text[start + "impl ".len()..];
        let Some(after) = [
            "fmt::Display for ",
            "core::fmt::Display for ",
            "std::fmt::Display for ",
        ]
        .iter()
        .find_map(|prefix| rest.strip_prefix(prefix)) else {
            continue;
        };
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.ends_with("Error") {
            continue;
        }
        // The block ends at the first `}` in the first column.
        let end = rest
            .find("\n}")
            .map_or(text.len(), |at| start + "impl ".len() + at);
        let block = &text[start..end];
        for marker in ["write!(", ".write_str("] {
            for (at, _) in block.match_indices(marker) {
                let mut call = block[at + marker.len()..].trim_start();
                if marker == "write!(" {
                    let Some((_, after_writer)) = call.split_once(',') else {
                        continue;
                    };
                    call = after_writer.trim_start();
                }
                if let Some(literal) = string_literal(call) {
                    let line = text[..start + at].matches('\n').count() + 1;
                    found.push((line, literal));
                }
            }
        }
    }
    found
}

/// The format string of every `#[error("...")]` (not `transparent`), with its line number.
fn attribute_formats(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(at) = rest.find("#[error(") {
        let start = offset + at + "#[error(".len();
        let line = text[..start].matches('\n').count() + 1;
        if let Some(literal) = string_literal(text[start..].trim_start()) {
            found.push((line, literal));
        }
        offset = start;
        rest = &text[start..];
    }
    found
}

/// The value of the Rust string literal at the start of `text` (`"..."` with escapes, or
/// `r"..."` / `r#"..."#`); `None` when `text` does not start with one.
fn string_literal(text: &str) -> Option<String> {
    if let Some(raw) = text.strip_prefix('r') {
        let hashes = raw.len() - raw.trim_start_matches('#').len();
        let body = raw[hashes..].strip_prefix('"')?;
        let end = format!("\"{}", "#".repeat(hashes));
        return body.find(&end).map(|at| body[..at].to_owned());
    }
    let mut chars = text.strip_prefix('"')?.chars();
    let mut value = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                '0' => value.push('\0'),
                // A line continuation: the newline and the next line's leading whitespace go.
                '\n' => {
                    let remaining = chars.as_str().trim_start();
                    chars = remaining.chars();
                }
                'u' => {
                    let remaining = chars.as_str();
                    let close = remaining.find('}')?;
                    let code = u32::from_str_radix(remaining.get(1..close)?, 16).ok()?;
                    value.push(char::from_u32(code)?);
                    chars = remaining[close + 1..].chars();
                }
                other => value.push(other),
            },
            other => value.push(other),
        }
    }
    None
}

/// The text of a format string the guide must quote: its leading literal text (up to the first
/// `{`), or, when that is too short to mean anything (`"{field} {problem}"`, `"the {x} ..."`),
/// its first literal piece with at least eight letters or digits. `None` when the message is
/// all placeholders.
fn quotable_text(format: &str) -> Option<String> {
    let mut pieces = vec![String::new()];
    let mut chars = format.chars().peekable();
    let mut in_placeholder = false;
    while let Some(c) = chars.next() {
        match (c, in_placeholder) {
            ('{', false) if chars.peek() == Some(&'{') => {
                chars.next();
                pieces.last_mut()?.push('{');
            }
            ('}', false) if chars.peek() == Some(&'}') => {
                chars.next();
                pieces.last_mut()?.push('}');
            }
            ('{', false) => in_placeholder = true,
            ('}', true) => {
                in_placeholder = false;
                pieces.push(String::new());
            }
            (_, true) => {}
            (c, false) => pieces.last_mut()?.push(c),
        }
    }
    let meaningful =
        |piece: &&String| piece.chars().filter(char::is_ascii_alphanumeric).count() >= 8;
    pieces
        .iter()
        .find(meaningful)
        .map(|piece| piece.trim().to_owned())
}

/// Every feature of the umbrella crate is documented in its README's feature table.
fn umbrella_features(packages: &[Package]) -> Vec<String> {
    let Some(umbrella) = packages.iter().find(|p| p.name == "smart-on-fhir") else {
        return Vec::new();
    };
    let readme = umbrella.manifest_path.with_file_name("README.md");
    let Ok(text) = std::fs::read_to_string(&readme) else {
        return vec![format!("smart-on-fhir: cannot read {}", readme.display())];
    };
    umbrella
        .features
        .iter()
        .filter(|feature| *feature != "default")
        .filter(|feature| !text.contains(&format!("| `{feature}`")))
        .map(|feature| {
            format!("smart-on-fhir: document the feature `{feature}` in the README's feature table")
        })
        .collect()
}

fn dependency_direction(packages: &[Package]) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let internal: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    let mut problems = Vec::new();
    for package in packages {
        let Some(may_use) = allowed.get(package.name.as_str()) else {
            problems.push(format!(
                "{}: not in the dependency table of xtask/src/tidy.rs; add it with the crates it may depend on",
                package.name
            ));
            continue;
        };
        for dep in &package.deps {
            if !internal.contains(&dep.name.as_str()) || dep.name == package.name {
                continue;
            }
            let permitted = may_use.contains(&dep.name.as_str())
                || (dep.kind == DepKind::Dev
                    && dep.name == "smart-sandbox"
                    && SANDBOX_IN_TESTS.contains(&package.name.as_str()))
                // The shared test helpers (publish = false) serve any crate's tests.
                || (dep.kind == DepKind::Dev && dep.name == "test-support");
            if !permitted {
                problems.push(format!(
                    "{} depends on {} ({:?}), which DESIGN.md §3 does not allow: dependencies point down only",
                    package.name, dep.name, dep.kind
                ));
            }
        }
    }
    problems
}

fn internal_versions(packages: &[Package]) -> Vec<String> {
    let mut problems = Vec::new();
    for package in packages.iter().filter(|p| p.publish) {
        for dep in package.deps.iter().filter(|d| d.kind != DepKind::Dev) {
            let Some(target) = packages.iter().find(|p| p.name == dep.name) else {
                continue;
            };
            if !dep.has_path || dep.req == "*" {
                problems.push(format!(
                    "{}: the dependency on {} needs both `version` and `path`",
                    package.name, dep.name
                ));
            }
            if !target.publish {
                problems.push(format!(
                    "{} is published but depends on {}, which is not",
                    package.name, dep.name
                ));
            }
        }
    }
    problems
}

/// Whether a manifest has `[lints] workspace = true` (or an inline equivalent).
fn opts_into_workspace_lints(manifest: &str) -> bool {
    let mut section = String::new();
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            line.clone_into(&mut section);
            continue;
        }
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if section == "[lints]" && compact == "workspace=true" {
            return true;
        }
        if (section.is_empty() || section == "[package]")
            && (compact == "lints.workspace=true" || compact == "lints={workspace=true}")
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::packages::Dep;

    fn package(name: &str, deps: &[(&str, DepKind)]) -> Package {
        Package {
            name: name.to_owned(),
            manifest_path: PathBuf::from(format!("/nonexistent/{name}/Cargo.toml")),
            publish: true,
            is_library: true,
            deps: deps
                .iter()
                .map(|(dep, kind)| Dep {
                    name: (*dep).to_owned(),
                    kind: *kind,
                    req: "^0.1.0".to_owned(),
                    has_path: true,
                })
                .collect(),
            features: Vec::new(),
        }
    }

    fn layered() -> Vec<Package> {
        vec![
            package("smart-core", &[]),
            package("smart-pkce", &[("smart-core", DepKind::Normal)]),
            package("smart-jwt-assertion", &[("smart-core", DepKind::Normal)]),
            package("smart-discovery", &[("smart-core", DepKind::Normal)]),
            package(
                "smart-token",
                &[
                    ("smart-pkce", DepKind::Normal),
                    ("smart-jwt-assertion", DepKind::Normal),
                ],
            ),
            package(
                "smart-client",
                &[
                    ("smart-token", DepKind::Normal),
                    ("smart-discovery", DepKind::Normal),
                    ("smart-sandbox", DepKind::Dev),
                ],
            ),
            package("smart-sandbox", &[("smart-client", DepKind::Normal)]),
        ]
    }

    #[test]
    fn the_intended_layering_passes() {
        assert_eq!(dependency_direction(&layered()), Vec::<String>::new());
    }

    #[test]
    fn an_upward_dependency_fails() {
        let mut packages = layered();
        packages[1].deps.push(Dep {
            name: "smart-client".to_owned(),
            kind: DepKind::Normal,
            req: "^0.1.0".to_owned(),
            has_path: true,
        });
        let problems = dependency_direction(&packages);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("smart-pkce depends on smart-client"),
            "{problems:?}"
        );
    }

    #[test]
    fn leaf_crates_may_not_depend_on_each_other() {
        let mut packages = layered();
        packages[3].deps.push(Dep {
            name: "smart-pkce".to_owned(),
            kind: DepKind::Normal,
            req: "^0.1.0".to_owned(),
            has_path: true,
        });
        let problems = dependency_direction(&packages);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("smart-discovery depends on smart-pkce"))
        );
    }

    #[test]
    fn the_sandbox_is_only_for_tests_of_upper_crates() {
        let mut packages = layered();
        packages[4].deps.push(Dep {
            name: "smart-sandbox".to_owned(),
            kind: DepKind::Dev,
            req: "*".to_owned(),
            has_path: true,
        });
        let problems = dependency_direction(&packages);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("smart-token depends on smart-sandbox"))
        );
    }

    #[test]
    fn unknown_crates_are_reported() {
        let mut packages = layered();
        packages.push(package("smart-extra", &[]));
        let problems = dependency_direction(&packages);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("smart-extra: not in the dependency table"))
        );
    }

    #[test]
    fn internal_dependencies_need_version_and_path() {
        let mut packages = layered();
        packages[1].deps[0].req = "*".to_owned();
        packages[6].publish = false;
        let problems = internal_versions(&packages);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("smart-pkce: the dependency on smart-core"))
        );
        assert!(
            !problems
                .iter()
                .any(|p| p.contains("smart-client is published but depends on smart-sandbox")),
            "dev-dependencies are not published: {problems:?}"
        );
    }

    #[test]
    fn lints_opt_in_is_recognised() {
        assert!(opts_into_workspace_lints(
            "[package]\nname = \"x\"\n\n[lints]\nworkspace = true\n"
        ));
        assert!(opts_into_workspace_lints(
            "[package]\nname = \"x\"\nlints.workspace = true\n"
        ));
        assert!(!opts_into_workspace_lints(
            "[package]\nname = \"x\"\n[dependencies]\nworkspace = true\n"
        ));
        assert!(!opts_into_workspace_lints("[package]\nname = \"x\"\n"));
    }

    #[test]
    fn error_messages_are_read_from_the_attribute() {
        let source = r#"
            #[error(transparent)]
            Config(ConfigError),
            #[error("the callback has no code parameter")]
            MissingCode,
            #[error(
                "the key {kid:?} is \"odd\" \
                 and long"
            )]
            Odd { kid: String },
            #[error("{0}")]
            Wrapped(String),
        "#;
        let formats: Vec<String> = error_formats(source).into_iter().map(|(_, f)| f).collect();
        assert_eq!(
            formats,
            [
                "the callback has no code parameter",
                "the key {kid:?} is \"odd\" and long",
                "{0}"
            ]
        );
        assert_eq!(
            quotable_text("cannot listen on 127.0.0.1:{port}: {source}").as_deref(),
            Some("cannot listen on 127.0.0.1:")
        );
        assert_eq!(
            quotable_text("the {format} key is malformed: {reason}").as_deref(),
            Some("key is malformed:")
        );
        assert_eq!(
            quotable_text("{{literal}} braces {x}").as_deref(),
            Some("{literal} braces")
        );
        assert_eq!(quotable_text("{0}"), None);
        assert_eq!(quotable_text("{}: {description}"), None);
    }

    #[test]
    fn hand_written_error_messages_are_read() {
        let source = r#"
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { len } => write!(
                f,
                "code verifier must be 43 to 128 characters long, got {len}"
            ),
            Self::Other => f.write_str("the random number generator failed"),
        }
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an error message")
    }
}
"#;
        let formats: Vec<String> = error_formats(source).into_iter().map(|(_, f)| f).collect();
        assert_eq!(
            formats,
            [
                "code verifier must be 43 to 128 characters long, got {len}",
                "the random number generator failed"
            ]
        );
    }

    #[test]
    fn an_undocumented_error_fails() {
        let sources = vec![(
            "crates/x/src/error.rs".to_owned(),
            "#[error(\"the callback has no code parameter\")]\nA,\n#[error(\"the JWS is malformed: {reason}\")]\nB,\n".to_owned(),
        )];
        let guide = "| `the callback has no code parameter` | start again |";
        let problems = undocumented_errors(&sources, guide);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "crates/x/src/error.rs:3: the error \"the JWS is malformed: {reason}\""
            ),
            "{problems:?}"
        );
        let complete = format!("{guide}\n| `the JWS is malformed: …` | check the token |");
        assert!(undocumented_errors(&sources, &complete).is_empty());
    }

    /// The real workspace follows its own rules.
    #[test]
    fn workspace_is_tidy() {
        let packages = load().expect("cargo metadata runs");
        assert!(
            packages.len() >= 9,
            "expected the whole workspace, got {}",
            packages.len()
        );
        let problems = check(&packages);
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }
}
