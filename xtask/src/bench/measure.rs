//! One pass's figures, the ratios computed within it, and their medians over the passes.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::criterion::ENTRIES;

/// What one pass measured: criterion's medians by full id, and the end-to-end figures.
#[derive(Debug, Clone, Default)]
pub(super) struct Pass {
    pub(super) estimates: BTreeMap<String, f64>,
    pub(super) e2e: Option<Value>,
}

impl Pass {
    pub(super) fn to_json(&self) -> Value {
        json!({"estimates": self.estimates, "e2e": self.e2e})
    }

    pub(super) fn from_json(value: &Value) -> Self {
        Self {
            estimates: value["estimates"]
                .as_object()
                .map(|map| {
                    map.iter()
                        .filter_map(|(id, ns)| Some((id.clone(), ns.as_f64()?)))
                        .collect()
                })
                .unwrap_or_default(),
            e2e: Some(value["e2e"].clone()).filter(Value::is_object),
        }
    }
}

/// The end of the keys of the end-to-end client-CPU ratios.
pub(super) const CPU_SUFFIX: &str = "/client-cpu";

/// The ratio of the concurrent token reads' p50 (a plain `RwLock<String>`'s over ours),
/// reported, not guarded: 64 threads on a shared 2-core machine time the scheduler too.
pub(super) const READERS_KEY: &str = "session/readers/p50";

/// The end of the keys of the end-to-end wall-time ratios (reported, not guarded).
pub(super) const WALL_SUFFIX: &str = "/wall";

/// The figures of a run, each the median over its passes: times, end-to-end figures and
/// ratios (reference time / our time, each computed within one pass), and what is missing.
#[derive(Debug, Default)]
pub(super) struct Measured {
    pub(super) estimates: BTreeMap<String, f64>,
    pub(super) e2e: Option<Value>,
    pub(super) ratios: BTreeMap<String, f64>,
    /// The end-to-end wall-time ratios (`e2e/<case>/wall`), reported but not guarded.
    pub(super) wall_ratios: BTreeMap<String, f64>,
    pub(super) missing: Vec<String>,
    /// The end-to-end benchmark could not read the thread's CPU time (not Linux).
    pub(super) cpu_unmeasured: bool,
}

impl Measured {
    /// The ratios of one pass.
    pub(super) fn of_pass(pass: &Pass) -> Self {
        let estimates = &pass.estimates;
        let mut measured = Self {
            estimates: estimates.clone(),
            e2e: pass.e2e.clone(),
            ..Self::default()
        };
        for entry in ENTRIES {
            let ours = estimates.get(entry.ours);
            if ours.is_none() {
                measured.missing.push(entry.ours.to_owned());
            }
            let Some((reference_id, _)) = entry.reference else {
                continue;
            };
            match (ours, estimates.get(reference_id)) {
                (Some(ours), Some(reference)) => {
                    measured
                        .ratios
                        .insert(entry.key.to_owned(), reference / ours);
                }
                (_, None) => measured.missing.push(reference_id.to_owned()),
                (None, _) => {}
            }
        }
        match &pass.e2e {
            Some(e2e) => {
                let cases = e2e["cases"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                if cases.is_empty() {
                    measured.missing.push("e2e (no cases)".to_owned());
                }
                measured.cpu_unmeasured = e2e["client_cpu"].is_null();
                let readers = &e2e["session"]["readers"];
                match (
                    readers["ours"]["p50_ns"].as_f64(),
                    readers["reference"]["p50_ns"].as_f64(),
                ) {
                    (Some(ours), Some(reference)) if ours > 0.0 => {
                        measured
                            .wall_ratios
                            .insert(READERS_KEY.to_owned(), reference / ours);
                    }
                    _ => measured
                        .missing
                        .push("session (no session.json)".to_owned()),
                }
                // Only the client's CPU time is guarded: the wall time is mostly the server's
                // work and the scheduler's delays on a shared machine, reported but not
                // compared.
                for case in cases {
                    let name = case["name"].as_str().unwrap_or("?");
                    if let (Some(ours), Some(reference)) = (
                        case["ours"]["wall_ns"].as_f64(),
                        case["reference"]["wall_ns"].as_f64(),
                    ) && ours > 0.0
                    {
                        measured
                            .wall_ratios
                            .insert(format!("e2e/{name}{WALL_SUFFIX}"), reference / ours);
                    }
                    let ours = case["ours"]["cpu_ns"].as_f64();
                    let reference = case["reference"]["cpu_ns"].as_f64();
                    if let (Some(ours), Some(reference)) = (ours, reference)
                        && ours > 0.0
                    {
                        measured
                            .ratios
                            .insert(format!("e2e/{name}{CPU_SUFFIX}"), reference / ours);
                    }
                }
            }
            None => measured.missing.push("e2e (no e2e.json)".to_owned()),
        }
        measured
    }

    /// The median of each figure and ratio over the passes; missing in any pass is missing.
    pub(super) fn combine(passes: &[Pass]) -> Self {
        let each: Vec<Self> = passes.iter().map(Self::of_pass).collect();
        let mut missing: Vec<String> = each.iter().flat_map(|m| m.missing.clone()).collect();
        missing.sort();
        missing.dedup();
        Self {
            estimates: median_by_key(each.iter().map(|m| &m.estimates)),
            e2e: combine_e2e(each.iter().filter_map(|m| m.e2e.as_ref())),
            ratios: median_by_key(each.iter().map(|m| &m.ratios)),
            wall_ratios: median_by_key(each.iter().map(|m| &m.wall_ratios)),
            missing,
            cpu_unmeasured: each.iter().any(|m| m.cpu_unmeasured),
        }
    }

    pub(super) fn time(&self, id: &str) -> Option<f64> {
        self.estimates.get(id).copied()
    }
}

pub(super) fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() {
        0 => None,
        len if len % 2 == 1 => Some(values[mid]),
        _ => Some(f64::midpoint(values[mid - 1], values[mid])),
    }
}

