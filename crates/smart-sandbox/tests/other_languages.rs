//! The sandbox as a test server for apps in other languages: the SMART reference clients
//! client-py (`fhirclient` 4.4 from the Python Package Index) and client-js (npm `fhirclient` 2.6) each run a
//! standalone launch and an EHR launch against it, read the patient, refresh, and read again.
//!
//! Their packages, pinned in `tests/reference_clients/requirements.txt` and `package-lock.json`,
//! are installed once into the test's target directory (a Python venv, and `npm ci
//! --ignore-scripts`), again only when those files change. The tests need Python 3 with
//! `venv` and Node.js 18 or later, and reach the Python and npm package registries the first time; without
//! them they fail saying what is missing, never skip.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test: a panic is a failing test"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;
use smart_sandbox::{LaunchContext, Sandbox, demo};

/// The pinned files and the drivers, beside this test.
fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference_clients")
}

/// Where the packages are installed, with a stamp of the pinned file they came from.
fn work() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("reference_clients")
}

/// One install at a time (the two tests may run in parallel).
static INSTALL: Mutex<()> = Mutex::new(());

fn run(what: &str, command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{what}: cannot start it ({error}); is it installed?"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `install` in `dir` unless `dir/.stamp` holds `pinned`'s contents already.
fn installed(dir: &Path, pinned: &Path, install: impl FnOnce(&Path)) {
    let _one = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let wanted = std::fs::read(pinned).unwrap();
    let stamp = dir.join(".stamp");
    if std::fs::read(&stamp).is_ok_and(|have| have == wanted) {
        return;
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::create_dir_all(dir).unwrap();
    install(dir);
    std::fs::write(stamp, wanted).unwrap();
}

/// The venv's python, with client-py installed.
fn python() -> PathBuf {
    let dir = work().join("python");
    let requirements = sources().join("requirements.txt");
    installed(&dir, &requirements, |dir| {
        run(
            "python3 -m venv",
            Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(dir.join("venv")),
        );
        run(
            "pip install -r requirements.txt",
            Command::new(dir.join("venv/bin/python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&requirements),
        );
    });
    dir.join("venv/bin/python")
}

/// The folder holding client-js's `node_modules` and the driver.
fn node_app() -> PathBuf {
    let dir = work().join("js");
    let lock = sources().join("package-lock.json");
    installed(&dir, &lock, |dir| {
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(sources().join(file), dir.join(file)).unwrap();
        }
        run(
            "npm ci",
            Command::new("npm").current_dir(dir).args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ]),
        );
    });
    std::fs::copy(sources().join("client_js.js"), dir.join("client_js.js")).unwrap();
    dir
}

/// What a driver printed: its last line, a JSON object.
fn answer(stdout: &str) -> Value {
    let line = stdout
        .lines()
        .last()
        .expect("the driver printed its answer");
    serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {stdout}"))
}

/// Runs a driver for a standalone launch and for an EHR launch, each checked the same way.
fn both_launches(mut driver: impl FnMut(&Sandbox, Option<&str>) -> String) {
    let sandbox = Sandbox::start().unwrap();
    for launch in [None, Some(sandbox.launch(LaunchContext::demo()))] {
        sandbox.reset_token_requests();
        let kind = if launch.is_some() {
            "EHR"
        } else {
            "standalone"
        };
        let answer = answer(&driver(&sandbox, launch.as_deref()));
        assert_eq!(answer["patient"], demo::PATIENT_ID, "{kind}: {answer}");
        assert_eq!(
            answer["read_after_refresh"],
            demo::PATIENT_ID,
            "{kind}: {answer}"
        );
        assert_eq!(answer["refreshed"], true, "{kind}: {answer}");
        let counts = sandbox.token_requests(demo::PUBLIC_CLIENT_ID);
        assert_eq!(
            (
                counts.authorization_code,
                counts.refresh_token,
                counts.refused
            ),
            (1, 1, 0),
            "{kind}: {counts:?}"
        );
    }
}

#[test]
fn client_py_launches_and_refreshes() {
    let python = python();
    both_launches(|sandbox, launch| {
        let mut command = Command::new(&python);
        command
            .arg(sources().join("client_py.py"))
            .args([
                sandbox.base_url(),
                demo::PUBLIC_CLIENT_ID,
                demo::REDIRECT_URI,
            ])
            .args(launch);
        run("client-py", &mut command)
    });
}

#[test]
fn client_js_launches_and_refreshes() {
    let app = node_app();
    both_launches(|sandbox, launch| {
        let mut command = Command::new("node");
        command
            .current_dir(&app)
            .arg("client_js.js")
            .args([sandbox.base_url(), demo::PUBLIC_CLIENT_ID])
            .args(launch);
        run("client-js", &mut command)
    });
}
