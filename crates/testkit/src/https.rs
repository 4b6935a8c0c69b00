//! Servers with TLS on 127.0.0.1 for tests: a self-signed certificate for `localhost` and
//! `127.0.0.1` (written as PEM files, so the client under test can be told to trust it), a TLS
//! acceptor for it, and an HTTPS receiver that records every request and answers a fixed status.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use tokio::net::TcpListener;

/// A certificate for localhost and 127.0.0.1 as PEM files in `dir`: (certificate, key).
pub fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap_or_else(|e| panic!("generating a test certificate: {e}"));
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    };
    write(&c, cert.cert.pem());
    write(&k, cert.signing_key.serialize_pem());
    (c, k)
}

/// A TLS acceptor serving the certificate and key in these PEM files.
pub fn acceptor(cert: &Path, key: &Path) -> tokio_rustls::TlsAcceptor {
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| panic!("{}: {e}", cert.display()));
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key)
        .unwrap_or_else(|e| panic!("{}: {e}", key.display()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .unwrap_or_else(|e| panic!("TLS server configuration: {e}"));
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request line's path and query.
    pub path: String,
    /// Its headers.
    pub headers: http::HeaderMap,
    /// Its body.
    pub body: Bytes,
}

/// The requests a receiver got, in order.
pub type Requests = Arc<Mutex<Vec<Received>>>;

/// Starts an HTTPS receiver on 127.0.0.1 (in the current tokio runtime) answering every request
/// with `status` and the body `receiver says no` (or nothing for 2xx). Returns its port and what
/// it receives.
pub async fn receiver(cert: &Path, key: &Path, status: u16) -> (u16, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("binding the receiver: {e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("receiver address: {e}"))
        .port();
    let acceptor = acceptor(cert, key);
    let seen: Requests = Arc::default();
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |request: http::Request<hyper::body::Incoming>| {
                        let record = Arc::clone(&record);
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            if let Ok(mut seen) = record.lock() {
                                seen.push(Received {
                                    path: parts
                                        .uri
                                        .path_and_query()
                                        .map(ToString::to_string)
                                        .unwrap_or_default(),
                                    headers: parts.headers,
                                    body,
                                });
                            }
                            let text: &'static [u8] = if (200..300).contains(&status) {
                                b""
                            } else {
                                b"receiver says no"
                            };
                            let mut response =
                                http::Response::new(Full::new(Bytes::from_static(text)));
                            *response.status_mut() = http::StatusCode::from_u16(status)
                                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (port, seen)
}
