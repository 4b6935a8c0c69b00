//! A run as the records the centre stores: a finding per check with stable ids, and evidence
//! only for controls the run observed as met.

use std::path::Path;

use shieldwall_baseline::findings::{evidence, findings};
use shieldwall_baseline::{Evaluator, Limits, Policy, Target};
use shieldwall_core::{EvidenceSource, FindingStatus, TenantId};

const POLICY: &str = "policy:
  id: p
  name: P
  description: d
checks:
  - id: 1
    name: root login off
    condition: all
    compliance: {ccm_v4: [IAM-09, IVS-04]}
    rules: ['f:/etc/ssh/sshd_config -> r:^PermitRootLogin no']
  - id: 2
    name: four tries
    condition: all
    compliance: {ccm_v4: [IVS-04]}
    rules: ['f:/etc/ssh/sshd_config -> n:^MaxAuthTries (\\d+) compare <= 4']
  - id: 3
    name: banner
    condition: all
    compliance: {ccm_v4: [GRC-05]}
    rules: ['f:/etc/issue.net -> r:Authori']
";

#[test]
fn findings_per_check_and_evidence_for_met_controls_only() -> Result<(), Box<dyn std::error::Error>>
{
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("etc/ssh"))?;
    std::fs::write(
        dir.path().join("etc/ssh/sshd_config"),
        "PermitRootLogin no\nMaxAuthTries 6\n",
    )?;
    let policy = Policy::parse(Path::new("p.yml"), POLICY)?;
    let target = Target::root(dir.path().to_owned(), false);
    let report = Evaluator::new(&target, Limits::default()).policy(&policy, &mut |_, _| {});
    let tenant = TenantId::new("acme")?;
    let time = jiff::Timestamp::from_second(1_790_000_000)?;

    let found = findings(&report, &tenant, time);
    let statuses: Vec<(&str, FindingStatus)> = found
        .iter()
        .map(|f| (f.check_id.as_str(), f.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("p/1", FindingStatus::Pass),
            ("p/2", FindingStatus::Fail),
            ("p/3", FindingStatus::NotApplicable)
        ]
    );
    assert!(
        found
            .iter()
            .all(|f| f.module == "baseline" && f.target == report.target)
    );
    // The same run stored twice has the same ids; a later run has others.
    assert_eq!(found, findings(&report, &tenant, time));
    let later = findings(
        &report,
        &tenant,
        jiff::Timestamp::from_second(1_790_000_060)?,
    );
    assert!(found.iter().zip(&later).all(|(a, b)| a.id != b.id));

    // IAM-09 passed with nothing failing; IVS-04 had a failure; GRC-05 was not applicable.
    let evidence = evidence(&report, &found, &tenant, Some("web"), time).ok_or("no evidence")?;
    let controls: Vec<String> = evidence.controls.iter().map(|c| c.id.clone()).collect();
    assert_eq!(controls, ["IAM-09"]);
    assert_eq!(evidence.workload.as_deref(), Some("web"));
    let EvidenceSource::Module { module, records } = &evidence.source else {
        return Err("not module evidence".into());
    };
    let passed = found.first().map(|f| f.id).ok_or("no finding")?;
    assert_eq!(
        (module.as_str(), records.as_slice()),
        ("baseline", &[passed][..])
    );
    Ok(())
}
