//! The RELP source: a server for the Reliable Event Logging Protocol as rsyslog's `omrelp` (through
//! librelp) speaks it, optionally over TLS.
//!
//! This module owns the RELP frame parser ([`parse_frame`], [`FrameDecoder`]: pure, incremental,
//! bounded, never panics), the session rules ([`Session`]: transaction numbers, `open` offers,
//! `syslog`, `close`, errors) and the server ([`RelpSource`]).
//!
//! # Delivery guarantee
//!
//! A `syslog` frame is acknowledged (`TXNR rsp 6 200 OK`) only after the envelope made of it is on
//! disk in the spool (the spool writer has fsynced it). A frame that is not acknowledged stays in
//! the client's window and librelp sends it again on its next connection. So nothing the client
//! saw acknowledged is lost, and nothing is lost when the collector stops or crashes.
//!
//! **Duplicates.** A frame written to the spool whose acknowledgement never reached the client
//! (the collector crashed, or the connection broke, between the spool write and the client
//! reading the `rsp`) is sent again under a new transaction number on the next connection, and is
//! then stored a second time: at most the client's window (librelp: 128 frames) per break. A clean
//! shutdown produces none: every written frame's `rsp` is sent before the `serverclose` hint and
//! the connection is half-closed (FIN, not RST), so the client reads its acknowledgements first.
//!
//! - Without message ids (`message_ids = "none"`, the default) such a duplicate is a
//!   byte-identical payload from the same client host (`peer` differs only in the source port),
//!   arriving after a connection break, and its event gets an id of its own: RELP gives no way to
//!   tell it apart on the wire. rsyslog's forward format carries the original timestamp, host and
//!   tag, so a downstream deduplication over (client host, payload hash) within a short window
//!   recognises them. **At least once.**
//! - With message ids (`message_ids = "rsyslog-uuid"`, see [Message ids](#message-ids)) every
//!   copy carries the uuid rsyslog gave the message, so every copy gets the envelope key
//!   `relp:<uuid>` and the same event id, which a store keyed on the event id keeps once. **At
//!   least once, with duplicates sharing an id: exactly once after deduplication by id.**
//!
//! # Message ids
//!
//! rsyslog gives each message a uuid when a template first asks for its `%uuid%` property and
//! keeps it with the message while it waits in rsyslog's queues and is retried; librelp resends
//! an unacknowledged frame's data unchanged. With `message_ids = "rsyslog-uuid"` the source
//! expects the omrelp template to put that uuid in front of each message:
//!
//! ```text
//! template(name="shieldwall-relp" type="string"
//!          string="@uuid:%uuid% <%PRI%>%TIMESTAMP:::date-rfc3339% %HOSTNAME% %syslogtag:1:32%%msg:::sp-if-no-1st-sp%%msg%")
//! action(type="omrelp" target="collector.example.net" port="2514" template="shieldwall-relp")
//! ```
//!
//! (after the prefix this is rsyslog's `RSYSLOG_ForwardFormat`). The prefix is the marker
//! [`UUID_MARKER`] (`@uuid:`), exactly [`UUID_DIGITS`] (32) hexadecimal digits in upper case (as
//! rsyslog 8 prints `%uuid%`: the 16 bytes of a libuuid uuid, no dashes) and one space. A syslog
//! message is not mistaken for it: RFC 5424 and RFC 3164 messages start with `<PRI>`, the
//! header-less messages of some devices with a timestamp or a host name, and the prefix is only
//! valid with the 32 digits and the space after the marker. The source removes the prefix, so the
//! spool holds the message as if no prefix had been sent, and sets the envelope key to
//! `relp:<uuid>`; the pipeline derives the event id from the tenant, the source and that key.
//!
//! A frame whose data does not start with a valid prefix (another marker, 31 or 33 digits, lower
//! case or other non-hexadecimal digits, no space after the digits) is still stored and
//! acknowledged, whole and with an empty key (its event id then derives from the spool position,
//! as without message ids); it is counted in [`SourceStats::without_message_id`] (shown in the server's
//! `status.json`) and logged as a
//! warning at most once a minute per source. Without the setting the data is never looked at: a
//! message that happens to start with `@uuid:` is stored as sent.
//!
//! The id covers the last hop: the rsyslogd that sends to this source. A message that another
//! rsyslogd relays to it gets a new uuid in the relay, so copies created before the relay (a
//! relay that crashed before acknowledging upstream) do not share an id. rsyslog documents that
//! the uuid, once generated, stays the message's in that rsyslogd, also across a restart with
//! the message in an on-disk queue; the tests here cover resends by a running rsyslogd (broken
//! connections, a collector killed between spool write and acknowledgement). The uuid is taken as
//! the sender writes it: a sender that repeats a uuid makes different messages share an event
//! id, so enable the setting only for senders trusted to run the template above (TLS with
//! `allowed_clients` binds the source to known senders).
//!
//! # Protocol
//!
//! Frames are `TXNR SP COMMAND SP DATALEN [SP DATA] LF` with TXNR and DATALEN of 1 to 9 digits and
//! COMMAND of 1 to 32 letters; with DATALEN 0 the LF follows DATALEN directly. As in librelp:
//!
//! - Transaction numbers start at 1 and increase by one per command; after 999,999,999 comes 1. A
//!   frame with any other number is a protocol error. TXNR 0 is reserved for hints; hints from the
//!   client are ignored.
//! - `open` must come first. Its data holds offers (`name=value,value` lines); `relp_version` must
//!   be an integer and `commands` must include `syslog`. The answer is
//!   `TXNR rsp LEN 200 OK\nrelp_version=0\nrelp_software=shieldwall,VERSION\ncommands=syslog`
//!   (version 0 is what librelp speaks). A second `open` is answered
//!   `200 connection already open - ignored`.
//! - `syslog` carries one message; it becomes one envelope (payload = DATA as received; with
//!   message ids, DATA without its id prefix).
//! - `close` is answered `TXNR rsp 0` (an empty response), then the hint `0 serverclose 0`, and the
//!   connection is closed.
//! - An unknown command is answered `500 command not supported` and the session goes on
//!   (`starttls` is one: use the `tls` setting instead).
//! - A `syslog` before `open` is answered `500 command disabled`; a frame with a bad transaction
//!   number, an `rsp` or `serverclose` from the client, or a malformed frame ends the session: the
//!   frames before it are written and acknowledged, then `0 serverclose 0` is sent and the
//!   connection closed.
//! - A frame whose DATALEN exceeds `max_frame_bytes` is answered `500 frame too large` (librelp
//!   clients then discard that message; it is counted in `dropped`) and the session is closed.
//!
//! Responses are sent in the order of the commands. The client's window (librelp's default is
//! 128 unacknowledged frames) limits how many frames are in flight; the server does not depend on
//! it.
//!
//! # Batching and back-pressure
//!
//! A connection reads while bytes are available, parses every complete frame, and gathers the
//! `syslog` frames into a batch until the socket has nothing more to give right now or the batch
//! holds `batch_messages` messages or `batch_bytes` bytes. It then submits the batch, waits until
//! it is on disk, and sends all the batch's responses at once, in order. While the batch is being
//! written the connection is not read. When the spool is full ([`IngestError::Full`]) nothing is
//! acknowledged and nothing more is read: the same batch is submitted again after the
//! `retry_after` the spool names, for as long as it takes. The client's window fills and it stops
//! sending. At shutdown a batch still waiting for room is abandoned unacknowledged (the client
//! resends it), not counted as dropped.
//!
//! Memory per connection is bounded: a 16 KiB read buffer, the decoder's unparsed bytes (at most
//! one incomplete frame of `max_frame_bytes` plus its header, and one read), and the batch (at most
//! `batch_bytes` plus one frame).
//!
//! # TLS
//!
//! With a `[tls]` table the listener speaks only TLS, negotiated right after the TCP connection as
//! librelp does (`omrelp tls="on"`); client certificates and the client identity work as for the
//! other sources (see [`super::tls`]). librelp's anonymous TLS (`omrelp` with TLS but no
//! `tls.authMode`) needs anonymous Diffie-Hellman cipher suites, which rustls does not offer: such
//! clients must be configured with certificates. Tested with rsyslog's `omrelp` using
//! `tls.authMode="name"`, a CA and a client certificate (whose CN becomes the client identity).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::tls::{TlsConfig, TlsServer};
use super::{Origin, SourceError};
use crate::envelope::Envelope;
use crate::health::SourceStats;
use crate::ingest::{IngestError, IngestHandle};

