//! [`SpaceRuntime`] (hub-api.md §6.2) with every field, [`SleepTime`] and [`Wire`] values.
//!
//! Decoding never fails on a value this build does not know: stages become
//! [`Stage::Unknown`], flavors [`Flavor::Other`], SDKs and storage tiers [`Wire::Other`]; keys
//! this build does not model stay in [`SpaceRuntime::raw`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use spaces_core::{Flavor, Sdk, Stage, StorageTier};

/// A value the server sends as a string: a known one, or the string as sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Wire<T> {
    /// A value this build knows.
    Known(T),
    /// A string this build does not know, kept as written.
    Other(String),
}

impl<T: FromStr> Wire<T> {
    /// Reads a wire string; never fails.
    pub fn from_wire(s: &str) -> Self {
        s.parse()
            .map(Wire::Known)
            .unwrap_or_else(|_| Wire::Other(s.to_owned()))
    }
}

impl<T> Wire<T> {
    /// The known value, if it is one.
    pub fn known(&self) -> Option<&T> {
        match self {
            Wire::Known(t) => Some(t),
            Wire::Other(_) => None,
        }
    }
}

impl<T: fmt::Display> fmt::Display for Wire<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wire::Known(t) => t.fmt(f),
            Wire::Other(s) => f.write_str(s),
        }
    }
}

impl<T: fmt::Display> Serialize for Wire<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, T: FromStr> Deserialize<'de> for Wire<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Wire::from_wire(&s))
    }
}

/// How long a Space may go without a visit before it sleeps. `Never` is `-1` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SleepTime {
    /// Never sleeps (`-1` when sent; `null` in a runtime's `gcTimeout`).
    Never,
    /// Sleeps after this many seconds without a visit.
    Seconds(u64),
}

impl SleepTime {
    /// The wire integer: `-1` for [`SleepTime::Never`].
    pub fn to_wire(self) -> i64 {
        match self {
            SleepTime::Never => -1,
            SleepTime::Seconds(s) => i64::try_from(s).unwrap_or(i64::MAX),
        }
    }

    /// Reads a wire integer: any negative one is [`SleepTime::Never`].
    pub fn from_wire(v: i64) -> SleepTime {
        u64::try_from(v)
            .map(SleepTime::Seconds)
            .unwrap_or(SleepTime::Never)
    }
}

impl fmt::Display for SleepTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SleepTime::Never => f.write_str("never"),
            SleepTime::Seconds(s) => write!(f, "{s}"),
        }
    }
}

/// The error of parsing a [`SleepTime`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a sleep time: write a number of seconds or `never`")]
pub struct BadSleepTime(pub String);

impl FromStr for SleepTime {
    type Err = BadSleepTime;
    /// `never`, `-1`, or a number of seconds.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("never") {
            return Ok(SleepTime::Never);
        }
        t.parse::<i64>()
            .ok()
            .filter(|v| *v >= -1)
            .map(SleepTime::from_wire)
            .ok_or_else(|| BadSleepTime(s.to_owned()))
    }
}

/// A volume mounted in a Space (hub-api.md §6.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// `bucket`, `model`, `dataset` or `space`.
    #[serde(rename = "type", default = "default_volume_type")]
    pub kind: String,
    /// The repo or bucket id.
    pub source: String,
    /// Where it is mounted in the container.
    #[serde(alias = "mount_path")]
    pub mount_path: String,
    /// A repo revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Read-only mount.
    #[serde(default, alias = "read_only", skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// A subfolder of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

fn default_volume_type() -> String {
    "model".to_owned()
}

/// Hot reloading state (`hotReloading`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotReloading {
    /// `created` or `canceled` (or a newer string).
    pub status: String,
    /// Each replica's id and status.
    pub replica_statuses: Vec<(String, Option<String>)>,
}

/// Replica counts (`replicas`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Replicas {
    /// Replicas asked for.
    pub requested: Option<u32>,
    /// Replicas running.
    pub current: Option<u32>,
}

/// A domain serving the Space (`domains[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    /// The host name.
    pub domain: String,
    /// Its state (`READY`, ...).
    pub stage: Option<String>,
}

