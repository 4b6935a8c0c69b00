//! TLS for the network sources: the server configuration (certificate chain and private key from
//! PEM files, optional client-certificate verification against a CA bundle), the handshake with
//! its timeout, and the client identity that goes into each envelope.
//!
//! # Cryptography provider
//!
//! rustls runs on the `ring` provider, not `aws-lc-rs`: `ring` builds in about 15 s on two cores
//! with only a C compiler, while `aws-lc-rs` compiles the much larger AWS-LC C library (and wants
//! CMake or NASM on some targets), several times longer on the same machine. Both offer the same
//! TLS 1.2 and 1.3 cipher suites to syslog and HTTPS clients. The client identity is read with
//! rustls-webpki (already part of rustls) and a small DER reader for the subject name, rather
//! than a full X.509 parser.
//!
//! # Client identity
//!
//! When [`TlsConfig::client_ca_file`] is set, every client must present a certificate that chains
//! to one of the CAs in that bundle, or the handshake fails. The client's identity is then the
//! subject common name (CN) of its certificate or, when the subject has no CN, its first DNS
//! subject alternative name; it is written as the bare value (`web-01.example.com`, not
//! `CN=web-01.example.com`). [`TlsConfig::allowed_clients`], when not empty, binds this source to
//! those identities: any other verified client is disconnected right after the handshake and
//! counted in `rejected_connections`. Without a CA bundle no client certificate is asked for, the
//! identity is empty, and `allowed_clients` must be empty.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::SourceError;

/// The TLS settings of a source (`[sources.NAME.tls]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the server certificate first, then any intermediate certificates.
    /// Required.
    pub cert_file: PathBuf,
    /// PEM file with the server's private key (PKCS#8, PKCS#1 or SEC1). Required.
    pub key_file: PathBuf,
    /// PEM bundle of the CAs that sign client certificates. When set, clients must present a
    /// certificate chained to one of them. Default: none (no client certificates asked for).
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// Client identities (certificate CN, or first DNS name) allowed to send to this source;
    /// others are disconnected after the handshake. Requires `client_ca_file`. Default: empty,
    /// any client with a valid certificate.
    #[serde(default)]
    pub allowed_clients: Vec<String>,
    /// Seconds a client has to complete the TLS handshake. Default: 10.
    #[serde(default = "default_handshake_timeout_secs")]
    pub handshake_timeout_secs: u64,
}

fn default_handshake_timeout_secs() -> u64 {
    10
}

impl TlsConfig {
    /// A configuration with the given certificate and key and every other field at its default.
    pub fn new(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        TlsConfig {
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            client_ca_file: None,
            allowed_clients: Vec::new(),
            handshake_timeout_secs: default_handshake_timeout_secs(),
        }
    }
}

/// Why a connection was turned away during or right after the TLS handshake.
#[derive(Debug, thiserror::Error)]
pub enum TlsRejection {
    /// The handshake did not finish within the timeout.
    #[error("TLS handshake timed out after {0:?}")]
    Timeout(Duration),
    /// The handshake failed (bad or missing client certificate, protocol error, closed early).
    #[error("TLS handshake failed: {0}")]
    Handshake(io::Error),
    /// The client's certificate is valid but its identity is not in `allowed_clients`.
    #[error("client {0:?} is not in this source's allowed_clients")]
    NotAllowed(String),
}

