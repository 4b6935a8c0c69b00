//! Linux audit records, as auditd writes them to `/var/log/audit/audit.log`, as the audisp syslog
//! plugin sends them, and as the kernel prints them when no daemon listens (`audit: type=1112
//! audit(...): ...`).
//!
//! # Record grammar
//!
//! `[node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): FIELDS`, where FIELDS are
//! `key=value` pairs separated by spaces. A value is `"quoted"` (no escapes), `'single quoted'`
//! (the nested `msg='op=... res=success'` of user-space records, itself a field list), `{ braced }`
//! (enriched `SADDR`), or bare; a bare value runs on over following words that have no `=`
//! (`op=adding user id=1001`). With `log_format = ENRICHED`, interpreted fields in upper case
//! (`UID="root" AUID="alice"`) follow after a 0x1D byte (in the file) or a space (syslog).
//!
//! Untrusted strings (`acct`, `cmd`, `comm`, `exe`, `name`, `proctitle`, EXECVE's `aN`...) are
//! either quoted or hex-encoded; hex is decoded (NUL bytes, which separate `proctitle` arguments,
//! become spaces) and stored under the original field name, because rules match decoded values
//! (`a0: 'wget'`). All values are kept as strings in `vendor`, as auditd writes them. The record's
//! time is the `audit(...)` timestamp ([`TimeStatus::Stated`](shieldwall_core::TimeStatus)); the
//! `SECONDS.MILLIS:SERIAL` pair that groups the records of one event is kept in
//! `unmapped.audit_event`.
//!
//! # Classes
//!
//! | Records | Class, activity |
//! | --- | --- |
//! | USER_LOGIN, USER_AUTH, USER_START | Authentication, 1 Logon |
//! | USER_LOGOUT, USER_END | Authentication, 2 Logoff |
//! | USER_ACCT, USER_ERR, CRED_* | Authentication, 99 Other |
//! | USER_CMD | Authorize Session, 1 |
//! | ADD_USER, DEL_USER, USER_CHAUTHTOK, USER_MGMT | Account Change, 1 Create, 6 Delete, 3 Password Change, 99 |
//! | ADD_GROUP, DEL_GROUP, GRP_MGMT | Group Management, 6 Create, 5 Delete, 99 |
//! | EXECVE, SYSCALL of execve/execveat | Process Activity, 1 Launch |
//! | PROCTITLE | Process Activity, 99 Other |
//! | DAEMON_* | Base, status monitoring |
//! | anything else | Base |

use std::borrow::Cow;

use jiff::Timestamp;
use serde_json::Value;
use shieldwall_core::event::{Device, Event, EventClass, LogKind, Severity, Status, TimeStatus};

use super::common::{
    basename, joined, number, program_is, set_daemon, set_src_host, strip_uptime, unmapped,
};
use crate::registry::{Message, TextParser};

/// The `auditd` parser.
pub(super) struct Auditd;

const ID: &str = "auditd";

/// Programs that send audit records or auditd's own status through syslog.
pub(super) const DAEMONS: &[&str] = &[
    "audit",
    "auditd",
    "audispd",
    "audisp-syslog",
    "audisp-remote",
];

impl TextParser for Auditd {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        parse(message, event)
    }
}

/// The part before the fields.
struct Header<'a> {
    node: Option<&'a str>,
    kind: &'a str,
    time: Option<Timestamp>,
    stamp: &'a str,
    body: &'a str,
}

