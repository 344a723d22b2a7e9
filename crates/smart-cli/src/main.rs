//! The `smart` command. Its subcommands arrive with the front-door issue; see the README.
#![allow(clippy::print_stderr, reason = "a command-line tool reports on stderr")]

fn main() {
    eprintln!(
        "smart: no subcommands yet; see crates/smart-cli/README.md for what this tool will do"
    );
    std::process::exit(2);
}
