//! The service's HTTP routes and their OpenAPI description: one module per resource, one file
//! per action.

pub mod categories;
pub mod reports;
pub mod rules;
pub mod transactions;

use actix_web::web;

use penny_platform::http::openapi::BearerAuth;
pub use penny_platform::http::openapi::{ErrorBody, ErrorDetail};

/// The OpenAPI document served at `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Penny ledger",
        description = "Categories, transactions, rules, reports and CSV; books transactions extracted from mail."
    ),
    paths(
        categories::list::list,
        categories::create::create,
        categories::update::update,
        categories::delete::delete,
        transactions::create::create,
        transactions::list::list,
        transactions::get::get,
        transactions::update::update,
        transactions::delete::delete,
        transactions::import::import,
        transactions::export::export,
        rules::list::list,
        rules::create::create,
        rules::update::update,
        rules::delete::delete,
        rules::apply::apply,
        reports::summary::summary,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    tags(
        (name = "categories", description = "A user's categories; system ones exist from sign-up"),
        (name = "transactions", description = "The ledger: manual, API, imported and mail-booked transactions"),
        (name = "rules", description = "Categorisation rules"),
        (name = "reports", description = "Summaries per category or month, per currency"),
    )
)]
pub struct ApiDoc;

/// Registers the service's routes (the state is added by the caller).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/categories")
            .route(web::get().to(categories::list::list))
            .route(web::post().to(categories::create::create)),
    )
    .service(
        web::resource("/v1/categories/{id}")
            .route(web::patch().to(categories::update::update))
            .route(web::delete().to(categories::delete::delete)),
    )
    .service(web::resource("/v1/transactions/import").route(web::post().to(transactions::import::import)))
    .service(web::resource("/v1/transactions/export").route(web::get().to(transactions::export::export)))
    .service(
        web::resource("/v1/transactions")
            .route(web::get().to(transactions::list::list))
            .route(web::post().to(transactions::create::create)),
    )
    .service(
        web::resource("/v1/transactions/{id}")
            .route(web::get().to(transactions::get::get))
            .route(web::patch().to(transactions::update::update))
            .route(web::delete().to(transactions::delete::delete)),
    )
    .service(web::resource("/v1/rules/apply").route(web::post().to(rules::apply::apply)))
    .service(
        web::resource("/v1/rules")
            .route(web::get().to(rules::list::list))
            .route(web::post().to(rules::create::create)),
    )
    .service(
        web::resource("/v1/rules/{id}")
            .route(web::patch().to(rules::update::update))
            .route(web::delete().to(rules::delete::delete)),
    )
    .service(web::resource("/v1/reports/summary").route(web::get().to(reports::summary::summary)));
}
