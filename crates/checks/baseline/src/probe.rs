//! Shieldwall's built-in probes (`x:NAME` rules): facts an SCA rule cannot express over one
//! file or one command, computed by reading the target's files, so that they work on root
//! directories as well as the local host. Each gives lines that the rule's patterns match.

use crate::target::{FileRead, Limits, Presence, Target};

/// The probes, by the name rules use.
pub const PROBES: [&str; 7] = [
    "uid0_accounts",
    "empty_password_hashes",
    "weak_password_hashes",
    "authorized_keys",
    "cron_entries",
    "listening_sockets",
    "setuid_files",
];

/// A probe's lines, and a note on how far it looked when that is not evident.
#[derive(Debug, Clone, Default)]
pub struct ProbeOutput {
    /// The lines rules match.
    pub lines: Vec<String>,
    /// For the evidence, e.g. how many candidate passwords were tried.
    pub note: Option<String>,
}

/// Runs a probe; `Err` carries not-applicable or error.
pub fn run(name: &str, target: &Target, limits: &Limits) -> Result<ProbeOutput, Presence> {
    if name.trim() == "weak_password_hashes" {
        let shadow = required(target, "/etc/shadow", limits)?;
        let found = crate::weak_passwords::search(&shadow, limits.password_budget);
        if found.weak.is_empty() && !found.complete {
            // Nothing found in an incomplete search decides nothing.
            return Err(Presence::Error(format!("undecided: {}", found.note)));
        }
        return Ok(ProbeOutput {
            lines: found.weak,
            note: Some(found.note),
        });
    }
    lines(name, target, limits).map(|lines| ProbeOutput { lines, note: None })
}

fn lines(name: &str, target: &Target, limits: &Limits) -> Result<Vec<String>, Presence> {
    match name.trim() {
        "uid0_accounts" => uid0_accounts(target, limits),
        "empty_password_hashes" => empty_password_hashes(target, limits),
        "authorized_keys" => authorized_keys(target, limits),
        "cron_entries" => cron_entries(target, limits),
        "listening_sockets" => listening_sockets(target, limits),
        "setuid_files" => setuid_files(target, limits),
        other => Err(Presence::Error(format!(
            "unknown probe `{other}` (known: {})",
            PROBES.join(", ")
        ))),
    }
}

fn lines_of(target: &Target, path: &str, limits: &Limits) -> Result<Option<String>, Presence> {
    match target.read(path, limits) {
        FileRead::Content(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        FileRead::Missing => Ok(None),
        FileRead::NotApplicable(r) => Err(Presence::NotApplicable(r)),
        FileRead::Error(r) => Err(Presence::Error(r)),
    }
}

fn required(target: &Target, path: &str, limits: &Limits) -> Result<String, Presence> {
    lines_of(target, path, limits)?
        .ok_or_else(|| Presence::NotApplicable(format!("{path} not found")))
}

/// `name:x:uid:gid:gecos:home:shell` entries of /etc/passwd.
fn passwd_entries(target: &Target, limits: &Limits) -> Result<Vec<Vec<String>>, Presence> {
    let text = required(target, "/etc/passwd", limits)?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split(':').map(str::to_owned).collect())
        .collect())
}

fn uid0_accounts(target: &Target, limits: &Limits) -> Result<Vec<String>, Presence> {
    Ok(passwd_entries(target, limits)?
        .into_iter()
        // Read as a number, as the C library reads it: `00` and `+0` are UID 0 too.
        .filter(|f| {
            f.get(2)
                .is_some_and(|uid| uid.trim().trim_start_matches('+').parse::<u64>() == Ok(0))
        })
        .filter_map(|f| f.first().cloned())
        .collect())
}

fn empty_password_hashes(target: &Target, limits: &Limits) -> Result<Vec<String>, Presence> {
    let text = required(target, "/etc/shadow", limits)?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut fields = l.split(':');
            let user = fields.next()?.trim();
            let hash = fields.next()?;
            (!user.is_empty() && hash.is_empty()).then(|| user.to_owned())
        })
        .collect())
}

