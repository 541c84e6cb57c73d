//! Line-oriented key files (`recipients.txt`, `investigators.txt`): the
//! entries with their 1-based line numbers, `#` comments and blank lines
//! skipped, each entry trimmed. Pure.

/// The entries of `text` with their line numbers.
pub fn entries(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, raw)| (i + 1, raw.trim())).filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn comments_and_blank_lines_are_skipped_and_numbers_kept() {
        let text = "# a comment\n\n  age1abc  \n\t# indented comment\nage1def # not a comment here\n";
        let got: Vec<(usize, &str)> = super::entries(text).collect();
        assert_eq!(got, [(3, "age1abc"), (5, "age1def # not a comment here")]);
    }
}
