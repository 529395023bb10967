//! A Space's info, runtime and runtime controls (hub-api.md §4): `GET /api/spaces/{id}`,
//! `GET .../runtime`, `POST .../hardware`, `.../sleeptime`, `.../pause`, `.../restart`,
//! `POST`/`DELETE .../storage`, `POST .../dev-mode`, `PUT`/`DELETE .../volumes`, `PUT
//! .../settings`. Every runtime control answers the full [`SpaceRuntime`].

use reqwest::Method;
use serde_json::{json, Value};
use spaces_core::{DataLossAck, Flavor, SpaceId, StorageTier, Visibility};

use crate::client::Client;
use crate::error::Error;
use crate::info::SpaceInfo;
use crate::retry::{Call, Idempotent};
use crate::runtime::{SleepTime, SpaceRuntime, Volume};

/// Python's `quote(s, safe='')`: every byte but ASCII letters, digits and `_.-~`
/// percent-encoded.
pub(crate) fn quote(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Client {
    fn space_url(&self, id: &SpaceId, what: &str) -> String {
        self.api(&format!("spaces/{id}/{what}"))
    }

    /// `GET /api/spaces/{id}`: the Space's metadata.
    pub async fn info(&self, id: &SpaceId) -> Result<SpaceInfo, Error> {
        self.send_json(Call::new(
            Method::GET,
            self.api(&format!("spaces/{id}")),
            Idempotent::Yes,
        ))
        .await
    }

    /// `GET /api/spaces/{id}/revision/{rev}` (the revision percent-encoded), optionally with
    /// `blobs=true` (file sizes and LFS info) and `expand` keys.
    pub async fn info_at(
        &self,
        id: &SpaceId,
        revision: &str,
        blobs: bool,
        expand: &[&str],
    ) -> Result<SpaceInfo, Error> {
        let rev = quote(revision);
        let mut call = Call::new(
            Method::GET,
            self.api(&format!("spaces/{id}/revision/{rev}")),
            Idempotent::Yes,
        );
        if blobs {
            call = call.query("blobs", "true");
        }
        for e in expand {
            call = call.query("expand", *e);
        }
        self.send_json(call).await
    }

    /// `GET /api/spaces/{id}/runtime`.
    pub async fn runtime(&self, id: &SpaceId) -> Result<SpaceRuntime, Error> {
        self.send_json(Call::new(
            Method::GET,
            self.space_url(id, "runtime"),
            Idempotent::Yes,
        ))
        .await
    }

    /// `POST /api/spaces/{id}/hardware` `{"flavor", "sleepTimeSeconds"?}`.
    pub async fn request_hardware(
        &self,
        id: &SpaceId,
        flavor: &Flavor,
        sleep_time: Option<SleepTime>,
    ) -> Result<SpaceRuntime, Error> {
        let mut body = json!({"flavor": flavor.as_str()});
        if let Some(s) = sleep_time {
            body["sleepTimeSeconds"] = json!(s.to_wire());
        }
        self.control(id, "hardware", Some(body), Idempotent::Yes)
            .await
    }

    /// `POST /api/spaces/{id}/sleeptime` `{"seconds"}` (-1 for never).
    pub async fn set_sleep_time(
        &self,
        id: &SpaceId,
        sleep_time: SleepTime,
    ) -> Result<SpaceRuntime, Error> {
        let body = json!({"seconds": sleep_time.to_wire()});
        self.control(id, "sleeptime", Some(body), Idempotent::Yes)
            .await
    }

    /// `POST /api/spaces/{id}/pause`: stops the app until a restart (visits do not wake it).
    pub async fn pause(&self, id: &SpaceId) -> Result<SpaceRuntime, Error> {
        self.control(id, "pause", None, Idempotent::Yes).await
    }

    /// `POST /api/spaces/{id}/restart`, with `?factory=true` for a factory reboot (a rebuild
    /// without the build cache).
    pub async fn restart(&self, id: &SpaceId, factory: bool) -> Result<SpaceRuntime, Error> {
        let mut call = Call::new(Method::POST, self.space_url(id, "restart"), Idempotent::No);
        if factory {
            call = call.query("factory", "true");
        }
        self.send_json(call).await
    }

    /// `POST /api/spaces/{id}/storage` `{"tier"}`: attaches or upgrades persistent storage
    /// (huggingface_hub ≤ 1.33).
    pub async fn request_storage(
        &self,
        id: &SpaceId,
        tier: StorageTier,
    ) -> Result<SpaceRuntime, Error> {
        let body = json!({"tier": tier.as_str()});
        self.control(id, "storage", Some(body), Idempotent::Yes)
            .await
    }

    /// `DELETE /api/spaces/{id}/storage`: deletes the persistent storage and everything in
    /// `/data` (huggingface_hub ≤ 1.33). 400 when none is attached.
    pub async fn delete_storage(
        &self,
        id: &SpaceId,
        ack: DataLossAck,
    ) -> Result<SpaceRuntime, Error> {
        let _ = ack;
        self.send_json(Call::new(
            Method::DELETE,
            self.space_url(id, "storage"),
            Idempotent::No,
        ))
        .await
    }

    /// `POST /api/spaces/{id}/dev-mode` `{"enabled"}` (huggingface_hub ≥ 1.6).
    pub async fn set_dev_mode(&self, id: &SpaceId, enabled: bool) -> Result<SpaceRuntime, Error> {
        let body = json!({"enabled": enabled});
        self.control(id, "dev-mode", Some(body), Idempotent::Yes)
            .await
    }

    /// `PUT /api/spaces/{id}/volumes` `{"volumes": [...]}` (huggingface_hub ≥ 1.9).
    pub async fn set_volumes(&self, id: &SpaceId, volumes: &[Volume]) -> Result<(), Error> {
        let body = json!({"volumes": volumes});
        self.send_unit(
            Call::new(Method::PUT, self.space_url(id, "volumes"), Idempotent::Yes).json(body),
        )
        .await
    }

    /// `DELETE /api/spaces/{id}/volumes`.
    pub async fn delete_volumes(&self, id: &SpaceId) -> Result<(), Error> {
        self.send_unit(Call::new(
            Method::DELETE,
            self.space_url(id, "volumes"),
            Idempotent::Yes,
        ))
        .await
    }

    /// `PUT /api/spaces/{id}/settings` `{"visibility"}` (`update_repo_settings`).
    pub async fn set_visibility(&self, id: &SpaceId, visibility: Visibility) -> Result<(), Error> {
        let body = json!({"visibility": visibility.as_str()});
        self.send_unit(
            Call::new(Method::PUT, self.space_url(id, "settings"), Idempotent::Yes).json(body),
        )
        .await
    }

    async fn control(
        &self,
        id: &SpaceId,
        what: &str,
        body: Option<Value>,
        idempotent: Idempotent,
    ) -> Result<SpaceRuntime, Error> {
        let mut call = Call::new(Method::POST, self.space_url(id, what), idempotent);
        if let Some(b) = body {
            call = call.json(b);
        }
        self.send_json(call).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn quote_is_pythons_quote_with_nothing_safe() {
        assert_eq!(super::quote("refs/pr/1"), "refs%2Fpr%2F1");
        assert_eq!(super::quote("v1.0_a-b~c"), "v1.0_a-b~c");
        assert_eq!(super::quote("a b*é"), "a%20b%2A%C3%A9");
    }
}
