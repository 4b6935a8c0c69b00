//! Shared text helpers for the table and Markdown renderers: a column-aligned table and labels.

use crate::report::{AreaRow, EvidenceState, EvidenceStatus, Plan, ResponsibilityRow};

/// A table of strings, rendered aligned for a terminal or as a Markdown pipe table.
pub(super) struct Grid {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Grid {
    pub(super) fn new<I, S>(headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Grid {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub(super) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub(super) fn headers(&self) -> &[String] {
        &self.headers
    }

    pub(super) fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    pub(super) fn aligned(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let line = |cells: &[String]| -> String {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let width = widths.get(i).copied().unwrap_or(0);
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(width.saturating_sub(cell.chars().count()) + 2));
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = line(&self.headers);
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&line(&rule));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }

    pub(super) fn csv(&self) -> Result<String, super::RenderError> {
        let err = |e: &dyn std::fmt::Display| super::RenderError::Csv(e.to_string());
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.headers).map_err(|e| err(&e))?;
        for row in &self.rows {
            w.write_record(row).map_err(|e| err(&e))?;
        }
        let bytes = w.into_inner().map_err(|e| err(&e))?;
        String::from_utf8(bytes).map_err(|e| err(&e))
    }

    pub(super) fn markdown(&self) -> String {
        let esc = |s: &String| md_text(s).replace('|', "\\|");
        let mut out = format!(
            "| {} |\n",
            self.headers.iter().map(esc).collect::<Vec<_>>().join(" | ")
        );
        out.push_str(&format!("|{}\n", "---|".repeat(self.headers.len())));
        for row in &self.rows {
            out.push_str(&format!(
                "| {} |\n",
                row.iter().map(esc).collect::<Vec<_>>().join(" | ")
            ));
        }
        out
    }
}

/// The owner cell of an area in the matrix, with transfers: `customer -> SecOps (waf, wtp)`.
pub(super) fn area_cell(area: &AreaRow) -> String {
    let mut cell = area.owner.key().to_owned();
    for t in &area.transfers {
        cell.push_str(&format!(" -> {}", t.to));
    }
    cell
}

/// The owner cell of a responsibility in the matrix.
pub(super) fn responsibility_cell(r: &ResponsibilityRow) -> String {
    match &r.transferred_to {
        Some(to) => format!("{} -> {to}", r.owner.key()),
        None => r.owner.key().to_owned(),
    }
}

/// Cuts `s` to `max` characters, marking the cut.
pub(super) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The header lines shared by the text renderers.
pub(super) fn heading_facts(plan: &Plan) -> Vec<(String, String)> {
    vec![
        ("Organisation".into(), plan.organisation.clone()),
        ("Tenant".into(), plan.tenant.to_string()),
        ("Deployment".into(), plan.deployment.key().to_owned()),
        ("Evidence as of".into(), plan.as_of.to_string()),
        ("Framework".into(), plan.framework.title().to_owned()),
        ("Workloads".into(), plan.matrix.len().to_string()),
    ]
}

/// The matrix as two grids (areas, responsibilities) with one column per workload.
pub(super) fn matrix_grids(plan: &Plan, clip_summary: Option<usize>) -> (Grid, Grid) {
    let workload_headers = plan
        .matrix
        .iter()
        .map(|m| format!("{} ({})", m.workload, m.service_model.label()));
    let mut areas = Grid::new(
        ["Category", "Area"]
            .map(String::from)
            .into_iter()
            .chain(workload_headers.clone()),
    );
    if let Some(first) = plan.matrix.first() {
        for (i, area) in first.areas.iter().enumerate() {
            let mut row = vec![area.category.clone(), area.area.clone()];
            row.extend(
                plan.matrix
                    .iter()
                    .map(|m| m.areas.get(i).map(area_cell).unwrap_or_default()),
            );
            areas.row(row);
        }
    }
    let mut resp = Grid::new(
        ["Responsibility", "Section", "Duty"]
            .map(String::from)
            .into_iter()
            .chain(workload_headers),
    );
    if let Some(first) = plan.matrix.first() {
        for (i, r) in first.responsibilities.iter().enumerate() {
            let summary = clip_summary.map_or_else(|| r.summary.clone(), |n| clip(&r.summary, n));
            let mut row = vec![r.id.clone(), r.section.clone(), summary];
            row.extend(plan.matrix.iter().map(|m| {
                m.responsibilities
                    .get(i)
                    .map(responsibility_cell)
                    .unwrap_or_default()
            }));
            resp.row(row);
        }
    }
    (areas, resp)
}

/// The transfers behind the `->` marks of the matrix, one line per third party and item set.
pub(super) fn transfer_lines(plan: &Plan) -> Vec<String> {
    let mut lines: Vec<(String, Vec<String>, Vec<String>)> = Vec::new();
    for m in &plan.matrix {
        let mut items: Vec<(String, String)> = m
            .areas
            .iter()
            .flat_map(|a| {
                a.transfers
                    .iter()
                    .flat_map(|t| t.items.iter().map(|i| (t.to.clone(), i.clone())))
            })
            .collect();
        items.extend(
            m.responsibilities
                .iter()
                .filter_map(|r| r.transferred_to.clone().map(|to| (to, r.id.clone()))),
        );
        let mut by_party: Vec<(String, Vec<String>)> = Vec::new();
        for (to, item) in items {
            match by_party.iter_mut().find(|(p, _)| *p == to) {
                Some((_, list)) => list.push(item),
                None => by_party.push((to, vec![item])),
            }
        }
        for (to, list) in by_party {
            match lines.iter_mut().find(|(p, l, _)| *p == to && *l == list) {
                Some((_, _, workloads)) => workloads.push(m.workload.clone()),
                None => lines.push((to, list, vec![m.workload.clone()])),
            }
        }
    }
    lines
        .into_iter()
        .map(|(to, items, workloads)| {
            format!(
                "{to} took over {} for {}",
                items.join(", "),
                workloads.join(", ")
            )
        })
        .collect()
}

/// A short evidence cell: `attested until 2027-01-01`, `expired on 2026-10-01`, `missing`.
pub(super) fn evidence_cell(e: &EvidenceStatus) -> String {
    match (e.state, e.until) {
        (EvidenceState::Attested, Some(until)) => format!("attested until {until}"),
        (EvidenceState::Expired, Some(until)) => format!("expired on {until}"),
        (state, _) => state.key().to_owned(),
    }
}

/// Text for Markdown: one line, and no raw HTML (a manifest value must not become markup in the
/// document an auditor reads).
pub(super) fn md_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

/// Who owes how many duties, and how many are in place: one row per party, third parties by name.
pub(super) fn party_summary(plan: &Plan) -> Grid {
    use crate::report::DutyStatus as S;
    let mut rows: Vec<(String, [usize; 4])> = Vec::new();
    for d in &plan.capabilities {
        let party = match (d.status, d.transferred_to.as_deref(), d.owner) {
            (S::Inherited, _, _) => "provider (inherited)".to_owned(),
            (_, Some(to), _) => format!("{to} (by contract)"),
            (_, None, shieldwall_catalog::Owner::Shared) => {
                "customer (its part of shared)".to_owned()
            }
            _ => "customer".to_owned(),
        };
        let i = match rows.iter().position(|(p, _)| *p == party) {
            Some(i) => i,
            None => {
                rows.push((party, [0; 4]));
                rows.len() - 1
            }
        };
        if let Some((_, counts)) = rows.get_mut(i) {
            counts[0] += 1;
            match d.status {
                S::InPlace | S::Inherited => counts[1] += 1,
                S::Unverified => counts[2] += 1,
                S::Unassigned => counts[3] += 1,
            }
        }
    }
    let mut g = Grid::new([
        "Party",
        "Duties",
        "In place or inherited",
        "Unverified",
        "Unassigned",
    ]);
    for (party, c) in rows {
        g.row(vec![
            party,
            c[0].to_string(),
            c[1].to_string(),
            c[2].to_string(),
            c[3].to_string(),
        ]);
    }
    g
}

/// Per workload, the capabilities the provider owns there.
pub(super) fn inherited_lines(plan: &Plan) -> Vec<String> {
    // One pass over the duties, not one per workload: plans may hold thousands of workloads.
    let mut by_workload: std::collections::HashMap<&str, Vec<&str>> =
        std::collections::HashMap::new();
    for d in plan
        .capabilities
        .iter()
        .filter(|d| d.status == crate::report::DutyStatus::Inherited)
    {
        by_workload
            .entry(d.workload.as_str())
            .or_default()
            .push(d.capability.as_str());
    }
    plan.matrix
        .iter()
        .map(|m| {
            let caps = by_workload
                .get(m.workload.as_str())
                .map_or_else(|| "none".to_owned(), |c| c.join(", "));
            format!("{} ({}): {caps}", m.workload, m.service_model.label())
        })
        .collect()
}

/// Coverage per domain and in total, one row each; `clip_name` shortens long domain names.
pub(super) fn domain_grid(plan: &Plan, clip_name: Option<usize>) -> Grid {
    let mut grid = Grid::new([
        "Domain",
        "Name",
        "Controls",
        "Covered",
        "Partial",
        "Gap",
        "Inherited",
        "N/A",
        "Met %",
        "Own %",
    ]);
    for d in plan
        .coverage
        .domains
        .iter()
        .chain(std::iter::once(&plan.coverage.total))
    {
        grid.row(vec![
            d.domain.clone(),
            clip_name.map_or_else(|| d.name.clone(), |n| clip(&d.name, n)),
            d.controls.to_string(),
            d.covered.to_string(),
            d.partial.to_string(),
            d.gap.to_string(),
            d.inherited.to_string(),
            d.not_applicable.to_string(),
            format!("{:.1}", d.percent_met),
            format!("{:.1}", d.percent_own_covered),
        ]);
    }
    grid
}
