//! Whatever an SMTP server sends, the e-mail client ends with an answer (delivered, or an
//! error naming the server) within its timeout: replies of random bytes, long lines, endless
//! continuation lines, early closes. A server on 127.0.0.1 plays each script.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;
use shieldwall_core::Severity;
use shieldwall_notify::Message;
use shieldwall_notify::email::{Email, EmailTls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn message() -> Message {
    Message {
        delivery: 1,
        severity: Severity::Low,
        subject: "s".into(),
        alert: json!({}),
        text: "t".into(),
    }
}

/// Sends `script` (then closes), reading whatever the client says meanwhile.
async fn run(script: Vec<u8>) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let Ok((mut tcp, _)) = listener.accept().await else {
            return;
        };
        let _ = tcp.write_all(&script).await;
        let mut sink = [0u8; 4096];
        // Read for a moment, then close.
        let _ = tokio::time::timeout(Duration::from_millis(200), tcp.read(&mut sink)).await;
    });
    let email = Email::new(
        "127.0.0.1".into(),
        Some(port),
        EmailTls::None,
        "a@example.com".into(),
        vec!["b@example.com".into()],
        None,
        None,
        true,
        Duration::from_secs(3),
    )
    .unwrap();
    email.deliver(&message()).await.map_err(|e| e.message)
}

fn scripts() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        // Plausible replies with random codes and separators.
        proptest::collection::vec(
            (
                100u16..1000,
                prop_oneof![Just(b' '), Just(b'-'), any::<u8>()],
                "[ -~]{0,40}"
            ),
            1..30
        )
        .prop_map(|lines| {
            let mut out = Vec::new();
            for (code, sep, text) in lines {
                out.extend_from_slice(code.to_string().as_bytes());
                out.push(sep);
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            out
        }),
        // A reply line longer than the limit.
        Just([b"220 ".as_slice(), &[b'x'; 10_000], b"\r\n"].concat()),
        // Continuation lines without end.
        Just(b"220-hello\r\n".repeat(500)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_server_script_ends_in_an_answer(script in scripts()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let started = std::time::Instant::now();
        let result = runtime.block_on(run(script));
        prop_assert!(started.elapsed() < Duration::from_secs(5));
        if let Err(message) = result {
            prop_assert!(message.contains("127.0.0.1"), "{message}");
        }
    }
}
