//! `docs/benchmarks.md`: the machine, the figures, the ratios and the notes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::PASSES;
use super::baseline::Tolerance;
use super::criterion::{CRITERION_ARGS, ENTRIES};
use super::machine::Machine;
use super::measure::{CPU_SUFFIX, Measured, READERS_KEY, WALL_SUFFIX};

/// `1.12 ms`, `46.0 µs`, `450 ns`.
pub(super) fn human_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Operations per second of an operation taking `ns`.
pub(super) fn rate(ns: f64) -> String {
    let per_second = 1e9 / ns;
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else if per_second >= 1e4 {
        format!("{:.1} k/s", per_second / 1e3)
    } else {
        format!("{per_second:.0} /s")
    }
}

pub(super) fn minutes(seconds: u64) -> String {
    format!("{} min {:02} s", seconds / 60, seconds % 60)
}

pub(super) fn render_report(
    machine: &Machine,
    measured: &Measured,
    passes: usize,
    tolerance: Tolerance,
    run_time: Option<(u64, u64)>,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `cargo xtask bench` (`xtask/src/bench/`); do not edit by hand. The run \
         on the machine below made {passes} pass(es) over every benchmark; each figure is the \
         median over the passes, and each ratio compares two figures of one pass (then the \
         median is taken). Absolute times say little on another machine; the ratios travel \
         better.\n"
    );
    let _ = writeln!(md, "## Machine\n");
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| CPU | {} |", machine.cpu);
    let _ = writeln!(md, "| cores | {} |", machine.cores);
    let _ = writeln!(md, "| OS | {} |", machine.kernel);
    let _ = writeln!(md, "| rustc | {} |", machine.rustc);
    let _ = writeln!(md, "| date | {} (UTC) |", machine.date);
    if let Some(load) = &machine.load {
        let _ = writeln!(
            md,
            "| load average when the run started (1 / 5 / 15 min) | {load} |"
        );
    }
    let _ = writeln!(
        md,
        "| profile | `cargo bench` (`[profile.bench]`: release, no debug info), criterion 0.8 with `{}` |",
        CRITERION_ARGS.join(" ")
    );
    if let Some((seconds, build)) = run_time {
        let _ = writeln!(
            md,
            "| run time | {} for the {passes} passes of `cargo xtask bench`, after {} building \
             the benchmarks (about 1 min after a source change, 3-4 min from a cold target \
             directory) |",
            minutes(seconds),
            minutes(build)
        );
    }
    let _ = writeln!(md, "\n## How to read\n");
    let _ = writeln!(
        md,
        "- **time** is criterion's median time per operation (the median over the passes); \
         **rate** is its inverse.\n\
         - **ratio** is the reference's time divided by ours: our speed as a multiple of the \
         reference's. Higher is better: 0.30x means the reference does 3.3 times as many per \
         second, 2.0x that we do twice as many.\n\
         - Both sides of a ratio run in the same process, one after the other, on the same \
         input. The machine is a shared 2-core VM where other builds and fuzzers run too: \
         single figures move by 25 % or more between passes when the load changes, the \
         ratios less, and their median over the passes less still.\n"
    );

    let _ = writeln!(md, "## Side by side with a reference\n");
    let _ = writeln!(
        md,
        "| operation | ours | rate | reference | reference time | ratio |\n|---|---:|---:|---|---:|---:|"
    );
    for entry in &ENTRIES {
        let (Some((reference_id, reference_name)), Some(ours)) =
            (entry.reference, measured.time(entry.ours))
        else {
            continue;
        };
        let reference = measured.time(reference_id);
        let ratio = measured
            .ratios
            .get(entry.key)
            .map_or_else(|| "-".to_owned(), |r| format!("**{r:.2}x**"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {reference_name} | {} | {ratio} |",
            entry.label,
            human_time(ours),
            rate(ours),
            reference.map_or_else(|| "-".to_owned(), human_time),
        );
    }

    let _ = writeln!(md, "\n## Without a reference\n");
    let _ = writeln!(md, "| operation | time | rate |\n|---|---:|---:|");
    for entry in ENTRIES.iter().filter(|e| e.reference.is_none()) {
        if let Some(ours) = measured.time(entry.ours) {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                entry.label,
                human_time(ours),
                rate(ours)
            );
        }
    }

    render_e2e(&mut md, measured);
    let _ = write!(md, "{}", static_notes(tolerance));
    md
}

