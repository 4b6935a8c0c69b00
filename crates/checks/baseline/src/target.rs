//! What a policy is checked against, and the only ways rules reach it: reading files,
//! listing directories, listing processes and running commands.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::command::{self, CommandOutput};
use crate::remote;
use crate::resolve::resolve_in_root;
use crate::ssh::{SshHost, SshSpec};

/// Bounds on what one evaluation reads and runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Files larger than this are not matched: their rules are errors.
    pub max_file_bytes: u64,
    /// Output kept of each command (stdout and stderr each).
    pub max_command_output: usize,
    /// A command still running after this is killed and its rule is an error.
    pub command_timeout: Duration,
    /// Files visited under one directory of a `d:` rule.
    pub max_directory_entries: usize,
    /// Directory depth a `d:` rule descends.
    pub max_directory_depth: usize,
    /// Time the `weak_password_hashes` probe may spend trying candidate passwords.
    pub password_budget: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: 8 * 1024 * 1024,
            max_command_output: 1024 * 1024,
            command_timeout: Duration::from_secs(30),
            max_directory_entries: 100_000,
            max_directory_depth: 16,
            password_budget: Duration::from_secs(30),
        }
    }
}

/// Whether `c:` rules run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commands {
    /// Run on the host.
    Run,
    /// Run with `chroot ROOT`: results are marked as such, since the root's programs then run
    /// against the checking host's kernel, processes and network.
    Chroot,
    /// Not run: their rules are not applicable, for this reason.
    Disabled(String),
}

/// The thing a policy is checked against.
#[derive(Debug, Clone)]
pub enum Target {
    /// A filesystem tree: `/` for the local host, or a root directory (an image, a container's
    /// filesystem, a debootstrap root).
    Tree {
        /// The root; `/` for the local host.
        root: PathBuf,
        /// The running system (processes, sockets, `/proc`, `/sys`) is this host's: true only
        /// for the local host.
        live: bool,
        /// Whether commands run.
        commands: Commands,
    },
    /// Single configuration files given directly (a router's exported configuration, a
    /// `my.cnf`): only the paths the policy's variables bind to them, and what is under a bound
    /// directory, can be read.
    Files {
        /// Policy variable (with `$`) to the file or directory it stands for; `$target_file` at
        /// least.
        files: BTreeMap<String, PathBuf>,
    },
    /// A running host reached over SSH: its files, processes and sockets are read, and its
    /// commands run, by commands through one connection; nothing is installed there.
    Ssh {
        /// The host, connected on first use.
        host: Arc<SshHost>,
        /// Whether commands run (on the host, as the login user).
        commands: Commands,
    },
}

/// The reading of one file.
#[derive(Debug, Clone)]
pub enum FileRead {
    /// The file's bytes.
    Content(Vec<u8>),
    /// No such file.
    Missing,
    /// The target cannot have this file, and why.
    NotApplicable(String),
    /// It exists but could not be read, and why.
    Error(String),
}

/// A regular file a directory walk found.
#[derive(Debug, Clone)]
pub struct WalkedFile {
    /// Its path as the policy would write it (invalid UTF-8 replaced).
    pub shown: String,
    /// Its name, for name patterns.
    pub name: String,
    /// Where it is on this machine.
    pub host: PathBuf,
    /// Its reading, when the walk read it already (a remote host's files come in one batch).
    pub prefetched: Option<Arc<FileRead>>,
}

/// What [`Target::survey`] found at one path.
#[derive(Debug, Clone)]
pub struct Surveyed {
    /// What is there.
    pub presence: Presence,
    /// Its reading, when asked for.
    pub content: Option<FileRead>,
}

/// What is at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// A regular file (or anything that is not a directory).
    File,
    /// A directory.
    Directory,
    /// Nothing.
    Missing,
    /// The target cannot answer, and why.
    NotApplicable(String),
    /// The answer could not be read, and why.
    Error(String),
}

const LIVE_ONLY_PREFIXES: [&str; 3] = ["/proc/", "/sys/", "/run/"];

