//! Git LFS uploads for a commit: the batch API (`POST
//! {endpoint}/spaces/{id}.git/info/lfs/objects/batch`, `operation: upload`, transfer `basic`),
//! then for each object the server lacks a `PUT` to its `actions.upload.href` (with the
//! action's headers) and, when asked, a `POST` to `actions.verify.href`.
//!
//! The token goes only to URLs on the endpoint's origin; an `href` elsewhere (object storage)
//! is signed and gets none.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};
use spaces_core::SpaceId;

use crate::client::Client;
use crate::error::Error;
use crate::retry::{Body, Call, Idempotent};

const LFS_JSON: &str = "application/vnd.git-lfs+json";

/// One object to upload.
pub(crate) struct LfsObject {
    pub oid: String,
    pub size: u64,
    pub body: Body,
}

fn action_headers(action: &Value) -> Vec<(String, String)> {
    action
        .get("header")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

impl Client {
    pub(crate) async fn lfs_upload(
        &self,
        id: &SpaceId,
        revision: &str,
        objects: Vec<LfsObject>,
        report: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> Result<(), Error> {
        let url = format!(
            "{}/spaces/{id}.git/info/lfs/objects/batch",
            self.inner.endpoint
        );
        let request = json!({
            "operation": "upload",
            "transfers": ["basic"],
            "objects": objects.iter().map(|o| json!({"oid": o.oid, "size": o.size})).collect::<Vec<_>>(),
            "hash_algo": "sha256",
            "ref": {"name": format!("refs/heads/{revision}")},
        });
        let mut call = Call::new(Method::POST, url.clone(), Idempotent::Yes);
        call.headers
            .push(("accept".to_owned(), LFS_JSON.to_owned()));
        call.body = Some(Body::Bytes(request.to_string().into_bytes(), LFS_JSON));
        let answer: Value = self.send_json(call).await?;
        let listed = answer
            .get("objects")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for object in objects {
            let entry = listed
                .iter()
                .find(|e| e.get("oid").and_then(Value::as_str) == Some(object.oid.as_str()))
                .ok_or_else(|| Error::Decode {
                    url: url.clone(),
                    message: format!("the batch answer lacks object {}", object.oid),
                })?;
            if let Some(err) = entry.get("error") {
                return Err(Error::Server {
                    status: err
                        .get("code")
                        .and_then(Value::as_u64)
                        .and_then(|c| u16::try_from(c).ok())
                        .unwrap_or(500),
                    message: format!(
                        "LFS object {}: {}",
                        object.oid,
                        err.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("refused")
                    ),
                    request_id: None,
                });
            }
            let actions = entry.get("actions").cloned().unwrap_or(Value::Null);
            let Some(upload) = actions.get("upload") else {
                // Already stored.
                report(object.size);
                continue;
            };
            let href = upload
                .get("href")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::Decode {
                    url: url.clone(),
                    message: "an upload action without `href`".into(),
                })?
                .to_owned();
            let streamed = matches!(object.body, Body::File { .. });
            let mut put = Call::new(Method::PUT, href.clone(), Idempotent::Yes);
            put.auth = self.same_origin(&href);
            put.headers = action_headers(upload);
            put.body = Some(object.body);
            self.send_unit(put).await?;
            if !streamed {
                report(object.size);
            }
            if let Some(verify) = actions.get("verify") {
                if let Some(vhref) = verify.get("href").and_then(Value::as_str) {
                    let mut call = Call::new(Method::POST, vhref.to_owned(), Idempotent::Yes);
                    call.auth = self.same_origin(vhref);
                    call.headers = action_headers(verify);
                    call.body = Some(Body::Bytes(
                        json!({"oid": object.oid, "size": object.size})
                            .to_string()
                            .into_bytes(),
                        LFS_JSON,
                    ));
                    self.send_unit(call).await?;
                }
            }
        }
        Ok(())
    }
}
