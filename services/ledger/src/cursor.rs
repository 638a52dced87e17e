//! Opaque keyset cursors for newest-first lists: the `(occurred_at, id)` of the last row of a
//! page, base64url-encoded so clients treat it as a token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use penny_contract::TransactionId;

/// Where the next page starts (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at: DateTime<Utc>,
    pub id: TransactionId,
}

const VERSION: &str = "t1";

impl Cursor {
    /// The token for clients.
    pub fn encode(&self) -> String {
        let raw = format!("{VERSION}:{}:{}", self.occurred_at.timestamp_micros(), self.id);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a token; `None` if it is not one of ours.
    pub fn decode(token: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        let raw = std::str::from_utf8(&raw).ok()?;
        let mut parts = raw.splitn(3, ':');
        if parts.next()? != VERSION {
            return None;
        }
        let micros: i64 = parts.next()?.parse().ok()?;
        let id: TransactionId = parts.next()?.parse().ok()?;
        Some(Self { occurred_at: DateTime::from_timestamp_micros(micros)?, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            occurred_at: DateTime::from_timestamp_micros(1_760_000_000_123_456).unwrap(),
            id: TransactionId::new(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "abc", "dDE6eDp5", &URL_SAFE_NO_PAD.encode("t2:1:x")] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
    }
}
