//! One raw message → the decoded fields the pipeline keeps.

use std::fmt::Write as _;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use mail_parser::{Address, MessageParser, PartType};
use sha2::{Digest, Sha256};

use crate::html::html_to_text;

/// Why a message could not be parsed at all. Anything `mail-parser` can make sense of is parsed
/// best-effort instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailTextError {
    /// The input was empty or held no header or body `mail-parser` could read.
    #[error("the input is not an RFC 5322 message")]
    NotAMessage,
}

/// The decoded parts of one message that Penny stores and extracts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMessage {
    /// The subject with encoded words decoded; empty when absent.
    pub subject: String,
    /// The first sender for display: `Name <address>`, or just the address or the name.
    pub from: String,
    /// The first sender's bare address, when it has one.
    pub from_address: Option<String>,
    /// The `Date` header in UTC, when present and valid.
    pub date: Option<DateTime<Utc>>,
    /// The `Date` header with the sender's own offset, so the sender's local date can be read.
    pub date_local: Option<DateTime<FixedOffset>>,
    /// The `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// The text body: the text/plain parts when there are any, else the HTML parts as text.
    pub text: String,
    /// The body had no usable text/plain part and `text` was made from HTML.
    pub html_only: bool,
    /// The SHA-256 of the raw message, in lower-case hex, for deduplication.
    pub checksum: String,
}

/// Parses a raw RFC 5322 message (LF or CRLF line endings). Attachments are ignored; malformed
/// input is parsed as far as it goes and never panics.
pub fn parse_message(raw: &[u8]) -> Result<ParsedMessage, MailTextError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(MailTextError::NotAMessage);
    }
    let message = MessageParser::default().parse(raw).ok_or(MailTextError::NotAMessage)?;

    let (from, from_address) = sender(message.from());
    let date_local = message.date().and_then(|d| {
        let offset_secs = (i32::from(d.tz_hour) * 3600 + i32::from(d.tz_minute) * 60)
            * if d.tz_before_gmt { -1 } else { 1 };
        let offset = FixedOffset::east_opt(offset_secs)?;
        let naive = NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))?
            .and_hms_opt(u32::from(d.hour), u32::from(d.minute), u32::from(d.second))?;
        offset.from_local_datetime(&naive).single()
    });
    let (text, html_only) = body(&message);

    Ok(ParsedMessage {
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        from,
        from_address,
        date: date_local.map(|d| d.with_timezone(&Utc)),
        date_local,
        message_id: message.message_id().map(str::to_owned),
        text,
        html_only,
        checksum: sha256_hex(raw),
    })
}

fn sender(address: Option<&Address<'_>>) -> (String, Option<String>) {
    let Some(first) = address.and_then(Address::first) else {
        return (String::new(), None);
    };
    let name = first.name().map(str::trim).filter(|n| !n.is_empty());
    let addr = first.address().map(str::trim).filter(|a| !a.is_empty());
    let display = match (name, addr) {
        (Some(name), Some(addr)) => format!("{name} <{addr}>"),
        (Some(only), None) | (None, Some(only)) => only.to_owned(),
        (None, None) => String::new(),
    };
    (display, addr.map(str::to_owned))
}

/// The text/plain body parts joined; HTML only when no plain part has any text, because some
/// senders put an empty or placeholder text part beside the real HTML.
fn body(message: &mail_parser::Message<'_>) -> (String, bool) {
    let mut plain = Vec::new();
    let mut html = Vec::new();
    for part in message.text_bodies().chain(message.html_bodies()) {
        match &part.body {
            PartType::Text(text) if !text.trim().is_empty() => plain.push(text.as_ref()),
            PartType::Html(markup) => html.push(markup.as_ref()),
            _ => {}
        }
    }
    plain.dedup();
    html.dedup();
    if !plain.is_empty() {
        return (normalise_newlines(&plain.join("\n\n")), false);
    }
    if html.is_empty() {
        return (String::new(), false);
    }
    let text: Vec<String> = html.iter().map(|h| html_to_text(h)).collect();
    (text.join("\n\n"), true)
}

fn normalise_newlines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

