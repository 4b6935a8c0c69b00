//! Private key files: created with owner-only permissions (0600) and never overwritten; refused
//! when group or others can read or write them, as OpenSSH refuses a private key.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A key file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Reading or creating it failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Group or others may read or write it.
    #[error(
        "key file {path} has mode {mode:o}: others than its owner may read or write it; run `chmod 600 {path}` (and consider the key exposed)"
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Its content is not a key of the expected kind.
    #[error("key file {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The system's random source failed.
    #[error("the system's random number generator failed")]
    NoRandomness,
}

/// Reads a key file after checking its permissions.
pub(crate) fn read_private(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let metadata = fs::metadata(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Exposed {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    fs::read(path).map_err(io)
}

/// Writes a new key file (mode 0600, parent directories 0700 when created); an existing file is
/// never overwritten.
pub(crate) fn create_private(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(parent).map_err(io)?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Reads the key file, or creates it with `make` when it does not exist.
pub(crate) fn read_or_create(
    path: &Path,
    make: impl FnOnce() -> Result<Vec<u8>, KeyFileError>,
) -> Result<Vec<u8>, KeyFileError> {
    match read_private(path) {
        Err(KeyFileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            let bytes = make()?;
            match create_private(path, &bytes) {
                Ok(()) => Ok(bytes),
                // Another process created it meanwhile: use theirs.
                Err(KeyFileError::Io { source, .. })
                    if source.kind() == io::ErrorKind::AlreadyExists =>
                {
                    read_private(path)
                }
                Err(e) => Err(e),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_files_are_private_and_exposed_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/k");
        let made = read_or_create(&path, || Ok(vec![1, 2, 3])).unwrap();
        assert_eq!(made, [1, 2, 3]);
        let again = read_or_create(&path, || Ok(vec![9])).unwrap();
        assert_eq!(again, [1, 2, 3], "an existing key was replaced");
        assert!(
            create_private(&path, &[4]).is_err(),
            "a key was overwritten"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
            let error = read_private(&path).unwrap_err();
            assert!(
                matches!(error, KeyFileError::Exposed { mode: 0o640, .. }),
                "{error}"
            );
            assert!(error.to_string().contains("chmod 600"), "{error}");
        }
    }
}
