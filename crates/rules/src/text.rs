//! The text the rules read: subject and body joined, spaces and digits normalised, and a
//! lower-case copy whose byte offsets match the original so a match in one can be cut from the
//! other.

/// One email, normalised once and shared by every rule.
#[derive(Debug)]
pub(crate) struct Doc {
    /// Subject, a blank line, then the body; invisible characters removed, exotic spaces turned
    /// into plain spaces, full-width digits and punctuation into ASCII.
    pub text: String,
    /// `text` lower-cased character by character where that keeps the UTF-8 length.
    pub lower: String,
    /// Where the body starts in `text`; everything before it is the subject.
    pub body_start: usize,
    /// The sender as given (`Name <address>`), lower-cased.
    pub from_lower: String,
    /// The sender's display name, without the address.
    pub from_name: String,
}

impl Doc {
    pub fn new(subject: &str, from: &str, body: &str) -> Self {
        // The bus carries at most this much body; reading more would only cost time.
        let body = &body[..floor_char(body, penny_contract::events::MAX_BODY_BYTES)];
        let subject = &subject[..floor_char(subject, 1024)];
        let mut text = String::with_capacity(subject.len() + body.len() + 2);
        normalise_into(subject.trim(), &mut text);
        text.push_str("\n\n");
        let body_start = text.len();
        normalise_into(body, &mut text);
        let lower = lower_same_len(&text);
        let from_name = from.split('<').next().unwrap_or_default().trim().trim_matches('"').trim().to_owned();
        Self { text, lower, body_start, from_lower: from.to_lowercase(), from_name }
    }

    /// The subject, lower-cased.
    pub fn subject_lower(&self) -> &str {
        &self.lower[..self.body_start.saturating_sub(2)]
    }

    /// The line of `text` around a byte offset (without its newline).
    pub fn line_at(&self, at: usize) -> (usize, usize) {
        let start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = self.text[at..].find('\n').map_or(self.text.len(), |i| at + i);
        (start, end)
    }
}

fn normalise_into(src: &str, out: &mut String) {
    for c in src.chars() {
        match c {
            '\r' => {}
            '\t' => out.push_str("  "),
            '\u{00a0}' | '\u{202f}' | '\u{2000}'..='\u{200a}' | '\u{3000}' => out.push(' '),
            '\u{200b}'..='\u{200d}' | '\u{034f}' | '\u{feff}' | '\u{00ad}' | '\u{2060}' => {}
            '\u{2212}' => out.push('-'),
            '\u{2019}' | '\u{2032}' => out.push('\''),
            // Full-width forms (common in Japanese and Chinese mail) map onto ASCII.
            '\u{ff01}'..='\u{ff5e}' => {
                out.push(char::from_u32(c as u32 - 0xfee0).unwrap_or(c));
            }
            '\u{ffe5}' => out.push('¥'),
            _ => out.push(c),
        }
    }
}

/// Compiles one of the rules' patterns. Word boundaries are ASCII ones: a Unicode `\b` keeps
/// the regex crate off its fast DFA on non-ASCII text, and the rules' words are delimited by
/// spaces and punctuation anyway.
pub(crate) fn regex(pattern: &str) -> regex::Regex {
    // `\d` is ASCII too: other scripts' digits are not amounts the parsers read.
    let ascii = pattern.replace(r"\b", r"(?-u:\b)").replace(r"\d", "[0-9]");
    regex::Regex::new(&ascii).expect("the rules' patterns are valid")
}

/// The largest char boundary at or before `at`.
pub(crate) fn floor_char(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Lower-cases each character whose lower case has the same UTF-8 length, so byte offsets in
/// the result are valid in the original.
pub(crate) fn lower_same_len(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
            continue;
        }
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) if l.len_utf8() == c.len_utf8() => out.push(l),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_of_the_lower_copy_match() {
        let doc = Doc::new("Über İstanbul ÇAFÉ", "Bank <a@b.example>", "Betrag：１２，５０\u{00a0}€\u{200b}");
        assert_eq!(doc.text.len(), doc.lower.len());
        assert!(doc.text.contains("Betrag:12,50 €"), "{}", doc.text);
        assert!(doc.lower.starts_with("über"));
        assert_eq!(&doc.text[..doc.body_start - 2], "Über İstanbul ÇAFÉ");
        assert_eq!(doc.from_name, "Bank");
    }
}
