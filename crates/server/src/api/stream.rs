//! A response body fed from a blocking producer through a bounded channel, so that exports of
//! any size are sent as they are read, in bounded memory.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// Chunks in flight at most.
const DEPTH: usize = 16;

/// The body: chunks until the producer is done (or fails, which ends the body early, and the
/// client sees a truncated transfer rather than a silently short export).
pub struct ChannelBody {
    receiver: mpsc::Receiver<Result<Bytes, std::io::Error>>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|result| result.map(Frame::data)))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// A body fed by `produce`, run on a blocking thread with a sender of chunks; it stops when the
/// client goes away (a send fails).
pub fn from_blocking(
    produce: impl FnOnce(&mpsc::Sender<Result<Bytes, std::io::Error>>) + Send + 'static,
) -> ChannelBody {
    let (sender, receiver) = mpsc::channel(DEPTH);
    tokio::task::spawn_blocking(move || produce(&sender));
    ChannelBody { receiver }
}