impl Target {
    /// The local host, commands allowed.
    pub fn local() -> Target {
        Target::Tree {
            root: PathBuf::from("/"),
            live: true,
            commands: Commands::Run,
        }
    }

    /// A root directory; commands not run unless `chroot`.
    pub fn root(root: PathBuf, chroot: bool) -> Target {
        let commands = if chroot {
            Commands::Chroot
        } else {
            Commands::Disabled(
                "commands disabled: the target is a root directory (--chroot runs them)".to_owned(),
            )
        };
        Target::Tree {
            root,
            live: false,
            commands,
        }
    }

    /// A target as written on the command line and in the configuration: `local`, `root:DIR`
    /// (commands in a chroot with `chroot`), or `file:PATH` with more files bound to policy
    /// variables by `vars` (names with or without `$`). Relative paths are taken from `base`.
    pub fn parse(
        spec: &str,
        chroot: bool,
        vars: &BTreeMap<String, PathBuf>,
        base: &Path,
    ) -> Result<Target, String> {
        let resolve = |p: &str| {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        if chroot && !spec.starts_with("root:") {
            return Err("chroot applies to root:DIR targets only".to_owned());
        }
        if !vars.is_empty() && !spec.starts_with("file:") {
            return Err("variables bind files of file:PATH targets only".to_owned());
        }
        if spec == "local" {
            return Ok(Target::local());
        }
        if let Some(dir) = spec.strip_prefix("root:") {
            let dir = resolve(dir);
            let meta = std::fs::metadata(&dir)
                .map_err(|e| format!("target root {}: {e}", dir.display()))?;
            if !meta.is_dir() {
                return Err(format!("target root {} is not a directory", dir.display()));
            }
            return Ok(Target::root(dir, chroot));
        }
        if let Some(file) = spec.strip_prefix("file:") {
            let existing = |path: PathBuf| -> Result<PathBuf, String> {
                std::fs::metadata(&path)
                    .map_err(|e| format!("target file {}: {e}", path.display()))?;
                Ok(path)
            };
            let mut files = BTreeMap::new();
            let main = existing(resolve(file))?;
            if !main.is_file() {
                return Err(format!(
                    "target file {} is not a regular file",
                    main.display()
                ));
            }
            files.insert("$target_file".to_owned(), main);
            for (name, path) in vars {
                let name = name.trim();
                let name = if name.starts_with('$') {
                    name.to_owned()
                } else {
                    format!("${name}")
                };
                files.insert(name, existing(resolve(&path.to_string_lossy()))?);
            }
            return Ok(Target::Files { files });
        }
        if spec.starts_with("ssh:") {
            return Err("ssh: targets need a key and a known_hosts file (Target::ssh)".to_owned());
        }
        Err(format!(
            "target `{spec}`: expected local, root:DIR, file:PATH or ssh:[USER@]HOST[:PORT]"
        ))
    }

    /// A host over SSH: `spec` is `[user@]host[:port]` (after `ssh:`), `key` the private key
    /// file, `known_hosts` the file that must list the host's key. Nothing connects until the
    /// first read.
    pub fn ssh(spec: &str, key: PathBuf, known_hosts: PathBuf) -> Result<Target, String> {
        let spec = SshSpec::parse(spec, key, known_hosts)?;
        Ok(Target::Ssh {
            host: Arc::new(SshHost::new(spec)),
            commands: Commands::Run,
        })
    }

    /// How the target is written in reports: `local`, `root:DIR`, `file:PATH`,
    /// `ssh:USER@HOST:PORT`.
    pub fn describe(&self) -> String {
        match self {
            Target::Ssh { host, .. } => host.spec().describe(),
            Target::Tree { live: true, .. } => "local".to_owned(),
            Target::Tree { root, .. } => format!("root:{}", root.display()),
            Target::Files { files } => match files.get("$target_file") {
                Some(path) => format!("file:{}", path.display()),
                None => "file:".to_owned(),
            },
        }
    }

    /// Whether `c:` rules run on this target.
    pub fn runs_commands(&self) -> bool {
        matches!(
            self,
            Target::Tree {
                commands: Commands::Run | Commands::Chroot,
                ..
            } | Target::Ssh {
                commands: Commands::Run,
                ..
            }
        )
    }

    /// Whether processes and live kernel state belong to the target.
    pub fn is_live(&self) -> bool {
        matches!(self, Target::Tree { live: true, .. } | Target::Ssh { .. })
    }

    /// The policy variables the target binds, which override the policy's own values.
    pub fn bound_variables(&self) -> BTreeMap<String, String> {
        match self {
            Target::Files { files } => files
                .iter()
                .map(|(name, path)| (name.clone(), path.to_string_lossy().into_owned()))
                .collect(),
            Target::Tree { .. } | Target::Ssh { .. } => BTreeMap::new(),
        }
    }

    /// Where `path` (as the policy writes it) is on this machine, or why it cannot be read.
    fn locate(&self, path: &str) -> Result<PathBuf, Presence> {
        match self {
            Target::Tree { root, live, .. } => {
                if !path.starts_with('/') {
                    return Err(Presence::Error(format!("path `{path}` is not absolute")));
                }
                if !live && LIVE_ONLY_PREFIXES.iter().any(|p| path.starts_with(p)) {
                    return Err(Presence::NotApplicable(format!(
                        "{path} is running-system state, not part of a root directory"
                    )));
                }
                if *live && root == Path::new("/") {
                    return Ok(PathBuf::from(path));
                }
                resolve_in_root(root, path).map_err(|e| Presence::Error(format!("{path}: {e}")))
            }
            Target::Ssh { .. } => Err(Presence::Error(format!(
                "{path} is on a remote host, not on this machine"
            ))),
            Target::Files { files } => {
                // A bound file, or a path under a bound directory (`$webapps/examples`); `..`
                // could climb out of it, so a path with one is never part of the target.
                let wanted = Path::new(path);
                let inside = |bound: &PathBuf| {
                    wanted.strip_prefix(bound).is_ok_and(|rest| {
                        rest.components()
                            .all(|c| matches!(c, std::path::Component::Normal(_)))
                    })
                };
                match files.values().find(|bound| inside(bound)) {
                    Some(_) => Ok(wanted.to_path_buf()),
                    None => Err(Presence::NotApplicable(format!(
                        "{path} is not part of the target (only the given files and directories are)"
                    ))),
                }
            }
        }
    }

    /// What is at `path`.
    pub fn presence(&self, path: &str) -> Presence {
        if let Target::Ssh { host, .. } = self {
            return remote::presence(host, path);
        }
        let located = match self.locate(path) {
            Ok(p) => p,
            Err(presence) => return presence,
        };
        match std::fs::metadata(&located) {
            Ok(meta) if meta.is_dir() => Presence::Directory,
            Ok(_) => Presence::File,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Presence::Missing,
            Err(e) => Presence::Error(format!("{path}: {e}")),
        }
    }

    /// Reads a file, up to the limit.
    pub fn read(&self, path: &str, limits: &Limits) -> FileRead {
        if let Target::Ssh { host, .. } = self {
            return remote::read(host, path, limits);
        }
        let located = match self.locate(path) {
            Ok(p) => p,
            Err(Presence::NotApplicable(reason)) => return FileRead::NotApplicable(reason),
            Err(Presence::Error(reason)) => return FileRead::Error(reason),
            Err(_) => return FileRead::Missing,
        };
        // Inside a root every link was resolved already: one found now was put there since,
        // and is not followed.
        let no_follow = matches!(self, Target::Tree { root, .. } if root != Path::new("/"));
        read_bounded(&located, path, limits.max_file_bytes, no_follow)
    }

    /// What is at each path and, where `content` is true, its reading: one round trip for a
    /// remote host (each of its reads costs one), plain [`Target::presence`] and
    /// [`Target::read`] otherwise.
    pub fn survey(&self, wanted: &[(String, bool)], limits: &Limits) -> Vec<Surveyed> {
        if let Target::Ssh { host, .. } = self {
            return remote::survey(host, wanted, limits);
        }
        wanted
            .iter()
            .map(|(path, content)| {
                if *content {
                    let read = self.read(path, limits);
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
                        presence: self.presence(path),
                        content: None,
                    }
                }
            })
            .collect()
    }