/// A TLS server ready to accept connections: built once from a [`TlsConfig`] at bind time.
#[derive(Clone)]
pub struct TlsServer {
    acceptor: TlsAcceptor,
    allowed: Arc<BTreeSet<String>>,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer")
            .field("allowed", &self.allowed)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsServer {
    /// Loads the certificate, key and CA bundle and builds the server configuration. `alpn` lists
    /// the application protocols offered (`http/1.1` for HTTPS; empty for syslog). `source` names
    /// the source in errors.
    pub fn new(source: &str, config: &TlsConfig, alpn: &[&[u8]]) -> Result<Self, SourceError> {
        let certs = load_certs(source, &config.cert_file)?;
        let key =
            PrivateKeyDer::from_pem_file(&config.key_file).map_err(|e| SourceError::File {
                name: source.to_owned(),
                path: config.key_file.clone(),
                message: format!("cannot read a PEM private key: {e}"),
            })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error(source, format!("TLS setup failed: {e}")))?;
        let builder = match &config.client_ca_file {
            Some(ca_file) => {
                let mut roots = RootCertStore::empty();
                for ca in load_certs(source, ca_file)? {
                    roots.add(ca).map_err(|e| SourceError::File {
                        name: source.to_owned(),
                        path: ca_file.clone(),
                        message: format!("not a usable CA certificate: {e}"),
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| {
                            config_error(source, format!("client certificate verifier: {e}"))
                        })?;
                builder.with_client_cert_verifier(verifier)
            }
            None => {
                if !config.allowed_clients.is_empty() {
                    return Err(config_error(
                        source,
                        "tls.allowed_clients needs tls.client_ca_file: without client \
                         certificates there is no identity to check"
                            .to_owned(),
                    ));
                }
                builder.with_no_client_auth()
            }
        };
        let mut server = builder
            .with_single_cert(certs, key)
            .map_err(|e| SourceError::File {
                name: source.to_owned(),
                path: config.key_file.clone(),
                message: format!("the key does not fit the certificate: {e}"),
            })?;
        server.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        if config.handshake_timeout_secs == 0 {
            return Err(config_error(
                source,
                "tls.handshake_timeout_secs must be at least 1".to_owned(),
            ));
        }
        Ok(TlsServer {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            allowed: Arc::new(config.allowed_clients.iter().cloned().collect()),
            handshake_timeout: Duration::from_secs(config.handshake_timeout_secs),
        })
    }

    /// Runs the handshake on an accepted connection, within the handshake timeout, and checks the
    /// client against `allowed_clients`. Returns the stream and the client identity (empty when
    /// no client certificate was asked for).
    pub async fn accept<S>(&self, stream: S) -> Result<(TlsStream<S>, String), TlsRejection>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let tls = tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(stream))
            .await
            .map_err(|_| TlsRejection::Timeout(self.handshake_timeout))?
            .map_err(TlsRejection::Handshake)?;
        let identity = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(client_identity)
            .unwrap_or_default();
        if !self.allowed.is_empty() && !self.allowed.contains(&identity) {
            return Err(TlsRejection::NotAllowed(identity));
        }
        Ok((tls, identity))
    }
}

fn config_error(source: &str, message: String) -> SourceError {
    SourceError::Config {
        name: source.to_owned(),
        message,
    }
}

