//! `cargo xtask bench`: runs the benchmarks, writes `docs/benchmarks.md` and the ratio
//! baseline `docs/benchmarks-baseline.json`; `--check` fails when a ratio falls clearly below
//! the recorded one.
//!
//! Every guarded figure is a ratio measured within one run (the reference's time over ours),
//! never an absolute time: the benchmarks run on noisy machines of any speed.
//!
//! - Everything runs [`PASSES`] times (`--passes N`); every figure and ratio is the median
//!   over the passes, and the passes are kept in `<target>/xtask-bench/passes.json` for
//!   `--no-run`.
//! - criterion benchmarks run with short times ([`CRITERION_ARGS`]); their results are read
//!   from `<target>/criterion/**/new/{benchmark,estimates}.json` (the median point estimate),
//!   not from the terminal.
//! - the end-to-end benchmark (`crates/smart-sandbox/benches/e2e.rs`, its own harness)
//!   writes its figures as JSON to `<target>/xtask-bench/e2e.json` (named by the
//!   environment variable `SMART_BENCH_E2E_JSON`).
//!
//! All of them run in one `cargo bench --workspace --bench ...`: the features are unified as
//! in `cargo bench --no-run --workspace`, so nothing is compiled twice.

mod baseline;
mod criterion;
mod machine;
mod measure;
mod report;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::{Instant, SystemTime};

use serde_json::Value;

use crate::util::{Error, cargo, run, target_directory, workspace_root};
use baseline::{Baseline, Comparison, Tolerance, baseline_json, compare, render_comparisons};
use criterion::{CRITERION_ARGS, QUICK_CRITERION_ARGS, criterion_directory, load_criterion};
use machine::Machine;
use measure::{CPU_SUFFIX, Measured, Pass};
use report::{minutes, render_report};

pub(super) const REPORT: &str = "docs/benchmarks.md";
pub(super) const BASELINE: &str = "docs/benchmarks-baseline.json";

/// How many times `cargo xtask bench` runs everything by default.
pub(super) const PASSES: usize = 5;

/// How many times `--quick` runs everything by default: three short passes, so that one pass
/// hit by a burst of load on one side cannot move the median.
pub(super) const QUICK_PASSES: usize = 3;

/// The environment variable that tells the benchmarks with their own harness (`e2e`,
/// `session`) to make short runs, as `--quick` asks.
const QUICK_VARIABLE: &str = "SMART_BENCH_QUICK";

/// The benchmark targets (`--bench` names): criterion's, then the end-to-end ones
/// (`crates/smart-sandbox/benches/e2e`, `crates/smart-session/benches/session.rs`), which
/// ignore criterion's options.
const BENCH_TARGETS: [&str; 7] = [
    "jws",
    "pkce",
    "authorize",
    "discovery",
    "token",
    "e2e",
    "session",
];

/// `cargo xtask bench [--check [--quick]] [--no-run] [--passes N] [--tolerance X]`.
pub(crate) fn run_benches(args: &[String]) -> Result<(), Error> {
    let options = Options::parse(args)?;
    let root = workspace_root();
    let target = target_directory()?;
    let scratch = target.join("xtask-bench");
    let e2e_path = scratch.join("e2e.json");
    let passes_path = scratch.join("passes.json");
    let baseline_path = root.join(BASELINE);
    let baseline = match std::fs::read_to_string(&baseline_path) {
        Ok(text) => Some(Baseline::parse(&text)?),
        Err(_) if !options.check => None,
        Err(error) => {
            return Err(Error::Failed(format!(
                "cannot read {BASELINE} ({error}): run `cargo xtask bench` first to record one"
            )));
        }
    };

    let machine = Machine::detect();
    let mut build_time = None;
    let mut started = Instant::now();
    let passes = if options.no_run {
        latest_passes(&passes_path, &target, &e2e_path)?
    } else {
        run("bench (build)", bench_command().arg("--no-run"))?;
        build_time = Some(started.elapsed().as_secs());
        started = Instant::now();
        run_passes(&options, &target, &e2e_path, &passes_path)?
    };
    let elapsed = started.elapsed();
    let measured = Measured::combine(&passes);
    // The baseline records the tolerance for readers; the code's constant is what applies.
    let tolerance = options.tolerance.map_or(
        if options.quick {
            Tolerance::QUICK
        } else {
            Tolerance::DEFAULT
        },
        Tolerance::uniform,
    );

    if options.check {
        let Some(baseline) = baseline else {
            return Err(Error::Failed(format!("no {BASELINE}")));
        };
        let verdict = check(baseline, &measured, tolerance, passes.len());
        if let Some(build) = build_time {
            println!(
                "bench --check: the passes took {}, building them {}",
                minutes(elapsed.as_secs()),
                minutes(build)
            );
        }
        return verdict;
    }

    if !measured.missing.is_empty() {
        return Err(Error::Failed(format!(
            "bench: no result for {} (did a benchmark fail or get renamed?)",
            measured.missing.join(", ")
        )));
    }
    if let Some(previous) = &baseline {
        println!("\nchanges against the previous baseline (for information):");
        print!(
            "{}",
            render_comparisons(
                &compare(&previous.ratios, &measured.ratios, tolerance),
                tolerance
            )
        );
    }
    let run_time = build_time.map(|build| (elapsed.as_secs(), build));
    let report = render_report(&machine, &measured, passes.len(), tolerance, run_time);
    std::fs::write(root.join(REPORT), report)
        .map_err(|error| Error::Failed(format!("cannot write {REPORT}: {error}")))?;
    let baseline = baseline_json(&machine, &measured.ratios, tolerance);
    std::fs::write(&baseline_path, baseline)
        .map_err(|error| Error::Failed(format!("cannot write {BASELINE}: {error}")))?;
    println!("\nbench: wrote {REPORT} and {BASELINE}");
    if let Some((seconds, build)) = run_time {
        println!(
            "bench: the passes took {}, building them {}",
            minutes(seconds),
            minutes(build)
        );
    }
    Ok(())
}

