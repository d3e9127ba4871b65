//! Request bodies read whole, up to a limit. An oversized body is still read (and dropped) up
//! to a bounded amount past the limit before the server answers 413: closing the connection
//! while the client is still sending makes its TLS stack report a broken connection instead
//! of the 413 (Python's requests did, on a 100 kB form).

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;

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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

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
}
