//! From the spool to durable events: decode, normalise, drop, merge, write, acknowledge.
//!
//! The pipeline reads the spool from its acknowledgement mark, turns each record into an
//! [`Event`] with the [`Normaliser`], applies the source's drop rules and merger, hands the
//! events to an [`EventSink`], and only when the sink reports them durable acknowledges the spool
//! up to the oldest record whose event is not yet written (a merger may hold one back). A crash
//! anywhere replays from the last acknowledgement: events are derived again with the same ids,
//! so a sink that keys on the id stores each once.
//!
//! The event id's key is the envelope's `key` when the source gives one (a file position, an
//! HTTP client's idempotency key with the message's index, rsyslog's message uuid over RELP), and
//! otherwise the spool sequence with the receive time.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde_json::Value;
use shieldwall_core::Event;
use shieldwall_parse::filter::{DropRule, Merger, Pushed};
use shieldwall_parse::{Normaliser, Received};

use crate::envelope::Envelope;
use crate::spool::{Spool, SpoolError};

/// Where events go once normalised. `write` returns only when the events survive a crash.
pub trait EventSink: Send {
    /// Writes `events` durably.
    fn write(&mut self, events: &[Event]) -> Result<(), SinkError>;
}

/// A sink failure; the pipeline stops acknowledging and retries later.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct SinkError {
    /// The file concerned.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Why a pipeline step failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Reading or acknowledging the spool failed.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The sink failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The spool lock was poisoned by a panic elsewhere.
    #[error("the spool lock is poisoned")]
    Poisoned,
}

/// Filtering and merging of one source.
#[derive(Default)]
pub struct SourceRules {
    /// Drop rules, tried in order.
    pub drop: Vec<DropRule>,
    /// Merging of repeats, when configured.
    pub merge: Option<Merger>,
}

/// Counters of the pipeline since start.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PipelineStats {
    /// Spool records read.
    pub read: u64,
    /// Events written to the sink.
    pub written: u64,
    /// Events a parser recognised.
    pub parsed: u64,
    /// Events kept unparsed.
    pub unparsed: u64,
    /// Events removed by drop rules, by source.
    pub dropped: HashMap<String, u64>,
    /// Events folded into an earlier one by a merger.
    pub merged: u64,
    /// Spool records whose envelope could not be decoded (kept as unparsed events).
    pub bad_envelopes: u64,
}

/// When the pipeline hands its events to the sink. Each write is a commit (a new index
/// segment, fsyncs), so under load fewer, larger writes cost much less; the spool is
/// acknowledged only after the write, so nothing held here is lost in a crash (it is replayed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushPolicy {
    /// Write once this many events wait (0: after every step).
    pub events: usize,
    /// Write once the oldest waiting event has waited this long (processing time).
    pub interval: jiff::SignedDuration,
}

impl Default for FlushPolicy {
    /// After every step: what tests and small imports want.
    fn default() -> Self {
        FlushPolicy {
            events: 0,
            interval: jiff::SignedDuration::ZERO,
        }
    }
}

/// The spool-to-sink loop's state.
pub struct Pipeline {
    spool: Arc<Mutex<Spool>>,
    normaliser: Normaliser,
    rules: HashMap<String, SourceRules>,
    sink: Box<dyn EventSink>,
    cursor: u64,
    stats: PipelineStats,
    flush: FlushPolicy,
    /// Events made but not yet written, and when the first of them was made.
    waiting: Vec<Event>,
    waiting_since: Option<Timestamp>,
}

impl Pipeline {
    /// A pipeline that starts at the spool's acknowledgement mark.
    pub fn new(
        spool: Arc<Mutex<Spool>>,
        normaliser: Normaliser,
        rules: HashMap<String, SourceRules>,
        sink: Box<dyn EventSink>,
    ) -> Result<Pipeline, PipelineError> {
        let cursor = spool
            .lock()
            .map_err(|_| PipelineError::Poisoned)?
            .acknowledged_up_to();
        Ok(Pipeline {
            spool,
            normaliser,
            rules,
            sink,
            cursor,
            stats: PipelineStats::default(),
            flush: FlushPolicy::default(),
            waiting: Vec::new(),
            waiting_since: None,
        })
    }

