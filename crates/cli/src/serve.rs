//! `shieldwall serve`: start the server and report what it found and did.

use anyhow::{Context, Result};
use shieldwall_server::Server;
use shieldwall_server::config;

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use shieldwall_collect::sources::import::{
    ImportFormat, ImportOptions, ImportProgress, OnInvalid, import_path,
};

use crate::args::{ImportLogsArgs, ServeArgs};

/// Server logs to standard error, coloured only on a terminal.
fn init_logging(filter: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("--log {filter:?} is not a level or filter"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn serve(args: ServeArgs) -> Result<()> {
    init_logging(&args.log)?;
    let config = config::load(&args.config)?;
    // Every connection is a descriptor; the default soft limit (often 1024) would cap a syslog
    // server far below its configured connection limits.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!("open file limit: {limit}"),
        Err(e) => tracing::warn!("cannot raise the open file limit: {e}"),
    }
    runtime()?.block_on(async move {
        let mut server = Server::start(config)
            .await
            .with_context(|| format!("cannot start with {}", args.config.display()))?;
        let started = server.started();
        let recovery = &started.recovery;
        if !recovery.is_clean() {
            for damage in &recovery.damaged {
                tracing::warn!(
                    "spool segment {} is damaged at byte {} ({}); {} records before it kept, the rest of that segment skipped",
                    damage.path.display(),
                    damage.offset,
                    damage.reason,
                    damage.kept_records
                );
            }
            for lost in &recovery.lost {
                tracing::warn!("spool records {}..{} are lost", lost.start, lost.end);
            }
        }
        if recovery.pending > 0 {
            tracing::info!("resuming: {} spooled records to process", recovery.pending);
        }
        for error in &started.parser_errors {
            tracing::error!("parser file rejected: {error}");
        }
        for (name, addr) in &started.addresses {
            tracing::info!("source {name} listening on {addr}");
        }
        if let Some(api) = started.api {
            tracing::info!("API listening on {api} (OpenAPI document at /api/v1/openapi.json)");
        }
        let result = server.run_until(shutdown_signal()).await;
        tracing::info!("stopping: draining the spool");
        let stats = server.shutdown().await?;
        tracing::info!(
            "stopped: {} records read, {} events written ({} parsed, {} unparsed), {} merged, {} dropped by rules",
            stats.read,
            stats.written,
            stats.parsed,
            stats.unparsed,
            stats.merged,
            stats.dropped.values().sum::<u64>()
        );
        result.map_err(anyhow::Error::from)
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

pub fn import(args: ImportLogsArgs) -> Result<()> {
    init_logging("warn")?;
    let config = config::load(&args.config)?;
    runtime()?.block_on(async move {
        let server = Server::start_with(config, false)
            .await
            .with_context(|| format!("cannot open the data directory of {}", args.config.display()))?;
        let ingest = server
            .ingest()
            .context("the spool writer did not start")?;
        let mut options = ImportOptions::new(args.input.display().to_string());
        options.source = args.source.clone();
        if args.ndjson {
            options.format = ImportFormat::Ndjson;
        }
        if args.skip_invalid {
            options.on_invalid = OnInvalid::Skip;
        }
        let input = args.input.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut last = Instant::now();
            let mut progress = |p: &ImportProgress<'_>| {
                match p {
                    ImportProgress::BatchWritten(summary) if last.elapsed() >= Duration::from_secs(2) => {
                        last = Instant::now();
                        eprintln!("imported {} lines ({} bytes) so far", summary.lines, summary.input_bytes);
                    }
                    ImportProgress::SpoolFull { retry_after, .. } => {
                        eprintln!("the spool is full; waiting {} s for the pipeline", retry_after.as_secs());
                    }
                    ImportProgress::LineSkipped(problem) => {
                        eprintln!("line {} skipped: {}", problem.line, problem.problem);
                    }
                    ImportProgress::BatchWritten(_) => {}
                }
                ControlFlow::Continue(())
            };
            import_path(&input, &ingest, &options, &mut progress)
        })
        .await
        .context("the import thread failed")?;
        let stats = server.shutdown().await?;
        match outcome {
            Ok(summary) => {
                eprintln!(
                    "imported {} messages from {} lines{}: {} events written ({} parsed, {} unparsed); {} empty, {} oversize, {} invalid lines skipped",
                    summary.messages,
                    summary.lines,
                    if summary.gzip { " (gzip)" } else { "" },
                    stats.written,
                    stats.parsed,
                    stats.unparsed,
                    summary.empty_lines,
                    summary.oversize_lines,
                    summary.invalid_lines
                );
                Ok(())
            }
            Err(e) => {
                if let Some(summary) = e.summary() {
                    eprintln!(
                        "before stopping: {} messages from {} lines were imported and are kept",
                        summary.messages, summary.lines
                    );
                }
                Err(e.into())
            }
        }
    })
}
