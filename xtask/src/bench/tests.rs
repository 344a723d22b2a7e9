//! The harness's unit tests: comparisons, tolerances, parsing and the report.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Options;
use super::baseline::{Baseline, Outcome, Tolerance, baseline_json, compare, round3};
use super::criterion::{ENTRIES, estimate};
use super::machine::{Machine, cpu_model, iso_date};
use super::measure::{Measured, Pass, READERS_KEY};
use super::report::{human_time, minutes, rate, render_e2e};
use super::{PASSES, QUICK_PASSES, check, with_session};

fn ratios(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs
        .iter()
        .map(|(key, ratio)| ((*key).to_owned(), *ratio))
        .collect()
}

#[test]
fn jws_ratios_have_the_tighter_default_tolerance() {
    let recorded = ratios(&[("jws/RS384-2048/sign", 1.0), ("token/response", 1.0)]);
    // 0.65x of the recorded ratio: below the JWS floor (0.7), above the wide one (0.5).
    let measured = ratios(&[("jws/RS384-2048/sign", 0.65), ("token/response", 0.65)]);
    let comparisons = compare(&recorded, &measured, Tolerance::DEFAULT);
    let outcome = |key: &str| comparisons.iter().find(|c| c.key == key).map(|c| c.outcome);
    assert_eq!(outcome("jws/RS384-2048/sign"), Some(Outcome::Regressed));
    assert_eq!(outcome("token/response"), Some(Outcome::Ok));
    // `--tolerance X` applies one factor to every ratio.
    let loose = compare(&recorded, &measured, Tolerance::uniform(0.6));
    assert!(loose.iter().all(|c| c.outcome == Outcome::Ok), "{loose:?}");
    assert_eq!(
        Tolerance::DEFAULT.to_string(),
        "0.7 for jws/*, 0.5 for the others"
    );
}

#[test]
fn a_ratio_within_tolerance_passes() {
    let recorded = ratios(&[("jws/ES384/sign", 2.0), ("token/response", 0.5)]);
    // 1.3 is 65 % of 2.0: slower, but within a 0.6 tolerance; 0.9 is faster than recorded.
    let measured = ratios(&[("jws/ES384/sign", 1.3), ("token/response", 0.9)]);
    let comparisons = compare(&recorded, &measured, Tolerance::uniform(0.6));
    assert_eq!(comparisons.len(), 2);
    assert!(
        comparisons.iter().all(|c| c.outcome == Outcome::Ok),
        "{comparisons:?}"
    );
}

#[test]
fn a_ratio_clearly_below_fails() {
    let recorded = ratios(&[("jws/ES384/sign", 2.0), ("jws/RS384-2048/sign", 0.3)]);
    // 0.6 is 30 % of 2.0: p384 without precomputed tables would look like this.
    let measured = ratios(&[("jws/ES384/sign", 0.6), ("jws/RS384-2048/sign", 0.29)]);
    let comparisons = compare(&recorded, &measured, Tolerance::uniform(0.6));
    let regressed: Vec<&str> = comparisons
        .iter()
        .filter(|c| c.fails())
        .map(|c| c.key.as_str())
        .collect();
    assert_eq!(regressed, ["jws/ES384/sign"]);
    let failure = comparisons.iter().find(|c| c.fails()).expect("one failure");
    assert_eq!(failure.outcome, Outcome::Regressed);
    assert!(
        failure
            .describe(Tolerance::uniform(0.6))
            .contains("below 1.200x"),
        "{}",
        failure.describe(Tolerance::uniform(0.6))
    );
}

#[test]
fn the_floor_itself_passes() {
    let recorded = ratios(&[("a", 1.0)]);
    let comparisons = compare(&recorded, &ratios(&[("a", 0.6)]), Tolerance::uniform(0.6));
    assert_eq!(comparisons[0].outcome, Outcome::Ok);
    let comparisons = compare(&recorded, &ratios(&[("a", 0.599)]), Tolerance::uniform(0.6));
    assert_eq!(comparisons[0].outcome, Outcome::Regressed);
}

#[test]
fn a_missing_benchmark_is_reported_and_fails() {
    let recorded = ratios(&[("e2e/refresh (public client)/client-cpu", 0.8), ("a", 1.0)]);
    let measured = ratios(&[("a", 1.0)]);
    let comparisons = compare(&recorded, &measured, Tolerance::uniform(0.6));
    let missing = comparisons
        .iter()
        .find(|c| c.key == "e2e/refresh (public client)/client-cpu")
        .expect("reported");
    assert_eq!(missing.outcome, Outcome::Missing);
    assert!(missing.fails());
    assert!(
        missing
            .describe(Tolerance::uniform(0.6))
            .contains("recorded but not measured")
    );
}

