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

/// Text on one line: line breaks and other control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

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

    /// `text` cut with an ellipsis to fit `width` (one pass over its characters).
    fn fit(&self, text: &str, size: f32, bold: bool, width: f32) -> String {
        let m = self.measure(bold);
        let text = one_line(text);
        if m.width(&text, size) <= width {
            return text;
        }
        let room = width - m.width("…", size);
        let mut used = 0.0;
        let mut out = String::new();
        for c in text.chars() {
            let mut buffer = [0; 4];
            let w = m.width(c.encode_utf8(&mut buffer), size);
            if used + w > room {
                break;
            }
            used += w;
            out.push(c);
        }
        out.push('…');
        out
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
        let line = BODY * LEADING;
        // The caption and heading row stay with at least the first lines of the first row.
        self.room(10.0 * LEADING + 2.0 * line + 4.0 * CELL_PAD + 3.0 * line);
        self.lines(&caption, 10.0, true, INK);
        self.y += 3.0;
        self.header_row(&table.headers, &widths);
        for row in &table.rows {
            let cells: Vec<Vec<String>> = widths
                .iter()
                .enumerate()
                .map(|(c, w)| {
                    let cell = row.get(c).map_or("", String::as_str);
                    self.regular.wrap(cell, BODY, w - 2.0 * CELL_PAD)
                })
                .collect();
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            // A row taller than the room left goes on in pieces, each under the heading row
            // again: no line is drawn past the bottom margin.
            let mut first = 0;
            while first < lines {
                if self.y + line + 2.0 * CELL_PAD > BOTTOM {
                    self.new_page();
                    self.lines(&format!("{caption} (continued)"), 10.0, true, INK);
                    self.y += 3.0;
                    self.header_row(&table.headers, &widths);
                }
                let fit = ((BOTTOM - self.y - 2.0 * CELL_PAD) / line).floor().max(1.0);
                // Both are small positive counts: the casts are exact.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let take = (fit as usize).min(lines - first);
                let top = self.y;
                let mut x = MARGIN;
                for (cell, w) in cells.iter().zip(&widths) {
                    for (i, text) in cell.iter().skip(first).take(take).enumerate() {
                        #[allow(clippy::cast_precision_loss)]
                        let baseline = top + CELL_PAD + (i as f32 + 1.0) * line - BODY * 0.3;
                        self.text(x + CELL_PAD, baseline, BODY, false, INK, text);
                    }
                    x += w;
                }
                #[allow(clippy::cast_precision_loss)]
                let height = take as f32 * line + 2.0 * CELL_PAD;
                self.y = top + height;
                first += take;
            }
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

    /// Each column as wide as its widest text when all fit. Otherwise every column keeps at
    /// least its longest word (capped at a third of the page, so one long word cannot starve
    /// the others), and the width left is shared in proportion to what each would like more.
    fn column_widths(&self, table: &Table) -> Vec<f32> {
        let columns = table.headers.len().max(1);
        let pad = 2.0 * CELL_PAD + 1.0;
        let cells = |c: usize| table.rows.iter().filter_map(move |row| row.get(c));
        let natural: Vec<f32> = (0..columns)
            .map(|c| {
                let header = table
                    .headers
                    .get(c)
                    .map_or(0.0, |h| self.bold.width(h, BODY));
                cells(c)
                    .flat_map(|cell| cell.split('\n'))
                    .map(|part| self.regular.width(part, BODY))
                    .fold(header, f32::max)
                    + pad
            })
            .collect();
        let floor: Vec<f32> = (0..columns)
            .map(|c| {
                let header = table.headers.get(c).map_or("", String::as_str);
                let words = header
                    .split_whitespace()
                    .map(|w| self.bold.width(w, BODY))
                    .chain(
                        cells(c)
                            .flat_map(|cell| cell.split_whitespace())
                            .map(|w| self.regular.width(w, BODY)),
                    );
                (words.fold(0.0, f32::max) + pad).min(CONTENT_W / 3.0)
            })
            .collect();
        let total: f32 = natural.iter().sum();
        #[allow(clippy::cast_precision_loss)]
        let equal = CONTENT_W / columns as f32;
        if total <= CONTENT_W {
            let spare = (CONTENT_W - total) / columns as f32;
            return natural.iter().map(|w| w + spare).collect();
        }
        let least: Vec<f32> = natural.iter().zip(&floor).map(|(n, f)| n.min(*f)).collect();
        let base: f32 = least.iter().sum();
        if base >= CONTENT_W {
            return vec![equal; columns];
        }
        let wants: Vec<f32> = natural.iter().zip(&least).map(|(n, l)| n - l).collect();
        let wanted: f32 = wants.iter().sum();
        least
            .iter()
            .zip(&wants)
            .map(|(l, w)| {
                if wanted > 0.0 {
                    l + w * (CONTENT_W - base) / wanted
                } else {
                    l + (CONTENT_W - base) / columns as f32
                }
            })
            .collect()
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
        let footer = format!("{} · page {} of {count}", one_line(&report.title), n + 1);
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

    fn one_table(headers: Vec<String>, rows: Vec<Vec<String>>) -> Report {
        Report {
            title: "Test".into(),
            subtitle: vec!["sub".into()],
            sections: vec![Section {
                heading: "Rows".into(),
                blocks: vec![Block::Table(Table {
                    caption: "Many rows".into(),
                    headers,
                    rows,
                    empty: "none".into(),
                })],
            }],
        }
    }

    /// Every drawn line is within the page, and every character of the cells is drawn.
    fn check(report: &Report) -> Vec<Vec<Op>> {
        let pages = layout(report).unwrap_or_default();
        let mut drawn = String::new();
        for ops in &pages {
            for op in ops {
                if let Op::Text { baseline, text, .. } = op {
                    assert!(
                        *baseline <= BOTTOM + 1.0,
                        "text below the margin: {text:?} at {baseline}"
                    );
                    drawn.push_str(text);
                }
            }
        }
        // Each character of the cells is drawn at least as often as the cells hold it (rows
        // split across pages interleave with repeated headings, so order is not compared).
        let mut counts = std::collections::HashMap::<char, i64>::new();
        for c in drawn.chars().filter(|c| !c.is_whitespace()) {
            *counts.entry(c).or_default() += 1;
        }
        for section in &report.sections {
            for block in &section.blocks {
                if let Block::Table(t) = block {
                    for c in t.rows.iter().flatten().flat_map(|cell| cell.chars()) {
                        if !c.is_whitespace() && !c.is_control() {
                            *counts.entry(c).or_default() -= 1;
                        }
                    }
                }
            }
        }
        let lost: Vec<(char, i64)> = counts.into_iter().filter(|(_, n)| *n < 0).collect();
        assert!(lost.is_empty(), "characters not drawn: {lost:?}");
        pages
    }

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
        let report = one_table(vec!["Name".into(), "Text".into(), "N".into()], rows);
        assert!(check(&report).len() > 3);
        assert!(render(&report).unwrap_or_default().starts_with(b"%PDF-"));
    }

    #[test]
    fn a_row_taller_than_a_page_is_split_and_nothing_is_lost() {
        let tall = (0..400)
            .map(|i| format!("line{i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let report = one_table(
            vec!["Short".into(), "Tall".into()],
            vec![vec!["a".into(), tall]],
        );
        assert!(check(&report).len() >= 3);
    }

    #[test]
    fn long_words_many_columns_and_control_characters_stay_on_the_page() {
        let word = "x".repeat(5000);
        let headers: Vec<String> = (0..70).map(|i| format!("column {i}")).collect();
        let row: Vec<String> = (0..70).map(|i| format!("v{i}\r\tend")).collect();
        check(&one_table(headers, vec![row]));
        check(&one_table(
            vec!["A".into(), "B".into()],
            vec![vec![word, "customer".into()]],
        ));
    }

    #[test]
    fn short_words_are_not_split_when_columns_shrink() {
        let rows = vec![vec![
            "1".into(),
            "87".into(),
            "A long gap name that needs a lot of room to print".into(),
            "customer".into(),
            "A reason that is long enough to need several lines of text to print in full".into(),
        ]];
        let report = one_table(
            ["Rank", "Score", "Gap", "Owner", "Why"]
                .map(str::to_owned)
                .to_vec(),
            rows,
        );
        let pages = check(&report);
        let texts: Vec<&str> = pages
            .iter()
            .flatten()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.as_str()),
                Op::Rect { .. } => None,
            })
            .collect();
        assert!(texts.contains(&"customer"), "{texts:?}");
    }
}
