//! Reading CSA's CCM workbook (`.xlsx`).
//!
//! Layouts handled (see the crate docs for sources):
//!
//! * v4.x: sheet `CCM`; title rows, then a header row with `Control Domain`,
//!   `Control Title`, `Control ID`, `Control Specification` (and more);
//!   each domain starts with a heading row such as `Audit & Assurance - A&A`
//!   whose other cells are empty; an `End of Standard` row and a copyright
//!   line close the sheet.
//! * v3.0.1: a sheet such as `CSA CCM V3.0.1`; a title row, then a header
//!   row with `Control Domain`, `CCM V3.0 Control ID`, `Updated Control
//!   Specification` over two rows of sub-headers; no title column, the
//!   domain cell holds `Domain\nControl Title`.
//!
//! The reader does not rely on positions: it looks for the header row in
//! the first [`HEADER_SEARCH_ROWS`] rows of each sheet, preferring a sheet
//! named `CCM`, and takes the columns from it.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx, XlsxError};

use crate::error::{Column, ImportError, Location};
use crate::text::{
    clean_block, collapse_ws, domain_name_from_heading, looks_like_control_id, non_empty,
    normalize_header, split_v3_domain_cell, strip_ws,
};
use crate::{Collector, ControlText};

/// How many rows at the top of each sheet are searched for the header row.
pub(crate) const HEADER_SEARCH_ROWS: u32 = 20;
/// Most bytes the workbook's ZIP entries may expand to, all together.
pub(crate) const MAX_DECOMPRESSED: u64 = 256 * 1024 * 1024;
/// Most entries a workbook's ZIP may have.
const MAX_ZIP_ENTRIES: usize = 10_000;
/// Most cells read from one sheet.
const MAX_CELLS: u64 = 5_000_000;
/// Most cells read while looking for a header row in one sheet.
const MAX_HEADER_CELLS: u64 = 400_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Id,
    Spec,
    Title,
    Domain,
}

impl Role {
    const ALL: [Role; 4] = [Role::Id, Role::Spec, Role::Title, Role::Domain];

    fn display(self) -> &'static str {
        match self {
            Role::Id => "Control ID",
            Role::Spec => "Control Specification",
            Role::Title => "Control Title",
            Role::Domain => "Control Domain",
        }
    }

    /// Header spellings, already normalised by [`normalize_header`], best first.
    fn spellings(self) -> &'static [&'static str] {
        match self {
            Role::Id => &[
                "control id",
                "ccm control id",
                "ccm v4.0 control id",
                "ccm v3.0 control id",
                "ccm v3.0.1 control id",
                "control identifier",
                "control ref",
                "id",
            ],
            Role::Spec => &[
                "control specification",
                "updated control specification",
                "control specifications",
                "control spec",
                "specification",
            ],
            Role::Title => &["control title", "control name", "title"],
            Role::Domain => &[
                "control domain",
                "control domain name",
                "domain",
                "domain name",
            ],
        }
    }

    /// How well a normalised header cell names this role: higher is better.
    fn score(self, header: &str) -> Option<usize> {
        let spellings = self.spellings();
        let n = spellings.len();
        for (i, sp) in spellings.iter().enumerate() {
            if header == *sp {
                return Some(2 * n - i);
            }
        }
        // `CCM V3.0 Control ID`, `AICM Controls - Control Domain`: a
        // multi-word spelling at the end of a longer header.
        for (i, sp) in spellings.iter().enumerate() {
            if sp.contains(' ') && header.ends_with(&format!(" {sp}")) {
                return Some(n - i);
            }
        }
        None
    }
}

fn looked_for(role: Role) -> String {
    role.spellings()
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone)]
struct HeaderRow {
    /// 0-based row index.
    row: u32,
    found: BTreeMap<u32, (Role, Column)>,
}

impl HeaderRow {
    fn column(&self, role: Role) -> Option<&Column> {
        self.found
            .values()
            .find_map(|(r, c)| (*r == role).then_some(c))
    }
}

