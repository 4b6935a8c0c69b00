//! Unit tests of the syslog parser on real sample lines; each names where its shape comes from.

use jiff::{Timestamp, tz::TimeZone};

use super::*;

fn ctx() -> ParseContext {
    ParseContext::new(ts("2003-10-11T22:14:16Z"), TimeZone::UTC)
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn p(s: &str) -> SyslogMessage {
    parse(s.as_bytes(), &ctx())
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

// ---------------------------------------------------------------- RFC 5424

// RFC 5424 section 6.5, example 1 (the "BOM" of the RFC text is the UTF-8 BOM).
#[test]
fn rfc5424_example_1_no_structured_data() {
    let m = p(
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8",
    );
    assert_eq!(
        m,
        SyslogMessage {
            facility: Some(4),
            severity: Some(2),
            version: Some(1),
            timestamp: Some(ts("2003-10-11T22:14:15.003Z")),
            timestamp_status: TimestampStatus::Parsed,
            hostname: Some("mymachine.example.com".into()),
            app_name: Some("su".into()),
            proc_id: None,
            msg_id: Some("ID47".into()),
            structured_data: vec![],
            message: "'su root' failed for lonvick on /dev/pts/8".into(),
            format: Format::Rfc5424,
            anomalies: vec![],
        }
    );
}

// RFC 5424 section 6.5, example 2: offset, microseconds, IP as hostname, no MSGID, no BOM.
#[test]
fn rfc5424_example_2_offset_and_procid() {
    let m = p(
        "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
    );
    assert_eq!((m.facility, m.severity), (Some(20), Some(5)));
    assert_eq!(m.timestamp, Some(ts("2003-08-24T12:14:15.000003Z")));
    assert_eq!(m.timestamp_status, TimestampStatus::Parsed);
    assert_eq!(m.hostname.as_deref(), Some("192.0.2.1"));
    assert_eq!(m.app_name.as_deref(), Some("myproc"));
    assert_eq!(m.proc_id.as_deref(), Some("8710"));
    assert_eq!(m.msg_id, None);
    assert!(m.structured_data.is_empty());
    assert_eq!(m.message, "%% It's time to make the do-nuts.");
    assert_eq!(m.format, Format::Rfc5424);
}

// RFC 5424 section 6.5, example 3: structured data and a message.
#[test]
fn rfc5424_example_3_structured_data() {
    let m = p(
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \u{feff}An application event log entry...",
    );
    assert_eq!(
        m.structured_data,
        vec![SdElement {
            id: "exampleSDID@32473".into(),
            params: params(&[
                ("iut", "3"),
                ("eventSource", "Application"),
                ("eventID", "1011")
            ]),
        }]
    );
    assert_eq!(m.app_name.as_deref(), Some("evntslog"));
    assert_eq!(m.message, "An application event log entry...");
    assert!(m.anomalies.is_empty());
}

// RFC 5424 section 6.5, example 4: two elements and no MSG.
#[test]
fn rfc5424_example_4_structured_data_only() {
    let m = p(
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]",
    );
    assert_eq!(m.structured_data.len(), 2);
    assert_eq!(m.structured_data[1].id, "examplePriority@32473");
    assert_eq!(m.structured_data[1].params, params(&[("class", "high")]));
    assert_eq!(m.message, "");
    assert!(m.anomalies.is_empty());
}

// RFC 5424 section 6.3.5: a space between elements makes the second one part of MSG.
#[test]
fn rfc5424_space_between_elements_starts_msg() {
    let m = p(
        "<165>1 2003-10-11T22:14:15.003Z host app - - [exampleSDID@32473 iut=\"3\"] [examplePriority@32473 class=\"high\"]",
    );
    assert_eq!(m.structured_data.len(), 1);
    assert_eq!(m.message, "[examplePriority@32473 class=\"high\"]");
}

// RFC 5424 section 6.3.3: escaping of '"', '\' and ']'; any other backslash is literal.
#[test]
fn rfc5424_param_escapes() {
    let m = p(
        r#"<13>1 - - - - - [x@1 a="q\"uote" b="back\\slash" c="br\]acket" d="C:\temp" e="un]escaped" f=""] m"#,
    );
    assert_eq!(
        m.structured_data[0].params,
        params(&[
            ("a", "q\"uote"),
            ("b", "back\\slash"),
            ("c", "br]acket"),
            ("d", "C:\\temp"),
            ("e", "un]escaped"),
            ("f", ""),
        ])
    );
    assert_eq!(m.message, "m");
    assert_eq!(m.timestamp_status, TimestampStatus::Missing);
    assert_eq!(
        (m.hostname, m.app_name, m.proc_id, m.msg_id),
        (None, None, None, None)
    );
}

// Juniper Junos "structured-data" syslog format (Junos system log documentation).
#[test]
fn rfc5424_junos_structured() {
    let m = p(
        "<165>1 2007-02-15T09:17:15.719Z router1 mgd 3046 UI_DBASE_LOGOUT_EVENT [junos@2636.1.1.1.2.18 username=\"regress\"] User 'regress' exiting configuration mode",
    );
    assert_eq!(m.msg_id.as_deref(), Some("UI_DBASE_LOGOUT_EVENT"));
    assert_eq!(m.structured_data[0].id, "junos@2636.1.1.1.2.18");
    assert_eq!(m.message, "User 'regress' exiting configuration mode");
}

// RFC 5424 section 7: the registered SD-IDs timeQuality, origin and meta, as rsyslog sends them.
#[test]
fn rfc5424_registered_sd_ids() {
    let m = p(
        "<14>1 2024-05-02T10:00:00.123456+02:00 web01 nginx 812 - [timeQuality tzKnown=\"1\" isSynced=\"1\" syncAccuracy=\"60000\"][origin ip=\"192.0.2.10\" ip=\"2001:db8::10\"][meta sequenceId=\"7\"] GET /",
    );
    assert_eq!(m.structured_data.len(), 3);
    assert_eq!(m.structured_data[1].params.len(), 2, "repeated names kept");
    assert_eq!(m.timestamp, Some(ts("2024-05-02T08:00:00.123456Z")));
}

#[test]
fn rfc5424_invalid_timestamp_keeps_the_message() {
    // Leap second (RFC 5424 section 6.2.3.1 example 6 shape).
    let m = p("<13>1 1990-12-31T23:59:60Z host app - - - leap");
    assert_eq!(
        (m.timestamp, m.timestamp_status),
        (None, TimestampStatus::Invalid)
    );
    assert_eq!(m.format, Format::Rfc5424);
    assert_eq!(m.message, "leap");
    // No offset: interpreted in the context's zone.
    let m = p("<13>1 2003-10-11T22:14:15 host app - - - local");
    assert_eq!(m.timestamp_status, TimestampStatus::Inferred);
    assert_eq!(m.timestamp, Some(ts("2003-10-11T22:14:15Z")));
}

#[test]
fn rfc5424_malformed_structured_data_becomes_message() {
    let m = p("<13>1 - host app - - [ok@1 a=\"1\"][bad@1 a=1] rest");
    assert_eq!(m.structured_data.len(), 1);
    assert_eq!(m.message, "[bad@1 a=1] rest");
    assert_eq!(m.anomalies, vec![Anomaly::MalformedStructuredData]);
    // Missing STRUCTURED-DATA altogether (a common sender bug).
    let m = p("<13>1 - host app - - hello world");
    assert_eq!(m.format, Format::Rfc5424);
    assert_eq!(m.message, "hello world");
    assert_eq!(m.anomalies, vec![Anomaly::MalformedStructuredData]);
    // Unterminated value.
    let m = p("<13>1 - host app - - [x@1 a=\"never closed");
    assert!(m.structured_data.is_empty());
    assert_eq!(m.message, "[x@1 a=\"never closed");
    // SD-NAME longer than 32.
    let long = "n".repeat(33);
    let m = p(&format!("<13>1 - h a - - [{long}] x"));
    assert!(m.structured_data.is_empty());
}

#[test]
fn rfc5424_caps_spill_into_message() {
    let sd: String = (0..70).map(|i| format!("[e{i} k=\"v\"]")).collect();
    let m = p(&format!("<13>1 - h a - - {sd} tail"));
    assert_eq!(m.structured_data.len(), MAX_SD_ELEMENTS);
    assert!(m.message.starts_with("[e64 k=\"v\"][e65"));
    assert!(m.message.ends_with("] tail"));
    assert_eq!(m.anomalies, vec![Anomaly::StructuredDataCapExceeded]);

    let many: String = (0..300).map(|i| format!(" k{i}=\"v\"")).collect();
    let m = p(&format!("<13>1 - h a - - [a@1 x=\"1\"][b@1{many}] tail"));
    assert_eq!(
        m.structured_data.len(),
        1,
        "the element past the cap is not kept"
    );
    assert!(m.message.starts_with("[b@1 k0=\"v\""));
    assert_eq!(m.anomalies, vec![Anomaly::StructuredDataCapExceeded]);

    // Exactly at the caps is fine.
    let at: String = (0..MAX_SD_PARAMS).map(|i| format!(" k{i}=\"v\"")).collect();
    let m = p(&format!("<13>1 - h a - - [a@1{at}]"));
    assert_eq!(m.structured_data[0].params.len(), MAX_SD_PARAMS);
    assert!(m.anomalies.is_empty());
}

#[test]
fn rfc5424_header_that_does_not_fit_falls_back_to_rfc3164() {
    // Double space: not RFC 5424; read as RFC 3164 (PRI kept, no timestamp).
    let m = p("<13>1  2003-10-11T22:14:15Z host app - - - x");
    assert_eq!(m.format, Format::Rfc3164);
    assert_eq!(m.version, None);
    assert_eq!(m.severity, Some(5));
    assert_eq!(m.message, "1  2003-10-11T22:14:15Z host app - - - x");
    // APP-NAME longer than 48 but within 255 is accepted (documented leniency).
    let app = "a".repeat(100);
    let m = p(&format!("<13>1 - host {app} - - - x"));
    assert_eq!(m.format, Format::Rfc5424);
    assert_eq!(m.app_name.as_deref(), Some(app.as_str()));
    // Longer than 255 is not a header.
    let app = "a".repeat(256);
    assert_eq!(
        p(&format!("<13>1 - host {app} - - - x")).format,
        Format::Rfc3164
    );
    // Truncated header.
    assert_eq!(p("<13>1 - host app").format, Format::Rfc3164);
}

#[test]
fn rfc5424_invalid_utf8_is_kept_lossily() {
    let m = parse(b"<13>1 - h a - - [x@1 k=\"\xff\"] caf\xc3\xa9 \xfe", &ctx());
    assert_eq!(m.structured_data[0].params, params(&[("k", "\u{fffd}")]));
    assert_eq!(m.message, "caf\u{e9} \u{fffd}");
    assert_eq!(m.anomalies, vec![Anomaly::InvalidUtf8]);
}

#[test]
fn trailing_newlines_are_dropped() {
    assert_eq!(p("<13>1 - h a - - - line\r\n").message, "line");
    assert_eq!(p("<13>Oct 11 22:14:15 h t: line\n\0").message, "line");
}

// ---------------------------------------------------------------- RFC 3164

// RFC 3164 section 5.4, example 1.
#[test]
fn rfc3164_example_1() {
    let m = p("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(
        m,
        SyslogMessage {
            facility: Some(4),
            severity: Some(2),
            version: None,
            timestamp: Some(ts("2003-10-11T22:14:15Z")),
            timestamp_status: TimestampStatus::Inferred,
            hostname: Some("mymachine".into()),
            app_name: Some("su".into()),
            proc_id: None,
            msg_id: None,
            structured_data: vec![],
            message: "'su root' failed for lonvick on /dev/pts/8".into(),
            format: Format::Rfc3164,
            anomalies: vec![],
        }
    );
}

// RFC 3164 section 5.4, example 2: no PRI, no header: not recognised.
#[test]
fn rfc3164_example_2_bare_text() {
    let m = p("Use the BFG!");
    assert_eq!(m.format, Format::Unknown);
    assert_eq!(m.message, "Use the BFG!");
    assert_eq!(
        (m.facility, m.timestamp_status),
        (None, TimestampStatus::Missing)
    );
}

// RFC 3164 section 5.4, example 3: space-padded day, IP address as host, no tag.
#[test]
fn rfc3164_example_3() {
    let m = p("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!");
    // Received 2003-10-11: logs describe the past, so 5 February 2003, eight months back.
    assert_eq!(m.timestamp, Some(ts("2003-02-05T17:32:18Z")));
    assert_eq!(m.hostname.as_deref(), Some("10.0.0.99"));
    assert_eq!(m.app_name, None);
    assert_eq!(m.message, "Use the BFG!");
}

// RFC 3164 section 5.4, example 4: the RFC reads "CST" as the hostname.
#[test]
fn rfc3164_example_4() {
    let m = p(
        "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  Ed Lonvick",
    );
    assert_eq!(m.hostname.as_deref(), Some("CST"));
    assert_eq!(m.app_name, None);
    assert!(m.message.starts_with("1987 mymachine myproc[10]: %%"));
}

// RFC 3164 section 5.4, example 5: no valid timestamp; the RFC treats everything as content.
#[test]
fn rfc3164_example_5() {
    let m = p(
        "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
    );
    assert_eq!(m.format, Format::Rfc3164);
    assert_eq!((m.facility, m.severity), (Some(0), Some(0)));
    assert_eq!(m.timestamp_status, TimestampStatus::Missing);
    assert_eq!(m.hostname, None);
    assert!(m.message.starts_with("1990 Oct 22"));
}

// OpenSSH sshd via syslog(3) to a remote rsyslog (traditional forward format).
#[test]
fn rfc3164_sshd() {
    let m = p(
        "<38>Oct 11 22:14:15 bastion sshd[21414]: Accepted publickey for ops from 203.0.113.7 port 52144 ssh2: ED25519 SHA256:abc",
    );
    assert_eq!((m.facility, m.severity), (Some(4), Some(6)));
    assert_eq!(m.hostname.as_deref(), Some("bastion"));
    assert_eq!(m.app_name.as_deref(), Some("sshd"));
    assert_eq!(m.proc_id.as_deref(), Some("21414"));
    assert!(m.message.starts_with("Accepted publickey for ops"));
}

// Local syslog(3) via /dev/log and `logger`: no hostname (glibc sends "<PRI>Mmm dd hh:mm:ss tag[pid]: msg").
#[test]
fn rfc3164_missing_hostname() {
    let m = p("<86>Oct 11 22:14:15 sshd[812]: pam_unix(sshd:session): session opened for user ops");
    assert_eq!(m.hostname, None);
    assert_eq!(m.app_name.as_deref(), Some("sshd"));
    assert_eq!(m.proc_id.as_deref(), Some("812"));
    assert_eq!(
        m.message,
        "pam_unix(sshd:session): session opened for user ops"
    );
    let m = p("<6>Oct 11 22:14:15 kernel: [ 0.000000] Linux version 6.1");
    assert_eq!((m.hostname, m.app_name.as_deref()), (None, Some("kernel")));
    assert_eq!(m.message, "[ 0.000000] Linux version 6.1");
}

// Files written by rsyslog/syslog-ng and re-sent without PRI (e.g. by a file-tailing forwarder).
#[test]
fn rfc3164_missing_pri() {
    let m = p("Oct 11 22:14:15 web01 postfix/smtpd[1234]: connect from unknown[192.0.2.5]");
    assert_eq!(m.format, Format::Rfc3164);
    assert_eq!((m.facility, m.severity), (None, None));
    assert_eq!(m.hostname.as_deref(), Some("web01"));
    assert_eq!(m.app_name.as_deref(), Some("postfix/smtpd"));
    assert_eq!(m.proc_id.as_deref(), Some("1234"));
    assert_eq!(m.message, "connect from unknown[192.0.2.5]");
}

// rsyslog RSYSLOG_ForwardFormat (high-precision RFC 3339 timestamp in a BSD-style line).
#[test]
fn rfc3164_rsyslog_high_precision() {
    let m =
        p("<30>2003-10-11T22:14:15.123456+02:00 web01 systemd[1]: Started Session 4 of user ops.");
    assert_eq!(m.format, Format::Rfc3164);
    assert_eq!(m.timestamp, Some(ts("2003-10-11T20:14:15.123456Z")));
    assert_eq!(m.timestamp_status, TimestampStatus::Parsed);
    assert_eq!(m.hostname.as_deref(), Some("web01"));
    assert_eq!(m.app_name.as_deref(), Some("systemd"));
    assert_eq!(m.proc_id.as_deref(), Some("1"));
}

// Cisco IOS with `service sequence-numbers` and `service timestamps log datetime msec`
// (Cisco IOS System Message Guide); '*' means the clock is not synchronised.
#[test]
fn rfc3164_cisco_ios() {
    let m = p(
        "<189>31: *Oct 11 22:13:52.383: %SYS-5-CONFIG_I: Configured from console by vty0 (10.1.1.1)",
    );
    assert_eq!((m.facility, m.severity), (Some(23), Some(5)));
    assert_eq!(m.timestamp, Some(ts("2003-10-11T22:13:52.383Z")));
    assert_eq!(m.hostname, None);
    assert_eq!(m.app_name.as_deref(), Some("%SYS-5-CONFIG_I"));
    assert_eq!(m.message, "Configured from console by vty0 (10.1.1.1)");
    // With `year show-timezone`: a UTC zone name makes the instant complete.
    let m = p(
        "<187>96: Nov 29 2023 12:07:57.123 UTC: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to up",
    );
    assert_eq!(m.timestamp, Some(ts("2023-11-29T12:07:57.123Z")));
    assert_eq!(m.timestamp_status, TimestampStatus::Parsed);
    assert_eq!(m.app_name.as_deref(), Some("%LINK-3-UPDOWN"));
    // Other zone names are read past but not trusted: the context's zone is used.
    let m = p("<187>97: Nov 29 2023 12:07:57 CET: %LINK-3-UPDOWN: x");
    assert_eq!(m.timestamp_status, TimestampStatus::Inferred);
    assert_eq!(m.message, "x");
}

// Juniper Junos default (BSD) syslog format (Junos system log documentation).
#[test]
fn rfc3164_junos() {
    let m = p(
        "<28>Oct 10 10:58:44 router1 mgd[2345]: UI_COMMIT: User 'admin' requested 'commit' operation",
    );
    assert_eq!(m.hostname.as_deref(), Some("router1"));
    assert_eq!(m.app_name.as_deref(), Some("mgd"));
    assert_eq!(
        m.message,
        "UI_COMMIT: User 'admin' requested 'commit' operation"
    );
}

#[test]
fn rfc3164_without_timestamp_but_with_pri() {
    // Some embedded senders: "<PRI>tag: msg" (RFC 3164 section 4.3.3).
    let m = p("<13>dropbear[77]: Password auth succeeded for 'root'");
    assert_eq!(m.format, Format::Rfc3164);
    assert_eq!(m.timestamp_status, TimestampStatus::Missing);
    assert_eq!(m.app_name.as_deref(), Some("dropbear"));
    assert_eq!(m.message, "Password auth succeeded for 'root'");
    // A sequence number not followed by a timestamp stays in the content.
    let m = p("<13>12: something");
    assert_eq!(m.app_name.as_deref(), Some("12"));
    assert_eq!(m.message, "something");
}

#[test]
fn rfc3164_invalid_timestamp() {
    let m = p("<13>Feb 30 10:00:00 host app: x");
    assert_eq!(
        (m.timestamp, m.timestamp_status),
        (None, TimestampStatus::Invalid)
    );
    assert_eq!(m.hostname.as_deref(), Some("host"));
    assert_eq!(m.message, "x");
    let m = p("<13>2003-13-01T00:00:00Z host app: x");
    assert_eq!(m.timestamp_status, TimestampStatus::Invalid);
    assert_eq!(m.hostname.as_deref(), Some("host"));
}

#[test]
fn rfc3164_year_inference_across_new_year() {
    let c = ParseContext::new(ts("2025-01-01T00:00:03Z"), TimeZone::UTC);
    let m = parse(b"<13>Dec 31 23:59:58 host app: late", &c);
    assert_eq!(m.timestamp, Some(ts("2024-12-31T23:59:58Z")));
    assert_eq!(m.timestamp_status, TimestampStatus::Inferred);
}

#[test]
fn tag_edge_cases() {
    // Not tags: a URL, no colon, an over-long name, an unterminated pid.
    assert_eq!(p("<13>http://example.com/ is down").app_name, None);
    assert_eq!(p("<13>hello world").app_name, None);
    assert_eq!(p(&format!("<13>{}: x", "t".repeat(49))).app_name, None);
    assert_eq!(p("<13>app[12: x").app_name, None);
    // Tag alone, tag with pid and a space instead of the colon.
    let m = p("<13>app:");
    assert_eq!(
        (m.app_name.as_deref(), m.message.as_str()),
        (Some("app"), "")
    );
    let m = p("<13>app[9] text");
    assert_eq!(
        (m.proc_id.as_deref(), m.message.as_str()),
        (Some("9"), "text")
    );
}

#[test]
fn pri_edge_cases() {
    let m = p("<191>Oct 11 22:14:15 h t: x");
    assert_eq!((m.facility, m.severity), (Some(23), Some(7)));
    let m = p("<0>Oct 11 22:14:15 h t: x");
    assert_eq!((m.facility, m.severity), (Some(0), Some(0)));
    for bad in ["<192>x", "<>x", "<1234>x", "<12", "<a>x"] {
        let m = p(bad);
        assert_eq!(m.format, Format::Unknown, "{bad}");
        assert_eq!(m.facility, None);
        assert_eq!(m.anomalies, vec![Anomaly::InvalidPri], "{bad}");
        assert_eq!(m.message, bad);
    }
}

#[test]
fn empty_and_tiny_inputs() {
    for input in [
        &b""[..],
        b"<",
        b"<1",
        b"<13>",
        b"<13>1",
        b"<13>1 ",
        b"\xff",
        b" ",
        b"\n",
    ] {
        let m = parse(input, &ctx());
        assert!(m.timestamp.is_none());
    }
    assert_eq!(p("<13>").format, Format::Rfc3164);
    assert_eq!(p("<13>").message, "");
}