    /// Reads, ahead of [`Target::read_walked`], the files of a walk a rule is about to read: in
    /// batches on a remote host, where each read costs a round trip; nothing elsewhere.
    pub fn prefetch_walked(&self, files: &mut [WalkedFile], limits: &Limits) {
        let Target::Ssh { host, .. } = self else {
            return;
        };
        let wanted: Vec<(String, bool)> = files
            .iter()
            .filter(|f| f.prefetched.is_none())
            .map(|f| (f.shown.clone(), true))
            .collect();
        let mut found = remote::survey(host, &wanted, limits).into_iter();
        for file in files.iter_mut().filter(|f| f.prefetched.is_none()) {
            if let Some(read) = found.next().and_then(|s| s.content) {
                file.prefetched = Some(Arc::new(read));
            }
        }
    }

    /// Whether reads go over the network, where batching them pays.
    pub fn is_remote(&self) -> bool {
        matches!(self, Target::Ssh { .. })
    }

    /// The regular files under a directory (recursively, within the limits), sorted by path.
    /// Links, FIFOs, sockets and devices are skipped; going deeper than the depth limit, or
    /// past the file limit, is an error rather than a silent stop.
    pub fn walk(&self, dir: &str, limits: &Limits) -> Result<Vec<WalkedFile>, Presence> {
        if let Target::Ssh { host, .. } = self {
            return remote::walk(host, dir, limits);
        }
        let located = self.locate(dir)?;
        match std::fs::metadata(&located) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(Presence::File),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Presence::Missing),
            Err(e) => return Err(Presence::Error(format!("{dir}: {e}"))),
        }
        let mut out = Vec::new();
        let mut stack = vec![(located, dir.trim_end_matches('/').to_owned(), 0usize)];
        while let Some((host_dir, shown, depth)) = stack.pop() {
            let entries = std::fs::read_dir(&host_dir)
                .map_err(|e| Presence::Error(format!("{shown}: {e}")))?;
            for entry in entries {
                let entry = entry.map_err(|e| Presence::Error(format!("{shown}: {e}")))?;
                if out.len() >= limits.max_directory_entries {
                    return Err(Presence::Error(format!(
                        "{dir}: more than {} files",
                        limits.max_directory_entries
                    )));
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                let shown_path = format!("{shown}/{name}");
                let kind = entry
                    .file_type()
                    .map_err(|e| Presence::Error(format!("{shown_path}: {e}")))?;
                // Links are skipped, as Wazuh skips them: a link can neither loop the walk nor
                // lead out of a root.
                if kind.is_dir() {
                    if depth + 1 >= limits.max_directory_depth {
                        return Err(Presence::Error(format!(
                            "{shown_path}: deeper than {} levels",
                            limits.max_directory_depth
                        )));
                    }
                    stack.push((entry.path(), shown_path, depth + 1));
                } else if kind.is_file() {
                    out.push(WalkedFile {
                        shown: shown_path,
                        name,
                        host: entry.path(),
                        prefetched: None,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.shown.cmp(&b.shown));
        Ok(out)
    }

    /// Reads a file a walk found, through its real name (which may not be UTF-8).
    pub fn read_walked(&self, file: &WalkedFile, limits: &Limits) -> FileRead {
        if let Some(read) = &file.prefetched {
            return FileRead::clone(read);
        }
        if let Target::Ssh { host, .. } = self {
            return remote::read(host, &file.shown, limits);
        }
        read_bounded(&file.host, &file.shown, limits.max_file_bytes, true)
    }

    /// The names of running processes (`comm` and the first word of the command line).
    pub fn processes(&self) -> Result<Vec<String>, String> {
        if !self.is_live() {
            return Err(match self {
                Target::Files { .. } => "processes are not part of a configuration file".to_owned(),
                Target::Tree { .. } | Target::Ssh { .. } => {
                    "processes need a running system, not a root directory".to_owned()
                }
            });
        }
        if let Target::Ssh { host, .. } = self {
            return remote::processes(host);
        }
        let mut names = Vec::new();
        let entries = std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let dir = entry.path();
            // A process may exit between listing and reading: that is not an error.
            if let Ok(comm) = std::fs::read_to_string(dir.join("comm")) {
                names.push(comm.trim_end().to_owned());
            }
            if let Ok(cmdline) = std::fs::read(dir.join("cmdline")) {
                let first = cmdline.split(|b| *b == 0).next().unwrap_or(&[]);
                let first = String::from_utf8_lossy(first);
                if let Some(base) = first.rsplit('/').next().filter(|b| !b.is_empty()) {
                    names.push(base.to_owned());
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The same target with command rules not applicable, for `reason` (a policy from a source
    /// not trusted to run programs).
    pub fn without_commands(&self, reason: &str) -> Target {
        match self {
            Target::Tree { root, live, .. } => Target::Tree {
                root: root.clone(),
                live: *live,
                commands: Commands::Disabled(reason.to_owned()),
            },
            Target::Ssh { host, .. } => Target::Ssh {
                host: Arc::clone(host),
                commands: Commands::Disabled(reason.to_owned()),
            },
            Target::Files { .. } => self.clone(),
        }
    }

    /// Runs a command line, or says why it is not applicable.
    pub fn run(&self, command_line: &str, limits: &Limits) -> Result<CommandOutput, Presence> {
        let (root, commands) = match self {
            Target::Files { .. } => {
                return Err(Presence::NotApplicable(
                    "commands are not run against a configuration file".to_owned(),
                ));
            }
            Target::Tree { root, commands, .. } => (root, commands),
            Target::Ssh { host, commands } => {
                let argv = command::split(command_line).map_err(Presence::Error)?;
                return match commands {
                    Commands::Disabled(reason) => Err(Presence::NotApplicable(reason.clone())),
                    Commands::Run | Commands::Chroot => remote::run(host, &argv, limits),
                };
            }
        };
        let argv = command::split(command_line).map_err(Presence::Error)?;
        match commands {
            Commands::Disabled(reason) => Err(Presence::NotApplicable(reason.clone())),
            Commands::Run => command::run(&argv, None, limits),
            Commands::Chroot => command::run(&argv, Some(root), limits),
        }
    }
}

/// Opens without blocking (a FIFO would otherwise wait for a writer forever) and reads only
/// regular files, up to `limit` bytes.
fn read_bounded(located: &Path, shown: &str, limit: u64, no_follow: bool) -> FileRead {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = rustix::fs::OFlags::NONBLOCK;
    if no_follow {
        flags |= rustix::fs::OFlags::NOFOLLOW;
    }
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(i32::try_from(flags.bits()).unwrap_or(0))
        .open(located);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return FileRead::Missing,
        Err(e) => return FileRead::Error(format!("{shown}: {e}")),
    };
    match file.metadata() {
        Ok(meta) if meta.is_dir() => {
            return FileRead::Error(format!("{shown} is a directory, not a file"));
        }
        Ok(meta) if !meta.is_file() => {
            return FileRead::Error(format!(
                "{shown} is not a regular file (a FIFO, socket or device)"
            ));
        }
        Ok(_) => {}
        Err(e) => return FileRead::Error(format!("{shown}: {e}")),
    }
    let mut bytes = Vec::new();
    // `/proc` files report a size of 0, so the limit is enforced on what is read.
    match file.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
        Ok(n) if n as u64 > limit => {
            FileRead::Error(format!("{shown} is larger than the {limit}-byte limit"))
        }
        Ok(_) => FileRead::Content(bytes),
        Err(e) => FileRead::Error(format!("{shown}: {e}")),
    }
}
