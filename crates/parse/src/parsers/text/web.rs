//! nginx and Apache httpd access logs and error logs.
//!
//! # Access logs
//!
//! One reader serves both servers, because their stock formats share one layout: Apache's
//! `common` (`%h %l %u %t "%r" %>s %b`), `combined` (plus `"%{Referer}i" "%{User-agent}i"`) and
//! `vhost_combined` (`%v:%p ` before it), and nginx's `combined`, which copies Apache's. It is
//! registered twice, as `nginx-access` and `apache-access`, so that a file source can name the
//! server it reads and the product is right; the layouts it accepts are the same. Differences it
//! absorbs: Apache escapes `"` and `\` in quoted fields as `\"` and `\\` (undone here), nginx as
//! `\x22` and `\x5C` (kept as written, like every other `\xHH`); Apache logs `-` for an empty
//! body, nginx `0`; a request line that is not `METHOD TARGET PROTOCOL` (TLS bytes sent to a plain
//! port, `-`) is kept in `unmapped.request` and the activity is Unknown. The remote user is the
//! acting user. Fields after the user agent (custom formats) are kept in `unmapped.extra`.
//!
//! # Error logs
//!
//! nginx: `YYYY/MM/DD HH:MM:SS [level] PID#TID: *CONN message, client: ..., server: ...,
//! request: "...", host: "..."`. Apache 2.4: `[Www Mmm DD HH:MM:SS.micros YYYY] [module:level]
//! [pid P:tid T] (errno)text: [client IP:PORT] AHnnnnn: message, referer: ...`; 2.2 without module,
//! tid and port; through syslog without the time. Neither states a zone: the time is read in the
//! source's zone ([`TimeStatus::Inferred`](shieldwall_core::TimeStatus)). Basic-authentication
//! failures (nginx `user "x": password mismatch`, `user "x" was not found in "..."`; Apache
//! AH01617, AH01618) become Authentication failures; everything else is a status event.

use std::borrow::Cow;

use memchr::memmem;
use shieldwall_core::event::{Action, Event, EventClass, LogKind, Severity, Status};

use super::common::{
    Civil, date, digits, joined, month, number, offset, pid, set_src_host, set_time,
    split_host_port, time_of_day, unmapped, vendor,
};
use crate::registry::{Message, TextParser};

/// Which server wrote the line.
#[derive(Debug, Clone, Copy)]
pub(super) enum Server {
    /// nginx.
    Nginx,
    /// Apache httpd.
    Apache,
}

impl Server {
    fn set_product(self, event: &mut Event) {
        match self {
            Server::Nginx => event.set_product("F5", "nginx"),
            Server::Apache => event.set_product("Apache Software Foundation", "Apache HTTP Server"),
        }
    }
}

/// An access-log parser (`nginx-access`, `apache-access`).
pub(super) struct Access {
    /// The parser id.
    pub id: &'static str,
    /// The server named in the product.
    pub server: Server,
}

impl TextParser for Access {
    fn id(&self) -> &str {
        self.id
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        access(message, event, self.id, self.server)
    }
}

/// The `nginx-error` parser.
pub(super) struct NginxError;

impl TextParser for NginxError {
    fn id(&self) -> &str {
        "nginx-error"
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        nginx_error(message, event)
    }
}

/// The `apache-error` parser.
pub(super) struct ApacheError;

impl TextParser for ApacheError {
    fn id(&self) -> &str {
        "apache-error"
    }

    fn parse(&self, message: &Message<'_>, event: &mut Event) -> bool {
        apache_error(message, event)
    }
}

// ------------------------------------------------------------------ access

