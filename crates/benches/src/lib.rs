//! Inputs for Shieldwall's benchmarks: generated deployment manifests of any size.

use std::fmt::Write as _;

use shieldwall_catalog::Catalog;

/// A manifest with `workloads` workloads cycling through the service models, classifications and
/// exposures, two third parties with transfers, an assignment for every other capability (half of
/// them attested, half module-evidenced, some scoped to a subset of workloads) and a few control
/// statements: a realistic mix for the planner's every branch.
pub fn manifest(catalog: &Catalog, workloads: usize) -> String {
    let mut m = String::from(
        "deployment = \"hybrid\"\n\n[organisation]\nname = \"Generated\"\ntenant = \"bench\"\n",
    );
    let models = ["iaas", "paas", "saas"];
    let classes = ["public", "internal", "confidential", "restricted"];
    for i in 0..workloads {
        let _ = write!(
            m,
            "\n[[workload]]\nname = \"w{i}\"\nservice_model = \"{}\"\nprovider = \"provider-{}\"\ndata_classification = \"{}\"\ninternet_facing = {}\n",
            models.get(i % 3).unwrap_or(&"iaas"),
            i % 4,
            classes.get(i % 4).unwrap_or(&"public"),
            i % 2 == 0
        );
    }
    m.push_str("\n[[third_party]]\nname = \"mssp\"\n\n[[third_party]]\nname = \"auditor\"\n");
    m.push_str("\n[[transfer]]\nto = \"mssp\"\nitems = [\"system-vulnerability-scanning\", \"database-audit\"]\n");
    m.push_str("\n[[transfer]]\nto = \"auditor\"\nitems = [\"R-PROVIDER-ASSURANCE\"]\n");
    for (i, cap) in catalog
        .capabilities()
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
    {
        let _ = write!(
            m,
            "\n[[assignment]]\ncapability = \"{}\"\nsupplier = \"customer\"\nproduct = \"product {i}\"\n",
            cap.id
        );
        if i % 4 == 0 {
            let scope: Vec<String> = (0..workloads)
                .step_by(3)
                .map(|w| format!("\"w{w}\""))
                .collect();
            let _ = writeln!(m, "workloads = [{}]", scope.join(", "));
        }
        match cap.modules.first() {
            Some(module) if i % 3 == 0 => {
                let _ = writeln!(m, "evidence = {{ module = \"{module}\" }}");
            }
            _ => m.push_str("[assignment.evidence]\nattested_by = \"owner\"\nattested_on = 2026-01-01\nexpires = 2027-01-01\n"),
        }
    }
    for id in ["GRC-01", "SEF-03", "BCR-09"] {
        let _ = write!(
            m,
            "\n[[control]]\nid = \"{id}\"\nattested_by = \"ciso\"\nattested_on = 2026-01-01\nexpires = 2027-01-01\n"
        );
    }
    m.push_str("\n[[control]]\nid = \"UEM-12\"\nnot_applicable = \"no mobile devices\"\n");
    m
}
