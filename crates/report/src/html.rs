//! A report as one self-contained HTML page: its own styles, bar charts as inline SVG (each with
//! a text alternative and its numbers printed), no script and nothing loaded from elsewhere, so
//! it can be mailed, archived or opened offline. Every value is escaped.

use std::fmt::Write;

use shieldwall_core::html::escape;

use crate::{Block, Report, Table, number};

const STYLE: &str = "body{font:15px/1.45 'Noto Sans',system-ui,sans-serif;color:#111827;\
margin:2rem auto;max-width:60rem;padding:0 1rem}h1{font-size:1.6rem;margin:0}\
h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:2px solid #1d4ed8;padding-bottom:.2rem}\
.sub{color:#374151;margin:.2rem 0}.figures{display:flex;flex-wrap:wrap;gap:.6rem;margin:.6rem 0}\
.figure{border:1px solid #d1d5db;border-radius:.3rem;padding:.4rem .7rem;min-width:8rem}\
.figure b{display:block;font-size:1.3rem}table{border-collapse:collapse;width:100%;margin:.6rem 0}\
caption{text-align:left;font-weight:600;padding-bottom:.3rem}th,td{text-align:left;\
border-bottom:1px solid #e5e7eb;padding:.25rem .4rem;vertical-align:top}\
th{background:#f3f4f6}figure{margin:.6rem 0}figcaption{font-weight:600}\
svg text{font:12px 'Noto Sans',system-ui,sans-serif;fill:#111827}\
@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}";

/// The page.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&report.title),
        escape(&report.title)
    );
    for line in &report.subtitle {
        let _ = writeln!(out, "<p class=\"sub\">{}</p>", escape(line));
    }
    for section in &report.sections {
        let _ = writeln!(out, "<section>\n<h2>{}</h2>", escape(&section.heading));
        for block in &section.blocks {
            block_html(&mut out, block);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn block_html(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(text) => {
            let _ = writeln!(out, "<p>{}</p>", escape(text));
        }
        Block::Figures(figures) => {
            out.push_str("<div class=\"figures\">");
            for f in figures {
                let _ = write!(
                    out,
                    "<div class=\"figure\"><b>{}</b>{}</div>",
                    number(f.value),
                    escape(&f.label)
                );
            }
            out.push_str("</div>\n");
        }
        Block::Table(table) => table_html(out, table),
        Block::Bars { caption, bars } => bars_svg(out, caption, bars),
    }
}

fn table_html(out: &mut String, table: &Table) {
    if table.rows.is_empty() {
        let _ = writeln!(
            out,
            "<p><b>{}</b>: {}</p>",
            escape(&table.caption),
            escape(&table.empty)
        );
        return;
    }
    let _ = write!(
        out,
        "<table>\n<caption>{}</caption>\n<thead><tr>",
        escape(&table.caption)
    );
    for h in &table.headers {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Horizontal bars scaled to the largest value, each label and value printed as text.
fn bars_svg(out: &mut String, caption: &str, bars: &[(String, u64)]) {
    if bars.is_empty() {
        let _ = writeln!(out, "<p><b>{}</b>: none</p>", escape(caption));
        return;
    }
    const ROW: usize = 22;
    const LABEL: usize = 260;
    const BAR: f64 = 360.0;
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1);
    let height = bars.len() * ROW + 4;
    let summary: Vec<String> = bars
        .iter()
        .map(|(label, value)| format!("{label}: {}", number(*value)))
        .collect();
    let _ = write!(
        out,
        "<figure>\n<figcaption>{}</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         role=\"img\" width=\"700\" height=\"{height}\" viewBox=\"0 0 700 {height}\" \
         aria-label=\"{}\">\n<title>{}</title>\n",
        escape(caption),
        escape(&summary.join("; ")),
        escape(caption)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = i * ROW;
        // Proportional bar lengths: the u64 to f64 rounding is invisible at this scale.
        #[allow(clippy::cast_precision_loss)]
        let width = (BAR * (*value as f64) / (max as f64)).max(1.0);
        let mut short: String = label.chars().take(38).collect();
        if label.chars().count() > 38 {
            short.push('…');
        }
        let _ = writeln!(
            out,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{LABEL}\" y=\"{}\" width=\"{width:.1}\" \
             height=\"14\" fill=\"#1d4ed8\"/><text x=\"{:.1}\" y=\"{}\">{}</text>",
            y + 15,
            escape(&short),
            y + 4,
            LABEL as f64 + width + 6.0,
            y + 15,
            number(*value)
        );
    }
    out.push_str("</svg>\n</figure>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Figure, Section};

    #[test]
    fn values_are_escaped_and_nothing_runs() {
        let report = Report {
            title: "<script>alert(1)</script>".into(),
            subtitle: vec!["tenant \"a&b\"".into()],
            sections: vec![Section {
                heading: "H".into(),
                blocks: vec![
                    Block::Figures(vec![Figure {
                        label: "<b>".into(),
                        value: 1234,
                    }]),
                    Block::Bars {
                        caption: "c".into(),
                        bars: vec![("<x>".into(), 5), ("y".into(), 0)],
                    },
                ],
            }],
        };
        let page = render(&report);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(page.contains("tenant &quot;a&amp;b&quot;"));
        assert!(page.contains("<b>1,234</b>&lt;b&gt;"));
        assert!(page.contains("&lt;x&gt;: 5; y: 0"));
    }
}
