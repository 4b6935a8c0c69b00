//! E-mail over SMTP submission (RFC 6409): STARTTLS by default (and required: a server that does
//! not offer it is refused rather than sent to in clear), TLS from the first byte, or plain only
//! when set explicitly. AUTH PLAIN is only sent over TLS. The alert goes as a plain text mail,
//! base64-encoded (so no line of it can end the data early); a scheduled report goes as a
//! multipart mail with its files attached, every part base64-encoded. A server's SIZE limit
//! (RFC 1870) is declared and respected: a mail larger than it is not sent.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls::ClientConfig;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::{ConfigError, DeliveryError, Message, address, tls};

/// The longest reply line read.
const MAX_LINE: usize = 4096;
/// The most lines one reply may have.
const MAX_REPLY_LINES: usize = 100;
/// The largest mail composed: more than most servers take, and a bound on memory.
pub const MAX_MAIL_BYTES: usize = 25 * 1024 * 1024;
/// The MIME boundary. Every part is base64, whose alphabet has no `_` and puts `=` only at a
/// line's end, so no line of a part can contain `=_`: the boundary never needs to be random.
const BOUNDARY: &str = "=_shieldwall_part";

/// A file sent with a mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its file name; characters other than letters, digits, `.`, `-` and `_` are replaced.
    pub filename: String,
    /// Its media type, such as `application/pdf`.
    pub content_type: &'static str,
    /// Its content.
    pub bytes: Vec<u8>,
}

/// One e-mail: an alert's, or a scheduled report's with its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The delivery's id, in `Message-ID` and `X-Shieldwall-Delivery`: the same on every retry,
    /// so that a receiver can drop duplicates.
    pub delivery: String,
    /// The subject (line breaks become spaces).
    pub subject: String,
    /// The body, plain text.
    pub text: String,
    /// Files attached.
    pub attachments: Vec<Attachment>,
}

impl Mail {
    /// The mail of an alert's notification.
    pub fn of_alert(message: &Message) -> Mail {
        Mail {
            delivery: message.delivery.to_string(),
            subject: message.subject.clone(),
            text: message.text.clone(),
            attachments: Vec::new(),
        }
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTls {
    /// Plain connection upgraded with STARTTLS, which must be offered (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only on explicit setting.
    None,
}

/// An e-mail channel.
#[derive(Clone)]
pub struct Email {
    host: String,
    port: u16,
    tls: EmailTls,
    from: String,
    to: Vec<String>,
    auth: Option<(String, String)>,
    config: Option<Arc<ClientConfig>>,
    allow_private: bool,
    timeout: Duration,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

fn check_address(address: &str) -> Result<(), ConfigError> {
    let ok = address.contains('@')
        && address.len() <= 254
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError(format!(
            "{address:?} is not a plain e-mail address"
        )))
    }
}

impl Email {
    /// An e-mail channel; `port` defaults by `tls`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        host: String,
        port: Option<u16>,
        tls: EmailTls,
        from: String,
        to: Vec<String>,
        auth: Option<(String, String)>,
        ca_file: Option<&std::path::Path>,
        allow_private: bool,
        timeout: Duration,
    ) -> Result<Email, ConfigError> {
        check_address(&from)?;
        for t in &to {
            check_address(t)?;
        }
        if auth.is_some() && tls == EmailTls::None {
            return Err(ConfigError(
                "a password is never sent without TLS: use tls = \"starttls\" or \"tls\"".into(),
            ));
        }
        Ok(Email {
            port: port.unwrap_or(match tls {
                EmailTls::Tls => 465,
                EmailTls::Starttls | EmailTls::None => 587,
            }),
            config: (tls != EmailTls::None)
                .then(|| tls::client_config(ca_file))
                .transpose()?,
            host,
            tls,
            from,
            to,
            auth,
            allow_private,
            timeout,
        })
    }

