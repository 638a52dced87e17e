//! `Label: value` lines, including the column layout that HTML tables become (`Label   value`).

use crate::text::Doc;

/// One labelled line.
#[derive(Debug, Clone)]
pub(crate) struct Field<'a> {
    /// The label, lower-cased, without bullets, colon or a parenthesised gloss.
    pub label: &'a str,
    /// The gloss in parentheses after the label (`Paane wala (Payee)`), lower-cased.
    pub gloss: Option<&'a str>,
    /// The value as written.
    pub value: &'a str,
}

impl Field<'_> {
    /// Whether the label or its gloss is exactly one of `names` (lower case).
    pub fn is(&self, names: &[&str]) -> bool {
        names.contains(&self.label) || self.gloss.is_some_and(|g| names.contains(&g))
    }
}

/// Labels that the HTML-to-text layout may leave with a single space before their value (the
/// longest label of a table column gets no padding).
const TIGHT_LABELS: &[&str] = &[
    "estabelecimento",
    "comercio",
    "commerçant",
    "merchant",
    "händler",
    "esercente",
    "payee",
    "remitter",
    "van",
    "from",
    "de",
    "aan",
    "to",
    "betrag",
    "amount",
    "importe",
    "montant",
    "valor",
    "importo",
    "bedrag",
    "monto",
];

/// Every labelled line of the body (the subject is never one).
pub(crate) fn fields(doc: &Doc) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let mut at = doc.body_start;
    for line in doc.text[doc.body_start..].split('\n') {
        if let Some(field) = parse_line(doc, line, at) {
            out.push(field);
        }
        at += line.len() + 1;
    }
    out
}

fn parse_line<'a>(doc: &'a Doc, line: &'a str, line_start: usize) -> Option<Field<'a>> {
    let trimmed = line.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '■' | '•' | '*' | '·' | '-' | '◆' | '●' | '>')
    });
    let lead = line.len() - trimmed.len();
    if !trimmed.starts_with(char::is_alphabetic) {
        return None;
    }
    let colon = trimmed.find(':').filter(|&i| i <= 48);
    let gap = crate::text::find(trimmed, "  ").filter(|&i| i <= 48);
    let split = match (colon, gap) {
        (Some(c), Some(g)) => Some(if c < g { (c, 1) } else { (g, 2) }),
        (Some(c), None) => Some((c, 1)),
        (None, Some(g)) => Some((g, 2)),
        (None, None) => None,
    };
    let (label_end, value_from) = match split {
        Some((end, width)) => (end, end + width),
        None => {
            let lower = &doc.lower[line_start + lead..line_start + line.len()];
            let label = TIGHT_LABELS.iter().find(|l| {
                // The first byte rules out most labels without a call to `memcmp`.
                lower.as_bytes().first() == l.as_bytes().first()
                    && lower.starts_with(*l)
                    && lower[l.len()..].starts_with(' ')
            })?;
            (label.len(), label.len() + 1)
        }
    };
    let label_text = &trimmed[..label_end];
    let raw_label = label_text.trim();
    if raw_label.is_empty() || raw_label.split_whitespace().count() > 6 {
        return None;
    }
    let value = trimmed[value_from..].trim_start_matches([':', ' ']);
    let value = value.trim_end();
    if value.is_empty() {
        return None;
    }
    // The lower-cased label is the same bytes of `Doc::lower`: no copy needed.
    let label_from = line_start + lead + (label_text.len() - label_text.trim_start().len());
    let lower_label = &doc.lower[label_from..label_from + raw_label.len()];
    let (label, gloss) = match lower_label.split_once('(') {
        Some((head, tail)) => (head.trim(), Some(tail.trim_end_matches(')').trim())),
        None => (lower_label.trim(), None),
    };
    Some(Field { label, gloss, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_lines_in_every_layout() {
        let doc = Doc::new(
            "s",
            "",
            "  Merchant:    BLUE BOTTLE COFFEE\nPaane wala (Payee) : CHAI KONA\n■ご利用先:サクラ電機\n\
             Händler           BERGSPORT HUBER AG\nEstabelecimento CASA AURORA\nJust a sentence here.\n\
             12:30 not a label",
        );
        let got: Vec<(&str, Option<&str>, &str)> =
            fields(&doc).into_iter().map(|f| (f.label, f.gloss, f.value)).collect();
        assert_eq!(
            got,
            vec![
                ("merchant", None, "BLUE BOTTLE COFFEE"),
                ("paane wala", Some("payee"), "CHAI KONA"),
                ("ご利用先", None, "サクラ電機"),
                ("händler", None, "BERGSPORT HUBER AG"),
                ("estabelecimento", None, "CASA AURORA"),
            ]
        );
    }
}
