//! The error type of this crate and the [`Location`] it uses to point into a
//! source file.

use std::fmt;
use std::path::PathBuf;

/// Where in a source file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A worksheet as a whole.
    Sheet {
        /// Sheet name as stored in the workbook.
        sheet: String,
    },
    /// A row of a worksheet, optionally narrowed to one column.
    Cell {
        /// Sheet name as stored in the workbook.
        sheet: String,
        /// 1-based row number, as a spreadsheet program shows it.
        row: u32,
        /// The column, if the problem is about one cell.
        column: Option<Column>,
    },
    /// A node of a JSON document, as a JSONPath-like string (`$.controls[3].id`).
    Json {
        /// Path from the document root.
        path: String,
    },
}

/// A worksheet column: its letter and the header text that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// 0-based column index.
    pub index: u32,
    /// The header cell's text (e.g. `Control Specification`).
    pub header: String,
}

impl Column {
    /// The column's letters as a spreadsheet program shows them (`A`, `Z`, `AA`).
    pub fn letters(&self) -> String {
        column_letters(self.index)
    }
}

/// Spreadsheet letters for a 0-based column index.
pub(crate) fn column_letters(index: u32) -> String {
    let mut n = u64::from(index) + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        // `rem` is below 26, so the addition stays within ASCII capitals.
        out.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sheet { sheet } => write!(f, "sheet {sheet:?}"),
            Location::Cell { sheet, row, column } => {
                write!(f, "sheet {sheet:?}, row {row}")?;
                if let Some(col) = column {
                    write!(f, ", column {} ({:?})", col.letters(), col.header)?;
                }
                Ok(())
            }
            Location::Json { path } => write!(f, "JSON path {path}"),
        }
    }
}

/// Everything that can go wrong while importing a CCM file or using the
/// [`TextStore`](crate::TextStore).
///
/// Every message starts with the file it is about. Problems with the
/// content also say where (sheet, row and column, or JSON path) and what
/// was expected there.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read the file: {source}")]
    Io {
        /// The file, as given.
        file: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file, or the data an XLSX file expands to, is over a size limit.
    #[error("{file}: {what} is {size} bytes, over the limit of {limit} bytes; refusing to read it")]
    TooLarge {
        /// The file, as given.
        file: String,
        /// What is too large (`the file`, `the decompressed workbook`).
        what: &'static str,
        /// The size found (for streams: the size reached when reading stopped).
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// The content is neither an XLSX workbook nor a JSON document.
    #[error("{file}: not a Cloud Controls Matrix file: {reason}")]
    UnknownFormat {
        /// The file, as given.
        file: String,
        /// What was found and what was expected.
        reason: String,
    },

    /// The file starts like a ZIP/XLSX file but cannot be read as a workbook.
    #[error("{file}: cannot read the XLSX workbook: {message}")]
    Xlsx {
        /// The file, as given.
        file: String,
        /// The reader's description of the problem.
        message: String,
    },

    /// The file starts like JSON but does not parse.
    #[error("{file}: invalid JSON: {message}")]
    Json {
        /// The file, as given.
        file: String,
        /// The parser's description, with line and column.
        message: String,
    },

    /// The file was read but a part of it is not what a CCM file holds.
    #[error("{file}: {location}: {problem}")]
    Content {
        /// The file, as given.
        file: String,
        /// Where the problem is.
        location: Location,
        /// What was found and what was expected.
        problem: String,
    },

    /// No header row with the required columns was found in any sheet.
    #[error(
        "{file}: no sheet has a header row with {required} columns in the first {rows} rows \
         (sheets examined: {sheets})"
    )]
    NoHeader {
        /// The file, as given.
        file: String,
        /// The required columns, quoted.
        required: String,
        /// How many rows of each sheet were searched.
        rows: u32,
        /// The sheets that were examined, quoted.
        sheets: String,
    },

    /// Two controls share an id.
    #[error("{file}: duplicate control id {id:?}: first at {first}, again at {second}")]
    DuplicateId {
        /// The file, as given.
        file: String,
        /// The repeated id.
        id: String,
        /// Where it first appears.
        first: Box<Location>,
        /// Where it appears again.
        second: Box<Location>,
    },

    /// The file was read but holds no controls.
    #[error("{file}: no controls found: {detail}")]
    NoControls {
        /// The file, as given.
        file: String,
        /// Where the reader looked and what it expected.
        detail: String,
    },

    /// The file holds more controls than any CCM release has by far.
    #[error(
        "{file}: more than {limit} controls (at {location}); this is not a CCM file or it is damaged"
    )]
    TooManyControls {
        /// The file, as given.
        file: String,
        /// The limit.
        limit: usize,
        /// Where the limit was passed.
        location: Location,
    },

    /// A framework key is not usable as a store file name.
    #[error("invalid framework key {key:?}: {reason}")]
    InvalidFrameworkKey {
        /// The key as given.
        key: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The store could not be read or written.
    #[error("{}: {action}: {source}", path.display())]
    Store {
        /// The file or directory involved.
        path: PathBuf,
        /// What was being done (`cannot create directory`, `cannot write`, ...).
        action: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A stored text file exists but is not what [`TextStore::save`](crate::TextStore::save) writes.
    #[error("{}: stored CCM text is unreadable: {message}; import the CCM file again", path.display())]
    CorruptStore {
        /// The stored file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// [`TextStore::save`](crate::TextStore::save) was given data that could never have come from a reader.
    #[error("cannot store {framework_key:?}: {problem}")]
    InvalidData {
        /// The framework key being saved.
        framework_key: String,
        /// What is wrong.
        problem: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_match_spreadsheet_names() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(51), "AZ");
        assert_eq!(column_letters(52), "BA");
        assert_eq!(column_letters(16383), "XFD");
        // No overflow at the far end.
        assert!(
            column_letters(u32::MAX)
                .chars()
                .all(|c| c.is_ascii_uppercase())
        );
    }

    #[test]
    fn location_display() {
        let loc = Location::Cell {
            sheet: "CCM".into(),
            row: 7,
            column: Some(Column {
                index: 3,
                header: "Control Specification".into(),
            }),
        };
        assert_eq!(
            loc.to_string(),
            "sheet \"CCM\", row 7, column D (\"Control Specification\")"
        );
    }
}
