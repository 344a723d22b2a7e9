//! `cargo xtask conformance --launcher DIR`: every SMART flow × client type against the SMART
//! reference server, smart-launcher-v2, started here from its source on loopback.
//!
//! The source is copied into `target/launcher/src` (DIR may be read-only), its packages are
//! installed with `npm ci --ignore-scripts` (again only when `package-lock.json` changed), and
//! the server runs on a free 127.0.0.1 port with `NODE_ENV=production` and `FHIR_SERVER_R2`,
//! `FHIR_SERVER_R3`, `FHIR_SERVER_R4` set to empty strings: left unset, it proxies FHIR
//! requests to public servers. The flows run through the `smart-conformance` binary; the
//! server is stopped whatever the outcome. Client failures fail the task; the server's own
//! laxities are server findings and do not.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Error, cargo, run, target_directory, workspace_root};

/// Where this repository's CI finds the launcher source, relative to the repository.
pub(crate) const CI_LAUNCHER: &str = "../shared/peers/smart-launcher-v2";
/// How long the server may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The CI step: runs when the launcher source is present, says why it is skipped otherwise.
pub(crate) fn ci_step() -> Result<(), Error> {
    let dir = workspace_root().join(CI_LAUNCHER);
    if dir.join("package-lock.json").is_file() {
        run_launcher(&dir)
    } else {
        println!(
            "\n==> conformance against smart-launcher-v2: skipped: {} is absent (its source is \
             there only in this repository's CI; run `cargo xtask conformance --launcher DIR` \
             with a copy of smart-launcher-v2 v2.0.1)",
            dir.display()
        );
        Ok(())
    }
}

/// Installs, starts, runs the flows against, and stops the launcher in `dir`.
pub(crate) fn run_launcher(dir: &Path) -> Result<(), Error> {
    let started = Instant::now();
    let lock = fs::read(dir.join("package-lock.json")).map_err(|error| {
        Error::Usage(format!(
            "--launcher {}: no package-lock.json there ({error}); give the smart-launcher-v2 source folder",
            dir.display()
        ))
    })?;
    let work = target_directory()?.join("launcher");
    let src = work.join("src");
    crate::util::copy_tree(dir, &src).map_err(|error| {
        Error::Failed(format!(
            "copying {} to {}: {error}",
            dir.display(),
            src.display()
        ))
    })?;
    install(&src, &lock)?;
    let port = free_port()?;
    let log = work.join("server.log");
    let mut server = Server::start(&src, port, &log)?;
    server.wait_until_listening(port, &log)?;
    println!(
        "    smart-launcher-v2 listening on 127.0.0.1:{port} (log: {})",
        log.display()
    );
    let base = format!("http://127.0.0.1:{port}");
    let result = run(
        "conformance (smart-launcher-v2)",
        cargo().args([
            "run",
            "--quiet",
            "--locked",
            "--package",
            "smart-conformance",
            "--bin",
            "smart-conformance",
            "--",
            "launcher",
            &base,
        ]),
    );
    drop(server);
    println!(
        "    smart-launcher-v2 conformance took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    result
}

/// FNV-1a, 64 bits: a stable fingerprint of the lockfile for the install cache (not security).
fn fingerprint(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}-{}", bytes.len())
}

/// `npm ci --ignore-scripts`, skipped when the installed packages match this lockfile.
fn install(src: &Path, lock: &[u8]) -> Result<(), Error> {
    let stamp = src.join("node_modules").join(".smart-lock-fingerprint");
    let wanted = fingerprint(lock);
    if fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) {
        println!("    npm packages already installed for this package-lock.json ({wanted})");
        return Ok(());
    }
    run(
        "npm ci",
        Command::new("npm").current_dir(src).args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
        ]),
    )?;
    fs::write(&stamp, wanted)
        .map_err(|error| Error::Failed(format!("writing {}: {error}", stamp.display())))
}

fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|error| Error::Failed(format!("no free loopback port: {error}")))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|error| Error::Failed(format!("no free loopback port: {error}")))
}

/// The running launcher; dropped, it is stopped.
struct Server {
    child: Child,
}

impl Server {
    fn start(src: &Path, port: u16, log: &Path) -> Result<Self, Error> {
        let file = fs::File::create(log)
            .map_err(|error| Error::Failed(format!("creating {}: {error}", log.display())))?;
        let err = file
            .try_clone()
            .map_err(|error| Error::Failed(format!("{}: {error}", log.display())))?;
        let child = Command::new("node")
            .current_dir(src)
            .args([
                "node_modules/.bin/ts-node",
                "--skipProject",
                "--transpile-only",
                "backend/index.ts",
            ])
            .env("NODE_ENV", "production")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            // Empty, never unset: unset, the launcher proxies to public FHIR servers.
            .env("FHIR_SERVER_R2", "")
            .env("FHIR_SERVER_R3", "")
            .env("FHIR_SERVER_R4", "")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|error| {
                Error::Failed(format!(
                    "cannot start smart-launcher-v2 with `node` (is Node.js installed?): {error}"
                ))
            })?;
        Ok(Self { child })
    }

    fn wait_until_listening(&mut self, port: u16, log: &Path) -> Result<(), Error> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::Failed(format!(
                    "smart-launcher-v2 exited ({status}) before it listened; see {}",
                    log.display()
                )));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(Error::Failed(format!(
            "smart-launcher-v2 did not listen on 127.0.0.1:{port} within {} s; see {}",
            START_TIMEOUT.as_secs(),
            log.display()
        )))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_changes_with_the_lockfile() {
        assert_eq!(fingerprint(b"abc"), fingerprint(b"abc"));
        assert_ne!(fingerprint(b"abc"), fingerprint(b"abd"));
        assert_eq!(fingerprint(b""), "cbf29ce484222325-0");
    }
}
