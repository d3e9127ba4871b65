//! Storage's XML answers, element for element as Azure writes them: List Containers and List
//! Blobs (`EnumerationResults`, blobs and folded prefixes interleaved in name order, each blob
//! with the properties the SDKs read), and Get Block List. Times are RFC 1123, as in Storage's
//! headers.

use std::fmt::Write as _;

use super::error::escape;
use super::store::{Blob, Container, Entry, Listing};

/// An RFC 1123 date (`Sat, 05 Dec 2026 20:00:00 GMT`) from seconds since the epoch.
pub fn http_date(seconds: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
    httpdate::fmt_http_date(at)
}

/// What a listing request asked for, echoed in the answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// `prefix`
    pub prefix: Option<String>,
    /// `marker`
    pub marker: Option<String>,
    /// `maxresults`
    pub max_results: Option<usize>,
    /// `delimiter` (blobs only)
    pub delimiter: Option<String>,
    /// `include=metadata`
    pub include_metadata: bool,
}

fn echo(out: &mut String, params: &ListParams) {
    for (tag, value) in [("Prefix", &params.prefix), ("Marker", &params.marker)] {
        if let Some(value) = value {
            let _ = write!(out, "<{tag}>{}</{tag}>", escape(value));
        }
    }
    if let Some(max) = params.max_results {
        let _ = write!(out, "<MaxResults>{max}</MaxResults>");
    }
}

fn metadata(out: &mut String, metadata: &std::collections::BTreeMap<String, String>) {
    out.push_str("<Metadata>");
    for (name, value) in metadata {
        let _ = write!(out, "<{name}>{}</{name}>", escape(value));
    }
    out.push_str("</Metadata>");
}

fn next_marker(out: &mut String, listing: &Listing) {
    match &listing.next_marker {
        Some(marker) => {
            let _ = write!(out, "<NextMarker>{}</NextMarker>", escape(marker));
        }
        None => out.push_str("<NextMarker />"),
    }
}

/// List Containers' body; `endpoint` is the account's blob endpoint (`https://a.blob.s/`).
pub fn list_containers<'c>(
    endpoint: &str,
    params: &ListParams,
    listing: &Listing,
    container: impl Fn(&str) -> Option<&'c Container>,
) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    let _ = write!(out, "<EnumerationResults ServiceEndpoint=\"{}\">", escape(endpoint));
    echo(&mut out, params);
    out.push_str("<Containers>");
    for name in listing.names() {
        let Some(found) = container(name) else { continue };
        let _ = write!(
            out,
            "<Container><Name>{}</Name><Properties><Last-Modified>{}</Last-Modified><Etag>{}</Etag><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><DefaultEncryptionScope>$account-encryption-key</DefaultEncryptionScope><DenyEncryptionScopeOverride>false</DenyEncryptionScopeOverride><HasImmutabilityPolicy>false</HasImmutabilityPolicy><HasLegalHold>false</HasLegalHold></Properties>",
            escape(name),
            http_date(found.last_modified),
            escape(&found.etag)
        );
        if params.include_metadata {
            metadata(&mut out, &found.metadata);
        }
        out.push_str("</Container>");
    }
    out.push_str("</Containers>");
    next_marker(&mut out, listing);
    out.push_str("</EnumerationResults>");
    out
}

/// List Blobs' body.
pub fn list_blobs<'b>(
    endpoint: &str,
    container_name: &str,
    params: &ListParams,
    listing: &Listing,
    blob: impl Fn(&str) -> Option<&'b Blob>,
) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    let _ = write!(
        out,
        "<EnumerationResults ServiceEndpoint=\"{}\" ContainerName=\"{}\">",
        escape(endpoint),
        escape(container_name)
    );
    echo(&mut out, params);
    if let Some(delimiter) = &params.delimiter {
        let _ = write!(out, "<Delimiter>{}</Delimiter>", escape(delimiter));
    }
    out.push_str("<Blobs>");
    for entry in &listing.entries {
        match entry {
            Entry::Prefix(prefix) => {
                let _ = write!(out, "<BlobPrefix><Name>{}</Name></BlobPrefix>", escape(prefix));
            }
            Entry::Name(name) => {
                let Some(found) = blob(name) else { continue };
                let date = http_date(found.last_modified);
                let _ = write!(
                    out,
                    "<Blob><Name>{}</Name><Properties><Creation-Time>{date}</Creation-Time><Last-Modified>{date}</Last-Modified><Etag>{}</Etag><Content-Length>{}</Content-Length><Content-Type>{}</Content-Type><Content-Encoding /><Content-Language /><Content-CRC64 /><Content-MD5 /><Cache-Control /><Content-Disposition /><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties>",
                    escape(name),
                    escape(&found.etag),
                    found.content.len(),
                    escape(found.content_type.as_deref().unwrap_or("application/octet-stream"))
                );
                if params.include_metadata {
                    metadata(&mut out, &found.metadata);
                }
                out.push_str("</Blob>");
            }
        }
    }
    out.push_str("</Blobs>");
    next_marker(&mut out, listing);
    out.push_str("</EnumerationResults>");
    out
}

