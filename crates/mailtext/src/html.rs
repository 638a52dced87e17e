//! HTML to readable text: one line per paragraph or table row, no tags, scripts or styles.

/// Lines are wrapped only past this width, so that a sentence or a table row stays on one line
/// for the rule engine's line-oriented patterns.
const WRAP_WIDTH: usize = 400;

/// HTML nested deeper than this is not rendered by `html2text` (whose layout recurses and could
/// exhaust the stack); such input falls back to plain tag stripping.
const MAX_NESTING: usize = 200;

/// Renders HTML as plain text: block elements and table rows become lines, table cells are
/// separated by spaces, entities are decoded, and `<script>`, `<style>` and `<head>` content is
/// dropped. Never fails: input `html2text` refuses is reduced by stripping its tags.
pub fn html_to_text(html: &str) -> String {
    let rendered = if nesting_depth(html) > MAX_NESTING {
        None
    } else {
        html2text::config::plain_no_decorate()
            .no_table_borders()
            .no_link_wrapping()
            .string_from_read(html.as_bytes(), WRAP_WIDTH)
            .ok()
    };
    tidy(&rendered.unwrap_or_else(|| strip_tags(html)))
}

/// An upper bound of how deeply elements nest: opening tags minus closing tags, at their peak.
fn nesting_depth(html: &str) -> usize {
    let bytes = html.as_bytes();
    let (mut depth, mut peak) = (0usize, 0usize);
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'<' {
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(c) if c.is_ascii_alphabetic() => {
                depth += 1;
                peak = peak.max(depth);
            }
            _ => {}
        }
    }
    peak
}

/// The fallback: drops tags and the content of script and style elements, keeps the rest.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let lower: String = rest.chars().take(8).collect::<String>().to_ascii_lowercase();
        let skip_to = ["script", "style"]
            .into_iter()
            .find(|name| lower[1..].starts_with(name))
            .map(|name| format!("</{name}"));
        let end = match skip_to {
            Some(close) => {
                find_ignore_case(rest, &close).and_then(|at| rest[at..].find('>').map(|gt| at + gt + 1))
            }
            None => rest.find('>').map(|gt| gt + 1),
        };
        match end {
            Some(end) => {
                out.push('\n');
                rest = &rest[end..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    decode_basic_entities(&out)
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack.to_ascii_lowercase().find(needle)
}

fn decode_basic_entities(text: &str) -> String {
    text.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Trims line ends and collapses runs of blank lines, which table and block layout leave behind.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        // Preheader padding in marketing HTML is made of invisible characters; they carry nothing.
        let line: String = line.chars().filter(|c| !is_invisible(*c)).collect();
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200d}' | '\u{034f}' | '\u{feff}' | '\u{00ad}' | '\u{2060}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_become_lines_and_entities_are_decoded() {
        let html = "<html><head><style>td{color:red}</style><script>alert('x')</script></head>\
            <body><p>Hello&nbsp;there</p><table><tr><td>Merchant</td><td>O&#39;Neill&apos;s Bar &amp; Kitchen</td></tr>\
            <tr><td>Amount</td><td>&pound;38.60</td></tr></table></body></html>";
        let text = html_to_text(html);
        assert!(!text.contains('<'), "{text}");
        assert!(!text.contains("alert"), "{text}");
        assert!(!text.contains("color"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.iter().any(|l| l.contains("Merchant") && l.contains("O'Neill's Bar & Kitchen")),
            "{text}"
        );
        assert!(lines.iter().any(|l| l.contains("Amount") && l.contains("£38.60")), "{text}");
    }

    #[test]
    fn block_elements_break_lines() {
        let text = html_to_text("<div>one</div><div>two<br>three</div>");
        assert_eq!(text.lines().map(str::trim).collect::<Vec<_>>(), ["one", "two", "three"]);
    }

    #[test]
    fn malformed_and_deep_html_do_not_panic() {
        for html in ["<", "<<<>>>", "<table><tr><td>1<td>2</table", "</p></div>", "&#xffffffff;", ""] {
            let _ = html_to_text(html);
        }
        let deep = "<div>".repeat(5000) + "deep" + &"</div>".repeat(5000);
        assert!(html_to_text(&deep).contains("deep"));
        let script = "<script>var a = '<b>';</script>kept";
        assert_eq!(strip_tags(script).trim(), "kept");
    }
}
