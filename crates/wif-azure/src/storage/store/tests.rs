//! The blob service's operations as the SDKs exercise them: block uploads, ranges, listings
//! page by page, and the conditional headers of an overwrite.

use super::*;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn blocks_commit_in_the_listed_order_and_the_rest_are_dropped() {
    let mut blob = Blob::default();
    blob.put_block("b1", b"hello ".to_vec()).unwrap();
    blob.put_block("b2", b"world".to_vec()).unwrap();
    blob.put_block("unused", b"!".to_vec()).unwrap();
    blob.commit(
        &[BlockRef::Latest("b1".into()), BlockRef::Uncommitted("b2".into())],
        "\"e1\"".into(),
        10,
    )
    .unwrap();
    assert_eq!(&blob.content[..], b"hello world");
    assert_eq!(blob.committed, [("b1".to_owned(), 6), ("b2".to_owned(), 5)]);
    assert!(blob.uncommitted.is_empty() && blob.committed_once);
    // A second commit reuses a committed block and replaces the other.
    blob.put_block("b2", b"there".to_vec()).unwrap();
    blob.commit(
        &[BlockRef::Committed("b1".into()), BlockRef::Latest("b2".into())],
        "\"e2\"".into(),
        11,
    )
    .unwrap();
    assert_eq!(&blob.content[..], b"hello there");
    assert_eq!((blob.etag.as_str(), blob.last_modified), ("\"e2\"", 11));
}

#[test]
fn a_block_list_naming_an_unknown_block_is_refused_and_changes_nothing() {
    let mut blob = Blob::default();
    blob.put_block("b1", b"x".to_vec()).unwrap();
    let before = blob.clone();
    for list in [
        vec![BlockRef::Latest("missing".into())],
        vec![BlockRef::Committed("b1".into())],
    ] {
        assert_eq!(
            blob.commit(&list, "\"e\"".into(), 1).unwrap_err().code(),
            "InvalidBlockList"
        );
        assert_eq!(blob, before);
    }
    let too_big = blob.put_block("big", vec![0; MAX_BLOCK_BYTES + 1]).unwrap_err();
    assert_eq!((too_big.status(), too_big.code()), (413, "RequestBodyTooLarge"));
}

#[test]
fn ranges_select_inclusive_bytes_and_past_the_end_is_416() {
    let content = b"0123456789";
    assert_eq!(ranged(content, None).unwrap(), (&content[..], None));
    assert_eq!(ranged(content, Some("bytes=2-4")).unwrap(), (&b"234"[..], Some((2, 4))));
    assert_eq!(ranged(content, Some("bytes=7-")).unwrap(), (&b"789"[..], Some((7, 9))));
    assert_eq!(
        ranged(content, Some("bytes=8-100")).unwrap(),
        (&b"89"[..], Some((8, 9)))
    );
    for bad in ["bytes=10-", "bytes=5-2", "bytes=a-b", "items=0-1", "bytes=-5"] {
        assert_eq!(ranged(content, Some(bad)).unwrap_err().code(), "InvalidRange", "{bad}");
    }
    assert_eq!(ranged(b"", Some("bytes=0-")).unwrap_err().status(), 416);
}

#[test]
fn listings_fold_by_delimiter_and_page_with_markers() {
    let all = names(&["a.txt", "logs/1", "logs/2", "logs/x/3", "reports/q1", "z"]);
    let flat = list(all.iter(), "", None, None, None);
    assert_eq!(flat.names(), all);
    // Folded prefixes sit among the names, in name order, as Storage lists them.
    let folded = list(all.iter(), "", Some("/"), None, None);
    assert_eq!(
        folded.entries,
        [
            Entry::Name("a.txt".into()),
            Entry::Prefix("logs/".into()),
            Entry::Prefix("reports/".into()),
            Entry::Name("z".into()),
        ]
    );
    let under = list(all.iter(), "logs/", Some("/"), None, None);
    assert_eq!(
        (under.names(), under.prefixes()),
        (vec!["logs/1", "logs/2"], vec!["logs/x/"])
    );
    // Pages of two, each continuing where the last stopped, lose and repeat nothing.
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page = list(all.iter(), "", None, marker.as_deref(), Some(2));
        assert!(page.entries.len() <= 2);
        seen.extend(page.names().into_iter().map(str::to_owned));
        match page.next_marker {
            Some(next) => marker = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, all);
    assert_eq!(
        list(all.iter(), "", None, None, Some(0)).entries.len(),
        1,
        "maxresults 0 is read as 1"
    );
}

#[test]
fn conditions_hold_as_storage_checks_them() {
    let current = Some(("\"e1\"", 100));
    let when = |c: Conditions, current| c.check(current).map_err(|e| e.code());
    assert_eq!(when(Conditions::default(), current), Ok(()));
    let if_match = |v: &str| Conditions {
        if_match: Some(v.into()),
        ..Conditions::default()
    };
    let if_none = |v: &str| Conditions {
        if_none_match: Some(v.into()),
        ..Conditions::default()
    };
    assert_eq!(when(if_match("\"e1\""), current), Ok(()));
    assert_eq!(when(if_match("e1"), current), Ok(()), "quotes are not part of the tag");
    assert_eq!(when(if_match("\"e2\""), current), Err("ConditionNotMet"));
    assert_eq!(when(if_match("*"), None), Err("ConditionNotMet"));
    // The SDKs' "do not overwrite": If-None-Match: *.
    assert_eq!(when(if_none("*"), current), Err("BlobAlreadyExists"));
    assert_eq!(when(if_none("*"), None), Ok(()));
    assert_eq!(when(if_none("\"e1\""), current), Err("ConditionNotMet"));
    let since = |m: Option<i64>, u: Option<i64>| Conditions {
        if_modified_since: m,
        if_unmodified_since: u,
        ..Conditions::default()
    };
    assert_eq!(when(since(Some(99), None), current), Ok(()));
    assert_eq!(when(since(Some(100), None), current), Err("ConditionNotMet"));
    assert_eq!(when(since(None, Some(100)), current), Ok(()));
    assert_eq!(when(since(None, Some(99)), current), Err("ConditionNotMet"));
}