    /// One attempt to send the alert to every recipient.
    pub async fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        self.deliver_mail(&Mail::of_alert(message)).await
    }

    /// One attempt to send a mail to every recipient. A mail over [`MAX_MAIL_BYTES`] or over the
    /// server's SIZE limit is refused for good.
    pub async fn deliver_mail(&self, mail: &Mail) -> Result<(), DeliveryError> {
        let composed = self.compose(mail)?;
        crate::within(
            self.timeout,
            &format!("SMTP {}", self.host),
            self.send(&composed),
        )
        .await
    }

    async fn tls_wrap<S>(
        &self,
        stream: S,
    ) -> Result<tokio_rustls::client::TlsStream<S>, DeliveryError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let config = self
            .config
            .as_ref()
            .ok_or_else(|| DeliveryError::permanent("TLS is not configured".into()))?;
        tls::connect(config, &self.host, stream).await
    }

    async fn send(&self, message: &str) -> Result<(), DeliveryError> {
        let addresses = address::resolve(&self.host, self.port, self.allow_private).await?;
        let tcp = address::connect(&self.host, &addresses, self.timeout).await?;
        match self.tls {
            EmailTls::Tls => {
                let mut conn = Conn::new(self.tls_wrap(tcp).await?, &self.host);
                conn.expect(220).await?;
                let capabilities = conn.ehlo().await?;
                self.transaction(&mut conn, &capabilities, message, true)
                    .await
            }
            EmailTls::None => {
                let mut conn = Conn::new(tcp, &self.host);
                conn.expect(220).await?;
                let capabilities = conn.ehlo().await?;
                self.transaction(&mut conn, &capabilities, message, false)
                    .await
            }
            EmailTls::Starttls => {
                let mut conn = Conn::new(tcp, &self.host);
                conn.expect(220).await?;
                let capabilities = conn.ehlo().await?;
                if !capabilities.iter().any(|c| {
                    c.split_whitespace()
                        .next()
                        .is_some_and(|w| w.eq_ignore_ascii_case("STARTTLS"))
                }) {
                    return Err(DeliveryError::retry(format!(
                        "SMTP {} does not offer STARTTLS; refusing to send in clear (set tls = \"none\" to allow it)",
                        self.host
                    )));
                }
                conn.command("STARTTLS", 220).await?;
                let plain = conn.into_inner()?;
                let mut conn = Conn::new(self.tls_wrap(plain).await?, &self.host);
                // Only what the server says under TLS counts.
                let capabilities = conn.ehlo().await?;
                self.transaction(&mut conn, &capabilities, message, true)
                    .await
            }
        }
    }

    async fn transaction<S>(
        &self,
        conn: &mut Conn<S>,
        capabilities: &[String],
        message: &str,
        secure: bool,
    ) -> Result<(), DeliveryError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if let Some((user, password)) = &self.auth {
            if !secure {
                return Err(DeliveryError::permanent("refusing AUTH without TLS".into()));
            }
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
            conn.command_secret(&format!("AUTH PLAIN {token}"), 235)
                .await?;
        }
        // RFC 1870: a server that states a limit is told the size, and not sent more.
        let limit = capabilities.iter().find_map(|c| {
            let mut words = c.split_whitespace();
            let keyword = words.next()?;
            keyword
                .eq_ignore_ascii_case("SIZE")
                .then(|| words.next().and_then(|n| n.parse::<usize>().ok()))
                .flatten()
        });
        let mail_from = match limit {
            Some(limit) if limit > 0 && message.len() > limit => {
                return Err(DeliveryError::permanent(format!(
                    "the mail has {} bytes; SMTP {} accepts at most {limit}",
                    message.len(),
                    self.host
                )));
            }
            Some(_) => format!("MAIL FROM:<{}> SIZE={}", self.from, message.len()),
            None => format!("MAIL FROM:<{}>", self.from),
        };
        conn.command(&mail_from, 250).await?;
        for to in &self.to {
            conn.command_any(&format!("RCPT TO:<{to}>"), &[250, 251])
                .await?;
        }
        conn.command("DATA", 354).await?;
        conn.write(message.as_bytes()).await?;
        conn.command(".", 250).await?;
        // The message is accepted; a failed QUIT changes nothing.
        let _ = conn.command("QUIT", 221).await;
        Ok(())
    }

    /// The mail, with CRLF line ends, ready for DATA (without the final dot).
    fn compose(&self, mail: &Mail) -> Result<String, DeliveryError> {
        let too_large = || {
            DeliveryError::permanent(format!(
                "the mail would be larger than {MAX_MAIL_BYTES} bytes; not sent"
            ))
        };
        let subject = mail.subject.replace(['\r', '\n'], " ");
        let date = jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S +0000");
        let domain = self.from.rsplit_once('@').map_or("localhost", |(_, d)| d);
        // The id goes into headers: only the characters an id may have.
        let delivery: String = mail
            .delivery
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
            .take(64)
            .collect();
        let mut out = String::new();
        out.push_str(&format!("Date: {date}\r\n"));
        out.push_str(&format!("From: <{}>\r\n", self.from));
        let to: Vec<String> = self.to.iter().map(|t| format!("<{t}>")).collect();
        out.push_str(&format!("To: {}\r\n", to.join(", ")));
        out.push_str(&format!("Subject: {}\r\n", encoded_words(&subject)));
        out.push_str(&format!("Message-ID: <shieldwall-{delivery}@{domain}>\r\n"));
        out.push_str(&format!("X-Shieldwall-Delivery: {delivery}\r\n"));
        out.push_str("MIME-Version: 1.0\r\n");
        let text_headers = "Content-Type: text/plain; charset=utf-8\r\n\
                            Content-Transfer-Encoding: base64\r\n\r\n";
        if mail.attachments.is_empty() {
            out.push_str(text_headers);
            push_base64(&mut out, mail.text.as_bytes());
        } else {
            out.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"{BOUNDARY}\"\r\n\r\n"
            ));
            out.push_str(&format!("--{BOUNDARY}\r\n{text_headers}"));
            push_base64(&mut out, mail.text.as_bytes());
            for file in &mail.attachments {
                let name = safe_filename(&file.filename);
                out.push_str(&format!(
                    "--{BOUNDARY}\r\nContent-Type: {}; name=\"{name}\"\r\n\
                     Content-Disposition: attachment; filename=\"{name}\"\r\n\
                     Content-Transfer-Encoding: base64\r\n\r\n",
                    file.content_type
                ));
                // Checked before encoding, so that a huge file is never copied.
                if out.len().saturating_add(file.bytes.len().div_ceil(3) * 4) > MAX_MAIL_BYTES {
                    return Err(too_large());
                }
                push_base64(&mut out, &file.bytes);
            }
            out.push_str(&format!("--{BOUNDARY}--\r\n"));
        }
        if out.len() > MAX_MAIL_BYTES {
            return Err(too_large());
        }
        Ok(out)
    }
}

