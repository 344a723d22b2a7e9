//! `cargo xtask`: the project's automation. See `xtask/README.md`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool reports on stdout and stderr"
)]

mod bench;
mod ci;
mod conformance;
mod cycles;
mod fuzz;
mod launcher;
mod packages;
mod quickstart;
mod release;
mod tidy;
mod util;
mod weight;
mod workflow;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  ci      run every check of .github/workflows/ci.yml on this toolchain and OS (fmt, clippy,
          tests, feature-gated tests and doctests, examples, conformance, every feature
          combination, docs, tidy, workflow syntax, deny, fuzz, bench --check --quick)
  tidy    check the workspace rules (dependency direction, lints, READMEs, internal versions)
  conformance [--server URL --clients FILE [--auto-approve] | --launcher DIR]
          run every SMART flow against the embedded sandbox (or a server) as a pass/fail table
  bench [--check [--quick]] [--no-run] [--passes N] [--tolerance X]
          run the benchmarks N times (default 5), write docs/benchmarks.md and
          docs/benchmarks-baseline.json from the medians; --check instead fails when a ratio
          falls below the recorded one x 0.7 (JWS ratios) or x 0.5 (the others; --tolerance X
          sets one factor for all); --quick (with --check) makes 3 short passes and
          compares with x 0.4; --no-run reads the latest run instead of running them
  release [--dry-run]
          check a release (clean tree, one version, changelog) and rehearse cargo publish
  fuzz [--seconds N | --runs N | --long] [--target NAME]
          run each cargo-fuzz target in fuzz/ for N s (default 30), N executions, or
          10 M executions (--long), seeded from fuzz/seeds;
          fails on a crash and names the artifact (needs `cargo install cargo-fuzz --locked`)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::all(&args[1..]),
        Some("tidy") => tidy::run(),
        Some("conformance") => conformance::run_flows(&args[1..]),
        Some("bench") => bench::run_benches(&args[1..]),
        Some("release") => release::release(&args[1..]),
        Some("fuzz") => fuzz::run_targets(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(util::Error::Usage(format!("unknown task `{other}`"))),
        None => Err(util::Error::Usage("no task given".to_owned())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(util::Error::Usage(message)) => {
            eprintln!("xtask: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}
