//! The intake: fields, files, limits and what is left when a submission is refused.

use super::*;
use std::io::Write;

fn intake(dir: &std::path::Path) -> Intake {
    let id = age::x25519::Identity::generate();
    let recipients = Recipients::parse(&id.to_public().to_string()).unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open_for_tests(dir);
    Intake::new(store, recipients, PartLimits { max_files: 20, max_field: 100 * 1024 })
}

#[test]
fn text_is_normalised_to_unix_line_ends() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut i = intake(dir.path());
    i.text("what", "a\r\nb\r\n\r\nc\rd\n".into()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(i.manifest().fields.what, "a\nb\n\nc\rd\n");
    i.text("text", String::new()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(i.manifest().text, "");
}

#[test]
fn names_and_content_types_are_bounded_where_they_enter() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut i = intake(dir.path());
    let long = format!("{}.pdf", "n".repeat(17 << 20));
    let sink = i.begin_file(&long, "text/plain\r\nStatus: closed").unwrap_or_else(|e| panic!("{e}"));
    i.end_file(sink).unwrap_or_else(|e| panic!("{e}"));
    let a = &i.manifest().attachments[0];
    assert!(a.name.len() <= crate::model::MAX_FILE_NAME && a.name.ends_with(".pdf"));
    assert_eq!(a.content_type, "application/octet-stream");
}

#[test]
fn a_client_sealed_manifest_over_the_limit_is_refused_as_it_streams() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut i = intake(dir.path());
    let mut sink = i.begin_sealed(true).unwrap_or_else(|e| panic!("{e}"));
    let mut plain = Vec::new();
    let id = age::x25519::Identity::generate();
    let r = Recipients::parse(&id.to_public().to_string()).unwrap_or_else(|e| panic!("{e}"));
    let mut s = Sealer::new(&r, &mut plain).unwrap_or_else(|e| panic!("{e}"));
    s.write_all(&vec![b' '; 64 * 1024]).unwrap_or_else(|e| panic!("{e}"));
    drop(s.finish(Pad::Spaces));
    sink.write(&plain).unwrap_or_else(|e| panic!("{e}"));
    let chunk = vec![0u8; 1 << 20];
    let refused = (0..9).find_map(|_| sink.write(&chunk).err());
    assert!(matches!(refused, Some(IntakeError::ManifestTooLarge)), "{refused:?}");
}
