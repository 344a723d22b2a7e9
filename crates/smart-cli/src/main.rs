//! The `smart` command: SMART on FHIR from the command line. See the README.
// Output goes through `output::outln!` and `output::errln!`, which never panic on a closed pipe;
// the workspace's `print_stdout` / `print_stderr` lints catch a stray `println!`.

mod output;

mod args;
mod clients_file;
mod commands;
mod common;
mod demo;
mod failure;
mod launch;
mod listener;
mod local;
mod logger;
mod messages;
mod sandbox;
mod udap;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, TokenCommand};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with code 0; usage errors exit with 2.
            // clap returns write errors (a closed pipe) instead of panicking.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    logger::init(cli.global.verbose);
    let global = &cli.global;
    let result = match &cli.command {
        Command::Discover(args) => commands::discover(global, args),
        Command::AuthorizeUrl(args) => commands::authorize_url(global, args),
        Command::Launch(args) => launch::launch(global, args),
        Command::Token(TokenCommand::Exchange(args)) => commands::exchange(global, args),
        Command::Token(TokenCommand::Refresh(args)) => commands::refresh(global, args),
        Command::Token(TokenCommand::Backend(args)) => commands::backend(global, args),
        Command::Introspect(args) => commands::introspect(global, args),
        Command::Revoke(args) => commands::revoke(global, args),
        Command::Register(args) => commands::register(global, args),
        Command::Keygen(args) => commands::keygen(global, args),
        Command::Jwks(args) => commands::jwks(global, args),
        Command::Assertion(args) => commands::assertion(global, args),
        Command::Udap(args::UdapCommand::Discover(args)) => udap::run_discover(global, args),
        Command::Udap(args::UdapCommand::Register(args)) => udap::run_register(global, args),
        Command::Sandbox(args) => sandbox::run(global, args),
        Command::Demo(args) => demo::run(global, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output::exit_on_closed_pipe(failure.exit_code());
            failure.report(global.json);
            ExitCode::from(failure.exit_code())
        }
    }
}