pub(super) fn render_e2e(md: &mut String, measured: &Measured) {
    let _ = writeln!(md, "\n## End to end on loopback\n");
    let Some(e2e) = measured.e2e.as_ref() else {
        let _ = writeln!(md, "Not measured in this run.");
        return;
    };
    let cpu_source = e2e["client_cpu"].as_str();
    let _ = writeln!(
        md,
        "`crates/smart-sandbox/benches/e2e` and `crates/smart-session/benches/session.rs` \
         against the embedded sandbox over real HTTP on 127.0.0.1: {} rounds of {} requests \
         per side (20 times as many calls for the authorization URL, which makes no request), \
         the median per call (then the median over the passes). The ratios, like every ratio \
         on this page and in the baseline, compare the two sides within each pass, then take \
         the median over the passes. **Client CPU** is the calling thread's CPU time ({}); \
         the sandbox answers on its own threads, so its work is in the wall time only (but \
         on loopback the kernel's TCP work for both ends is charged partly to the sender). \
         The async shell runs on a current-thread Tokio runtime, so its work is the calling \
         thread's too. The references: a naive client (a plain ureq agent posting the same \
         form and reading the answer into a `serde_json::Value`, its assertions signed with \
         ring); the blocking shell (for the async one); our ES384 signature alone (for the \
         whole ES384 token); oauth2 5 with its ureq feature (ureq 2, the same 10 s timeout); \
         a raw reqwest GET with a fixed token (for the session's FHIR read). The public \
         client's refreshes ask no `openid`, since the naive client verifies nothing: with \
         it, each refreshed `id_token` is verified too (an RS256 signature and its claims): \
         in a quick run here 190 µs of client CPU per refresh instead of 50 µs, and 2.1 ms \
         of wall time instead of 0.14 ms, most of it the sandbox signing the `id_token`. \
         Only the CPU \
         ratio is guarded: the wall time is mostly the server's work and, on a shared \
         machine, the scheduler's delays.\n",
        e2e["rounds"],
        e2e["requests"],
        cpu_source.map_or_else(
            || "not measured on this OS: it needs Linux's `/proc/thread-self/schedstat`".to_owned(),
            |source| format!("from `{source}`, first field")
        ),
    );
    let _ = writeln!(
        md,
        "| request | wall | client CPU | CPU / wall | reference | reference wall | reference CPU | wall ratio | CPU ratio | connections per run |\n\
         |---|---:|---:|---:|---|---:|---:|---:|---:|---:|"
    );
    let time = |value: &Value| value.as_f64().map_or_else(|| "-".to_owned(), human_time);
    let ratio = |ratios: &BTreeMap<String, f64>, key: String| {
        ratios
            .get(&key)
            .map_or_else(|| "-".to_owned(), |r| format!("**{r:.2}x**"))
    };
    for case in e2e["cases"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let (ours, reference) = (&case["ours"], &case["reference"]);
        let name = case["name"].as_str().unwrap_or("?");
        let share = match (ours["cpu_ns"].as_f64(), ours["wall_ns"].as_f64()) {
            (Some(cpu), Some(wall)) if wall > 0.0 => format!("{:.0} %", cpu / wall * 100.0),
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {share} | {} | {} | {} | {} | {} | {} |",
            name,
            time(&ours["wall_ns"]),
            time(&ours["cpu_ns"]),
            case["reference_name"].as_str().unwrap_or("naive ureq"),
            time(&reference["wall_ns"]),
            time(&reference["cpu_ns"]),
            ratio(&measured.wall_ratios, format!("e2e/{name}{WALL_SUFFIX}")),
            ratio(&measured.ratios, format!("e2e/{name}{CPU_SUFFIX}")),
            ours["max_connections_per_run"],
        );
    }
    render_session(md, &e2e["session"], measured);
}