/// A header text as RFC 2047 encoded words of 64 characters at most (39 bytes of text, never
/// splitting a character), folded onto continuation lines, so that even the first line, after
/// `Subject: `, stays within RFC 5322's 78 characters.
fn encoded_words(text: &str) -> String {
    const CHUNK: usize = 39;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > CHUNK {
            words.push(format!("=?utf-8?B?{}?=", b64.encode(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    words.push(format!("=?utf-8?B?{}?=", b64.encode(chunk.as_bytes())));
    words.join("\r\n ")
}

/// `bytes` in base64, in lines of 76 characters ending in CRLF.
fn push_base64(out: &mut String, bytes: &[u8]) {
    let body = base64::engine::general_purpose::STANDARD.encode(bytes);
    for chunk in body.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push_str("\r\n");
    }
}

/// A file name safe inside a quoted header parameter: letters, digits, `.`, `-` and `_`,
/// at most 100 characters, never empty.
fn safe_filename(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if safe.is_empty() {
        "attachment".to_owned()
    } else {
        safe
    }
}

/// An SMTP conversation: commands out, replies in, with bounded reads.
struct Conn<S> {
    stream: S,
    buffer: Vec<u8>,
    host: String,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn new(stream: S, host: &str) -> Conn<S> {
        Conn {
            stream,
            buffer: Vec::new(),
            host: host.to_owned(),
        }
    }

    /// The stream, for the TLS upgrade. Bytes the server sent after its STARTTLS reply would be
    /// read as if protected by TLS (an injection attack), so they are refused.
    fn into_inner(self) -> Result<S, DeliveryError> {
        if !self.buffer.is_empty() {
            return Err(DeliveryError::retry(format!(
                "SMTP {} sent data after its STARTTLS reply; refused",
                self.host
            )));
        }
        Ok(self.stream)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), DeliveryError> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| DeliveryError::retry(format!("SMTP {}: {e}", self.host)))
    }

    async fn line(&mut self) -> Result<String, DeliveryError> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return Ok(String::from_utf8_lossy(&line).trim_end().to_owned());
            }
            if self.buffer.len() > MAX_LINE {
                return Err(DeliveryError::retry(format!(
                    "SMTP {}: reply line too long",
                    self.host
                )));
            }
            let mut chunk = [0u8; 1024];
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| DeliveryError::retry(format!("SMTP {}: {e}", self.host)))?;
            if n == 0 {
                return Err(DeliveryError::retry(format!(
                    "SMTP {}: connection closed",
                    self.host
                )));
            }
            self.buffer.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        }
    }

    /// A reply: its code and the text of each line.
    async fn reply(&mut self) -> Result<(u16, Vec<String>), DeliveryError> {
        let mut lines = Vec::new();
        loop {
            let line = self.line().await?;
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| {
                    DeliveryError::retry(format!("SMTP {}: not a reply: {line:?}", self.host))
                })?;
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line.get(4..).unwrap_or("").to_owned());
            if !more {
                return Ok((code, lines));
            }
            if lines.len() >= MAX_REPLY_LINES {
                return Err(DeliveryError::retry(format!(
                    "SMTP {}: reply too long",
                    self.host
                )));
            }
        }
    }

    async fn expect(&mut self, want: u16) -> Result<Vec<String>, DeliveryError> {
        self.expect_any(&[want], "the greeting").await
    }

    async fn expect_any(
        &mut self,
        want: &[u16],
        after: &str,
    ) -> Result<Vec<String>, DeliveryError> {
        let (code, lines) = self.reply().await?;
        if want.contains(&code) {
            return Ok(lines);
        }
        let error = format!(
            "SMTP {} answered {code} to {after}: {}",
            self.host,
            lines.join(" ")
        );
        // 5xx is a refusal that a retry repeats; still retried, since the cause (a full
        // mailbox, a policy) may pass, and the outbox gives up after its attempts.
        Err(DeliveryError::retry(error))
    }

    async fn command(&mut self, line: &str, want: u16) -> Result<Vec<String>, DeliveryError> {
        self.command_any(line, &[want]).await
    }

    async fn command_any(
        &mut self,
        line: &str,
        want: &[u16],
    ) -> Result<Vec<String>, DeliveryError> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        let verb = line.split_whitespace().next().unwrap_or(line).to_owned();
        self.expect_any(want, &verb).await
    }

    /// A command whose text must not appear in errors (AUTH).
    async fn command_secret(
        &mut self,
        line: &str,
        want: u16,
    ) -> Result<Vec<String>, DeliveryError> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        self.expect_any(&[want], "AUTH").await
    }

    async fn ehlo(&mut self) -> Result<Vec<String>, DeliveryError> {
        self.command("EHLO shieldwall", 250).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn channel() -> Email {
        Email::new(
            "mail.example.com".into(),
            None,
            EmailTls::None,
            "a@example.com".into(),
            vec!["b@example.com".into()],
            None,
            None,
            false,
            Duration::from_secs(5),
        )
        .unwrap()
    }

    #[test]
    fn a_mail_over_the_limit_is_refused_for_good_before_it_is_encoded() {
        let mail = Mail {
            delivery: "report-1".into(),
            subject: "report".into(),
            text: "attached".into(),
            attachments: vec![Attachment {
                filename: "big.pdf".into(),
                content_type: "application/pdf",
                bytes: vec![0; MAX_MAIL_BYTES],
            }],
        };
        let refused = channel().compose(&mail).unwrap_err();
        assert!(!refused.retryable, "{refused}");
        assert!(refused.message.contains("larger than"), "{refused}");
    }

    #[test]
    fn long_subjects_fold_into_encoded_words_that_decode_back() {
        let b64 = base64::engine::general_purpose::STANDARD;
        for subject in ["short", &"ü€".repeat(60), &"x".repeat(200)] {
            let folded = encoded_words(subject);
            let mut decoded = Vec::new();
            for line in folded.split("\r\n") {
                assert!(line.len() + "Subject: ".len() <= 78, "{line}");
                let word = line
                    .trim_start()
                    .strip_prefix("=?utf-8?B?")
                    .and_then(|w| w.strip_suffix("?="))
                    .unwrap();
                decoded.extend(b64.decode(word).unwrap());
            }
            assert_eq!(String::from_utf8(decoded).unwrap(), subject);
        }
    }
}
