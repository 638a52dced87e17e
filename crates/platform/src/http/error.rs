//! The one error type every handler returns, rendered as
//! `{"error": {"code": "snake_case", "message": "...", "fields"?: {...}}}`.
//!
//! Expected failures carry a stable code and a message meant for the client. Anything unexpected
//! becomes an opaque 500 whose cause is logged once, here, and never sent to the client.

use std::borrow::Cow;
use std::collections::BTreeMap;

use actix_web::body::BoxBody;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;

/// An error answer.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
    fields: Option<BTreeMap<String, String>>,
    retry_after_secs: Option<u64>,
    #[source]
    cause: Option<anyhow::Error>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a BTreeMap<String, String>>,
}

impl ApiError {
    /// An error with any status, code and message.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            fields: None,
            retry_after_secs: None,
            cause: None,
        }
    }

    /// 400 with a code of the caller's choosing.
    pub fn bad_request(code: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `validation_failed` naming each offending field.
    pub fn validation(fields: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>) -> Self {
        let fields: BTreeMap<String, String> =
            fields.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        let names = fields.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
        let mut error = Self::bad_request("validation_failed", format!("invalid value for: {names}"));
        error.fields = Some(fields);
        error
    }

    /// 401: no usable credentials.
    pub fn unauthorized(code: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(code: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404: no such resource for this caller (also for another user's resources).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(code: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 422: well-formed but unprocessable (e.g. credentials a mail server refused).
    pub fn unprocessable(code: impl Into<Cow<'static, str>>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut error =
            Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests, try again later");
        error.retry_after_secs = Some(retry_after_secs.max(1));
        error
    }

    /// 503: a dependency is down; the client may retry.
    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the service is temporarily unavailable",
        );
        error.cause = Some(cause.into());
        error
    }

    /// 500: something unexpected. The cause is logged, never shown.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut error =
            Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "an unexpected error occurred");
        error.cause = Some(cause.into());
        error
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable error code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Maps a JSON body error: wrong content type 415, too large 413, anything else 400.
    pub fn from_json_error(error: &JsonPayloadError) -> Self {
        match error {
            JsonPayloadError::ContentType => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected an application/json body",
            ),
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
            }
            JsonPayloadError::Deserialize(e) if e.is_data() => {
                Self::bad_request("invalid_body", e.to_string())
            }
            JsonPayloadError::Deserialize(_) => {
                Self::bad_request("malformed_json", "the body is not valid JSON")
            }
            _ => Self::bad_request("invalid_body", "the request body could not be read"),
        }
    }

    /// Maps a query string error to 400.
    pub fn from_query_error(error: &QueryPayloadError) -> Self {
        Self::bad_request("invalid_query", error.to_string())
    }

    /// Maps a path error: a segment that cannot be an id names no resource.
    pub fn from_path_error(_: &PathError) -> Self {
        Self::not_found()
    }

    /// A JSON body for an error actix produced itself (405, an unrouted path, ...).
    pub fn from_status(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            s if s.is_server_error() => "internal_error",
            _ => "bad_request",
        };
        let message = status.canonical_reason().unwrap_or("error").to_lowercase();
        Self::new(status, code, message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        if self.status.is_server_error() {
            match &self.cause {
                Some(cause) => {
                    tracing::error!(error.code = %self.code, error.cause = ?cause, "request failed")
                }
                None => tracing::error!(error.code = %self.code, "request failed"),
            }
        }
        let body =
            Body { error: Inner { code: &self.code, message: &self.message, fields: self.fields.as_ref() } };
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        response.json(body)
    }
}

/// `JsonConfig` error handler.
pub fn json_error_handler(error: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::from_json_error(&error).into()
}

/// `QueryConfig` error handler.
pub fn query_error_handler(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::from_query_error(&error).into()
}

/// `PathConfig` error handler.
pub fn path_error_handler(error: PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::from_path_error(&error).into()
}

impl From<crate::db::DbError> for ApiError {
    fn from(error: crate::db::DbError) -> Self {
        use crate::db::DbError;
        match error {
            DbError::Pool(_) | DbError::Connection(_) => ApiError::unavailable(error),
            other => ApiError::internal(other),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => ApiError::not_found(),
            other => ApiError::internal(other),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        ApiError::unavailable(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn render(error: ApiError) -> (StatusCode, serde_json::Value, Option<String>) {
        let response = error.error_response();
        let status = response.status();
        let retry = response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), retry)
    }

    #[actix_web::test]
    async fn each_kind_renders_its_status_and_code() {
        let cases = [
            (ApiError::bad_request("bad_thing", "no"), 400, "bad_thing"),
            (ApiError::unauthorized("invalid_token", "no"), 401, "invalid_token"),
            (ApiError::forbidden("admin_only", "no"), 403, "admin_only"),
            (ApiError::not_found(), 404, "not_found"),
            (ApiError::conflict("duplicate_name", "no"), 409, "duplicate_name"),
            (ApiError::unprocessable("login_failed", "no"), 422, "login_failed"),
            (ApiError::too_many_requests(30), 429, "rate_limited"),
            (ApiError::unavailable(anyhow::anyhow!("db down")), 503, "unavailable"),
        ];
        for (error, status, code) in cases {
            let (got_status, body, _) = render(error).await;
            assert_eq!(got_status.as_u16(), status);
            assert_eq!(body["error"]["code"], code);
            assert!(body["error"]["message"].is_string());
            assert_eq!(body.as_object().unwrap().len(), 1, "nothing but `error`: {body}");
        }
    }

    #[actix_web::test]
    async fn internal_errors_hide_their_cause() {
        let (status, body, _) =
            render(ApiError::internal(anyhow::anyhow!("password=hunter2 at db.internal"))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "internal_error");
        assert!(!body.to_string().contains("hunter2"));
    }

    #[actix_web::test]
    async fn validation_errors_name_the_fields() {
        let (status, body, _) = render(ApiError::validation([("amount", "must be positive")])).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["error"]["fields"]["amount"], "must be positive");
    }

    #[actix_web::test]
    async fn rate_limits_carry_retry_after() {
        let (_, _, retry) = render(ApiError::too_many_requests(42)).await;
        assert_eq!(retry.as_deref(), Some("42"));
    }

    #[actix_web::test]
    async fn json_body_errors_map_to_4xx() {
        assert_eq!(ApiError::from_json_error(&JsonPayloadError::ContentType).status(), 415);
        assert_eq!(ApiError::from_json_error(&JsonPayloadError::Overflow { limit: 1 }).status(), 413);
        let syntax = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        assert_eq!(
            ApiError::from_json_error(&JsonPayloadError::Deserialize(syntax)).code(),
            "malformed_json"
        );
        let data = serde_json::from_str::<u8>("\"x\"").unwrap_err();
        assert_eq!(ApiError::from_json_error(&JsonPayloadError::Deserialize(data)).code(), "invalid_body");
    }
}
