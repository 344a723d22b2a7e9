//! Writing to stdout and stderr without panicking.
//!
//! `println!` panics when stdout is a closed pipe (`smart demo | head -1`), and Rust ignores
//! `SIGPIPE`, so the command would die with a panic and exit code 101. Every line of output goes
//! through [`outln!`] instead: when the reader has gone away the command stops quietly with exit
//! code 0 (like `ripgrep`), or with the failure's code while it reports a failure, and any other
//! write failure is reported in one line with exit code 1.
//! Lines on stderr ([`errln!`]) are best effort: a closed stderr is ignored.

use std::fmt;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};

use serde_json::Value;
use smart_client::core::{escape_text, is_unsafe_char};

/// The exit code when stdout turns out to be a closed pipe: 0 while the command is going well,
/// the failure's own code while it reports a failure, so a closed pipe never turns a failure
/// into a success.
static CLOSED_PIPE_EXIT: AtomicU8 = AtomicU8::new(0);

/// From now on a closed stdout ends the process with `code` (a failure being reported).
pub(crate) fn exit_on_closed_pipe(code: u8) {
    CLOSED_PIPE_EXIT.store(code, Ordering::Relaxed);
}

/// Writes one line (or, with `print`-style use, any text) to stdout.
macro_rules! outln {
    () => {
        $crate::output::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes one line to stderr, best effort.
macro_rules! errln {
    () => {
        $crate::output::stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Writes text without a newline to stderr, best effort (the spinner).
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::output::stderr(format_args!($($arg)*))
    };
}

pub(crate) use {err, errln, outln};

/// Writes to stdout; a closed pipe ends the process quietly, with exit code 0 or, while a
/// failure is reported, with the failure's code.
pub(crate) fn stdout(text: fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    if let Err(error) = out.write_fmt(text).and_then(|()| out.flush()) {
        drop(out);
        if error.kind() == io::ErrorKind::BrokenPipe {
            // The reader has all it wanted (`| head`): stop, as SIGPIPE would, but quietly.
            std::process::exit(i32::from(CLOSED_PIPE_EXIT.load(Ordering::Relaxed)));
        }
        stderr(format_args!(
            "error: cannot write the output to stdout: {error}\n"
        ));
        std::process::exit(1);
    }
}

/// Writes to stderr and flushes; errors are ignored (there is nowhere left to report them).
pub(crate) fn stderr(text: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(text).and_then(|()| err.flush());
}

/// Server-derived (or file-derived) text as it may be shown in a terminal: the one escaping
/// helper of `smart_core` (C0, DEL, C1 and bidirectional controls escaped).
pub(crate) fn esc(text: &str) -> std::borrow::Cow<'_, str> {
    escape_text(text)
}

/// JSON text safe for a terminal: `serde_json` already escapes C0 controls; DEL, C1 and the
/// bidirectional controls are written as `\u` escapes too, which leaves the JSON value the
/// same.
pub(crate) fn json_text(value: &Value, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    } else {
        value.to_string()
    };
    // C0 characters outside strings are the layout's own newlines; inside strings serde_json
    // has escaped them already.
    let escaped = |c: char| c > '\u{1f}' && is_unsafe_char(c);
    if !text.chars().any(escaped) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escaped(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}
