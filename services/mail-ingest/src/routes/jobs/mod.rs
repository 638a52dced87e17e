//! `/v1/jobs`: the job registry.

pub mod cancel;
pub mod get;
pub mod list;
pub mod retry;

use std::collections::BTreeMap;

use penny_contract::{JobId, JobStatus, JobType};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::cursor::{Cursor, parse_limit};
use crate::error::IngestError;
use crate::store::jobs::JobFilter;

/// Filters and paging of the job list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// `QUEUED`, `RUNNING`, `SUCCESS`, `FAILED` or `CANCELLED`.
    pub status: Option<String>,
    /// `EMAIL_FETCH`, `EMAIL_EXTRACTION` or `EMAIL_REPROCESS`.
    pub job_type: Option<String>,
    /// Only the children of this job.
    pub parent_job_id: Option<String>,
    /// Admins only: `true` lists every user's jobs.
    pub all_users: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl JobQuery {
    /// The filter (without its user), whether all users were asked for, the page size and the
    /// cursor, or every invalid parameter.
    pub fn parse(&self) -> Result<(JobFilter, bool, i64, Option<Cursor>), IngestError> {
        let mut errors = BTreeMap::new();
        let mut filter = JobFilter::default();
        let present = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        if let Some(status) = present(&self.status) {
            match status.trim().parse::<JobStatus>() {
                Ok(status) => filter.status = Some(status),
                Err(_) => {
                    errors
                        .insert("status".into(), "one of QUEUED, RUNNING, SUCCESS, FAILED, CANCELLED".into());
                }
            }
        }
        if let Some(kind) = present(&self.job_type) {
            match kind.trim().parse::<JobType>() {
                Ok(kind) => filter.job_type = Some(kind),
                Err(_) => {
                    errors.insert(
                        "job_type".into(),
                        "one of EMAIL_FETCH, EMAIL_EXTRACTION, EMAIL_REPROCESS".into(),
                    );
                }
            }
        }
        if let Some(parent) = present(&self.parent_job_id) {
            match parent.trim().parse::<JobId>() {
                Ok(parent) => filter.parent_job_id = Some(parent),
                Err(_) => {
                    errors.insert("parent_job_id".into(), "not a UUID".into());
                }
            }
        }
        let all_users = match present(&self.all_users).as_deref().map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                errors.insert("all_users".into(), "true or false".into());
                false
            }
        };
        let limit =
            parse_limit(self.limit.as_deref()).map_err(|e| errors.insert("limit".into(), e)).unwrap_or(50);
        let cursor = match present(&self.cursor) {
            None => None,
            Some(token) => {
                let cursor = Cursor::decode(&token);
                if cursor.is_none() {
                    errors.insert("cursor".into(), "not a cursor of this list".into());
                }
                cursor
            }
        };
        if !errors.is_empty() {
            return Err(IngestError::Validation(errors));
        }
        Ok((filter, all_users, limit, cursor))
    }
}
