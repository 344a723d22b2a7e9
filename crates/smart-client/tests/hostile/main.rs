//! Hostile servers: every flow that reads a server's answer (discovery, code exchange,
//! refresh, Backend Services, introspection) meets every kind of bad answer from a raw
//! loopback server, and must give a typed error or the right value within the configured
//! timeout, with the body cap holding and memory bounded. No panic, no hang.
//!
//! The table is in `cases.rs`: one line per case, run against every flow. Run with
//! `--nocapture` to see what each flow made of each case.
// The HTTPS redirect cases need a TLS provider (rustls) for the client to start a handshake.
#![cfg(all(feature = "rustls", feature = "private-key-jwt"))]
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    reason = "test helpers outside #[test] functions: a failing unwrap is a failing test, and \
              the per-case report goes to the captured test output"
)]

mod cases;
mod expect;
mod flows;
mod memory;
#[allow(
    dead_code,
    reason = "shared with the leak test, which also reads the request bodies"
)]
mod server;

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::expect::{Expect, check, describe};
use crate::flows::{CAP, FLOWS, Flow, TIMEOUT, WELL_KNOWN, discovery_document};
use crate::server::{Answer, Server};
use test_support::{SHELLS, Shell};

/// Slack on top of the timeout for a flow to report back (two cores, debug build, every flow
/// of a case at once). A flow that takes longer has hung.
const MARGIN: Duration = Duration::from_secs(4);
/// How late after the timeout a timed-out call may end: the timeout is kept, give or take
/// scheduling on a busy two-core machine.
pub(crate) const TIMEOUT_SLACK: Duration = Duration::from_millis(1500);
/// What a streamed answer may have pushed into the kernel beyond the cap before the client
/// hung up: loopback socket buffers (`tcp_rmem` max is 32 MiB on the CI machine) and slack.
const SOCKET_SLACK: u64 = 64 * 1024 * 1024;
/// Memory growth (peak and resident) allowed over a whole case, all five flows at once and
/// concurrently running tests included: far below the 1 GiB a body can announce.
const MEMORY_BOUND: u64 = 256 * 1024 * 1024;

/// What a case's answer may refer to: the path it is served on (a redirect loop points back
/// at it), and the port of a second server, reached under another host name (`localhost`,
/// where the first is `127.0.0.1`).
pub(crate) struct Ctx {
    /// The path this answer is served on.
    pub(crate) path: &'static str,
    /// The second server's port.
    pub(crate) other_port: u16,
}

/// Runs one case against every flow through both shells at once, then checks each outcome:
/// the same answer must give the same typed result in either shell.
pub(crate) fn run_case(name: &str, answer: fn(&Ctx) -> Answer, expect: &Expect) {
    let memory_before = memory::Usage::now();
    let failures: Vec<String> = thread::scope(|scope| {
        let handles: Vec<_> = FLOWS
            .iter()
            .flat_map(|&flow| SHELLS.map(|shell| (flow, shell)))
            .map(|(flow, shell)| scope.spawn(move || run_flow(name, flow, shell, answer, expect)))
            .collect();
        handles
            .into_iter()
            .filter_map(|handle| handle.join().unwrap().err())
            .collect()
    });
    if let (Some(before), Some(after)) = (memory_before, memory::Usage::now()) {
        let (peak, resident) = after.growth_since(&before);
        eprintln!("{name}: memory growth: peak {peak} bytes, resident {resident} bytes");
        assert!(
            peak < MEMORY_BOUND && resident < MEMORY_BOUND,
            "{name}: memory grew by {peak} (peak) / {resident} (resident) bytes"
        );
    }
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
}

/// Runs `flow` against a fresh pair of servers and checks the outcome against `expect`.
fn run_flow(
    name: &str,
    flow: Flow,
    shell: Shell,
    answer: fn(&Ctx) -> Answer,
    expect: &Expect,
) -> Result<(), String> {
    let other = Server::start(|path, own| {
        if path == WELL_KNOWN {
            Answer::json(
                200,
                discovery_document(&format!("http://localhost:{}", own.port())),
            )
        } else {
            Answer::json(404, "{}")
        }
    });
    let other_port = other.address().port();
    let hostile = Server::start(move |path, own| {
        if path == flow.path() {
            answer(&Ctx {
                path: flow.path(),
                other_port,
            })
        } else if path == WELL_KNOWN {
            Answer::json(200, discovery_document(&format!("http://{own}")))
        } else {
            Answer::json(404, "{}")
        }
    });

    // The flow runs on its own thread so that a hang is caught here, not by the test runner.
    let root = hostile.root();
    let (sender, receiver) = mpsc::channel();
    let started = Instant::now();
    thread::spawn(move || {
        let _ = sender.send(flow.run(&root, shell));
    });
    let (result, call) = match receiver.recv_timeout(TIMEOUT + MARGIN) {
        Ok(outcome) => outcome,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            return Err(format!(
                "{name} / {flow:?} / {shell:?}: no answer within {:?}: the flow hung",
                TIMEOUT + MARGIN
            ));
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            return Err(format!("{name} / {flow:?} / {shell:?}: the flow panicked"));
        }
    };
    let elapsed = started.elapsed();
    eprintln!(
        "{name:<28} {:<26} {} (call {} ms, flow {} ms)",
        format!("{flow:?} / {shell:?}"),
        describe(&result),
        call.as_millis(),
        elapsed.as_millis()
    );
    let outcome = check(flow, expect, &result, call, &hostile, &other).map_err(|problem| {
        format!(
            "{name} / {flow:?} / {shell:?}: {problem}; got {}",
            describe(&result)
        )
    });

    // A streamed body stops being sent once the client hangs up: at most the cap plus what
    // the socket buffers took was ever written.
    if hostile.streams_served() > 0 {
        if !hostile.wait_idle(Duration::from_secs(10)) {
            return Err(format!(
                "{name} / {flow:?} / {shell:?}: the server was still streaming 10 s after the client gave up"
            ));
        }
        let written = hostile.body_bytes_written();
        eprintln!(
            "{name:<28} {flow:?} / {shell:?}: the server wrote {written} body bytes before the client hung up"
        );
        if written > CAP + SOCKET_SLACK {
            return Err(format!(
                "{name} / {flow:?} / {shell:?}: {written} body bytes were accepted from the server; the cap is {CAP}"
            ));
        }
    }
    outcome
}
