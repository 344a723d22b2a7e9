//! `smart-conformance launcher BASE [--json]`: every applicable flow × client type against a
//! running smart-launcher-v2 at `BASE` (its origin on loopback), as one table. Exit code 1
//! when a flow failed on the client's side; server findings do not fail the run.
//! `cargo xtask conformance --launcher DIR` starts the launcher and runs this.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use smart_conformance::launcher::{launcher_profiles, not_applicable};
use smart_conformance::{Report, Transcript, run_all};

/// Writes to stdout; a closed pipe is not an error worth a panic.
fn out(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// One line on stderr, best effort.
macro_rules! err {
    ($($arg:tt)*) => {
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    };
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (base, json) = match args.as_slice() {
        [command, base] if command == "launcher" => (base.clone(), false),
        [command, base, flag] if command == "launcher" && flag == "--json" => (base.clone(), true),
        _ => {
            err!("usage: smart-conformance launcher http://127.0.0.1:PORT [--json]");
            return ExitCode::from(2);
        }
    };
    if !(base.starts_with("http://127.0.0.1:") || base.starts_with("http://[::1]:")) {
        err!("smart-conformance: the launcher must run on loopback (http://127.0.0.1:PORT)");
        return ExitCode::from(2);
    }
    let profiles = match launcher_profiles(&base, Duration::from_secs(20)) {
        Ok(profiles) => profiles,
        Err(error) => {
            err!("smart-conformance: cannot make the client profiles: {error}");
            return ExitCode::from(1);
        }
    };
    let mut report = Report::default();
    for (name, profile) in &profiles {
        let run = run_all(profile, &Transcript::quiet());
        let applicable = Report {
            steps: run
                .steps
                .into_iter()
                .filter(|(_, outcome)| !not_applicable(outcome))
                .collect(),
        };
        report.extend_prefixed(&format!("{name}: "), applicable);
    }
    if json {
        out(&format!("{}\n", report.to_json()));
    } else {
        out(&format!("{}\n{}\n", report.table(), report.summary()));
    }
    if report.failed() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