fn parse(message: &Message<'_>, event: &mut Event) -> bool {
    let text = message.text.trim_end_matches(['\r', '\n']);
    let (uptime, rest) = strip_uptime(text.trim_start());
    let rest = rest.strip_prefix("audit: ").unwrap_or(rest);
    let Some(header) = header(rest) else {
        // auditd's and the dispatcher's own messages ("Init complete, auditd 3.0.9 listening...").
        return program_is(message, DAEMONS) && status(message, event, text);
    };
    let kind = type_name(header.kind);
    let execve = kind == "EXECVE";
    let mut seen = Seen::default();
    let mut free_text = None;
    fields(header.body, execve, event, &mut seen, &mut free_text, false);

    let (class, activity_id, activity) = classify(kind, &seen);
    event.set_parsed(ID, class, activity_id);
    if kind.starts_with("DAEMON_") {
        event.log_kind = LogKind::StatusMonitoring;
    }
    event.set_product("Linux Audit", "auditd");
    if let Some(time) = header.time {
        event.time = time;
        event.time_status = TimeStatus::Stated;
    }
    event.activity = activity.map(str::to_owned);
    event.feature = Some(joined("auditd:", kind));
    event.message = Some(text.to_owned());
    event
        .vendor
        .insert("type".to_owned(), Value::from(kind.to_owned()));
    if kind != header.kind {
        unmapped(event, "audit_type_id", header.kind);
    }
    unmapped(event, "audit_event", header.stamp);
    if let Some(node) = header.node {
        event.vendor.insert("node".to_owned(), Value::from(node));
        if event.device.is_none() {
            event.device = Some(Device {
                hostname: Some(node.to_owned()),
                ip: None,
            });
        }
    }
    if let Some(uptime) = uptime {
        unmapped(event, "kernel_uptime", uptime);
    }
    if let Some(text) = free_text {
        unmapped(event, "audit_text", text);
    }
    map(event, kind, seen);
    true
}

fn header(s: &str) -> Option<Header<'_>> {
    let (node, s) = match s.strip_prefix("node=") {
        Some(rest) => {
            let (node, rest) = rest.split_once(' ')?;
            (Some(node), rest)
        }
        None => (None, s),
    };
    let s = s.strip_prefix("type=")?;
    let (kind, s) = s.split_once(' ')?;
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let s = s.strip_prefix("msg=").unwrap_or(s);
    let s = s.strip_prefix("audit(")?;
    let (stamp, body) = s.split_once("):")?;
    let (time, serial) = stamp.split_once(':')?;
    number(serial)?;
    let (secs, frac) = time.split_once('.').unwrap_or((time, "0"));
    let secs = i64::try_from(number(secs)?).ok()?;
    let millis = number(frac).filter(|_| frac.len() <= 9)?;
    let scale = 10u64.pow(9 - u32::try_from(frac.len()).ok()?);
    let nanos = i32::try_from(millis * scale).ok()?;
    Some(Header {
        node,
        kind,
        time: Timestamp::new(secs, nanos).ok(),
        stamp,
        body: body.strip_prefix(' ').unwrap_or(body),
    })
}

/// Audit record type numbers (`linux/audit.h`) for the kernel's printk form.
fn type_name(kind: &str) -> &str {
    let Some(n) = number(kind) else {
        return kind;
    };
    match n {
        1100 => "USER_AUTH",
        1101 => "USER_ACCT",
        1102 => "USER_MGMT",
        1103 => "CRED_ACQ",
        1104 => "CRED_DISP",
        1105 => "USER_START",
        1106 => "USER_END",
        1107 => "USER_AVC",
        1108 => "USER_CHAUTHTOK",
        1109 => "USER_ERR",
        1110 => "CRED_REFR",
        1112 => "USER_LOGIN",
        1113 => "USER_LOGOUT",
        1114 => "ADD_USER",
        1115 => "DEL_USER",
        1116 => "ADD_GROUP",
        1117 => "DEL_GROUP",
        1123 => "USER_CMD",
        1124 => "USER_TTY",
        1130 => "SERVICE_START",
        1131 => "SERVICE_STOP",
        1132 => "GRP_MGMT",
        1300 => "SYSCALL",
        1302 => "PATH",
        1305 => "CONFIG_CHANGE",
        1306 => "SOCKADDR",
        1307 => "CWD",
        1309 => "EXECVE",
        1320 => "EOE",
        1326 => "SECCOMP",
        1327 => "PROCTITLE",
        1400 => "AVC",
        1701 => "ANOM_ABEND",
        _ => kind,
    }
}

