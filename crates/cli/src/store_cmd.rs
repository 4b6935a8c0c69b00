//! `shieldwall store ...`: retention policies, deletion by query, backup, restore, import of
//! exported events, and a check of what is stored.

use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use shieldwall_core::{Event, TenantId};
use shieldwall_store::meta::{MetaStore, NewDeletion, RetentionPolicy, SqliteMetaStore};
use shieldwall_store::{EventStore, Selection, StoreConfig, TantivyStore};

use crate::args::{
    DataLocation, RetentionCommand, StoreBackupArgs, StoreCommand, StoreDeleteArgs,
    StoreImportArgs, StoreRestoreArgs,
};

/// Events per append and commit when importing.
const IMPORT_BATCH: usize = 10_000;

pub fn run(command: StoreCommand) -> Result<()> {
    match command {
        StoreCommand::Retention { command } => retention(command),
        StoreCommand::Delete(args) => delete(args),
        StoreCommand::Backup(args) => backup(args),
        StoreCommand::Restore(args) => restore(args),
        StoreCommand::Import(args) => import(args),
        StoreCommand::Check(location) => check(&location),
    }
}

/// The data directory: `--data-dir`, else the configuration's `data_dir`.
pub(crate) fn data_dir(location: &DataLocation) -> Result<PathBuf> {
    if let Some(dir) = &location.data_dir {
        return Ok(dir.clone());
    }
    let config = shieldwall_server::config::load(&location.config)
        .with_context(|| format!("reading {} (or give --data-dir)", location.config.display()))?;
    Ok(config.data_dir)
}

fn meta(location: &DataLocation) -> Result<SqliteMetaStore> {
    let path = data_dir(location)?.join("meta.sqlite");
    SqliteMetaStore::open(&path).with_context(|| format!("opening {}", path.display()))
}

fn writable_store(location: &DataLocation) -> Result<TantivyStore> {
    let dir = data_dir(location)?.join("store");
    TantivyStore::open(&dir, StoreConfig::default()).with_context(|| {
        format!(
            "opening {} for writing (stop `shieldwall serve` on this data directory first)",
            dir.display()
        )
    })
}

fn tenant(name: &str) -> Result<TenantId> {
    TenantId::new(name).map_err(|e| anyhow::anyhow!("--tenant: {e}"))
}

/// `1024`, `500M`, `20G`, `1T` (powers of 1024; `MiB`, `GB` and the like are read the same).
fn parse_size(text: &str) -> Result<u64> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits_end);
    let n: u64 = number
        .parse()
        .with_context(|| format!("size {text:?}: expected a number such as 500M or 20G"))?;
    let shift = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        other => bail!("size {text:?}: unknown unit {other:?} (use K, M, G or T)"),
    };
    n.checked_mul(1u64 << shift)
        .with_context(|| format!("size {text:?} is too large"))
}

fn retention(command: RetentionCommand) -> Result<()> {
    match command {
        RetentionCommand::Set {
            location,
            tenant: name,
            max_age_days,
            max_size,
        } => {
            let max_bytes = max_size.as_deref().map(parse_size).transpose()?;
            let policy = RetentionPolicy::new(max_age_days, max_bytes)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let meta = meta(&location)?;
            meta.set_retention(&tenant(&name)?, Some(&policy))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::admin::record_local(
                &meta,
                shieldwall_core::Scope::Tenant(tenant(&name)?),
                shieldwall_store::meta::AuditKind::Change,
                "retention",
                "set_retention",
                serde_json::json!({"max_age_days": policy.max_age_days, "max_bytes": policy.max_bytes}),
            )?;
            eprintln!(
                "retention of {name} set; the server applies it within its retention_check_secs"
            );
            Ok(())
        }
        RetentionCommand::Clear {
            location,
            tenant: name,
        } => {
            let meta = meta(&location)?;
            meta.set_retention(&tenant(&name)?, None)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::admin::record_local(
                &meta,
                shieldwall_core::Scope::Tenant(tenant(&name)?),
                shieldwall_store::meta::AuditKind::Change,
                "retention",
                "clear_retention",
                serde_json::Value::Null,
            )?;
            Ok(())
        }
        RetentionCommand::Show { location } => {
            let policies = meta(&location)?
                .retention_policies()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut out = io::stdout().lock();
            if policies.is_empty() {
                writeln!(out, "no retention policies: events are kept until deleted")?;
            }
            for (tenant, p) in policies {
                let age = p
                    .max_age_days
                    .map_or_else(|| "-".to_owned(), |d| format!("{d} days"));
                let size = p
                    .max_bytes
                    .map_or_else(|| "-".to_owned(), |b| format!("{b} bytes"));
                writeln!(out, "{tenant}\tmax age: {age}\tmax size: {size}")?;
            }
            Ok(())
        }
        RetentionCommand::Apply { location } => {
            let store = writable_store(&location)?;
            let policies = meta(&location)?
                .retention_policies()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            for (tenant, p) in policies {
                let report = store.apply_retention(&tenant, &p, Timestamp::now())?;
                println!(
                    "{tenant}: removed {} day(s) {:?}, freed {} bytes, {} bytes remain",
                    report.removed_days.len(),
                    report.removed_days,
                    report.freed_bytes,
                    report.remaining_bytes
                );
            }
            Ok(())
        }
    }
}