fn authorized_keys(target: &Target, limits: &Limits) -> Result<Vec<String>, Presence> {
    let mut out = Vec::new();
    let mut homes: Vec<(String, String)> = passwd_entries(target, limits)?
        .into_iter()
        .filter_map(|f| Some((f.first()?.clone(), f.get(5)?.clone())))
        .filter(|(_, home)| home.starts_with('/'))
        .collect();
    homes.sort();
    homes.dedup();
    let wanted: Vec<(String, String)> = homes
        .iter()
        .flat_map(|(user, home)| {
            ["authorized_keys", "authorized_keys2"].map(|name| {
                (
                    user.clone(),
                    format!("{}/.ssh/{name}", home.trim_end_matches('/')),
                )
            })
        })
        .collect();
    // One survey of every path (a round trip for all of them on a remote host).
    let surveyed = target.survey(
        &wanted
            .iter()
            .map(|(_, path)| (path.clone(), false))
            .collect::<Vec<_>>(),
        limits,
    );
    for ((user, path), found) in wanted.into_iter().zip(surveyed) {
        {
            match found.presence {
                Presence::File => out.push(format!("{user} {path}")),
                Presence::Missing | Presence::Directory => {}
                // A home that cannot be looked into is not a home without keys.
                Presence::Error(reason) => return Err(Presence::Error(reason)),
                // A home under /run or /proc (service accounts) is not part of a root directory.
                Presence::NotApplicable(_) => {}
            }
        }
    }
    Ok(out)
}

fn cron_entries(target: &Target, limits: &Limits) -> Result<Vec<String>, Presence> {
    let mut walked = Vec::new();
    for dir in ["/etc/cron.d", "/var/spool/cron/crontabs", "/var/spool/cron"] {
        match target.walk(dir, limits) {
            Ok(found) => walked.extend(found),
            Err(Presence::Missing | Presence::File) => {}
            Err(other) => return Err(other),
        }
    }
    walked.sort_by(|a, b| a.shown.cmp(&b.shown));
    walked.dedup_by(|a, b| a.shown == b.shown);
    let mut texts = Vec::new();
    if let Some(text) = lines_of(target, "/etc/crontab", limits)? {
        texts.push(("/etc/crontab".to_owned(), text));
    }
    for file in walked {
        match target.read_walked(&file, limits) {
            FileRead::Content(bytes) => {
                texts.push((file.shown, String::from_utf8_lossy(&bytes).into_owned()))
            }
            FileRead::Missing => {
                return Err(Presence::Error(format!(
                    "{}: disappeared while read",
                    file.shown
                )));
            }
            FileRead::NotApplicable(r) => return Err(Presence::NotApplicable(r)),
            FileRead::Error(r) => return Err(Presence::Error(r)),
        }
    }
    let mut out = Vec::new();
    for (file, text) in texts {
        for line in text.lines() {
            let trimmed = line.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                out.push(format!("{file}: {trimmed}"));
            }
        }
    }
    Ok(out)
}

