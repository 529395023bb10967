//! What the dashboard shows of a Space ([`SpaceView`]), read from the supervisor, the front
//! door's host table and the ledger.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::Serialize;
use spaces_billing::Period;
use spaces_core::{Flavor, Sdk, SpaceId};
use spaces_runtime::supervisor::SpaceStatus;

use crate::error::ApiError;
use crate::identity::Principal;
use crate::App;

/// One Space as the dashboard shows it.
#[derive(Clone, Debug, Serialize)]
pub struct SpaceView {
    /// `owner/name`.
    pub id: String,
    /// The Space page (`/spaces/owner/name`).
    pub page: String,
    /// The Space's host (`<subdomain>.<domain>`).
    pub host: String,
    /// The app's URL through the front door.
    pub app_url: String,
    /// The stage.
    pub stage: String,
    /// The SDK.
    pub sdk: String,
    /// The hardware (pretty name), `-` for static Spaces.
    pub hardware: String,
    /// The storage tier, `-` when none.
    pub storage: String,
    /// The sleep time, `never` when it never sleeps.
    pub sleep: String,
    /// This month's cost so far, USD with two decimals (`-` for Spaces the caller does not
    /// own).
    pub cost: String,
    /// Whether only its owner and members see it.
    pub private: bool,
    /// Why it does not run, when it does not.
    pub error: Option<String>,
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// The current month, by the server's clock.
fn this_month(app: &App) -> Option<Period> {
    let now = app.clock.now().to_string();
    now.get(..7)?.parse().ok()
}

/// This month's cost so far of each Space of each namespace (rated from the ledger).
async fn costs(app: &App, namespaces: Vec<String>) -> BTreeMap<SpaceId, Decimal> {
    let Some(period) = this_month(app) else {
        return BTreeMap::new();
    };
    let (ledger, catalog) = (Arc::clone(&app.ledger), app.catalog.clone());
    tokio::task::spawn_blocking(move || {
        let mut out = BTreeMap::new();
        for ns in namespaces {
            match ledger.invoice(&ns, period, &catalog) {
                Ok(invoice) => {
                    for line in &invoice.lines {
                        *out.entry(line.space.clone()).or_insert(Decimal::ZERO) += line.amount;
                    }
                }
                Err(e) => tracing::warn!(namespace = %ns, error = %e, "rating for the dashboard"),
            }
        }
        out
    })
    .await
    .unwrap_or_default()
}

fn view_of(
    app: &App,
    s: &SpaceStatus,
    port: Option<&str>,
    cost: Option<Decimal>,
    pushing: bool,
) -> SpaceView {
    let domain = app.spaces_domain.as_deref().unwrap_or("localhost");
    let host = format!("{}.{domain}", app.front.hosts.subdomain(&s.id));
    let app_url = match port {
        Some(p) => format!("http://{host}:{p}/"),
        None => format!("http://{host}/"),
    };
    let hardware = match (&s.sdk, &s.requested_hardware) {
        (Sdk::Static, _) | (_, None) => "-".to_owned(),
        (_, Some(f)) => app
            .catalog
            .flavor(f)
            .map(|spec| spec.name.clone())
            .unwrap_or_else(|| Flavor::as_str(f).to_owned()),
    };
    let stage = if pushing && s.stage == spaces_core::Stage::NoAppFile {
        "BUILDING".to_owned()
    } else {
        s.stage.as_str().to_owned()
    };
    SpaceView {
        id: s.id.to_string(),
        page: format!("/spaces/{}", s.id),
        host,
        app_url,
        stage,
        sdk: s.sdk.as_str().to_owned(),
        hardware,
        storage: s
            .storage
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|| "-".to_owned()),
        sleep: s.sleep_time.map(human).unwrap_or_else(|| "never".into()),
        cost: cost
            .map(|c| format!("{:.2}", c.round_dp(2)))
            .unwrap_or_else(|| "-".into()),
        private: s.visibility != spaces_core::Visibility::Public,
        error: crate::wire::runtime::error_message(s),
    }
}

/// The Spaces of the caller and of its organisations, by id.
pub async fn spaces_of(app: &App, p: &Principal, port: Option<&str>) -> Vec<SpaceView> {
    let ids: Vec<SpaceId> = app
        .registry
        .read()
        .keys()
        .filter(|id| p.acts_for(id.owner()))
        .cloned()
        .collect();
    let mut namespaces: Vec<String> = ids.iter().map(|id| id.owner().to_owned()).collect();
    namespaces.sort();
    namespaces.dedup();
    let costs = costs(app, namespaces).await;
    ids.iter()
        .filter_map(|id| app.sup.status(id).ok())
        .map(|s| {
            let cost = costs.get(&s.id).copied().unwrap_or(Decimal::ZERO);
            view_of(app, &s, port, Some(cost), app.is_pushing(&s.id))
        })
        .collect()
}

/// One Space's view (its cost for members only).
pub async fn space_view(
    app: &App,
    id: &SpaceId,
    port: Option<&str>,
    member: bool,
) -> Result<SpaceView, ApiError> {
    let s = app.status(id)?;
    let cost = if member {
        let c = costs(app, vec![id.owner().to_owned()]).await;
        Some(c.get(id).copied().unwrap_or(Decimal::ZERO))
    } else {
        None
    };
    Ok(view_of(app, &s, port, cost, app.is_pushing(id)))
}

/// A Space's logs for its page: the build log, and the run log so far (each its last 200
/// lines).
#[derive(Debug, Default)]
pub struct Logs {
    /// The last build's log.
    pub build: Vec<String>,
    /// The serving instance's log so far.
    pub run: Vec<String>,
}

/// Reads [`Logs`] (the run log for at most half a second).
pub async fn logs(app: &App, id: &SpaceId) -> Logs {
    let mut build = app.sup.build_log(id).unwrap_or_default();
    build.drain(..build.len().saturating_sub(200));
    let mut run = Vec::new();
    if let Ok(mut stream) = app.sup.logs(id, false).await {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Ok(Some(line)) = tokio::time::timeout_at(deadline, stream.next()).await {
            run.push(line.text);
        }
    }
    run.drain(..run.len().saturating_sub(200));
    Logs { build, run }
}
