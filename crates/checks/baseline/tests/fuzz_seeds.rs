//! Replays the `sca_policy` fuzz target's seed corpus (`fuzz/seeds/sca_policy`, committed) and,
//! when present, its local corpus through the same invariants as the fuzz target.

use std::collections::BTreeMap;
use std::path::Path;

use shieldwall_baseline::{Evaluator, Limits, Policy, Rule, Target};

#[test]
fn sca_policy_seeds_load_or_fail_with_a_reason_and_evaluate()
-> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("target.conf");
    std::fs::write(
        &file,
        "Port 22\nPermitRootLogin no\n# comment\nMaxAuthTries 4\n1\n",
    )?;
    let mut files = BTreeMap::new();
    files.insert("$target_file".to_owned(), file);
    let target = Target::Files { files };
    let mut loaded = 0;
    for (path, data) in shieldwall_testkit::fuzz_inputs("sca_policy") {
        let text = String::from_utf8_lossy(&data);
        for line in text.lines() {
            let _ = Rule::parse(line);
        }
        match Policy::parse(Path::new("fuzz.yml"), &text) {
            Err(e) => {
                assert!(!e.reason.is_empty(), "{}", path.display());
                assert!(e.line <= line_breaks(&text) + 1, "{}: {e}", path.display());
            }
            Ok(policy) => {
                loaded += 1;
                let report =
                    Evaluator::new(&target, Limits::default()).policy(&policy, &mut |_, _| {});
                assert_eq!(
                    report.checks.len(),
                    policy.checks.len(),
                    "{}",
                    path.display()
                );
            }
        }
    }
    assert!(
        loaded >= 2,
        "the committed seeds include policies that load"
    );
    Ok(())
}

fn line_breaks(text: &str) -> usize {
    text.replace("\r\n", "\n").matches(['\n', '\r']).count()
}
