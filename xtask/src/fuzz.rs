//! `cargo xtask fuzz [--seconds N | --runs N | --long] [--target NAME]`: builds the
//! cargo-fuzz targets in `fuzz/`, seeds each corpus from `fuzz/seeds/<target>/`, runs each
//! target for N seconds (or N executions; `--long` is 10 M executions), and fails when one
//! crashes, naming the artifact that reproduces it.
//!
//! cargo-fuzz passes nightly-only flags to rustc (sanitizers, coverage instrumentation);
//! `RUSTC_BOOTSTRAP=1` lets a stable toolchain accept them.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{Error, cargo, has_cargo_subcommand, output, run, workspace_root};

/// How long each target runs when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 30;
/// The executions per target of `--long`.
const LONG_RUNS: u64 = 10_000_000;
/// A single input slower than this is reported as a hang (libFuzzer's `-timeout`).
const INPUT_TIMEOUT_SECONDS: u64 = 10;

/// How long each target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Budget {
    Seconds(u64),
    Runs(u64),
}

impl core::fmt::Display for Budget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Seconds(seconds) => write!(f, "{seconds} s"),
            Self::Runs(runs) => write!(f, "{runs} executions"),
        }
    }
}

struct Options {
    budget: Budget,
    target: Option<String>,
}

fn positive(flag: &str, text: &str) -> Result<u64, Error> {
    text.replace('_', "")
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::Usage(format!(
                "`fuzz {flag}` takes a positive number, got `{text}`"
            ))
        })
}

fn parse(args: &[String]) -> Result<Options, Error> {
    let mut options = Options {
        budget: Budget::Seconds(DEFAULT_SECONDS),
        target: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| Error::Usage(format!("`fuzz {name}` needs a value")))
        };
        match arg.as_str() {
            "--seconds" => {
                options.budget = Budget::Seconds(positive("--seconds", &value("--seconds")?)?);
            }
            "--runs" => options.budget = Budget::Runs(positive("--runs", &value("--runs")?)?),
            "--long" => options.budget = Budget::Runs(LONG_RUNS),
            "--target" => options.target = Some(value("--target")?),
            other => {
                return Err(Error::Usage(format!(
                    "`fuzz` takes `--seconds N`, `--runs N`, `--long` and `--target NAME`, got `{other}`"
                )));
            }
        }
    }
    Ok(options)
}

/// What one target's run came to.
struct Outcome {
    target: String,
    executions: Option<u64>,
    seconds: u64,
    corpus: usize,
    crash: Option<String>,
    /// Inputs libFuzzer wrote as slow (`slow-unit-*`) in a run that did not fail: worth a
    /// look, not a crash (a hang is a `timeout-*` artifact and a failed run).
    slow: Vec<String>,
}

pub(crate) fn run_targets(args: &[String]) -> Result<(), Error> {
    let options = parse(args)?;
    if !has_cargo_subcommand("fuzz") {
        return Err(Error::Failed(
            "cargo-fuzz is not installed: `cargo install cargo-fuzz --locked`".to_owned(),
        ));
    }
    let fuzz_dir = workspace_root().join("fuzz");
    let listed = output(
        "fuzz list",
        fuzz_command(&fuzz_dir)
            .args(["list", "--fuzz-dir"])
            .arg(&fuzz_dir),
    )?;
    let all: Vec<String> = listed
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let targets = match &options.target {
        None => all,
        Some(name) if all.contains(name) => vec![name.clone()],
        Some(name) => {
            return Err(Error::Usage(format!(
                "no fuzz target `{name}`; the targets are: {}",
                all.join(", ")
            )));
        }
    };

    // One build for every target: they share all their dependencies.
    let mut build = fuzz_command(&fuzz_dir);
    build
        .args(["build", "--fuzz-dir"])
        .arg(&fuzz_dir)
        .arg("--target-dir")
        .arg(fuzz_dir.join("target"));
    if let Some(name) = &options.target {
        build.arg(name);
    }
    run("fuzz build", &mut build)?;

    let mut outcomes = Vec::new();
    for target in &targets {
        outcomes.push(run_target(&fuzz_dir, target, options.budget)?);
    }

    println!("\nfuzz: {} per target", options.budget);
    println!(
        "{:<24} {:>14} {:>10} {:>8}  result",
        "target", "executions", "seconds", "corpus"
    );
    for outcome in &outcomes {
        println!(
            "{:<24} {:>14} {:>10} {:>8}  {}",
            outcome.target,
            outcome
                .executions
                .map_or_else(|| "?".to_owned(), |runs| runs.to_string()),
            outcome.seconds,
            outcome.corpus,
            outcome.crash.as_deref().map_or("ok", |_| "CRASH"),
        );
        for slow in &outcome.slow {
            println!(
                "  {}: a slow input (not a crash; time it alone, a paused or loaded machine makes any input slow): {slow}",
                outcome.target
            );
        }
    }
    let crashes: Vec<String> = outcomes
        .iter()
        .filter_map(|outcome| {
            outcome
                .crash
                .as_ref()
                .map(|artifact| format!("{}: {artifact}", outcome.target))
        })
        .collect();
    if crashes.is_empty() {
        println!("\nfuzz: no crashes");
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "fuzz: {} target(s) crashed; reproduce with `RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz <target> <artifact>`:\n  {}",
            crashes.len(),
            crashes.join("\n  ")
        )))
    }
}