/// The runtime of a Space: what `GET /api/spaces/{id}/runtime` and every control call answer.
///
/// Serializes back as [`SpaceRuntime::raw`], the object exactly as received.
#[derive(Clone, Debug, PartialEq)]
pub struct SpaceRuntime {
    /// `stage`.
    pub stage: Stage,
    /// `hardware.current`: null while a first build runs and on static Spaces.
    pub hardware: Option<Flavor>,
    /// `hardware.requested`.
    pub requested_hardware: Option<Flavor>,
    /// `hardware.currentPrettyName`.
    pub hardware_pretty_name: Option<String>,
    /// `hardware.requestedPrettyName`.
    pub requested_hardware_pretty_name: Option<String>,
    /// `gcTimeout`: `None` when absent (static Spaces), [`SleepTime::Never`] when `null` or
    /// negative.
    pub sleep_time: Option<SleepTime>,
    /// `storage`: the persistent storage tier, if any.
    pub storage: Option<Wire<StorageTier>>,
    /// `devMode` (false when absent).
    pub dev_mode: bool,
    /// `hotReloading`.
    pub hot_reloading: Option<HotReloading>,
    /// `volumes`.
    pub volumes: Vec<Volume>,
    /// `replicas`.
    pub replicas: Option<Replicas>,
    /// `domains`.
    pub domains: Vec<Domain>,
    /// `sdk`.
    pub sdk: Option<Wire<Sdk>>,
    /// `sdkVersion`.
    pub sdk_version: Option<String>,
    /// `errorMessage`: why a build or the app failed.
    pub error_message: Option<String>,
    /// `resources` (as sent; only with `?full=true` on lists).
    pub resources: Option<Value>,
    /// The whole object as received.
    pub raw: Value,
}

impl SpaceRuntime {
    /// Whether the stage is one `wait_for_space` waits through: `BUILDING`,
    /// `RUNNING_BUILDING`, `APP_STARTING`, `RUNNING_APP_STARTING`. Every other stage
    /// (unknown ones included) is terminal.
    pub fn is_intermediate(&self) -> bool {
        is_intermediate(&self.stage)
    }

    /// Decodes a runtime object; only a missing `stage` fails.
    pub fn from_json(v: Value) -> Result<SpaceRuntime, String> {
        let str_of = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
        let stage = match v.get("stage").and_then(Value::as_str) {
            Some(s) => Stage::from_wire(s),
            None => return Err("the runtime has no `stage`".to_owned()),
        };
        let hw = v.get("hardware").cloned().unwrap_or(Value::Null);
        let flavor = |k: &str| str_of(&hw, k).map(|s| Flavor::from_wire(&s));
        let sleep_time = match v.get("gcTimeout") {
            None => None,
            Some(Value::Null) => Some(SleepTime::Never),
            Some(n) => n.as_i64().map(SleepTime::from_wire),
        };
        let hot_reloading = v.get("hotReloading").and_then(|h| {
            let status = str_of(h, "status")?;
            let replica_statuses = h
                .get("replicaStatuses")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|pair| {
                            let p = pair.as_array()?;
                            let id = match p.first()? {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            Some((id, p.get(1).and_then(Value::as_str).map(str::to_owned)))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(HotReloading {
                status,
                replica_statuses,
            })
        });
        let count = |o: &Value, k: &str| {
            o.get(k)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        };
        let replicas = v
            .get("replicas")
            .filter(|r| r.is_object())
            .map(|r| Replicas {
                requested: count(r, "requested"),
                current: count(r, "current"),
            });
        let domains = v
            .get("domains")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| {
                        Some(Domain {
                            domain: str_of(d, "domain")?,
                            stage: str_of(d, "stage"),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let volumes = v
            .get("volumes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| serde_json::from_value(x.clone()).ok())
                    .collect()
            })
            .unwrap_or_default();
        Ok(SpaceRuntime {
            stage,
            hardware: flavor("current"),
            requested_hardware: flavor("requested"),
            hardware_pretty_name: str_of(&hw, "currentPrettyName"),
            requested_hardware_pretty_name: str_of(&hw, "requestedPrettyName"),
            sleep_time,
            storage: str_of(&v, "storage").map(|s| Wire::from_wire(&s)),
            dev_mode: v.get("devMode").and_then(Value::as_bool).unwrap_or(false),
            hot_reloading,
            volumes,
            replicas,
            domains,
            sdk: str_of(&v, "sdk").map(|s| Wire::from_wire(&s)),
            sdk_version: str_of(&v, "sdkVersion"),
            error_message: str_of(&v, "errorMessage"),
            resources: v.get("resources").filter(|r| !r.is_null()).cloned(),
            raw: v,
        })
    }
}

/// `BUILDING`, `RUNNING_BUILDING`, `APP_STARTING`, `RUNNING_APP_STARTING`.
pub fn is_intermediate(stage: &Stage) -> bool {
    matches!(
        stage,
        Stage::Building | Stage::RunningBuilding | Stage::AppStarting | Stage::RunningAppStarting
    )
}

impl<'de> Deserialize<'de> for SpaceRuntime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        SpaceRuntime::from_json(v).map_err(serde::de::Error::custom)
    }
}

impl Serialize for SpaceRuntime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(s)
    }
}
