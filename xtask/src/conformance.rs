//! `cargo xtask conformance`: every SMART flow against the embedded sandbox, or against any
//! SMART server, as a pass/fail table. It drives the `smart` binary (`smart demo --table`), so
//! xtask itself depends on no library crate. With `--launcher DIR` it starts the SMART
//! reference server from source and runs the harness against it ([`crate::launcher`]).

use crate::util::{Error, cargo, run};

pub(crate) fn run_flows(args: &[String]) -> Result<(), Error> {
    let mut passthrough: Vec<String> = Vec::new();
    let mut server = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--server" | "--clients" => {
                let value = iter
                    .next()
                    .ok_or_else(|| Error::Usage(format!("`{arg}` needs a value")))?;
                if arg == "--server" {
                    server = Some(value.clone());
                }
                passthrough.extend([arg.clone(), value.clone()]);
            }
            "--auto-approve" => passthrough.push(arg.clone()),
            "--launcher" => {
                let dir = iter.next().ok_or_else(|| {
                    Error::Usage("`--launcher` needs the smart-launcher-v2 folder".to_owned())
                })?;
                if iter.next().is_some() || !passthrough.is_empty() {
                    return Err(Error::Usage(
                        "`--launcher DIR` takes no other option".to_owned(),
                    ));
                }
                return crate::launcher::run_launcher(std::path::Path::new(dir));
            }
            other => {
                return Err(Error::Usage(format!(
                    "`conformance` does not take `{other}`"
                )));
            }
        }
    }
    let mut command = cargo();
    command.args([
        "run",
        "--quiet",
        "--locked",
        "--package",
        "smart-cli",
        "--bin",
        "smart",
        "--",
    ]);
    // A server on loopback over plain HTTP (such as `smart sandbox`) needs the opt-in; any
    // other http:// URL is refused by the client, as it should be.
    if server.as_deref().is_some_and(|url| {
        url.starts_with("http://127.0.0.1")
            || url.starts_with("http://localhost")
            || url.starts_with("http://[::1]")
    }) {
        command.arg("--allow-insecure-localhost");
    }
    command.args(["demo", "--table"]).args(&passthrough);
    run("conformance", &mut command)
}
