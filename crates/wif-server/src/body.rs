//! Request bodies: read whole, up to a limit, and watched for whether the handler read them
//! to their end.
//!
//! An oversized body is still read (and dropped) up to a bounded amount past the limit before
//! the server answers 413: closing the connection while the client is still sending makes its
//! TLS stack report a broken connection instead of the 413 (Python's requests did, on a 100 kB
//! form).
//!
//! A handler that answers before reading the body (a 401 from a missing token, a 404) leaves
//! the connection unusable: hyper closes it after the answer. Unless the answer says so with
//! `Connection: close`, the client pools the connection and sends its next request (the retry
//! after a challenge) into a socket that is closing, and fails with "remote end closed
//! connection" (azure-storage-blob did, uploading after a 401). [`Watched`] records whether
//! the body was read to its end so that the answer can say it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// How much past the limit is read and dropped so that the client sees the answer.
pub const DRAIN_BYTES: usize = 1024 * 1024;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Longer than the limit.
    #[error("request body larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The client broke off.
    #[error("reading the request body failed")]
    Read(#[source] axum::Error),
}

/// Reads `body` whole if it is at most `limit` bytes.
pub async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut collected: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Read)?;
        let Ok(data) = frame.into_data() else { continue };
        total = total.saturating_add(data.len());
        if total > limit.saturating_add(DRAIN_BYTES) {
            break;
        }
        if total <= limit {
            collected.extend_from_slice(&data);
        }
    }
    if total > limit {
        return Err(BodyError::TooLarge { limit });
    }
    Ok(Bytes::from(collected))
}

/// Whether a request body was read to its end, shared between the body and the server.
#[derive(Debug, Clone)]
pub struct ReadToEnd(Arc<AtomicBool>);

impl ReadToEnd {
    /// True once the body's last frame was taken (or it had none).
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A request body that records in a [`ReadToEnd`] when it has been read to its end.
#[derive(Debug)]
pub struct Watched<B> {
    inner: B,
    read: ReadToEnd,
}

impl<B: HttpBody + Unpin> Watched<B> {
    /// Watches `inner`; a body that is empty from the start counts as read.
    pub fn new(inner: B) -> (Self, ReadToEnd) {
        let read = ReadToEnd(Arc::new(AtomicBool::new(inner.is_end_stream())));
        (
            Watched {
                inner,
                read: read.clone(),
            },
            read,
        )
    }
}

impl<B: HttpBody<Data = Bytes> + Unpin> HttpBody for Watched<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read.0.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A body of `chunks` chunks of `size` bytes that counts the bytes the reader took.
    fn counted(chunks: usize, size: usize) -> (Body, Arc<AtomicUsize>) {
        let taken = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&taken);
        let stream = futures_util::stream::iter((0..chunks).map(move |_| {
            counter.fetch_add(size, Ordering::SeqCst);
            Ok::<_, std::io::Error>(Bytes::from(vec![7u8; size]))
        }));
        (Body::from_stream(stream), taken)
    }

    #[tokio::test]
    async fn an_oversized_body_is_drained_up_to_the_bound_and_no_further() {
        // 10 bytes allowed, 64 KiB sent: all of it is read (so the client sees the 413).
        let (body, taken) = counted(64, 1024);
        let refused = read_limited(body, 10).await.unwrap_err();
        assert!(matches!(refused, BodyError::TooLarge { limit: 10 }), "{refused}");
        assert_eq!(taken.load(Ordering::SeqCst), 64 * 1024, "drained to the end");
        // 3 MiB past the limit: reading stops once the drain bound is passed.
        let (body, taken) = counted(3 * 1024, 1024);
        assert!(matches!(
            read_limited(body, 10).await,
            Err(BodyError::TooLarge { limit: 10 })
        ));
        let read = taken.load(Ordering::SeqCst);
        assert!(
            read > DRAIN_BYTES && read <= 10 + DRAIN_BYTES + 1024,
            "read {read} bytes, the bound is {DRAIN_BYTES} past the limit"
        );
    }

    #[tokio::test]
    async fn within_the_limit_is_read_and_beyond_it_is_refused() {
        let body = read_limited(Body::from(vec![7u8; 10]), 10).await.unwrap();
        assert_eq!(body.len(), 10);
        let refused = read_limited(Body::from(vec![7u8; 11]), 10).await.unwrap_err();
        assert!(matches!(refused, BodyError::TooLarge { limit: 10 }), "{refused}");
        let far = read_limited(Body::from(vec![7u8; 10 + DRAIN_BYTES + 1]), 10)
            .await
            .unwrap_err();
        assert!(matches!(far, BodyError::TooLarge { limit: 10 }), "{far}");
    }

    #[tokio::test]
    async fn a_watched_body_counts_as_read_only_once_its_end_was_taken() {
        let (empty, read) = Watched::new(Body::empty());
        assert!(read.get(), "an empty body needs no reading");
        drop(empty);
        let (body, read) = counted(3, 10);
        let (watched, read_to_end) = Watched::new(body);
        assert!(!read_to_end.get());
        let mut watched = Body::new(watched);
        let first = watched.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap().len(), 10);
        assert!(!read_to_end.get(), "one frame of three is not the end");
        drop(watched);
        assert!(!read_to_end.get(), "dropped unread is not read");
        assert_eq!(read.load(Ordering::SeqCst), 10);
        let (body, _) = counted(3, 10);
        let (watched, read_to_end) = Watched::new(body);
        assert_eq!(read_limited(Body::new(watched), 100).await.unwrap().len(), 30);
        assert!(read_to_end.get());
    }
}
