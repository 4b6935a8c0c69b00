//! Running the commands of `c:` rules: split like a shell splits words (quotes and
//! backslashes, nothing else), run without a shell, with a clean environment, a deadline and
//! bounded output. A policy that wants a pipeline writes `sh -c "..."` itself.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::target::{Limits, Presence};

/// How long a command that has exited may keep its output open (a background child holding
/// it, as in Wazuh's `sh -c "a & b"`) before it is taken as finished. Wazuh's agent reads until
/// the output closes; locally and over ssh the same grace applies, so both read the same.
pub(crate) const EXIT_GRACE: Duration = Duration::from_secs(2);

/// What a command printed.
#[derive(Debug, Clone)]
pub struct CommandOutput {
    /// Standard output then standard error, as text (invalid UTF-8 replaced).
    pub text: String,
    /// The exit status, if it exited.
    pub status: Option<i32>,
    /// Whether it ran in a chroot of the target's root.
    pub chroot: bool,
}

/// Splits a command line into words as Wazuh's agent does: on runs of spaces, with double
/// quotes grouping words (and removed) and a backslash keeping the next character (and
/// removed). Single quotes are ordinary characters, so policies written for Wazuh see the same
/// arguments here.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_word = true;
                quoted = !quoted;
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            ' ' | '\t' | '\n' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if quoted {
        return Err(format!("unclosed \" in command `{line}`"));
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() {
        return Err("empty command".to_owned());
    }
    Ok(words)
}

/// Runs `argv`, in a chroot of `root` if given.
pub fn run(
    argv: &[String],
    root: Option<&Path>,
    limits: &Limits,
) -> Result<CommandOutput, Presence> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Presence::Error("empty command".to_owned()));
    };
    let mut command = match root {
        Some(root) => {
            let mut c = Command::new("chroot");
            c.arg(root).arg(program).args(args);
            c
        }
        None => {
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    };
    // A fixed locale and search path: outputs are matched by regexes written for the C locale.
    command
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, so that what it starts in the background can be ended with it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let what = if root.is_some() {
                "chroot"
            } else {
                program.as_str()
            };
            return Err(Presence::NotApplicable(format!(
                "command `{what}` not found on the target"
            )));
        }
        Err(e) => return Err(Presence::Error(format!("cannot run `{program}`: {e}"))),
    };
    let group = i32::try_from(child.id())
        .ok()
        .and_then(rustix::process::Pid::from_raw);
    let end_group = || {
        if let Some(group) = group {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    };
    let cap = limits.max_command_output as u64;
    let (sender, outputs) = std::sync::mpsc::channel::<(bool, String)>();
    for (is_stdout, stream) in [
        (
            true,
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ),
        (
            false,
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ),
    ] {
        if let Some(stream) = stream {
            let sender = sender.clone();
            std::thread::spawn(move || {
                let _ = sender.send((is_stdout, drain(stream, cap)));
            });
        }
    }
    drop(sender);
    let deadline = Instant::now()
        .checked_add(limits.command_timeout)
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
    // Most commands of a policy finish within a millisecond or two: poll often at first, then
    // back off, so short commands are not held up and long ones do not spin.
    let mut pause = Duration::from_micros(100);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                end_group();
                let _ = child.kill();
                let _ = child.wait();
                return Err(Presence::Error(format!(
                    "`{program}` still running after {} s: killed",
                    limits.command_timeout.as_secs()
                )));
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(Presence::Error(format!("waiting for `{program}`: {e}"))),
        }
    };
    // What it started in the background may still write: its output is read until the pipes
    // close, for at most EXIT_GRACE; then whatever is left in its group is ended.
    let (mut text, mut err) = (String::new(), String::new());
    let grace = Instant::now()
        .checked_add(EXIT_GRACE)
        .map_or(deadline, |g| g.min(deadline));
    while let Ok((is_stdout, output)) =
        outputs.recv_timeout(grace.saturating_duration_since(Instant::now()))
    {
        if is_stdout {
            text = output;
        } else {
            err = output;
        }
    }
    end_group();
    while let Ok((is_stdout, output)) = outputs.recv_timeout(
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(100)),
    ) {
        if is_stdout {
            text = output;
        } else {
            err = output;
        }
    }
    if status.code() == Some(127) {
        // The shell's and chroot's "command not found": Wazuh counts exit status 127 as a
        // command that could not run, whatever printed it.
        let place = if root.is_some() {
            "in the root directory"
        } else {
            "on the target"
        };
        return Err(Presence::NotApplicable(format!(
            "command `{program}` not found {place} (exit status 127)"
        )));
    }
    if !err.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&err);
    }
    Ok(CommandOutput {
        text,
        status: status.code(),
        chroot: root.is_some(),
    })
}

/// Reads up to `cap` bytes and discards the rest, so a chatty command cannot block on a full
/// pipe nor fill memory.
fn drain(mut reader: impl Read, cap: u64) -> String {
    let mut kept = Vec::new();
    let _ = (&mut reader).take(cap).read_to_end(&mut kept);
    let _ = std::io::copy(&mut reader, &mut std::io::sink());
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_as_wazuh_splits_them() -> Result<(), String> {
        assert_eq!(split("sshd  -T")?, ["sshd", "-T"]);
        assert_eq!(
            split(r#"sh -c "nft list ruleset | awk '/hook input/,/}/'""#)?,
            ["sh", "-c", "nft list ruleset | awk '/hook input/,/}/'"]
        );
        // Single quotes are kept; a backslash keeps the next character and goes.
        assert_eq!(
            split(r"dpkg-query -f='${Status}\t' x\ y")?,
            ["dpkg-query", "-f='${Status}t'", "x y"]
        );
        assert_eq!(split(r#"echo "a \" b""#)?, ["echo", "a \" b"]);
        assert!(split(r#"echo "open"#).is_err());
        assert!(split("   ").is_err());
        Ok(())
    }

    #[test]
    fn output_of_a_background_child_is_read_until_its_pipes_close_within_the_grace()
    -> Result<(), String> {
        let limits = Limits::default();
        let run_line = |line: &str| -> Result<(String, Duration), String> {
            let started = Instant::now();
            let out = run(&split(line)?, None, &limits).map_err(|e| format!("{e:?}"))?;
            Ok((out.text, started.elapsed()))
        };
        // Wazuh's CIS rules write `sh -c "a & b"`: what `a` prints after `sh` exits counts.
        let (text, _) = run_line(r#"sh -c "(sleep 0.3; echo late) & echo now""#)?;
        assert!(text.contains("now") && text.contains("late"), "{text:?}");
        // A child that keeps the output open for longer is ended after the grace.
        let (text, took) = run_line(r#"sh -c "sleep 30 & echo now""#)?;
        assert!(text.contains("now"), "{text:?}");
        assert!(took < EXIT_GRACE + Duration::from_secs(2), "{took:?}");
        Ok(())
    }
}