fn delete(args: StoreDeleteArgs) -> Result<()> {
    let (tenant, selection) = crate::events::parse_selection(
        &args.query,
        &args.tenant,
        args.from.as_deref(),
        args.to.as_deref(),
    )?;
    let store = writable_store(&args.location)?;
    let matching = store.count(&tenant, &selection)?;
    if !args.yes {
        println!("{matching} events of {tenant} match; nothing deleted (add --yes to delete them)");
        return Ok(());
    }
    let meta = meta(&args.location)?;
    crate::admin::record_local(
        &meta,
        shieldwall_core::Scope::Tenant(tenant.clone()),
        shieldwall_store::meta::AuditKind::Change,
        "events",
        "delete_events",
        serde_json::json!({"query": args.query, "from": selection.from, "to": selection.to,
            "requested_by": args.requested_by, "matching": matching}),
    )?;
    let deleted = store.delete(&tenant, &selection)?;
    meta.record_deletion(&NewDeletion {
        tenant: tenant.clone(),
        query: args.query.clone(),
        from: selection.from,
        to: selection.to,
        deleted_events: deleted,
        requested_by: args.requested_by.clone(),
        requested_at: Timestamp::now(),
    })
    .map_err(|e| anyhow::anyhow!("the events were deleted but the record failed: {e}"))?;
    println!("deleted {deleted} events of {tenant}; the deletion is recorded");
    Ok(())
}

fn backup(args: StoreBackupArgs) -> Result<()> {
    let dir = data_dir(&args.location)?;
    // Opened for reading: a running server keeps writing; each day is copied as of one of its
    // commits, under tantivy's meta lock, which the server's garbage collection respects.
    let store = TantivyStore::open_read_only(&dir.join("store"))
        .with_context(|| format!("opening {}", dir.join("store").display()))?;
    let report = store
        .backup(&args.destination.join("store"))
        .with_context(|| format!("backing up into {}", args.destination.display()))?;
    meta(&args.location)?
        .backup_to(&args.destination.join("meta.sqlite"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "backed up {} day(s), {} files, {} bytes into {} (store/ and meta.sqlite)",
        report.partitions,
        report.files,
        report.bytes,
        args.destination.display()
    );
    Ok(())
}

fn restore(args: StoreRestoreArgs) -> Result<()> {
    let source = &args.backup;
    let target = data_dir(&args.location)?;
    for part in ["store", "meta.sqlite"] {
        if target.join(part).exists() {
            bail!(
                "{} exists: restore only into a data directory without a store",
                target.join(part).display()
            );
        }
    }
    // The backup must open before anything is copied; then the store's own backup copies exactly
    // its committed files, `store.json` last.
    let backup = TantivyStore::open_read_only(&source.join("store"))
        .with_context(|| format!("{} is not a complete backup", source.display()))?;
    std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    backup
        .backup(&target.join("store"))
        .with_context(|| format!("copying into {}", target.display()))?;
    // A snapshot written by `VACUUM INTO`: one self-contained file.
    std::fs::copy(source.join("meta.sqlite"), target.join("meta.sqlite"))
        .with_context(|| format!("copying {}", source.join("meta.sqlite").display()))?;
    TantivyStore::open(&target.join("store"), StoreConfig::default())
        .with_context(|| "the restored store does not open")?;
    println!("restored {} into {}", source.display(), target.display());
    Ok(())
}

fn import(args: StoreImportArgs) -> Result<()> {
    let store = writable_store(&args.location)?;
    let reader: Box<dyn BufRead> = if args.input == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(BufReader::new(
            std::fs::File::open(&args.input)
                .with_context(|| format!("cannot open {}", args.input.display()))?,
        ))
    };
    let name = args.input.display().to_string();
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    let (mut added, mut duplicates, mut skipped) = (0u64, 0u64, 0u64);
    for (number, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("reading {name}"))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(&line) {
            Ok(event) => batch.push(event),
            Err(e) if args.skip_invalid => {
                skipped += 1;
                eprintln!("{name}:{}: skipped: {e}", number + 1);
            }
            Err(e) => bail!(
                "{name}:{}: not an exported event: {e} (--skip-invalid skips such lines)",
                number + 1
            ),
        }
        if batch.len() >= IMPORT_BATCH {
            let outcome = store.append(&batch)?;
            store.commit()?;
            added += outcome.added;
            duplicates += outcome.duplicates;
            batch.clear();
        }
    }
    let outcome = store.append(&batch)?;
    store.commit()?;
    added += outcome.added;
    duplicates += outcome.duplicates;
    println!(
        "imported {added} events; {duplicates} already stored; {skipped} invalid lines skipped"
    );
    Ok(())
}

fn check(location: &DataLocation) -> Result<()> {
    let dir = data_dir(location)?.join("store");
    let store =
        TantivyStore::open_read_only(&dir).with_context(|| format!("opening {}", dir.display()))?;
    let mut out = io::stdout().lock();
    for tenant in store.tenants()? {
        let count = store.count(&tenant, &Selection::all())?;
        let size = store.size(&tenant)?;
        writeln!(out, "{tenant}\t{count} events\t{size} bytes")?;
    }
    let unreadable = store.unreadable();
    for damaged in &unreadable {
        writeln!(out, "UNREADABLE\t{damaged}")?;
    }
    if !unreadable.is_empty() {
        bail!("{} day(s) of the store cannot be read", unreadable.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_read_with_binary_units() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("500M").unwrap(), 500 << 20);
        assert_eq!(parse_size("20GiB").unwrap(), 20 << 30);
        assert_eq!(parse_size("2 gb").unwrap(), 2 << 30);
        assert!(parse_size("5X").is_err());
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
