//! The body of Put Block List: which blocks make the blob, in order, each named as the latest
//! upload of that id, the committed one or the uncommitted one
//! (`<BlockList><Latest>id</Latest><Committed>id</Committed><Uncommitted>id</Uncommitted></BlockList>`).
//! The SDKs split every upload over their single-shot size this way. Parsed with bounds: at
//! most [`MAX_BLOCKS`] blocks, ids of at most [`MAX_BLOCK_ID_CHARS`] characters; anything
//! else in the document is `InvalidXmlDocument`.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::error::StorageError;

/// Storage's bound on the blocks of one blob.
pub const MAX_BLOCKS: usize = 50_000;
/// A block id is base64 of at most 64 bytes: 88 characters.
pub const MAX_BLOCK_ID_CHARS: usize = 88;

/// One entry of a block list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockRef {
    /// The newest upload of this id, uncommitted if there is one, else committed.
    Latest(String),
    /// The committed block of this id.
    Committed(String),
    /// The uncommitted block of this id.
    Uncommitted(String),
}

impl BlockRef {
    /// The block id (base64, as sent).
    pub fn id(&self) -> &str {
        match self {
            BlockRef::Latest(id) | BlockRef::Committed(id) | BlockRef::Uncommitted(id) => id,
        }
    }
}

/// Parses a Put Block List body.
///
/// ```
/// use wif_azure::storage::block_list::{BlockRef, parse};
/// let body = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>AAAA</Latest></BlockList>";
/// assert_eq!(parse(body)?, [BlockRef::Latest("AAAA".into())]);
/// # Ok::<(), wif_azure::storage::StorageError>(())
/// ```
pub fn parse(body: &[u8]) -> Result<Vec<BlockRef>, StorageError> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut blocks = Vec::new();
    let mut depth = 0usize;
    let mut open: Option<fn(String) -> BlockRef> = None;
    let mut text = String::new();
    let mut saw_root = false;
    loop {
        match reader.read_event().map_err(|_| StorageError::InvalidXmlDocument)? {
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Start(start) => {
                depth += 1;
                match (depth, start.name().as_ref()) {
                    (1, "BlockList") if !saw_root => saw_root = true,
                    (2, "Latest") => open = Some(BlockRef::Latest),
                    (2, "Committed") => open = Some(BlockRef::Committed),
                    (2, "Uncommitted") => open = Some(BlockRef::Uncommitted),
                    _ => return Err(StorageError::InvalidXmlDocument),
                }
                text.clear();
            }
            Event::Empty(empty) if depth == 0 && empty.name().as_ref() == "BlockList" && !saw_root => {
                saw_root = true;
            }
            Event::Text(t) if open.is_some() => {
                text.push_str(&t.xml10_content());
                if text.chars().count() > MAX_BLOCK_ID_CHARS {
                    return Err(StorageError::InvalidBlockList);
                }
            }
            Event::End(_) => {
                if let Some(make) = open.take() {
                    if text.is_empty() {
                        return Err(StorageError::InvalidBlockList);
                    }
                    if blocks.len() == MAX_BLOCKS {
                        return Err(StorageError::InvalidBlockList);
                    }
                    blocks.push(make(std::mem::take(&mut text)));
                }
                depth = depth.checked_sub(1).ok_or(StorageError::InvalidXmlDocument)?;
            }
            Event::Eof if saw_root && depth == 0 => return Ok(blocks),
            _ => return Err(StorageError::InvalidXmlDocument),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_block_lists_parse_in_order() {
        let body = br#"<?xml version="1.0" encoding="utf-8"?>
<BlockList>
  <Latest>YmxvY2stMDA=</Latest>
  <Committed>YmxvY2stMDE=</Committed>
  <Uncommitted>YmxvY2stMDI=</Uncommitted>
</BlockList>"#;
        assert_eq!(
            parse(body).unwrap(),
            [
                BlockRef::Latest("YmxvY2stMDA=".into()),
                BlockRef::Committed("YmxvY2stMDE=".into()),
                BlockRef::Uncommitted("YmxvY2stMDI=".into()),
            ]
        );
        assert_eq!(parse(b"<BlockList/>").unwrap(), []);
        assert_eq!(parse(b"<BlockList></BlockList>").unwrap(), []);
    }

    #[test]
    fn malformed_lists_get_storages_codes_and_nothing_panics() {
        for (body, code) in [
            (&b"<BlockList><Latest>AAAA</Latest>"[..], "InvalidXmlDocument"),
            (b"<BlockList><Other>AAAA</Other></BlockList>", "InvalidXmlDocument"),
            (b"<NotABlockList/>", "InvalidXmlDocument"),
            (
                b"<BlockList><Latest><Latest>A</Latest></Latest></BlockList>",
                "InvalidXmlDocument",
            ),
            (b"<BlockList/><BlockList/>", "InvalidXmlDocument"),
            (b"", "InvalidXmlDocument"),
            (b"not xml at all", "InvalidXmlDocument"),
            (b"\xff\xfe<BlockList/>", "InvalidXmlDocument"),
            (b"<BlockList><Latest></Latest></BlockList>", "InvalidBlockList"),
        ] {
            let refused = parse(body).expect_err(&String::from_utf8_lossy(body));
            assert_eq!(refused.code(), code, "{}", String::from_utf8_lossy(body));
        }
        let long_id = format!("<BlockList><Latest>{}</Latest></BlockList>", "A".repeat(89));
        assert_eq!(parse(long_id.as_bytes()).unwrap_err().code(), "InvalidBlockList");
    }

    #[test]
    fn at_most_fifty_thousand_blocks() {
        let list = |n: usize| format!("<BlockList>{}</BlockList>", "<Latest>AAAA</Latest>".repeat(n));
        assert_eq!(parse(list(MAX_BLOCKS).as_bytes()).unwrap().len(), MAX_BLOCKS);
        assert_eq!(
            parse(list(MAX_BLOCKS + 1).as_bytes()).unwrap_err().code(),
            "InvalidBlockList"
        );
    }
}