#[test]
fn the_check_fails_on_a_regression_and_skips_cpu_ratios_it_cannot_measure() {
    let baseline = || Baseline {
        ratios: ratios(&[("jws/ES384/sign", 2.0), ("e2e/refresh/client-cpu", 0.9)]),
    };
    let mut measured = Measured {
        ratios: ratios(&[("jws/ES384/sign", 1.9)]),
        ..Measured::default()
    };
    assert!(
        check(baseline(), &measured, Tolerance::uniform(0.5), 1).is_err(),
        "the CPU ratio is missing"
    );
    measured.cpu_unmeasured = true;
    assert!(check(baseline(), &measured, Tolerance::uniform(0.5), 1).is_ok());
    measured.ratios = ratios(&[("jws/ES384/sign", 0.9)]);
    assert!(
        check(baseline(), &measured, Tolerance::uniform(0.5), 1).is_err(),
        "regressed"
    );
}

#[test]
fn a_new_benchmark_is_reported_without_failing() {
    let comparisons = compare(
        &ratios(&[]),
        &ratios(&[("new/one", 1.0)]),
        Tolerance::uniform(0.6),
    );
    assert_eq!(comparisons[0].outcome, Outcome::New);
    assert!(!comparisons[0].fails());
}

#[test]
fn criterion_estimates_are_read_by_full_id_and_median() {
    let benchmark = r#"{"group_id":"RS384-2048","function_id":"sign/ours","value_str":null,
        "throughput":null,"full_id":"RS384-2048/sign/ours","directory_name":"RS384-2048/sign_ours","title":"RS384-2048/sign/ours"}"#;
    let estimates = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2000.0,"standard_error":1.0},
        "median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":1500.0,"standard_error":1.0}}"#;
    assert_eq!(
        estimate(benchmark, estimates),
        Some(("RS384-2048/sign/ours".to_owned(), 1500.0))
    );
    assert_eq!(estimate(benchmark, "{}"), None);
    assert_eq!(estimate("not json", estimates), None);
}

#[test]
fn ratios_are_reference_time_over_ours_and_gaps_are_named() {
    let mut estimates = BTreeMap::new();
    estimates.insert("ES384/sign/ours".to_owned(), 100.0);
    estimates.insert("ES384/sign/ring".to_owned(), 200.0);
    let e2e = json!({"client_cpu": null, "cases": [{"name": "refresh",
        "ours": {"wall_ns": 400.0, "cpu_ns": null},
        "reference": {"wall_ns": 300.0, "cpu_ns": null}}]});
    let pass = |e2e: &Value| Pass {
        estimates: estimates.clone(),
        e2e: Some(e2e.clone()),
    };
    let measured = Measured::of_pass(&pass(&e2e));
    assert_eq!(measured.ratios.get("jws/ES384/sign"), Some(&2.0));
    assert_eq!(
        measured.ratios.get("e2e/refresh/client-cpu"),
        None,
        "no CPU figure (not Linux), no CPU ratio"
    );
    assert!(measured.cpu_unmeasured, "and --check skips the CPU ratios");
    assert!(
        !measured.ratios.keys().any(|key| key.ends_with("/wall")),
        "wall times are not guarded"
    );
    let e2e = json!({"client_cpu": "/proc/thread-self/schedstat", "cases": [{"name": "refresh",
        "ours": {"wall_ns": 400.0, "cpu_ns": 100.0},
        "reference": {"wall_ns": 300.0, "cpu_ns": 80.0}}]});
    let measured = Measured::of_pass(&pass(&e2e));
    assert!(!measured.cpu_unmeasured);
    assert_eq!(measured.ratios.get("e2e/refresh/client-cpu"), Some(&0.8));
    assert!(
        measured
            .missing
            .contains(&"RS384-2048/sign/ours".to_owned())
    );
    assert!(
        measured
            .missing
            .contains(&"RS384-2048/sign/ring".to_owned())
    );
    let without_e2e = Measured::of_pass(&Pass {
        estimates: estimates.clone(),
        e2e: None,
    });
    assert!(without_e2e.missing.iter().any(|m| m.starts_with("e2e")));
}

