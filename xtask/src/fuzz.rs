//! `cargo xtask fuzz [--seconds N] [--target NAME]`: builds the cargo-fuzz targets in `fuzz/`,
//! seeds each corpus from `fuzz/seeds/<target>/`, runs each target for N seconds, and fails
//! when one crashes, naming the artifact that reproduces it.
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
/// A single input slower than this is reported as a hang (libFuzzer's `-timeout`).
const INPUT_TIMEOUT_SECONDS: u64 = 10;

struct Options {
    seconds: u64,
    target: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, Error> {
    let mut options = Options {
        seconds: DEFAULT_SECONDS,
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
                let text = value("--seconds")?;
                options.seconds = text
                    .parse()
                    .ok()
                    .filter(|seconds| *seconds > 0)
                    .ok_or_else(|| {
                        Error::Usage(format!(
                            "`fuzz --seconds` takes a positive number of seconds, got `{text}`"
                        ))
                    })?;
            }
            "--target" => options.target = Some(value("--target")?),
            other => {
                return Err(Error::Usage(format!(
                    "`fuzz` takes `--seconds N` and `--target NAME`, got `{other}`"
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
    corpus: usize,
    crash: Option<String>,
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
        outcomes.push(run_target(&fuzz_dir, target, options.seconds)?);
    }

    println!("\nfuzz: {} s per target", options.seconds);
    println!(
        "{:<24} {:>14} {:>8}  result",
        "target", "executions", "corpus"
    );
    for outcome in &outcomes {
        println!(
            "{:<24} {:>14} {:>8}  {}",
            outcome.target,
            outcome
                .executions
                .map_or_else(|| "?".to_owned(), |runs| runs.to_string()),
            outcome.corpus,
            outcome.crash.as_deref().map_or("ok", |_| "CRASH"),
        );
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

fn run_target(fuzz_dir: &Path, target: &str, seconds: u64) -> Result<Outcome, Error> {
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
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
        .arg("-print_final_stats=1")
        .stderr(Stdio::piped());
    println!("\n==> fuzz {target}: {seconds} s ({seeded} seeds from fuzz/seeds/{target})");
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
            if let Some(path) = line.split("Test unit written to ").nth(1) {
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
    let new_artifacts: Vec<PathBuf> = files(&artifacts).difference(&before).cloned().collect();
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
        corpus: files(&corpus).len(),
        crash,
    })
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
