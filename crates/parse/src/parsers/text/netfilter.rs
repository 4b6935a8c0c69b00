//! Kernel netfilter packet logs: the iptables/ip6tables `LOG` target, ufw (which uses it with
//! prefixes such as `[UFW BLOCK] `) and nftables `log prefix`, all printed by the kernel's
//! `nf_log_syslog` as `PREFIX IN=eth0 OUT= MAC=... SRC=... DST=... LEN=... PROTO=TCP SPT=...
//! DPT=... SYN URGP=0`, possibly after a `[12345.678901] ` uptime stamp.
//!
//! Every `KEY=VALUE` is kept in `vendor` under its own name (decimal values as numbers, others as
//! strings; empty values such as `OUT=` as empty strings); bare flags (`DF`, `SYN`, `ACK`...) as
//! `true`. The bracketed copy of the offending packet inside ICMP errors (`[SRC=... DST=... ]`)
//! goes to `unmapped.icmp_inner` so that it does not overwrite the outer packet's fields, and
//! TCP options (`OPT (0204...)`) to `vendor.OPT`; a second `LEN` (the UDP length) to
//! `unmapped.udp_len`.
//!
//! The action comes from the words of the log prefix: BLOCK, DROP, REJECT, DENY, DENIED make it
//! Denied; ACCEPT, ALLOW, ALLOWED, PASS make it Allowed; anything else (`[UFW AUDIT]`, no prefix)
//! Observed. Denied packets are Low: firewalls refuse packets routinely, and a single refused
//! packet is not a policy event worth Medium.

use memchr::memmem;
use serde_json::Value;
use shieldwall_core::event::{Action, Connection, Event, EventClass, Severity};

use super::common::{ip, joined, port, scalar, strip_uptime, unmapped};
use crate::registry::{Message, TextParser};

/// The `netfilter` parser.
pub(super) struct Netfilter;

const ID: &str = "netfilter";

impl TextParser for Netfilter {
    fn id(&self) -> &str {
        ID
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        parse(message.text, event)
    }
}

fn parse(text: &str, event: &mut Event) -> bool {
    let text = text.trim_end();
    let (uptime, text) = strip_uptime(text.trim_start());
    let start = if text.starts_with("IN=") {
        0
    } else {
        match memmem::find(text.as_bytes(), b" IN=") {
            Some(at) => at + 1,
            None => return false,
        }
    };
    let prefix = text.get(..start).unwrap_or("").trim();
    let fields = text.get(start..).unwrap_or("");

    let mut saw_src = false;
    let mut saw_dst = false;
    let mut saw_len = false;
    let mut protocol = None;
    let mut bytes = None;
    let mut rest = fields;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(inner) = rest.strip_prefix('[') {
            let (inside, after) = inner.split_once(']').unwrap_or((inner, ""));
            unmapped(event, "icmp_inner", inside.trim());
            rest = after;
            continue;
        }
        let (token, after) = rest.split_once(' ').unwrap_or((rest, ""));
        rest = after;
        if token.is_empty() {
            continue;
        }
        if token == "OPT"
            && let Some(opt) = rest.strip_prefix('(')
        {
            let (value, after) = opt.split_once(')').unwrap_or((opt, ""));
            event.vendor.insert("OPT".to_owned(), Value::from(value));
            rest = after;
            continue;
        }
        match token.split_once('=') {
            Some((key, value)) => {
                if key.is_empty()
                    || !key
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                {
                    return false;
                }
                match key {
                    "SRC" => {
                        saw_src = true;
                        match ip(value) {
                            Some(addr) => event.src().ip = Some(addr),
                            None => return false,
                        }
                    }
                    "DST" => {
                        saw_dst = true;
                        match ip(value) {
                            Some(addr) => event.dst().ip = Some(addr),
                            None => return false,
                        }
                    }
                    "SPT" => event.src().port = port(value),
                    "DPT" => event.dst().port = port(value),
                    "IN" if !value.is_empty() => event.src().interface = Some(value.to_owned()),
                    "OUT" if !value.is_empty() => event.dst().interface = Some(value.to_owned()),
                    "PROTO" => protocol = Some(value.to_ascii_lowercase()),
                    "LEN" if saw_len => {
                        unmapped(event, "udp_len", scalar(value));
                        continue;
                    }
                    "LEN" => {
                        saw_len = true;
                        bytes = value.parse::<u64>().ok();
                    }
                    _ => {}
                }
                event.vendor.insert(key.to_owned(), scalar(value));
            }
            None => {
                if !token
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    return false;
                }
                event.vendor.insert(token.to_owned(), Value::Bool(true));
            }
        }
    }
    if !(saw_src && saw_dst) {
        return false;
    }
    let action = action(prefix);
    event.set_parsed(ID, EventClass::NetworkActivity, 6);
    if prefix.starts_with("[UFW ") {
        event.set_product("Canonical", "ufw");
    } else {
        event.set_product("netfilter", "netfilter");
    }
    event.activity = Some("traffic".to_owned());
    event.action = Some(action);
    event.severity = Some(match action {
        Action::Denied => Severity::Low,
        _ => Severity::Info,
    });
    event.feature = Some(if prefix.is_empty() {
        "netfilter:log".to_owned()
    } else {
        joined("netfilter:", prefix)
    });
    event.message = Some(text.to_owned());
    event.connection = Some(Connection { protocol, bytes });
    if !prefix.is_empty() {
        unmapped(event, "log_prefix", prefix);
    }
    if let Some(uptime) = uptime {
        unmapped(event, "kernel_uptime", uptime);
    }
    true
}

/// The action the log prefix names.
fn action(prefix: &str) -> Action {
    let mut action = Action::Observed;
    for word in prefix
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(word));
        if is(&[
            "BLOCK", "BLOCKED", "DROP", "DROPPED", "REJECT", "REJECTED", "DENY", "DENIED",
        ]) {
            return Action::Denied;
        }
        if is(&["ACCEPT", "ACCEPTED", "ALLOW", "ALLOWED", "PASS"]) {
            action = Action::Allowed;
        }
    }
    action
}