fn sha256_hex(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest.iter() {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> ParsedMessage {
        parse_message(raw.as_bytes()).expect("parses")
    }

    #[test]
    fn headers_are_decoded() {
        let m = parse(
            "From: =?UTF-8?B?QmFuY28gw5FhbmR1?= <alerts@bank.example>\r\n\
             Subject: =?ISO-8859-1?Q?Compra_aprobada_=E1?=\r\n\
             Date: Tue, 06 Jan 2026 18:42:10 -0500\r\n\
             Message-ID: <abc@bank.example>\r\n\r\nHola\r\n",
        );
        assert_eq!(m.from, "Banco Ñandu <alerts@bank.example>");
        assert_eq!(m.from_address.as_deref(), Some("alerts@bank.example"));
        assert_eq!(m.subject, "Compra aprobada á");
        assert_eq!(m.date.map(|d| d.to_rfc3339()).as_deref(), Some("2026-01-06T23:42:10+00:00"));
        assert_eq!(m.date_local.map(|d| d.to_rfc3339()).as_deref(), Some("2026-01-06T18:42:10-05:00"));
        assert_eq!(m.message_id.as_deref(), Some("abc@bank.example"));
        assert_eq!(m.text.trim(), "Hola");
        assert!(!m.html_only);
    }

    #[test]
    fn plain_text_wins_in_multipart_alternative_and_attachments_are_ignored() {
        let m = parse(
            "From: a@b.example\nSubject: x\nMIME-Version: 1.0\n\
             Content-Type: multipart/mixed; boundary=OUT\n\n--OUT\n\
             Content-Type: multipart/alternative; boundary=ALT\n\n--ALT\n\
             Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n\
             Total =E2=82=AC12,50\n--ALT\nContent-Type: text/html\n\n<p>HTML version</p>\n--ALT--\n--OUT\n\
             Content-Type: application/pdf\nContent-Disposition: attachment; filename=r.pdf\n\
             Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--OUT--\n",
        );
        assert_eq!(m.text.trim(), "Total €12,50");
        assert!(!m.html_only);
    }

    #[test]
    fn html_only_mail_is_rendered_as_text() {
        let m = parse(
            "From: a@b.example\nSubject: x\nContent-Type: text/html; charset=windows-1252\n\
             Content-Transfer-Encoding: quoted-printable\n\n<table><tr><td>Betrag</td><td>=8012,50</td></tr></table>\n",
        );
        assert!(m.html_only);
        assert!(m.text.contains("Betrag") && m.text.contains("€12,50"), "{}", m.text);
        assert!(!m.text.contains('<'));
    }

    #[test]
    fn legacy_charsets_are_decoded() {
        let latin1 =
            b"From: a@b.example\nContent-Type: text/plain; charset=ISO-8859-1\n\nD\xe9bit de 5,00 \xa4\n";
        assert!(parse_message(latin1).expect("parses").text.contains("Débit"));
        let base64 = "From: a@b.example\nContent-Type: text/plain; charset=utf-8\n\
                      Content-Transfer-Encoding: base64\n\nUGFnbyDigqwxMA==\n";
        assert_eq!(parse(base64).text.trim(), "Pago €10");
        // "ご利用" in ISO-2022-JP.
        let jis = b"From: a@b.example\nContent-Type: text/plain; charset=ISO-2022-JP\n\n\x1b$B$4MxMQ\x1b(B\n";
        assert_eq!(parse_message(jis).expect("parses").text.trim(), "ご利用");
    }

    #[test]
    fn checksum_is_the_sha256_of_the_raw_bytes() {
        let m = parse("Subject: a\n\nb");
        assert_eq!(m.checksum.len(), 64);
        assert_ne!(m.checksum, parse("Subject: a\n\nc").checksum);
    }

    #[test]
    fn garbage_is_refused_or_parsed_best_effort() {
        assert_eq!(parse_message(b""), Err(MailTextError::NotAMessage));
        assert_eq!(parse_message(b" \r\n"), Err(MailTextError::NotAMessage));
        for raw in [
            &b"\xff\xfe\x00garbage"[..],
            b"Content-Type: multipart/mixed; boundary=x\n\n--x\n--x--",
            b"Date: yesterday\nFrom: <<<\n\n",
            b"Subject: =?utf-8?B?####?=\n\n",
        ] {
            let _ = parse_message(raw);
        }
        let m = parse("Date: not a date\nSubject: s\n\nbody");
        assert_eq!(m.date, None);
    }
}
