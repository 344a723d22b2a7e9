//! The README quickstarts, compiled as a new user would: `cargo xtask release --dry-run` puts
//! each one, exactly as printed, in a fresh crate outside the workspace that depends on the
//! *packaged* crates, with only the dependencies its README tells the user to add.
//!
//! A quickstart is a ```` ```rust ```` block whose info string also carries `quickstart`
//! (```` ```rust,no_run,quickstart ````): a whole `src/main.rs`, with no hidden (`# `) lines,
//! since GitHub and crates.io print those. Its dependencies are the last ```` ```toml ````
//! block with a `[dependencies]` table before it in the same README. New quickstarts (the async
//! ones, say) are picked up by that tag alone. `cargo xtask tidy` checks that every published
//! crate's README has one and that each is well formed.

use std::path::{Path, PathBuf};

use crate::packages::Package;
use crate::util::{Error, cargo, run, workspace_root};

/// The word in a code block's info string that makes it a quickstart.
pub(crate) const TAG: &str = "quickstart";

/// One quickstart of one README.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quickstart {
    /// The README, relative to the workspace root.
    pub(crate) readme: String,
    /// The line of its opening fence.
    pub(crate) line: usize,
    /// The program, as printed.
    pub(crate) code: String,
    /// The `[dependencies]` block the README gives before it, as printed.
    pub(crate) dependencies: Option<String>,
}

/// A fenced code block: its opening line, info string and body.
fn fences(text: &str) -> Vec<(usize, String, String)> {
    let mut blocks = Vec::new();
    // The opening line, the info string, the body so far and the fence's length.
    let mut open: Option<(usize, String, String, usize)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let ticks = trimmed.len() - trimmed.trim_start_matches('`').len();
        match open.take() {
            None if ticks >= 3 => {
                let info = trimmed[ticks..].trim().to_owned();
                open = Some((index + 1, info, String::new(), ticks));
            }
            None => {}
            Some((start, info, body, fence))
                if ticks >= fence && trimmed[ticks..].trim().is_empty() =>
            {
                blocks.push((start, info, body));
            }
            Some((start, info, mut body, fence)) => {
                body.push_str(line);
                body.push('\n');
                open = Some((start, info, body, fence));
            }
        }
    }
    blocks
}

/// Whether an info string (`rust,no_run,quickstart`) marks a Rust quickstart.
fn is_quickstart(info: &str) -> bool {
    let mut words = info
        .split([',', ' '])
        .map(str::trim)
        .filter(|w| !w.is_empty());
    words.next() == Some("rust") && words.any(|word| word == TAG)
}

/// The quickstarts of one README, each with the dependency block printed before it.
pub(crate) fn extract(readme: &str, text: &str) -> Vec<Quickstart> {
    let mut dependencies: Option<String> = None;
    let mut found = Vec::new();
    for (line, info, body) in fences(text) {
        let language = info.split([',', ' ']).next().unwrap_or_default();
        if language == "toml" && body.lines().any(|l| l.trim() == "[dependencies]") {
            dependencies = Some(body);
        } else if is_quickstart(&info) {
            found.push(Quickstart {
                readme: readme.to_owned(),
                line,
                code: body,
                dependencies: dependencies.clone(),
            });
        }
    }
    found
}

/// The READMEs whose quickstarts are compiled: the workspace's and every published crate's.
fn readmes(packages: &[Package]) -> Vec<(Option<String>, PathBuf)> {
    let root = workspace_root();
    let mut list = vec![(None, root.join("README.md"))];
    for package in packages.iter().filter(|p| p.publish && p.is_library) {
        list.push((
            Some(package.name.clone()),
            package.manifest_path.with_file_name("README.md"),
        ));
    }
    list
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Every quickstart of the workspace, and the problems found reading them.
pub(crate) fn all(packages: &[Package]) -> (Vec<Quickstart>, Vec<String>) {
    let mut quickstarts = Vec::new();
    let mut problems = Vec::new();
    for (package, path) in readmes(packages) {
        let shown = relative(&path);
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("cannot read {shown}"));
            continue;
        };
        let found = extract(&shown, &text);
        if found.is_empty() {
            let who = package.as_deref().unwrap_or("the workspace");
            problems.push(format!(
                "{shown}: {who} has no quickstart; mark one complete example ```rust,no_run,{TAG} (or ```rust,{TAG}) after a ```toml [dependencies] block"
            ));
        }
        problems.extend(found.iter().flat_map(problems_of));
        quickstarts.extend(found);
    }
    (quickstarts, problems)
}

/// What is wrong with one quickstart, as printed.
fn problems_of(quickstart: &Quickstart) -> Vec<String> {
    let at = format!("{}:{}", quickstart.readme, quickstart.line);
    let mut problems = Vec::new();
    if quickstart.dependencies.is_none() {
        problems.push(format!(
            "{at}: the quickstart has no ```toml block with [dependencies] before it; print the dependencies a user must add"
        ));
    }
    if !quickstart.code.contains("fn main(") {
        problems.push(format!(
            "{at}: the quickstart is not a whole program; print it with its `fn main`"
        ));
    }
    if let Some(hidden) = quickstart
        .code
        .lines()
        .position(|line| line.trim_start() == "#" || line.trim_start().starts_with("# "))
    {
        problems.push(format!(
            "{at}: line {} of the quickstart is hidden from rustdoc (`# `) but printed by GitHub and crates.io; a quickstart has no hidden lines",
            hidden + 1
        ));
    }
    problems
}

/// `cargo xtask tidy`'s part: the READMEs' quickstarts are there and well formed.
pub(crate) fn check(packages: &[Package]) -> Vec<String> {
    all(packages).1
}