#[test]
fn the_baseline_round_trips() {
    let machine = Machine {
        cpu: "cpu".to_owned(),
        cores: 2,
        rustc: "rustc 1.95.0".to_owned(),
        kernel: "Linux".to_owned(),
        date: "2026-01-01".to_owned(),
        load: None,
    };
    let recorded = ratios(&[
        ("jws/ES384/sign", 1.923_456),
        ("e2e/x/client-cpu", 0.987_65),
    ]);
    let text = baseline_json(&machine, &recorded, Tolerance::uniform(0.5));
    assert!(text.contains("\"tolerance\": 0.5"), "{text}");
    let baseline = Baseline::parse(&text).expect("parses");
    assert_eq!(
        baseline.ratios,
        ratios(&[("jws/ES384/sign", 1.92), ("e2e/x/client-cpu", 0.988)])
    );
    assert!(Baseline::parse("{}").is_err());
}

#[test]
fn options_parse() {
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(Options::parse(&[]).ok(), Some(Options::default()));
    assert_eq!(
        Options::parse(&args(&["--check", "--no-run", "--tolerance", "0.5"])).ok(),
        Some(Options {
            check: true,
            no_run: true,
            quick: false,
            passes: None,
            tolerance: Some(0.5)
        })
    );
    assert_eq!(
        Options::parse(&args(&["--passes", "1"]))
            .map(|o| o.passes())
            .ok(),
        Some(1)
    );
    assert_eq!(Options::default().passes(), PASSES);
    let quick = Options::parse(&args(&["--check", "--quick"])).expect("parses");
    assert_eq!((quick.quick, quick.passes()), (true, QUICK_PASSES));
    assert!(
        Options::parse(&args(&["--quick"])).is_err(),
        "a quick run never records a baseline"
    );
    assert!(Options::parse(&args(&["--passes", "0"])).is_err());
    assert!(Options::parse(&args(&["--tolerance", "2"])).is_err());
    assert!(Options::parse(&args(&["--fast"])).is_err());
}

#[test]
fn machine_details() {
    assert_eq!(
        cpu_model("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor @ 2.80GHz\n"),
        Some("Intel(R) Xeon(R) Processor @ 2.80GHz".to_owned())
    );
    assert_eq!(cpu_model("processor : 0\n"), None);
    assert_eq!(iso_date(0), "1970-01-01");
    assert_eq!(iso_date(19_723), "2024-01-01");
    assert_eq!(iso_date(19_782), "2024-02-29");
    assert_eq!(iso_date(20_454), "2026-01-01");
}

#[test]
fn figures_are_readable() {
    assert_eq!(human_time(1_120_000.0), "1.12 ms");
    assert_eq!(human_time(46_000.0), "46.0 µs");
    assert_eq!(human_time(450.0), "450 ns");
    assert_eq!(rate(450.0), "2.22 M/s");
    assert_eq!(rate(46_000.0), "21.7 k/s");
    assert_eq!(rate(1_120_000.0), "893 /s");
    assert!((round3(0.287_654) - 0.288).abs() < 1e-12);
    assert!((round3(12.345) - 12.3).abs() < 1e-12);
    assert_eq!(minutes(125), "2 min 05 s");
}

/// The report's end-to-end ratios are the ones the baseline records and `--check`
/// compares: the median of the per-pass ratios, not the ratio of the medians.
#[test]
fn the_report_shows_the_guarded_e2e_ratios() {
    let pass = |ours: f64, reference: f64| Pass {
        estimates: BTreeMap::new(),
        e2e: Some(
            json!({"requests": 10, "rounds": 3, "client_cpu": "schedstat",
            "cases": [{"name": "refresh",
                "ours": {"wall_ns": ours, "cpu_ns": ours, "max_connections_per_run": 0},
                "reference": {"wall_ns": reference, "cpu_ns": reference, "max_connections_per_run": 0}}]}),
        ),
    };
    // Per-pass ratios 1.0, 2.0 and 0.5 (median 1.0); the medians 200 and 150 would give 0.75.
    let measured = Measured::combine(&[pass(100.0, 100.0), pass(200.0, 400.0), pass(300.0, 150.0)]);
    assert_eq!(measured.ratios.get("e2e/refresh/client-cpu"), Some(&1.0));
    let mut md = String::new();
    render_e2e(&mut md, &measured);
    let row = md
        .lines()
        .find(|line| line.starts_with("| refresh |"))
        .expect("a row for the case");
    assert!(row.contains("| **1.00x** | **1.00x** |"), "{row}");
    assert!(!row.contains("0.75"), "{row}");
}