/// The kind of a RELP source on the health board.
pub const KIND: &str = "relp";
/// The largest transaction number; the one after it is 1.
pub const MAX_TXNR: u32 = 999_999_999;
/// The RELP protocol version this server speaks (librelp's current version).
pub const RELP_VERSION: u32 = 0;
/// The most digits of TXNR and DATALEN.
const MAX_DIGITS: usize = 9;
/// The longest command name.
const MAX_COMMAND: usize = 32;
/// The longest DATALEN the protocol can express.
const MAX_DATALEN: usize = 999_999_999;
/// Bytes read from the socket at once.
const READ_BUFFER: usize = 16 * 1024;
/// How long a write of responses may block before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long, after `serverclose` and our FIN, the client may take to close its side; what it
/// sends meanwhile is read and discarded (so that closing does not send an RST that could destroy
/// responses the client has not read yet).
const LINGER: Duration = Duration::from_secs(1);
/// The hint sent before the server closes a session.
const SERVERCLOSE: &[u8] = b"0 serverclose 0\n";
/// The marker that starts a `syslog` frame's data when the sender puts rsyslog's message uuid in
/// front of the message (`message_ids = "rsyslog-uuid"`).
pub const UUID_MARKER: &[u8] = b"@uuid:";
/// The digits of rsyslog's `%uuid%`: 16 bytes as upper-case hexadecimal, without dashes.
pub const UUID_DIGITS: usize = 32;
/// The omrelp template that sends each message with its uuid, as the module documentation above
/// gives it: `@uuid:%uuid% ` and then rsyslog's forward format.
pub const RSYSLOG_UUID_TEMPLATE: &str = "@uuid:%uuid% <%PRI%>%TIMESTAMP:::date-rfc3339% %HOSTNAME% %syslogtag:1:32%%msg:::sp-if-no-1st-sp%%msg%";
/// The prefix of envelope keys made of message ids.
const KEY_PREFIX: &str = "relp:";
/// The least time between two warnings about frames without a message id, per source.
const MISSING_ID_WARNING_INTERVAL: Duration = Duration::from_secs(60);
/// How much of a frame without a message id the warning quotes.
const MISSING_ID_QUOTE: usize = 48;

// ---------------------------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------------------------

/// One RELP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The transaction number (0 for hints).
    pub txnr: u32,
    /// The command: 1 to 32 ASCII letters.
    pub command: String,
    /// The data (DATALEN bytes; empty when DATALEN is 0).
    pub data: Vec<u8>,
}

impl Frame {
    /// The frame's wire form, `TXNR SP COMMAND SP DATALEN [SP DATA] LF`.
    pub fn encode(&self) -> Vec<u8> {
        encode_frame(self.txnr, &self.command, &self.data)
    }
}

fn encode_frame(txnr: u32, command: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("{txnr} {command} {}", data.len()).into_bytes();
    if !data.is_empty() {
        out.push(b' ');
        out.extend_from_slice(data);
    }
    out.push(b'\n');
    out
}

/// Why bytes are not a RELP frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The bytes break the frame syntax; the stream cannot be resynchronised.
    #[error("malformed RELP frame: {0}")]
    Malformed(&'static str),
    /// DATALEN exceeds the configured maximum. The header was valid, so the transaction number is
    /// known and the command can be answered.
    #[error("RELP frame {txnr} announces {length} data bytes; at most {max} are accepted")]
    TooLarge {
        /// The frame's transaction number.
        txnr: u32,
        /// Its command.
        command: String,
        /// Its DATALEN.
        length: usize,
        /// The limit.
        max: usize,
    },
}

/// Reads a decimal number of 1 to 9 digits starting at `at`, ended by a non-digit. Returns the
/// value and the position of the terminator, or `None` when `buf` ends first.
fn number(buf: &[u8], at: usize, what: &'static str) -> Result<Option<(u32, usize)>, FrameError> {
    let mut value: u32 = 0;
    let mut i = at;
    loop {
        let Some(&c) = buf.get(i) else {
            return Ok(None);
        };
        if !c.is_ascii_digit() {
            if i == at {
                return Err(FrameError::Malformed(what));
            }
            return Ok(Some((value, i)));
        }
        if i - at == MAX_DIGITS {
            return Err(FrameError::Malformed(what));
        }
        value = value * 10 + u32::from(c - b'0');
        i += 1;
    }
}

/// Parses one frame at the start of `buf`. Returns the frame and the bytes it took, or `None`
/// when `buf` holds only the beginning of a frame. A DATALEN above `max_data` is refused as soon
/// as the header is complete, before any of the data is needed. Never panics, on any input.
pub fn parse_frame(buf: &[u8], max_data: usize) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some((txnr, i)) = number(buf, 0, "the transaction number is not 1 to 9 digits")? else {
        return Ok(None);
    };
    if buf.get(i) != Some(&b' ') {
        return Err(FrameError::Malformed(
            "the transaction number is not followed by a space",
        ));
    }
    let command_start = i + 1;
    let mut i = command_start;
    loop {
        match buf.get(i) {
            None => {
                return Ok(None);
            }
            Some(c) if c.is_ascii_alphabetic() => {
                if i - command_start == MAX_COMMAND {
                    return Err(FrameError::Malformed(
                        "the command is longer than 32 letters",
                    ));
                }
                i += 1;
            }
            Some(b' ') if i > command_start => break,
            Some(_) => {
                return Err(FrameError::Malformed(
                    "the command is not 1 to 32 letters followed by a space",
                ));
            }
        }
    }
    let command: String = buf
        .get(command_start..i)
        .unwrap_or_default()
        .iter()
        .map(|&c| char::from(c))
        .collect();
    let Some((datalen, i)) = number(buf, i + 1, "the data length is not 1 to 9 digits")? else {
        return Ok(None);
    };
    let length = datalen as usize;
    if length == 0 {
        return match buf.get(i) {
            Some(b'\n') => Ok(Some((
                Frame {
                    txnr,
                    command,
                    data: Vec::new(),
                },
                i + 1,
            ))),
            Some(_) => Err(FrameError::Malformed(
                "a frame without data does not end right after its data length",
            )),
            None => Ok(None),
        };
    }
    if buf.get(i) != Some(&b' ') {
        return Err(FrameError::Malformed(
            "the data length is not followed by a space",
        ));
    }
    if length > max_data {
        return Err(FrameError::TooLarge {
            txnr,
            command,
            length,
            max: max_data,
        });
    }
    let data_start = i + 1;
    let data_end = data_start + length;
    let Some(&trailer) = buf.get(data_end) else {
        return Ok(None);
    };
    if trailer != b'\n' {
        return Err(FrameError::Malformed(
            "the frame does not end with a line feed after its data",
        ));
    }
    let data = buf.get(data_start..data_end).unwrap_or_default().to_vec();
    Ok(Some((
        Frame {
            txnr,
            command,
            data,
        },
        data_end + 1,
    )))
}