/// Compiles every quickstart in its own crate under `work`, against the packaged crates found
/// as `.crate` files under `package_dir` (what `cargo package` wrote), with only the dependencies
/// the README prints plus a `[patch.crates-io]` that points our crates at those packages.
pub(crate) fn compile(packages: &[Package], package_dir: &Path, work: &Path) -> Result<(), Error> {
    let (quickstarts, problems) = all(packages);
    if !problems.is_empty() {
        return Err(Error::Failed(format!(
            "quickstart problems:\n  - {}",
            problems.join("\n  - ")
        )));
    }
    let unpacked = work.join("packaged");
    std::fs::create_dir_all(&unpacked)
        .map_err(|error| Error::Failed(format!("cannot create {}: {error}", unpacked.display())))?;
    let mut patch = String::from("\n[patch.crates-io]\n");
    // `cargo package` of one crate writes `package/NAME-VERSION.crate`; `cargo publish
    // --dry-run` of several keeps them in its local overlay registry (`package/tmp-registry`,
    // with copies in `package/tmp-crate`). The first copy of each file found is used.
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        package_dir.to_path_buf(),
        package_dir.join("tmp-registry"),
        package_dir.join("tmp-crate"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(Result::ok).map(|entry| entry.path()) {
            let seen = files
                .iter()
                .any(|known| known.file_name() == path.file_name());
            if path.extension().is_some_and(|ext| ext == "crate") && !seen {
                files.push(path);
            }
        }
    }
    files.sort();
    for file in &files {
        let stem = file
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(package) = packages.iter().find(|p| {
            p.publish
                && stem
                    .strip_prefix(&p.name)
                    .is_some_and(|v| v.starts_with('-'))
        }) else {
            continue;
        };
        // A `.crate` is a gzipped tar of `NAME-VERSION/`.
        run(
            "unpack",
            std::process::Command::new("tar")
                .arg("-xzf")
                .arg(file)
                .arg("-C")
                .arg(&unpacked),
        )?;
        let dir = unpacked.join(&stem);
        patch.push_str(&package.name);
        patch.push_str(" = { path = ");
        patch.push_str(&toml_string(&dir.display().to_string()));
        patch.push_str(" }\n");
    }
    if files.is_empty() {
        return Err(Error::Failed(format!(
            "no packaged crates (*.crate) in {}; run `cargo package` first",
            package_dir.display()
        )));
    }
    let target = work.join("target");
    for (index, quickstart) in quickstarts.iter().enumerate() {
        let name = format!("quickstart-{}", index + 1);
        let dir = work.join(&name);
        let dependencies = quickstart.dependencies.as_deref().unwrap_or_default();
        let manifest = format!(
            "# {}:{}, as printed, against the packaged crates.\n[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n# Its own workspace: not a member of the one it came from.\n[workspace]\n\n{dependencies}{patch}",
            quickstart.readme, quickstart.line
        );
        write(&dir.join("Cargo.toml"), &manifest)?;
        write(&dir.join("src/main.rs"), &quickstart.code)?;
        // `cargo rustc -- -D warnings`: a warning in the printed program fails, one in a
        // dependency does not.
        run(
            &format!("quickstart {}:{}", quickstart.readme, quickstart.line),
            cargo()
                .current_dir(&dir)
                .env("CARGO_TARGET_DIR", &target)
                .args(["rustc", "--quiet", "--", "-D", "warnings"]),
        )?;
    }
    println!(
        "{} quickstarts compiled as printed against the packaged crates",
        quickstarts.len()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|error| {
            Error::Failed(format!("cannot create {}: {error}", parent.display()))
        })?;
    }
    std::fs::write(path, text)
        .map_err(|error| Error::Failed(format!("cannot write {}: {error}", path.display())))
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "\
# x

```toml
[dependencies]
smart-pkce = \"0.1\"
```

```rust
// an ordinary example
```

```rust,no_run,quickstart
fn main() {}
```

```toml
[features]
not = []
```

````rust,quickstart
# use std::io;
let x = 1;
````
";

    #[test]
    fn quickstarts_are_found_with_their_dependencies() {
        let found = extract("README.md", README);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].line, 12);
        assert_eq!(found[0].code, "fn main() {}\n");
        assert_eq!(
            found[0].dependencies.as_deref(),
            Some("[dependencies]\nsmart-pkce = \"0.1\"\n")
        );
        // A toml block without [dependencies] does not replace the dependencies.
        assert_eq!(found[1].dependencies, found[0].dependencies);
        assert!(problems_of(&found[0]).is_empty());
        let problems = problems_of(&found[1]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("not a whole program"), "{problems:?}");
        assert!(problems[1].contains("hidden from rustdoc"), "{problems:?}");
    }

    #[test]
    fn a_quickstart_needs_its_dependencies_printed() {
        let found = extract("README.md", "```rust,quickstart\nfn main() {}\n```\n");
        let problems = problems_of(&found[0]);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("README.md:1: the quickstart has no ```toml block")),
            "{problems:?}"
        );
    }

    #[test]
    fn only_tagged_rust_blocks_are_quickstarts() {
        assert!(is_quickstart("rust,no_run,quickstart"));
        assert!(is_quickstart("rust quickstart"));
        assert!(!is_quickstart("rust,no_run"));
        assert!(!is_quickstart("toml,quickstart"));
        assert!(!is_quickstart("rust,quickstarts"));
    }

    #[test]
    fn paths_are_quoted_for_toml() {
        assert_eq!(toml_string(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
    }
}
