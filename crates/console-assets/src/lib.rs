//! Embeds the web console's built assets in the server binary at compile time.
//!
//! `embed_dir!("../../web/dist")` reads `MANIFEST` in that directory (relative to the calling
//! crate's manifest directory), the list of files `scripts/build-web` wrote, and expands to
//! `&[(name, include_bytes!(file)), ...]`. `include_bytes!` makes cargo rebuild when a file (or
//! the manifest, which every build of the assets rewrites) changes. When the assets were never
//! built, the expansion is a `compile_error!` that says how to build them: the console is built
//! by the project's own command, never from a build script, so that a build needs no Node.js
//! unless it embeds the console.
//!
//! No `syn` or `quote`: the input is one string literal and the output a literal slice.

use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use proc_macro::{TokenStream, TokenTree};

/// The most files the console may have: the manifest is ours, but a bound keeps a damaged one
/// from making a huge expansion.
const MAX_FILES: usize = 256;

/// Expands to `&'static [(&'static str, &'static [u8])]`: every file the directory's `MANIFEST`
/// lists, by its path relative to the directory (with `/` separators), `MANIFEST` itself first.
#[proc_macro]
pub fn embed_dir(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(message) => error(&message),
    }
}

fn expand(input: TokenStream) -> Result<TokenStream, String> {
    let relative = single_string(input)?;
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| "embed_dir!: CARGO_MANIFEST_DIR is not set (build with cargo)".to_owned())?;
    let dir = Path::new(&manifest_dir).join(&relative);
    let listing = dir.join("MANIFEST");
    let text = std::fs::read_to_string(&listing).map_err(|e| {
        format!(
            "the web console's assets are missing ({}: {e}); build them with `scripts/build-web` \
             (needs Node.js and npm), then build again",
            listing.display()
        )
    })?;
    let mut entries = vec![("MANIFEST".to_owned(), listing.clone())];
    for (number, line) in text.lines().enumerate() {
        let name = line.trim();
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        let path = checked_path(&dir, name).ok_or_else(|| {
            format!(
                "{}:{}: {name:?} is not a plain relative path inside the directory",
                listing.display(),
                number + 1
            )
        })?;
        if !path.is_file() {
            return Err(format!(
                "{}:{}: {name} is listed but missing; rebuild the assets with `scripts/build-web`",
                listing.display(),
                number + 1
            ));
        }
        entries.push((name.to_owned(), path));
        if entries.len() > MAX_FILES {
            return Err(format!(
                "{}: more than {MAX_FILES} files listed",
                listing.display()
            ));
        }
    }
    let mut out = String::from("&[");
    for (name, path) in &entries {
        let path = path
            .to_str()
            .ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))?;
        out.push_str(&format!("({name:?}, include_bytes!({path:?}) as &[u8]),"));
    }
    out.push(']');
    TokenStream::from_str(&out).map_err(|e| format!("embed_dir!: {e}"))
}

/// `dir/name` when `name` is relative and only descends (no `..`, no root, no prefix).
fn checked_path(dir: &Path, name: &str) -> Option<PathBuf> {
    let relative = Path::new(name);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| dir.join(relative))
}

/// The one string literal the macro takes.
fn single_string(input: TokenStream) -> Result<String, String> {
    let mut tokens = input.into_iter();
    let (Some(TokenTree::Literal(literal)), None) = (tokens.next(), tokens.next()) else {
        return Err("embed_dir! takes one string literal: the directory".to_owned());
    };
    let text = literal.to_string();
    text.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| !t.contains('\\'))
        .map(str::to_owned)
        .ok_or_else(|| "embed_dir! takes a plain string literal (no escapes, not raw)".to_owned())
}

fn error(message: &str) -> TokenStream {
    TokenStream::from_str(&format!("compile_error!({message:?})"))
        .unwrap_or_else(|_| TokenStream::new())
}
