//! File names for decrypted attachments. The names come from reporters and
//! are hostile input: whatever they hold, the written path stays inside the
//! submission's `files/` folder.

use std::path::Path;

/// A file name that is safe to create inside a folder on Linux, macOS and
/// Windows: the last path component only, no control or reserved characters,
/// no leading dots, no device names, at most 120 bytes.
pub fn safe_name(raw: &str, index: usize) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String =
        base.chars().filter(|c| !c.is_control()).map(|c| if "<>:\"|?*".contains(c) { '_' } else { c }).collect();
    let mut s = cleaned.trim().trim_start_matches('.').trim_end_matches(['.', ' ']).to_string();
    let stem = s.split('.').next().unwrap_or("").trim().to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if device {
        s = format!("_{s}");
    }
    if s.len() > 120 {
        let mut cut = 120;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    if s.is_empty() {
        s = format!("attachment-{index}");
    }
    s
}

/// Prefixes the attachment number (and a counter, if that is taken too) when
/// a name is already taken in `dir`: two files never overwrite each other,
/// and a reporter cannot make decrypt fail by choosing colliding names.
pub(super) fn unique_name(dir: &Path, name: &str, index: usize) -> String {
    let mut candidate = name.to_string();
    let mut n = 1;
    while dir.join(&candidate).symlink_metadata().is_ok() {
        candidate = if n == 1 { format!("{index}-{name}") } else { format!("{index}-{n}-{name}") };
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hostile_names_stay_inside() {
        assert_eq!(safe_name("../../.bashrc", 1), "bashrc");
        assert_eq!(safe_name("..\\..\\Windows\\system.ini", 1), "system.ini");
        assert_eq!(safe_name("CON", 1), "_CON");
        assert_eq!(safe_name("con.txt", 1), "_con.txt");
        assert_eq!(safe_name("LPT1.doc", 1), "_LPT1.doc");
        assert_eq!(safe_name("COMPANY.pdf", 1), "COMPANY.pdf");
        assert_eq!(safe_name("..", 3), "attachment-3");
        assert_eq!(safe_name("", 2), "attachment-2");
        assert_eq!(safe_name("a\u{0}b\nc?.txt", 1), "abc_.txt");
        assert_eq!(safe_name("bukti foto.jpg", 1), "bukti foto.jpg");
    }

    #[test]
    fn taken_names_get_a_prefix_until_free() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(unique_name(dir.path(), "a.pdf", 3), "a.pdf");
        for name in ["a.pdf", "3-a.pdf", "3-2-a.pdf"] {
            std::fs::write(dir.path().join(name), b"").unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(unique_name(dir.path(), "a.pdf", 3), "3-3-a.pdf");
    }

    proptest! {
        #[test]
        fn any_name_is_one_harmless_component(raw in "\\PC{0,300}", i in 1usize..50) {
            let s = safe_name(&raw, i);
            prop_assert!(!s.is_empty() && s.len() <= 120);
            prop_assert!(!s.contains('/') && !s.contains('\\') && !s.starts_with('.'));
            prop_assert!(s != "." && s != "..");
            prop_assert!(!s.chars().any(|c| c.is_control()));
        }
    }
}
