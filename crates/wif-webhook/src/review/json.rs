//! Compact JSON written straight into the answer's buffer, byte for byte as serde_json writes
//! it: a JSON Patch's strings (pointers, names, paths, ids) almost never need escaping, so
//! each is copied whole, where serde_json's writer goes through its escape table byte by byte.

use std::io::Write as _;

use json_patch::PatchOperation;
use serde_json::Value;

/// Appends `text` as a JSON string.
pub(super) fn push_string(out: &mut Vec<u8>, text: &str) {
    // serde_json escapes exactly these: control characters, the quote and the backslash.
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing a str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Appends `value` as compact JSON.
pub(super) fn push_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => {
            // Number's Display is serde_json's own formatting; writing into a Vec cannot fail.
            let _ = write!(out, "{number}");
        }
        Value::String(text) => push_string(out, text),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_string(out, key);
                out.push(b':');
                push_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// Appends the operations as a JSON Patch document.
pub(super) fn push_patch(out: &mut Vec<u8>, operations: &[PatchOperation]) -> Result<(), serde_json::Error> {
    out.push(b'[');
    for (i, operation) in operations.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let (op, path, value) = match operation {
            PatchOperation::Add(add) => ("add", &add.path, Some(&add.value)),
            PatchOperation::Replace(replace) => ("replace", &replace.path, Some(&replace.value)),
            PatchOperation::Remove(remove) => ("remove", &remove.path, None),
            // The planner writes none of these; serde_json writes them as json_patch defines.
            other => {
                serde_json::to_writer(&mut *out, other)?;
                continue;
            }
        };
        out.extend_from_slice(br#"{"op":""#);
        out.extend_from_slice(op.as_bytes());
        out.extend_from_slice(br#"","path":"#);
        push_string(out, path.as_str());
        if let Some(value) = value {
            out.extend_from_slice(br#","value":"#);
            push_value(out, value);
        }
        out.push(b'}');
    }
    out.push(b']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn written_as_serde_json_writes_it_whatever_the_text() {
        let texts = [
            "",
            "plain",
            "a \"quote\"",
            "back\\slash",
            "new\nline\ttab\u{1}\u{1f}",
            "del\u{7f} and é ü 😀",
            "/spec/containers/0/env/-",
            "a~1b~0c",
        ];
        for text in texts {
            let mut out = Vec::new();
            push_string(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
        let value = json!({
            "null": null, "t": true, "f": false, "int": -3, "big": u64::MAX, "float": 1.5,
            "list": [1, "two", {"three": [3.25e-7]}], "esc\"aped": {"k\n": "v\\"}, "empty": {}, "none": []
        });
        let mut out = Vec::new();
        push_value(&mut out, &value);
        assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&value).unwrap());
        let operations: Vec<PatchOperation> = serde_json::from_value(json!([
            { "op": "add", "path": "/metadata/annotations/a~1b", "value": { "x\"": ["\u{1}", 2] } },
            { "op": "replace", "path": "/spec/containers/0/env/1/value", "value": "v" },
            { "op": "remove", "path": "/spec/containers/0/env/2" },
            { "op": "test", "path": "/a", "value": 1 },
            { "op": "move", "from": "/a", "path": "/b" },
            { "op": "copy", "from": "/b", "path": "/c" }
        ]))
        .unwrap();
        let mut out = Vec::new();
        push_patch(&mut out, &operations).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&operations).unwrap()
        );
    }
}
