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

/// A missing file, told from other failures by the message of the C locale (ENOTDIR is an
/// error, as on the local target).
fn is_missing(exec: &Exec) -> bool {
    missing_message(&exec.error_text())
}

fn missing_message(text: &str) -> bool {
    text.contains("No such file or directory")
}

/// What is at `path`.
pub(crate) fn presence(host: &SshHost, path: &str) -> Presence {
    if let Err(e) = absolute(path) {
        return Presence::Error(e);
    }
    let command = format!("LC_ALL=C stat -L -c %F -- {}", quote(path));
    match host.exec(&command, READ_TIMEOUT, SMALL_OUTPUT) {
        Err(e) => Presence::Error(format!("{path}: {e}")),
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
        Err(e) => FileRead::Error(format!("{path}: {e}")),
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
            Err(_) => out.extend(batch.iter().map(|(path, content)| Surveyed {
                presence: presence(host, path),
                content: content.then(|| read(host, path, limits)),
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
    // Each path answers with a line: `D` a directory, `S` not a regular file, `F` a regular
    // file (not read), `E reason` unreadable, `M reason` not there (or not reachable), or `C`
    // followed by the content as read once and a trailer with a random marker and the read's
    // status, so that nothing in a file can pass for the framing.
    let marker = crate::ssh::nonce()?;
    let limit = limits.max_file_bytes.saturating_add(1);
    let mut command = format!(
        "LC_ALL=C; export LC_ALL; one() {{ \
         if [ -d \"$1\" ]; then printf 'D\\n'; \
         elif [ -f \"$1\" ]; then \
           if [ \"$2\" = 0 ]; then printf 'F\\n'; \
           elif ! e=$(head -c 0 -- \"$1\" 2>&1); then \
             printf 'E %s\\n' \"$(printf '%s' \"$e\" | tr '\\n' ' ')\"; \
           else printf 'C\\n'; head -c {limit} -- \"$1\"; s=$?; printf '\\n%s %s\\n' {marker} \"$s\"; fi; \
         elif [ -e \"$1\" ]; then printf 'S\\n'; \
         else e=$(stat -L -- \"$1\" 2>&1 >/dev/null); \
           printf 'M %s\\n' \"$(printf '%s' \"$e\" | tr '\\n' ' ')\"; fi; }};"
    );
    for (path, content) in batch {
        absolute(path)?;
        command.push_str(&format!(" one {} {};", quote(path), u8::from(*content)));
    }
    let exec = host.exec(&command, limits.command_timeout, SURVEY_OUTPUT)?;
    if exec.status != Some(0) || exec.truncated {
        return Err(format!("survey: {}", exec.error_text()));
    }
    let trailer = format!("\n{marker} ");
    let mut rest: &[u8] = &exec.stdout;
    let mut out = Vec::with_capacity(batch.len());
    let not_regular = |path: &str| FileRead::Error(format!("{path}: not a regular file: not read"));
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
                content: content.then(|| not_regular(path)),
            },
            "S" => Surveyed {
                presence: Presence::File,
                content: content.then(|| not_regular(path)),
            },
            "F" if !content => Surveyed {
                presence: Presence::File,
                content: None,
            },
            "E" => Surveyed {
                presence: Presence::File,
                content: Some(FileRead::Error(format!("{path}: {detail}"))),
            },
            "M" if missing_message(detail) => Surveyed {
                presence: Presence::Missing,
                content: content.then_some(FileRead::Missing),
            },
            "M" => Surveyed {
                presence: Presence::Error(format!("{path}: {detail}")),
                content: content.then(|| FileRead::Error(format!("{path}: {detail}"))),
            },
            "C" if *content => {
                let at = rest
                    .windows(trailer.len())
                    .position(|w| w == trailer.as_bytes())
                    .ok_or_else(|| format!("{path}: cut short"))?;
                let bytes = rest.get(..at).unwrap_or_default();
                let after = rest.get(at + trailer.len()..).unwrap_or_default();
                let status_end = after
                    .iter()
                    .position(|b| *b == b'\n')
                    .ok_or_else(|| format!("{path}: no status"))?;
                let status = String::from_utf8_lossy(after.get(..status_end).unwrap_or_default())
                    .trim()
                    .to_owned();
                let read = if status != "0" {
                    FileRead::Error(format!("{path}: reading failed (status {status})"))
                } else if bytes.len() as u64 > limits.max_file_bytes {
                    FileRead::Error(format!(
                        "{path}: larger than {} bytes: not matched",
                        limits.max_file_bytes
                    ))
                } else {
                    FileRead::Content(bytes.to_vec())
                };
                rest = after.get(status_end + 1..).unwrap_or_default();
                Surveyed {
                    presence: Presence::File,
                    content: Some(read),
                }
            }
            other => return Err(format!("{path}: unexpected answer {other:?}")),
        };
        out.push(surveyed);
    }
    if !rest.is_empty() {
        return Err("survey: more output than answers".to_owned());
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
    // With /proc mounted hidepid, a user sees its own processes only: an incomplete list
    // would make `p:` rules say "not running" of what runs.
    let init = host.exec(
        "[ -r /proc/1/cmdline ] && echo visible",
        READ_TIMEOUT,
        SMALL_OUTPUT,
    )?;
    if String::from_utf8_lossy(&init.stdout).trim() != "visible" {
        return Err(format!(
            "{}: other users' processes are hidden from this user (/proc hidepid); check as root",
            host.spec().describe()
        ));
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