    /// Sets when events are written (default: after every step).
    pub fn set_flush_policy(&mut self, flush: FlushPolicy) {
        self.flush = flush;
    }

    /// Replaces the normaliser (parsers reloaded); records read from now on use it.
    pub fn set_normaliser(&mut self, normaliser: Normaliser) {
        self.normaliser = normaliser;
    }

    /// Counters since start.
    pub fn stats(&self) -> &PipelineStats {
        &self.stats
    }

    /// Processes up to `max` spool records at processing time `now`; returns how many were
    /// read (0 when the spool has nothing new).
    pub fn step(&mut self, max: usize, now: Timestamp) -> Result<usize, PipelineError> {
        let records = {
            let spool = self.spool.lock().map_err(|_| PipelineError::Poisoned)?;
            spool.read(self.cursor, max)?
        };
        let mut out = std::mem::take(&mut self.waiting);
        out.reserve(records.len());
        for record in &records {
            let event = self.event_of(record.seq, &record.payload);
            self.stats.read += 1;
            self.route(event, record.seq, now, &mut out);
        }
        for rules in self.rules.values_mut() {
            if let Some(merger) = &mut rules.merge {
                out.extend(merger.release_due(now));
            }
        }
        if let Some(last) = records.last() {
            self.cursor = last.seq + 1;
        }
        let since = *self.waiting_since.get_or_insert(now);
        let due = records.is_empty()
            || out.len() >= self.flush.events
            || now.duration_since(since) >= self.flush.interval;
        if !due {
            self.waiting = out;
            return Ok(records.len());
        }
        // On failure the events are dropped from memory; nothing past the last write was
        // acknowledged, so the retry reads them again from the spool.
        self.waiting_since = None;
        if let Err(e) = self.write(&out) {
            self.cursor = self.acknowledged_mark()?;
            return Err(e);
        }
        self.acknowledge()?;
        Ok(records.len())
    }

    fn acknowledged_mark(&self) -> Result<u64, PipelineError> {
        Ok(self
            .spool
            .lock()
            .map_err(|_| PipelineError::Poisoned)?
            .acknowledged_up_to())
    }

    /// Releases every merge group, writes, and acknowledges everything read (shutdown).
    pub fn finish(&mut self) -> Result<(), PipelineError> {
        let mut out = std::mem::take(&mut self.waiting);
        self.waiting_since = None;
        for rules in self.rules.values_mut() {
            if let Some(merger) = &mut rules.merge {
                out.extend(merger.release_all());
            }
        }
        self.write(&out)?;
        self.acknowledge()
    }

    /// Writes events produced inside Shieldwall (source health) straight to the sink.
    pub fn write_internal(&mut self, events: &[Event]) -> Result<(), PipelineError> {
        self.write(events)
    }

    fn write(&mut self, events: &[Event]) -> Result<(), PipelineError> {
        if events.is_empty() {
            return Ok(());
        }
        self.sink.write(events)?;
        for e in events {
            self.stats.written += 1;
            match e.parse {
                shieldwall_core::EventParse::Parsed => self.stats.parsed += 1,
                shieldwall_core::EventParse::Unparsed => self.stats.unparsed += 1,
            }
        }
        Ok(())
    }

    fn acknowledge(&mut self) -> Result<(), PipelineError> {
        let held = self
            .rules
            .values()
            .filter_map(|r| r.merge.as_ref().and_then(Merger::oldest_held))
            .min();
        let up_to = held.map_or(self.cursor, |h| h.min(self.cursor));
        let mut spool = self.spool.lock().map_err(|_| PipelineError::Poisoned)?;
        spool.acknowledge(up_to)?;
        Ok(())
    }