/// Splits a byte stream into frames, whatever the chunks it arrives in. It holds the bytes pushed
/// and not yet parsed: at most one incomplete frame plus what the caller pushed since the last
/// [`FrameDecoder::next_frame`] that returned `None`. After an error it stays failed.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    start: usize,
    max_data: usize,
    failed: Option<FrameError>,
}

impl FrameDecoder {
    /// A decoder refusing frames with more than `max_data` data bytes.
    pub fn new(max_data: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            max_data: max_data.min(MAX_DATALEN),
            failed: None,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, `None` until more bytes are pushed, or the error that ends the
    /// stream.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let pending = self.buf.get(self.start..).unwrap_or_default();
        match parse_frame(pending, self.max_data) {
            Ok(Some((frame, used))) => {
                self.start += used;
                if self.start == self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                }
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            Err(error) => {
                self.failed = Some(error.clone());
                self.buf = Vec::new();
                self.start = 0;
                Err(error)
            }
        }
    }

    /// Bytes held and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}

// ---------------------------------------------------------------------------------------------
// Session rules
// ---------------------------------------------------------------------------------------------

/// The transaction number after `txnr`.
pub fn next_txnr(txnr: u32) -> u32 {
    if txnr >= MAX_TXNR { 1 } else { txnr + 1 }
}

/// A response frame (`TXNR rsp LEN DATA`).
pub fn response(txnr: u32, data: &[u8]) -> Vec<u8> {
    encode_frame(txnr, "rsp", data)
}

/// What a session does with one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Store this message; acknowledge the transaction once it is on disk.
    Store {
        /// The transaction to acknowledge.
        txnr: u32,
        /// The message.
        payload: Vec<u8>,
    },
    /// Send this response (in order with the acknowledgements) and go on.
    Reply(Vec<u8>),
    /// Nothing to do (a hint from the client).
    Ignore,
    /// End the session: send `reply` if any, then `0 serverclose 0`, then close.
    End {
        /// The last response, if the ending command gets one.
        reply: Option<Vec<u8>>,
        /// Why the session ends.
        reason: EndReason,
    },
}

/// Why a session ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The client sent `close`.
    Close,
    /// The client broke the protocol; the text says how.
    Protocol(String),
}

/// The state of one RELP session: whether it is open and which transaction number comes next.
#[derive(Debug, Clone)]
pub struct Session {
    open: bool,
    expected: u32,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    /// A session before `open`, expecting transaction 1.
    pub fn new() -> Self {
        Session {
            open: false,
            expected: 1,
        }
    }

    /// Whether `open` has been accepted.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Decides what to do with a frame.
    pub fn on_frame(&mut self, frame: Frame) -> Action {
        if frame.txnr == 0 {
            return Action::Ignore;
        }
        if let Err(reason) = self.check_txnr(frame.txnr) {
            return reason;
        }
        let txnr = frame.txnr;
        match frame.command.as_str() {
            "syslog" if self.open => Action::Store {
                txnr,
                payload: frame.data,
            },
            "syslog" => Action::End {
                reply: Some(response(txnr, b"500 command disabled")),
                reason: EndReason::Protocol("syslog before open".into()),
            },
            "open" if self.open => {
                Action::Reply(response(txnr, b"200 connection already open - ignored"))
            }
            "open" => match check_offers(&frame.data) {
                Ok(()) => {
                    self.open = true;
                    Action::Reply(response(txnr, &open_response()))
                }
                Err(problem) => Action::End {
                    reply: Some(response(txnr, format!("500 {problem}").as_bytes())),
                    reason: EndReason::Protocol(format!("open refused: {problem}")),
                },
            },
            "close" => Action::End {
                reply: Some(response(txnr, b"")),
                reason: EndReason::Close,
            },
            "rsp" | "serverclose" => Action::End {
                reply: None,
                reason: EndReason::Protocol(format!(
                    "the client sent {:?}, which only a server sends",
                    frame.command
                )),
            },
            _ => Action::Reply(response(txnr, b"500 command not supported")),
        }
    }

    /// A frame larger than allowed: answered with an error, then the session ends.
    pub fn on_too_large(&mut self, txnr: u32) -> Action {
        if txnr == 0 {
            return Action::End {
                reply: None,
                reason: EndReason::Protocol("oversize hint".into()),
            };
        }
        if let Err(reason) = self.check_txnr(txnr) {
            return reason;
        }
        Action::End {
            reply: Some(response(txnr, b"500 frame too large")),
            reason: EndReason::Protocol("frame larger than max_frame_bytes".into()),
        }
    }

    fn check_txnr(&mut self, txnr: u32) -> Result<(), Action> {
        if txnr != self.expected {
            return Err(Action::End {
                reply: None,
                reason: EndReason::Protocol(format!(
                    "transaction number {txnr} where {} was expected",
                    self.expected
                )),
            });
        }
        self.expected = next_txnr(self.expected);
        Ok(())
    }
}

