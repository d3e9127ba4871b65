//! One account's blob service as state, and Storage's operations on it: containers, blobs
//! written whole or from blocks, ranges, metadata, listings with prefix, delimiter and markers,
//! and the conditional headers the SDKs send on overwrite (`If-Match`, `If-None-Match: *`,
//! `If-(Un)Modified-Since`). Pure: the caller passes the time and a fresh ETag sequence
//! number, so every answer is reproducible in a test.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::block_list::BlockRef;
use super::error::StorageError;

/// The most one Put Blob may carry here (Azure: 5,000 MiB): the local plane keeps blobs in
/// memory, and the SDKs switch to blocks long before (Python at 64 MiB, Go at 256 MiB).
pub const MAX_PUT_BLOB_BYTES: usize = 256 * 1024 * 1024;
/// The most one Put Block may carry here (Azure: 4,000 MiB; the SDKs send 4–8 MiB blocks).
pub const MAX_BLOCK_BYTES: usize = 100 * 1024 * 1024;
/// Uncommitted blocks one blob may hold (Azure's bound).
pub const MAX_UNCOMMITTED_BLOCKS: usize = 100_000;

/// One account's blob service: its containers, and the sequence its ETags are made from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobService {
    /// The containers, by name.
    pub containers: BTreeMap<String, Container>,
    /// Bumped for every change: ETags are unique within the account.
    pub sequence: u64,
}

impl BlobService {
    /// A new ETag, in Storage's form (`"0x…"`), for a change made at `now`.
    pub fn next_etag(&mut self, now: i64) -> String {
        self.sequence += 1;
        format!("\"0x{now:X}{:08X}\"", self.sequence)
    }
}

/// A container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// `x-ms-meta-*`.
    pub metadata: BTreeMap<String, String>,
    /// Its ETag.
    pub etag: String,
    /// Last modified, seconds since the epoch.
    pub last_modified: i64,
    /// Its blobs, by name (listed in this order, as Storage lists them).
    pub blobs: BTreeMap<String, Blob>,
}

/// A block blob.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    /// Its content: shared, so a read hands out a slice of it rather than a copy.
    #[serde(with = "base64_bytes")]
    pub content: Bytes,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `x-ms-meta-*`.
    pub metadata: BTreeMap<String, String>,
    /// Its ETag (quoted, as sent in headers).
    pub etag: String,
    /// Last modified, seconds since the epoch.
    pub last_modified: i64,
    /// The committed blocks, in order: id and length (content holds their bytes).
    pub committed: Vec<(String, usize)>,
    /// Blocks uploaded and not yet committed, by id.
    #[serde(with = "base64_blocks")]
    pub uncommitted: HashMap<String, Vec<u8>>,
    /// Whether the blob exists yet (false while only uncommitted blocks were put).
    pub committed_once: bool,
}

/// The conditional headers of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `If-Match`: an ETag or `*`.
    pub if_match: Option<String>,
    /// `If-None-Match`: an ETag or `*`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`, seconds since the epoch.
    pub if_modified_since: Option<i64>,
    /// `If-Unmodified-Since`, seconds since the epoch.
    pub if_unmodified_since: Option<i64>,
}

impl Conditions {
    /// Whether a write (or read) may go ahead against `current` (its ETag and time), `None`
    /// when there is no such blob: `ConditionNotMet`, or `BlobAlreadyExists` for
    /// `If-None-Match: *` on an existing blob, as Storage answers.
    pub fn check(&self, current: Option<(&str, i64)>) -> Result<(), StorageError> {
        let matches = |wanted: &str, etag: &str| wanted == "*" || wanted.trim_matches('"') == etag.trim_matches('"');
        if let Some(wanted) = &self.if_match {
            match current {
                Some((etag, _)) if matches(wanted, etag) => {}
                _ => return Err(StorageError::ConditionNotMet),
            }
        }
        if let Some(wanted) = &self.if_none_match
            && let Some((etag, _)) = current
            && matches(wanted, etag)
        {
            return Err(if wanted == "*" {
                StorageError::BlobAlreadyExists
            } else {
                StorageError::ConditionNotMet
            });
        }
        if let Some((_, modified)) = current
            && (self.if_modified_since.is_some_and(|since| modified <= since)
                || self.if_unmodified_since.is_some_and(|since| modified > since))
        {
            return Err(StorageError::ConditionNotMet);
        }
        Ok(())
    }
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A blob (or container) by name.
    Name(String),
    /// A `BlobPrefix`: names sharing the part up to the delimiter, folded.
    Prefix(String),
}

/// A listing: its entries in name order (names and folded prefixes interleaved, as Storage
/// lists them), and the marker to continue from when there is more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The entries.
    pub entries: Vec<Entry>,
    /// `NextMarker`, when the listing stopped at `maxresults`.
    pub next_marker: Option<String>,
}

impl Listing {
    /// The names listed (prefixes left out).
    pub fn names(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Name(n) => Some(n.as_str()),
                Entry::Prefix(_) => None,
            })
            .collect()
    }

    /// The prefixes listed.
    pub fn prefixes(&self) -> Vec<&str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Prefix(p) => Some(p.as_str()),
                Entry::Name(_) => None,
            })
            .collect()
    }
}

/// Storage's default and largest page.
pub const MAX_RESULTS: usize = 5000;