/// Runs every benchmark `options.passes()` times; keeps the passes in `passes_path`.
fn run_passes(
    options: &Options,
    target: &Path,
    e2e_path: &Path,
    passes_path: &Path,
) -> Result<Vec<Pass>, Error> {
    let passes_wanted = options.passes();
    let mut passes = Vec::new();
    for pass in 1..=passes_wanted {
        println!("\n==> bench: pass {pass} of {passes_wanted}");
        let since = SystemTime::now();
        run_all(e2e_path, options.quick)?;
        passes.push(Pass {
            estimates: load_criterion(&criterion_directory(target), Some(since))?,
            e2e: with_session(
                read_e2e(e2e_path, Some(since))?,
                read_e2e(&session_path(e2e_path), Some(since))?,
            ),
        });
    }
    let json = serde_json::to_string(&passes.iter().map(Pass::to_json).collect::<Vec<_>>())
        .unwrap_or_default();
    std::fs::write(passes_path, json).map_err(|error| {
        Error::Failed(format!("cannot write {}: {error}", passes_path.display()))
    })?;
    Ok(passes)
}

/// `--check`: every recorded ratio against the run's; fails on a regressed or missing one.
fn check(
    baseline: Baseline,
    measured: &Measured,
    tolerance: Tolerance,
    passes: usize,
) -> Result<(), Error> {
    let mut recorded = baseline.ratios;
    if measured.cpu_unmeasured {
        println!(
            "bench --check: no per-thread CPU time on this OS; the end-to-end CPU ratios are skipped"
        );
        recorded.retain(|key, _| !key.ends_with(CPU_SUFFIX));
    }
    let comparisons = compare(&recorded, &measured.ratios, tolerance);
    print!("{}", render_comparisons(&comparisons, tolerance));
    let failures: Vec<&Comparison> = comparisons.iter().filter(|c| c.fails()).collect();
    if failures.is_empty() {
        println!(
            "bench --check: {} ratios within tolerance ({tolerance}x the recorded ones), \
             medians of {} pass(es)",
            comparisons.len(),
            passes
        );
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "bench --check: {} of {} ratios regressed or are missing:\n  - {}",
            failures.len(),
            comparisons.len(),
            failures
                .iter()
                .map(|c| c.describe(tolerance))
                .collect::<Vec<_>>()
                .join("\n  - ")
        )))
    }
}

/// The passes of the latest run: `passes.json`, else what criterion and the end-to-end
/// benchmark last wrote, as one pass.
fn latest_passes(passes_path: &Path, target: &Path, e2e_path: &Path) -> Result<Vec<Pass>, Error> {
    if let Ok(text) = std::fs::read_to_string(passes_path) {
        let value: Value = serde_json::from_str(&text).map_err(|error| {
            Error::Failed(format!("{}: invalid JSON: {error}", passes_path.display()))
        })?;
        let passes: Vec<Pass> = value
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(Pass::from_json)
            .collect();
        if !passes.is_empty() {
            return Ok(passes);
        }
    }
    Ok(vec![Pass {
        estimates: load_criterion(&criterion_directory(target), None)?,
        e2e: with_session(
            read_e2e(e2e_path, None)?,
            read_e2e(&session_path(e2e_path), None)?,
        ),
    }])
}

