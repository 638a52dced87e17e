//! Opaque keyset cursors for newest-first lists: the `(timestamp, id)` of the last row of a
//! page, base64url-encoded so clients treat it as a token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Where the next page starts (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

const VERSION: &str = "i1";

impl Cursor {
    /// The token for clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{VERSION}:{}:{}", self.at.timestamp_micros(), self.id))
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
        let id = Uuid::parse_str(parts.next()?).ok()?;
        Some(Self { at: DateTime::from_timestamp_micros(micros)?, id })
    }
}

/// Reads `limit` (1 to 500, default 50).
pub fn parse_limit(limit: Option<&str>) -> Result<i64, String> {
    match limit.map(str::trim) {
        None | Some("") => Ok(50),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=500).contains(&n) => Ok(n),
            _ => Err("must be a whole number from 1 to 500".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            at: DateTime::from_timestamp_micros(1_760_000_000_123_456).unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for bad in ["", "abc", &URL_SAFE_NO_PAD.encode("t2:1:x")] {
            assert_eq!(Cursor::decode(bad), None, "{bad:?}");
        }
        assert_eq!(parse_limit(None), Ok(50));
        assert_eq!(parse_limit(Some("500")), Ok(500));
        assert!(parse_limit(Some("0")).is_err() && parse_limit(Some("x")).is_err());
    }
}
