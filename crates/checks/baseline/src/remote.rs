//! What a policy reads, on a host reached over SSH: presence, bounded file reads, directory
//! walks, processes, commands and the setuid scan, each as one remote command whose answer
//! keeps the local target's meaning (missing, not a regular file, denied, too large, too deep).

use std::time::Duration;

use crate::command::CommandOutput;
use crate::ssh::{Exec, SshHost, quote};
use crate::target::{FileRead, Limits, Presence, Surveyed, WalkedFile};

/// How long a read that takes no limits (presence) may take.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Room for error messages.
const SMALL_OUTPUT: usize = 64 * 1024;

/// The search path and locale commands run with, as on the local host.
const ENVIRONMENT: &str =
    "env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C";

fn absolute(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("path `{path}` is not absolute"));
    }
    if path.contains('\0') {
        return Err(format!("path `{path}` holds a NUL character"));
    }
    Ok(())
}

/// A missing file, told from other failures by the message of the C locale.
fn is_missing(exec: &Exec) -> bool {
    let text = exec.error_text();
    text.contains("No such file or directory") || text.contains("Not a directory")
}

/// What is at `path`.
pub(crate) fn presence(host: &SshHost, path: &str) -> Presence {
    if let Err(e) = absolute(path) {
        return Presence::Error(e);
    }
    let command = format!("LC_ALL=C stat -L -c %F -- {}", quote(path));
    match host.exec(&command, READ_TIMEOUT, SMALL_OUTPUT) {
        Err(e) => Presence::Error(e),
        Ok(exec) if exec.status == Some(0) => {
            if String::from_utf8_lossy(&exec.stdout).trim() == "directory" {
                Presence::Directory
            } else {
                Presence::File
            }
        }
        Ok(exec) if is_missing(&exec) => Presence::Missing,
        Ok(exec) => Presence::Error(format!("{path}: {}", exec.error_text())),
    }
}

/// Reads a regular file, up to the limit; FIFOs, devices and directories are not read.
pub(crate) fn read(host: &SshHost, path: &str, limits: &Limits) -> FileRead {
    if let Err(e) = absolute(path) {
        return FileRead::Error(e);
    }
    let limit = limits.max_file_bytes;
    // Exit 4: exists but not a regular file; 3: stat's message says why it is not there.
    let command = format!(
        "LC_ALL=C; export LC_ALL; p={}; if [ -f \"$p\" ]; then exec head -c {} -- \"$p\"; \
         elif [ -e \"$p\" ]; then exit 4; else stat -L -- \"$p\" >/dev/null; exit 3; fi",
        quote(path),
        limit.saturating_add(1)
    );
    let cap = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    match host.exec(&command, limits.command_timeout, cap) {
        Err(e) => FileRead::Error(e),
        Ok(exec) => match exec.status {
            Some(0) if exec.stdout.len() as u64 > limit || exec.truncated => {
                FileRead::Error(format!("{path}: larger than {limit} bytes: not matched"))
            }
            Some(0) => FileRead::Content(exec.stdout),
            Some(4) => FileRead::Error(format!("{path}: not a regular file: not read")),
            Some(3) if is_missing(&exec) => FileRead::Missing,
            _ => FileRead::Error(format!("{path}: {}", exec.error_text())),
        },
    }
}

/// The regular files under `dir`, as the local walk finds them: links not followed, an error
/// past the depth or file limits.
pub(crate) fn walk(
    host: &SshHost,
    dir: &str,
    limits: &Limits,
) -> Result<Vec<WalkedFile>, Presence> {
    match presence(host, dir) {
        Presence::Directory => {}
        other => return Err(other),
    }
    let top = dir.trim_end_matches('/');
    let top = if top.is_empty() { "/" } else { top };
    // %y the type, %d the depth (1 for the directory's own entries), %p the path.
    let command = format!(
        "LC_ALL=C find -H {} -mindepth 1 -maxdepth {} -printf '%y %d %p\\0'",
        quote(top),
        limits.max_directory_depth
    );
    let cap = limits.max_directory_entries.saturating_mul(512);
    let exec = host
        .exec(&command, limits.command_timeout, cap)
        .map_err(Presence::Error)?;
    if exec.status != Some(0) {
        return Err(Presence::Error(format!("{dir}: {}", exec.error_text())));
    }
    if exec.truncated {
        return Err(Presence::Error(format!(
            "{dir}: more than {} files",
            limits.max_directory_entries
        )));
    }
    let mut out = Vec::new();
    for entry in exec.stdout.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let text = String::from_utf8_lossy(entry);
        let mut parts = text.splitn(3, ' ');
        let (Some(kind), Some(depth), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Presence::Error(format!(
                "{dir}: unexpected find output {text:?}"
            )));
        };
        let depth: usize = depth.parse().unwrap_or(usize::MAX);
        match kind {
            "d" if depth >= limits.max_directory_depth => {
                return Err(Presence::Error(format!(
                    "{path}: deeper than {} levels",
                    limits.max_directory_depth
                )));
            }
            "f" => {
                if out.len() >= limits.max_directory_entries {
                    return Err(Presence::Error(format!(
                        "{dir}: more than {} files",
                        limits.max_directory_entries
                    )));
                }
                let name = path.rsplit('/').next().unwrap_or(path).to_owned();
                out.push(WalkedFile {
                    shown: path.to_owned(),
                    name,
                    host: std::path::PathBuf::from(path),
                    prefetched: None,
                });
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| a.shown.cmp(&b.shown));
    // Whoever walks reads what the walk found: fetch it in batches now rather than one round
    // trip per file (a package database has hundreds).
    let wanted: Vec<(String, bool)> = out.iter().map(|f| (f.shown.clone(), true)).collect();
    for (file, surveyed) in out.iter_mut().zip(survey(host, &wanted, limits)) {
        if let Some(read) = surveyed.content {
            file.prefetched = Some(std::sync::Arc::new(read));
        }
    }
    Ok(out)
}

