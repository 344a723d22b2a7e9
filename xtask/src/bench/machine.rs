//! What the figures were measured on: CPU, cores, compiler, kernel, date, load.

use std::time::{SystemTime, UNIX_EPOCH};

/// What the figures were measured on.
#[derive(Debug)]
pub(super) struct Machine {
    pub(super) cpu: String,
    pub(super) cores: usize,
    pub(super) rustc: String,
    pub(super) kernel: String,
    pub(super) date: String,
    /// `/proc/loadavg` when the run started: other work on the machine skews the figures.
    pub(super) load: Option<String>,
}

impl Machine {
    pub(super) fn detect() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| cpu_model(&text))
            .unwrap_or_else(|| "unknown (no /proc/cpuinfo)".to_owned());
        let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
        let rustc =
            std::process::Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
                .arg("--version")
                .output()
                .ok()
                .and_then(|out| String::from_utf8(out.stdout).ok())
                .map_or_else(|| "unknown".to_owned(), |text| text.trim().to_owned());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").map_or_else(
            |_| std::env::consts::OS.to_owned(),
            |release| format!("Linux {}", release.trim()),
        );
        let days = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() / 86_400);
        Self {
            cpu,
            cores,
            rustc,
            kernel,
            date: iso_date(days),
            load: load_average(),
        }
    }
}

/// The 1, 5 and 15 minute load averages of `/proc/loadavg`.
pub(super) fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let averages: Vec<&str> = text.split_whitespace().take(3).collect();
    (averages.len() == 3).then(|| averages.join(" / "))
}

/// The first `model name` of `/proc/cpuinfo`.
pub(super) fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_owned())
    })
}

/// `YYYY-MM-DD` of a count of days since 1970-01-01 (proleptic Gregorian calendar).
pub(super) fn iso_date(days: u64) -> String {
    // Howard Hinnant's `civil_from_days`, for days on or after the epoch.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