/// A field value as written.
enum Raw<'a> {
    Quoted(&'a str),
    Bare(&'a str),
    Nested(&'a str),
}

/// Reads `key=value` pairs from `body` into `event.vendor`, decoding hex where the field is an
/// untrusted string. EXECVE arguments are also joined into `cmd_line`. Words before the first
/// pair (the `avc:  denied  { read } for` of SELinux records) end up in `free_text`.
fn fields<'a>(
    body: &'a str,
    execve: bool,
    event: &mut Event,
    seen: &mut Seen<'a>,
    free_text: &mut Option<&'a str>,
    nested: bool,
) {
    let bytes = body.as_bytes();
    let mut pos = 0;
    let mut last_arg: Option<&str> = None;
    while pos < bytes.len() {
        while bytes.get(pos).is_some_and(|&b| is_separator(b)) {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let start = pos;
        let key_len = bytes
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| is_key_byte(b))
            .count();
        if key_len == 0 || bytes.get(start + key_len) != Some(&b'=') {
            // A free word.
            let end = word_end(bytes, start);
            if free_text.is_none() {
                let mut text_end = end;
                let mut next = end;
                loop {
                    while bytes.get(next).is_some_and(|&b| is_separator(b)) {
                        next += 1;
                    }
                    if next >= bytes.len() || has_pair(bytes, next) {
                        break;
                    }
                    text_end = word_end(bytes, next);
                    next = text_end;
                }
                *free_text = body.get(start..text_end).map(str::trim);
                pos = text_end;
            } else {
                pos = end;
            }
            continue;
        }
        let key = body.get(start..start + key_len).unwrap_or("");
        let value_start = start + key_len + 1;
        let (raw, next) = value(body, value_start);
        pos = next;
        match raw {
            Raw::Nested(inner) if key == "msg" && !nested => {
                let before = event.vendor.len();
                let mut inner_text = None;
                fields(inner, false, event, seen, &mut inner_text, true);
                if event.vendor.len() == before {
                    insert(event, key, Cow::Borrowed(inner));
                }
            }
            Raw::Quoted(v) | Raw::Nested(v) | Raw::Bare(v) => {
                let is_arg = execve && is_execve_arg(key);
                let bare = matches!(raw, Raw::Bare(_));
                let value = if bare && (is_arg || is_encoded(key)) && is_hex(v) {
                    Cow::Owned(unhex(v))
                } else {
                    Cow::Borrowed(v)
                };
                if is_arg {
                    append_arg(&mut seen.cmd_line, &mut last_arg, key, &value);
                }
                seen.note(key, &value);
                insert(event, key, value);
            }
        }
    }
}

/// The fields the mapping needs, noted while they are read so that it need not look them up.
#[derive(Default)]
struct Seen<'a> {
    res: Option<Cow<'a, str>>,
    success: Option<Cow<'a, str>>,
    exe: Option<Cow<'a, str>>,
    comm: Option<Cow<'a, str>>,
    pid: Option<Cow<'a, str>>,
    uid: Option<Cow<'a, str>>,
    uid_name: Option<Cow<'a, str>>,
    auid_name: Option<Cow<'a, str>>,
    addr: Option<Cow<'a, str>>,
    hostname: Option<Cow<'a, str>>,
    acct: Option<Cow<'a, str>>,
    id: Option<Cow<'a, str>>,
    id_name: Option<Cow<'a, str>>,
    cmd: Option<Cow<'a, str>>,
    proctitle: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    syscall: Option<Cow<'a, str>>,
    syscall_name: Option<Cow<'a, str>>,
    arch: Option<Cow<'a, str>>,
    /// EXECVE's arguments joined with spaces.
    cmd_line: String,
}

