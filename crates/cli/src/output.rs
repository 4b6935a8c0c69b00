//! Writing results: to stdout, or atomically to files so that a failed run leaves nothing partial.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

/// Writes `text` to stdout. A closed pipe (`| head`) is not an error worth a message.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

/// Writes `text` to `path` atomically, or to stdout when there is no path.
pub fn emit(text: &str, path: Option<&Path>) -> Result<()> {
    match path {
        Some(path) => emit_files(&[(path.to_path_buf(), text.to_owned())]),
        None => print(text),
    }
}

/// Writes several files as one unit: every file goes to a temporary sibling first, and only when
/// all are written and flushed are they renamed into place; on any failure the temporaries are
/// removed and no target is touched.
pub fn emit_files(files: &[(PathBuf, String)]) -> Result<()> {
    let mut staged: Vec<(PathBuf, &Path)> = Vec::new();
    let written = (|| -> Result<()> {
        for (path, text) in files {
            let tmp = temporary_sibling(path);
            staged.push((tmp.clone(), path));
            let mut file = std::fs::File::create(&tmp)
                .with_context(|| format!("cannot create {}", tmp.display()))?;
            file.write_all(text.as_bytes())
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            file.sync_all()
                .with_context(|| format!("cannot flush {}", tmp.display()))?;
        }
        Ok(())
    })();
    if written.is_err() {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return written;
    }
    for (tmp, path) in &staged {
        std::fs::rename(tmp, path)
            .with_context(|| format!("cannot move the output into place at {}", path.display()))?;
    }
    Ok(())
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    dir.join(format!(".{name}.{}.tmp", std::process::id()))
}

/// Reads a file, or stdin for `-`, refusing anything larger than `limit` bytes.
pub fn read_input(path: &Path, limit: usize) -> Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let shown = path.display();
    if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {shown}"))?;
        file.take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {shown}"))?;
    }
    if bytes.len() > limit {
        anyhow::bail!("{shown} is larger than {limit} bytes; refusing to read it");
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{shown} is not UTF-8 text (first bad byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}
