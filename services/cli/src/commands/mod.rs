//! The commands that use Penny's public API, one module per resource. Each takes the
//! [`Context`] and its parsed arguments, and prints its result to standard output.

pub mod accounts;
pub mod import;
pub mod jobs;
pub mod reprocess;
pub mod session;
pub mod summary;
pub mod transactions;

use crate::client::ApiClient;

/// What every API command needs.
#[derive(Debug)]
pub struct Context {
    /// The gateway client, with the stored session.
    pub client: ApiClient,
    /// `--json`: print the server's answer instead of a table.
    pub json: bool,
    /// `--wait-timeout`: how long following jobs may take.
    pub wait_timeout: Option<std::time::Duration>,
}

impl Context {
    /// A follower of jobs with this command line's timeout.
    pub fn follower(&mut self) -> crate::progress::Follower<'_> {
        crate::progress::Follower::new(&mut self.client, self.wait_timeout)
    }
}

/// Checks that `text` is an id (a UUID) before it goes into a URL path, so a typo is a usage
/// error here rather than a confusing 404 (or another path) there.
pub fn id(kind: &str, text: &str) -> Result<String, crate::error::CliError> {
    uuid::Uuid::parse_str(text.trim())
        .map(|id| id.to_string())
        .map_err(|_| crate::error::CliError::Usage(format!("`{text}` is not a {kind} id (a UUID)")))
}
