//! Outlook and Microsoft 365 through Microsoft Graph.
//!
//! The inbox is tracked with a delta query: `GET /me/mailFolders('inbox')/messages/delta`
//! (`$select=id`, only ids are needed), following `@odata.nextLink` until a page carries
//! `@odata.deltaLink`, which is stored as the sync token; the next fetch starts from it. A
//! `410 Gone` means the token expired, so the round starts again from scratch. Rows marked
//! `@removed` are ignored (stored mail stays). Each message's MIME comes from
//! `GET /me/messages/{id}/$value`. Links are followed only when they point at the configured API,
//! so the bearer token never leaves it.

use reqwest::StatusCode;
use serde::Deserialize;

use super::remote::{ApiClient, Changes, RemoteMailbox};
use crate::oauth::OAuthError;

/// `GET /me`, for the mailbox address.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    mail: Option<String>,
    user_principal_name: Option<String>,
}

/// The signed-in user's address: `mail`, or the sign-in name when no mailbox address is set.
pub async fn address(api: &ApiClient<'_>) -> Result<String, OAuthError> {
    let url = api.url(&["me"], &[("$select", "mail,userPrincipalName")])?;
    let me: Me = api.get(&url).await?.json()?;
    me.mail
        .filter(|m| !m.trim().is_empty())
        .or(me.user_principal_name)
        .ok_or_else(|| OAuthError::BadResponse("`/me` names no address".into()))
}

#[derive(Debug, Deserialize)]
struct DeltaItem {
    id: String,
    #[serde(rename = "@removed")]
    removed: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct DeltaPage {
    #[serde(default)]
    value: Vec<DeltaItem>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

/// An Outlook inbox; see the module documentation.
#[derive(Debug)]
pub struct GraphMailbox<'a> {
    api: ApiClient<'a>,
}

impl<'a> GraphMailbox<'a> {
    /// The inbox behind `api`.
    pub fn new(api: ApiClient<'a>) -> Self {
        Self { api }
    }

    fn initial(&self) -> Result<url::Url, OAuthError> {
        self.api.url(&["me", "mailFolders('inbox')", "messages", "delta"], &[("$select", "id")])
    }

    /// One round from `start` to its delta link; `None` on 410 Gone.
    async fn round(&self, start: url::Url) -> Result<Option<Changes>, OAuthError> {
        let mut ids = Vec::new();
        let mut url = start;
        loop {
            let response = self.api.get(&url).await?;
            if response.status == StatusCode::GONE {
                return Ok(None);
            }
            let page: DeltaPage = response.json()?;
            ids.extend(page.value.into_iter().filter(|item| item.removed.is_none()).map(|item| item.id));
            match (page.next_link, page.delta_link) {
                (Some(next), _) => url = self.api.link(&next)?,
                (None, Some(delta)) => {
                    self.api.link(&delta)?;
                    return Ok(Some(Changes { ids, sync_token: delta }));
                }
                (None, None) => {
                    return Err(OAuthError::BadResponse(
                        "a delta page has neither next nor delta link".into(),
                    ));
                }
            }
        }
    }
}

impl RemoteMailbox for GraphMailbox<'_> {
    const CURSOR: &'static str = "graph:inbox";

    async fn changes(&mut self, sync_token: Option<&str>) -> Result<Changes, OAuthError> {
        if let Some(link) = sync_token {
            match self.round(self.api.link(link)?).await? {
                Some(changes) => return Ok(changes),
                None => {
                    tracing::info!("the Graph delta link expired (410 Gone); synchronising the inbox again")
                }
            }
        }
        self.round(self.initial()?)
            .await?
            .ok_or_else(|| OAuthError::BadResponse("a fresh delta query answered 410 Gone".into()))
    }

    async fn raw(&mut self, id: &str) -> Result<Option<Vec<u8>>, OAuthError> {
        let url = self.api.url(&["me", "messages", id, "$value"], &[])?;
        let response = self.api.get(&url).await?;
        if response.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        response.success().map(Some)
    }
}
