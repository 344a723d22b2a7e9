//! `-v`: log lines on stderr. The library never logs secrets; this prints what it logs.

use log::{Level, LevelFilter, Log, Metadata, Record};

struct StderrLogger {
    level: LevelFilter,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // ureq's HTTP codec hex-dumps every byte on the wire at trace level, secrets included:
        // never print it, whatever the verbosity.
        if metadata.level() == Level::Trace && metadata.target().starts_with("ureq_proto") {
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
        eprintln!("{level} {}: {}", record.target(), record.args());
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
