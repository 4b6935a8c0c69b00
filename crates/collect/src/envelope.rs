//! The spool record: one accepted message with what the collector knew when it accepted it.
//!
//! Encoding (all integers little-endian), version 2:
//!
//! ```text
//! u8  version = 2
//! i64 received, nanoseconds since the Unix epoch
//! u16 length + UTF-8   source name
//! u16 length + UTF-8   peer ("203.0.113.5:514", a file path, "-" for stdin; may be empty)
//! u16 length + UTF-8   client identity (TLS client certificate subject; may be empty)
//! u16 length + UTF-8   key: the message's stable identity in its source (may be empty)
//! u32 length + bytes   the message as received (not necessarily UTF-8)
//! ```
//!
//! Version 1 records (without the key) are still read, so a spool written by the previous
//! release drains after an upgrade.
//!
//! The spool checksums each record, so the envelope carries no checksum of its own; decoding is
//! still defensive, because a damaged spool or a future version must yield an error, never a
//! misread.

use jiff::Timestamp;

/// The current envelope version.
pub const ENVELOPE_VERSION: u8 = 2;

/// One accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The source's configured name.
    pub source: String,
    /// When the collector accepted it.
    pub received: Timestamp,
    /// Who sent it: a socket address, a file path, `-` for standard input.
    pub peer: String,
    /// The authenticated sender, when the transport authenticates (TLS client certificates).
    pub client_identity: String,
    /// What identifies this message within its source across re-reads and retries, when the
    /// source knows: a file position (`file:<path>:<inode>:<offset>`), an HTTP client's
    /// `Idempotency-Key` with the message's index (`http:<key>:<index>`), rsyslog's message uuid
    /// sent over RELP (`relp:<uuid>`). Empty otherwise; the event id then derives from the spool
    /// position.
    pub key: String,
    /// The message as received.
    pub payload: Vec<u8>,
}

/// Why a spool record is not a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The record ended early.
    #[error("envelope truncated while reading its {0}")]
    Truncated(&'static str),
    /// An unknown version.
    #[error(
        "envelope version {0} is not supported (this build reads versions 1 to {ENVELOPE_VERSION})"
    )]
    Version(u8),
    /// A text field is not UTF-8.
    #[error("envelope field {0} is not UTF-8")]
    NotUtf8(&'static str),
    /// A receive time outside the range of timestamps.
    #[error("envelope receive time {0} ns is out of range")]
    Time(i64),
    /// Bytes after the payload.
    #[error("envelope has {0} bytes after its payload")]
    Trailing(usize),
}

impl Envelope {
    /// Serialises the envelope for the spool. Text fields longer than 65,535 bytes are cut at a
    /// character boundary (they are names and addresses; the payload is never cut).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            1 + 8
                + 6
                + 4
                + self.source.len()
                + self.peer.len()
                + self.client_identity.len()
                + self.payload.len(),
        );
        out.push(ENVELOPE_VERSION);
        let nanos = i64::try_from(self.received.as_nanosecond()).unwrap_or(i64::MAX);
        out.extend_from_slice(&nanos.to_le_bytes());
        for text in [&self.source, &self.peer, &self.client_identity, &self.key] {
            let text = cut(text, usize::from(u16::MAX));
            out.extend_from_slice(&(text.len() as u16).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
        let payload_len = u32::try_from(self.payload.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&payload_len.to_le_bytes());
        out.extend_from_slice(
            self.payload
                .get(..payload_len as usize)
                .unwrap_or(&self.payload),
        );
        out
    }

    /// Reads an envelope written by [`Envelope::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        let mut r = Reader(bytes);
        let version = r.take(1, "version")?.first().copied().unwrap_or(0);
        if version != ENVELOPE_VERSION && version != 1 {
            return Err(EnvelopeError::Version(version));
        }
        let nanos = i64::from_le_bytes(r.array("receive time")?);
        let received =
            Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or(Timestamp::UNIX_EPOCH);
        let source = r.text("source")?;
        let peer = r.text("peer")?;
        let client_identity = r.text("client identity")?;
        let key = if version >= 2 {
            r.text("key")?
        } else {
            String::new()
        };
        let len = u32::from_le_bytes(r.array("payload length")?);
        let payload = r.take(len as usize, "payload")?.to_vec();
        if !r.0.is_empty() {
            return Err(EnvelopeError::Trailing(r.0.len()));
        }
        Ok(Envelope {
            source,
            received,
            peer,
            client_identity,
            key,
            payload,
        })
    }
}

fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or("")
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], EnvelopeError> {
        if self.0.len() < n {
            return Err(EnvelopeError::Truncated(what));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], EnvelopeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn text(&mut self, what: &'static str) -> Result<String, EnvelopeError> {
        let len = u16::from_le_bytes(self.array(what)?);
        let bytes = self.take(usize::from(len), what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| EnvelopeError::NotUtf8(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Envelope {
        Envelope {
            source: "syslog-tcp".into(),
            received: "2026-11-29T01:02:03.456789Z".parse().unwrap(),
            peer: "192.0.2.7:51514".into(),
            client_identity: "CN=web-01".into(),
            key: "file:/var/log/auth.log:42:1000".into(),
            payload: b"<13>Nov 29 01:02:03 web-01 sshd[7]: hello".to_vec(),
        }
    }

    #[test]
    fn round_trips() {
        let e = sample();
        assert_eq!(Envelope::decode(&e.encode()).unwrap(), e);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert!(Envelope::decode(&bytes[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn unknown_version_is_refused() {
        let mut bytes = sample().encode();
        bytes[0] = 3;
        assert_eq!(Envelope::decode(&bytes), Err(EnvelopeError::Version(3)));
    }

    #[test]
    fn version_1_records_are_read_with_an_empty_key() {
        let e = sample();
        let mut v1 = vec![1u8];
        v1.extend_from_slice(
            &i64::try_from(e.received.as_nanosecond())
                .unwrap()
                .to_le_bytes(),
        );
        for text in [&e.source, &e.peer, &e.client_identity] {
            v1.extend_from_slice(&(text.len() as u16).to_le_bytes());
            v1.extend_from_slice(text.as_bytes());
        }
        v1.extend_from_slice(&(e.payload.len() as u32).to_le_bytes());
        v1.extend_from_slice(&e.payload);
        let back = Envelope::decode(&v1).unwrap();
        assert_eq!(back.key, "");
        assert_eq!(back.payload, e.payload);
        assert_eq!(back.client_identity, e.client_identity);
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let mut e = sample();
        e.source = "é".repeat(40_000);
        let back = Envelope::decode(&e.encode()).unwrap();
        assert!(back.source.len() <= 65_535);
        assert!(back.source.chars().all(|c| c == 'é'));
        assert_eq!(back.payload, e.payload);
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Envelope::decode(&bytes);
        }

        #[test]
        fn any_envelope_round_trips(source in ".{0,20}", peer in ".{0,20}", payload in proptest::collection::vec(any::<u8>(), 0..300), nanos in any::<i64>()) {
            let e = Envelope {
                source, peer, client_identity: String::new(), key: String::new(), payload,
                received: Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or(Timestamp::UNIX_EPOCH),
            };
            prop_assert_eq!(Envelope::decode(&e.encode()).unwrap(), e);
        }
    }
}
