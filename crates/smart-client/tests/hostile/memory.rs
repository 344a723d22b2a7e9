//! The process's memory, from `/proc/self/status` (Linux only; elsewhere nothing is measured).

/// Peak (`VmHWM`) and current (`VmRSS`) resident memory, in bytes.
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "only Linux has /proc/self/status to measure from")
)]
pub(crate) struct Usage {
    peak: u64,
    resident: u64,
}

impl Usage {
    #[cfg(target_os = "linux")]
    pub(crate) fn now() -> Option<Self> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|line| line.starts_with(name))?;
            let kilobytes: u64 = line
                .trim_start_matches(name)
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(kilobytes * 1024)
        };
        Some(Self {
            peak: field("VmHWM:")?,
            resident: field("VmRSS:")?,
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn now() -> Option<Self> {
        None
    }

    /// How much the peak and the resident size grew since `before` (0 when they shrank).
    pub(crate) fn growth_since(&self, before: &Self) -> (u64, u64) {
        (
            self.peak.saturating_sub(before.peak),
            self.resident.saturating_sub(before.resident),
        )
    }
}
