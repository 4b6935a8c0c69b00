//! Paths inside a root directory: symbolic links are followed as if the root were `/`, so a
//! link in a container or image filesystem (`/etc/os-release -> ../usr/lib/os-release`, or an
//! absolute `/etc/passwd -> /host/etc/shadow`) never leads out of it.
//!
//! The root is taken to be at rest (a mounted image, a stopped container's filesystem): a
//! link swapped between resolution and opening is not defended against.

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Links followed in one resolution before giving up, as Linux's own limit.
const MAX_LINK_HOPS: usize = 40;

/// The host path of `path` as seen from inside `root`. A component that does not exist ends
/// the resolution: the rest is appended as written, `..` included, so that opening it fails as
/// missing (the kernel, like resolution inside the root, needs every component to exist);
/// nothing after a missing component is ever followed.
pub fn resolve_in_root(root: &Path, path: &str) -> io::Result<PathBuf> {
    let mut inside: Vec<OsString> = Vec::new();
    let mut pending: Vec<OsString> = components_reversed(Path::new(path));
    let mut hops = 0usize;
    while let Some(component) = pending.pop() {
        if component == "." || component.is_empty() {
            continue;
        }
        if component == ".." {
            inside.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        candidate.extend(&inside);
        candidate.push(&component);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(io::Error::other(format!(
                        "more than {MAX_LINK_HOPS} symbolic links resolving {path}"
                    )));
                }
                let link = std::fs::read_link(&candidate)?;
                if link.is_absolute() {
                    inside.clear();
                }
                pending.extend(components_reversed(&link));
            }
            Ok(_) => inside.push(component),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                inside.push(component);
                while let Some(rest) = pending.pop() {
                    inside.push(rest);
                }
            }
            Err(e) => return Err(e),
        }
    }
    let mut out = root.to_path_buf();
    out.extend(&inside);
    Ok(out)
}

fn components_reversed(path: &Path) -> Vec<OsString> {
    let mut out: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_owned()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_behind_a_missing_component_does_not_lead_out() -> io::Result<()> {
        let outside = tempfile::tempdir()?;
        std::fs::write(outside.path().join("secret"), "SECRET\n")?;
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc"))?;
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("etc/real"))?;
        std::os::unix::fs::symlink("/nonexistent/../etc/real", root.join("etc/passwd"))?;
        let resolved = resolve_in_root(root, "/etc/passwd")?;
        assert!(
            std::fs::read_to_string(&resolved).is_err(),
            "{} can be read",
            resolved.display()
        );
        let direct = resolve_in_root(root, "/missing/../etc/real")?;
        assert!(std::fs::read_to_string(&direct).is_err());
        Ok(())
    }

    #[test]
    fn links_stay_inside_the_root() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        std::fs::create_dir_all(root.join("usr/lib"))?;
        std::fs::create_dir_all(root.join("etc"))?;
        std::fs::write(root.join("usr/lib/os-release"), "ID=debian\n")?;
        std::os::unix::fs::symlink("../usr/lib/os-release", root.join("etc/os-release"))?;
        std::os::unix::fs::symlink("/etc/../../../../etc/hostname", root.join("etc/escape"))?;
        std::os::unix::fs::symlink("/usr/lib", root.join("lib"))?;
        std::os::unix::fs::symlink("loop", root.join("loop"))?;

        assert_eq!(
            resolve_in_root(root, "/etc/os-release")?,
            root.join("usr/lib/os-release")
        );
        assert_eq!(
            resolve_in_root(root, "/lib/os-release")?,
            root.join("usr/lib/os-release")
        );
        // `..` above the root stays at the root, as it does at `/`.
        assert_eq!(
            resolve_in_root(root, "/etc/escape")?,
            root.join("etc/hostname")
        );
        assert_eq!(resolve_in_root(root, "/../../etc/x")?, root.join("etc/x"));
        assert_eq!(
            resolve_in_root(root, "/missing/a/../b")?,
            root.join("missing/a/../b")
        );
        // After a missing component nothing is normalised or followed: the path stays missing.
        assert!(!resolve_in_root(root, "/missing/../etc/os-release")?.exists());
        assert!(resolve_in_root(root, "/loop").is_err());
        Ok(())
    }
}
