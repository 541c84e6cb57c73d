//! The model's pure rules: categories, file names, content types.

use super::*;

#[test]
fn secret_json_fills_one_buffer_of_the_exact_length() {
    let mut m = Manifest::default();
    m.text = "x".repeat(10_000);
    let json = secret_json(&m).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(*json, serde_json::to_vec(&m).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(json.capacity(), json.len(), "never grown, so nothing outgrown was freed");
}

#[test]
fn categories_come_from_the_list_and_empty_means_other() {
    assert_eq!(tip_category("suap", &DEFAULT_CATEGORIES), Some("suap"));
    assert_eq!(tip_category("", &DEFAULT_CATEGORIES), Some(UNSURE_CATEGORY));
    for refused in ["2", "bribery", "Suap", " suap"] {
        assert_eq!(tip_category(refused, &DEFAULT_CATEGORIES), None, "{refused:?}");
    }
    assert_eq!(tip_category("", &["suap"]), None, "no silent other where it is not offered");
}

#[test]
fn status_ids_roundtrip() {
    for s in Status::ALL {
        assert_eq!(Status::from_id(s.id()), Some(s));
        let json = serde_json::to_string(&s).unwrap_or_default();
        assert_eq!(json, format!("\"{}\"", s.id()));
    }
    assert_eq!(Status::from_id("open"), None);
}

#[test]
fn file_names_are_bounded_and_keep_their_extension() {
    assert_eq!(bounded_file_name("faktur.pdf"), "faktur.pdf");
    let long = format!("{}.pdf", "é".repeat(300));
    let cut = bounded_file_name(&long);
    assert!(cut.len() <= MAX_FILE_NAME && cut.ends_with("é.pdf"), "{cut}");
    let no_ext = "a".repeat(17 << 20);
    assert_eq!(bounded_file_name(&no_ext).len(), MAX_FILE_NAME);
    let odd = format!("{}.{}", "b".repeat(300), "x".repeat(40));
    assert_eq!(bounded_file_name(&odd).len(), MAX_FILE_NAME);
}

#[test]
fn content_types_come_from_the_registered_set() {
    assert_eq!(known_content_type("application/PDF; name=x"), "application/pdf");
    assert_eq!(known_content_type("image/svg+xml"), "image/svg+xml");
    assert_eq!(known_content_type(""), "");
    for bad in ["text/plain\nStatus: closed", "evil/type", "text/", "text/pl ain", "x\u{1b}[2J/a"] {
        assert_eq!(known_content_type(bad), "application/octet-stream", "{bad:?}");
    }
    assert_eq!(known_content_type(&format!("text/{}", "a".repeat(200))), "application/octet-stream");
}

#[test]
fn manifest_emptiness() {
    let mut m = Manifest::default();
    assert!(m.is_empty());
    m.fields.where_ = "  ".into();
    assert!(m.is_empty());
    m.fields.when = "kemarin".into();
    assert!(!m.is_empty());
    let json = serde_json::to_string(&m).unwrap_or_default();
    assert!(json.contains("\"where\""));
}
