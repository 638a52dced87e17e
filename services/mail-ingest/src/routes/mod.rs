//! The service's HTTP routes and their OpenAPI description: one module per resource, one file
//! per action.

pub mod accounts;
pub mod emails;
pub mod jobs;
pub mod mailbox;
pub mod reprocess;

use actix_web::web;

use crate::models::{AccountView, EmailDetail, EmailView, ImapSettings, Job, JobCreated};

use penny_platform::http::openapi::BearerAuth;
pub use penny_platform::http::openapi::{ErrorBody, ErrorDetail};

/// The OpenAPI document served at `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Penny mail-ingest",
        description = "Connected mailboxes, incremental fetching, stored emails and the job registry."
    ),
    paths(
        accounts::list::list,
        accounts::get::get,
        accounts::create_imap::create_imap,
        accounts::delete::delete,
        accounts::update::update,
        accounts::oauth::start,
        accounts::oauth::callback,
        accounts::fetch::fetch,
        mailbox::import::import,
        emails::list::list,
        emails::get::get,
        jobs::list::list,
        jobs::get::get,
        jobs::cancel::cancel,
        jobs::retry::retry,
        reprocess::reprocess,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, AccountView, ImapSettings, EmailView, EmailDetail, Job, JobCreated,
        accounts::oauth::AuthorizeUrl, accounts::update::AccountUpdate, reprocess::ReprocessInput,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Connected mailboxes; secrets are never returned"),
        (name = "mailbox", description = "Uploading an mbox export or one message"),
        (name = "emails", description = "Stored emails"),
        (name = "jobs", description = "The job registry: fetches, extractions, reprocessing"),
    )
)]
pub struct ApiDoc;

/// Registers the service's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/accounts", web::get().to(accounts::list::list))
        .route("/v1/accounts/imap", web::post().to(accounts::create_imap::create_imap))
        .route("/v1/accounts/oauth/{provider}/start", web::post().to(accounts::oauth::start))
        .route("/v1/accounts/oauth/{provider}/callback", web::get().to(accounts::oauth::callback))
        .route("/v1/accounts/{id}", web::get().to(accounts::get::get))
        .route("/v1/accounts/{id}", web::delete().to(accounts::delete::delete))
        .route("/v1/accounts/{id}", web::patch().to(accounts::update::update))
        .route("/v1/accounts/{id}/fetch", web::post().to(accounts::fetch::fetch))
        .route("/v1/mailbox/import", web::post().to(mailbox::import::import))
        .route("/v1/emails", web::get().to(emails::list::list))
        .route("/v1/emails/{id}", web::get().to(emails::get::get))
        .route("/v1/jobs", web::get().to(jobs::list::list))
        .route("/v1/jobs/{id}", web::get().to(jobs::get::get))
        .route("/v1/jobs/{id}/cancel", web::post().to(jobs::cancel::cancel))
        .route("/v1/jobs/{id}/retry", web::post().to(jobs::retry::retry))
        .route("/v1/reprocess", web::post().to(reprocess::reprocess));
}