fn load_certs(source: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, SourceError> {
    let file_error = |message: String| SourceError::File {
        name: source.to_owned(),
        path: path.to_path_buf(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(format!("cannot read PEM certificates: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(format!("cannot read PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(file_error("holds no PEM certificate".to_owned()));
    }
    Ok(certs)
}

/// The identity of a client certificate: its subject CN or, without one, its first DNS subject
/// alternative name; empty when it has neither or cannot be read.
pub fn client_identity(cert: &CertificateDer<'_>) -> String {
    let Ok(parsed) = webpki::EndEntityCert::try_from(cert) else {
        return String::new();
    };
    if let Some(cn) = common_name(parsed.subject()) {
        return cn;
    }
    parsed
        .valid_dns_names()
        .next()
        .map(str::to_owned)
        .unwrap_or_default()
}

/// The DER tag of OBJECT IDENTIFIER, SET and SEQUENCE.
const TAG_OID: u8 = 0x06;
const TAG_SET: u8 = 0x31;
const TAG_SEQUENCE: u8 = 0x30;
/// The encoded object identifier 2.5.4.3, `id-at-commonName`.
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// The first common name in an X.501 `Name` given as the contents of its outer SEQUENCE (a
/// sequence of SETs of `AttributeTypeAndValue` SEQUENCEs), as webpki returns it.
fn common_name(mut name: &[u8]) -> Option<String> {
    while !name.is_empty() {
        let (tag, mut rdn, rest) = der_element(name)?;
        name = rest;
        if tag != TAG_SET {
            return None;
        }
        while !rdn.is_empty() {
            let (tag, attribute, rest) = der_element(rdn)?;
            rdn = rest;
            if tag != TAG_SEQUENCE {
                return None;
            }
            let (oid_tag, oid, value) = der_element(attribute)?;
            if oid_tag == TAG_OID && oid == OID_COMMON_NAME {
                let (string_tag, bytes, _) = der_element(value)?;
                return directory_string(string_tag, bytes);
            }
        }
    }
    None
}

/// Decodes a `DirectoryString` (UTF8String, PrintableString, IA5String, TeletexString read as
/// Latin-1, BMPString).
fn directory_string(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        0x0c | 0x13 | 0x16 => std::str::from_utf8(bytes).ok().map(str::to_owned),
        0x14 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        0x1e => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|pair| Some(u16::from_be_bytes([*pair.first()?, *pair.get(1)?])))
                .collect::<Option<_>>()?;
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// Splits one DER element off `input`: its tag, its contents and what follows it. Only
/// single-byte tags and definite lengths of up to four bytes are read (all a certificate name
/// needs); anything else is `None`.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let mut len = 0usize;
        for _ in 0..count {
            let (&byte, after) = rest.split_first()?;
            len = (len << 8) | usize::from(byte);
            rest = after;
        }
        len
    };
    if rest.len() < len {
        return None;
    }
    let (contents, after) = rest.split_at(len);
    Some((tag, contents, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER of a name: SET { SEQUENCE { OID, value } } per attribute.
    fn name(attributes: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (oid, tag, value) in attributes {
            let mut atv = vec![TAG_OID, oid.len() as u8];
            atv.extend_from_slice(oid);
            atv.extend_from_slice(&[*tag, value.len() as u8]);
            atv.extend_from_slice(value);
            let mut seq = vec![TAG_SEQUENCE, atv.len() as u8];
            seq.extend(atv);
            out.extend_from_slice(&[TAG_SET, seq.len() as u8]);
            out.extend(seq);
        }
        out
    }

    const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];

    #[test]
    fn common_name_is_found_after_other_attributes() {
        let der = name(&[
            (OID_ORGANIZATION, 0x0c, b"Example"),
            (OID_COMMON_NAME, 0x13, b"web-01"),
        ]);
        assert_eq!(common_name(&der).as_deref(), Some("web-01"));
    }

    #[test]
    fn bmp_and_teletex_strings_are_decoded() {
        let der = name(&[(OID_COMMON_NAME, 0x1e, &[0x00, b'h', 0x00, 0xe9])]);
        assert_eq!(common_name(&der).as_deref(), Some("hé"));
        let der = name(&[(OID_COMMON_NAME, 0x14, &[b'h', 0xe9])]);
        assert_eq!(common_name(&der).as_deref(), Some("hé"));
    }

    #[test]
    fn a_name_without_cn_or_damaged_gives_none() {
        let der = name(&[(OID_ORGANIZATION, 0x0c, b"Example")]);
        assert_eq!(common_name(&der), None);
        let der = name(&[(OID_COMMON_NAME, 0x0c, b"web-01")]);
        for cut in 0..der.len() {
            assert_eq!(common_name(&der[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn long_form_lengths_are_read() {
        let value = vec![b'a'; 200];
        let mut atv = vec![TAG_OID, 3, 0x55, 0x04, 0x03, 0x0c, 0x81, 200];
        atv.extend_from_slice(&value);
        let mut seq = vec![TAG_SEQUENCE, 0x81, atv.len() as u8];
        seq.extend(atv);
        let mut der = vec![TAG_SET, 0x81, seq.len() as u8];
        der.extend(seq);
        assert_eq!(common_name(&der), Some("a".repeat(200)));
    }
}
