//! Request bodies: read as a JSON object whose fields are taken one by one, so that every error
//! names the bad field, unknown keys are ignored, `null` counts as absent and the aliases other
//! clients send can be tried in turn. Nothing is changed before the whole body has been read.

use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A request's JSON object body. An empty body is an empty object (DELETE and POST calls that
/// send nothing).
#[derive(Debug, Default)]
pub struct Body(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge {
                        limit: crate::limits::body_limit_hint(),
                    }
                } else {
                    ApiError::bad_request(format!("could not read the request body: {e}"))
                }
            })?;
        Body::parse(&bytes)
    }
}

impl Body {
    /// Parses a body.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::default());
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(ApiError::bad_request(
                "the request body must be a JSON object",
            )),
            Err(e) => Err(ApiError::bad_request(format!(
                "the request body is not valid JSON: {e}"
            ))),
        }
    }

    /// The first of `keys` that is present and not null.
    pub fn get(&self, keys: &[&'static str]) -> Option<(&'static str, &Value)> {
        keys.iter()
            .find_map(|k| self.0.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
    }

    /// An optional string field.
    pub fn str(&self, keys: &[&'static str]) -> Result<Option<&str>, ApiError> {
        match self.get(keys) {
            None => Ok(None),
            Some((_, Value::String(s))) => Ok(Some(s)),
            Some((k, v)) => Err(type_error(k, "a string", v)),
        }
    }

    /// A required string field.
    pub fn required_str(&self, key: &'static str) -> Result<&str, ApiError> {
        self.str(&[key])?
            .ok_or_else(|| ApiError::bad_request(format!("`{key}` is required")))
    }

    /// An optional boolean field (also `"true"`/`"false"` in any case).
    pub fn bool(&self, keys: &[&'static str]) -> Result<Option<bool>, ApiError> {
        match self.get(keys) {
            None => Ok(None),
            Some((_, Value::Bool(b))) => Ok(Some(*b)),
            Some((_, Value::String(s))) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some((_, Value::String(s))) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some((k, v)) => Err(type_error(k, "a boolean", v)),
        }
    }

    /// An optional integer field.
    pub fn int(&self, keys: &[&'static str]) -> Result<Option<i64>, ApiError> {
        match self.get(keys) {
            None => Ok(None),
            Some((k, Value::Number(n))) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| type_error(k, "an integer", &Value::Number(n.clone()))),
            Some((k, v)) => Err(type_error(k, "an integer", v)),
        }
    }

    /// An optional array field.
    pub fn array(
        &self,
        keys: &[&'static str],
    ) -> Result<Option<(&'static str, &[Value])>, ApiError> {
        match self.get(keys) {
            None => Ok(None),
            Some((k, Value::Array(a))) => Ok(Some((k, a))),
            Some((k, v)) => Err(type_error(k, "an array", v)),
        }
    }
}

/// `{key, value?, description?}` items of `secrets` / `variables` arrays.
#[derive(Debug, Clone)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value (required for variables and secrets in a create).
    pub value: Option<String>,
    /// The description.
    pub description: Option<String>,
}

/// Reads the `{key, value, description}` items of an array field named `field`.
pub fn key_values(
    field: &str,
    items: &[Value],
    need_value: bool,
) -> Result<Vec<KeyValue>, ApiError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Object(map) = item else {
                return Err(ApiError::bad_request(format!(
                    "`{field}[{i}]` must be an object {{\"key\", \"value\", \"description\"?}}"
                )));
            };
            let body = Body(map.clone());
            let key = body
                .str(&["key"])
                .map_err(|e| ApiError::bad_request(format!("`{field}[{i}]`: {e}")))?
                .ok_or_else(|| ApiError::bad_request(format!("`{field}[{i}].key` is required")))?;
            let value = value_text(&body, "value")
                .map_err(|e| ApiError::bad_request(format!("`{field}[{i}]`: {e}")))?;
            if need_value && value.is_none() {
                return Err(ApiError::bad_request(format!(
                    "`{field}[{i}].value` is required"
                )));
            }
            let description = body
                .str(&["description"])
                .map_err(|e| ApiError::bad_request(format!("`{field}[{i}]`: {e}")))?
                .map(str::to_owned);
            Ok(KeyValue {
                key: key.to_owned(),
                value,
                description,
            })
        })
        .collect()
}

/// A value field that may be a string, a number or a boolean (kept as its text).
pub fn value_text(body: &Body, key: &'static str) -> Result<Option<String>, ApiError> {
    match body.get(&[key]) {
        None => Ok(None),
        Some((_, Value::String(s))) => Ok(Some(s.clone())),
        Some((_, v @ (Value::Number(_) | Value::Bool(_)))) => Ok(Some(v.to_string())),
        Some((k, v)) => Err(type_error(k, "a string", v)),
    }
}

fn type_error(key: &str, expected: &str, found: &Value) -> ApiError {
    let kind = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ApiError::bad_request(format!("`{key}` must be {expected}, not {kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_named_in_errors() {
        let b = Body::parse(br#"{"a": 1, "b": null, "c": "x", "d": "TRUE"}"#).unwrap();
        assert!(b.str(&["a"]).unwrap_err().to_string().contains("`a`"));
        assert_eq!(b.str(&["b", "c"]).unwrap(), Some("x"));
        assert_eq!(b.bool(&["d"]).unwrap(), Some(true));
        assert_eq!(b.int(&["a"]).unwrap(), Some(1));
        assert!(Body::parse(b"[1]").is_err());
        assert!(Body::parse(b"{").is_err());
        assert!(Body::parse(b" ").unwrap().0.is_empty());
    }
}
