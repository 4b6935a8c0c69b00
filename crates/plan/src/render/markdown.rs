//! The Markdown rendering: the whole plan, with the guidance for every gap.

use super::text::{
    Grid, domain_grid, evidence_cell, heading_facts, matrix_grids, md_text, party_summary,
    transfer_lines,
};
use crate::report::{DutyStatus, GapKind, Plan};

pub(super) fn render(plan: &Plan) -> String {
    let mut out = format!("# Responsibility plan: {}\n\n", md_text(&plan.organisation));
    for (k, v) in heading_facts(plan) {
        out.push_str(&format!("- **{k}:** {}\n", md_text(&v)));
    }
    for notice in &plan.notices {
        out.push_str(&format!("\n> **Note:** {}\n", md_text(notice)));
    }

    out.push_str("\n## 1. Responsibility matrix\n\nOwner per workload; `->` marks duties a third party took over by contract.\n\n");
    let (areas, resp) = matrix_grids(plan, None);
    out.push_str(&areas.markdown());
    out.push('\n');
    out.push_str(&resp.markdown());
    let transfers = transfer_lines(plan);
    if !transfers.is_empty() {
        out.push_str("\nTransfers by contract:\n\n");
        for line in transfers {
            out.push_str(&format!("- {}\n", md_text(&line)));
        }
    }

    out.push_str("\n## 2. Capabilities each party owes\n\n");
    out.push_str(&party_summary(plan).markdown());
    out.push('\n');
    for (title, wanted) in [
        (
            "Owed by the customer (alone or its part of a shared duty)",
            false,
        ),
        ("Owed by the provider (inherited)", true),
    ] {
        out.push_str(&format!("### {title}\n\n"));
        let mut g = Grid::new([
            "Capability",
            "Section",
            "Workload",
            "Owner",
            "Status",
            "Supplier",
            "Product",
            "Evidence",
        ]);
        for d in plan
            .capabilities
            .iter()
            .filter(|d| (d.status == DutyStatus::Inherited) == wanted)
        {
            g.row(vec![
                d.capability.clone(),
                d.section.clone(),
                d.workload.clone(),
                d.owner.key().into(),
                d.status.key().into(),
                d.supplier.clone().unwrap_or_else(|| "-".into()),
                d.product.clone().unwrap_or_else(|| "-".into()),
                format!("{} ({})", evidence_cell(&d.evidence), d.evidence.detail),
            ]);
        }
        out.push_str(&g.markdown());
        out.push('\n');
    }

    out.push_str(&format!("## 3. {} coverage\n\n", plan.framework.title()));
    let domains = domain_grid(plan, None);
    out.push_str(&domains.markdown());
    out.push_str("\nOwner letters per IaaS/PaaS/SaaS: C csp-owned, S shared, U csc-owned, - not applicable, ? unspecified.\n\n");
    let mut controls = Grid::new([
        "Control",
        "Title",
        "Kind",
        "Owner",
        "Status",
        "Customer part",
        "Per workload",
    ]);
    for c in &plan.coverage.controls {
        let per: Vec<String> = c
            .workloads
            .iter()
            .map(|w| {
                let mut s = format!("{}: {}", w.workload, w.status.key());
                if !w.missing.is_empty() {
                    s.push_str(&format!(" (missing {})", w.missing.join(", ")));
                }
                s
            })
            .collect();
        controls.row(vec![
            c.id.clone(),
            c.title.clone(),
            c.kind.key().to_owned(),
            super::table::owner_letters(c),
            c.status.key().into(),
            c.customer_part.clone(),
            per.join("; "),
        ]);
    }
    out.push_str(&controls.markdown());

    out.push_str("\n## 4. Gaps, most urgent first\n\nScore: docs/risk-score.md.\n\n");
    for g in &plan.gaps {
        let kind = match g.kind {
            GapKind::Capability => "capability",
            GapKind::Control => "control",
        };
        out.push_str(&format!(
            "### {}. {} ({kind}, score {})\n\n",
            g.rank,
            md_text(&g.id),
            g.score
        ));
        out.push_str(&format!(
            "- **Name:** {}\n- **Owner:** {}\n- **Workloads:** {}\n- **Why:** {}\n",
            md_text(&g.name),
            g.owner,
            md_text(&g.workloads.join(", ")),
            md_text(&g.reason)
        ));
        if let Some(section) = &g.section {
            out.push_str(&format!("- **Guideline section:** {section}\n"));
        }
        out.push_str(&format!(
            "- **Guidance:** {}\n- **Could be filled by:** {}\n- **Controls:** {}\n\n",
            md_text(&g.guidance),
            md_text(&g.service_types.join("; ")),
            md_text(&g.controls.join(", "))
        ));
    }
    out
}
