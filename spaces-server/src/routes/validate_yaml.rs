//! `POST /api/validate-yaml`: the check huggingface_hub runs on a README.md before it uploads it
//! (`upload_file`/`upload_folder`/`create_commit` with a README). The same checker that turns a
//! pushed README into `CONFIG_ERROR` answers here, so a bad front matter is refused before
//! anything is hashed or sent, with the same line-precise messages.
//!
//! 200 `{"errors": [], "warnings": [{"message"}]}` when the README can be used; 400 with
//! `errors: [{"message"}]` (and the first one as `X-Error-Message`) when it cannot.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::wire::body::Body;

/// `POST /api/validate-yaml` with `{"content": README text, "repoType": "space"}`.
pub(crate) async fn validate_yaml(body: Body) -> Result<Response, ApiError> {
    let content = body
        .str(&["content"])?
        .ok_or_else(|| ApiError::bad_request("`content` is required: the README.md text"))?;
    let repo_type = body.str(&["repoType", "repo_type"])?.unwrap_or("model");
    if repo_type != "space" {
        return Err(ApiError::bad_request(format!(
            "`repoType` is `{repo_type}`, but this server hosts Spaces only: validate with \
             `repoType: \"space\"`"
        )));
    }
    let (errors, warnings) = diagnose(content);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let first = errors.first().cloned();
    let as_objects =
        |v: Vec<String>| -> Vec<Value> { v.into_iter().map(|m| json!({ "message": m })).collect() };
    let mut body = json!({ "errors": as_objects(errors), "warnings": as_objects(warnings) });
    let response = match first {
        Some(message) => {
            body["error"] = Value::String(format!("Invalid metadata in README.md: {message}"));
            let mut r = (status, Json(body)).into_response();
            // The header carries one line; the body has every error.
            let header = message.replace(['\r', '\n'], " ");
            if let Ok(v) = HeaderValue::from_str(&header) {
                r.headers_mut().insert("x-error-message", v);
            }
            r
        }
        None => (status, Json(body)).into_response(),
    };
    Ok(response)
}

/// The README's errors and warnings, each `README.md:LINE:COL: message` where a position is
/// known, exactly as a push of this README would report them.
fn diagnose(content: &str) -> (Vec<String>, Vec<String>) {
    if spaces_config::FrontMatter::find(content).is_err()
        && !content.trim_start().starts_with("---")
    {
        return (
            Vec::new(),
            vec![
                "README.md has no front matter (YAML between `---` lines): the Space uses its \
                  SDK's defaults"
                    .to_string(),
            ],
        );
    }
    match spaces_config::check_readme(content) {
        Err(e) => (vec![format!("README.md: {e}")], Vec::new()),
        Ok(checked) => {
            let at = |d: &spaces_config::Diagnostic| {
                format!("README.md:{}:{}: {}", d.line, d.column, d.message)
            };
            (
                checked.errors().map(at).collect(),
                checked.warnings().map(at).collect(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::diagnose;

    #[test]
    fn a_bad_color_is_an_error_at_its_line_and_column() {
        let (errors, _) = diagnose("---\ntitle: Demo\nsdk: static\ncolorFrom: orange\n---\n");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("README.md:4:12: "), "{}", errors[0]);
    }

    #[test]
    fn a_good_readme_has_no_errors_and_no_front_matter_is_a_warning() {
        let (errors, warnings) = diagnose("---\ntitle: Demo\nsdk: static\n---\n# Demo\n");
        assert!(errors.is_empty(), "{errors:?}");
        assert!(warnings.is_empty(), "{warnings:?}");
        let (errors, warnings) = diagnose("# Just a title\n");
        assert!(errors.is_empty());
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn an_unclosed_front_matter_is_an_error() {
        let (errors, _) = diagnose("---\ntitle: Demo\nsdk: static\n");
        assert_eq!(errors.len(), 1, "{errors:?}");
    }
}
