//! The user's local store of imported control text.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{ControlText, ImportError, ImportedCcm, MAX_CONTROLS, MAX_FILE_BYTES, SourceFormat};

/// Sub-directory of the store root that holds the text files.
const TEXT_DIR: &str = "ccm-text";
/// Version of the stored file layout.
const FORMAT_VERSION: u32 = 1;
/// Longest framework key accepted.
const MAX_KEY_LEN: usize = 64;

/// The stored file: one per framework key.
#[derive(Debug, Serialize, Deserialize)]
struct StoredFile {
    format_version: u32,
    framework_key: String,
    source_file: String,
    source_format: SourceFormat,
    controls: Vec<ControlText>,
}

/// Imported CCM text kept in the user's data directory, one JSON file per
/// framework key at `<dir>/ccm-text/<framework_key>.json`.
///
/// Files are written atomically (a temporary file in the same directory,
/// flushed to disk, then renamed over the old one) and, on Unix, with mode
/// `0600` in a `0700` directory: the text is the user's licensed copy.
#[derive(Debug, Clone)]
pub struct TextStore {
    root: PathBuf,
}

fn store_err(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> ImportError {
    let path = path.to_path_buf();
    move |source| ImportError::Store {
        path,
        action,
        source,
    }
}

/// Checks that a framework key (`ccm-4.0.13`) can be used as a file name.
fn validate_key(key: &str) -> Result<(), ImportError> {
    let reason = if key.is_empty() {
        Some("it is empty")
    } else if key.chars().count() > MAX_KEY_LEN {
        Some("it is longer than 64 characters")
    } else if !key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        Some("it must start with an ASCII letter or digit")
    } else if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        Some("it may contain only ASCII letters, digits, '.', '-' and '_' (no path separators)")
    } else if key.contains("..") {
        Some("it must not contain \"..\"")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ImportError::InvalidFrameworkKey {
            key: key.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

impl TextStore {
    /// Opens (creating it if needed) a store rooted at `dir`, normally the
    /// user's Shieldwall data directory.
    ///
    /// # Errors
    ///
    /// [`ImportError::Store`] when `dir` cannot be created or is not a
    /// directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, ImportError> {
        let root = dir.as_ref().to_path_buf();
        fs::create_dir_all(&root).map_err(store_err(&root, "cannot create directory"))?;
        let meta = fs::metadata(&root).map_err(store_err(&root, "cannot read directory"))?;
        if !meta.is_dir() {
            return Err(ImportError::Store {
                path: root,
                action: "cannot use as the store directory",
                source: std::io::Error::other("not a directory"),
            });
        }
        Ok(TextStore { root })
    }

    /// The directory the store was opened at.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn text_dir(&self) -> PathBuf {
        self.root.join(TEXT_DIR)
    }

    fn file_for(&self, framework_key: &str) -> Result<PathBuf, ImportError> {
        validate_key(framework_key)?;
        Ok(self.text_dir().join(format!("{framework_key}.json")))
    }

    /// Stores `imported` under `framework_key` (e.g. `ccm-4.0.13`),
    /// replacing any earlier import under that key. Returns the file
    /// written.
    ///
    /// # Errors
    ///
    /// [`ImportError::InvalidFrameworkKey`] for a key that is not a plain
    /// file name; [`ImportError::InvalidData`] for an empty control list,
    /// duplicate ids or more than [`MAX_CONTROLS`]; [`ImportError::Store`]
    /// when writing fails (the previous file, if any, is then left as it
    /// was).
    pub fn save(
        &self,
        framework_key: &str,
        imported: &ImportedCcm,
    ) -> Result<PathBuf, ImportError> {
        let target = self.file_for(framework_key)?;
        let invalid = |problem: String| ImportError::InvalidData {
            framework_key: framework_key.to_string(),
            problem,
        };
        if imported.controls.is_empty() {
            return Err(invalid("there are no controls".to_string()));
        }
        if imported.controls.len() > MAX_CONTROLS {
            return Err(invalid(format!("more than {MAX_CONTROLS} controls")));
        }
        let mut ids = HashSet::new();
        for c in &imported.controls {
            if !ids.insert(c.id.as_str()) {
                return Err(invalid(format!("control id {:?} appears twice", c.id)));
            }
        }

        let dir = self.text_dir();
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&dir)
            .map_err(store_err(&dir, "cannot create directory"))?;

        let stored = StoredFile {
            format_version: FORMAT_VERSION,
            framework_key: framework_key.to_string(),
            source_file: imported.source_file.clone(),
            source_format: imported.format,
            controls: imported.controls.clone(),
        };
        let mut body = serde_json::to_vec_pretty(&stored)
            .map_err(|e| invalid(format!("cannot encode as JSON: {e}")))?;
        body.push(b'\n');

        let mut tmp = tempfile::Builder::new()
            .prefix(&format!(".{framework_key}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(store_err(&dir, "cannot create a temporary file in"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(store_err(tmp.path(), "cannot set permissions on"))?;
        }
        tmp.write_all(&body)
            .map_err(store_err(tmp.path(), "cannot write"))?;
        tmp.as_file()
            .sync_all()
            .map_err(store_err(tmp.path(), "cannot flush to disk"))?;
        // On failure the temporary file is dropped, which deletes it.
        tmp.persist(&target).map_err(|e| ImportError::Store {
            path: target.clone(),
            action: "cannot move the new file into place",
            source: e.error,
        })?;
        #[cfg(unix)]
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(store_err(&dir, "cannot flush directory to disk"))?;
        Ok(target)
    }

    /// Loads the controls stored under `framework_key`, by id; `Ok(None)`
    /// when nothing was imported under that key.
    ///
    /// # Errors
    ///
    /// [`ImportError::InvalidFrameworkKey`], [`ImportError::Store`] when the
    /// file cannot be read, [`ImportError::CorruptStore`] when it is not what
    /// [`save`](Self::save) writes.
    pub fn load(
        &self,
        framework_key: &str,
    ) -> Result<Option<BTreeMap<String, ControlText>>, ImportError> {
        let path = self.file_for(framework_key)?;
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(store_err(&path, "cannot open")(e)),
        };
        // Stored text is re-encoded JSON of at most a 64 MiB import; allow
        // for escaping, and refuse anything past that.
        let limit = MAX_FILE_BYTES.saturating_mul(2);
        let mut bytes = Vec::new();
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(store_err(&path, "cannot read"))?;
        let corrupt = |message: String| ImportError::CorruptStore {
            path: path.clone(),
            message,
        };
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
            return Err(corrupt(format!("larger than {limit} bytes")));
        }
        let stored: StoredFile =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if stored.format_version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {} (this build reads version {FORMAT_VERSION})",
                stored.format_version
            )));
        }
        if stored.framework_key != framework_key {
            return Err(corrupt(format!(
                "it holds framework key {:?}, not {framework_key:?}",
                stored.framework_key
            )));
        }
        let mut map = BTreeMap::new();
        for c in stored.controls {
            let id = c.id.clone();
            if map.insert(id.clone(), c).is_some() {
                return Err(corrupt(format!("control id {id:?} appears twice")));
            }
        }
        Ok(Some(map))
    }

    /// The stored text of one control. `Ok(None)` when the framework was not
    /// imported or has no such control.
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load).
    pub fn lookup(
        &self,
        framework_key: &str,
        control_id: &str,
    ) -> Result<Option<ControlText>, ImportError> {
        Ok(self
            .load(framework_key)?
            .and_then(|mut m| m.remove(control_id.trim())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["ccm-4.0.13", "ccm_3.0.1", "CCM4", "a"] {
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "-x",
            "a/b",
            "a\\b",
            "../etc",
            "a..b",
            "ccm 4",
            "ccm\0",
            "ccm-4.0.13/",
            "é",
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        assert!(validate_key(&"a".repeat(65)).is_err());
    }
}
