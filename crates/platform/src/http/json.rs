//! The JSON body extractor every service uses for request bodies.
//!
//! serde's derived structs also read a JSON array of their fields in declaration order, so
//! with `web::Json<T>` a body such as `[3600]` or `["a@b.example", "pw"]` would be taken as a
//! valid request. No client of this API means that; [`JsonObject`] answers
//! `400 invalid_body` for any body that is not a JSON object, and otherwise behaves like
//! `web::Json<T>`: the same size limit, content-type check and error bodies (the service's
//! `JsonConfig` still applies).

use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A request body that must be a JSON object, read into `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonObject<T>(pub T);

impl<T> JsonObject<T> {
    /// The deserialized body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for JsonObject<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for JsonObject<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(value) = body.await?;
            Ok(JsonObject(read(value)?))
        })
    }
}

/// Reads `T` from a body already parsed as JSON: refused unless it is an object.
pub fn read<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::bad_request("invalid_body", "the body must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|error| ApiError::bad_request("invalid_body", error.to_string()))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Interval {
        seconds: u32,
    }

    #[test]
    fn an_object_is_read_and_anything_else_is_refused() {
        let read_one =
            |value| read::<Interval>(value).map_err(|e| (e.status().as_u16(), e.code().to_owned()));
        assert_eq!(read_one(serde_json::json!({"seconds": 3600})), Ok(Interval { seconds: 3600 }));
        for not_an_object in [
            serde_json::json!([3600]),
            serde_json::json!(3600),
            serde_json::json!("x"),
            serde_json::json!(null),
        ] {
            assert_eq!(
                read_one(not_an_object.clone()),
                Err((400, "invalid_body".to_owned())),
                "{not_an_object}"
            );
        }
        assert_eq!(read_one(serde_json::json!({"seconds": "soon"})), Err((400, "invalid_body".to_owned())));
        assert_eq!(read_one(serde_json::json!({})), Err((400, "invalid_body".to_owned())));
    }
}
