//! HTTP plumbing shared by every service: the error type, authentication, health and metrics
//! endpoints, the OpenAPI document, and the server that wires them together.

pub mod auth;
pub mod client_ip;
pub mod error;
pub mod health;
pub mod json;
pub mod openapi;
pub mod server;

pub use auth::{AccessClaims, AdminUser, AuthUser, JwtVerifier};
pub use error::ApiError;
pub use json::JsonObject;
pub use server::{HttpServerConfig, PlatformState};
