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

/// An answer a [`Client`] got.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: http::HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (panics when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: the body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// An HTTPS client for one server on 127.0.0.1 that trusts exactly the certificate in a PEM
/// file: one connection per request, so that each request stands alone.
#[derive(Clone)]
pub struct Client {
    port: u16,
    connector: tokio_rustls::TlsConnector,
}

impl Client {
    /// A client of `127.0.0.1:port` trusting `cert`.
    pub fn new(port: u16, cert: &Path) -> Client {
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls_pki_types::CertificateDer::pem_file_iter(cert)
            .unwrap_or_else(|e| panic!("{}: {e}", cert.display()))
        {
            roots
                .add(c.unwrap_or_else(|e| panic!("{}: {e}", cert.display())))
                .unwrap_or_else(|e| panic!("{}: {e}", cert.display()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("TLS client configuration: {e}"))
            .with_root_certificates(roots)
            .with_no_client_auth();
        Client {
            port,
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }
    }

    /// Sends a request with `headers` and a body (JSON when `body` is `Some`).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Answer {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap_or_else(|e| panic!("connecting to 127.0.0.1:{}: {e}", self.port));
        let name =
            rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap_or_else(|e| panic!("{e}"));
        let tls = self
            .connector
            .connect(name, tcp)
            .await
            .unwrap_or_else(|e| panic!("TLS handshake: {e}"));
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap_or_else(|e| panic!("HTTP handshake: {e}"));
        tokio::spawn(connection);
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("127.0.0.1:{}", self.port));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let payload = match body {
            Some(json) => {
                request = request.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(json).unwrap_or_default())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(payload))
            .unwrap_or_else(|e| panic!("building the request: {e}"));
        let response = sender
            .send_request(request)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"))
            .to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }
}