#[derive(Debug, Default, PartialEq)]
struct Options {
    check: bool,
    no_run: bool,
    /// Short passes and [`Tolerance::QUICK`] (with `--check` only: a quick run never records).
    quick: bool,
    /// How many times to run everything (`--passes N`); each figure is the median over the
    /// passes. Without it, [`PASSES`] or, for `--quick`, [`QUICK_PASSES`].
    passes: Option<usize>,
    tolerance: Option<f64>,
}

impl Options {
    /// How many passes to run.
    fn passes(&self) -> usize {
        self.passes
            .unwrap_or(if self.quick { QUICK_PASSES } else { PASSES })
    }

    fn parse(args: &[String]) -> Result<Self, Error> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--check" => options.check = true,
                "--no-run" => options.no_run = true,
                "--quick" => options.quick = true,
                "--passes" => {
                    options.passes = Some(
                        args.next()
                            .and_then(|value| value.parse::<usize>().ok())
                            .filter(|value| (1..=20).contains(value))
                            .ok_or_else(|| {
                                Error::Usage("`--passes` takes a number from 1 to 20".to_owned())
                            })?,
                    );
                }
                "--tolerance" => {
                    let value = args
                        .next()
                        .and_then(|value| value.parse::<f64>().ok())
                        .filter(|value| *value > 0.0 && *value <= 1.0)
                        .ok_or_else(|| {
                            Error::Usage("`--tolerance` takes a number in (0, 1]".to_owned())
                        })?;
                    options.tolerance = Some(value);
                }
                other => {
                    return Err(Error::Usage(format!(
                        "`bench` takes --check, --quick, --no-run, --passes N and --tolerance X, \
                         got `{other}`"
                    )));
                }
            }
        }
        if options.quick && !options.check {
            return Err(Error::Usage(
                "`--quick` only goes with `--check` (a quick run is too short to record a \
                 baseline): run `cargo xtask bench --check --quick`"
                    .to_owned(),
            ));
        }
        Ok(options)
    }
}

/// `cargo bench --workspace --bench ...` for every benchmark target.
fn bench_command() -> std::process::Command {
    let mut command = cargo();
    command.args(["bench", "--workspace"]);
    for target in BENCH_TARGETS {
        command.args(["--bench", target]);
    }
    command
}

/// Runs every benchmark in one `cargo bench`; `quick` makes the runs short.
fn run_all(e2e_path: &Path, quick: bool) -> Result<(), Error> {
    if let Some(parent) = e2e_path.parent() {
        std::fs::create_dir_all(parent).map_err(|error| {
            Error::Failed(format!("cannot create {}: {error}", parent.display()))
        })?;
    }
    let mut command = bench_command();
    command
        .env("SMART_BENCH_E2E_JSON", e2e_path)
        .env("SMART_BENCH_SESSION_JSON", session_path(e2e_path));
    if quick {
        command
            .env(QUICK_VARIABLE, "1")
            .arg("--")
            .args(QUICK_CRITERION_ARGS);
    } else {
        command
            .env_remove(QUICK_VARIABLE)
            .arg("--")
            .args(CRITERION_ARGS);
    }
    run("bench", &mut command)
}

/// Where the session benchmark writes, beside the end-to-end one.
fn session_path(e2e_path: &Path) -> std::path::PathBuf {
    e2e_path.with_file_name("session.json")
}

/// The end-to-end figures with the session benchmark's: its cases (client CPU against a
/// reference, like the end-to-end ones) join the end-to-end cases, its other figures go under
/// `session`. Without the session figures, the end-to-end ones alone.
fn with_session(e2e: Option<Value>, session: Option<Value>) -> Option<Value> {
    let mut e2e = e2e?;
    if let Some(mut session) = session {
        if let (Some(cases), Some(more)) =
            (e2e["cases"].as_array_mut(), session["cases"].as_array_mut())
        {
            cases.append(more);
        }
        e2e["session"] = serde_json::json!({
            "readers": session["readers"].take(),
            "expiry": session["expiry"].take(),
        });
    }
    Some(e2e)
}

/// The end-to-end figures, if there are (fresh) ones.
fn read_e2e(path: &Path, since: Option<SystemTime>) -> Result<Option<Value>, Error> {
    let fresh = since.is_none_or(|since| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| modified >= since)
    });
    if !fresh {
        return Ok(None);
    }
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|error| Error::Failed(format!("{}: invalid JSON: {error}", path.display()))),
        Err(_) => Ok(None),
    }
}
