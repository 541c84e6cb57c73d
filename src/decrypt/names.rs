//! File names for decrypted attachments. The names come from reporters and
//! are hostile input: whatever they hold, the written path stays inside the
//! submission's `files/` folder.

use std::path::Path;

/// A file name that is safe to create inside a folder on Linux, macOS and
/// Windows: the last path component only, no control, format (bidi,
/// zero-width) or reserved characters, no leading dot or dash (a name that a
/// shell command would take for an option), no device names, at most 120 bytes.
pub fn safe_name(raw: &str, index: usize) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !crate::safe_text::is_hidden(*c))
        .map(|c| if "<>:\"|?*".contains(c) { '_' } else { c })
        .collect();
    let start = cleaned.trim_start_matches(|c: char| c == '.' || c == '-' || c.is_whitespace());
    let mut s = start.trim_end_matches(|c: char| c == '.' || c.is_whitespace()).to_string();
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
    fn names_cannot_disguise_themselves_or_pass_for_options() {
        // Shown as "invoiceexe.pdf" by a bidi-aware terminal or file manager.
        assert_eq!(safe_name("invoice\u{202E}fdp.exe", 1), "invoicefdp.exe");
        assert_eq!(safe_name("bukti\u{200B}\u{2066}.pdf\u{2069}\u{FEFF}", 1), "bukti.pdf");
        assert_eq!(safe_name("-rf", 1), "rf");
        assert_eq!(safe_name("--help.txt", 1), "help.txt");
        assert_eq!(safe_name("-.-x", 1), "x");
        assert_eq!(safe_name("-", 4), "attachment-4");
        assert_eq!(safe_name("a-b.pdf", 1), "a-b.pdf");
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
            prop_assert!(!s.chars().any(crate::safe_text::is_hidden));
            prop_assert!(!s.starts_with('-'));
        }
    }
}
