//! The GitHub workflows' syntax, checked with a YAML parser (GitHub Actions cannot run here).
//!
//! Pure Rust (saphyr-parser), so `cargo xtask ci` needs nothing but the Rust toolchain.

use std::path::Path;

use saphyr_parser::{Event, Parser};

use crate::util::Error;

/// A YAML node, as much of it as the check needs.
#[derive(Debug, PartialEq)]
enum Yaml {
    Scalar(String),
    Sequence(Vec<Yaml>),
    Mapping(Vec<(Yaml, Yaml)>),
    Alias,
    /// What a lookup of a missing key gives.
    Missing,
}

static MISSING: Yaml = Yaml::Missing;

impl Yaml {
    fn as_str(&self) -> Option<&str> {
        match self {
            Self::Scalar(value) => Some(value),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> &Self {
        match self {
            Self::Mapping(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map_or(&MISSING, |(_, value)| value),
            _ => &MISSING,
        }
    }
}

/// The documents of a YAML stream; a duplicate key in a mapping is an error, as GitHub says.
fn load(text: &str) -> Result<Vec<Yaml>, String> {
    let mut documents = Vec::new();
    // Open collections: a sequence's items, or a mapping's entries and its pending key.
    let mut stack: Vec<(Yaml, Option<Yaml>)> = Vec::new();
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|error| format!("not valid YAML: {error}"))?;
        let node = match event {
            Event::SequenceStart(..) => {
                stack.push((Yaml::Sequence(Vec::new()), None));
                continue;
            }
            Event::MappingStart(..) => {
                stack.push((Yaml::Mapping(Vec::new()), None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some((node, None)) => node,
                _ => return Err("not valid YAML: unbalanced collection".to_owned()),
            },
            Event::Scalar(value, ..) => Yaml::Scalar(value.into_owned()),
            Event::Alias(_) => Yaml::Alias,
            _ => continue,
        };
        match stack.last_mut() {
            None => documents.push(node),
            Some((Yaml::Sequence(items), _)) => items.push(node),
            Some((Yaml::Mapping(entries), pending)) => match pending.take() {
                None => {
                    if let Some(name) = node.as_str()
                        && entries.iter().any(|(k, _)| k.as_str() == Some(name))
                    {
                        return Err(format!(
                            "line {}: the key `{name}` appears twice in one mapping",
                            span.start.line()
                        ));
                    }
                    *pending = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
            Some(_) => return Err("not valid YAML: unbalanced collection".to_owned()),
        }
    }
    Ok(documents)
}

/// Parses every `.github/workflows/*.yml` and checks the shape GitHub requires.
pub(crate) fn check_all(root: &Path) -> Result<(), Error> {
    println!("\n==> workflow syntax");
    let dir = root.join(".github/workflows");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
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
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Failed(format!(
            "workflow syntax: no workflow files in {}",
            dir.display()
        )));
    }
    let mut problems = Vec::new();
    for path in &files {
        let shown = path
            .strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => match check(&text) {
                Ok(jobs) => println!("{shown}: {jobs} jobs"),
                Err(problem) => problems.push(format!("{shown}: {problem}")),
            },
            Err(error) => problems.push(format!("{shown}: cannot read it: {error}")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "workflow syntax:\n  - {}",
            problems.join("\n  - ")
        )))
    }
}

/// Checks one workflow file; returns its number of jobs, or what to fix.
pub(crate) fn check(text: &str) -> Result<usize, String> {
    let documents = load(text)?;
    let [workflow] = documents.as_slice() else {
        return Err(format!(
            "expected one YAML document, found {}",
            documents.len()
        ));
    };
    if !matches!(workflow, Yaml::Mapping(_)) {
        return Err("the top level is not a mapping".to_owned());
    }
    if *workflow.get("on") == Yaml::Missing {
        return Err("no `on:` triggers".to_owned());
    }
    let Yaml::Mapping(jobs) = workflow.get("jobs") else {
        return Err("no `jobs:` mapping".to_owned());
    };
    if jobs.is_empty() {
        return Err("`jobs:` is empty".to_owned());
    }
    let names: Vec<&str> = jobs.iter().filter_map(|(name, _)| name.as_str()).collect();
    for (name, job) in jobs {
        let Some(name) = name.as_str() else {
            return Err("a job name is not a string".to_owned());
        };
        if !matches!(job, Yaml::Mapping(_)) {
            return Err(format!("job `{name}` is not a mapping"));
        }
        // A job either runs steps on a runner or calls a reusable workflow.
        if job.get("uses").as_str().is_none() {
            if *job.get("runs-on") == Yaml::Missing {
                return Err(format!("job `{name}` has no `runs-on`"));
            }
            let Yaml::Sequence(steps) = job.get("steps") else {
                return Err(format!("job `{name}` has no `steps` list"));
            };
            for (index, step) in steps.iter().enumerate() {
                let runs = step.get("run").as_str().is_some();
                let uses = step.get("uses").as_str().is_some();
                if runs == uses {
                    return Err(format!(
                        "job `{name}`, step {}: needs exactly one of `run` or `uses`",
                        index + 1
                    ));
                }
            }
        }
        let needs = match job.get("needs") {
            Yaml::Scalar(one) => vec![one.as_str()],
            Yaml::Sequence(many) => many.iter().filter_map(Yaml::as_str).collect(),
            _ => Vec::new(),
        };
        if let Some(unknown) = needs.iter().find(|need| !names.contains(need)) {
            return Err(format!(
                "job `{name}` needs `{unknown}`, which is not a job"
            ));
        }
    }
    Ok(jobs.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "
on:
  push:
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: cargo test
  all-green:
    needs: [build]
    runs-on: ubuntu-24.04
    steps:
      - run: echo ok
";

    #[test]
    fn a_valid_workflow_passes() {
        assert_eq!(check(GOOD), Ok(2));
    }

    #[test]
    fn broken_yaml_fails() {
        let broken = GOOD.replace("  build:\n", "  build:\n   bad: [\n");
        let problem = check(&broken).unwrap_err();
        assert!(problem.starts_with("not valid YAML"), "{problem}");
    }

    #[test]
    fn missing_triggers_or_jobs_fail() {
        assert_eq!(
            check(&GOOD.replace("on:\n  push:\n", "")),
            Err("no `on:` triggers".to_owned())
        );
        assert_eq!(check("on: push\n"), Err("no `jobs:` mapping".to_owned()));
        assert_eq!(
            check("- a\n- b\n"),
            Err("the top level is not a mapping".to_owned())
        );
    }

    #[test]
    fn duplicate_keys_fail() {
        let twice = GOOD.replace("  all-green:\n", "  build:\n");
        let problem = check(&twice).unwrap_err();
        assert!(
            problem.ends_with("the key `build` appears twice in one mapping"),
            "{problem}"
        );
    }

    #[test]
    fn malformed_jobs_fail() {
        assert_eq!(
            check(&GOOD.replace("needs: [build]", "needs: [biuld]")),
            Err("job `all-green` needs `biuld`, which is not a job".to_owned())
        );
        assert_eq!(
            check(&GOOD.replace("      - run: cargo test\n", "      - name: nothing\n")),
            Err("job `build`, step 2: needs exactly one of `run` or `uses`".to_owned())
        );
        assert_eq!(
            check(&GOOD.replacen("    runs-on: ubuntu-24.04\n", "", 1)),
            Err("job `build` has no `runs-on`".to_owned())
        );
    }

    /// The repository's own workflows pass.
    #[test]
    fn the_workflows_parse() {
        check_all(&crate::util::workspace_root()).expect("the workflows are valid");
    }
}
