//! Fuzzes SCA policy loading and evaluation: any text loads or fails with a reason (and a line
//! inside the text when it names one), never panicking; a policy that loads is evaluated
//! against a configuration file, the only target that reads nothing else and runs nothing.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shieldwall_baseline::{Evaluator, Limits, Policy, Rule, Target};

fn target_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("shieldwall-fuzz-{}.conf", std::process::id()));
        let _ = std::fs::write(&path, "Port 22\nPermitRootLogin no\n# comment\nMaxAuthTries 4\n1\n");
        path
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        let _ = Rule::parse(line);
    }
    match Policy::parse(Path::new("fuzz.yml"), &text) {
        Err(e) => {
            assert!(!e.reason.is_empty());
            assert!(e.line <= line_breaks(&text) + 1, "{e}");
        }
        Ok(policy) => {
            let mut files = BTreeMap::new();
            files.insert("$target_file".to_owned(), target_file().clone());
            let target = Target::Files { files };
            let report = Evaluator::new(&target, Limits::default()).policy(&policy, &mut |_, _| {});
            assert_eq!(report.checks.len(), policy.checks.len());
        }
    }
});

/// Line breaks as YAML counts them: `\r\n`, `\n`, and a `\r` alone.
fn line_breaks(text: &str) -> usize {
    text.replace("\r\n", "\n").matches(['\n', '\r']).count()
}