fn render_session(md: &mut String, session: &Value, measured: &Measured) {
    let _ = writeln!(md, "\n## Sessions\n");
    if !session.is_object() {
        let _ = writeln!(md, "Not measured in this run.");
        return;
    }
    let readers = &session["readers"];
    let time = |value: &Value| value.as_f64().map_or_else(|| "-".to_owned(), human_time);
    let _ = writeln!(
        md,
        "`crates/smart-session/benches/session.rs`. **Concurrent reads of the cached access \
         token**: {} threads at once, {} reads each, every read timed alone \
         (`Instant::now` around it, so some 20-40 ns of each figure is the clock); the \
         percentiles over all reads, the median over the passes. The reference is a plain \
         `RwLock<String>` read and clone by the same threads. The ratio is reported, not \
         guarded: 64 threads on a shared 2-core machine time the scheduler too.\n",
        readers["threads"], readers["reads_per_thread"]
    );
    let _ = writeln!(
        md,
        "| read | p50 | p99 | `RwLock<String>` p50 | `RwLock<String>` p99 | p50 ratio |\n\
         |---|---:|---:|---:|---:|---:|"
    );
    let _ = writeln!(
        md,
        "| `Session::access_token` (cached) | {} | {} | {} | {} | {} |",
        time(&readers["ours"]["p50_ns"]),
        time(&readers["ours"]["p99_ns"]),
        time(&readers["reference"]["p50_ns"]),
        time(&readers["reference"]["p99_ns"]),
        measured
            .wall_ratios
            .get(READERS_KEY)
            .map_or_else(|| "-".to_owned(), |r| format!("**{r:.2}x**")),
    );
    let _ = writeln!(
        md,
        "\n**Token requests per expiry**: a clock shared by the sandbox, the client and the \
         session moves past the access token's expiry (300 s tokens), then every caller asks \
         `Session::access_token` at once; the sandbox counts the refresh requests \
         (`Sandbox::token_requests`). The benchmark fails unless the count is one per expiry.\n"
    );
    let _ = writeln!(
        md,
        "| callers | expiries | refresh requests | per expiry |\n|---:|---:|---:|---:|"
    );
    for row in session["expiry"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let per_expiry = match (row["token_requests"].as_f64(), row["expiries"].as_f64()) {
            (Some(requests), Some(expiries)) if expiries > 0.0 => {
                format!("**{:.2}**", requests / expiries)
            }
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {per_expiry} |",
            row["callers"], row["expiries"], row["token_requests"]
        );
    }
    let _ = writeln!(
        md,
        "\nThe async FHIR read through `AsyncSession::read` beside a raw reqwest GET is in the \
         end-to-end table above."
    );
}

