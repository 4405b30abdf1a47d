//! RFC 5545 §3.1 content lines: text escaping, CRLF endings, 75-octet folding.

/// Longest content line, in octets, not counting the CRLF.
const MAX_LINE_OCTETS: usize = 75;

/// A calendar being written, one content line at a time.
#[derive(Default)]
pub(super) struct ContentLines(String);

impl ContentLines {
    /// A line whose value is already in its wire form (names, dates, offsets).
    pub(super) fn raw(&mut self, name: &str, value: &str) {
        self.push_folded(&format!("{name}:{value}"));
    }

    /// A TEXT value (§3.3.11), escaped.
    pub(super) fn text(&mut self, name: &str, value: &str) {
        self.push_folded(&format!("{name}:{}", escape_text(value)));
    }

    /// A URI or CAL-ADDRESS value: not escaped, so anything that could end the line goes.
    pub(super) fn uri(&mut self, name: &str, value: &str) {
        let value: String = value.chars().filter(|c| !c.is_control()).collect();
        self.push_folded(&format!("{name}:{value}"));
    }

    pub(super) fn finish(self) -> String {
        self.0
    }

    fn push_folded(&mut self, line: &str) {
        let mut rest = line;
        let mut limit = MAX_LINE_OCTETS;
        while rest.len() > limit {
            let cut = fold_point(rest, limit);
            self.0.push_str(&rest[..cut]);
            // The continuation's leading space counts toward its 75 octets.
            self.0.push_str("\r\n ");
            rest = &rest[cut..];
            limit = MAX_LINE_OCTETS - 1;
        }
        self.0.push_str(rest);
        self.0.push_str("\r\n");
    }
}

/// The last place at or before `limit` that splits neither a UTF-8 character nor a
/// backslash escape (unfolding would rejoin a split escape, but some readers don't).
fn fold_point(line: &str, limit: usize) -> usize {
    let mut cut = limit;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    let backslashes = line.as_bytes()[..cut]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    if backslashes % 2 == 1 {
        cut -= 1;
    }
    cut
}

/// Escapes TEXT per §3.3.11; line breaks of any style become `\n` and other control
/// characters, which TEXT cannot hold, are dropped.
pub(super) fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + value.len() / 8);
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// TEXT unescaping in one pass, as a careful reader does it.
    fn unescape(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        out
    }

    fn lines_of(build: impl FnOnce(&mut ContentLines)) -> String {
        let mut lines = ContentLines::default();
        build(&mut lines);
        lines.finish()
    }

    #[test]
    fn text_escapes_backslash_semicolon_comma_and_line_breaks() {
        assert_eq!(
            escape_text("a\\b;c,d\ne\r\nf\rg"),
            "a\\\\b\\;c\\,d\\ne\\nf\\ng"
        );
    }

    #[test]
    fn text_drops_control_characters_but_keeps_tabs_and_colons() {
        assert_eq!(escape_text("a\u{0007}b\tc:d"), "ab\tc:d");
    }

    #[test]
    fn a_short_line_is_not_folded_and_ends_with_crlf() {
        assert_eq!(lines_of(|l| l.raw("VERSION", "2.0")), "VERSION:2.0\r\n");
    }

    #[test]
    fn a_line_of_exactly_75_octets_is_not_folded() {
        let value = "x".repeat(75 - "SUMMARY:".len());
        let out = lines_of(|l| l.text("SUMMARY", &value));
        assert_eq!(out, format!("SUMMARY:{value}\r\n"));
    }

    #[test]
    fn a_line_of_76_octets_folds_its_last_octet() {
        let value = "x".repeat(76 - "SUMMARY:".len());
        let out = lines_of(|l| l.text("SUMMARY", &value));
        assert_eq!(out, format!("SUMMARY:{}\r\n x\r\n", "x".repeat(67)));
    }

    #[test]
    fn folding_never_splits_a_multi_byte_character() {
        // "SUMMARY:" is 8 octets; each 'é' is 2, so octet 75 falls inside a character.
        let value = "é".repeat(60);
        let out = lines_of(|l| l.text("SUMMARY", &value));
        let first = out.split("\r\n").next().expect("one line");
        assert_eq!(first.len(), 74);
        assert!(out.split("\r\n").all(|line| line.len() <= 75));
    }

    #[test]
    fn folding_never_splits_an_escape() {
        // Put a `\,` across octets 75 and 76.
        let value = format!("{},rest", "x".repeat(75 - "SUMMARY:".len() - 1));
        let out = lines_of(|l| l.text("SUMMARY", &value));
        let first = out.split("\r\n").next().expect("one line");
        assert!(!first.ends_with('\\'), "{first:?}");
        assert_eq!(
            out.replace("\r\n ", ""),
            format!("SUMMARY:{}\r\n", escape_text(&value))
        );
    }

    #[test]
    fn uri_values_lose_characters_that_could_start_a_new_line() {
        let out = lines_of(|l| l.uri("URL", "https://example.com/a\r\nATTACH:evil"));
        assert_eq!(out, "URL:https://example.com/aATTACH:evil\r\n");
    }

    proptest! {
        #[test]
        fn escaped_text_unescapes_to_the_original_with_line_breaks_normalized(
            value in "[\\\\;,:\\n\\r\\ta-zé見🏠 ]{0,80}"
        ) {
            let escaped = escape_text(&value);
            prop_assert!(!escaped.contains(['\r', '\n']));
            let expected = value.replace("\r\n", "\n").replace('\r', "\n");
            prop_assert_eq!(unescape(&escaped), expected);
        }

        #[test]
        fn folded_lines_fit_in_75_octets_and_unfold_to_the_original(value in "\\PC{0,400}") {
            let out = lines_of(|l| l.text("DESCRIPTION", &value));
            prop_assert!(out.ends_with("\r\n"));
            let body = out.strip_suffix("\r\n").unwrap_or(&out);
            for (i, line) in body.split("\r\n").enumerate() {
                prop_assert!(line.len() <= 75, "line {} has {} octets", i, line.len());
                prop_assert!(i == 0 || line.starts_with(' '));
            }
            prop_assert_eq!(
                body.replace("\r\n ", ""),
                format!("DESCRIPTION:{}", escape_text(&value))
            );
        }
    }
}
