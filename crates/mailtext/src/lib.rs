//! MIME parsing and HTML-to-text for Penny's mail pipeline. Pure: no I/O, no async.
//!
//! [`parse_message`] turns one raw RFC 5322 message into the few things the pipeline needs (the
//! decoded subject, sender, date, message id, a text body and a checksum of the raw bytes);
//! [`html_to_text`] is the one HTML-to-text path, used for HTML-only mail and by anyone else who
//! holds HTML. Decoding (encoded words, quoted-printable, base64, legacy charsets) is left to
//! `mail-parser`; rendering HTML is left to `html2text`.

mod html;
mod message;

pub use html::html_to_text;
pub use message::{MailTextError, ParsedMessage, parse_message};
