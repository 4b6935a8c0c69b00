//! A report as a PDF, drawn by krilla with the embedded Noto Sans: A4 pages, the title, section
//! headings kept with what follows, figures in boxes, tables whose columns are sized to their
//! text and whose cells wrap, continued on the next page under a repeated heading row, bar
//! charts with their numbers, and "Page n of N" at the foot. Layout happens first, into a list
//! of drawing operations per page, so the page count is known before anything is drawn.

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};

use crate::measure::Measure;
use crate::{Block, Figure, Report, ReportError, Table, number};

static REGULAR: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 48.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
const BOTTOM: f32 = PAGE_H - MARGIN - 16.0;
const BODY: f32 = 9.5;
const LEADING: f32 = 1.35;
const CELL_PAD: f32 = 4.0;

const INK: (u8, u8, u8) = (17, 24, 39);
const MUTED: (u8, u8, u8) = (75, 85, 99);
const ACCENT: (u8, u8, u8) = (29, 78, 216);
const RULE: (u8, u8, u8) = (209, 213, 219);
const SHADE: (u8, u8, u8) = (243, 244, 246);

/// One thing to draw on a page.
enum Op {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        bold: bool,
        color: (u8, u8, u8),
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: (u8, u8, u8),
    },
}

struct Layout<'a> {
    regular: Measure<'a>,
    bold: Measure<'a>,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout<'_> {
    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        // The vector is never empty here: one page was pushed above.
        #[allow(clippy::indexing_slicing)]
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM {
            self.new_page();
        }
    }

    fn text(
        &mut self,
        x: f32,
        baseline: f32,
        size: f32,
        bold: bool,
        color: (u8, u8, u8),
        text: &str,
    ) {
        self.page().push(Op::Text {
            x,
            baseline,
            size,
            bold,
            color,
            text: text.to_owned(),
        });
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: (u8, u8, u8)) {
        self.page().push(Op::Rect { x, y, w, h, color });
    }

    fn measure(&self, bold: bool) -> &Measure<'_> {
        if bold { &self.bold } else { &self.regular }
    }

    /// Wrapped lines across the content width.
    fn lines(&mut self, text: &str, size: f32, bold: bool, color: (u8, u8, u8)) {
        let lines = self.measure(bold).wrap(text, size, CONTENT_W);
        for line in lines {
            self.room(size * LEADING);
            self.y += size * LEADING;
            let baseline = self.y - size * 0.3;
            self.text(MARGIN, baseline, size, bold, color, &line);
        }
    }

    fn heading(&mut self, text: &str) {
        // Kept with at least a few lines of what follows.
        self.room(13.0 * LEADING + 60.0);
        self.y += 14.0;
        self.lines(text, 13.0, true, INK);
        self.rect(MARGIN, self.y + 2.0, CONTENT_W, 1.5, ACCENT);
        self.y += 8.0;
    }

    fn figures(&mut self, figures: &[Figure]) {
        const W: f32 = 118.0;
        const H: f32 = 38.0;
        const GAP: f32 = 8.0;
        let per_row = ((CONTENT_W + GAP) / (W + GAP)).floor().max(1.0);
        for row in figures.chunks(per_row as usize) {
            self.room(H + GAP);
            let top = self.y;
            for (i, f) in row.iter().enumerate() {
                // At most a handful of boxes per row: the cast is exact.
                #[allow(clippy::cast_precision_loss)]
                let x = MARGIN + i as f32 * (W + GAP);
                self.rect(x, top, W, H, SHADE);
                self.text(x + 6.0, top + 17.0, 13.0, true, INK, &number(f.value));
                let label = self.fit(&f.label, 8.0, false, W - 12.0);
                self.text(x + 6.0, top + 31.0, 8.0, false, MUTED, &label);
            }
            self.y = top + H + GAP;
        }
    }

    /// `text` cut with an ellipsis to fit `width`.
    fn fit(&self, text: &str, size: f32, bold: bool, width: f32) -> String {
        let m = self.measure(bold);
        if m.width(text, size) <= width {
            return text.to_owned();
        }
        let mut out: String = text.to_owned();
        while !out.is_empty() && m.width(&format!("{out}…"), size) > width {
            out.pop();
        }
        format!("{out}…")
    }

    fn table(&mut self, table: &Table) {
        if table.rows.is_empty() {
            self.lines(
                &format!("{}: {}", table.caption, table.empty),
                BODY,
                false,
                INK,
            );
            self.y += 6.0;
            return;
        }
        let widths = self.column_widths(table);
        let caption = table.caption.clone();
        self.room(BODY * LEADING * 3.0 + 2.0 * CELL_PAD);
        self.lines(&caption, 10.0, true, INK);
        self.y += 3.0;
        self.header_row(&table.headers, &widths);
        for row in &table.rows {
            let cells: Vec<Vec<String>> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| self.regular.wrap(cell, BODY, w - 2.0 * CELL_PAD))
                .collect();
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            // A row is at most a few hundred lines: the cast is exact.
            #[allow(clippy::cast_precision_loss)]
            let height = lines as f32 * BODY * LEADING + 2.0 * CELL_PAD;
            if self.y + height > BOTTOM {
                self.new_page();
                self.lines(&format!("{caption} (continued)"), 10.0, true, INK);
                self.y += 3.0;
                self.header_row(&table.headers, &widths);
            }
            let top = self.y;
            let mut x = MARGIN;
            for (cell, w) in cells.iter().zip(&widths) {
                for (i, line) in cell.iter().enumerate() {
                    #[allow(clippy::cast_precision_loss)]
                    let baseline = top + CELL_PAD + (i as f32 + 1.0) * BODY * LEADING - BODY * 0.3;
                    self.text(x + CELL_PAD, baseline, BODY, false, INK, line);
                }
                x += w;
            }
            self.y = top + height;
            self.rect(MARGIN, self.y - 0.5, CONTENT_W, 0.5, RULE);
        }
        self.y += 8.0;
    }

    fn header_row(&mut self, headers: &[String], widths: &[f32]) {
        let cells: Vec<Vec<String>> = headers
            .iter()
            .zip(widths)
            .map(|(h, w)| self.bold.wrap(h, BODY, w - 2.0 * CELL_PAD))
            .collect();
        let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        #[allow(clippy::cast_precision_loss)]
        let height = lines as f32 * BODY * LEADING + 2.0 * CELL_PAD;
        let top = self.y;
        self.rect(MARGIN, top, CONTENT_W, height, SHADE);
        let mut x = MARGIN;
        for (cell, w) in cells.iter().zip(widths) {
            for (i, line) in cell.iter().enumerate() {
                #[allow(clippy::cast_precision_loss)]
                let baseline = top + CELL_PAD + (i as f32 + 1.0) * BODY * LEADING - BODY * 0.3;
                self.text(x + CELL_PAD, baseline, BODY, true, INK, line);
            }
            x += w;
        }
        self.y = top + height;
    }

    /// Each column as wide as its widest text, shrunk in proportion when they do not fit, but
    /// never below a minimum a short word needs.
    fn column_widths(&self, table: &Table) -> Vec<f32> {
        const MIN: f32 = 42.0;
        let natural: Vec<f32> = table
            .headers
            .iter()
            .enumerate()
            .map(|(c, header)| {
                let widest = table
                    .rows
                    .iter()
                    .filter_map(|row| row.get(c))
                    .map(|cell| self.regular.width(cell, BODY))
                    .fold(self.bold.width(header, BODY), f32::max);
                widest + 2.0 * CELL_PAD + 1.0
            })
            .collect();
        let total: f32 = natural.iter().sum();
        if total <= CONTENT_W {
            let spare = (CONTENT_W - total) / natural.len().max(1) as f32;
            return natural.iter().map(|w| w + spare).collect();
        }
        // No column narrower than its heading's longest word, so headings break between words.
        let floor: Vec<f32> = table
            .headers
            .iter()
            .map(|header| {
                header
                    .split(' ')
                    .map(|word| self.bold.width(word, BODY))
                    .fold(MIN, f32::max)
                    + 2.0 * CELL_PAD
                    + 1.0
            })
            .collect();
        let scaled: Vec<f32> = natural
            .iter()
            .zip(&floor)
            .map(|(w, least)| (w * CONTENT_W / total).max(*least))
            .collect();
        let sum: f32 = scaled.iter().sum();
        scaled.iter().map(|w| w * CONTENT_W / sum).collect()
    }

    fn bars(&mut self, caption: &str, bars: &[(String, u64)]) {
        if bars.is_empty() {
            self.lines(&format!("{caption}: none"), BODY, false, INK);
            self.y += 6.0;
            return;
        }
        const LABEL_W: f32 = 200.0;
        const BAR_W: f32 = 230.0;
        const ROW: f32 = 15.0;
        let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1);
        self.room(10.0 * LEADING + ROW * 2.0);
        self.lines(caption, 10.0, true, INK);
        self.y += 3.0;
        for (label, value) in bars {
            self.room(ROW);
            let top = self.y;
            let label = self.fit(label, BODY, false, LABEL_W - 6.0);
            self.text(MARGIN, top + 10.5, BODY, false, INK, &label);
            // Proportional lengths: rounding is invisible at this scale.
            #[allow(clippy::cast_precision_loss)]
            let w = (BAR_W * (*value as f32) / (max as f32)).max(1.0);
            self.rect(MARGIN + LABEL_W, top + 2.0, w, 10.0, ACCENT);
            self.text(
                MARGIN + LABEL_W + w + 5.0,
                top + 10.5,
                BODY,
                false,
                INK,
                &number(*value),
            );
            self.y = top + ROW;
        }
        self.y += 8.0;
    }
}