impl<'a> Seen<'a> {
    // The `Cow` itself is needed: cloning a borrowed one keeps the borrow, allocation-free.
    #[allow(clippy::ptr_arg)]
    fn note(&mut self, key: &str, value: &Cow<'a, str>) {
        let slot = match key {
            "res" => &mut self.res,
            "success" => &mut self.success,
            "exe" => &mut self.exe,
            "comm" => &mut self.comm,
            "pid" => &mut self.pid,
            "uid" => &mut self.uid,
            "UID" => &mut self.uid_name,
            "AUID" => &mut self.auid_name,
            "addr" => &mut self.addr,
            "hostname" => &mut self.hostname,
            "acct" => &mut self.acct,
            "id" => &mut self.id,
            "ID" => &mut self.id_name,
            "cmd" => &mut self.cmd,
            "proctitle" => &mut self.proctitle,
            "name" => &mut self.name,
            "syscall" => &mut self.syscall,
            "SYSCALL" => &mut self.syscall_name,
            "arch" => &mut self.arch,
            _ => return,
        };
        if slot.is_none() && !matches!(value.as_ref(), "" | "?" | "(null)" | "(none)") {
            *slot = Some(value.clone());
        }
    }
}

/// The text of a noted field, owned for the event.
fn owned(field: &Option<Cow<'_, str>>) -> Option<String> {
    field.as_deref().map(str::to_owned)
}

/// The value at `at` and the position after it.
fn value(body: &str, at: usize) -> (Raw<'_>, usize) {
    let bytes = body.as_bytes();
    let closing = match bytes.get(at) {
        Some(b'"') => Some(b'"'),
        Some(b'\'') => Some(b'\''),
        Some(b'{') => Some(b'}'),
        _ => None,
    };
    if let Some(close) = closing {
        let inner_start = at + 1;
        let end = bytes
            .get(inner_start..)
            .unwrap_or_default()
            .iter()
            .position(|&b| b == close)
            .map_or(bytes.len(), |i| inner_start + i);
        let inner = body.get(inner_start..end).unwrap_or("");
        let next = (end + 1).min(bytes.len());
        return match close {
            b'"' => (Raw::Quoted(inner), next),
            b'}' => (Raw::Nested(inner.trim()), next),
            _ => (Raw::Nested(inner), next),
        };
    }
    // Bare: runs to the end of the word, then over following words without `=`.
    let mut end = word_end(bytes, at);
    let mut next = end;
    loop {
        // Only a single space continues a value; 0x1D starts the enriched part.
        if bytes.get(next) != Some(&b' ') {
            break;
        }
        let word = next + 1;
        if word >= bytes.len()
            || is_separator(bytes.get(word).copied().unwrap_or(b' '))
            || has_pair(bytes, word)
            || matches!(bytes.get(word), Some(b'\'' | b'"'))
        {
            break;
        }
        end = word_end(bytes, word);
        next = end;
    }
    (Raw::Bare(body.get(at..end).unwrap_or("")), end)
}

fn word_end(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .unwrap_or_default()
        .iter()
        .position(|&b| is_separator(b))
        .map_or(bytes.len(), |i| from + i)
}

/// Whether a `key=` starts at `at`.
fn has_pair(bytes: &[u8], at: usize) -> bool {
    let rest = bytes.get(at..).unwrap_or_default();
    let key_len = rest.iter().take_while(|&&b| is_key_byte(b)).count();
    key_len > 0 && rest.get(key_len) == Some(&b'=')
}

fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | 0x1d | b'\t')
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'[' | b']')
}

fn insert(event: &mut Event, key: &str, value: Cow<'_, str>) {
    if let std::collections::btree_map::Entry::Vacant(slot) = event.vendor.entry(key.to_owned()) {
        slot.insert(Value::from(value.into_owned()));
    }
}

/// EXECVE's `a0`, `a1`... and the chunks `a2[0]`, `a2[1]` of long arguments.
fn is_execve_arg(key: &str) -> bool {
    let Some(rest) = key.strip_prefix('a') else {
        return false;
    };
    let index = rest.split('[').next().unwrap_or(rest);
    !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit())
}

fn append_arg<'k>(cmd_line: &mut String, last: &mut Option<&'k str>, key: &'k str, value: &str) {
    let index = key.split('[').next().unwrap_or(key);
    if last.is_some_and(|l| l != index) {
        cmd_line.push(' ');
    }
    *last = Some(index);
    cmd_line.push_str(value);
}

