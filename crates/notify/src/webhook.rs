//! Webhooks: the alert as JSON in an HTTPS POST, signed with HMAC-SHA256 over the timestamp and
//! the body, so that the receiver can check it came from us and is fresh.
//!
//! Headers: `X-Shieldwall-Delivery` (the outbox id, the same on retries),
//! `X-Shieldwall-Timestamp` (Unix seconds), `X-Shieldwall-Signature`
//! (`sha256=` and the hex HMAC of `TIMESTAMP.BODY` with the channel's secret). Any 2xx answer is
//! a delivery.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;

use crate::{ConfigError, DeliveryError, Message, address, tls};

/// The most of a refusal's body quoted in the error.
const MAX_ERROR_BODY: usize = 512;

/// A webhook channel.
#[derive(Clone)]
pub struct Webhook {
    uri: Uri,
    /// `scheme://host:port`, for messages: the path and query of many hooks carry a token.
    shown: String,
    host: String,
    port: u16,
    secret: Vec<u8>,
    tls: Option<Arc<ClientConfig>>,
    allow_private: bool,
    timeout: Duration,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("target", &self.shown)
            .field("secret", &"(hidden)")
            .finish_non_exhaustive()
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `timestamp.body` with `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let mut context = ring::hmac::Context::with_key(&key);
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    let tag = context.sign();
    let mut hex = String::with_capacity(71);
    hex.push_str("sha256=");
    for byte in tag.as_ref() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

impl Webhook {
    /// A webhook to `url`; `https` unless `allow_plain`.
    pub fn new(
        url: &str,
        secret: Vec<u8>,
        ca_file: Option<&std::path::Path>,
        allow_private: bool,
        allow_plain: bool,
        timeout: Duration,
    ) -> Result<Webhook, ConfigError> {
        // The URL is never quoted in errors: its path may be a secret token.
        let uri: Uri = url
            .parse()
            .map_err(|e| ConfigError(format!("the url does not parse: {e}")))?;
        let secure = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if allow_plain => false,
            Some("http") => {
                return Err(ConfigError(
                    "the url is plain http; use https, or set allow_plain = true".into(),
                ));
            }
            _ => return Err(ConfigError("the url is not an http(s) URL".into())),
        };
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(ConfigError(
                "the url holds credentials (user@); use secret_file for the signing key instead"
                    .into(),
            ));
        }
        let host = uri
            .host()
            .ok_or_else(|| ConfigError("the url has no host".into()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        if secret.len() < 16 {
            return Err(ConfigError(
                "the HMAC secret is shorter than 16 bytes; use a long random one".into(),
            ));
        }
        Ok(Webhook {
            tls: secure.then(|| tls::client_config(ca_file)).transpose()?,
            shown: format!("{}://{host}:{port}", if secure { "https" } else { "http" }),
            uri,
            host,
            port,
            secret,
            allow_private,
            timeout,
        })
    }

    /// One POST of the alert.
    pub async fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        crate::within(self.timeout, &self.shown, self.post(message)).await
    }

    async fn post(&self, message: &Message) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&message.alert)
            .map_err(|e| DeliveryError::permanent(format!("encoding the alert: {e}")))?;
        let timestamp = jiff::Timestamp::now().as_second();
        let path = self
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let authority = self
            .uri
            .authority()
            .map_or_else(|| self.host.clone(), |a| a.as_str().to_owned());
        let request = http::Request::post(path)
            .header(http::header::HOST, authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(
                http::header::USER_AGENT,
                concat!("shieldwall/", env!("CARGO_PKG_VERSION")),
            )
            .header("x-shieldwall-delivery", message.delivery.to_string())
            .header("x-shieldwall-timestamp", timestamp.to_string())
            .header(
                "x-shieldwall-signature",
                signature(&self.secret, timestamp, &body),
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| DeliveryError::permanent(format!("building the request: {e}")))?;
        let addresses = address::resolve(&self.host, self.port, self.allow_private).await?;
        let tcp = address::connect(&self.host, &addresses, self.timeout).await?;
        let response = match &self.tls {
            Some(config) => send(tls::connect(config, &self.host, tcp).await?, request).await?,
            None => send(tcp, request).await?,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // Only the start of a refusal is read: a receiver may send without end.
        let mut body = response.into_body();
        let mut excerpt = Vec::new();
        while excerpt.len() < MAX_ERROR_BODY {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        excerpt.extend_from_slice(data);
                    }
                }
                _ => break,
            }
        }
        excerpt.truncate(MAX_ERROR_BODY);
        Err(DeliveryError::retry(format!(
            "{} answered {status}: {}",
            self.shown,
            String::from_utf8_lossy(&excerpt).trim()
        )))
    }
}

async fn send<S>(
    stream: S,
    request: http::Request<Full<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, DeliveryError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| DeliveryError::retry(format!("HTTP: {e}")))?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| DeliveryError::retry(format!("HTTP: {e}")));
    drop(sender);
    let response = response?;
    // The connection ends once the response is read; the driver is not awaited further.
    drop(driver);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_timestamp_and_the_body() {
        // HMAC-SHA256("key", "1700000000.{}") computed independently with Python's hmac module.
        let s = signature(b"key", 1_700_000_000, b"{}");
        assert_eq!(
            s,
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(s, signature(b"key", 1_700_000_001, b"{}"));
        assert_ne!(s, signature(b"key", 1_700_000_000, b"[]"));
        assert_eq!(s.len(), 71);
    }

    #[test]
    fn plain_http_and_short_secrets_are_refused() {
        let t = Duration::from_secs(1);
        let key = b"0123456789abcdef".to_vec();
        let e =
            Webhook::new("http://example.com/h", key.clone(), None, false, false, t).unwrap_err();
        assert!(e.0.contains("allow_plain"), "{e}");
        assert!(Webhook::new("http://example.com/h", key.clone(), None, false, true, t).is_ok());
        let e = Webhook::new(
            "https://example.com/h",
            b"short".to_vec(),
            None,
            false,
            false,
            t,
        )
        .unwrap_err();
        assert!(e.0.contains("16 bytes"), "{e}");
        let e =
            Webhook::new("ftp://example.com/h", key.clone(), None, false, false, t).unwrap_err();
        assert!(e.0.contains("not an http"), "{e}");
        let e = Webhook::new("https://u:p@example.com/h", key, None, false, false, t).unwrap_err();
        assert!(e.0.contains("credentials") && !e.0.contains("u:p"), "{e}");
    }
}
