//! Reading the user's own files with a size limit, and refusing what is not a regular file
//! (`/dev/zero`, a FIFO, a directory), so a wrong path can neither hang the command nor make
//! it grow without bound.

use std::fs;
use std::io::Read;
use std::path::Path;

use crate::failure::Failure;

/// Keys, secrets, callback URLs and pending authorizations: 1 MiB.
pub(crate) const SMALL_FILE: u64 = 1024 * 1024;
/// Clients files and registration metadata: 8 MiB.
pub(crate) const LARGE_FILE: u64 = 8 * 1024 * 1024;

/// The limit as people write it.
fn limit_text(limit: u64) -> String {
    format!("{} MiB", limit / (1024 * 1024))
}

/// The whole of `path` as text, refusing a file that is not a regular file or is larger than
/// `limit` bytes. `what` names the file in messages ("key", "clients file").
pub(crate) fn read_text(path: &Path, what: &str, limit: u64) -> Result<String, Failure> {
    let shown = path.display();
    let cannot = |error: std::io::Error| {
        Failure::usage(format!("cannot read the {what} from {shown}: {error}"))
    };
    let not_regular = || {
        Failure::usage(format!(
            "cannot read the {what} from {shown}: it is not a regular file (a directory, a device or a FIFO); give the path of a file"
        ))
    };
    // Looked at before opening: opening a FIFO would wait for a writer.
    if !fs::metadata(path).map_err(cannot)?.is_file() {
        return Err(not_regular());
    }
    let file = fs::File::open(path).map_err(cannot)?;
    // Checked again on what was opened, in case the path changed in between.
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(Failure::usage(format!(
            "cannot read the {what} from {shown}: it is larger than {}, the limit for a {what}; check the path",
            limit_text(limit)
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        Failure::usage(format!(
            "cannot read the {what} from {shown}: it is not UTF-8 text"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<String, Failure>) -> String {
        match result {
            Ok(text) => panic!("read {} bytes", text.len()),
            Err(failure) => failure.message().to_owned(),
        }
    }

    #[test]
    fn limits_devices_directories_and_encoding() {
        let dir = std::env::temp_dir().join(format!("smart-cli-local-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let exact = dir.join("exact");
        fs::write(&exact, vec![b'a'; 1024]).unwrap();
        assert_eq!(read_text(&exact, "key", 1024).unwrap().len(), 1024);
        assert_eq!(
            message(read_text(&exact, "key", 1023)),
            format!(
                "cannot read the key from {}: it is larger than 0 MiB, the limit for a key; check the path",
                exact.display()
            )
        );
        let big = dir.join("big");
        fs::write(&big, vec![b'a'; 1024 * 1024 + 1]).unwrap();
        assert_eq!(
            message(read_text(&big, "pending authorization", SMALL_FILE)),
            format!(
                "cannot read the pending authorization from {}: it is larger than 1 MiB, the limit for a pending authorization; check the path",
                big.display()
            )
        );
        assert_eq!(
            message(read_text(&dir, "clients file", LARGE_FILE)),
            format!(
                "cannot read the clients file from {}: it is not a regular file (a directory, a device or a FIFO); give the path of a file",
                dir.display()
            )
        );
        let binary = dir.join("binary");
        fs::write(&binary, [0xff, 0xfe]).unwrap();
        assert_eq!(
            message(read_text(&binary, "key", SMALL_FILE)),
            format!(
                "cannot read the key from {}: it is not UTF-8 text",
                binary.display()
            )
        );
        let missing = dir.join("missing");
        assert!(
            message(read_text(&missing, "key", SMALL_FILE))
                .starts_with(&format!("cannot read the key from {}: ", missing.display()))
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn dev_zero_is_refused_at_once() {
        let started = std::time::Instant::now();
        assert_eq!(
            message(read_text(Path::new("/dev/zero"), "key", SMALL_FILE)),
            "cannot read the key from /dev/zero: it is not a regular file (a directory, a device or a FIFO); give the path of a file"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