/// Fields that auditd writes hex-encoded when they hold spaces, quotes or control bytes.
fn is_encoded(key: &str) -> bool {
    matches!(
        key,
        "acct"
            | "cmd"
            | "comm"
            | "cwd"
            | "data"
            | "dir"
            | "exe"
            | "file"
            | "grp"
            | "key"
            | "name"
            | "new_group"
            | "ocomm"
            | "path"
            | "proctitle"
            | "vm"
            | "watch"
            | "cgroup"
            | "device"
            | "sw"
            | "root_dir"
    )
}

fn is_hex(s: &str) -> bool {
    s.len() >= 2
        && s.len().is_multiple_of(2)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// Decodes upper-case hex; control bytes (the NULs between `proctitle` arguments) become spaces.
fn unhex(s: &str) -> String {
    let nibble = |b: u8| match b {
        b'0'..=b'9' => b - b'0',
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    };
    let bytes: Vec<u8> = s
        .as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => (nibble(*hi) << 4) | nibble(*lo),
            _ => b' ',
        })
        .map(|b| if b < 0x20 { b' ' } else { b })
        .collect();
    let text = String::from_utf8_lossy(&bytes);
    text.trim_end().to_owned()
}

fn classify(kind: &str, seen: &Seen<'_>) -> (EventClass, u8, Option<&'static str>) {
    use EventClass as C;
    match kind {
        "USER_LOGIN" => (C::Authentication, 1, Some("logon")),
        "USER_AUTH" => (C::Authentication, 1, Some("authenticate")),
        "USER_START" => (C::Authentication, 1, Some("session open")),
        "USER_LOGOUT" => (C::Authentication, 2, Some("logoff")),
        "USER_END" => (C::Authentication, 2, Some("session close")),
        "USER_ACCT" => (C::Authentication, 99, Some("account check")),
        "USER_ERR" => (C::Authentication, 99, Some("error")),
        "CRED_ACQ" | "CRED_DISP" | "CRED_REFR" => (C::Authentication, 99, Some("credentials")),
        "USER_CMD" => (C::AuthorizeSession, 1, Some("command")),
        "ADD_USER" => (C::AccountChange, 1, Some("create")),
        "DEL_USER" => (C::AccountChange, 6, Some("delete")),
        "USER_CHAUTHTOK" => (C::AccountChange, 3, Some("password change")),
        "USER_MGMT" => (C::AccountChange, 99, Some("manage")),
        "ADD_GROUP" => (C::GroupManagement, 6, Some("create")),
        "DEL_GROUP" => (C::GroupManagement, 5, Some("delete")),
        "GRP_MGMT" => (C::GroupManagement, 99, Some("manage")),
        "EXECVE" => (C::ProcessActivity, 1, Some("launch")),
        "PROCTITLE" => (C::ProcessActivity, 99, Some("process title")),
        "SYSCALL" if is_execve_syscall(seen) => (C::ProcessActivity, 1, Some("launch")),
        _ => (C::Base, 0, None),
    }
}

/// execve and execveat on x86-64, i386, AArch64 and ARM (or as the enriched `SYSCALL` names it).
fn is_execve_syscall(seen: &Seen<'_>) -> bool {
    if let Some(name) = seen.syscall_name.as_deref() {
        return matches!(name, "execve" | "execveat");
    }
    let (Some(arch), Some(nr)) = (seen.arch.as_deref(), seen.syscall.as_deref()) else {
        return false;
    };
    matches!(
        (arch, nr),
        ("c000003e", "59" | "322")
            | ("40000003", "11" | "358")
            | ("c00000b7", "221" | "281")
            | ("40000028", "11" | "387")
    )
}

