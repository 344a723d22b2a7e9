//! `-v`: log lines on stderr. The library never logs secrets; this prints what it logs.

use crate::output::errln;
use log::{Level, LevelFilter, Log, Metadata, Record};

struct StderrLogger {
    level: LevelFilter,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // At trace level ureq prints what it otherwise redacts: the full request URL (the
        // authorization request's state), the `Location` header (the code and state the server
        // redirects with), and ureq-proto hex-dumps every byte on the wire, secrets included.
        // ureq asks `log_enabled!(Trace)` before showing those, so refusing what the library's
        // `reveals_wire_data` names keeps them redacted at any verbosity; ureq's debug lines
        // (method, host, status, the non-sensitive headers) still show with -vv.
        if smart_client::reveals_wire_data(metadata) {
            return false;
        }
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        errln!("{level} {}: {}", record.target(), record.args());
    }

    fn flush(&self) {}
}

/// Installs the logger: warnings always, more with each `-v`.
pub(crate) fn init(verbosity: u8) {
    let level = match verbosity {
        0 => LevelFilter::Warn,
        1 => LevelFilter::Info,
        2 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    let logger = Box::leak(Box::new(StderrLogger { level }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
}
