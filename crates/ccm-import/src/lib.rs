//! Import of the Cloud Security Alliance's Cloud Controls Matrix (CCM) text
//! from the user's own licensed copy.
//!
//! Shieldwall refers to CCM controls by id only. The control text is CSA's
//! and is not shipped: a user who holds CSA's distribution file (the
//! `CCMv4.x.x.xlsx` workbook, or a JSON form of it) imports it into their
//! own data directory, and Shieldwall then shows the full text from there.
//!
//! # What is read
//!
//! The format is detected from the content, not the file name: a ZIP
//! signature (`PK\x03\x04`) means an XLSX workbook, a leading `{` or `[`
//! means JSON. Anything else is refused with a message saying what it looks
//! like (legacy `.xls`, CSV, empty).
//!
//! * **XLSX, CCM v4.x**: the controls are on the sheet `CCM`. Title rows
//!   come first, then a header row with `Control Domain`, `Control Title`,
//!   `Control ID`, `Control Specification` (and more columns after). Each
//!   domain opens with a heading row (`Audit & Assurance - A&A`) whose other
//!   cells are empty; the sheet ends with an `End of Standard` row and a
//!   copyright line.
//! * **XLSX, CCM v3.0.1**: one sheet (`CSA CCM v3.0.1`-like name) with a title
//!   row, a header row `Control Domain`, `CCM V3.0 Control ID`, `Updated
//!   Control Specification`, ... over sub-header rows. There is no title
//!   column: the domain cell reads `Domain⏎Control title`.
//! * **JSON**: flat lists of control objects, objects keyed by control id,
//!   domains holding `controls`, and OSCAL catalogs; see [`read_ccm_bytes`].
//!
//! The XLSX reader does not depend on row or column positions: it searches
//! the first 20 rows of each sheet (the sheet named `CCM` first) for a row
//! naming an id column and a specification column, compares header text
//! without regard to case and whitespace, and accepts several spellings.
//! Heading, blank, sub-header and trailer rows are skipped; text is
//! trimmed.
//!
//! Files over [`MAX_FILE_BYTES`] are refused unread, as are workbooks that
//! decompress to more than 256 MiB and files with more than
//! [`MAX_CONTROLS`] controls. A control id that appears twice, or a file
//! with no controls, is an error.
//!
//! # Storing
//!
//! [`TextStore`] keeps one JSON file per imported release under
//! `<data dir>/ccm-text/<framework key>.json`, written atomically with mode
//! `0600` (the text stays the user's licensed copy).
//!
//! # Example
//!
//! ```
//! use shieldwall_ccm_import::{read_ccm_bytes, SourceFormat, TextStore};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Normally: read_ccm_file(Path::new("CCMv4.0.13.xlsx"))?
//! let json = br#"[{"id": "AIS-01", "domainName": "Application & Interface Security",
//!                  "title": "Synthetic Title", "controlSpecification": "Synthetic specification for AIS-01."}]"#;
//! let imported = read_ccm_bytes("ccm.json", json)?;
//! assert_eq!(imported.format, SourceFormat::Json);
//!
//! let data_dir = tempfile::tempdir()?;
//! let store = TextStore::open(data_dir.path())?;
//! let written = store.save("ccm-4.0.13", &imported)?;
//! assert!(written.ends_with("ccm-text/ccm-4.0.13.json"));
//!
//! let control = store.lookup("ccm-4.0.13", "AIS-01")?.ok_or("not stored")?;
//! assert_eq!(control.specification, "Synthetic specification for AIS-01.");
//! # Ok(())
//! # }
//! ```

mod error;
mod json;
mod store;
mod text;
mod xlsx;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use error::{Column, ImportError, Location};
pub use store::TextStore;

/// Largest file [`read_ccm_file`] and [`read_ccm_bytes`] accept: 64 MiB.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Most controls a file may hold. CCM v4 has 197 (v4.1: 207), so anything
/// near this is not a CCM file.
pub const MAX_CONTROLS: usize = 10_000;

/// The text of one control, as CSA publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlText {
    /// Control id, without whitespace (`A&A-01`).
    pub id: String,
    /// Domain name (`Audit & Assurance`), when the file gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Control title, when the file gives one (v3.0.1 files carry it in the
    /// domain cell, and it is taken from there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The control specification, trimmed; line breaks inside it are kept.
    pub specification: String,
}

/// Which kind of file the text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    /// An Excel workbook (`.xlsx`).
    Xlsx,
    /// A JSON document.
    Json,
}

/// The controls read from one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedCcm {
    /// The file's name (without its directory).
    pub source_file: String,
    /// The detected format.
    pub format: SourceFormat,
    /// The controls, in file order; ids are unique.
    pub controls: Vec<ControlText>,
}

/// Gathers controls, refusing duplicate ids and more than [`MAX_CONTROLS`].
pub(crate) struct Collector {
    file: String,
    controls: Vec<ControlText>,
    seen: HashMap<String, Location>,
}

impl Collector {
    fn new(file: &str) -> Self {
        Collector {
            file: file.to_string(),
            controls: Vec::new(),
            seen: HashMap::new(),
        }
    }