/// Fills the normalised fields from the record's fields.
fn map(event: &mut Event, kind: &str, seen: Seen<'_>) {
    let result = seen
        .res
        .as_deref()
        .or(seen.success.as_deref())
        .and_then(|r| match r {
            "success" | "yes" | "1" => Some(Status::Success),
            "failed" | "no" | "0" => Some(Status::Failure),
            _ => None,
        });
    event.status = result;
    event.severity = Some(match result {
        Some(Status::Failure) => Severity::Low,
        _ => Severity::Info,
    });

    // The process that sent the record.
    let pid = seen.pid.as_deref().and_then(|p| p.parse::<u32>().ok());
    if seen.exe.is_some() || seen.comm.is_some() || pid.is_some() {
        let process = event.actor_process();
        process.name =
            owned(&seen.comm).or_else(|| seen.exe.as_deref().map(|e| basename(e).to_owned()));
        process.path = owned(&seen.exe);
        process.pid = pid;
    }
    // The user it runs as.
    if seen.uid.is_some() || seen.uid_name.is_some() {
        let user = event.actor_user();
        user.uid = owned(&seen.uid);
        user.name = owned(&seen.uid_name);
    }
    if let Some(addr) = seen.addr.as_deref() {
        set_src_host(event, addr);
    } else if event.class == EventClass::Authentication
        && let Some(host) = seen.hostname.as_deref()
    {
        set_src_host(event, host);
    }

    match event.class {
        EventClass::Authentication | EventClass::AccountChange | EventClass::GroupManagement => {
            target_account(event, &seen);
        }
        _ => {}
    }
    match kind {
        "USER_CMD" => {
            if let Some(cmd) = owned(&seen.cmd) {
                event.actor_process().cmd_line = Some(cmd);
            }
            if let Some(name) = seen.auid_name.as_deref().filter(|a| *a != "unset") {
                event.actor_user().name = Some(name.to_owned());
            }
        }
        "EXECVE" if !seen.cmd_line.is_empty() => {
            event.actor_process().cmd_line = Some(seen.cmd_line);
        }
        "PROCTITLE" => {
            if let Some(title) = owned(&seen.proctitle) {
                event.actor_process().cmd_line = Some(title);
            }
        }
        "PATH" => {
            if let Some(name) = seen.name.as_deref() {
                event.target = Some(joined("file:", name));
                event.file = Some(name.to_owned());
            }
        }
        _ => {}
    }
}

/// The account acted on: `acct` (decoded; `(invalid user)` is sshd's placeholder for a name it
/// will not log), else the enriched `ID` name, else the numeric `id`.
fn target_account(event: &mut Event, seen: &Seen<'_>) {
    let acct = seen.acct.as_deref();
    let id_name = seen
        .id_name
        .as_deref()
        .filter(|n| !n.starts_with("unknown("));
    if event.class == EventClass::GroupManagement {
        if let Some(name) = acct.or(id_name) {
            event.target = Some(joined("group:", name));
        }
        if let Some(id) = seen.id.as_deref() {
            unmapped(event, "group_id", id);
        }
        return;
    }
    match acct.or(id_name) {
        Some("(invalid user)") => {
            event.status_detail = Some("invalid user".to_owned());
        }
        Some(name) => {
            event.target_user().name = Some(name.to_owned());
            event.target = Some(joined("user:", name));
        }
        None => {}
    }
    if let Some(id) = owned(&seen.id) {
        event.target_user().uid = Some(id);
    }
}

/// A line from auditd or the dispatcher that is not a record.
fn status(message: &Message<'_>, event: &mut Event, text: &str) -> bool {
    if text.trim().is_empty() {
        return false;
    }
    event.set_parsed(ID, EventClass::Base, 0);
    event.log_kind = LogKind::StatusMonitoring;
    event.set_product("Linux Audit", "auditd");
    set_daemon(event, message, "auditd");
    event.severity = Some(Severity::Info);
    event.feature = Some("auditd:daemon".to_owned());
    event.message = Some(text.trim().to_owned());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_values_decode() {
        assert_eq!(unhex("28696E76616C6964207573657229"), "(invalid user)");
        assert_eq!(unhex("7368002D6300"), "sh -c");
        assert!(is_hex("00AF"));
        assert!(!is_hex("00af"));
        assert!(!is_hex("ABC"));
    }

    #[test]
    fn execve_argument_keys() {
        assert!(is_execve_arg("a0"));
        assert!(is_execve_arg("a12[3]"));
        assert!(!is_execve_arg("argc"));
        assert!(!is_execve_arg("a1_len"));
    }
}