fn listening_sockets(target: &Target, limits: &Limits) -> Result<Vec<String>, Presence> {
    if !target.is_live() {
        return Err(Presence::NotApplicable(
            "listening sockets need a running system, not a root directory or file".to_owned(),
        ));
    }
    let mut out = Vec::new();
    for (file, proto, v6) in [
        ("/proc/net/tcp", "tcp", false),
        ("/proc/net/tcp6", "tcp6", true),
        ("/proc/net/udp", "udp", false),
        ("/proc/net/udp6", "udp6", true),
    ] {
        let Some(text) = lines_of(target, file, limits)? else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            // TCP sockets in LISTEN (0A); UDP sockets bound but unconnected (07).
            let wanted = if proto.starts_with("tcp") { "0A" } else { "07" };
            if *state != wanted {
                continue;
            }
            if let Some(address) = decode_socket(local, v6) {
                out.push(format!("{proto} {address}"));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `0100007F:0016` to `127.0.0.1:22`; IPv6 as `[::1]:22`.
fn decode_socket(text: &str, v6: bool) -> Option<String> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    if !v6 {
        let raw = u32::from_str_radix(addr, 16).ok()?;
        // The kernel prints the network-order address as a native-endian word.
        let ip = std::net::Ipv4Addr::from(raw.to_ne_bytes());
        return Some(format!("{ip}:{port}"));
    }
    if addr.len() != 32 {
        return None;
    }
    let mut octets = [0u8; 16];
    for (word_index, chunk) in addr.as_bytes().chunks(8).enumerate() {
        let word = u32::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
        let bytes = word.to_ne_bytes();
        for (i, b) in bytes.iter().enumerate() {
            *octets.get_mut(word_index * 4 + i)? = *b;
        }
    }
    Some(format!("[{}]:{port}", std::net::Ipv6Addr::from(octets)))
}

/// Directory depth the setuid scan descends before it calls the tree unusual.
const MAX_SETUID_DEPTH: usize = 64;

/// Directories `setuid_files` does not descend into: kernel and runtime state, not files.
const SETUID_SKIP: [&str; 4] = ["/proc", "/sys", "/dev", "/run"];

fn setuid_files(target: &Target, limits: &Limits) -> Result<Vec<String>, Presence> {
    use std::collections::BTreeSet;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    let root = match target {
        Target::Tree { root, .. } => Some(root),
        Target::Ssh { .. } => None,
        Target::Files { .. } => {
            return Err(Presence::NotApplicable(
                "setuid files need a filesystem, not a configuration file".to_owned(),
            ));
        }
    };
    // Files that packages installed: dpkg's lists. A setuid file in them is the package's
    // business (and the vulnerability scanner's), one outside them is worth a look.
    let mut packaged = BTreeSet::new();
    match target.walk("/var/lib/dpkg/info", limits) {
        Ok(found) => {
            let mut lists: Vec<_> = found
                .into_iter()
                .filter(|f| f.name.ends_with(".list"))
                .collect();
            target.prefetch_walked(&mut lists, limits);
            for file in &lists {
                match target.read_walked(file, limits) {
                    FileRead::Content(bytes) => {
                        packaged.extend(String::from_utf8_lossy(&bytes).lines().map(str::to_owned));
                    }
                    FileRead::Missing => {}
                    FileRead::NotApplicable(r) => return Err(Presence::NotApplicable(r)),
                    FileRead::Error(r) => return Err(Presence::Error(r)),
                }
            }
        }
        Err(Presence::Missing) => {
            return Err(Presence::NotApplicable(
                "no dpkg database: the package set is unknown".to_owned(),
            ));
        }
        Err(other) => return Err(other),
    }
    let Some(root) = root else {
        let Target::Ssh { host, .. } = target else {
            return Err(Presence::Error("no filesystem to scan".to_owned()));
        };
        return Ok(crate::remote::setuid_files(host, limits)?
            .into_iter()
            .filter(|path| !packaged.contains(path))
            .collect());
    };
    // The root's own filesystem only (as `find -xdev`): on the live host, mounted shares and
    // kernel filesystems would make the scan unbounded. The root itself may be a link.
    let device = std::fs::metadata(root)
        .map_err(|e| Presence::Error(format!("{}: {e}", root.display())))?
        .dev();
    let mut out = Vec::new();
    let mut visited = 0usize;
    let mut stack = vec![(root.clone(), String::new(), 0usize)];
    while let Some((dir, shown, depth)) = stack.pop() {
        // A directory that cannot be read could hold anything: the scan is then undecided.
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            Presence::Error(format!(
                "{}: {e}",
                if shown.is_empty() { "/" } else { &shown }
            ))
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| Presence::Error(format!("{shown}: {e}")))?;
            visited += 1;
            if visited > limits.max_directory_entries * 20 {
                return Err(Presence::Error(
                    "more files than the setuid scan visits".to_owned(),
                ));
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{shown}/{name}");
            let meta = entry
                .path()
                .symlink_metadata()
                .map_err(|e| Presence::Error(format!("{path}: {e}")))?;
            if meta.is_dir() {
                if SETUID_SKIP.contains(&path.as_str()) || meta.dev() != device {
                    continue;
                }
                if depth >= MAX_SETUID_DEPTH {
                    return Err(Presence::Error(format!(
                        "{path}: deeper than {MAX_SETUID_DEPTH} levels"
                    )));
                }
                stack.push((entry.path(), path, depth + 1));
            } else if meta.is_file()
                && meta.permissions().mode() & 0o6000 != 0
                && !packaged.contains(&path)
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_addresses_decode() {
        assert_eq!(
            decode_socket("0100007F:0016", false).as_deref(),
            Some("127.0.0.1:22")
        );
        assert_eq!(
            decode_socket("00000000:0017", false).as_deref(),
            Some("0.0.0.0:23")
        );
        assert_eq!(
            decode_socket("00000000000000000000000001000000:0050", true).as_deref(),
            Some("[::1]:80")
        );
        assert_eq!(decode_socket("zz:1", false), None);
    }
}
