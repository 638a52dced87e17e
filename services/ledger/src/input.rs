//! Reading request input so that every error names its field.
//!
//! Bodies arrive as a [`serde_json::Value`] (the platform's JSON config already answers 415 for
//! another content type and 400 for malformed JSON) and are deserialized here with
//! `serde_path_to_error`, so a JSON number where a string is expected answers
//! `400 {"fields": {"amount": "invalid type: ..."}}`. Fields the API does not know (a `user_id`,
//! say) are ignored.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::LedgerError;

/// Deserializes a JSON body, naming the field that failed.
pub fn parse_body<T: DeserializeOwned>(body: serde_json::Value) -> Result<T, LedgerError> {
    if !body.is_object() {
        return Err(LedgerError::bad_request("invalid_body", "the body must be a JSON object"));
    }
    serde_path_to_error::deserialize(body).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        // A missing field is reported at its parent; take its name from the message.
        let field = match inner.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')) {
            Some((name, _)) => name.to_owned(),
            None if path == "." => "body".to_owned(),
            None => path,
        };
        LedgerError::field(field, inner)
    })
}

/// For PATCH bodies: `None` when the field is absent, `Some(None)` when it is `null`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Trims an optional text field, turning blank into `None`, and checks its length.
pub fn optional_text(
    field: &str,
    value: Option<String>,
    max_chars: usize,
    errors: &mut std::collections::BTreeMap<String, String>,
) -> Option<String> {
    let value = value?.trim().to_owned();
    if value.is_empty() {
        return None;
    }
    if value.chars().count() > max_chars {
        errors.insert(field.to_owned(), format!("at most {max_chars} characters"));
    }
    Some(value)
}

/// Whether a request's content type has the given essence (`text/csv`), ignoring parameters.
pub fn has_content_type(req: &actix_web::HttpRequest, essence: &str) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(essence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        amount: String,
        #[serde(default, deserialize_with = "double_option")]
        merchant: Option<Option<String>>,
    }

    fn fields(error: LedgerError) -> Vec<String> {
        match error {
            LedgerError::Validation(fields) => fields.into_keys().collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(fields(parse_body::<Body>(json!({"amount": 12.5})).unwrap_err()), ["amount"]);
        assert_eq!(fields(parse_body::<Body>(json!({})).unwrap_err()), ["amount"]);
        assert_eq!(
            fields(parse_body::<Body>(json!({"amount": "1", "merchant": 5})).unwrap_err()),
            ["merchant"]
        );
    }

    #[test]
    fn null_and_absent_differ() {
        let absent: Body = parse_body(json!({"amount": "1"})).unwrap();
        assert_eq!(absent.merchant, None);
        let null: Body = parse_body(json!({"amount": "1", "merchant": null})).unwrap();
        assert_eq!(null.merchant, Some(None));
        let unknown: Body = parse_body(json!({"amount": "1", "user_id": "x"})).unwrap();
        assert_eq!(unknown.amount, "1");
    }
}
