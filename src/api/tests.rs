//! The OpenAPI document and the wire types agree: every key a type writes is
//! described, and every property described is written by some type.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::*;
use crate::model::FIELDS;

/// The document the server serves.
fn doc() -> Value {
    serde_json::from_str(include_str!("../server/openapi.json")).unwrap_or_else(|e| panic!("{e}"))
}

/// Follows a `$ref` within the document.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let path = r.trim_start_matches("#/").split('/').fold(doc, |v, k| &v[k]);
            resolve(doc, path)
        }
        None => v,
    }
}

/// The property names of the schema at `pointer`.
fn described(doc: &Value, pointer: &str) -> BTreeSet<String> {
    let schema = resolve(doc, doc.pointer(pointer).unwrap_or_else(|| panic!("{pointer} is not in the document")));
    let props = schema["properties"].as_object().unwrap_or_else(|| panic!("{pointer} has no properties"));
    props.keys().cloned().collect()
}

/// The keys `samples` write, together.
fn written<T: Serialize>(samples: &[T]) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for s in samples {
        let v = serde_json::to_value(s).unwrap_or_else(|e| panic!("{e}"));
        keys.extend(v.as_object().unwrap_or_else(|| panic!("not an object")).keys().cloned());
    }
    keys
}

/// Union of two key sets (a schema that two types share).
fn both(a: BTreeSet<String>, b: BTreeSet<String>) -> BTreeSet<String> {
    a.union(&b).cloned().collect()
}

const STATUS: &str = "/components/schemas/Status";

#[test]
fn every_body_agrees_with_the_openapi_document() {
    let d = doc();
    let line = Line { payload: String::new(), key: String::new(), sig: String::new(), blob: None };
    let cases: Vec<(&str, BTreeSet<String>)> = vec![
        ("/components/schemas/Receipt", written(&[Created::default()])),
        ("/components/schemas/Error", written(&[Problem::default()])),
        ("/components/schemas/SignedLine", written(&[line])),
        (STATUS, both(written(&[StatusView::default()]), written(&[SealedStatus::default()]))),
        (
            "/components/schemas/Status/properties/timeline/items",
            both(written(&[PlainChange::default()]), written(&[SealedChange::default()])),
        ),
        (
            "/components/schemas/Status/properties/replies/items",
            both(written(&[PlainReply::default()]), written(&[SealedReply::default()])),
        ),
        ("/components/schemas/Status/properties/added/items", written(&[Added::default()])),
        (
            "/paths/~1api~1v1~1status/post/requestBody/content/application~1json/schema",
            written(&[StatusQuery::default()]),
        ),
        (
            "/paths/~1api~1v1~1followups/post/responses/201/content/application~1json/schema",
            written(&[FollowupAdded::default()]),
        ),
        (
            "/paths/~1api~1v1~1actions/post/responses/200/content/application~1json/schema",
            written(&[Applied::default()]),
        ),
        ("/components/schemas/Tip", FIELDS.iter().map(|f| f.name.to_string()).collect()),
    ];
    for (pointer, keys) in cases {
        assert_eq!(described(&d, pointer), keys, "{pointer}: the document and the types disagree");
    }
}

#[test]
fn the_keys_answer_and_the_forms_agree_with_the_document() {
    let d = doc();
    let keys = "/paths/~1api~1v1~1keys/get/responses/200/content/application~1json/schema";
    assert_eq!(described(&d, keys), ["deployment_id", "keyset"].map(String::from).into());
    let keyset = crate::published::SignedKeySet { payload: String::new(), key: String::new(), sig: String::new() };
    assert_eq!(described(&d, &format!("{keys}/properties/keyset")), written(&[keyset]));
    let answer = serde_json::to_value(Keys {
        deployment_id: String::new(),
        keyset: crate::published::SignedKeySet { payload: String::new(), key: String::new(), sig: String::new() },
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.as_object().map(|o| o.keys().cloned().collect()), Some(described(&d, keys)));
    // The multipart form takes every text field of the table, and files.
    let form = described(&d, "/paths/~1api~1v1~1reports/post/requestBody/content/multipart~1form-data/schema");
    for f in FIELDS {
        assert!(form.contains(f.name), "the multipart form does not describe {}", f.name);
    }
}

#[test]
fn the_documented_tip_refuses_unknown_keys_as_the_server_does() {
    let d = doc();
    let tip = resolve(&d, &d["components"]["schemas"]["Tip"]);
    assert_eq!(tip["additionalProperties"], Value::Bool(false));
    let status = d.pointer("/paths/~1api~1v1~1status/post/requestBody/content/application~1json/schema");
    // The status lookup ignores keys it does not know (as the form does).
    assert_ne!(status.map(|s| &s["additionalProperties"]), Some(&Value::Bool(false)));
    assert!(serde_json::from_str::<StatusQuery>(r#"{"receipt": "x", "extra": 1}"#).is_ok());
}

#[test]
fn the_documented_lengths_are_the_servers() {
    let d = doc();
    let max_field = crate::server::Limits::default().max_field;
    let tip = "/components/schemas/Tip/properties";
    let form = "/paths/~1api~1v1~1reports/post/requestBody/content/multipart~1form-data/schema/properties";
    for base in [tip, form] {
        for f in FIELDS {
            let max = d.pointer(&format!("{base}/{}/maxLength", f.name)).and_then(Value::as_u64);
            let want =
                if f.kind == crate::model::FieldKind::Category { crate::config::MAX_CATEGORY_ID } else { max_field };
            assert_eq!(max, Some(want as u64), "{base}/{}", f.name);
        }
    }
}