/// For each key, the median of its values in the maps that have it.
pub(super) fn median_by_key<'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, f64>>,
) -> BTreeMap<String, f64> {
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for map in maps {
        for (key, value) in map {
            values.entry(key.clone()).or_default().push(*value);
        }
    }
    values
        .into_iter()
        .filter_map(|(key, values)| Some((key, median(values)?)))
        .collect()
}

/// The end-to-end figures of several passes: per case and side, the median of each number
/// and the most connections any timed run opened.
pub(super) fn combine_e2e<'a>(passes: impl Iterator<Item = &'a Value>) -> Option<Value> {
    let passes: Vec<&Value> = passes.collect();
    let first = *passes.first()?;
    let cases: Vec<Value> = first["cases"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|case| {
            let name = &case["name"];
            let same: Vec<&Value> = passes
                .iter()
                .flat_map(|pass| {
                    pass["cases"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                })
                .filter(|other| other["name"] == *name)
                .collect();
            let side = |side: &str| {
                let number = |field: &str| {
                    median(
                        same.iter()
                            .filter_map(|c| c[side][field].as_f64())
                            .collect(),
                    )
                };
                json!({
                    "wall_ns": number("wall_ns"),
                    "cpu_ns": number("cpu_ns"),
                    "max_connections_per_run": same
                        .iter()
                        .filter_map(|c| c[side]["max_connections_per_run"].as_u64())
                        .max(),
                })
            };
            json!({
                "name": name,
                "reference_name": case["reference_name"],
                "calls_per_run": case["calls_per_run"],
                "ours": side("ours"),
                "reference": side("reference"),
            })
        })
        .collect();
    Some(json!({
        "requests": first["requests"],
        "rounds": first["rounds"],
        "passes": passes.len(),
        "client_cpu": first["client_cpu"],
        "cases": cases,
        "session": combine_session(&passes),
    }))
}

/// The session figures of several passes: the median of each reader percentile; the token
/// request counts of the first pass (the benchmark fails unless they are one per expiry).
fn combine_session(passes: &[&Value]) -> Value {
    let sessions: Vec<&Value> = passes
        .iter()
        .map(|pass| &pass["session"])
        .filter(|session| session.is_object())
        .collect();
    let Some(first) = sessions.first() else {
        return Value::Null;
    };
    let percentile = |side: &str, field: &str| {
        median(
            sessions
                .iter()
                .filter_map(|s| s["readers"][side][field].as_f64())
                .collect(),
        )
    };
    json!({
        "readers": {
            "threads": first["readers"]["threads"],
            "reads_per_thread": first["readers"]["reads_per_thread"],
            "ours": {"p50_ns": percentile("ours", "p50_ns"), "p99_ns": percentile("ours", "p99_ns")},
            "reference": {
                "p50_ns": percentile("reference", "p50_ns"),
                "p99_ns": percentile("reference", "p99_ns"),
            },
        },
        "expiry": first["expiry"],
    })
}