/// Picks the best column for each role in one row.
fn match_header_row(row: u32, cells: &[(u32, String)]) -> HeaderRow {
    let mut best: BTreeMap<u8, (usize, u32, String)> = BTreeMap::new();
    for (col, text) in cells {
        let norm = normalize_header(text);
        if norm.is_empty() || norm.chars().count() > 80 {
            continue;
        }
        for (ri, role) in Role::ALL.iter().enumerate() {
            let Some(score) = role.score(&norm) else {
                continue;
            };
            let key = u8::try_from(ri).unwrap_or(u8::MAX);
            let better = match best.get(&key) {
                None => true,
                // Higher score wins; on a tie, the leftmost column.
                Some((s, c, _)) => score > *s || (score == *s && col < c),
            };
            if better {
                best.insert(key, (score, *col, collapse_ws(text)));
            }
        }
    }
    let mut found = BTreeMap::new();
    for (ri, (_, col, header)) in best {
        let Some(role) = Role::ALL.get(usize::from(ri)).copied() else {
            continue;
        };
        // One column serves one role; the earlier role in ALL keeps it.
        if found.contains_key(&col) {
            continue;
        }
        found.insert(col, (role, Column { index: col, header }));
    }
    HeaderRow { row, found }
}

fn cell_text(value: &DataRef<'_>) -> Option<String> {
    let s = match value {
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => {
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{f:.0}")
            } else {
                f.to_string()
            }
        }
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => d.as_f64().to_string(),
        DataRef::Error(_) | DataRef::Empty => return None,
    };
    if s.trim().is_empty() { None } else { Some(s) }
}

fn xlsx_err(file: &str, e: &dyn std::fmt::Display) -> ImportError {
    ImportError::Xlsx {
        file: file.to_string(),
        message: e.to_string(),
    }
}

/// Decompresses every entry once, counting, so that a small file that
/// expands to gigabytes (a "ZIP bomb") is refused before the workbook
/// reader loads shared strings into memory.
fn check_zip_budget(file: &str, bytes: &[u8]) -> Result<(), ImportError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| xlsx_err(file, &e))?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(ImportError::Xlsx {
            file: file.to_string(),
            message: format!(
                "the ZIP archive has {} entries, more than the {MAX_ZIP_ENTRIES} a workbook could need",
                zip.len()
            ),
        });
    }
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| xlsx_err(file, &e))?;
        let remaining = MAX_DECOMPRESSED.saturating_sub(total);
        let read = std::io::copy(
            &mut (&mut entry).take(remaining.saturating_add(1)),
            &mut std::io::sink(),
        )
        .map_err(|e| xlsx_err(file, &e))?;
        total = total.saturating_add(read);
        if total > MAX_DECOMPRESSED {
            return Err(ImportError::TooLarge {
                file: file.to_string(),
                what: "the decompressed workbook",
                size: total,
                limit: MAX_DECOMPRESSED,
            });
        }
    }
    Ok(())
}

/// Sheets in the order they are tried: `CCM` first, then names containing
/// `ccm`, then the rest in workbook order.
fn sheet_order(names: &[String]) -> Vec<String> {
    let mut ordered: Vec<(u8, usize, String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let norm = normalize_header(n);
            let rank = if norm == "ccm" {
                0
            } else if norm.contains("ccm") {
                1
            } else {
                2
            };
            (rank, i, n.clone())
        })
        .collect();
    ordered.sort();
    ordered.into_iter().map(|(_, _, n)| n).collect()
}

type Book<'b> = Xlsx<Cursor<&'b [u8]>>;
/// Non-empty cells by 0-based row: (0-based column, text).
type TopRows = BTreeMap<u32, Vec<(u32, String)>>;

