//! Rules written for each construct of the specification, against events built for them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use serde_json::{Value, json};
use shieldwall_detect::{Rule, RuleSettings};

fn rule(detection: &str) -> Rule {
    rule_with(detection, &RuleSettings::default())
}

fn rule_with(detection: &str, settings: &RuleSettings) -> Rule {
    let text = format!(
        "title: test\nlogsource:\n    product: windows\ndetection:\n{}",
        detection
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    Rule::parse(Path::new("test.yml"), &text, settings).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn load_error(detection: &str) -> String {
    let text = format!(
        "title: test\nlogsource:\n    product: windows\ndetection:\n{}",
        detection
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    );
    Rule::parse(Path::new("test.yml"), &text, &RuleSettings::default())
        .err()
        .unwrap_or_else(|| panic!("loaded:\n{text}"))
        .to_string()
}

fn hits(rule: &Rule, events: &[Value]) -> Vec<bool> {
    events.iter().map(|e| rule.matches(e)).collect()
}

#[test]
fn maps_are_and_lists_are_or_and_case_is_ignored() {
    let r = rule(
        "selection:\n    EventID:\n        - 4624\n        - 4625\n    LogonType: 10\ncondition: selection",
    );
    assert_eq!(
        hits(
            &r,
            &[
                json!({"EventID": 4624, "LogonType": 10}),
                json!({"EventID": "4625", "LogonType": "10"}),
                json!({"EventID": 4624, "LogonType": 3}),
                json!({"EventID": 4634, "LogonType": 10}),
                json!({"LogonType": 10}),
            ]
        ),
        [true, true, false, false, false]
    );
    let r = rule("selection:\n    Image|endswith: '\\CMD.EXE'\ncondition: selection");
    assert!(r.matches(&json!({"Image": "C:\\Windows\\System32\\cmd.exe"})));
}

#[test]
fn list_of_maps_and_keywords() {
    let r = rule(
        "selection:\n    - Image|endswith: '\\example.exe'\n    - Description|contains: 'Test executable'\ncondition: selection",
    );
    assert_eq!(
        hits(
            &r,
            &[
                json!({"Image": "c:\\x\\EXAMPLE.exe"}),
                json!({"Description": "a test executable here"}),
                json!({"Image": "c:\\x\\other.exe"}),
            ]
        ),
        [true, true, false]
    );
    let r = rule("keywords:\n    - 'event::clear'\n    - 'event::drop'\ncondition: keywords");
    assert_eq!(
        hits(
            &r,
            &[
                json!({"CommandLine": "mimikatz EVENT::Clear exit"}),
                json!({"a": {"b": ["x", "event::drop"]}}),
                json!({"CommandLine": "event clear"}),
            ]
        ),
        [true, true, false]
    );
    let r = rule(
        "keywords:\n    '|all':\n        - 'OabVirtualDirectory'\n        - ' -ExternalUrl '\ncondition: keywords",
    );
    assert_eq!(
        hits(
            &r,
            &[
                json!({"m": "Set-OabVirtualDirectory -ExternalUrl http://x"}),
                json!({"m": "Set-OabVirtualDirectory", "n": "x -ExternalUrl y"}),
                json!({"m": "Set-OabVirtualDirectory"}),
            ]
        ),
        [true, true, false]
    );
}

#[test]
fn conditions_of_patterns_and_them() {
    let detection =
        "selection_a:\n    A: 1\nselection_b:\n    B: 1\nfilter_x:\n    X: 1\n_hidden:\n    H: 1\n";
    let events = [
        json!({"A": 1}),
        json!({"A": 1, "B": 1}),
        json!({"A": 1, "X": 1}),
        json!({"H": 1}),
        json!({"A": 1, "B": 1, "X": 1}),
    ];
    let check = |condition: &str| {
        hits(
            &rule(&format!("{detection}condition: {condition}")),
            &events,
        )
    };
    assert_eq!(check("1 of selection_*"), [true, true, true, false, true]);
    assert_eq!(
        check("all of selection_*"),
        [false, true, false, false, true]
    );
    assert_eq!(
        check("1 of selection_* and not 1 of filter_*"),
        [true, true, false, false, false]
    );
    assert_eq!(check("1 of them"), [true, true, true, false, true]);
    assert_eq!(check("all of them"), [false, false, false, false, true]);
    assert_eq!(check("2 of them"), [false, true, true, false, true]);
    assert_eq!(
        check("selection_a and (selection_b or filter_x)"),
        [false, true, true, false, true]
    );
    // A list of conditions is their OR.
    assert_eq!(
        check("\n    - filter_x\n    - _hidden"),
        [false, false, true, true, true]
    );
}

#[test]
fn null_empty_exists() {
    let r = rule(
        "selection:\n    EventID: 4738\nfilter:\n    PasswordLastSet: null\ncondition: selection and not filter",
    );
    assert_eq!(
        hits(
            &r,
            &[
                json!({"EventID": 4738, "PasswordLastSet": "2024"}),
                json!({"EventID": 4738, "PasswordLastSet": null}),
                json!({"EventID": 4738}),
            ]
        ),
        [true, false, false]
    );
    let r = rule("selection:\n    CommandLine: ''\ncondition: selection");
    assert_eq!(
        hits(
            &r,
            &[
                json!({"CommandLine": ""}),
                json!({}),
                json!({"CommandLine": "x"})
            ]
        ),
        [true, false, false]
    );
    let r = rule("selection:\n    PasswordLastSet|exists: true\ncondition: selection");
    assert_eq!(
        hits(&r, &[json!({"PasswordLastSet": null}), json!({})]),
        [true, false]
    );
    let r = rule("selection:\n    PasswordLastSet|exists: false\ncondition: selection");
    assert_eq!(
        hits(&r, &[json!({"PasswordLastSet": 1}), json!({})]),
        [false, true]
    );
}

#[test]
fn modifiers() {
    let r = rule(
        "s:\n    CommandLine|contains|all:\n        - ' -enc '\n        - 'hidden'\ncondition: s",
    );
    assert_eq!(
        hits(
            &r,
            &[
                json!({"CommandLine": "powershell -w HIDDEN -enc abc"}),
                json!({"CommandLine": "powershell -enc abc"}),
            ]
        ),
        [true, false]
    );
    let r = rule("s:\n    CommandLine|contains|windash: ' -enc '\ncondition: s");
    assert_eq!(
        hits(
            &r,
            &[
                json!({"CommandLine": "powershell /enc abc"}),
                json!({"CommandLine": "powershell \u{2013}enc abc"}),
                json!({"CommandLine": "powershell enc abc"}),
            ]
        ),
        [true, true, false]
    );
    let r = rule("s:\n    CommandLine|startswith: 'net '\ncondition: s");
    assert!(r.matches(&json!({"CommandLine": "NET user"})));
    assert!(!r.matches(&json!({"CommandLine": "xnet user"})));
    let r = rule("s:\n    CommandLine|re: '-k\\s\\w{1,64}'\ncondition: s");
    assert!(r.matches(&json!({"CommandLine": "svchost.exe -k netsvcs"})));
    assert!(
        !r.matches(&json!({"CommandLine": "svchost.exe -K netsvcs"})),
        "re is cased"
    );
    let r = rule("s:\n    CommandLine|re|i: '-k\\s\\w{1,64}'\ncondition: s");
    assert!(r.matches(&json!({"CommandLine": "svchost.exe -K netsvcs"})));
    let r = rule(
        "s:\n    DestinationIp|cidr:\n        - '10.0.0.0/8'\n        - 'fc00::/7'\ncondition: s",
    );
    assert_eq!(
        hits(
            &r,
            &[
                json!({"DestinationIp": "10.1.2.3"}),
                json!({"DestinationIp": "fd00::1"}),
                json!({"DestinationIp": "8.8.8.8"}),
                json!({"DestinationIp": "not an ip"}),
            ]
        ),
        [true, true, false, false]
    );
    let r = rule("s:\n    Count|gte: 10\n    Size|lt: 5.5\ncondition: s");
    assert_eq!(
        hits(
            &r,
            &[
                json!({"Count": 10, "Size": 5}),
                json!({"Count": "11", "Size": "1.0"}),
                json!({"Count": 9, "Size": 1}),
                json!({"Count": 10, "Size": 5.5}),
            ]
        ),
        [true, true, false, false]
    );
    let r = rule("s:\n    User|neq: 'SYSTEM'\ncondition: s");
    assert_eq!(
        hits(&r, &[json!({"User": "system"}), json!({"User": "bob"})]),
        [false, true]
    );
    let r = rule("s:\n    TargetUserName|fieldref: SubjectUserName\ncondition: s");
    assert_eq!(
        hits(
            &r,
            &[
                json!({"TargetUserName": "Bob", "SubjectUserName": "bob"}),
                json!({"TargetUserName": "bob", "SubjectUserName": "alice"}),
                json!({"TargetUserName": "bob"}),
            ]
        ),
        [true, false, false]
    );
    let r = rule("s:\n    Name|cased: 'Evil'\ncondition: s");
    assert_eq!(
        hits(&r, &[json!({"Name": "Evil"}), json!({"Name": "evil"})]),
        [true, false]
    );
}

#[test]
fn encodings() {
    // "Invoke" in UTF-16LE, Base64 at the three offsets, inside a longer command line.
    let r = rule("s:\n    CommandLine|wide|base64offset|contains: 'Invoke'\ncondition: s");
    use base64::Engine as _;
    let encode = |s: &str| {
        let utf16: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        base64::engine::general_purpose::STANDARD.encode(utf16)
    };
    for prefix in ["", "a", "ab", "abc"] {
        let line = format!(
            "powershell -enc {}",
            encode(&format!("{prefix}Invoke-Expression x"))
        );
        assert!(r.matches(&json!({ "CommandLine": line })), "{prefix}");
    }
    assert!(
        !r.matches(&json!({ "CommandLine": format!("powershell -enc {}", encode("Get-Item x")) }))
    );
    let r = rule("s:\n    Data|base64: 'evil'\ncondition: s");
    assert!(r.matches(&json!({"Data": "ZXZpbA=="})));
}

#[test]
fn time_modifiers_take_a_part_of_the_date() {
    let r = rule("s:\n    UtcTime|hour|gte: 22\ncondition: s");
    assert_eq!(
        hits(
            &r,
            &[
                json!({"UtcTime": "2026-04-17 23:10:00.000"}),
                json!({"UtcTime": "2026-04-17 05:10:00.000"}),
                json!({"UtcTime": "not a date"}),
            ]
        ),
        [true, false, false]
    );
    let r = rule("s:\n    Time|month: 4\n    Time|year: 2026\ncondition: s");
    assert!(r.matches(&json!({"Time": "2026-04-17T05:24:53Z"})));
    assert!(!r.matches(&json!({"Time": "2025-04-17T05:24:53Z"})));
}

#[test]
fn expand_uses_configured_values() {
    let mut settings = RuleSettings::default();
    settings
        .placeholders
        .insert("Admins".into(), vec!["root".into(), "adm-*".into()]);
    let r = rule_with("s:\n    User|expand: '%Admins%'\ncondition: s", &settings);
    assert_eq!(
        hits(
            &r,
            &[
                json!({"User": "root"}),
                json!({"User": "ADM-bob"}),
                json!({"User": "bob"})
            ]
        ),
        [true, true, false]
    );
}

#[test]
fn arrays_in_events_match_by_element() {
    let r = rule("s:\n    Tags|contains: 'evil'\ncondition: s");
    assert!(r.matches(&json!({"Tags": ["good", "very evil"]})));
    assert!(!r.matches(&json!({"Tags": ["good"]})));
}

#[test]
fn what_does_not_load_says_why_and_where() {
    let e = load_error("s:\n    A|frobnicate: 1\ncondition: s");
    assert!(e.contains("unknown modifier `frobnicate`"), "{e}");
    assert!(e.starts_with("test.yml:6:9:"), "{e}");
    let e = load_error("s:\n    A: 1\ncondition: s and t");
    assert!(e.contains("no search identifier `t`"), "{e}");
    let e = load_error("s:\n    A: 1\ncondition: 1 of x*");
    assert!(e.contains("`x*` matches no search identifier"), "{e}");
    let e = load_error("s:\n    A: 1\ncondition: s | count() > 5");
    assert!(e.contains("pipe"), "{e}");
    let e = load_error("s:\n    A|re: '(?<=a)b'\ncondition: s");
    assert!(e.contains("regular expression"), "{e}");
    let e = load_error("s:\n    A|expand: '%Nobody%'\ncondition: s");
    assert!(e.contains("%Nobody% has no configured values"), "{e}");
    let e = load_error("s:\n    A:\n        - ''\n        - null\ncondition: s");
    assert!(e.contains("null"), "{e}");
    let e = load_error("s:\n    A|hour: soon\ncondition: s");
    assert!(e.contains("not a number"), "{e}");
    let e = load_error("s:\n    A|base64: 'a*'\ncondition: s");
    assert!(e.contains("wildcards"), "{e}");
    let e = load_error("s:\n    A|i: 'a'\ncondition: s");
    assert!(e.contains("flag of `re`"), "{e}");
    let e = load_error("s:\n    A|cidr: '10.0.0.0/99'\ncondition: s");
    assert!(e.contains("address range"), "{e}");
    let e = load_error("s:\n    A: 1\n");
    assert!(e.contains("no `condition`"), "{e}");
}