/// Lists `names` (in order) from `marker` on, at most `max` (capped at [`MAX_RESULTS`]) entries,
/// with those under `prefix` only and, with `delimiter`, each run of names sharing the part
/// up to the delimiter folded into one prefix entry (each counted once against `max`).
pub fn list<'a>(
    names: impl Iterator<Item = &'a String>,
    prefix: &str,
    delimiter: Option<&str>,
    marker: Option<&str>,
    max: Option<usize>,
) -> Listing {
    let max = max.unwrap_or(MAX_RESULTS).clamp(1, MAX_RESULTS);
    let mut listing = Listing::default();
    for name in names {
        if !name.starts_with(prefix) || marker.is_some_and(|m| name.as_str() < m) {
            continue;
        }
        let folded = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
            let rest = name.get(prefix.len()..)?;
            let through = rest.find(d)? + d.len();
            rest.get(..through).map(|head| format!("{prefix}{head}"))
        });
        if let Some(folded) = &folded
            && matches!(listing.entries.last(), Some(Entry::Prefix(last)) if last == folded)
        {
            continue;
        }
        if listing.entries.len() == max {
            listing.next_marker = Some(name.clone());
            break;
        }
        listing.entries.push(match folded {
            Some(folded) => Entry::Prefix(folded),
            None => Entry::Name(name.clone()),
        });
    }
    listing
}

/// The first and last byte a range selects (inclusive), for `Content-Range`.
pub type Span = (usize, usize);

/// The bytes `range` (`bytes=START-[END]`, inclusive) selects of `content`, or `InvalidRange`
/// when it starts past the end (Storage answers 416 then).
pub fn ranged<'c>(content: &'c [u8], range: Option<&str>) -> Result<(&'c [u8], Option<Span>), StorageError> {
    let Some(range) = range else { return Ok((content, None)) };
    let spec = range.trim().strip_prefix("bytes=").ok_or(StorageError::InvalidRange)?;
    let (start, end) = spec.split_once('-').ok_or(StorageError::InvalidRange)?;
    let start: usize = start.trim().parse().map_err(|_| StorageError::InvalidRange)?;
    let last = content.len().checked_sub(1).ok_or(StorageError::InvalidRange)?;
    let end = match end.trim() {
        "" => last,
        end => end.parse::<usize>().map_err(|_| StorageError::InvalidRange)?.min(last),
    };
    if start > end {
        return Err(StorageError::InvalidRange);
    }
    let slice = content.get(start..=end).ok_or(StorageError::InvalidRange)?;
    Ok((slice, Some((start, end))))
}

impl Blob {
    /// Stores `id`'s bytes as an uncommitted block.
    pub fn put_block(&mut self, id: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        if bytes.len() > MAX_BLOCK_BYTES {
            return Err(StorageError::RequestBodyTooLarge {
                why: format!("a block here is at most {MAX_BLOCK_BYTES} bytes"),
            });
        }
        if self.uncommitted.len() >= MAX_UNCOMMITTED_BLOCKS && !self.uncommitted.contains_key(id) {
            return Err(StorageError::InvalidBlockList);
        }
        self.uncommitted.insert(id.to_owned(), bytes);
        Ok(())
    }

    /// Makes the blob the listed blocks, in order; the uncommitted blocks not listed are
    /// dropped, as Storage drops them.
    pub fn commit(&mut self, list: &[BlockRef], etag: String, now: i64) -> Result<(), StorageError> {
        let mut content = Vec::new();
        let mut committed = Vec::with_capacity(list.len());
        let mut offsets = HashMap::new();
        let mut at = 0usize;
        for (id, length) in &self.committed {
            offsets.insert(id.as_str(), (at, *length));
            at += length;
        }
        for block in list {
            let id = block.id();
            let uncommitted = self
                .uncommitted
                .get(id)
                .filter(|_| !matches!(block, BlockRef::Committed(_)));
            let old = offsets.get(id).filter(|_| !matches!(block, BlockRef::Uncommitted(_)));
            let bytes = match (uncommitted, old) {
                (Some(bytes), _) => bytes.as_slice(),
                (None, Some(&(start, length))) => self
                    .content
                    .get(start..start + length)
                    .ok_or(StorageError::InvalidBlockList)?,
                (None, None) => return Err(StorageError::InvalidBlockList),
            };
            content.extend_from_slice(bytes);
            committed.push((id.to_owned(), bytes.len()));
        }
        self.content = Bytes::from(content);
        self.committed = committed;
        self.uncommitted.clear();
        self.etag = etag;
        self.last_modified = now;
        self.committed_once = true;
        Ok(())
    }
}

/// Bytes as base64 text in the persisted form (JSON has no bytes).
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &Bytes, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map(Bytes::from).map_err(serde::de::Error::custom)
    }
}

/// Uncommitted blocks, each as base64 text.
mod base64_blocks {
    use std::collections::{BTreeMap, HashMap};

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer>(
        blocks: &HashMap<String, Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let sorted: BTreeMap<&String, String> = blocks.iter().map(|(id, b)| (id, STANDARD.encode(b))).collect();
        sorted.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<HashMap<String, Vec<u8>>, D::Error> {
        let text = HashMap::<String, String>::deserialize(deserializer)?;
        text.into_iter()
            .map(|(id, b)| {
                STANDARD
                    .decode(b)
                    .map(|bytes| (id, bytes))
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