fn access(message: &Message<'_>, event: &mut Event, id: &str, server: Server) -> bool {
    let text = message.text.trim_end();
    // The first ` [` that opens a `dd/Mon/yyyy:hh:mm:ss zone]` time; the user field before it
    // is client-controlled and may itself contain ` [`.
    let bytes = text.as_bytes();
    let Some((head, time, rest)) = memmem::find_iter(bytes, b" [").find_map(|at| {
        let after = text.get(at + 2..)?;
        let (stamp, rest) = after.split_once("] ")?;
        let time = clf_time(stamp, message)?;
        Some((text.get(..at)?, time, rest))
    }) else {
        return false;
    };
    let Some(who) = head_fields(head) else {
        return false;
    };
    let Some((request, rest)) = quoted(rest) else {
        return false;
    };
    let rest = rest.trim_start();
    let (status, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = match status {
        "-" => None,
        s if s.len() == 3 => match number(s).and_then(|n| u16::try_from(n).ok()) {
            Some(code) => Some(code),
            None => return false,
        },
        _ => return false,
    };
    let (size, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let size = match size {
        "-" => None,
        s => match number(s) {
            Some(n) => Some(n),
            None => return false,
        },
    };
    let (referrer, rest) = quoted(rest.trim_start()).unwrap_or(("-", rest));
    let (agent, rest) = quoted(rest.trim_start()).unwrap_or(("-", rest));

    let request = unescape(request);
    let (method, url, version) = request_line(&request);
    let activity_id = match method {
        None => 0,
        Some(m) => http_activity(m),
    };
    event.set_parsed(id, EventClass::HttpActivity, activity_id);
    server.set_product(event);
    set_time(event, Some(time));
    event.message = Some(text.to_owned());
    set_src_host(event, who.client);
    if let Some((vhost, vport)) = who.vhost {
        event.dst().hostname = Some(vhost.to_owned());
        event.dst().port = vport;
    }
    if who.user != "-" && !who.user.is_empty() {
        event.actor_user().name = Some(unescape(who.user).into_owned());
    }
    let http = event.http_mut();
    http.method = method.map(str::to_owned);
    http.url = url.map(str::to_owned);
    http.version = version.map(str::to_owned);
    http.status_code = status;
    http.response_bytes = size;
    if referrer != "-" {
        http.referrer = Some(unescape(referrer).into_owned());
    }
    if agent != "-" && !agent.is_empty() {
        http.user_agent = Some(unescape(agent).into_owned());
    }
    event.activity = method.map(str::to_owned);
    if let Some(url) = url {
        let path = url.split('?').next().unwrap_or(url);
        event.target = Some(joined("url:", path));
    }
    if method.is_none() && !matches!(request.as_ref(), "-" | "") {
        unmapped(event, "request", request.as_ref());
    }
    match status {
        Some(code) if code < 400 => {
            event.status = Some(Status::Success);
            event.severity = Some(Severity::Info);
        }
        Some(code) => {
            event.status = Some(Status::Failure);
            event.severity = Some(Severity::Low);
            event.status_detail = Some(code.to_string());
        }
        None => event.severity = Some(Severity::Info),
    }
    event.feature = Some(match status {
        Some(code) => format!("{id}:{code}"),
        None => format!("{id}:-"),
    });
    let extra = rest.trim();
    if !extra.is_empty() {
        unmapped(event, "extra", extra);
    }
    true
}

/// The fields before the time.
struct Who<'a> {
    vhost: Option<(&'a str, Option<u16>)>,
    client: &'a str,
    user: &'a str,
}

/// `client ident user` or `vhost:port client ident user`; the user (client-controlled) may have
/// spaces, the ident is `-` in practice.
fn head_fields(head: &str) -> Option<Who<'_>> {
    let (first, after_first) = head.split_once(' ')?;
    let (second, after_second) = after_first.split_once(' ').unwrap_or((after_first, ""));
    let (vhost, client, user) = if second == "-" && !after_second.is_empty() {
        (None, first, after_second)
    } else {
        let (third, after_third) = after_second.split_once(' ')?;
        if third == "-" && !after_third.is_empty() {
            let (host, p) = split_host_port(first);
            (Some((host, p)), second, after_third)
        } else if !after_second.contains(' ') && !after_second.is_empty() {
            (None, first, after_second)
        } else {
            return None;
        }
    };
    let plausible = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-' | b'_' | b'%'))
    };
    (plausible(client) && vhost.is_none_or(|(h, _)| plausible(h))).then_some(Who {
        vhost,
        client,
        user,
    })
}