#[test]
fn passes_combine_by_median() {
    let pass = |ours: f64, ring: f64, cpu: f64, connections: u64| Pass {
        estimates: [
            ("ES384/sign/ours".to_owned(), ours),
            ("ES384/sign/ring".to_owned(), ring),
        ]
        .into_iter()
        .collect(),
        e2e: Some(
            json!({"requests": 100, "rounds": 9, "client_cpu": "schedstat",
            "cases": [{"name": "refresh",
                "ours": {"wall_ns": 4000.0, "cpu_ns": cpu, "max_connections_per_run": connections},
                "reference": {"wall_ns": 4000.0, "cpu_ns": 100.0, "max_connections_per_run": 0}}]}),
        ),
    };
    // The middle pass had a burst of load on the reference's side only.
    let passes = [
        pass(100.0, 200.0, 100.0, 0),
        pass(100.0, 600.0, 50.0, 1),
        pass(110.0, 220.0, 125.0, 0),
    ];
    let measured = Measured::combine(&passes);
    assert_eq!(measured.ratios.get("jws/ES384/sign"), Some(&2.0));
    assert_eq!(measured.ratios.get("e2e/refresh/client-cpu"), Some(&1.0));
    assert_eq!(measured.time("ES384/sign/ours"), Some(100.0));
    let e2e = measured.e2e.expect("combined");
    assert_eq!(e2e["passes"], 3);
    assert_eq!(e2e["cases"][0]["ours"]["cpu_ns"], 100.0);
    assert_eq!(e2e["cases"][0]["ours"]["max_connections_per_run"], 1);
    // Every pass lacks the other benchmarks: each is named once.
    let rs = measured
        .missing
        .iter()
        .filter(|m| *m == "RS384-2048/sign/ours")
        .count();
    assert_eq!(rs, 1);

    let round_trip: Vec<Pass> = passes
        .iter()
        .map(|p| Pass::from_json(&p.to_json()))
        .collect();
    assert_eq!(
        Measured::combine(&round_trip).ratios,
        Measured::combine(&passes).ratios
    );
    assert!(Measured::combine(&[]).ratios.is_empty());
}

/// Every ratio in the report has a stable, unique key.
#[test]
fn entries_have_unique_keys() {
    let mut keys: Vec<&str> = ENTRIES.iter().map(|e| e.key).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), ENTRIES.len());
}

/// The session benchmark's cases join the end-to-end ones (guarded like them); its reader
/// percentiles and request counts are reported, and a pass without them names the gap.
#[test]
fn session_figures_join_the_end_to_end_ones() {
    let e2e = json!({"requests": 10, "rounds": 3, "client_cpu": "schedstat", "cases": [
        {"name": "refresh", "reference_name": "naive ureq",
         "ours": {"wall_ns": 100.0, "cpu_ns": 50.0}, "reference": {"wall_ns": 100.0, "cpu_ns": 40.0}}]});
    let session = json!({
        "readers": {"threads": 64, "reads_per_thread": 10,
            "ours": {"p50_ns": 200.0, "p99_ns": 900.0}, "reference": {"p50_ns": 100.0, "p99_ns": 300.0}},
        "expiry": [{"callers": 64, "expiries": 3, "token_requests": 3}],
        "cases": [{"name": "async FHIR read", "reference_name": "raw reqwest GET",
            "ours": {"wall_ns": 10.0, "cpu_ns": 10.0}, "reference": {"wall_ns": 9.0, "cpu_ns": 9.0}}],
    });
    let merged = with_session(Some(e2e.clone()), Some(session)).expect("merged");
    let pass = Pass {
        estimates: BTreeMap::new(),
        e2e: Some(merged),
    };
    let measured = Measured::combine(&[pass]);
    assert_eq!(
        measured.ratios.get("e2e/async FHIR read/client-cpu"),
        Some(&0.9)
    );
    assert_eq!(measured.wall_ratios.get(READERS_KEY), Some(&0.5));
    assert!(!measured.missing.iter().any(|m| m.starts_with("session")));
    let mut md = String::new();
    render_e2e(&mut md, &measured);
    assert!(md.contains("| 64 | 3 | 3 | **1.00** |"), "{md}");
    assert!(md.contains("| raw reqwest GET |"), "{md}");

    let alone = Measured::of_pass(&Pass {
        estimates: BTreeMap::new(),
        e2e: with_session(Some(e2e), None),
    });
    assert!(alone.missing.iter().any(|m| m.starts_with("session")));
    assert_eq!(with_session(None, None), None);
}