/// `cargo fuzz ...` with the nightly flags allowed, in the fuzz project's own target
/// directory whatever `CARGO_TARGET_DIR` says.
fn fuzz_command(fuzz_dir: &Path) -> Command {
    let mut command = cargo();
    command
        .arg("fuzz")
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("CARGO_TARGET_DIR")
        .current_dir(fuzz_dir);
    command
}

fn run_target(fuzz_dir: &Path, target: &str, budget: Budget) -> Result<Outcome, Error> {
    let corpus = fuzz_dir.join("corpus").join(target);
    let artifacts = fuzz_dir.join("artifacts").join(target);
    for dir in [&corpus, &artifacts] {
        fs::create_dir_all(dir).map_err(|error| {
            Error::Failed(format!("fuzz: cannot create {}: {error}", dir.display()))
        })?;
    }
    let seeded = seed(&fuzz_dir.join("seeds").join(target), &corpus)?;
    let before = files(&artifacts);

    let mut command = fuzz_command(fuzz_dir);
    command
        .args(["run", "--fuzz-dir"])
        .arg(fuzz_dir)
        .arg("--target-dir")
        .arg(fuzz_dir.join("target"))
        .arg(target)
        .arg("--")
        .arg(match budget {
            Budget::Seconds(seconds) => format!("-max_total_time={seconds}"),
            Budget::Runs(runs) => format!("-runs={runs}"),
        })
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg("-print_final_stats=1")
        .stderr(Stdio::piped());
    println!("\n==> fuzz {target}: {budget} ({seeded} seeds from fuzz/seeds/{target})");
    let started = std::time::Instant::now();
    let mut child = command.spawn().map_err(|error| {
        Error::Failed(format!(
            "fuzz {target}: could not start cargo fuzz: {error}"
        ))
    })?;

    // libFuzzer reports on stderr: echo the summary lines, keep the numbers.
    let mut executions = None;
    let mut written = None;
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(runs) = line.strip_prefix("stat::number_of_executed_units:") {
                executions = runs.trim().parse().ok();
            }
            if let Some(path) = line.split("Test unit written to ").nth(1)
                && !is_slow_unit(Path::new(path.trim()))
            {
                written = Some(path.trim().to_owned());
            }
            let keep = line.starts_with("stat::")
                || line.contains("DONE")
                || line.contains("INITED")
                || line.contains("ERROR")
                || line.contains("panicked")
                || line.starts_with("SUMMARY")
                || line.contains("Test unit written")
                || line.starts_with("error")
                || line.starts_with("Done ");
            if keep {
                eprintln!("{line}");
            }
        }
    }
    let status = child
        .wait()
        .map_err(|error| Error::Failed(format!("fuzz {target}: {error}")))?;
    let (slow, new_artifacts): (Vec<PathBuf>, Vec<PathBuf>) = files(&artifacts)
        .difference(&before)
        .cloned()
        .partition(|path| status.success() && is_slow_unit(path));
    let crash = if status.success() && new_artifacts.is_empty() {
        None
    } else {
        Some(
            written
                .or_else(|| new_artifacts.first().map(|path| path.display().to_string()))
                .unwrap_or_else(|| format!("no artifact written ({status})")),
        )
    };
    Ok(Outcome {
        target: target.to_owned(),
        executions,
        seconds: started.elapsed().as_secs(),
        corpus: files(&corpus).len(),
        crash,
        slow: slow.iter().map(|path| path.display().to_string()).collect(),
    })
}

/// Whether libFuzzer wrote `path` for an input that was only slow.
fn is_slow_unit(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("slow-unit-"))
}

/// Copies the committed seeds into the corpus directory (which is not committed); returns
/// how many seeds there are.
fn seed(seeds: &Path, corpus: &Path) -> Result<usize, Error> {
    let seed_files = files(seeds);
    for path in &seed_files {
        let Some(name) = path.file_name() else {
            continue;
        };
        let into = corpus.join(name);
        if !into.exists() {
            fs::copy(path, &into).map_err(|error| {
                Error::Failed(format!(
                    "fuzz: cannot copy {} to {}: {error}",
                    path.display(),
                    into.display()
                ))
            })?;
        }
    }
    Ok(seed_files.len())
}

/// The regular files directly in `dir` (none when it does not exist).
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.is_file())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(args: &[&str]) -> Result<Budget, Error> {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        parse(&args).map(|options| options.budget)
    }

    #[test]
    fn budgets_are_seconds_runs_or_the_long_run() {
        assert_eq!(budget(&[]).unwrap(), Budget::Seconds(DEFAULT_SECONDS));
        assert_eq!(budget(&["--seconds", "5"]).unwrap(), Budget::Seconds(5));
        assert_eq!(
            budget(&["--runs", "1_000_000"]).unwrap(),
            Budget::Runs(1_000_000)
        );
        assert_eq!(budget(&["--long"]).unwrap(), Budget::Runs(LONG_RUNS));
        assert!(matches!(budget(&["--runs", "0"]), Err(Error::Usage(_))));
        assert!(matches!(budget(&["--runs"]), Err(Error::Usage(_))));
        assert!(matches!(budget(&["--forever"]), Err(Error::Usage(_))));
    }

    #[test]
    fn only_slow_unit_files_are_slow_units() {
        assert!(is_slow_unit(Path::new(
            "fuzz/artifacts/keys/slow-unit-8adcfb97"
        )));
        for crash in ["crash-1f", "timeout-2a", "oom-3b", "leak-4c"] {
            assert!(!is_slow_unit(&Path::new("fuzz/artifacts/keys").join(crash)));
        }
    }
}