/// Paths surveyed per remote command.
const SURVEY_BATCH: usize = 64;
/// Output one survey command may return; a batch past it is read path by path.
const SURVEY_OUTPUT: usize = 64 << 20;

/// What is at each path and, where asked, its content: a few paths per remote command, each
/// answered by a line (`D`, `S` not a regular file, `M reason` missing or unreachable,
/// `E reason` unreadable, `F size` followed by that many bytes).
pub(crate) fn survey(host: &SshHost, wanted: &[(String, bool)], limits: &Limits) -> Vec<Surveyed> {
    let mut out = Vec::with_capacity(wanted.len());
    for batch in wanted.chunks(SURVEY_BATCH) {
        match survey_batch(host, batch, limits) {
            Ok(found) => out.extend(found),
            // A batch that cannot be read whole (too large, cut, a file that changed while it
            // was read) is read path by path.
            Err(_) => out.extend(batch.iter().map(|(path, content)| {
                if *content {
                    let read = read(host, path, limits);
                    Surveyed {
                        presence: match &read {
                            FileRead::Content(_) => Presence::File,
                            FileRead::Missing => Presence::Missing,
                            FileRead::NotApplicable(r) => Presence::NotApplicable(r.clone()),
                            FileRead::Error(r) => Presence::Error(r.clone()),
                        },
                        content: Some(read),
                    }
                } else {
                    Surveyed {
                        presence: presence(host, path),
                        content: None,
                    }
                }
            })),
        }
    }
    out
}

fn survey_batch(
    host: &SshHost,
    batch: &[(String, bool)],
    limits: &Limits,
) -> Result<Vec<Surveyed>, String> {
    let limit = limits.max_file_bytes.saturating_add(1);
    let mut command = format!(
        "LC_ALL=C; export LC_ALL; one() {{ \
         if [ -d \"$1\" ]; then echo D; \
         elif [ -f \"$1\" ]; then \
           if [ \"$2\" = 0 ]; then echo 'F 0'; \
           elif e=$(head -c 0 -- \"$1\" 2>&1); then \
             n=$(head -c {limit} -- \"$1\" | wc -c); echo \"F $n\"; head -c \"$n\" -- \"$1\"; \
           else echo \"E $e\" | tr '\\n' ' '; echo; fi; \
         elif [ -e \"$1\" ]; then echo S; \
         else e=$(stat -L -- \"$1\" 2>&1 >/dev/null); echo \"M $e\" | tr '\\n' ' '; echo; fi; }};"
    );
    for (path, content) in batch {
        if absolute(path).is_err() {
            return Err(format!("{path}: not absolute"));
        }
        command.push_str(&format!(" one {} {};", quote(path), u8::from(*content)));
    }
    let exec = host.exec(&command, limits.command_timeout, SURVEY_OUTPUT)?;
    if exec.status != Some(0) || exec.truncated {
        return Err(format!("survey: {}", exec.error_text()));
    }
    let mut rest: &[u8] = &exec.stdout;
    let mut out = Vec::with_capacity(batch.len());
    for (path, content) in batch {
        let end = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| format!("{path}: no answer"))?;
        let line = String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned();
        rest = rest.get(end + 1..).unwrap_or_default();
        let (kind, detail) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let detail = detail.trim();
        let surveyed = match kind {
            "D" => Surveyed {
                presence: Presence::Directory,
                content: content
                    .then(|| FileRead::Error(format!("{path}: not a regular file: not read"))),
            },
            "S" => Surveyed {
                presence: Presence::File,
                content: content
                    .then(|| FileRead::Error(format!("{path}: not a regular file: not read"))),
            },
            "E" => Surveyed {
                presence: Presence::File,
                content: Some(FileRead::Error(format!("{path}: {detail}"))),
            },
            "M" if detail.contains("No such file or directory")
                || detail.contains("Not a directory") =>
            {
                Surveyed {
                    presence: Presence::Missing,
                    content: content.then_some(FileRead::Missing),
                }
            }
            "M" => Surveyed {
                presence: Presence::Error(format!("{path}: {detail}")),
                content: content.then(|| FileRead::Error(format!("{path}: {detail}"))),
            },
            "F" => {
                let size: usize = detail
                    .parse()
                    .map_err(|_| format!("{path}: size {detail:?}"))?;
                let bytes = rest
                    .get(..size)
                    .ok_or_else(|| format!("{path}: cut short"))?;
                rest = rest.get(size..).unwrap_or_default();
                let read = if !content {
                    None
                } else if size as u64 > limits.max_file_bytes {
                    Some(FileRead::Error(format!(
                        "{path}: larger than {} bytes: not matched",
                        limits.max_file_bytes
                    )))
                } else {
                    Some(FileRead::Content(bytes.to_vec()))
                };
                Surveyed {
                    presence: Presence::File,
                    content: read,
                }
            }
            other => return Err(format!("{path}: unexpected answer {other:?}")),
        };
        out.push(surveyed);
    }
    Ok(out)
}