/// `10/Oct/2000:13:55:36 -0700`.
fn clf_time(
    s: &str,
    message: &Message<'_>,
) -> Option<(jiff::Timestamp, shieldwall_core::TimeStatus)> {
    let b = s.as_bytes();
    if b.get(2) != Some(&b'/') || b.get(6) != Some(&b'/') || b.get(11) != Some(&b':') {
        return None;
    }
    let mut civil = Civil {
        day: i8::try_from(digits(b, 2)?).ok()?,
        month: month(s.get(3..6)?)?,
        year: i16::try_from(digits(b.get(7..)?, 4)?).ok()?,
        ..Civil::default()
    };
    let used = time_of_day(b.get(12..)?, &mut civil)?;
    let zone = s.get(12 + used..)?.trim();
    let offset = if zone.is_empty() {
        None
    } else {
        Some(offset(zone)?)
    };
    civil.resolve(offset, message)
}

/// The content of a `"quoted"` field (escapes left in) and what follows it.
fn quoted(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('"')?;
    let bytes = inner.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Some((inner.get(..i)?, inner.get(i + 1..)?)),
            _ => i += 1,
        }
    }
    None
}

/// Undoes Apache's `\"` and `\\`; every other escape (`\xHH`, `\n`) is kept as written.
fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains("\\\"") && !s.contains("\\\\") {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `METHOD TARGET PROTOCOL` (or HTTP/0.9's `METHOD TARGET`).
fn request_line(request: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    let Some((method, rest)) = request.split_once(' ') else {
        return (None, None, None);
    };
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
    {
        return (None, None, None);
    }
    match rest.rsplit_once(' ') {
        Some((url, version)) if version.starts_with("HTTP/") => {
            (Some(method), Some(url), Some(version))
        }
        _ if !rest.contains(' ') && !rest.is_empty() => (Some(method), Some(rest), None),
        _ => (None, None, None),
    }
}

/// OCSF HTTP Activity ids.
fn http_activity(method: &str) -> u8 {
    match method {
        "CONNECT" => 1,
        "DELETE" => 2,
        "GET" => 3,
        "HEAD" => 4,
        "OPTIONS" => 5,
        "POST" => 6,
        "PUT" => 7,
        "TRACE" => 8,
        _ => 99,
    }
}

// ------------------------------------------------------------------ errors

/// Severity of an nginx or Apache error-log level.
fn level_severity(level: &str) -> Option<Severity> {
    Some(match level {
        "emerg" | "alert" => Severity::Critical,
        "crit" => Severity::High,
        "error" | "warn" => Severity::Low,
        "notice" | "info" | "debug" => Severity::Info,
        l if l.starts_with("trace") => Severity::Info,
        _ => return None,
    })
}

fn nginx_error(message: &Message<'_>, event: &mut Event) -> bool {
    let text = message.text.trim_end();
    let b = text.as_bytes();
    let mut civil = Civil::default();
    if date(b, b'/', &mut civil).is_none() || b.get(10) != Some(&b' ') {
        return false;
    }
    let Some(used) = b.get(11..).and_then(|t| time_of_day(t, &mut civil)) else {
        return false;
    };
    let Some(rest) = text.get(11 + used..).and_then(|r| r.strip_prefix(" [")) else {
        return false;
    };
    let Some((level, rest)) = rest.split_once("] ") else {
        return false;
    };
    let Some(severity) = level_severity(level) else {
        return false;
    };
    // `PID#TID: `
    let Some((ids, rest)) = rest.split_once(": ") else {
        return false;
    };
    let Some((process, thread)) = ids.split_once('#') else {
        return false;
    };
    let (Some(process), Some(_)) = (pid(process), number(thread)) else {
        return false;
    };
    let (connection, body) = match rest.strip_prefix('*').and_then(|r| r.split_once(' ')) {
        Some((id, body)) if number(id).is_some() => (Some(id), body),
        _ => (None, rest),
    };
    let (text_part, context) = split_context(body);

    event.set_parsed("nginx-error", EventClass::Base, 0);
    event.log_kind = LogKind::StatusMonitoring;
    Server::Nginx.set_product(event);
    set_time(event, civil.resolve(None, message));
    event.severity = Some(severity);
    event.feature = Some(joined("nginx-error:", level));
    event.message = Some(text_part.to_owned());
    vendor(event, "level", level);
    let proc = event.actor_process();
    proc.name = Some("nginx".to_owned());
    proc.pid = Some(process);
    if let Some(id) = connection {
        unmapped(event, "connection", id.parse::<u64>().unwrap_or(0));
    }
    let mut context = context;
    while let Some((key, value, next)) = next_pair(context) {
        context = next;
        match key {
            "client" => set_src_host(event, value),
            "server" => unmapped(event, "server", value),
            "request" => {
                let (method, url, version) = request_line(value);
                let http = event.http_mut();
                http.method = method.map(str::to_owned);
                http.url = url.map(str::to_owned);
                http.version = version.map(str::to_owned);
                if let Some(url) = url {
                    let path = url.split('?').next().unwrap_or(url);
                    event.target = Some(joined("url:", path));
                }
            }
            "host" => event.dst().hostname = Some(value.to_owned()),
            "referrer" => event.http_mut().referrer = Some(value.to_owned()),
            "upstream" => unmapped(event, "upstream", value),
            _ => unmapped(event, key, value),
        }
    }
    basic_auth_nginx(event, text_part);
    true
}

const CONTEXT_KEYS: [&str; 7] = [
    "client",
    "server",
    "subrequest",
    "request",
    "upstream",
    "host",
    "referrer",
];

/// Splits `message, client: X, server: Y, request: "..."` into the message and the context
/// that starts at `client: `.
fn split_context(body: &str) -> (&str, &str) {
    match memmem::find(body.as_bytes(), b", client: ") {
        Some(start) => (
            body.get(..start).unwrap_or(body),
            body.get(start + 2..).unwrap_or(""),
        ),
        None => (body, ""),
    }
}

/// The next `key: value` of the context (quotes removed) and what follows it. A quoted value
/// ends at the `"` that is followed by `, KEY: ` or by the end.
fn next_pair(rest: &str) -> Option<(&str, &str, &str)> {
    let (key, after) = rest.split_once(": ")?;
    if !CONTEXT_KEYS.contains(&key) {
        return None;
    }
    if let Some(q) = after.strip_prefix('"') {
        for at in memmem::find_iter(q.as_bytes(), b"\", ") {
            let next = q.get(at + 3..).unwrap_or("");
            let starts_pair = next
                .split_once(": ")
                .is_some_and(|(k, _)| CONTEXT_KEYS.contains(&k));
            if starts_pair {
                return Some((key, q.get(..at).unwrap_or(q), next));
            }
        }
        return Some((key, q.strip_suffix('"').unwrap_or(q), ""));
    }
    Some(match after.split_once(", ") {
        Some((v, n)) => (key, v, n),
        None => (key, after, ""),
    })
}

/// nginx `auth_basic` failures.
fn basic_auth_nginx(event: &mut Event, text: &str) {
    let Some(rest) = text.strip_prefix("user \"") else {
        return;
    };
    let (user, detail, feature) = if let Some((user, _)) = rest.split_once("\": password mismatch")
    {
        (
            user,
            "password mismatch",
            "nginx-error:auth_basic_password_mismatch",
        )
    } else if let Some((user, _)) = rest.split_once("\" was not found in ") {
        (
            user,
            "user not found",
            "nginx-error:auth_basic_user_not_found",
        )
    } else {
        return;
    };
    auth_failure(event, "nginx-error", user, detail, feature);
}

fn auth_failure(event: &mut Event, id: &str, user: &str, detail: &str, feature: &str) {
    event.set_parsed(id, EventClass::Authentication, 1);
    event.activity = Some("logon".to_owned());
    event.status = Some(Status::Failure);
    event.severity = Some(Severity::Low);
    event.status_detail = Some(detail.to_owned());
    event.feature = Some(feature.to_owned());
    event.target_user().name = Some(user.to_owned());
    event.target = Some(joined("user:", user));
    event
        .unmapped
        .insert("auth_method".to_owned(), "basic".into());
}

fn apache_error(message: &Message<'_>, event: &mut Event) -> bool {
    let text = message.text.trim_end();
    let mut rest = text;
    let mut time = None;
    if let Some((stamp, after)) = text.strip_prefix('[').and_then(|r| r.split_once("] "))
        && let Some(t) = apache_time(stamp, message)
    {
        time = Some(t);
        rest = after;
    }
    // `[module:level]` or `[level]`.
    let Some((group, after)) = rest.strip_prefix('[').and_then(|r| r.split_once("] ")) else {
        return false;
    };
    let (module, level) = match group.split_once(':') {
        Some((m, l)) => (Some(m), l),
        None => (None, group),
    };
    let Some(severity) = level_severity(level) else {
        return false;
    };
    rest = after;
    let mut process = None;
    let mut client = None;
    let mut errno = None;
    loop {
        if let Some(r) = rest.strip_prefix("[pid ") {
            let Some((ids, after)) = r.split_once("] ") else {
                break;
            };
            let proc = ids.split(':').next().unwrap_or(ids);
            process = pid(proc);
            rest = after;
        } else if let Some(r) = rest
            .strip_prefix("[client ")
            .or_else(|| rest.strip_prefix("[remote "))
        {
            let Some((addr, after)) = r.split_once("] ") else {
                break;
            };
            client = Some(addr);
            rest = after;
        } else if let Some(r) = rest.strip_prefix('(') {
            // `(13)Permission denied: `
            let Some((code, after)) = r.split_once(')') else {
                break;
            };
            let Some((text, after)) = after.split_once(": ") else {
                break;
            };
            if number(code).is_none() && !code.starts_with('-') {
                break;
            }
            errno = Some((code, text));
            rest = after;
        } else {
            break;
        }
    }
    let (body, referer) = match rest.rsplit_once(", referer: ") {
        Some((b, r)) => (b, Some(r)),
        None => (rest, None),
    };
    let code = body
        .get(..7)
        .filter(|c| c.starts_with("AH") && c.bytes().skip(2).all(|b| b.is_ascii_digit()))
        .filter(|_| body.get(7..9) == Some(": "));

    event.set_parsed("apache-error", EventClass::Base, 0);
    event.log_kind = LogKind::StatusMonitoring;
    Server::Apache.set_product(event);
    set_time(event, time);
    event.severity = Some(severity);
    event.message = Some(body.to_owned());
    event.feature = Some(match code {
        Some(c) => joined("apache-error:", c),
        None => joined("apache-error:", level),
    });
    vendor(event, "level", level);
    if let Some(module) = module {
        vendor(event, "module", module);
    }
    let proc = event.actor_process();
    proc.name = Some(message.program.unwrap_or("httpd").to_owned());
    proc.pid = process.or_else(|| message.pid.and_then(pid));
    if let Some(addr) = client {
        let (host, p) = split_host_port(addr);
        set_src_host(event, host);
        if p.is_some() {
            event.src().port = p;
        }
    }
    if let Some((code, text)) = errno {
        unmapped(event, "os_error", format!("({code}){text}"));
    }
    if let Some(referer) = referer {
        event.http_mut().referrer = Some(referer.to_owned());
    }
    if let Some(code) = code {
        unmapped(event, "error_code", code);
        let detail = body.get(9..).unwrap_or("");
        apache_specific(event, code, detail);
    }
    true
}

/// Authentication failures and access denials by AH code.
fn apache_specific(event: &mut Event, code: &str, detail: &str) {
    match code {
        // `user carol: authentication failure for "/private/": Password Mismatch`
        "AH01617" => {
            if let Some((user, rest)) = detail
                .strip_prefix("user ")
                .and_then(|r| r.split_once(": authentication failure for \""))
            {
                let reason = rest
                    .rsplit_once("\": ")
                    .map_or("authentication failure", |(_, r)| r);
                let path = rest.split_once('"').map(|(p, _)| p);
                auth_failure(event, "apache-error", user, reason, "apache-error:AH01617");
                if let Some(path) = path {
                    event.target = Some(joined("user:", user));
                    event.http_mut().url = Some(path.to_owned());
                }
            }
        }
        // `user mallory not found: /private/`
        "AH01618" => {
            if let Some((user, path)) = detail
                .strip_prefix("user ")
                .and_then(|r| r.split_once(" not found: "))
            {
                auth_failure(
                    event,
                    "apache-error",
                    user,
                    "user not found",
                    "apache-error:AH01618",
                );
                event.http_mut().url = Some(path.to_owned());
            }
        }
        // `client denied by server configuration: /var/www/html/admin/`
        "AH01630" => {
            event.action = Some(Action::Denied);
            event.severity = Some(Severity::Medium);
            if let Some(path) = detail.strip_prefix("client denied by server configuration: ") {
                event.target = Some(joined("file:", path));
            }
        }
        _ => {}
    }
}

/// `Sun Nov 29 01:46:13.081801 2026` (2.4) or `Wed Oct 11 14:32:52 2000` (2.2).
fn apache_time(
    s: &str,
    message: &Message<'_>,
) -> Option<(jiff::Timestamp, shieldwall_core::TimeStatus)> {
    let mut parts = s.split(' ').filter(|p| !p.is_empty());
    let _weekday = parts.next()?;
    let mut civil = Civil {
        month: month(parts.next()?)?,
        ..Civil::default()
    };
    civil.day = i8::try_from(number(parts.next()?)?).ok()?;
    let clock = parts.next()?;
    if time_of_day(clock.as_bytes(), &mut civil)? != clock.len() {
        return None;
    }
    let year = parts.next()?;
    civil.year = i16::try_from(number(year)?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    civil.resolve(None, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_honour_backslashes() {
        assert_eq!(
            quoted(r#""GET /a\"b HTTP/1.1" 404"#),
            Some((r#"GET /a\"b HTTP/1.1"#, " 404"))
        );
        assert_eq!(quoted(r#""a\\" b"#), Some((r"a\\", " b")));
        assert_eq!(quoted(r#""open"#), None);
        assert_eq!(unescape(r#"/a\"b\\c\x22"#), r#"/a"b\c\x22"#);
    }

    #[test]
    fn request_lines() {
        assert_eq!(
            request_line("GET /x?y HTTP/1.1"),
            (Some("GET"), Some("/x?y"), Some("HTTP/1.1"))
        );
        assert_eq!(request_line("GET /"), (Some("GET"), Some("/"), None));
        assert_eq!(request_line(r"\x16\x03\x01"), (None, None, None));
        assert_eq!(request_line("get / HTTP/1.1"), (None, None, None));
    }

    #[test]
    fn nginx_context_pairs() {
        let (text, mut rest) = split_context(
            r#"open() "/x" failed (2: No such file or directory), client: 1.2.3.4, server: _, request: "GET /a", b HTTP/1.1", host: "h""#,
        );
        assert_eq!(text, r#"open() "/x" failed (2: No such file or directory)"#);
        let mut pairs = Vec::new();
        while let Some((k, v, next)) = next_pair(rest) {
            pairs.push((k, v));
            rest = next;
        }
        assert_eq!(
            pairs,
            [
                ("client", "1.2.3.4"),
                ("server", "_"),
                ("request", "GET /a\", b HTTP/1.1"),
                ("host", "h")
            ]
        );
    }
}