pub(super) fn static_notes(tolerance: Tolerance) -> String {
    let passes = PASSES;
    let (wide, jws) = (tolerance.wide, tolerance.jws);
    let (quick, quick_passes) = (super::baseline::QUICK_TOLERANCE, super::QUICK_PASSES);
    format!(
        "
**Connections per run** is the most TCP connections one client opened during one timed run
of N requests, counted by the sandbox (`Sandbox::connections`): 0 means every request went over
the connection opened before (discovery, token, refresh and FHIR reads share one; the test
`one_client_uses_one_connection` in `crates/smart-sandbox/tests/e2e` asserts it, and the
benchmark fails if a run opens more than one).

## What each benchmark measures

| benchmark | code | ours | reference |
|---|---|---|---|
| JWS sign / verify | `crates/smart-jwt-assertion/benches/jws.rs` | `sign_compact` (header and claims serialised, base64url, signed, base64url) and `verify_compact` | ring 0.17 signing the same signing input after the same serialisation, and verifying after the same split and decode |
| whole client assertion | same | `AssertionSigner::sign`: clock, 32 random bytes of `jti`, claims, then the above | ring, after the same clock read, `jti` and claims |
| PKCE | `crates/smart-pkce/benches/pkce.rs` | `PkceVerifier::generate` + `challenge`, `State::generate` | one `getrandom` of 96 bytes and one SHA-256 of 128 bytes: the least the pair costs |
| authorization URL | `crates/smart-client/benches/authorize.rs` | `SmartClient::authorize` with configured endpoints and a closure transport that is never called | the same URL built by hand: OS randomness, SHA-256, base64url, the nine parameters appended to a pre-parsed `Url` |
| discovery | `crates/smart-discovery/benches/discovery.rs` | `smart_discovery::parse` of the spec's example (`tests/fixtures/smart-configuration.json`) and of the same document with 200 capabilities (20 defined, 180 vendor URLs) | `serde_json::from_slice::<Value>` of the same bytes |
| token response | `crates/smart-token/benches/token.rs` | `TokenResponse::from_response` of the spec example's shape with JWT-sized access and id tokens, a refresh token and launch context | `serde_json::from_slice::<Value>` |
| 50 scopes | same | `ScopeSet::parse` (each scope checked against the SMART v1/v2 grammar, duplicates dropped) | `split_whitespace().collect::<Vec<_>>()` |
| end to end | `crates/smart-sandbox/benches/e2e` (its own harness) | `SmartClient::backend_services_token` (RS384-2048 and ES384 keys; discovery cached, a fresh assertion each time), `SmartClient::refresh` (public client; tokens rotate), the async shell's same calls, and refresh with `client_secret_basic`, code exchange (state checked) and authorization URL with PKCE in both shells | a naive ureq agent with ring-signed assertions; the blocking shell; the ES384 signature alone; oauth2 5 (ureq) |
| sessions | `crates/smart-session/benches/session.rs` (its own harness) | `Session::access_token` read by 64 threads at once; refreshes per expiry for 1, 8 and 64 callers; `AsyncSession::read` of a Patient | `RwLock<String>`; the count itself; a raw reqwest GET with a fixed token |

The references for parsing do much less than we do (no typing, no checks): those ratios are
the price of the typed, checked model, not a race to win.

## Regression guard

```sh
cargo xtask bench --check            # runs everything again ({passes} passes, about 8 minutes)
cargo xtask bench --check --quick    # CI's gate: 3 short passes, about 1 minute, x {quick}
cargo xtask bench --check --no-run   # reads the passes of the latest run
```

`--check` compares every ratio of `docs/benchmarks-baseline.json` with the run's (the median
over {passes} passes; `--passes N` changes it) and fails when one is below
**recorded x {jws}** for the JWS ratios (`jws/*`) and **recorded x {wide}** for the others (or
is missing). Only ratios measured within one run are compared, never absolute times, so a
slower or busier machine does not trip it.

The tolerance of {wide} is wide because this 2-core VM is shared with other builds and
fuzzers: a single pass's parsing or end-to-end ratio fell to about half of the run's median,
and the median ratio of one benchmark moved by up to about 0.6x between two runs (so 0.6
would raise false alarms there). It still catches a lost optimisation, such as p384 without
`precomputed-tables` (3.3x slower ES384 signing), or anything that more than doubles our cost
next to the reference. The JWS ratios time milliseconds of RSA or P-384 arithmetic, far
above timer and allocator noise: in the recorded run their lowest single pass was 0.72x the
median (RS384-2048 verify) and most stayed above 0.85x, so they get the tighter {jws}, which
catches a 1.43x slowdown of our signing or verification next to ring. Of the end-to-end
figures only the client-CPU ratios are guarded. `--tolerance X` sets one factor for every
ratio, for one check.

`--check --quick` (run by `cargo xtask ci` and CI's `bench` job) makes {quick_passes} short
passes (criterion: 10 samples of 0.2 s after 0.1 s of warm-up; the end-to-end harnesses: 3
rounds of 20 requests) and compares every ratio with **recorded x {quick}**: a quick pass is
a tenth of a long one, and CI may run on another CPU than the recorded one. It fails on what
a gate is for (a lost optimisation, a request or thread more per call, a cost more than 2.5
times its reference's), not on noise. `cargo xtask bench` (without
`--check`) re-records the baseline and this page; commit both together.

Run one benchmark alone with, for example,
`cargo bench -p smart-token --bench token -- --warm-up-time 0.5 --measurement-time 1`, or
`cargo bench -p smart-sandbox --bench e2e -- --requests 100 --rounds 5`, or
`cargo bench -p smart-session --bench session`.
"
    )
}
