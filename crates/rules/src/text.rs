//! The text the rules read: subject and body joined, spaces and digits normalised, and a
//! lower-case copy whose byte offsets match the original so a match in one can be cut from the
//! other.

use std::ops::Range;

use crate::prefilter::Hits;

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
    /// Where the rules' keywords occur in `lower`, so rules that cannot match are skipped.
    pub hits: Hits,
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
        let hits = Hits::new(&lower, body_start - 2, body_start);
        Self { text, lower, body_start, from_lower: from.to_lowercase(), from_name, hits }
    }

    /// Where the subject is in `text` and `lower`.
    pub fn subject(&self) -> Range<usize> {
        0..self.body_start - 2
    }

    /// Where the body is in `text` and `lower`.
    pub fn body(&self) -> Range<usize> {
        self.body_start..self.text.len()
    }

    /// The whole of `text` and `lower`.
    pub fn all(&self) -> Range<usize> {
        0..self.text.len()
    }

    /// The line of `text` around a byte offset (without its newline).
    pub fn line_at(&self, at: usize) -> (usize, usize) {
        let start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = self.text[at..].find('\n').map_or(self.text.len(), |i| at + i);
        (start, end)
    }
}

/// What normalising does to one character.
enum Edit {
    Keep,
    Drop,
    Into(char),
    /// A tab becomes two spaces.
    Tab,
}

fn edit(c: char) -> Edit {
    match c {
        '\r' => Edit::Drop,
        '\t' => Edit::Tab,
        '\u{00a0}' | '\u{202f}' | '\u{2000}'..='\u{200a}' | '\u{3000}' => Edit::Into(' '),
        '\u{200b}'..='\u{200d}' | '\u{034f}' | '\u{feff}' | '\u{00ad}' | '\u{2060}' => Edit::Drop,
        '\u{2212}' => Edit::Into('-'),
        '\u{2019}' | '\u{2032}' => Edit::Into('\''),
        // Full-width forms (common in Japanese and Chinese mail) map onto ASCII.
        '\u{ff01}'..='\u{ff5e}' => Edit::Into(char::from_u32(c as u32 - 0xfee0).unwrap_or(c)),
        '\u{ffe5}' => Edit::Into('¥'),
        _ => Edit::Keep,
    }
}

fn normalise_into(src: &str, out: &mut String) {
    // Runs of characters that stay as they are are copied whole: most mail is plain ASCII.
    let bytes = src.as_bytes();
    let mut run = 0;
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte.is_ascii() && byte != b'\r' && byte != b'\t' {
            at += 1;
            continue;
        }
        let Some(c) = src[at..].chars().next() else { break };
        let next = at + c.len_utf8();
        let edit = edit(c);
        if let Edit::Keep = edit {
            at = next;
            continue;
        }
        out.push_str(&src[run..at]);
        match edit {
            Edit::Into(into) => out.push(into),
            Edit::Tab => out.push_str("  "),
            Edit::Keep | Edit::Drop => {}
        }
        run = next;
        at = next;
    }
    out.push_str(&src[run..]);
}

/// Compiles one of the rules' patterns. Word boundaries are ASCII ones: a Unicode `\b` keeps
/// the regex crate off its fast DFA on non-ASCII text, and the rules' words are delimited by
/// spaces and punctuation anyway.
pub(crate) fn regex(pattern: &str) -> regex::Regex {
    regex::Regex::new(&ascii_pattern(pattern)).expect("the rules' patterns are valid")
}

/// `pattern` with ASCII word boundaries and digits, as [`regex`] compiles it.
pub(crate) fn ascii_pattern(pattern: &str) -> String {
    // `\d` is ASCII too: other scripts' digits are not amounts the parsers read.
    pattern.replace(r"\b", r"(?-u:\b)").replace(r"\d", "[0-9]")
}

/// Where `needle` first occurs in `haystack`, as `str::find` says, without its per-call set-up
/// (which costs more than the search in the short texts the rules read).
pub(crate) fn find(haystack: &str, needle: &str) -> Option<usize> {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    let Some((&first, rest)) = needle.split_first() else { return Some(0) };
    if haystack.len() < 64 {
        // A line or a name: comparing at each byte beats starting a search.
        return haystack.windows(needle.len()).position(|w| w[0] == first && &w[1..] == rest);
    }
    let mut from = 0;
    while let Some(i) = memchr::memchr(first, &haystack[from..]) {
        let at = from + i;
        if haystack[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Whether `needle` occurs in `haystack` (see [`find`]).
pub(crate) fn contains(haystack: &str, needle: &str) -> bool {
    find(haystack, needle).is_some()
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
    // Runs between characters that change are copied whole and lower-cased as ASCII.
    let mut run = 0;
    let mut at = 0;
    let bytes = text.as_bytes();
    while at < bytes.len() {
        if bytes[at].is_ascii() {
            at += 1;
            continue;
        }
        let Some(c) = text[at..].chars().next() else { break };
        let next = at + c.len_utf8();
        let mut lower = c.to_lowercase();
        if let (Some(l), None) = (lower.next(), lower.next())
            && l != c
            && l.len_utf8() == c.len_utf8()
        {
            push_ascii_lower(&mut out, &text[run..at]);
            out.push(l);
            run = next;
        }
        at = next;
    }
    push_ascii_lower(&mut out, &text[run..]);
    out
}

fn push_ascii_lower(out: &mut String, s: &str) {
    let from = out.len();
    out.push_str(s);
    out[from..].make_ascii_lowercase();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Normalising and lower-casing character by character, as they were written first: the
    /// run-copying versions must agree with them on any text.
    fn normalise_by_char(src: &str) -> String {
        let mut out = String::new();
        for c in src.chars() {
            match c {
                '\r' => {}
                '\t' => out.push_str("  "),
                '\u{00a0}' | '\u{202f}' | '\u{2000}'..='\u{200a}' | '\u{3000}' => out.push(' '),
                '\u{200b}'..='\u{200d}' | '\u{034f}' | '\u{feff}' | '\u{00ad}' | '\u{2060}' => {}
                '\u{2212}' => out.push('-'),
                '\u{2019}' | '\u{2032}' => out.push('\''),
                '\u{ff01}'..='\u{ff5e}' => out.push(char::from_u32(c as u32 - 0xfee0).unwrap_or(c)),
                '\u{ffe5}' => out.push('¥'),
                _ => out.push(c),
            }
        }
        out
    }

    fn lower_by_char(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) if l.len_utf8() == c.len_utf8() => out.push(l),
                _ => out.push(c),
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn runs_are_copied_like_characters(text in "(\\PC|[\\r\\t \u{a0}\u{200b}\u{2212}\u{2019}\u{ff01}-\u{ff5e}\u{ffe5}İẞΣÀ-ÖA-Z])*") {
            let mut normalised = String::new();
            normalise_into(&text, &mut normalised);
            proptest::prop_assert_eq!(&normalised, &normalise_by_char(&text));
            proptest::prop_assert_eq!(lower_same_len(&normalised), lower_by_char(&normalised));
        }
    }

    #[test]
    fn find_agrees_with_the_standard_library() {
        let long = format!("{}a  b — c", "x ".repeat(40));
        for (haystack, needle) in [
            ("", ""),
            ("abc", ""),
            ("", "a"),
            ("a  b", "  "),
            ("x - y — z", " — "),
            ("aaab", "aab"),
            ("ab", "abc"),
            (&long, "  "),
            (&long, " — "),
            (&long, "zz"),
        ] {
            assert_eq!(find(haystack, needle), haystack.find(needle), "{haystack:?} {needle:?}");
        }
    }

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
