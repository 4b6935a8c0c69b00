//! Syslog over TLS (RFC 5425): each alert as one RFC 5424 message, its JSON as the message
//! text, octet-counted on a TLS connection to the collector.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use shieldwall_core::Severity;
use tokio::io::AsyncWriteExt;

use crate::{ConfigError, DeliveryError, Message, address, tls};

/// The facility of our messages: security/authorisation (10), as the collector's filters expect
/// of security tools.
const FACILITY: u8 = 10;

/// A syslog channel.
#[derive(Debug, Clone)]
pub struct Syslog {
    host: String,
    port: u16,
    config: Arc<ClientConfig>,
    allow_private: bool,
    timeout: Duration,
}

/// The syslog severity of an alert severity.
fn syslog_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 2,
        Severity::High => 3,
        Severity::Medium => 4,
        Severity::Low => 5,
        Severity::Info => 6,
    }
}

/// The RFC 5424 message of `message`, octet-counted (RFC 5425 framing).
pub fn frame(message: &Message, hostname: &str) -> Vec<u8> {
    let pri = u16::from(FACILITY) * 8 + u16::from(syslog_severity(message.severity));
    let time = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ");
    let host: String = hostname
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    let host = if host.is_empty() {
        "-".to_owned()
    } else {
        host
    };
    let text = format!(
        "<{pri}>1 {time} {host} shieldwall - alert [shieldwall@32473 delivery=\"{}\"] {}",
        message.delivery, message.alert
    );
    let mut out = format!("{} ", text.len()).into_bytes();
    out.extend_from_slice(text.as_bytes());
    out
}

impl Syslog {
    /// A channel to `host:port`.
    pub fn new(
        host: String,
        port: u16,
        ca_file: Option<&std::path::Path>,
        allow_private: bool,
        timeout: Duration,
    ) -> Result<Syslog, ConfigError> {
        Ok(Syslog {
            config: tls::client_config(ca_file)?,
            host,
            port,
            allow_private,
            timeout,
        })
    }

    /// One attempt: connect, send the message, close.
    pub async fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        crate::within(
            self.timeout,
            &format!("syslog {}", self.host),
            self.send(message),
        )
        .await
    }

    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        let addresses = address::resolve(&self.host, self.port, self.allow_private).await?;
        let tcp = address::connect(&self.host, &addresses, self.timeout).await?;
        let mut stream = tls::connect(&self.config, &self.host, tcp).await?;
        let local = hostname();
        let io = |e: std::io::Error| DeliveryError::retry(format!("syslog {}: {e}", self.host));
        stream
            .write_all(&frame(message, &local))
            .await
            .map_err(io)?;
        stream.flush().await.map_err(io)?;
        stream.shutdown().await.map_err(io)?;
        Ok(())
    }
}

/// This machine's name, for the HOSTNAME field.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}