    pub(crate) fn push(
        &mut self,
        control: ControlText,
        location: Location,
    ) -> Result<(), ImportError> {
        if let Some(first) = self.seen.get(&control.id) {
            return Err(ImportError::DuplicateId {
                file: self.file.clone(),
                id: control.id,
                first: Box::new(first.clone()),
                second: Box::new(location),
            });
        }
        if self.controls.len() >= MAX_CONTROLS {
            return Err(ImportError::TooManyControls {
                file: self.file.clone(),
                limit: MAX_CONTROLS,
                location,
            });
        }
        self.seen.insert(control.id.clone(), location);
        self.controls.push(control);
        Ok(())
    }
}

/// Reads a CCM file from disk. The format is detected from the content.
///
/// Error messages name the file as `path` displays it; the returned
/// [`ImportedCcm::source_file`] holds only the file name.
///
/// # Errors
///
/// [`ImportError::Io`] when the file cannot be read,
/// [`ImportError::TooLarge`] over [`MAX_FILE_BYTES`], and every error of
/// [`read_ccm_bytes`].
pub fn read_ccm_file(path: &Path) -> Result<ImportedCcm, ImportError> {
    let shown = path.display().to_string();
    let io_err = |source| ImportError::Io {
        file: shown.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let size = file.metadata().map_err(io_err)?.len();
    if size > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge {
            file: shown,
            what: "the file",
            size,
            limit: MAX_FILE_BYTES,
        });
    }
    // The file may grow between the size check and the read.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    let name = path
        .file_name()
        .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());
    let mut imported = read_named(&shown, &bytes)?;
    imported.source_file = name;
    Ok(imported)
}

/// Reads a CCM file held in memory; `name` is used in error messages and as
/// [`ImportedCcm::source_file`]. Never panics, whatever the bytes.
///
/// # Errors
///
/// * [`ImportError::TooLarge`]: over [`MAX_FILE_BYTES`], or an XLSX that
///   expands to more than 256 MiB.
/// * [`ImportError::UnknownFormat`]: neither XLSX nor JSON (e.g. CSV, `.xls`,
///   empty).
/// * [`ImportError::Xlsx`], [`ImportError::Json`]: the file does not parse.
/// * [`ImportError::NoHeader`], [`ImportError::Content`]: the workbook has no
///   usable header row, or a row or JSON node is not what was expected.
/// * [`ImportError::DuplicateId`], [`ImportError::NoControls`],
///   [`ImportError::TooManyControls`].
pub fn read_ccm_bytes(name: &str, bytes: &[u8]) -> Result<ImportedCcm, ImportError> {
    read_named(name, bytes)
}

fn read_named(name: &str, bytes: &[u8]) -> Result<ImportedCcm, ImportError> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge {
            file: name.to_string(),
            what: "the file",
            size,
            limit: MAX_FILE_BYTES,
        });
    }
    let format = detect(name, bytes)?;
    let mut out = Collector::new(name);
    match format {
        SourceFormat::Xlsx => xlsx::read(name, bytes, &mut out)?,
        SourceFormat::Json => json::read(name, bytes, &mut out)?,
    }
    Ok(ImportedCcm {
        source_file: name.to_string(),
        format,
        controls: out.controls,
    })
}

/// Decides the format from the first bytes.
fn detect(name: &str, bytes: &[u8]) -> Result<SourceFormat, ImportError> {
    let unknown = |reason: &str| ImportError::UnknownFormat {
        file: name.to_string(),
        reason: reason.to_string(),
    };
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Ok(SourceFormat::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Err(unknown(
            "this is a legacy Excel .xls file or a password-protected workbook; \
             open it in a spreadsheet program and save it, unprotected, as .xlsx",
        ));
    }
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(unknown("the file is empty")),
        Some(b'{' | b'[') => Ok(SourceFormat::Json),
        Some(_) => {
            let head = text.get(..text.len().min(4096)).unwrap_or(text);
            let first_line = head.split(|b| *b == b'\n').next().unwrap_or(head);
            let is_text = std::str::from_utf8(head).is_ok()
                || std::str::from_utf8(first_line).is_ok_and(|l| !l.contains('\0'));
            if is_text && first_line.iter().any(|b| matches!(b, b',' | b';' | b'\t')) {
                Err(unknown(
                    "it looks like CSV or other delimited text; use CSA's .xlsx workbook \
                     (or a JSON export) instead",
                ))
            } else {
                Err(unknown(
                    "expected an XLSX workbook (a ZIP file starting with \"PK\") or a JSON \
                     document (starting with '{' or '[')",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        assert_eq!(
            detect("a", b"PK\x03\x04rest").ok(),
            Some(SourceFormat::Xlsx)
        );
        assert_eq!(
            detect("a", b"\xEF\xBB\xBF \n[1]").ok(),
            Some(SourceFormat::Json)
        );
        assert_eq!(detect("a", b"  {}").ok(), Some(SourceFormat::Json));
        let msg = |b: &[u8]| {
            detect("f.bin", b)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(msg(b"").contains("empty"));
        assert!(msg(b" \n\t").contains("empty"));
        assert!(msg(b"Control ID,Control Specification\n").contains("CSV"));
        assert!(msg(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]).contains(".xls"));
        assert!(msg(&[0x00, 0x9f, 0x92, 0x96]).contains("expected an XLSX workbook"));
    }
}