/// The names of running processes: each one's `comm` and the last part of its first argument.
pub(crate) fn processes(host: &SshHost) -> Result<Vec<String>, String> {
    // `c` lines are comm as is (it may hold a slash: kworker/0:1), `a` lines argv[0].
    let command = "cd /proc && for d in [0-9]*; do \
                   c=$(cat \"$d/comm\" 2>/dev/null) && printf 'c%s\\n' \"$c\"; \
                   a=$(head -z -n 1 \"$d/cmdline\" 2>/dev/null | tr -d '\\000') && \
                   printf 'a%s\\n' \"$a\"; done";
    let exec = host.exec(command, READ_TIMEOUT, 16 * 1024 * 1024)?;
    if exec.status != Some(0) {
        return Err(format!("/proc: {}", exec.error_text()));
    }
    let text = String::from_utf8_lossy(&exec.stdout);
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|line| {
            if let Some(comm) = line.strip_prefix('c') {
                Some(comm.to_owned())
            } else {
                line.strip_prefix('a')
                    .and_then(|first| first.rsplit('/').next())
                    .filter(|base| !base.is_empty())
                    .map(str::to_owned)
            }
        })
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Runs a command's words on the host without a shell's interpretation (each word quoted), in
/// the local runner's environment.
pub(crate) fn run(
    host: &SshHost,
    argv: &[String],
    limits: &Limits,
) -> Result<CommandOutput, Presence> {
    let program = argv.first().cloned().unwrap_or_default();
    let words: Vec<String> = argv.iter().map(|w| quote(w)).collect();
    let command = format!("{ENVIRONMENT} {} </dev/null", words.join(" "));
    let exec = host
        .exec(&command, limits.command_timeout, limits.max_command_output)
        .map_err(|e| Presence::Error(format!("`{program}`: {e}")))?;
    if exec.status == Some(127) {
        return Err(Presence::NotApplicable(format!(
            "command `{program}` not found on the target (exit status 127)"
        )));
    }
    let mut text = String::from_utf8_lossy(&exec.stdout).into_owned();
    if !exec.stderr.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&String::from_utf8_lossy(&exec.stderr));
    }
    Ok(CommandOutput {
        text,
        status: exec.status.and_then(|s| i32::try_from(s).ok()),
        chroot: false,
    })
}

/// Setuid and setgid regular files of the root filesystem (as `find -xdev`), kernel and runtime
/// trees left out; an unreadable directory makes the scan undecided.
pub(crate) fn setuid_files(host: &SshHost, limits: &Limits) -> Result<Vec<String>, Presence> {
    let command = "LC_ALL=C find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o \
                   -path /run \\) -prune -o -type f -perm /6000 -print0";
    let exec = host
        .exec(
            command,
            limits.command_timeout.max(Duration::from_secs(120)),
            16 << 20,
        )
        .map_err(Presence::Error)?;
    if exec.status != Some(0) || exec.truncated {
        return Err(Presence::Error(format!(
            "setuid scan: {}",
            if exec.truncated {
                "too many files".to_owned()
            } else {
                exec.error_text()
            }
        )));
    }
    let mut out: Vec<String> = exec
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    out.sort();
    Ok(out)
}