/// The PDF of `report`.
pub fn render(report: &Report) -> Result<Vec<u8>, ReportError> {
    draw(report, &layout(report)?)
}

/// The drawing operations of each page.
fn layout(report: &Report) -> Result<Vec<Vec<Op>>, ReportError> {
    let regular_measure = Measure::new(REGULAR).ok_or(ReportError::Font)?;
    let bold_measure = Measure::new(BOLD).ok_or(ReportError::Font)?;
    let mut layout = Layout {
        regular: regular_measure,
        bold: bold_measure,
        pages: vec![Vec::new()],
        y: MARGIN,
    };
    layout.lines(&report.title, 18.0, true, INK);
    layout.y += 4.0;
    for line in &report.subtitle {
        layout.lines(line, 9.5, false, MUTED);
    }
    for section in &report.sections {
        layout.heading(&section.heading);
        for block in &section.blocks {
            match block {
                Block::Paragraph(text) => {
                    layout.lines(text, BODY, false, INK);
                    layout.y += 4.0;
                }
                Block::Figures(figures) => layout.figures(figures),
                Block::Table(table) => layout.table(table),
                Block::Bars { caption, bars } => layout.bars(caption, bars),
            }
        }
    }
    Ok(layout.pages)
}

fn draw(report: &Report, pages: &[Vec<Op>]) -> Result<Vec<u8>, ReportError> {
    let regular = Font::new(REGULAR.into(), 0).ok_or(ReportError::Font)?;
    let bold = Font::new(BOLD.into(), 0).ok_or(ReportError::Font)?;
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| ReportError::Pdf("page size".into()))?;
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(report.title.clone())
            .language("en".to_owned())
            .creator("Shieldwall".to_owned()),
    );
    let count = pages.len();
    for (n, ops) in pages.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        let fill = |color: (u8, u8, u8)| Fill {
            paint: rgb::Color::new(color.0, color.1, color.2).into(),
            ..Fill::default()
        };
        let footer = format!("{} · page {} of {count}", report.title, n + 1);
        let footer_op = Op::Text {
            x: MARGIN,
            baseline: PAGE_H - MARGIN + 4.0,
            size: 7.5,
            bold: false,
            color: MUTED,
            text: footer,
        };
        for op in ops.iter().chain(std::iter::once(&footer_op)) {
            match op {
                Op::Text {
                    x,
                    baseline,
                    size,
                    bold: is_bold,
                    color,
                    text,
                } => {
                    surface.set_fill(Some(fill(*color)));
                    let font = if *is_bold {
                        bold.clone()
                    } else {
                        regular.clone()
                    };
                    surface.draw_text(
                        Point::from_xy(*x, *baseline),
                        font,
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Rect { x, y, w, h, color } => {
                    let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                        continue;
                    };
                    let mut builder = PathBuilder::new();
                    builder.push_rect(rect);
                    if let Some(path) = builder.finish() {
                        surface.set_fill(Some(fill(*color)));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| ReportError::Pdf(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Section;

    #[test]
    fn a_long_table_continues_on_further_pages() {
        let rows = (0..200_u64)
            .map(|i| {
                vec![
                    format!("row {i}"),
                    "some text that wraps ".repeat(usize::try_from(i % 4).unwrap_or(0) + 1),
                    number(i),
                ]
            })
            .collect();
        let report = Report {
            title: "Test".into(),
            subtitle: vec!["sub".into()],
            sections: vec![Section {
                heading: "Rows".into(),
                blocks: vec![Block::Table(Table {
                    caption: "Many rows".into(),
                    headers: vec!["Name".into(), "Text".into(), "N".into()],
                    rows,
                    empty: "none".into(),
                })],
            }],
        };
        let pdf = render(&report).unwrap_or_default();
        assert!(pdf.starts_with(b"%PDF-"));
        let pages = layout(&report).map(|p| p.len()).unwrap_or(0);
        assert!(pages > 3, "{pages} pages");
    }
}
