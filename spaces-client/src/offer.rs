//! What the Hub offers: `GET /api/spaces/hardware` (the flavors with their prices),
//! `GET /api/spaces/templates`, `GET /api/spaces/zero-gpu/quota`.

use reqwest::Method;
use serde::Serialize;
use serde_json::{Number, Value};
use spaces_core::{Decimal, Flavor, Sdk, Timestamp};

use crate::client::Client;
use crate::error::Error;
use crate::retry::{Call, Idempotent};
use crate::runtime::Wire;

/// One flavor of `GET /api/spaces/hardware` (hub-api.md §6.7).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HardwareOffer {
    /// `name`.
    pub name: Flavor,
    /// `prettyName`.
    pub pretty_name: Option<String>,
    /// `cpu` (`"2 vCPU"`).
    pub cpu: Option<String>,
    /// `ram` (`"16 GB"`).
    pub ram: Option<String>,
    /// `accelerator` (`{type, model, quantity, vram, manufacturer}`), null on CPU flavors.
    pub accelerator: Option<Value>,
    /// `unitCostMicroUSD`: the price of one `unit_label` in millionths of a dollar.
    pub unit_cost_micro_usd: Option<i64>,
    /// `unitLabel` (`"minute"`).
    pub unit_label: Option<String>,
    /// The object as received (`unitCostUSD`, a float, is only there).
    #[serde(skip)]
    pub raw: Value,
}

impl HardwareOffer {
    /// The price of one unit in dollars, exactly (from `unitCostMicroUSD`, never the float).
    pub fn unit_cost_usd(&self) -> Option<Decimal> {
        self.unit_cost_micro_usd.map(|m| Decimal::new(m, 6))
    }
}

/// A template of `GET /api/spaces/templates`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpaceTemplate {
    /// `name`.
    pub name: String,
    /// `repoId`.
    pub repo_id: String,
    /// `sdk`.
    pub sdk: Option<Wire<Sdk>>,
    /// `preferredPrivate`.
    pub preferred_private: bool,
}

/// `GET /api/spaces/zero-gpu/quota`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZeroGpuQuota {
    /// `base`: the daily quota in GPU-seconds.
    pub base: Option<Number>,
    /// `current`: what remains, in GPU-seconds.
    pub remaining: Option<Number>,
    /// `resetsAt`.
    pub resets_at: Option<Timestamp>,
    /// `overquotaUsed`.
    pub overquota_used: Option<Value>,
    /// The object as received (`runs`, ...).
    #[serde(skip)]
    pub raw: Value,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

impl Client {
    /// `GET /api/spaces/hardware`: the flavors on offer, with their prices.
    pub async fn hardware_offer(&self) -> Result<Vec<HardwareOffer>, Error> {
        let v: Vec<Value> = self
            .send_json(Call::new(
                Method::GET,
                self.api("spaces/hardware"),
                Idempotent::Yes,
            ))
            .await?;
        Ok(v.into_iter()
            .filter_map(|h| {
                Some(HardwareOffer {
                    name: Flavor::from_wire(h.get("name")?.as_str()?),
                    pretty_name: s(&h, "prettyName"),
                    cpu: s(&h, "cpu"),
                    ram: s(&h, "ram"),
                    accelerator: h.get("accelerator").filter(|a| !a.is_null()).cloned(),
                    unit_cost_micro_usd: h.get("unitCostMicroUSD").and_then(Value::as_i64),
                    unit_label: s(&h, "unitLabel"),
                    raw: h,
                })
            })
            .collect())
    }

    /// `GET /api/spaces/templates`.
    pub async fn templates(&self) -> Result<Vec<SpaceTemplate>, Error> {
        let v: Value = self
            .send_json(Call::new(
                Method::GET,
                self.api("spaces/templates"),
                Idempotent::Yes,
            ))
            .await?;
        Ok(v.get("templates")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some(SpaceTemplate {
                    name: s(t, "name")?,
                    repo_id: s(t, "repoId")?,
                    sdk: s(t, "sdk").map(|x| Wire::from_wire(&x)),
                    preferred_private: t
                        .get("preferredPrivate")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
            })
            .collect())
    }

    /// `GET /api/spaces/zero-gpu/quota`: the caller's ZeroGPU quota.
    pub async fn zero_gpu_quota(&self) -> Result<ZeroGpuQuota, Error> {
        let v: Value = self
            .send_json(Call::new(
                Method::GET,
                self.api("spaces/zero-gpu/quota"),
                Idempotent::Yes,
            ))
            .await?;
        Ok(ZeroGpuQuota {
            base: v.get("base").and_then(|n| n.as_number().cloned()),
            remaining: v.get("current").and_then(|n| n.as_number().cloned()),
            resets_at: v
                .get("resetsAt")
                .and_then(Value::as_str)
                .and_then(|t| t.parse().ok()),
            overquota_used: v.get("overquotaUsed").cloned(),
            raw: v,
        })
    }
}
