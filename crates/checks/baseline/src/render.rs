//! Reports as text: an aligned table for terminals, JSON (the stable format), Markdown, a
//! self-contained HTML page and CSV.

use std::fmt::Write as _;

use shieldwall_core::html::escape;

use crate::report::{CheckStatus, PolicyReport, Summary};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for a terminal.
    Table,
    /// `{"reports": [...]}`, one object per check with `id` and `result`.
    Json,
    /// Markdown.
    Markdown,
    /// One HTML page, no external assets.
    Html,
    /// One row per check.
    Csv,
}

impl Format {
    /// `table`, `json`, `md`, `html`, `csv`.
    pub fn parse(text: &str) -> Option<Format> {
        Some(match text {
            "table" => Format::Table,
            "json" => Format::Json,
            "md" | "markdown" => Format::Markdown,
            "html" => Format::Html,
            "csv" => Format::Csv,
            _ => return None,
        })
    }
}

/// Renders reports.
pub fn render(reports: &[PolicyReport], format: Format) -> Result<String, String> {
    match format {
        Format::Json => {
            #[derive(serde::Serialize)]
            struct Out<'a> {
                reports: &'a [PolicyReport],
            }
            serde_json::to_string_pretty(&Out { reports }).map_err(|e| e.to_string())
        }
        Format::Table => Ok(table(reports)),
        Format::Markdown => Ok(markdown(reports)),
        Format::Html => Ok(html(reports)),
        Format::Csv => csv(reports),
    }
}

fn score(summary: &Summary) -> String {
    summary
        .score
        .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.1}%"))
}

fn histogram(summary: &Summary) -> Vec<(CheckStatus, usize)> {
    vec![
        (CheckStatus::Pass, summary.pass),
        (CheckStatus::Fail, summary.fail),
        (CheckStatus::NotApplicable, summary.not_applicable),
        (CheckStatus::Error, summary.error),
    ]
}

/// One line of text for a terminal: runs of white space joined, control characters (which a
/// hostile file name or configuration line could use to drive the terminal) replaced.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

fn table(reports: &[PolicyReport]) -> String {
    let mut out = String::new();
    for report in reports {
        let _ = writeln!(
            out,
            "{} ({}) on {}",
            one_line(&report.name),
            one_line(&report.policy),
            one_line(&report.target)
        );
        if let Some(req) = &report.requirements
            && req.status == CheckStatus::Fail
        {
            let _ = writeln!(out, "  requirements not met: {}", one_line(&req.name));
        }
        let id_width = report
            .checks
            .iter()
            .map(|c| c.id.len())
            .max()
            .unwrap_or(2)
            .max(2);
        let _ = writeln!(out, "  {:<id_width$}  {:<14}  TITLE", "ID", "RESULT");
        for check in &report.checks {
            let _ = writeln!(
                out,
                "  {:<id_width$}  {:<14}  {}",
                one_line(&check.id),
                check.result.as_str(),
                one_line(&check.title)
            );
            let pad = " ".repeat(id_width + 20);
            if let Some(reason) = &check.reason {
                let _ = writeln!(out, "{pad}{}", one_line(reason));
            }
            if check.result == CheckStatus::Fail
                && let Some(evidence) = check.evidence().next()
            {
                let _ = writeln!(out, "{pad}{}", one_line(evidence));
            }
        }
        let s = &report.summary;
        let _ = writeln!(
            out,
            "  score {} (pass / (pass + fail)), {} checks in {} ms",
            score(s),
            s.total(),
            report.duration_ms
        );
        let widest = histogram(s)
            .iter()
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
            .max(1);
        for (status, n) in histogram(s) {
            let bar = "#".repeat((n * 40).div_ceil(widest));
            let _ = writeln!(out, "  {:<14} {n:>5} {bar}", status.as_str());
        }
        out.push('\n');
    }
    out
}

/// A Markdown table cell: one line, markup escaped (renderers would pass raw HTML on).
fn md_cell(text: &str) -> String {
    escape(&one_line(text)).replace('|', "\\|")
}