/// Reads the non-empty cells of the first rows of a sheet. `Ok(None)` for
/// sheets that are not worksheets (chart sheets).
fn top_rows(book: &mut Book<'_>, sheet: &str) -> Result<Option<TopRows>, XlsxError> {
    let mut reader = match book.worksheet_cells_reader(sheet) {
        Ok(r) => r,
        Err(XlsxError::NotAWorksheet(_) | XlsxError::WorksheetNotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut rows = TopRows::new();
    let mut seen: u64 = 0;
    while let Some(cell) = reader.next_cell()? {
        let (row, col) = cell.get_position();
        if row >= HEADER_SEARCH_ROWS {
            break;
        }
        seen += 1;
        if seen > MAX_HEADER_CELLS {
            break;
        }
        if let Some(text) = cell_text(cell.get_value()) {
            rows.entry(row).or_default().push((col, text));
        }
    }
    Ok(Some(rows))
}

/// The four cells of a data row that matter.
#[derive(Default, Debug)]
struct DataRow {
    id: Option<String>,
    spec: Option<String>,
    title: Option<String>,
    domain: Option<String>,
}

/// Reads the whole workbook.
pub(crate) fn read(file: &str, bytes: &[u8], out: &mut Collector) -> Result<(), ImportError> {
    check_zip_budget(file, bytes)?;
    let mut book: Book<'_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| xlsx_err(file, &e))?;
    let names = book.sheet_names();
    let order = sheet_order(&names);

    // (number of roles found, sheet, header row) of the best partial header.
    let mut best_partial: Option<(usize, String, HeaderRow)> = None;
    let mut chosen: Option<(String, HeaderRow)> = None;
    'sheets: for sheet in &order {
        let Some(rows) = top_rows(&mut book, sheet).map_err(|e| xlsx_err(file, &e))? else {
            continue;
        };
        for (row, cells) in &rows {
            let header = match_header_row(*row, cells);
            if header.column(Role::Id).is_some() && header.column(Role::Spec).is_some() {
                chosen = Some((sheet.clone(), header));
                break 'sheets;
            }
            let n = header.found.len();
            if n > 0 && best_partial.as_ref().is_none_or(|(m, _, _)| n > *m) {
                best_partial = Some((n, sheet.clone(), header));
            }
        }
    }

    let Some((sheet, header)) = chosen else {
        if let Some((_, sheet, header)) = best_partial {
            let missing = if header.column(Role::Id).is_none() {
                Role::Id
            } else {
                Role::Spec
            };
            return Err(ImportError::Content {
                file: file.to_string(),
                location: Location::Cell {
                    sheet,
                    row: header.row.saturating_add(1),
                    column: None,
                },
                problem: format!(
                    "no {:?} column found in the first {HEADER_SEARCH_ROWS} rows (looked for: {})",
                    missing.display(),
                    looked_for(missing)
                ),
            });
        }
        return Err(ImportError::NoHeader {
            file: file.to_string(),
            required: format!("{:?} and {:?}", Role::Id.display(), Role::Spec.display()),
            rows: HEADER_SEARCH_ROWS,
            sheets: if names.is_empty() {
                "none".to_string()
            } else {
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        });
    };

    read_rows(file, &mut book, &sheet, &header, out)
}

fn read_rows(
    file: &str,
    book: &mut Book<'_>,
    sheet: &str,
    header: &HeaderRow,
    out: &mut Collector,
) -> Result<(), ImportError> {
    let id_col = header.column(Role::Id).cloned();
    let spec_col = header.column(Role::Spec).cloned();
    let title_col = header.column(Role::Title).cloned();
    let domain_col = header.column(Role::Domain).cloned();
    let (Some(id_col), Some(spec_col)) = (id_col, spec_col) else {
        // Checked by the caller; kept as an error rather than a panic.
        return Err(ImportError::Content {
            file: file.to_string(),
            location: Location::Sheet {
                sheet: sheet.to_string(),
            },
            problem: "header row lost its required columns".to_string(),
        });
    };

    let mut reader = book
        .worksheet_cells_reader(sheet)
        .map_err(|e| xlsx_err(file, &e))?;
    let mut rows: BTreeMap<u32, DataRow> = BTreeMap::new();
    let mut seen: u64 = 0;
    while let Some(cell) = reader.next_cell().map_err(|e| xlsx_err(file, &e))? {
        seen += 1;
        if seen > MAX_CELLS {
            return Err(ImportError::Content {
                file: file.to_string(),
                location: Location::Sheet {
                    sheet: sheet.to_string(),
                },
                problem: format!(
                    "more than {MAX_CELLS} cells; a CCM sheet has far fewer, refusing to read on"
                ),
            });
        }
        let (row, col) = cell.get_position();
        if row <= header.row {
            continue;
        }
        let slot = if col == id_col.index {
            Role::Id
        } else if col == spec_col.index {
            Role::Spec
        } else if title_col.as_ref().is_some_and(|c| c.index == col) {
            Role::Title
        } else if domain_col.as_ref().is_some_and(|c| c.index == col) {
            Role::Domain
        } else {
            continue;
        };
        let Some(text) = cell_text(cell.get_value()) else {
            continue;
        };
        let entry = rows.entry(row).or_default();
        match slot {
            Role::Id => entry.id = Some(text),
            Role::Spec => entry.spec = Some(text),
            Role::Title => entry.title = Some(text),
            Role::Domain => entry.domain = Some(text),
        }
    }
    drop(reader);

    let at = |row: u32, column: Option<&Column>| Location::Cell {
        sheet: sheet.to_string(),
        row: row.saturating_add(1),
        column: column.cloned(),
    };
    let header_norms: Vec<&str> = Role::Id.spellings().to_vec();
    let mut current_domain: Option<String> = None;
    let mut pushed: usize = 0;
    for (row, data) in rows {
        let id = data.id.as_deref().map(strip_ws).unwrap_or_default();
        if id.is_empty() {
            // A domain heading (`Audit & Assurance - A&A`), the `End of
            // Standard` marker, a copyright line, a sub-header or a blank
            // row: none is a control.
            if data.spec.is_none()
                && let Some(d) = data.domain.as_deref().and_then(domain_name_from_heading)
            {
                current_domain = Some(d);
            }
            continue;
        }
        if header_norms.contains(&normalize_header(data.id.as_deref().unwrap_or_default()).as_str())
        {
            // The header repeated further down.
            continue;
        }
        if !looks_like_control_id(&id) {
            return Err(ImportError::Content {
                file: file.to_string(),
                location: at(row, Some(&id_col)),
                problem: format!(
                    "expected a control id such as \"A&A-01\" or \"AIS-02\", found {:?}",
                    shorten(&collapse_ws(data.id.as_deref().unwrap_or_default()))
                ),
            });
        }
        let spec = data.spec.as_deref().map(clean_block).unwrap_or_default();
        if spec.is_empty() {
            return Err(ImportError::Content {
                file: file.to_string(),
                location: at(row, Some(&spec_col)),
                problem: format!(
                    "control {id:?} has no specification text; expected a non-empty cell"
                ),
            });
        }
        let (domain, title) = if title_col.is_some() {
            let domain = match data.domain.as_deref() {
                Some(d) => domain_name_from_heading(d),
                None => current_domain.clone(),
            };
            (domain, data.title.as_deref().and_then(non_empty))
        } else {
            match data.domain.as_deref() {
                Some(d) => split_v3_domain_cell(d),
                None => (current_domain.clone(), None),
            }
        };
        out.push(
            ControlText {
                id,
                domain,
                title,
                specification: spec,
            },
            at(row, Some(&id_col)),
        )?;
        pushed += 1;
    }
    if pushed == 0 {
        return Err(ImportError::NoControls {
            file: file.to_string(),
            detail: format!(
                "sheet {sheet:?} has its header on row {} but no rows below it with a {:?} \
                 (column {}) and a {:?} (column {})",
                header.row.saturating_add(1),
                Role::Id.display(),
                id_col.letters(),
                Role::Spec.display(),
                spec_col.letters()
            ),
        });
    }
    Ok(())
}

/// Cuts a long cell text for an error message.
fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<(u32, String)> {
        cells
            .iter()
            .enumerate()
            .map(|(i, s)| (u32::try_from(i).unwrap_or(0), (*s).to_string()))
            .collect()
    }

    #[test]
    fn v4_header() {
        let h = match_header_row(
            2,
            &row(&[
                "Control Domain",
                "Control Title",
                "Control ID",
                "Control Specification",
                "Lite",
            ]),
        );
        assert_eq!(h.column(Role::Domain).map(|c| c.index), Some(0));
        assert_eq!(h.column(Role::Title).map(|c| c.index), Some(1));
        assert_eq!(h.column(Role::Id).map(|c| c.index), Some(2));
        assert_eq!(h.column(Role::Spec).map(|c| c.index), Some(3));
    }

    #[test]
    fn v3_header_with_line_breaks() {
        let h = match_header_row(
            1,
            &row(&[
                "Control Domain",
                "CCM V3.0\nControl ID",
                "Updated Control Specification",
                "Architectural Relevance",
            ]),
        );
        assert_eq!(h.column(Role::Id).map(|c| c.index), Some(1));
        assert_eq!(h.column(Role::Spec).map(|c| c.index), Some(2));
        assert!(h.column(Role::Title).is_none());
    }

    #[test]
    fn exact_spelling_beats_suffix() {
        let h = match_header_row(
            0,
            &row(&[
                "CCM v3.0.1 Control ID",
                "Control ID",
                "Control Specification",
            ]),
        );
        assert_eq!(h.column(Role::Id).map(|c| c.index), Some(1));
    }

    #[test]
    fn question_id_is_not_a_control_id() {
        let h = match_header_row(0, &row(&["Question ID", "Question"]));
        assert!(h.found.is_empty());
    }

    #[test]
    fn sheet_preference() {
        let names = vec![
            "Introduction".to_string(),
            "CAIQ".to_string(),
            "CSA CCM v3".to_string(),
            " ccm ".to_string(),
        ];
        assert_eq!(
            sheet_order(&names),
            vec![" ccm ", "CSA CCM v3", "Introduction", "CAIQ"]
        );
    }
}
