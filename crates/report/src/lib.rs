//! Reports as documents, independent of where their figures come from: a [`Report`] is sections
//! of figures, tables, bar charts and paragraphs, which [`html::render`] turns into one
//! self-contained HTML page (inline SVG charts, no script) and [`pdf::render`] into a PDF drawn
//! by krilla with the embedded Noto Sans, so that no browser is needed at run time. Both show the
//! same text and numbers, in the same order; the server decides what goes in (period, sections)
//! and this crate only lays it out. No I/O, no clock.

pub mod html;
mod measure;
pub mod pdf;

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The title on top of the first page.
    pub title: String,
    /// Lines under the title: tenant, period, when generated.
    pub subtitle: Vec<String>,
    /// The sections, in order.
    pub sections: Vec<Section>,
}

/// One section with its heading.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The heading.
    pub heading: String,
    /// Its content, in order.
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A paragraph of text.
    Paragraph(String),
    /// Labelled numbers shown side by side.
    Figures(Vec<Figure>),
    /// A table.
    Table(Table),
    /// A horizontal bar chart: one bar per label, with its value printed beside it.
    Bars {
        /// What the chart shows.
        caption: String,
        /// Label and value per bar, in order.
        bars: Vec<(String, u64)>,
    },
}

/// A labelled number.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// What it counts.
    pub label: String,
    /// The count.
    pub value: u64,
}

/// A table: a caption, column headings, rows of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// What it lists.
    pub caption: String,
    /// Column headings.
    pub headers: Vec<String>,
    /// Rows; each has as many cells as there are headings.
    pub rows: Vec<Vec<String>>,
    /// Shown instead of an empty table.
    pub empty: String,
}

/// Numbers as reports print them: digits grouped by thousands with commas.
pub fn number(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The embedded font did not load (a build defect).
    #[error("the report font did not load")]
    Font,
    /// krilla refused the document.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_group_thousands() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1,000");
        assert_eq!(number(1_234_567), "1,234,567");
    }
}
