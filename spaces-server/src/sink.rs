//! [`LedgerSink`]: the supervisor's usage events into spaces-billing's durable [`Ledger`], which
//! the billing view reads back.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use spaces_billing::ledger::Ledger;
use spaces_billing::{Invoice, Period, UsageEvent, UsageLog};
use spaces_core::Catalog;
use spaces_runtime::supervisor::UsageSink;

/// A [`UsageSink`] over a ledger file. An event is acknowledged once the ledger committed it
/// (SQLite, `synchronous=FULL`); redeliveries of the same event are ignored by its id.
#[derive(Debug)]
pub struct LedgerSink {
    ledger: Mutex<Ledger>,
}

impl LedgerSink {
    /// Opens (or creates) the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, spaces_billing::Error> {
        Ok(Self {
            ledger: Mutex::new(Ledger::open(path)?),
        })
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The Spaces whose last recorded stage serves (a billable stage: starting or running),
    /// that is, those that were serving when the ledger last heard of them.
    pub fn serving_spaces(
        &self,
    ) -> Result<std::collections::BTreeSet<spaces_core::SpaceId>, spaces_billing::Error> {
        let mut last = std::collections::BTreeMap::new();
        for e in self.ledger().events()? {
            if let spaces_billing::UsageChange::Stage(stage) = e.change {
                last.insert(e.space, stage);
            }
        }
        Ok(last
            .into_iter()
            .filter(|(_, stage)| stage.is_billable())
            .map(|(id, _)| id)
            .collect())
    }

    /// The invoice of a namespace's Spaces for a month: the ledger's events of Spaces owned by
    /// `namespace`, rated against `catalog`.
    pub fn invoice(
        &self,
        namespace: &str,
        period: Period,
        catalog: &Catalog,
    ) -> Result<Invoice, spaces_billing::Error> {
        let events: Vec<UsageEvent> = self
            .ledger()
            .events()?
            .into_iter()
            .filter(|e| e.space.owner() == namespace)
            .collect();
        UsageLog::from_events(events, catalog)?.invoice(period)
    }
}

impl UsageSink for LedgerSink {
    fn record(&self, event: &UsageEvent) -> Result<(), spaces_runtime::Error> {
        self.ledger()
            .append(event)
            .map(|_| ())
            .map_err(|e| spaces_runtime::Error::Unavailable {
                backend: "ledger",
                reason: e.to_string(),
            })
    }
}
