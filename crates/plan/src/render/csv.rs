//! The CSV rendering: one long-format table, a row per fact, so that a spreadsheet can pivot it.
//! Columns: section, workload, id, name, owner, status, detail, score.

use super::RenderError;
use crate::report::Plan;

pub(super) fn render(plan: &Plan) -> Result<String, RenderError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| RenderError::Csv(e.to_string());
    w.write_record(safe([
        "section", "workload", "id", "name", "owner", "status", "detail", "score",
    ]))
    .map_err(err)?;
    for notice in &plan.notices {
        w.write_record(safe(["notice", "", "", "", "", "", notice, ""]))
            .map_err(err)?;
    }
    for m in &plan.matrix {
        for a in &m.areas {
            let transfers: Vec<String> = a
                .transfers
                .iter()
                .map(|t| format!("{}: {}", t.to, t.items.join(" ")))
                .collect();
            w.write_record(safe([
                "matrix-area",
                &m.workload,
                &a.area,
                &a.name,
                a.owner.key(),
                "",
                &transfers.join("; "),
                "",
            ]))
            .map_err(err)?;
        }
        for r in &m.responsibilities {
            let transferred = r
                .transferred_to
                .as_deref()
                .map(|t| format!("transferred to {t}"))
                .unwrap_or_default();
            w.write_record(safe([
                "matrix-responsibility",
                &m.workload,
                &r.id,
                &r.summary,
                r.owner.key(),
                "",
                &transferred,
                "",
            ]))
            .map_err(err)?;
        }
    }
    for d in &plan.capabilities {
        let supplier = d.supplier.clone().unwrap_or_default();
        let detail = format!(
            "supplier={supplier}; product={}; evidence={}: {}",
            d.product.as_deref().unwrap_or_default(),
            super::text::evidence_cell(&d.evidence),
            d.evidence.detail
        );
        w.write_record(safe([
            "capability",
            &d.workload,
            &d.capability,
            &d.name,
            d.owner.key(),
            d.status.key(),
            &detail,
            "",
        ]))
        .map_err(err)?;
    }
    for c in &plan.coverage.controls {
        for wc in &c.workloads {
            let mut detail = String::new();
            if !wc.covered_by.is_empty() {
                detail.push_str(&format!("covered by {}", wc.covered_by.join(" ")));
            }
            if !wc.missing.is_empty() {
                if !detail.is_empty() {
                    detail.push_str("; ");
                }
                detail.push_str(&format!("missing {}", wc.missing.join(" ")));
            }
            if let Some(note) = &wc.note {
                if !detail.is_empty() {
                    detail.push_str("; ");
                }
                detail.push_str(note);
            }
            let id = format!("{}:{}", plan.framework.key(), c.id);
            w.write_record(safe([
                "coverage",
                &wc.workload,
                &id,
                &c.title,
                wc.owner.key(),
                wc.status.key(),
                &detail,
                "",
            ]))
            .map_err(err)?;
        }
    }
    for d in plan
        .coverage
        .domains
        .iter()
        .chain(std::iter::once(&plan.coverage.total))
    {
        let detail = format!(
            "controls={} covered={} partial={} gap={} inherited={} not_applicable={} own_covered_percent={:.1}",
            d.controls,
            d.covered,
            d.partial,
            d.gap,
            d.inherited,
            d.not_applicable,
            d.percent_own_covered
        );
        w.write_record(safe([
            "coverage-domain",
            "",
            &d.domain,
            &d.name,
            "",
            &format!("{:.1}", d.percent_met),
            &detail,
            "",
        ]))
        .map_err(err)?;
    }
    for g in &plan.gaps {
        let detail = format!("{} | fill with: {}", g.reason, g.service_types.join("; "));
        w.write_record(safe([
            "gap",
            &g.workloads.join(" "),
            &g.id,
            &g.name,
            &g.owner,
            "open",
            &detail,
            &g.score.to_string(),
        ]))
        .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| RenderError::Csv(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| RenderError::Csv(e.to_string()))
}

/// Spreadsheets execute cells that start with these characters as formulas; a leading apostrophe
/// makes them text (OWASP's CSV injection advice).
fn safe<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells
        .iter()
        .map(|c| {
            if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{c}")
            } else {
                (*c).to_owned()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(
            super::safe(["=1+1", "ok", "@SUM(A1)"]),
            vec!["'=1+1", "ok", "'@SUM(A1)"]
        );
    }
}
