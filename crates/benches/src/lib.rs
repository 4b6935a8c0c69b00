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

/// A mixed log corpus of `lines` lines, as it would arrive over syslog, built from the real
/// sample lines under `samples` (the parser tests' `crates/parse/tests/samples`): every line that
/// carries a syslog header, is a JSON object, or is CEF/LEEF. Lines are cycled in a fixed order;
/// the RFC 3164 hostname is rewritten to one of `hosts` names, so that the corpus exercises as
/// many distinct senders as asked.
pub fn log_corpus(
    samples: &std::path::Path,
    lines: usize,
    hosts: usize,
) -> std::io::Result<Vec<String>> {
    let mut pool = Vec::new();
    let mut files = Vec::new();
    for sub in ["text", "structured"] {
        let dir = samples.join(sub);
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|x| x == "log" || x == "jsonl") {
                files.push(path);
            }
        }
    }
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines() {
            let usable = line.starts_with('<')
                || line.starts_with('{')
                || line.contains("CEF:")
                || line.contains("LEEF:");
            if usable && !line.trim().is_empty() {
                pool.push(line.to_owned());
            }
        }
    }
    if pool.is_empty() {
        return Err(std::io::Error::other(format!(
            "no usable sample lines under {}",
            samples.display()
        )));
    }
    let hosts = hosts.max(1);
    Ok((0..lines)
        .map(|i| {
            let line = pool.get(i % pool.len()).map_or("", String::as_str);
            rename_host(line, &format!("host-{}", i % hosts))
        })
        .collect())
}

/// Replaces the hostname of an RFC 3164 line (`<PRI>Mmm dd hh:mm:ss HOST ...`); other lines are
/// returned as they are.
fn rename_host(line: &str, host: &str) -> String {
    let Some(rest) = line.strip_prefix('<') else {
        return line.to_owned();
    };
    let Some(close) = rest.find('>') else {
        return line.to_owned();
    };
    let after_pri = rest.get(close + 1..).unwrap_or("");
    // "Mmm dd hh:mm:ss " is 16 bytes; a digit there means RFC 5424, left alone.
    if after_pri.len() < 16 || after_pri.starts_with(|c: char| c.is_ascii_digit()) {
        return line.to_owned();
    }
    let (stamp, tail) = after_pri.split_at(16);
    match tail.split_once(' ') {
        Some((_, content)) => format!(
            "<{}>{stamp}{host} {content}",
            rest.get(..close).unwrap_or("13")
        ),
        None => line.to_owned(),
    }
}

/// The regex shape of generated user parsers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternShape {
    /// Literals and class runs that never backtrack (`(?P<user>\S+) from`): matched without
    /// the regex engine.
    Simple,
    /// A `.+` before a literal that it could also match: needs the regex engine.
    Backtracking,
}

/// `count` user parsers, each for its own program `appN` with its own regex (the type's number
/// is part of the pattern), and `lines` lines that cycle through the types: the input of the
/// dispatch-scaling benchmark.
pub fn user_parser_set(count: usize, lines: usize, shape: PatternShape) -> (String, Vec<String>) {
    let user = match shape {
        PatternShape::Simple => "\\S+",
        PatternShape::Backtracking => ".+",
    };
    let mut yaml = String::from("parsers:\n");
    for i in 0..count {
        let _ = write!(
            yaml,
            "  - id: app{i}\n    match: {{ program: [app{i}] }}\n    method: {{ regex: '^LOGIN user=(?P<user>{user}) from (?P<ip>[0-9.]+) port {i} result=(?P<result>\\w+)' }}\n    class: authentication\n    activity_id: 1\n    map:\n      user.name: \"{{user}}\"\n      src_endpoint.ip: \"{{ip}}\"\n      status: {{ from: result, values: {{ ok: success, fail: failure }} }}\n"
        );
    }
    let corpus = (0..lines)
        .map(|i| {
            let kind = i % count.max(1);
            format!(
                "<38>Nov 29 10:00:00 host-{} app{kind}: LOGIN user=u{} from 10.0.{}.{} port {kind} result={}",
                i % 50,
                i % 1000,
                (i / 256) % 256,
                i % 256,
                if i % 3 == 0 { "fail" } else { "ok" }
            )
        })
        .collect();
    (yaml, corpus)
}