fn markdown(reports: &[PolicyReport]) -> String {
    let mut out = String::new();
    for report in reports {
        let s = &report.summary;
        let _ = writeln!(
            out,
            "# {} on `{}`\n",
            md_cell(&report.name),
            md_cell(&report.target)
        );
        let _ = writeln!(
            out,
            "Policy `{}`, score **{}** (pass / (pass + fail)).\n",
            md_cell(&report.policy),
            score(s)
        );
        let _ = writeln!(out, "| Result | Checks |\n|---|---:|");
        for (status, n) in histogram(s) {
            let _ = writeln!(out, "| {} | {n} |", status.as_str());
        }
        let _ = writeln!(
            out,
            "\n| ID | Result | Title | Reason or evidence |\n|---|---|---|---|"
        );
        for check in &report.checks {
            let detail = check
                .reason
                .clone()
                .or_else(|| {
                    (check.result == CheckStatus::Fail)
                        .then(|| check.evidence().next().unwrap_or("").to_owned())
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                md_cell(&check.id),
                check.result.as_str(),
                md_cell(&check.title),
                md_cell(&detail)
            );
        }
        out.push('\n');
    }
    out
}

fn html(reports: &[PolicyReport]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Baseline check</title>\n\
         <style>body{font-family:sans-serif;margin:2em;color:#111}table{border-collapse:collapse}\
         td,th{border:1px solid #999;padding:.25em .5em;text-align:left;vertical-align:top}\
         .pass{color:#064}.fail{color:#a00;font-weight:bold}.not_applicable{color:#555}.error{color:#840}\
         code{white-space:pre-wrap}</style></head><body>\n",
    );
    for report in reports {
        let s = &report.summary;
        let _ = writeln!(
            out,
            "<h1>{} on <code>{}</code></h1>",
            escape(&report.name),
            escape(&report.target)
        );
        let _ = writeln!(
            out,
            "<p>Policy <code>{}</code>, score <strong>{}</strong> (pass / (pass + fail)).</p>",
            escape(&report.policy),
            score(s)
        );
        out.push_str("<table><tr><th>Result</th><th>Checks</th></tr>\n");
        for (status, n) in histogram(s) {
            let _ = writeln!(
                out,
                "<tr><td class=\"{0}\">{0}</td><td>{n}</td></tr>",
                status.as_str()
            );
        }
        out.push_str("</table>\n<h2>Checks</h2>\n<table><tr><th>ID</th><th>Result</th><th>Title</th><th>Reason or evidence</th></tr>\n");
        for check in &report.checks {
            let mut detail = check.reason.as_deref().map(escape).unwrap_or_default();
            if check.result == CheckStatus::Fail {
                for line in check.evidence().take(3) {
                    let _ = write!(detail, "<code>{}</code><br>", escape(line));
                }
            }
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"{1}\">{1}</td><td>{2}</td><td>{detail}</td></tr>",
                escape(&check.id),
                check.result.as_str(),
                escape(&check.title)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn csv(reports: &[PolicyReport]) -> Result<String, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "policy", "target", "id", "title", "result", "reason", "evidence", "ccm_v4", "cis",
        ])
        .map_err(|e| e.to_string())?;
    for report in reports {
        for check in &report.checks {
            let evidence: Vec<&str> = check.evidence().collect();
            let ids = |key: &str| {
                check
                    .compliance
                    .get(key)
                    .map(|v| v.join(" "))
                    .unwrap_or_default()
            };
            writer
                .write_record([
                    report.policy.as_str(),
                    report.target.as_str(),
                    check.id.as_str(),
                    check.title.as_str(),
                    check.result.as_str(),
                    check.reason.as_deref().unwrap_or(""),
                    &evidence.join(" | "),
                    &ids("ccm_v4"),
                    &ids("cis"),
                ])
                .map_err(|e| e.to_string())?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}