    fn route(&mut self, event: Event, seq: u64, now: Timestamp, out: &mut Vec<Event>) {
        let Some(rules) = self.rules.get_mut(&event.source) else {
            out.push(event);
            return;
        };
        if rules.drop.iter().any(|r| r.matches(&event)) {
            *self.stats.dropped.entry(event.source.clone()).or_default() += 1;
            return;
        }
        match &mut rules.merge {
            Some(merger) => match merger.push(event, seq, now) {
                Pushed::Merged => self.stats.merged += 1,
                Pushed::Opened { released } => out.extend(released.map(|e| *e)),
            },
            None => out.push(event),
        }
    }

    fn event_of(&mut self, seq: u64, payload: &[u8]) -> Event {
        match Envelope::decode(payload) {
            Ok(envelope) => {
                let key = if !envelope.key.is_empty() {
                    envelope.key.clone()
                } else if envelope.peer.starts_with("file:") {
                    envelope.peer.clone()
                } else {
                    format!("spool:{}:{seq}", envelope.received.as_nanosecond())
                };
                let mut event = self.normaliser.normalise(&Received {
                    source: &envelope.source,
                    received: envelope.received,
                    key: &key,
                    payload: &envelope.payload,
                });
                if !envelope.client_identity.is_empty() {
                    event.unmapped.insert(
                        "client_identity".into(),
                        Value::String(envelope.client_identity),
                    );
                }
                if !envelope.peer.is_empty() && !envelope.peer.starts_with("file:") {
                    event
                        .unmapped
                        .insert("peer".into(), Value::String(envelope.peer));
                }
                event
            }
            Err(error) => {
                self.stats.bad_envelopes += 1;
                let key = format!("spool-undecodable:{seq}");
                let mut event = self.normaliser.normalise(&Received {
                    source: "(undecodable)",
                    received: Timestamp::now(),
                    key: &key,
                    payload,
                });
                event
                    .unmapped
                    .insert("envelope_error".into(), Value::String(error.to_string()));
                event
            }
        }
    }
}

/// Events as NDJSON files, one per tenant and UTC day of receipt: `<dir>/<tenant>/<YYYY-MM-DD>.ndjson`.
/// Each `write` appends and fsyncs. The interim sink until the event store takes its place.
///
/// A process killed during a write (SIGKILL interrupts a large write to a file part way) leaves a
/// last line without its newline. Those events were never acknowledged, so the spool replays
/// them; when the sink opens a file it cuts such a torn last line first, so that the next event
/// does not continue it and every line stays one whole event.
pub struct NdjsonSink {
    dir: PathBuf,
    open: HashMap<(String, String), File>,
}

impl NdjsonSink {
    /// A sink writing under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> NdjsonSink {
        NdjsonSink {
            dir: dir.into(),
            open: HashMap::new(),
        }
    }

    fn file(&mut self, tenant: &str, day: &str) -> Result<&mut File, SinkError> {
        let key = (tenant.to_owned(), day.to_owned());
        if !self.open.contains_key(&key) {
            // Only one day's file per tenant stays open.
            self.open.retain(|(t, _), _| t != tenant);
            let dir = self.dir.join(tenant);
            std::fs::create_dir_all(&dir).map_err(sink_err(&dir))?;
            let path = dir.join(format!("{day}.ndjson"));
            let cut = cut_torn_line(&path).map_err(sink_err(&path))?;
            if cut > 0 {
                tracing::warn!(
                    "{}: cut {cut} bytes of a last line an interrupted write left incomplete; \
                     its events are written again from the spool",
                    path.display()
                );
            }
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(sink_err(&path))?;
            self.open.insert(key.clone(), file);
        }
        self.open.get_mut(&key).ok_or_else(|| SinkError {
            path: self.dir.clone(),
            source: std::io::Error::other("sink file vanished"),
        })
    }
}

