//! The timing harness: arguments, the calling thread's CPU time, timed runs and their medians.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{Value, json};
use smart_sandbox::Sandbox;

/// Where the client's CPU time comes from.
pub(crate) const CPU_SOURCE: &str = "/proc/thread-self/schedstat";

/// Where to write the figures when `--out` is not given.
const OUT_VARIABLE: &str = "SMART_BENCH_E2E_JSON";

/// Set by `cargo xtask bench --check --quick`: short runs (at most 3 rounds of 20 requests).
const QUICK_VARIABLE: &str = "SMART_BENCH_QUICK";

pub(crate) struct Args {
    pub(crate) requests: usize,
    pub(crate) rounds: usize,
    pub(crate) out: Option<PathBuf>,
    /// `--only TEXT`: run only the cases whose name contains TEXT (for profiling one).
    pub(crate) only: Option<String>,
}

pub(crate) fn args() -> Args {
    let mut parsed = Args {
        requests: 100,
        rounds: 5,
        out: std::env::var_os(OUT_VARIABLE).map(PathBuf::from),
        only: None,
    };
    let mut bench = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> usize {
            match args.next().and_then(|value| value.parse().ok()) {
                Some(value) if value > 0 => value,
                _ => {
                    eprintln!("e2e: {name} takes a positive number");
                    std::process::exit(2);
                }
            }
        };
        match arg.as_str() {
            "--bench" => bench = true,
            "--requests" => parsed.requests = number("--requests"),
            "--rounds" => parsed.rounds = number("--rounds"),
            "--out" => parsed.out = args.next().map(PathBuf::from),
            "--only" => parsed.only = args.next(),
            // cargo's and criterion's flags (filters, `--save-baseline`, ...) do not apply.
            _ => {}
        }
    }
    if !bench {
        parsed.requests = 3;
        parsed.rounds = 1;
    } else if std::env::var_os(QUICK_VARIABLE).is_some() {
        // `cargo xtask bench --check --quick`: the same cases, a fifth of the requests.
        parsed.requests = parsed.requests.min(20);
        parsed.rounds = parsed.rounds.min(3);
    }
    parsed
}

/// Nanoseconds the calling thread has spent on a CPU, or `None` where that is not available.
///
/// The kernel brings the counter up to date when the thread leaves the CPU, so the thread
/// yields first: the figure then includes everything up to this call.
#[cfg(target_os = "linux")]
pub(crate) fn thread_cpu_ns() -> Option<u64> {
    std::thread::yield_now();
    let text = std::fs::read_to_string(CPU_SOURCE).ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    // With scheduler statistics off, the kernel prints zeros.
    (ns > 0).then_some(ns)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn thread_cpu_ns() -> Option<u64> {
    None
}

/// One side of a case: `prepare(n)` runs untimed before each timed run of `n` calls (to make
/// authorization codes, say), then `call` runs `n` times.
pub(crate) struct Side<'a> {
    prepare: Box<dyn FnMut(usize) + 'a>,
    call: Box<dyn FnMut() + 'a>,
}

impl<'a> Side<'a> {
    /// A side with nothing to prepare.
    pub(crate) fn new(call: impl FnMut() + 'a) -> Self {
        Self {
            prepare: Box::new(|_| {}),
            call: Box::new(call),
        }
    }

    /// A side that prepares each timed run.
    pub(crate) fn prepared(prepare: impl FnMut(usize) + 'a, call: impl FnMut() + 'a) -> Self {
        Self {
            prepare: Box::new(prepare),
            call: Box::new(call),
        }
    }
}

/// One comparison: our side and a reference, timed alternately on the same server.
pub(crate) struct Case<'a> {
    pub(crate) name: &'static str,
    /// What the reference is, for the report.
    pub(crate) reference_name: &'static str,
    /// Calls per timed run, as a multiple of `--requests` (more for calls without I/O).
    pub(crate) scale: usize,
    pub(crate) ours: Side<'a>,
    pub(crate) reference: Side<'a>,
}

/// One timed run of N calls, per call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    wall_ns: f64,
    cpu_ns: Option<f64>,
    connections: u64,
}

#[allow(
    clippy::cast_precision_loss,
    reason = "nanosecond counts far below 2^52 become f64 for averages"
)]
pub(crate) fn measure(sandbox: &Sandbox, requests: usize, side: &mut Side<'_>) -> Sample {
    (side.prepare)(requests);
    let connections = sandbox.connections();
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    for _ in 0..requests {
        (side.call)();
    }
    let wall = start.elapsed();
    let cpu_end = thread_cpu_ns();
    let n = requests as f64;
    Sample {
        wall_ns: wall.as_nanos() as f64 / n,
        cpu_ns: cpu_start
            .zip(cpu_end)
            .map(|(start, end)| end.saturating_sub(start) as f64 / n),
        connections: sandbox.connections() - connections,
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() {
        0 => None,
        len if len % 2 == 1 => Some(values[mid]),
        _ => Some(f64::midpoint(values[mid - 1], values[mid])),
    }
}

/// The median wall and CPU time per request of one side, and the most connections one timed
/// run opened.
pub(crate) fn summary(samples: &[Sample]) -> Value {
    let wall = median(samples.iter().map(|s| s.wall_ns).collect());
    let cpu: Option<Vec<f64>> = samples.iter().map(|s| s.cpu_ns).collect();
    json!({
        "wall_ns": wall,
        "cpu_ns": cpu.and_then(median),
        "max_connections_per_run": samples.iter().map(|s| s.connections).max(),
    })
}

/// Warms every case up, then times `rounds` rounds of each (the side going first alternates
/// between rounds); the figures of each case as JSON.
pub(crate) fn run_cases(sandbox: &Sandbox, args: &Args, cases: &mut [Case<'_>]) -> Vec<Value> {
    // Warm-up: connections open, lazy tables built, caches filled.
    for case in cases.iter_mut() {
        let warm_up = (args.requests * case.scale / 4).max(1);
        measure(sandbox, warm_up, &mut case.ours);
        measure(sandbox, warm_up, &mut case.reference);
    }
    let mut samples: Vec<(Vec<Sample>, Vec<Sample>)> = vec![(Vec::new(), Vec::new()); cases.len()];
    for round in 0..args.rounds {
        for (case, (ours, reference)) in cases.iter_mut().zip(&mut samples) {
            let n = args.requests * case.scale;
            if round % 2 == 0 {
                ours.push(measure(sandbox, n, &mut case.ours));
                reference.push(measure(sandbox, n, &mut case.reference));
            } else {
                reference.push(measure(sandbox, n, &mut case.reference));
                ours.push(measure(sandbox, n, &mut case.ours));
            }
        }
    }
    cases
        .iter()
        .zip(&samples)
        .map(|(case, (ours, reference))| {
            json!({
                "name": case.name,
                "reference_name": case.reference_name,
                "calls_per_run": args.requests * case.scale,
                "ours": summary(ours),
                "reference": summary(reference),
            })
        })
        .collect()
}