/// Get Block List's body (`blocklisttype=all`): committed blocks in order, then uncommitted
/// ones by id.
pub fn block_list(blob: &Blob) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><CommittedBlocks>");
    for (id, size) in &blob.committed {
        let _ = write!(out, "<Block><Name>{}</Name><Size>{size}</Size></Block>", escape(id));
    }
    out.push_str("</CommittedBlocks><UncommittedBlocks>");
    let mut uncommitted: Vec<_> = blob.uncommitted.iter().collect();
    uncommitted.sort_by(|a, b| a.0.cmp(b.0));
    for (id, bytes) in uncommitted {
        let _ = write!(
            out,
            "<Block><Name>{}</Name><Size>{}</Size></Block>",
            escape(id),
            bytes.len()
        );
    }
    out.push_str("</UncommittedBlocks></BlockList>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::store::list;

    fn blob(content: &[u8], etag: &str) -> Blob {
        Blob {
            content: content.to_vec().into(),
            etag: etag.into(),
            last_modified: 1_796_500_800,
            committed_once: true,
            ..Blob::default()
        }
    }

    #[test]
    fn dates_are_rfc_1123() {
        assert_eq!(http_date(1_796_500_800), "Sat, 05 Dec 2026 20:00:00 GMT");
        assert_eq!(http_date(-5), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn list_blobs_interleaves_prefixes_and_escapes_names() {
        let mut blobs = std::collections::BTreeMap::new();
        blobs.insert("a&b.txt".to_owned(), blob(b"abc", "\"0x1\""));
        blobs.insert("logs/1".to_owned(), blob(b"", "\"0x2\""));
        let listing = list(blobs.keys(), "", Some("/"), None, Some(1));
        let params = ListParams {
            delimiter: Some("/".into()),
            max_results: Some(1),
            ..ListParams::default()
        };
        let xml = list_blobs("https://acct.blob.storage.wif.test/", "c1c", &params, &listing, |n| {
            blobs.get(n)
        });
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"https://acct.blob.storage.wif.test/\" ContainerName=\"c1c\"><MaxResults>1</MaxResults><Delimiter>/</Delimiter><Blobs><Blob><Name>a&amp;b.txt</Name>"), "{xml}");
        assert!(xml.contains("<Etag>&quot;0x1&quot;</Etag><Content-Length>3</Content-Length><Content-Type>application/octet-stream</Content-Type>"), "{xml}");
        assert!(
            xml.ends_with("</Blobs><NextMarker>logs/1</NextMarker></EnumerationResults>"),
            "{xml}"
        );
        let rest = list(blobs.keys(), "", Some("/"), Some("logs/1"), None);
        let xml = list_blobs("e", "c1c", &ListParams::default(), &rest, |n| blobs.get(n));
        assert!(
            xml.contains(
                "<Blobs><BlobPrefix><Name>logs/</Name></BlobPrefix></Blobs><NextMarker /></EnumerationResults>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn list_containers_names_each_with_its_properties_and_asked_for_metadata() {
        let mut containers = std::collections::BTreeMap::new();
        let mut reports = Container {
            etag: "\"0x9\"".into(),
            last_modified: 1_796_500_800,
            ..Container::default()
        };
        reports.metadata.insert("owner".into(), "team <r>".into());
        containers.insert("reports".to_owned(), reports);
        let listing = list(containers.keys(), "rep", None, None, None);
        let params = ListParams {
            prefix: Some("rep".into()),
            include_metadata: true,
            ..ListParams::default()
        };
        let xml = list_containers("https://a.blob.s/", &params, &listing, |n| containers.get(n));
        assert!(xml.contains("<EnumerationResults ServiceEndpoint=\"https://a.blob.s/\"><Prefix>rep</Prefix><Containers><Container><Name>reports</Name><Properties><Last-Modified>Sat, 05 Dec 2026 20:00:00 GMT</Last-Modified><Etag>&quot;0x9&quot;</Etag>"), "{xml}");
        assert!(xml.ends_with("<Metadata><owner>team &lt;r&gt;</owner></Metadata></Container></Containers><NextMarker /></EnumerationResults>"), "{xml}");
    }

    #[test]
    fn block_lists_show_committed_then_uncommitted() {
        let mut b = blob(b"", "\"e\"");
        b.committed = vec![("YQ==".into(), 3)];
        b.uncommitted.insert("Yg==".into(), vec![0; 5]);
        assert_eq!(
            block_list(&b),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><CommittedBlocks><Block><Name>YQ==</Name><Size>3</Size></Block></CommittedBlocks><UncommittedBlocks><Block><Name>Yg==</Name><Size>5</Size></Block></UncommittedBlocks></BlockList>"
        );
    }
}