/// Truncates `path` after its last newline, if anything follows it; returns the bytes cut. A
/// missing file has nothing to cut.
fn cut_torn_line(path: &Path) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = chunk
            .get_mut(..usize::try_from(end - start).unwrap_or(0))
            .unwrap_or_default();
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(part)?;
        if let Some(newline) = part.iter().rposition(|&b| b == b'\n') {
            end = start + newline as u64 + 1;
            break;
        }
        end = start;
    }
    if end < len {
        file.set_len(end)?;
        file.sync_all()?;
    }
    Ok(len - end)
}

fn sink_err(path: &Path) -> impl FnOnce(std::io::Error) -> SinkError + '_ {
    move |source| SinkError {
        path: path.to_owned(),
        source,
    }
}

impl EventSink for NdjsonSink {
    fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        let mut buffers: HashMap<(String, String), Vec<u8>> = HashMap::new();
        for event in events {
            let day = event.received.strftime("%Y-%m-%d").to_string();
            let buffer = buffers
                .entry((event.tenant.as_str().to_owned(), day))
                .or_default();
            serde_json::to_writer(&mut *buffer, event).map_err(|e| SinkError {
                path: self.dir.clone(),
                source: std::io::Error::other(e),
            })?;
            buffer.push(b'\n');
        }
        let dir = self.dir.clone();
        for ((tenant, day), buffer) in buffers {
            let file = self.file(&tenant, &day)?;
            file.write_all(&buffer).map_err(sink_err(&dir))?;
            file.sync_data().map_err(sink_err(&dir))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use shieldwall_core::EventParse;
    use shieldwall_parse::filter::{DropRuleConfig, MergeConfig};

    use super::*;
    use crate::spool::SpoolConfig;

    /// Remembers what it was given; fails on demand.
    #[derive(Clone, Default)]
    struct Memory(Arc<Mutex<Vec<Event>>>, Arc<Mutex<bool>>);

    impl EventSink for Memory {
        fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
            if *self.1.lock().unwrap() {
                return Err(SinkError {
                    path: "memory".into(),
                    source: std::io::Error::other("down"),
                });
            }
            self.0.lock().unwrap().extend_from_slice(events);
            Ok(())
        }
    }

    fn envelope(source: &str, peer: &str, text: &str) -> Vec<u8> {
        Envelope {
            source: source.into(),
            received: "2026-11-29T00:00:00Z".parse().unwrap(),
            peer: peer.into(),
            client_identity: String::new(),
            key: String::new(),
            payload: text.as_bytes().to_vec(),
        }
        .encode()
    }

    fn setup(
        records: &[Vec<u8>],
        rules: HashMap<String, SourceRules>,
    ) -> (tempfile::TempDir, Arc<Mutex<Spool>>, Memory, Pipeline) {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = Spool::open(SpoolConfig::new(dir.path())).unwrap();
        let slices: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        spool.append(&slices).unwrap();
        let spool = Arc::new(Mutex::new(spool));
        let registry = shieldwall_parse::Registry::new();
        let sink = Memory::default();
        let pipeline = Pipeline::new(
            Arc::clone(&spool),
            Normaliser::new(Arc::new(registry)),
            rules,
            Box::new(sink.clone()),
        )
        .unwrap();
        (dir, spool, sink, pipeline)
    }

