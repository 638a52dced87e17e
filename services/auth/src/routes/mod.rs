//! The service's HTTP routes and their OpenAPI description.
//!
//! One module per resource and action: `auth/` for the caller's own account and sessions,
//! `admin/` for account administration, `jwks` for the public keys.

pub mod admin;
pub mod auth;
pub mod jwks;
pub mod views;

use actix_web::web;
use penny_platform::http::openapi::BearerAuth;

/// The OpenAPI document served at `/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Penny auth",
        description = "Users, roles, passwords, access and refresh tokens, password reset."
    ),
    paths(
        auth::register::register,
        auth::login::login,
        auth::refresh::refresh,
        auth::logout::logout,
        auth::me::me,
        auth::delete_me::delete_me,
        auth::password_change::change_password,
        auth::password_forgot::forgot,
        auth::password_reset::reset_password,
        admin::list::list_users,
        admin::update::update_user,
        admin::delete::delete_user,
        jwks::jwks,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Registers the service's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v1/auth")
            .route("/register", web::post().to(auth::register::register))
            .route("/login", web::post().to(auth::login::login))
            .route("/refresh", web::post().to(auth::refresh::refresh))
            .route("/logout", web::post().to(auth::logout::logout))
            .service(
                web::resource("/me")
                    .route(web::get().to(auth::me::me))
                    .route(web::delete().to(auth::delete_me::delete_me)),
            )
            .route("/password/change", web::post().to(auth::password_change::change_password))
            .route("/password/forgot", web::post().to(auth::password_forgot::forgot))
            .route("/password/reset", web::post().to(auth::password_reset::reset_password)),
    )
    .service(
        web::scope("/v1/admin").route("/users", web::get().to(admin::list::list_users)).service(
            web::resource("/users/{id}")
                .route(web::patch().to(admin::update::update_user))
                .route(web::delete().to(admin::delete::delete_user)),
        ),
    )
    .route("/.well-known/jwks.json", web::get().to(jwks::jwks));
}
