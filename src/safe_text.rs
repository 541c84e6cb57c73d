//! Text from outside (a reporter, a bundle, a server's answer) made safe to
//! show on a terminal or in `report.md`. Pure.
//!
//! Never let such text reach a terminal or a report raw: an ESC sequence can
//! rewrite what the investigator sees (a fake success line over an error), a
//! carriage return can hide what came before it, a newline in a one-line
//! field can forge a `Status:` line, and bidi overrides or zero-width
//! characters make `invoice\u{202E}fdp.exe` read as `invoiceexe.pdf`.

use std::borrow::Cow;
use std::fmt::Write;

use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// True for a character that shows nothing of itself or changes how other
/// text shows: controls (Cc, ESC and CR among them), format characters (Cf:
/// bidi overrides and isolates, zero-width characters, the BOM), line and
/// paragraph separators, private-use and unassigned code points.
pub fn is_hidden(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Other
        || matches!(c.general_category(), GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator)
}

/// One line of outside text: every hidden character, newlines included,
/// written visibly as `\u{…}`.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, |_| false)
}

/// Several lines of outside text: the same, but newlines and tabs are kept.
/// A carriage return is escaped: alone it moves back over the line.
pub fn block(s: &str) -> Cow<'_, str> {
    escape(s, |c| c == '\n' || c == '\t')
}

/// Escapes hidden characters except those `keep` accepts.
fn escape(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_hidden(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_hidden(c) && !keep(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn terminal_tricks_are_shown_not_obeyed() {
        assert_eq!(line("\u{1b}[2K\rDone: 0 errors"), "\\u{1b}[2K\\u{d}Done: 0 errors");
        assert_eq!(line("invoice\u{202e}fdp.exe"), "invoice\\u{202e}fdp.exe");
        assert_eq!(line("a\u{200b}b\u{2066}c\u{feff}"), "a\\u{200b}b\\u{2066}c\\u{feff}");
        assert_eq!(line("x\nStatus: closed"), "x\\u{a}Status: closed");
        assert_eq!(line("a\u{2028}b"), "a\\u{2028}b");
        assert_eq!(block("two\nlines\twith a tab\r"), "two\nlines\twith a tab\\u{d}");
        assert_eq!(block("\u{9b}31m"), "\\u{9b}31m", "the 8-bit CSI too");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for s in ["Kepala dinas meminta uang", "pengadaan barang/jasa", "日本語 العربية", "C:\\Users", "💸"]
        {
            assert!(matches!(line(s), Cow::Borrowed(_)), "{s}");
        }
    }

    proptest! {
        #[test]
        fn nothing_hidden_survives(s in "\\PC{0,40}[\\x00-\\x1f\\u{7f}-\\u{9f}\\u{200b}-\\u{200f}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}]{0,8}\\PC{0,40}") {
            prop_assert!(!line(&s).chars().any(is_hidden));
            prop_assert!(!block(&s).chars().any(|c| is_hidden(c) && c != '\n' && c != '\t'));
        }
    }
}