    #[test]
    fn every_record_becomes_an_event_and_is_acknowledged_after_the_write() {
        let records = vec![
            envelope("udp", "192.0.2.1:514", "<13>Nov 29 00:00:00 h app: one"),
            envelope("file", "file:/var/log/x:12:0", "two"),
            b"\x09not an envelope".to_vec(),
        ];
        let (_dir, spool, sink, mut p) = setup(&records, HashMap::new());
        assert_eq!(p.step(100, Timestamp::now()).unwrap(), 3);
        let events = sink.0.lock().unwrap().clone();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].unmapped["peer"], "192.0.2.1:514");
        assert_eq!(events[1].source, "file");
        assert!(events[2].unmapped.contains_key("envelope_error"));
        assert!(events.iter().all(|e| e.parse == EventParse::Unparsed));
        assert_eq!(spool.lock().unwrap().pending(), 0);
        assert_eq!(p.stats().bad_envelopes, 1);
    }

    #[test]
    fn after_a_failed_write_the_next_step_writes_the_same_events() {
        let records = vec![envelope("udp", "p", "a"), envelope("udp", "p", "b")];
        let (_dir, spool, sink, mut p) = setup(&records, HashMap::new());
        *sink.1.lock().unwrap() = true;
        assert!(p.step(100, Timestamp::now()).is_err());
        *sink.1.lock().unwrap() = false;
        assert_eq!(p.step(100, Timestamp::now()).unwrap(), 2, "read again");
        assert_eq!(sink.0.lock().unwrap().len(), 2, "written, not skipped");
        assert_eq!(spool.lock().unwrap().pending(), 0);
    }

    #[test]
    fn a_flush_policy_holds_events_until_enough_wait_or_the_spool_is_idle() {
        let records = vec![envelope("udp", "p", "a"), envelope("udp", "p", "b")];
        let (_dir, spool, sink, mut p) = setup(&records, HashMap::new());
        p.set_flush_policy(FlushPolicy {
            events: 3,
            interval: jiff::SignedDuration::from_hours(1),
        });
        let now = Timestamp::now();
        assert_eq!(p.step(100, now).unwrap(), 2);
        assert!(sink.0.lock().unwrap().is_empty(), "2 of 3: held");
        assert_eq!(
            spool.lock().unwrap().pending(),
            2,
            "held events are not acknowledged"
        );
        assert_eq!(p.step(100, now).unwrap(), 0);
        assert_eq!(
            sink.0.lock().unwrap().len(),
            2,
            "an idle spool writes what waits"
        );
        assert_eq!(spool.lock().unwrap().pending(), 0);

        let more = envelope("udp", "p", "c");
        spool.lock().unwrap().append(&[more.as_slice()]).unwrap();
        let later = now
            .checked_add(jiff::SignedDuration::from_hours(2))
            .unwrap();
        assert_eq!(p.step(100, now).unwrap(), 1);
        assert_eq!(sink.0.lock().unwrap().len(), 2, "held again");
        let last = envelope("udp", "p", "d");
        spool.lock().unwrap().append(&[last.as_slice()]).unwrap();
        assert_eq!(p.step(100, later).unwrap(), 1);
        assert_eq!(
            sink.0.lock().unwrap().len(),
            4,
            "the interval passed: written"
        );
    }

    #[test]
    fn a_failing_sink_acknowledges_nothing_and_a_replay_gives_the_same_ids() {
        let records = vec![envelope("udp", "p", "a"), envelope("udp", "p", "b")];
        let (_dir, spool, sink, mut p) = setup(&records, HashMap::new());
        *sink.1.lock().unwrap() = true;
        assert!(p.step(100, Timestamp::now()).is_err());
        assert_eq!(spool.lock().unwrap().pending(), 2);
        *sink.1.lock().unwrap() = false;
        let restart = |sink: &Memory| {
            Pipeline::new(
                Arc::clone(&spool),
                Normaliser::new(Arc::new(shieldwall_parse::Registry::new())),
                HashMap::new(),
                Box::new(sink.clone()),
            )
            .unwrap()
        };
        // Written, then "crashed" before the acknowledgement: a restart replays from the mark.
        let mut first = restart(&sink);
        let records = spool.lock().unwrap().read(0, 10).unwrap();
        for r in &records {
            let e = first.event_of(r.seq, &r.payload);
            sink.0.lock().unwrap().push(e);
        }
        let mut again = restart(&sink);
        assert_eq!(again.step(100, Timestamp::now()).unwrap(), 2);
        let ids: Vec<_> = sink.0.lock().unwrap().iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), 4);
        assert_eq!(ids[..2], ids[2..], "the replay derives the same ids");
        assert_ne!(ids[0], ids[1]);
        assert_eq!(
            restart(&sink).step(100, Timestamp::now()).unwrap(),
            0,
            "all acknowledged"
        );
    }

    #[test]
    fn drops_are_counted_and_merges_hold_back_the_acknowledgement() {
        let mut rules = HashMap::new();
        rules.insert(
            "udp".to_owned(),
            SourceRules {
                drop: DropRule::compile_all(&[DropRuleConfig {
                    message_regex: Some("^health".into()),
                    ..DropRuleConfig::default()
                }])
                .unwrap(),
                merge: Some(
                    Merger::new(&MergeConfig {
                        window_secs: 60,
                        key: vec!["message".into()],
                        max_groups: 10,
                    })
                    .unwrap(),
                ),
            },
        );
        let records = vec![
            envelope("udp", "p", "health check"),
            envelope("udp", "p", "denied"),
            envelope("udp", "p", "denied"),
            envelope("udp", "p", "denied"),
        ];
        let (_dir, spool, sink, mut p) = setup(&records, rules);
        let t0: Timestamp = "2026-11-29T00:00:00Z".parse().unwrap();
        p.step(100, t0).unwrap();
        assert!(sink.0.lock().unwrap().is_empty(), "held by the merger");
        assert_eq!(p.stats().dropped["udp"], 1);
        assert_eq!(p.stats().merged, 2);
        assert_eq!(
            spool.lock().unwrap().pending(),
            3,
            "acknowledged only before the held event"
        );
        p.step(100, "2026-11-29T00:01:00Z".parse().unwrap())
            .unwrap();
        let events = sink.0.lock().unwrap().clone();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].repeats.unwrap().count, 3);
        assert_eq!(spool.lock().unwrap().pending(), 0);
    }

    #[test]
    fn the_ndjson_sink_writes_one_line_per_event_per_tenant_day() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = NdjsonSink::new(dir.path());
        let n = Normaliser::new(Arc::new(shieldwall_parse::Registry::new()));
        let events: Vec<Event> = ["a", "b"]
            .iter()
            .map(|t| {
                n.normalise(&Received {
                    source: "s",
                    received: "2026-11-29T10:00:00Z".parse().unwrap(),
                    key: t,
                    payload: t.as_bytes(),
                })
            })
            .collect();
        sink.write(&events).unwrap();
        sink.write(&events[..1]).unwrap();
        let text = std::fs::read_to_string(dir.path().join("default/2026-11-29.ndjson")).unwrap();
        let lines: Vec<Event> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], events[0]);
    }

    #[test]
    fn a_torn_last_line_is_cut_before_the_sink_appends() {
        let dir = tempfile::tempdir().unwrap();
        let n = Normaliser::new(Arc::new(shieldwall_parse::Registry::new()));
        let event = n.normalise(&Received {
            source: "s",
            received: "2026-11-29T10:00:00Z".parse().unwrap(),
            key: "k",
            payload: b"x",
        });
        let file = dir.path().join("default/2026-11-29.ndjson");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let whole = format!("{}\n", serde_json::to_string(&event).unwrap());
        // A whole line, then a write cut short; and a file that is one torn line, longer than
        // the chunk read backwards.
        for (before, kept) in [
            (format!("{whole}{{\"id\":\"torn"), whole.clone()),
            ("y".repeat(100_000), String::new()),
            (whole.clone(), whole.clone()),
        ] {
            std::fs::write(&file, &before).unwrap();
            let mut sink = NdjsonSink::new(dir.path());
            sink.write(std::slice::from_ref(&event)).unwrap();
            let text = std::fs::read_to_string(&file).unwrap();
            assert_eq!(text, format!("{kept}{whole}"));
        }
        assert_eq!(cut_torn_line(&dir.path().join("missing")).unwrap(), 0);
    }
}
