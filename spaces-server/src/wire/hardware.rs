//! The hardware list (`GET /api/spaces/hardware`), from the catalog.
//!
//! Money stays exact: `unitCostMicroUSD` is the price per minute in micro-dollars (an integer,
//! rounded half away from zero only if a catalog price has more than 8 decimals), and
//! `unitCostUSD` is a JSON number written from the decimal's own digits (a raw JSON value),
//! never computed through a float.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use spaces_core::{Catalog, HardwareSpec};

/// The price of one minute in USD, exact.
pub fn per_minute(spec: &HardwareSpec) -> Decimal {
    (spec.hourly_price / Decimal::from(60)).normalize()
}

/// One item of the list, as written on the wire.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HardwareItem {
    name: String,
    pretty_name: String,
    cpu: String,
    ram: String,
    accelerator: Option<Value>,
    #[serde(rename = "unitCostMicroUSD")]
    unit_cost_micro_usd: i64,
    /// The decimal's own digits, as a JSON number.
    #[serde(rename = "unitCostUSD")]
    unit_cost_usd: Box<RawValue>,
    unit_label: &'static str,
}

/// The list, in catalog order.
pub fn hardware_list(catalog: &Catalog) -> Vec<HardwareItem> {
    catalog.hardware().iter().filter_map(item).collect()
}

fn item(spec: &HardwareSpec) -> Option<HardwareItem> {
    let minute = per_minute(spec);
    let micro = (minute * Decimal::from(1_000_000))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let micro = i64::try_from(micro).unwrap_or(i64::MAX);
    // A decimal's text is a valid JSON number (digits, optional sign and point).
    let usd = RawValue::from_string(minute.to_string()).ok()?;
    Some(HardwareItem {
        name: spec.id.as_str().to_owned(),
        pretty_name: spec.name.clone(),
        cpu: format!("{} vCPU", spec.vcpu),
        ram: format!("{} GB", spec.memory_gb),
        accelerator: spec.gpu.as_ref().map(|g| {
            json!({
                "type": "gpu",
                "model": g.model.as_str(),
                "quantity": g.count.to_string(),
                "vram": format!("{} GB", u64::from(g.memory_gb) * u64::from(g.count)),
                "manufacturer": "Nvidia",
            })
        }),
        unit_cost_micro_usd: micro,
        unit_cost_usd: usd,
        unit_label: "minute",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact() {
        let list = hardware_list(&Catalog::seed());
        let text = serde_json::to_string(&list).unwrap();
        // cpu-upgrade: 0.03 $/h = 0.0005 $/min = 500 micro-dollars.
        assert!(
            text.contains(r#""unitCostMicroUSD":500,"unitCostUSD":0.0005"#),
            "{text}"
        );
        assert!(
            text.contains(r#""unitCostMicroUSD":0,"unitCostUSD":0"#),
            "{text}"
        );
    }
}
