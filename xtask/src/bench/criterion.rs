//! The criterion benchmarks: their options, the figures the report shows, and reading
//! criterion's own saved estimates (`<target>/criterion/**/new/{benchmark,estimates}.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

use crate::util::Error;

/// criterion's options for every run: short, since ratios need no long runs, and several
/// short passes beat one long one on a machine whose load comes in bursts. Only the median
/// point estimate is read, so fewer bootstrap resamples do.
pub(super) const CRITERION_ARGS: [&str; 7] = [
    "--warm-up-time",
    "0.5",
    "--measurement-time",
    "1",
    "--nresamples",
    "10000",
    "--noplot",
];

/// criterion's options for `--quick`: ten samples (criterion's least) of 0.2 s after 0.1 s of
/// warm-up, so that the slowest benchmark (RS384-4096 signing, 11 ms) needs 55 iterations
/// instead of 5050, and 1000 resamples (only the median point estimate is read; resampling
/// sets only its confidence interval, which nobody reads).
pub(super) const QUICK_CRITERION_ARGS: [&str; 9] = [
    "--warm-up-time",
    "0.1",
    "--measurement-time",
    "0.2",
    "--sample-size",
    "10",
    "--nresamples",
    "1000",
    "--noplot",
];

/// One criterion figure of the report, with its reference when it has one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    /// The stable name of the ratio in the baseline.
    pub(super) key: &'static str,
    pub(super) label: &'static str,
    /// criterion's full id of our side.
    pub(super) ours: &'static str,
    /// criterion's full id of the reference and what the reference is.
    pub(super) reference: Option<(&'static str, &'static str)>,
}

pub(super) const fn entry(
    key: &'static str,
    label: &'static str,
    ours: &'static str,
    reference: Option<(&'static str, &'static str)>,
) -> Entry {
    Entry {
        key,
        label,
        ours,
        reference,
    }
}

pub(super) const ENTRIES: [Entry; 16] = [
    entry(
        "jws/RS384-2048/sign",
        "RS384-2048 sign, JWS serialisation included",
        "RS384-2048/sign/ours",
        Some(("RS384-2048/sign/ring", "ring")),
    ),
    entry(
        "jws/RS384-4096/sign",
        "RS384-4096 sign, JWS serialisation included",
        "RS384-4096/sign/ours",
        Some(("RS384-4096/sign/ring", "ring")),
    ),
    entry(
        "jws/ES384/sign",
        "ES384 sign, JWS serialisation included",
        "ES384/sign/ours",
        Some(("ES384/sign/ring", "ring")),
    ),
    entry(
        "jws/RS384-2048/verify",
        "RS384-2048 verify (split, decode, JWK Set)",
        "RS384-2048/verify/ours",
        Some(("RS384-2048/verify/ring", "ring")),
    ),
    entry(
        "jws/RS384-4096/verify",
        "RS384-4096 verify (split, decode, JWK Set)",
        "RS384-4096/verify/ours",
        Some(("RS384-4096/verify/ring", "ring")),
    ),
    entry(
        "jws/ES384/verify",
        "ES384 verify (split, decode, JWK Set)",
        "ES384/verify/ours",
        Some(("ES384/verify/ring", "ring")),
    ),
    entry(
        "jws/assertion/RS384-2048",
        "RS384-2048 whole client assertion (clock, jti, claims, sign)",
        "assertion/RS384-2048/ours",
        Some(("assertion/RS384-2048/ring", "ring")),
    ),
    entry(
        "jws/assertion/ES384",
        "ES384 whole client assertion (clock, jti, claims, sign)",
        "assertion/ES384/ours",
        Some(("assertion/ES384/ring", "ring")),
    ),
    entry(
        "pkce/pair-128",
        "PKCE verifier (128 chars) + S256 challenge",
        "pkce/verifier+challenge (128 chars)",
        Some((
            "pkce/reference: getrandom(96) + sha256(128)",
            "getrandom(96) + SHA-256",
        )),
    ),
    entry(
        "pkce/pair-43",
        "PKCE verifier (43 chars) + S256 challenge",
        "pkce/verifier+challenge (43 chars)",
        None,
    ),
    entry(
        "pkce/state",
        "OAuth state (32 hex chars)",
        "pkce/state",
        None,
    ),
    entry(
        "client/authorize",
        "authorization URL (`SmartClient::authorize`)",
        "authorization URL/ours",
        Some(("authorization URL/reference", "hand-built URL")),
    ),
    entry(
        "discovery/spec-example",
        "discovery document, the spec's example",
        "discovery/spec example/ours",
        Some(("discovery/spec example/reference", "serde_json::Value")),
    ),
    entry(
        "discovery/200-capabilities",
        "discovery document, 200 capabilities",
        "discovery/200 capabilities/ours",
        Some(("discovery/200 capabilities/reference", "serde_json::Value")),
    ),
    entry(
        "token/response",
        "token response (`TokenResponse::from_response`)",
        "token response/ours",
        Some(("token response/reference", "serde_json::Value")),
    ),
    entry(
        "token/scopes-50",
        "50-scope string (`ScopeSet::parse`)",
        "50 scopes/ours",
        Some(("50 scopes/reference", "split_whitespace")),
    ),
];

/// Where criterion writes: `$CRITERION_HOME`, else `<target>/criterion`.
pub(super) fn criterion_directory(target: &Path) -> PathBuf {
    std::env::var_os("CRITERION_HOME").map_or_else(|| target.join("criterion"), PathBuf::from)
}

/// criterion's median estimates, in nanoseconds per iteration, by full benchmark id. With
/// `since`, results older than it (left over from earlier runs) are skipped.
pub(super) fn load_criterion(
    directory: &Path,
    since: Option<SystemTime>,
) -> Result<BTreeMap<String, f64>, Error> {
    let mut estimates = BTreeMap::new();
    if !directory.is_dir() {
        return Ok(estimates);
    }
    let mut pending = vec![directory.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|error| Error::Failed(format!("cannot read {}: {error}", dir.display())))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|name| name == "new") {
                let estimates_path = path.join("estimates.json");
                let fresh = since.is_none_or(|since| {
                    std::fs::metadata(&estimates_path)
                        .and_then(|meta| meta.modified())
                        .is_ok_and(|modified| modified >= since)
                });
                let benchmark = std::fs::read_to_string(path.join("benchmark.json"));
                let values = std::fs::read_to_string(&estimates_path);
                if let (true, Ok(benchmark), Ok(values)) = (fresh, benchmark, values)
                    && let Some((id, ns)) = estimate(&benchmark, &values)
                {
                    estimates.insert(id, ns);
                }
            } else {
                pending.push(path);
            }
        }
    }
    Ok(estimates)
}

/// The full id from criterion's `benchmark.json` and the median point estimate (ns) from its
/// `estimates.json`.
pub(super) fn estimate(benchmark_json: &str, estimates_json: &str) -> Option<(String, f64)> {
    let benchmark: Value = serde_json::from_str(benchmark_json).ok()?;
    let estimates: Value = serde_json::from_str(estimates_json).ok()?;
    let id = benchmark["full_id"].as_str()?.to_owned();
    let ns = estimates["median"]["point_estimate"].as_f64()?;
    (ns.is_finite() && ns > 0.0).then_some((id, ns))
}