/// The data of the `open` response.
fn open_response() -> Vec<u8> {
    format!(
        "200 OK\nrelp_version={RELP_VERSION}\nrelp_software=shieldwall,{}\ncommands=syslog",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// Checks the client's offers: a numeric `relp_version`, and `syslog` among `commands`.
fn check_offers(data: &[u8]) -> Result<(), &'static str> {
    let mut version = false;
    let mut syslog = false;
    for line in data.split(|&c| c == b'\n') {
        let (name, values) = match line.iter().position(|&c| c == b'=') {
            Some(eq) => (
                line.get(..eq).unwrap_or_default(),
                line.get(eq + 1..).unwrap_or_default(),
            ),
            None => (line, &b""[..]),
        };
        match name {
            b"relp_version" => {
                let first = values.split(|&c| c == b',').next().unwrap_or_default();
                if first.is_empty() || !first.iter().all(u8::is_ascii_digit) {
                    return Err("error: relp_version is not a number");
                }
                version = true;
            }
            b"commands" => {
                syslog |= values.split(|&c| c == b',').any(|v| v == b"syslog");
            }
            _ => {}
        }
    }
    if !version {
        return Err("error: no relp_version offered");
    }
    if !syslog {
        return Err("required command not supported by client");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Message ids
// ---------------------------------------------------------------------------------------------

/// Where a RELP source finds each message's own id (`message_ids`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageIds {
    /// `none`: messages carry no id; a frame's data is the message, the envelope key is empty.
    #[default]
    None,
    /// `rsyslog-uuid`: each frame's data starts with [`UUID_MARKER`], rsyslog's `%uuid%`
    /// ([`UUID_DIGITS`] upper-case hexadecimal digits) and a space (see
    /// [Message ids](self#message-ids)).
    RsyslogUuid,
}

/// What [`MessageIds::take`] found at the start of a frame's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageId {
    /// Message ids are off; the data was not looked at.
    Off,
    /// The envelope key made of the id (`relp:<uuid>`); the prefix was removed from the data.
    Key(String),
    /// Message ids are on, but the data does not start with a valid prefix; it is left whole.
    Missing,
}

impl MessageIds {
    /// Takes the message id off the start of a `syslog` frame's `data`. Never panics.
    pub fn take(self, data: &mut Vec<u8>) -> MessageId {
        match self {
            MessageIds::None => MessageId::Off,
            MessageIds::RsyslogUuid => {
                let Some((uuid, message)) = split_rsyslog_uuid(data) else {
                    return MessageId::Missing;
                };
                let key = format!("{KEY_PREFIX}{uuid}");
                let prefix = data.len() - message.len();
                data.drain(..prefix);
                MessageId::Key(key)
            }
        }
    }
}

/// Splits the prefix `@uuid:<32 upper-case hexadecimal digits><SP>` off `data`: the uuid and the
/// message after the space, or `None` when `data` does not start with exactly that. Never panics.
pub fn split_rsyslog_uuid(data: &[u8]) -> Option<(&str, &[u8])> {
    let rest = data.strip_prefix(UUID_MARKER)?;
    let digits = rest.get(..UUID_DIGITS)?;
    if !digits
        .iter()
        .all(|&c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
    {
        return None;
    }
    let message = rest.get(UUID_DIGITS..)?.strip_prefix(b" ")?;
    let uuid = std::str::from_utf8(digits).ok()?;
    Some((uuid, message))
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// A RELP source (`type = "relp"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelpConfig {
    /// The source's name, unique in the configuration. Required.
    pub name: String,
    /// The address to listen on, such as `0.0.0.0:2514`. Required. (RELP has no registered port;
    /// rsyslog's examples use 2514 and librelp's default is 20514.)
    pub listen: SocketAddr,
    /// The tenant the messages belong to. Default: `default`.
    #[serde(default = "super::default_tenant")]
    pub tenant: String,
    /// The most connections open at once; more are closed at once and counted in
    /// `rejected_connections`. Default: 1000.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// The largest DATALEN accepted; a larger frame is answered `500 frame too large` and the
    /// session is closed. Default: 131072 (128 KiB, librelp's default). Keep it below the spool's
    /// record limit.
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: usize,
    /// The most messages a connection gathers before submitting them. Default: 1000.
    #[serde(default = "default_batch_messages")]
    pub batch_messages: usize,
    /// The most message bytes a connection gathers before submitting them. Default: 1 MiB.
    #[serde(default = "default_batch_bytes")]
    pub batch_bytes: usize,
    /// TLS settings; when present the listener speaks only TLS. Default: none (plain TCP).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Where each message's own id comes from: `none`, or `rsyslog-uuid` (each frame's data
    /// starts with `@uuid:`, rsyslog's `%uuid%` and a space; the envelope key becomes
    /// `relp:<uuid>`, so copies resent after a crash share an event id). Default: `none`.
    #[serde(default)]
    pub message_ids: MessageIds,
}

fn default_max_connections() -> usize {
    1000
}

fn default_max_frame_bytes() -> usize {
    128 * 1024
}

fn default_batch_messages() -> usize {
    1000
}

fn default_batch_bytes() -> usize {
    1 << 20
}

impl RelpConfig {
    /// A plain (no TLS) configuration with every optional field at its default.
    pub fn new(name: impl Into<String>, listen: SocketAddr) -> Self {
        RelpConfig {
            name: name.into(),
            listen,
            tenant: super::default_tenant(),
            max_connections: default_max_connections(),
            max_frame_bytes: default_max_frame_bytes(),
            batch_messages: default_batch_messages(),
            batch_bytes: default_batch_bytes(),
            tls: None,
            message_ids: MessageIds::None,
        }
    }

    fn check(&self) -> Result<(), SourceError> {
        super::check_name_and_tenant(&self.name, &self.tenant)?;
        super::check_positive(&self.name, "max_connections", self.max_connections)?;
        super::check_positive(&self.name, "max_frame_bytes", self.max_frame_bytes)?;
        super::check_positive(&self.name, "batch_messages", self.batch_messages)?;
        super::check_positive(&self.name, "batch_bytes", self.batch_bytes)?;
        if self.max_frame_bytes > MAX_DATALEN {
            return Err(SourceError::Config {
                name: self.name.clone(),
                message: format!("max_frame_bytes must be at most {MAX_DATALEN}"),
            });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

/// A bound RELP source, ready to serve.
#[derive(Debug)]
pub struct RelpSource {
    config: RelpConfig,
    listener: super::Listener,
}

impl RelpSource {
    /// Checks the configuration, loads the TLS certificates if any, and binds the listener.
    pub async fn bind(config: RelpConfig) -> Result<Self, SourceError> {
        config.check()?;
        let listener =
            super::Listener::bind(&config.name, config.listen, config.tls.as_ref(), &[]).await?;
        Ok(RelpSource { config, listener })
    }

    /// The address the listener is bound to (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr
    }

    /// Accepts and serves sessions until `shutdown` is cancelled. Then the listener is closed,
    /// each session finishes the batch it is writing, sends its responses and `serverclose`, and
    /// closes (see [`super::serve_connections`] for the grace period).
    pub async fn serve(
        self,
        ingest: IngestHandle,
        stats: Arc<SourceStats>,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        tracing::info!(
            source = %self.config.name,
            addr = %self.listener.local_addr,
            tls = self.listener.tls.is_some(),
            message_ids = ?self.config.message_ids,
            "listening for RELP"
        );
        let shared = Arc::new(Shared {
            name: self.config.name.clone(),
            max_frame_bytes: self.config.max_frame_bytes,
            batch_messages: self.config.batch_messages,
            batch_bytes: self.config.batch_bytes,
            message_ids: self.config.message_ids,
            tls: self.listener.tls,
            ingest,
            stats: Arc::clone(&stats),
            started: Instant::now(),
            next_missing_id_warning_ms: AtomicU64::new(0),
            shutdown: shutdown.clone(),
        });
        super::serve_connections(
            &self.config.name,
            self.listener.socket,
            self.config.max_connections,
            stats,
            shutdown,
            |stream, peer| connection(Arc::clone(&shared), stream, peer),
        )
        .await;
        tracing::info!(source = %self.config.name, "RELP source stopped");
        Ok(())
    }
}

/// Binds and serves until `shutdown` is cancelled: [`RelpSource::bind`] then
/// [`RelpSource::serve`].
pub async fn run(
    config: RelpConfig,
    ingest: IngestHandle,
    stats: Arc<SourceStats>,
    shutdown: CancellationToken,
) -> Result<(), SourceError> {
    RelpSource::bind(config)
        .await?
        .serve(ingest, stats, shutdown)
        .await
}

struct Shared {
    name: String,
    max_frame_bytes: usize,
    batch_messages: usize,
    batch_bytes: usize,
    message_ids: MessageIds,
    tls: Option<TlsServer>,
    ingest: IngestHandle,
    stats: Arc<SourceStats>,
    /// When the source started serving: the origin of `next_missing_id_warning_ms`.
    started: Instant,
    /// Milliseconds after `started` before which no other warning about a frame without a
    /// message id is logged.
    next_missing_id_warning_ms: AtomicU64,
    shutdown: CancellationToken,
}

impl Shared {
    /// Makes the envelope of a `syslog` frame's data: with message ids, the id moves from the
    /// data into the key; a missing id is counted and, at most once per
    /// [`MISSING_ID_WARNING_INTERVAL`], logged.
    fn envelope(
        &self,
        origin: &Origin,
        received: Timestamp,
        mut data: Vec<u8>,
        peer: SocketAddr,
    ) -> Envelope {
        let key = match self.message_ids.take(&mut data) {
            MessageId::Key(key) => key,
            MessageId::Off => String::new(),
            MessageId::Missing => {
                self.missing_id(&data, peer);
                String::new()
            }
        };
        let mut envelope = origin.envelope(received, data);
        envelope.key = key;
        envelope
    }

    fn missing_id(&self, data: &[u8], peer: SocketAddr) {
        let total = self
            .stats
            .without_message_id
            .fetch_add(1, Ordering::Relaxed)
            + 1;
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_missing_id_warning_ms.load(Ordering::Relaxed);
        if now < next {
            return;
        }
        let later = now.saturating_add(
            u64::try_from(MISSING_ID_WARNING_INTERVAL.as_millis()).unwrap_or(u64::MAX),
        );
        if self
            .next_missing_id_warning_ms
            .compare_exchange(next, later, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            // Another connection logs this interval's warning.
            return;
        }
        let start = String::from_utf8_lossy(data.get(..MISSING_ID_QUOTE).unwrap_or(data));
        tracing::warn!(
            source = %self.name,
            %peer,
            without_message_id = total,
            start = ?start,
            "RELP message without a valid \"@uuid:<32 upper-case hex digits> \" prefix stored \
             without a message id (message_ids = \"rsyslog-uuid\"; check the omrelp template); \
             such messages are logged at most once a minute"
        );
    }
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let Some(tls) = &shared.tls else {
        serve_session(&shared, stream, peer, String::new()).await;
        return;
    };
    let handshake = tokio::select! {
        biased;
        () = shared.shutdown.cancelled() => return,
        handshake = tls.accept(stream) => handshake,
    };
    match handshake {
        Ok((stream, identity)) => serve_session(&shared, stream, peer, identity).await,
        Err(rejection) => {
            shared
                .stats
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(source = %shared.name, %peer, "connection refused: {rejection}");
        }
    }
}

/// A response waiting for its batch.
enum Pending {
    /// The acknowledgement of the batch's envelope at this index.
    Ack { txnr: u32, index: usize },
    /// A response decided already.
    Bytes(Vec<u8>),
}

/// What a connection has parsed and not yet answered.
struct Work {
    envelopes: Vec<Envelope>,
    bytes: usize,
    pending: Vec<Pending>,
}

impl Work {
    fn new() -> Self {
        Work {
            envelopes: Vec::new(),
            bytes: 0,
            pending: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn is_full(&self, shared: &Shared) -> bool {
        self.envelopes.len() >= shared.batch_messages || self.bytes >= shared.batch_bytes
    }
}

/// How a session ended.
#[derive(Debug)]
enum End {
    /// Ended by the protocol (`close`, or an error): send the last reply and `serverclose`.
    Protocol {
        reply: Option<Vec<u8>>,
        reason: EndReason,
    },
    /// The client closed its side.
    Eof,
    /// Shutdown was requested.
    Shutdown,
    /// The connection failed, or the batch could not be written; close without a word.
    Broken,
}

async fn serve_session<S>(shared: &Shared, mut stream: S, peer: SocketAddr, identity: String)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let origin = Origin {
        source: shared.name.clone(),
        peer: peer.to_string(),
        client_identity: identity,
    };
    tracing::debug!(source = %shared.name, %peer, "RELP connection opened");
    let mut decoder = FrameDecoder::new(shared.max_frame_bytes);
    let mut session = Session::new();
    let mut work = Work::new();
    let mut buf = vec![0u8; READ_BUFFER];
    let end = 'session: loop {
        // Take every complete frame the decoder holds, up to a full batch.
        let now = Timestamp::now();
        while !work.is_full(shared) {
            let action = match decoder.next_frame() {
                Ok(Some(frame)) => session.on_frame(frame),
                Ok(None) => break,
                Err(FrameError::TooLarge {
                    txnr,
                    command,
                    length,
                    max,
                }) => {
                    if command == "syslog" {
                        shared.stats.record_dropped(1);
                    }
                    tracing::warn!(
                        source = %shared.name,
                        %peer,
                        txnr,
                        length,
                        max,
                        "RELP frame larger than max_frame_bytes refused; closing the session"
                    );
                    session.on_too_large(txnr)
                }
                Err(FrameError::Malformed(what)) => Action::End {
                    reply: None,
                    reason: EndReason::Protocol(format!("malformed frame: {what}")),
                },
            };
            match action {
                Action::Store { txnr, payload } => {
                    let envelope = shared.envelope(&origin, now, payload, peer);
                    work.bytes = work.bytes.saturating_add(envelope.payload.len());
                    let index = work.envelopes.len();
                    work.envelopes.push(envelope);
                    work.pending.push(Pending::Ack { txnr, index });
                }
                Action::Reply(bytes) => work.pending.push(Pending::Bytes(bytes)),
                Action::Ignore => {}
                Action::End { reply, reason } => break 'session End::Protocol { reply, reason },
            }
        }
        if shared.shutdown.is_cancelled() {
            break End::Shutdown;
        }
        let read = if work.is_empty() {
            tokio::select! {
                biased;
                () = shared.shutdown.cancelled() => break End::Shutdown,
                read = stream.read(&mut buf) => read,
            }
        } else if work.is_full(shared) {
            if let Err(end) = answer(shared, &mut stream, &mut work).await {
                break end;
            }
            continue;
        } else {
            match super::read_now(&mut stream, &mut buf).await {
                Some(read) => read,
                None => {
                    // Nothing more right now: write the batch and answer it.
                    if let Err(end) = answer(shared, &mut stream, &mut work).await {
                        break end;
                    }
                    continue;
                }
            }
        };
        match read {
            Ok(0) => break End::Eof,
            Ok(n) => decoder.push(buf.get(..n).unwrap_or_default()),
            Err(e) => {
                tracing::debug!(source = %shared.name, %peer, "RELP connection failed: {e}");
                break End::Broken;
            }
        }
    };
    finish(shared, &mut stream, &mut work, end, peer).await;
}

/// Ends a session: writes and answers what was parsed before the end, then says goodbye as the
/// reason for ending requires.
async fn finish<S>(shared: &Shared, stream: &mut S, work: &mut Work, end: End, peer: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let end = match end {
        End::Broken => End::Broken,
        other => match answer(shared, stream, work).await {
            Ok(()) => other,
            Err(failed) => failed,
        },
    };
    match &end {
        End::Protocol { reason, .. } => match reason {
            EndReason::Close => {
                tracing::debug!(source = %shared.name, %peer, "RELP session closed by the client");
            }
            EndReason::Protocol(why) => {
                tracing::warn!(source = %shared.name, %peer, "RELP session ended: {why}");
            }
        },
        other => tracing::debug!(source = %shared.name, %peer, end = ?other, "RELP session ended"),
    }
    let goodbye = match end {
        End::Protocol { reply, .. } => {
            let mut bytes = reply.unwrap_or_default();
            bytes.extend_from_slice(SERVERCLOSE);
            Some(bytes)
        }
        End::Shutdown => Some(SERVERCLOSE.to_vec()),
        End::Eof | End::Broken => None,
    };
    if let Some(bytes) = goodbye {
        if !write_all(stream, &bytes).await {
            return;
        }
        let _ = tokio::time::timeout(LINGER, async {
            let _ = stream.shutdown().await;
            let mut sink = [0u8; 4096];
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    }
}

/// Writes the batch to the spool, then sends every pending response in order. On failure the
/// connection must end with the returned reason.
async fn answer<S>(shared: &Shared, stream: &mut S, work: &mut Work) -> Result<(), End>
where
    S: AsyncWrite + Unpin,
{
    if work.pending.is_empty() {
        return Ok(());
    }
    let written = deliver(shared, &work.envelopes).await?;
    let mut out = Vec::new();
    for pending in &work.pending {
        match pending {
            Pending::Bytes(bytes) => out.extend_from_slice(bytes),
            Pending::Ack { txnr, index } => {
                if written.get(*index).copied().unwrap_or(false) {
                    out.extend_from_slice(&response(*txnr, b"200 OK"));
                } else {
                    out.extend_from_slice(&response(
                        *txnr,
                        b"500 message larger than the spool accepts",
                    ));
                }
            }
        }
    }
    work.envelopes.clear();
    work.pending.clear();
    work.bytes = 0;
    if write_all(stream, &out).await {
        Ok(())
    } else {
        Err(End::Broken)
    }
}

async fn write_all<S>(stream: &mut S, bytes: &[u8]) -> bool
where
    S: AsyncWrite + Unpin,
{
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, async {
            stream.write_all(bytes).await?;
            stream.flush().await
        })
        .await,
        Ok(Ok(()))
    )
}

/// Why a batch was not written.
enum NotWritten {
    /// Shutdown interrupted the wait for room in the spool; nothing of the batch is on disk and
    /// it is not acknowledged, so the client sends it again.
    Shutdown,
    /// A message is larger than the spool's record limit.
    TooLarge(String),
    /// The spool failed or its writer stopped.
    Failed(IngestError),
}

/// Puts the envelopes on disk, retrying while the spool is full. Returns, per envelope, whether
/// it was written (`false` only for a message larger than the spool's record limit).
async fn deliver(shared: &Shared, envelopes: &[Envelope]) -> Result<Vec<bool>, End> {
    if envelopes.is_empty() {
        return Ok(Vec::new());
    }
    match submit_retrying(shared, envelopes).await {
        Ok(()) => Ok(vec![true; envelopes.len()]),
        Err(NotWritten::TooLarge(_)) => {
            // One of them can never be written: find it, write the others.
            let mut written = Vec::with_capacity(envelopes.len());
            for envelope in envelopes {
                match submit_retrying(shared, std::slice::from_ref(envelope)).await {
                    Ok(()) => written.push(true),
                    Err(NotWritten::TooLarge(reason)) => {
                        shared.stats.record_dropped(1);
                        tracing::warn!(
                            source = %shared.name,
                            peer = %envelope.peer,
                            bytes = envelope.payload.len(),
                            "RELP message refused: {reason}"
                        );
                        written.push(false);
                    }
                    Err(other) => return Err(stop(shared, other)),
                }
            }
            Ok(written)
        }
        Err(other) => Err(stop(shared, other)),
    }
}

fn stop(shared: &Shared, not_written: NotWritten) -> End {
    match not_written {
        NotWritten::Shutdown => End::Shutdown,
        NotWritten::TooLarge(error) => {
            tracing::error!(source = %shared.name, "closing RELP session: {error}");
            End::Broken
        }
        NotWritten::Failed(error) => {
            tracing::error!(
                source = %shared.name,
                "closing RELP session without acknowledging its batch: {error}"
            );
            End::Broken
        }
    }
}

/// Submits until written, waiting `retry_after` after each `Full`, until shutdown interrupts
/// the wait.
async fn submit_retrying(shared: &Shared, envelopes: &[Envelope]) -> Result<(), NotWritten> {
    loop {
        let wait = match shared.ingest.submit(envelopes).await {
            Ok(_) => {
                let bytes: usize = envelopes.iter().map(|e| e.payload.len()).sum();
                shared.stats.record_accepted(
                    envelopes.len() as u64,
                    bytes as u64,
                    Timestamp::now(),
                );
                return Ok(());
            }
            Err(IngestError::Full { retry_after }) => {
                shared.stats.record_refused();
                retry_after
            }
            // `submit` waits for room in the queue, so this is not expected; treat it alike.
            Err(IngestError::Busy) => Duration::from_millis(100),
            Err(IngestError::TooLarge(reason)) => return Err(NotWritten::TooLarge(reason)),
            Err(other) => return Err(NotWritten::Failed(other)),
        };
        tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => {
                tracing::info!(
                    source = %shared.name,
                    messages = envelopes.len(),
                    "shutdown while the spool is full: the batch is left unacknowledged for the client to resend"
                );
                return Err(NotWritten::Shutdown);
            }
            () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(txnr: u32, command: &str, data: &[u8]) -> Frame {
        Frame {
            txnr,
            command: command.into(),
            data: data.to_vec(),
        }
    }

    fn decode_all(chunks: &[&[u8]], max: usize) -> (Vec<Frame>, Option<FrameError>) {
        let mut decoder = FrameDecoder::new(max);
        let mut frames = Vec::new();
        for chunk in chunks {
            decoder.push(chunk);
            loop {
                match decoder.next_frame() {
                    Ok(Some(f)) => frames.push(f),
                    Ok(None) => break,
                    Err(e) => return (frames, Some(e)),
                }
            }
        }
        (frames, None)
    }

    #[test]
    fn parses_the_frames_librelp_sends() {
        let open = b"1 open 86 relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n";
        let (f, used) = parse_frame(open, 1024).unwrap().unwrap();
        assert_eq!(used, open.len());
        assert_eq!(f.txnr, 1);
        assert_eq!(f.command, "open");
        assert!(f.data.starts_with(b"relp_version=0\n"));
        assert!(f.data.ends_with(b"commands=syslog"));

        let (f, used) = parse_frame(b"2 syslog 5 hello\n3 close 0\n", 1024)
            .unwrap()
            .unwrap();
        assert_eq!(f, frame(2, "syslog", b"hello"));
        assert_eq!(used, 17);
        let (f, _) = parse_frame(b"3 close 0\n", 1024).unwrap().unwrap();
        assert_eq!(f, frame(3, "close", b""));
    }

    #[test]
    fn data_may_hold_line_feeds_and_any_byte() {
        let bytes = b"7 syslog 6 a\nb\x00\xff\n\n";
        let (f, used) = parse_frame(bytes, 1024).unwrap().unwrap();
        assert_eq!(f.data, b"a\nb\x00\xff\n");
        assert_eq!(used, bytes.len());
    }

    #[test]
    fn incomplete_frames_wait_for_more() {
        let whole = b"12 syslog 5 hello\n";
        for end in 0..whole.len() {
            assert_eq!(
                parse_frame(&whole[..end], 1024),
                Ok(None),
                "prefix of {end} bytes"
            );
        }
    }

    #[test]
    fn malformed_frames_are_refused() {
        for bad in [
            &b"x syslog 1 a\n"[..],
            b" 1 syslog 1 a\n",
            b"1234567890 syslog 1 a\n",
            b"1  1 a\n",
            b"1 sys-log 1 a\n",
            b"1 syslog x\n",
            b"1 syslog 1234567890 ",
            b"1 syslog 1\n",
            b"1 syslog 1 ab\n",
            b"1 close 0 \n",
            b"1 abcdefghijklmnopqrstuvwxyzabcdefg 0\n",
        ] {
            assert!(
                matches!(parse_frame(bad, 1024), Err(FrameError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // 32 letters is the longest command.
        let ok = b"1 abcdefghijklmnopqrstuvwxyzabcdef 0\n";
        assert!(parse_frame(ok, 1024).unwrap().is_some());
    }

    #[test]
    fn oversize_frames_are_refused_from_the_header_alone() {
        assert_eq!(
            parse_frame(b"4 syslog 1025 ", 1024),
            Err(FrameError::TooLarge {
                txnr: 4,
                command: "syslog".into(),
                length: 1025,
                max: 1024
            })
        );
        assert!(parse_frame(b"4 syslog 1024 ", 1024).unwrap().is_none());
    }

    #[test]
    fn a_failed_decoder_stays_failed_and_holds_nothing() {
        let mut d = FrameDecoder::new(16);
        d.push(b"1 syslog 1 a\n2 syslog 99 ");
        assert_eq!(d.next_frame().unwrap().unwrap().data, b"a");
        assert!(matches!(d.next_frame(), Err(FrameError::TooLarge { .. })));
        d.push(b"3 syslog 1 b\n");
        assert!(d.next_frame().is_err());
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn transaction_numbers_wrap_after_nine_nines() {
        assert_eq!(next_txnr(1), 2);
        assert_eq!(next_txnr(MAX_TXNR), 1);
    }

    #[test]
    fn responses_have_librelp_form() {
        assert_eq!(response(2, b"200 OK"), b"2 rsp 6 200 OK\n");
        assert_eq!(response(9, b""), b"9 rsp 0\n");
        let open = response(1, &open_response());
        let text = String::from_utf8(open).unwrap();
        assert!(text.starts_with("1 rsp "));
        assert!(text.contains(" 200 OK\nrelp_version=0\nrelp_software=shieldwall,"));
        assert!(text.ends_with("\ncommands=syslog\n"));
        // The length is right: the response parses as a frame.
        let (f, _) = parse_frame(text.as_bytes(), 4096).unwrap().unwrap();
        assert_eq!(f.command, "rsp");
    }

    fn open(session: &mut Session, txnr: u32) -> Action {
        session.on_frame(frame(
            txnr,
            "open",
            b"relp_version=0\nrelp_software=x\ncommands=syslog",
        ))
    }

    #[test]
    fn a_session_opens_stores_and_closes() {
        let mut s = Session::new();
        assert!(matches!(open(&mut s, 1), Action::Reply(r) if r.starts_with(b"1 rsp ")));
        assert!(s.is_open());
        assert_eq!(
            s.on_frame(frame(2, "syslog", b"m")),
            Action::Store {
                txnr: 2,
                payload: b"m".to_vec()
            }
        );
        assert_eq!(s.on_frame(frame(0, "hint", b"")), Action::Ignore);
        assert_eq!(
            open(&mut s, 3),
            Action::Reply(b"3 rsp 37 200 connection already open - ignored\n".to_vec())
        );
        assert_eq!(
            s.on_frame(frame(4, "starttls", b"")),
            Action::Reply(b"4 rsp 25 500 command not supported\n".to_vec())
        );
        assert_eq!(
            s.on_frame(frame(5, "close", b"")),
            Action::End {
                reply: Some(b"5 rsp 0\n".to_vec()),
                reason: EndReason::Close
            }
        );
    }

    #[test]
    fn sessions_refuse_what_librelp_refuses() {
        let mut s = Session::new();
        assert!(matches!(
            s.on_frame(frame(1, "syslog", b"m")),
            Action::End { reply: Some(r), .. } if r == b"1 rsp 20 500 command disabled\n"
        ));

        let mut s = Session::new();
        open(&mut s, 1);
        assert!(matches!(
            s.on_frame(frame(3, "syslog", b"m")),
            Action::End {
                reply: None,
                reason: EndReason::Protocol(_)
            }
        ));

        let mut s = Session::new();
        assert!(matches!(
            s.on_frame(frame(1, "open", b"commands=syslog")),
            Action::End { reply: Some(r), .. } if r.starts_with(b"1 rsp ") && r.windows(3).any(|w| w == b"500")
        ));
        let mut s = Session::new();
        assert!(matches!(
            s.on_frame(frame(1, "open", b"relp_version=0\ncommands=eventlog")),
            Action::End { reply: Some(r), .. } if r.windows(3).any(|w| w == b"500")
        ));
        let mut s = Session::new();
        open(&mut s, 1);
        assert!(matches!(
            s.on_frame(frame(2, "rsp", b"200 OK")),
            Action::End { reply: None, .. }
        ));
        let mut s = Session::new();
        open(&mut s, 1);
        assert_eq!(
            s.on_too_large(2),
            Action::End {
                reply: Some(b"2 rsp 19 500 frame too large\n".to_vec()),
                reason: EndReason::Protocol("frame larger than max_frame_bytes".into())
            }
        );
    }

    #[test]
    fn a_session_follows_the_wrap_of_transaction_numbers() {
        let mut s = Session::new();
        open(&mut s, 1);
        s.expected = MAX_TXNR;
        assert!(matches!(
            s.on_frame(frame(MAX_TXNR, "syslog", b"a")),
            Action::Store { .. }
        ));
        assert!(matches!(
            s.on_frame(frame(1, "syslog", b"b")),
            Action::Store { txnr: 1, .. }
        ));
    }

    /// A uuid as rsyslog 8.2302 printed it for `%uuid%`.
    const UUID: &str = "3BB341ED53324DBB8015C037E18730F9";

    fn take(ids: MessageIds, data: &[u8]) -> (MessageId, Vec<u8>) {
        let mut data = data.to_vec();
        let id = ids.take(&mut data);
        (id, data)
    }

    fn key() -> MessageId {
        MessageId::Key(format!("relp:{UUID}"))
    }

    #[test]
    fn a_valid_uuid_prefix_becomes_the_key_and_leaves_the_message() {
        let message = b"<13>2026-11-29T04:41:36.035489+00:00 host app: text".to_vec();
        let mut frame = format!("@uuid:{UUID} ").into_bytes();
        frame.extend_from_slice(&message);
        assert_eq!(take(MessageIds::RsyslogUuid, &frame), (key(), message));
        // Digits only, and nothing after the space: still an id, with an empty message.
        let digits = "01234567890123456789012345678901";
        assert_eq!(
            take(
                MessageIds::RsyslogUuid,
                format!("@uuid:{digits} ").as_bytes()
            ),
            (MessageId::Key(format!("relp:{digits}")), Vec::new())
        );
        // One space is the separator; a second belongs to the message.
        assert_eq!(
            take(
                MessageIds::RsyslogUuid,
                format!("@uuid:{UUID}  m").as_bytes()
            ),
            (key(), b" m".to_vec())
        );
        assert_eq!(
            split_rsyslog_uuid(format!("@uuid:{UUID} m\n").as_bytes()),
            Some((UUID, &b"m\n"[..]))
        );
    }

    /// Every frame `take` must leave whole, without a key.
    fn assert_missing(frames: &[String]) {
        for frame in frames {
            assert_eq!(
                take(MessageIds::RsyslogUuid, frame.as_bytes()),
                (MessageId::Missing, frame.clone().into_bytes()),
                "{frame:?}"
            );
        }
    }

    #[test]
    fn prefixes_with_the_wrong_number_of_digits_are_not_ids() {
        assert_missing(&[
            format!("@uuid:{} <13>m", &UUID[..31]),
            format!("@uuid:{UUID}0 <13>m"),
            "@uuid: <13>m".to_owned(),
            "@uuid:".to_owned(),
            format!("@uuid:{}", &UUID[..10]),
        ]);
    }

    #[test]
    fn prefixes_with_other_than_upper_case_hex_digits_are_not_ids() {
        assert_missing(&[
            format!("@uuid:{} <13>m", UUID.to_ascii_lowercase()),
            format!("@uuid:G{} <13>m", &UUID[1..]),
            format!("@uuid:{}é <13>m", &UUID[..30]),
            // The dashed form other tools print.
            "@uuid:3bb341ed-5332-4dbb-8015-c037e18730f9 <13>m".to_owned(),
        ]);
    }

    #[test]
    fn the_space_after_the_digits_is_required() {
        assert_missing(&[
            format!("@uuid:{UUID}<13>m"),
            format!("@uuid:{UUID}"),
            format!("@uuid:{UUID}\t<13>m"),
            format!("@uuid:{UUID}\n<13>m"),
        ]);
    }

    #[test]
    fn other_markers_are_not_ids() {
        assert_missing(&[
            format!("<13>@uuid:{UUID} m"),
            format!(" @uuid:{UUID} m"),
            format!("@UUID:{UUID} m"),
            format!("uuid:{UUID} m"),
            format!("@uuid={UUID} m"),
            format!("@cee:{UUID} m"),
            String::new(),
        ]);
    }

    #[test]
    fn without_message_ids_the_data_is_untouched() {
        for frame in [
            format!("@uuid:{UUID} <13>m"),
            format!("@uuid:{UUID}<13>m"),
            "<13>m".to_owned(),
        ] {
            assert_eq!(
                take(MessageIds::None, frame.as_bytes()),
                (MessageId::Off, frame.into_bytes())
            );
        }
        assert_eq!(MessageIds::default(), MessageIds::None);
    }

    fn arb_frame() -> impl Strategy<Value = Frame> {
        (
            0u32..=MAX_TXNR,
            "[a-zA-Z]{1,32}",
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(txnr, command, data)| Frame {
                txnr,
                command,
                data,
            })
    }

    proptest! {
        #[test]
        fn any_chunking_yields_the_same_frames(
            frames in proptest::collection::vec(arb_frame(), 0..20),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..30),
        ) {
            let stream: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut last = 0;
            for p in points {
                chunks.push(&stream[last..p]);
                last = p;
            }
            chunks.push(&stream[last..]);
            let (decoded, error) = decode_all(&chunks, 300);
            prop_assert_eq!(error, None);
            prop_assert_eq!(decoded, frames);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8),
            max in 0usize..100,
        ) {
            let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            let _ = decode_all(&refs, max);
            let whole: Vec<u8> = chunks.concat();
            let _ = parse_frame(&whole, max);
        }

        #[test]
        fn frames_with_valid_headers_and_noise_never_panic(
            txnr in 0u32..2_000_000_000,
            command in "[a-z ]{0,40}",
            len in 0usize..2_000_000_000,
            tail in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let mut bytes = format!("{txnr} {command} {len} ").into_bytes();
            bytes.extend_from_slice(&tail);
            let _ = parse_frame(&bytes, 1 << 20);
        }

        #[test]
        fn taking_an_id_removes_exactly_a_valid_prefix(
            data in proptest::collection::vec(any::<u8>(), 0..80),
            digits in "[0-9A-F]{32}",
            prefixed in any::<bool>(),
        ) {
            let mut frame = Vec::new();
            if prefixed {
                frame.extend_from_slice(format!("@uuid:{digits} ").as_bytes());
            }
            frame.extend_from_slice(&data);
            let (id, rest) = take(MessageIds::RsyslogUuid, &frame);
            match id {
                MessageId::Key(key) => {
                    let uuid = key.strip_prefix("relp:").unwrap();
                    prop_assert_eq!(uuid.len(), UUID_DIGITS);
                    let mut whole = format!("@uuid:{uuid} ").into_bytes();
                    whole.extend_from_slice(&rest);
                    prop_assert_eq!(&whole, &frame);
                }
                MessageId::Missing => {
                    prop_assert!(!prefixed);
                    prop_assert_eq!(&rest, &frame);
                }
                MessageId::Off => prop_assert!(false, "ids are on"),
            }
            if prefixed {
                prop_assert_eq!(take(MessageIds::RsyslogUuid, &frame).1, data);
            }
        }

        #[test]
        fn oversize_frames_are_always_refused(
            txnr in 1u32..=MAX_TXNR,
            max in 0usize..1000,
            extra in 1usize..1000,
        ) {
            let data = vec![b'x'; max + extra];
            let bytes = encode_frame(txnr, "syslog", &data);
            let refused = matches!(
                parse_frame(&bytes, max),
                Err(FrameError::TooLarge { length, .. }) if length == max + extra
            );
            prop_assert!(refused);
        }
    }
}
