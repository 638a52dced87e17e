//! An incremental mbox reader: bytes go in as they arrive, whole messages come out, and memory
//! stays bounded by the largest message allowed (never by the file).
//!
//! The format read is mboxrd (which also reads mboxo): a line starting with `From ` at the start
//! of the file or after an empty line begins a new message and is not part of it; a body line
//! `>From `, `>>From `, … had one `>` added when the file was written, which is removed. The
//! empty line before a separator belongs to the file format, not to the message. LF and CRLF
//! line endings are both read. Text before the first separator (a file that does not start with
//! `From `) is read as a message too, so a lone message uploaded as mbox still imports.
//!
//! A message larger than the per-message limit is not kept in memory: its bytes are dropped as
//! they arrive and it comes out as [`Item::TooLarge`], so the caller records and skips it.

/// What the reader yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// One raw message, unescaped.
    Message(Vec<u8>),
    /// A message over the limit; its size in bytes.
    TooLarge(u64),
}

/// Splits an mbox fed in chunks.
#[derive(Debug)]
pub struct MboxReader {
    max_message: usize,
    /// The current message so far (its last line possibly incomplete).
    current: Vec<u8>,
    /// Where the current (incomplete) line starts in `current`.
    line_start: usize,
    /// The previous complete line was empty (or nothing was read yet).
    after_blank: bool,
    /// Whether the current message's bytes are being dropped, and its size so far.
    oversized: Option<u64>,
    /// Whether anything of the current message was seen (to skip empty leading text).
    started: bool,
    ready: Vec<Item>,
}

const SEPARATOR: &[u8] = b"From ";

impl MboxReader {
    /// A reader that refuses to hold messages over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self {
            max_message,
            current: Vec::new(),
            line_start: 0,
            after_blank: true,
            oversized: None,
            started: false,
            ready: Vec::new(),
        }
    }

    /// Feeds the next chunk and returns the messages it completed.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Vec<Item> {
        while !chunk.is_empty() {
            match chunk.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    self.push(&chunk[..=at]);
                    self.end_line();
                    chunk = &chunk[at + 1..];
                }
                None => {
                    self.push(chunk);
                    chunk = &[];
                }
            }
        }
        std::mem::take(&mut self.ready)
    }

    /// Ends the input and returns the last message, if any.
    pub fn finish(mut self) -> Vec<Item> {
        if self.line_start < self.current.len() {
            // A last line without a newline: it can only be message text.
            self.end_line();
        }
        self.emit();
        self.ready
    }

    fn push(&mut self, bytes: &[u8]) {
        self.current.extend_from_slice(bytes);
        if let Some(size) = self.oversized.as_mut() {
            *size += bytes.len() as u64;
            // Keep only enough of the current line to recognise a separator.
            let keep = self.line_start + SEPARATOR.len() + 1;
            if self.current.len() > keep {
                self.current.truncate(keep);
            }
        } else if self.current.len() > self.max_message {
            let size = self.current.len() as u64;
            let line: Vec<u8> =
                self.current[self.line_start..].iter().take(SEPARATOR.len() + 1).copied().collect();
            self.current = line;
            self.line_start = 0;
            self.oversized = Some(size);
        }
    }

    fn end_line(&mut self) {
        let line = &self.current[self.line_start..];
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if self.after_blank && content.starts_with(SEPARATOR) {
            self.current.truncate(self.line_start);
            self.emit();
            self.started = true;
            self.after_blank = false;
            return;
        }
        let blank = content.is_empty();
        if !blank {
            self.started = true;
        }
        // mboxrd: `>From `, `>>From `, ... lose one `>`.
        let quoted = content.iter().take_while(|&&b| b == b'>').count();
        if quoted > 0 && content[quoted..].starts_with(SEPARATOR) && self.oversized.is_none() {
            self.current.remove(self.line_start);
        }
        self.after_blank = blank;
        if self.oversized.is_some() {
            self.current.clear();
        }
        self.line_start = self.current.len();
    }

    /// Completes the current message: drops the empty line that separated it from the next.
    fn emit(&mut self) {
        let mut message = std::mem::take(&mut self.current);
        self.line_start = 0;
        if let Some(size) = self.oversized.take() {
            self.ready.push(Item::TooLarge(size));
            return;
        }
        if message.ends_with(b"\r\n\r\n") {
            message.truncate(message.len() - 2);
        } else if message.ends_with(b"\n\n") {
            message.truncate(message.len() - 1);
        }
        if self.started && !message.iter().all(u8::is_ascii_whitespace) {
            self.ready.push(Item::Message(message));
        } else if self.started && !message.is_empty() {
            // A separator followed by nothing but blank lines: an empty (malformed) message.
            self.ready.push(Item::Message(message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], chunk: usize, max: usize) -> Vec<Item> {
        let mut reader = MboxReader::new(max);
        let mut items = Vec::new();
        for part in input.chunks(chunk.max(1)) {
            items.extend(reader.feed(part));
        }
        items.extend(reader.finish());
        items
    }

    fn messages(items: Vec<Item>) -> Vec<String> {
        items
            .into_iter()
            .map(|i| match i {
                Item::Message(m) => String::from_utf8(m).unwrap(),
                Item::TooLarge(n) => format!("<too large {n}>"),
            })
            .collect()
    }

    const MBOX: &str = "From a@x Mon Jan  1 00:00:00 2026\nSubject: one\n\nHello\n>From the start\n>>From twice\n\nFrom b@x Tue Jan  2 00:00:00 2026\nSubject: two\n\nfirst\nFrom here on, not a separator: no blank line before.\nbye\n";

    #[test]
    fn messages_are_split_and_unescaped_whatever_the_chunking() {
        let expected = vec![
            "Subject: one\n\nHello\nFrom the start\n>From twice\n".to_owned(),
            "Subject: two\n\nfirst\nFrom here on, not a separator: no blank line before.\nbye\n".to_owned(),
        ];
        for chunk in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(messages(read_all(MBOX.as_bytes(), chunk, 1 << 20)), expected, "chunk {chunk}");
        }
    }

    #[test]
    fn crlf_files_and_a_last_line_without_newline_are_read() {
        let input = "From a\r\nSubject: one\r\n\r\nbody\r\n\r\nFrom b\r\nSubject: two\r\n\r\nend";
        assert_eq!(
            messages(read_all(input.as_bytes(), 5, 1 << 20)),
            vec!["Subject: one\r\n\r\nbody\r\n", "Subject: two\r\n\r\nend"]
        );
    }

    #[test]
    fn oversized_messages_are_reported_not_kept() {
        let big = format!("From a\nSubject: big\n\n{}\n\nFrom b\nSubject: small\n\nok\n", "x".repeat(5000));
        let items = read_all(big.as_bytes(), 100, 1000);
        assert!(matches!(items[0], Item::TooLarge(n) if n > 5000), "{items:?}");
        assert_eq!(items[1], Item::Message(b"Subject: small\n\nok\n".to_vec()));
    }

    #[test]
    fn leading_text_without_separator_is_a_message_and_empty_input_is_nothing() {
        assert_eq!(messages(read_all(b"Subject: eml\n\nbody\n", 3, 1 << 20)), vec!["Subject: eml\n\nbody\n"]);
        assert!(read_all(b"", 3, 100).is_empty());
        assert!(read_all(b"\n\n", 3, 100).is_empty());
        // A separator with nothing after it is an empty message, reported so it can be counted.
        assert_eq!(read_all(b"From a\n\nFrom b\nSubject: x\n\ny\n", 4, 100).len(), 2);
    }
}
