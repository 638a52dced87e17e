//! Gmail through its REST API (`gmail/v1`).
//!
//! Full sync: the mailbox's current `historyId` from `users.getProfile` is read first (so
//! anything arriving during the listing is caught by the next incremental sync), then
//! `users.messages.list?q=<gmail_query>` is paged with `pageToken`. Incremental sync:
//! `users.history.list?startHistoryId=<cursor>&historyTypes=messageAdded`, paged, keeping the
//! last page's `historyId`; a 404 means Google no longer has that history, so a full sync
//! follows. Each message comes from `users.messages.get?format=raw` (base64url MIME).
//!
//! The query filters only the full sync: history cannot be searched, so an incremental sync
//! takes every added message except drafts, spam, trash, chats and sent mail; the extraction
//! service classifies what is not a transaction.

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use reqwest::StatusCode;
use serde::Deserialize;

use super::remote::{ApiClient, Changes, RemoteMailbox};
use crate::oauth::OAuthError;

/// Labels whose new messages an incremental sync ignores.
const SKIPPED_LABELS: &[&str] = &["DRAFT", "SPAM", "TRASH", "CHAT", "SENT"];

/// Google pads some base64url values and not others.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `users.getProfile`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub email_address: String,
    pub history_id: String,
}

/// The signed-in user's profile (address and current history id).
pub async fn profile(api: &ApiClient<'_>) -> Result<Profile, OAuthError> {
    let url = api.url(&["gmail", "v1", "users", "me", "profile"], &[])?;
    api.get(&url).await?.json()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageRef {
    id: String,
    #[serde(default)]
    label_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageList {
    #[serde(default)]
    messages: Vec<MessageRef>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MessageAdded {
    message: MessageRef,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct History {
    #[serde(default)]
    messages_added: Vec<MessageAdded>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryList {
    #[serde(default)]
    history: Vec<History>,
    next_page_token: Option<String>,
    history_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawMessage {
    raw: String,
}

/// A Gmail mailbox; see the module documentation.
#[derive(Debug)]
pub struct GmailMailbox<'a> {
    api: ApiClient<'a>,
    query: &'a str,
}

impl<'a> GmailMailbox<'a> {
    /// The mailbox behind `api`, selecting mail with the Gmail search `query` on full syncs.
    pub fn new(api: ApiClient<'a>, query: &'a str) -> Self {
        Self { api, query }
    }

    async fn full(&self) -> Result<Changes, OAuthError> {
        let profile = profile(&self.api).await?;
        let mut ids = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut query = vec![("maxResults", "500")];
            if !self.query.trim().is_empty() {
                query.push(("q", self.query));
            }
            if let Some(token) = &page {
                query.push(("pageToken", token));
            }
            let url = self.api.url(&["gmail", "v1", "users", "me", "messages"], &query)?;
            let list: MessageList = self.api.get(&url).await?.json()?;
            ids.extend(list.messages.into_iter().map(|m| m.id));
            match list.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => page = Some(next),
                None => break,
            }
        }
        // The list is newest first; store oldest first, as the mail arrived.
        ids.reverse();
        Ok(Changes { ids, sync_token: profile.history_id })
    }

    /// `None` when Google answers 404: the history id is too old.
    async fn history(&self, start: &str) -> Result<Option<Changes>, OAuthError> {
        let mut ids = Vec::new();
        let mut latest = start.to_owned();
        let mut page: Option<String> = None;
        loop {
            let mut query = vec![("startHistoryId", start), ("historyTypes", "messageAdded")];
            if let Some(token) = &page {
                query.push(("pageToken", token));
            }
            let url = self.api.url(&["gmail", "v1", "users", "me", "history"], &query)?;
            let response = self.api.get(&url).await?;
            if response.status == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            let list: HistoryList = response.json()?;
            for record in list.history {
                for added in record.messages_added {
                    let skipped =
                        added.message.label_ids.iter().any(|l| SKIPPED_LABELS.contains(&l.as_str()));
                    if !skipped {
                        ids.push(added.message.id);
                    }
                }
            }
            if let Some(id) = list.history_id {
                latest = id;
            }
            match list.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => page = Some(next),
                None => break,
            }
        }
        Ok(Some(Changes { ids, sync_token: latest }))
    }
}

impl RemoteMailbox for GmailMailbox<'_> {
    const CURSOR: &'static str = "gmail:history";

    async fn changes(&mut self, sync_token: Option<&str>) -> Result<Changes, OAuthError> {
        if let Some(start) = sync_token {
            match self.history(start).await? {
                Some(changes) => return Ok(changes),
                None => tracing::info!(
                    history.start = start,
                    "Gmail no longer has history from {start}; running a full sync"
                ),
            }
        }
        self.full().await
    }

    async fn raw(&mut self, id: &str) -> Result<Option<Vec<u8>>, OAuthError> {
        let url = self.api.url(&["gmail", "v1", "users", "me", "messages", id], &[("format", "raw")])?;
        let response = self.api.get(&url).await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let message: RawMessage = response.json()?;
        BASE64URL
            .decode(message.raw.trim())
            .map(Some)
            .map_err(|e| OAuthError::BadResponse(format!("message {id} is not base64url: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_messages_decode_with_or_without_padding() {
        assert_eq!(BASE64URL.decode("U3ViamVjdDogeA").unwrap(), b"Subject: x");
        assert_eq!(BASE64URL.decode("U3ViamVjdDogeA==").unwrap(), b"Subject: x");
        assert_eq!(BASE64URL.decode("-_8").unwrap(), [0xfb, 0xff]);
    }
}
