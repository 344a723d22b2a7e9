//! Running commands and finding the workspace.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a task failed.
#[derive(Debug)]
pub(crate) enum Error {
    /// The command line was wrong.
    Usage(String),
    /// A step failed; the message says which and what to do.
    Failed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) | Self::Failed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// `cargo`, as the one running this task.
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(workspace_root());
    command
}

/// Runs `command`, echoing it first; a non-zero exit is an error naming the step.
pub(crate) fn run(step: &str, command: &mut Command) -> Result<(), Error> {
    println!("\n==> {step}: {}", render(command));
    let status = command.status().map_err(|error| {
        Error::Failed(format!(
            "{step}: could not start `{}`: {error}",
            render(command)
        ))
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "{step} failed ({status}): `{}`",
            render(command)
        )))
    }
}

/// Runs `command` and returns its standard output.
pub(crate) fn output(step: &str, command: &mut Command) -> Result<String, Error> {
    let out = command.output().map_err(|error| {
        Error::Failed(format!(
            "{step}: could not start `{}`: {error}",
            render(command)
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "{step} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    String::from_utf8(out.stdout).map_err(|_| Error::Failed(format!("{step}: output is not UTF-8")))
}

/// Whether `cargo <sub>` is installed.
pub(crate) fn has_cargo_subcommand(sub: &str) -> bool {
    cargo()
        .args([sub, "--version"])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn render(command: &Command) -> String {
    let mut text = String::new();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            text.push_str(&key.to_string_lossy());
            text.push('=');
            text.push_str(&value.to_string_lossy());
            text.push(' ');
        }
    }
    text.push_str(&command.get_program().to_string_lossy());
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// cargo's target directory (it follows `CARGO_TARGET_DIR` and the cargo configuration).
pub(crate) fn target_directory() -> Result<PathBuf, Error> {
    let json = output(
        "cargo metadata",
        cargo().args(["metadata", "--format-version", "1", "--no-deps"]),
    )?;
    let metadata: serde_json::Value = serde_json::from_str(&json)
        .map_err(|error| Error::Failed(format!("cargo metadata: invalid JSON: {error}")))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| Error::Failed("cargo metadata: no `target_directory`".to_owned()))
}

/// Copies `from` into `to`, leaving out `node_modules` and `.git` (and keeping an installed
/// `node_modules` in `to`).
pub(crate) fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "node_modules" || name == ".git" {
            continue;
        }
        let target = to.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
