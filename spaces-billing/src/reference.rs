//! A naive, minute-by-minute reference biller (feature `naive-reference`), for tests and benches.
//!
//! It reads billing.md literally and shares nothing with the engine but the line reader and the
//! output types: it walks every minute of the window, cuts the minute at the events inside it,
//! and looks at each piece of non-zero length; prices are compared as decimals, amounts computed
//! with decimal arithmetic. It is slow on purpose (O(minutes + events) per Space, with maps);
//! never use it to bill.

use std::collections::{BTreeMap, HashSet};

use rust_decimal::{Decimal, RoundingStrategy};
use spaces_core::{Catalog, Flavor, SpaceId, Stage, StorageTier};

use crate::error::{Error, LogProblem};
use crate::event::{parse_jsonl, UsageChange, UsageEvent};
use crate::invoice::{Invoice, InvoiceLine, Item};
use crate::period::{Period, Window};

const NANOS_PER_MINUTE: i128 = 60_000_000_000;

/// The state of a Space (billing.md, "State over time").
#[derive(Clone)]
struct State {
    stage: Option<Stage>,
    flavor: Flavor,
    tier: Option<StorageTier>,
}

impl State {
    fn apply(&mut self, change: &UsageChange) {
        match change {
            UsageChange::Stage(s) => {
                if *s == Stage::Deleting {
                    self.tier = None;
                }
                self.stage = Some(s.clone());
            }
            UsageChange::Hardware(f) => self.flavor = f.clone(),
            UsageChange::Storage(t) => self.tier = *t,
        }
    }
}

/// A validated log: per Space (by id), events in time order as `(at in ns, change)`.
type Spaces = BTreeMap<String, (SpaceId, Vec<(i128, UsageChange)>)>;

fn hourly(catalog: &Catalog, f: &Flavor) -> Decimal {
    catalog
        .flavor(f)
        .map(|h| h.hourly_price)
        .unwrap_or(Decimal::ZERO)
}

fn validate(events: &[(usize, UsageEvent)], catalog: &Catalog) -> Result<Spaces, Error> {
    let mut seen = HashSet::new();
    let mut spaces: Spaces = BTreeMap::new();
    for (line, e) in events {
        match &e.change {
            UsageChange::Hardware(f) if catalog.flavor(f).is_none() && *f != Flavor::CpuBasic => {
                let mut offered: Vec<&str> =
                    catalog.hardware().iter().map(|h| h.id.as_str()).collect();
                if !offered.contains(&"cpu-basic") {
                    offered.push("cpu-basic");
                }
                offered.sort_unstable();
                return Err(Error::Log {
                    line: *line,
                    problem: LogProblem::UnknownFlavor {
                        flavor: f.as_str().to_owned(),
                        offered: offered.join(", "),
                    },
                });
            }
            UsageChange::Storage(Some(t)) if catalog.storage_tier(*t).is_none() => {
                return Err(Error::Log {
                    line: *line,
                    problem: LogProblem::UnknownTier {
                        tier: t.as_str().to_owned(),
                    },
                })
            }
            _ => {}
        }
        if let Some(id) = &e.id {
            if !seen.insert(id.clone()) {
                continue;
            }
        }
        spaces
            .entry(e.space.as_str().to_owned())
            .or_insert_with(|| (e.space.clone(), Vec::new()))
            .1
            .push((e.at.as_nanosecond(), e.change.clone()));
    }
    // Stable sort: equal times keep log order. Lines are needed for the upgrade-only rule, so
    // check it on a copy that keeps them.
    let mut lines: BTreeMap<String, Vec<(i128, usize, UsageChange)>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for (line, e) in events {
        if e.id.as_ref().is_some_and(|id| !seen.insert(id.clone())) {
            continue;
        }
        lines.entry(e.space.as_str().to_owned()).or_default().push((
            e.at.as_nanosecond(),
            *line,
            e.change.clone(),
        ));
    }
    let mut first_violation: Option<(usize, LogProblem)> = None;
    for (space, evs) in &mut lines {
        evs.sort_by_key(|e| e.0);
        let mut state = State {
            stage: None,
            flavor: Flavor::CpuBasic,
            tier: None,
        };
        for (_, line, change) in evs.iter() {
            if let (UsageChange::Storage(Some(t)), Some(h)) = (change, state.tier) {
                if *t < h {
                    if first_violation.as_ref().is_none_or(|(l, _)| line < l) {
                        first_violation = Some((
                            *line,
                            LogProblem::StorageDowngrade {
                                space: space.clone(),
                                held: h,
                                requested: *t,
                            },
                        ));
                    }
                    break;
                }
            }
            state.apply(change);
        }
    }
    if let Some((line, problem)) = first_violation {
        return Err(Error::Log { line, problem });
    }
    for (_, evs) in spaces.values_mut() {
        evs.sort_by_key(|e| e.0);
    }
    Ok(spaces)
}

/// Minutes per (space, item), keyed by the space id and the item text (so in invoice order).
pub type Minutes = BTreeMap<(String, String), (SpaceId, Item, u64)>;

/// Minutes per (space, item) in `window`, walking every minute; zero-minute items are absent.
pub fn minutes(
    events: &[(usize, UsageEvent)],
    catalog: &Catalog,
    window: Window,
) -> Result<Minutes, Error> {
    let spaces = validate(events, catalog)?;
    let mut out = Minutes::new();
    let w0 = window.start().as_nanosecond();
    for (key, (space, evs)) in &spaces {
        let mut state = State {
            stage: None,
            flavor: Flavor::CpuBasic,
            tier: None,
        };
        let mut next = 0;
        for k in 0..i128::from(window.minutes()) {
            let m_start = w0 + k * NANOS_PER_MINUTE;
            let m_end = m_start + NANOS_PER_MINUTE;
            while next < evs.len() && evs[next].0 < m_start {
                state.apply(&evs[next].1);
                next += 1;
            }
            let mut piece = state.clone();
            let mut piece_start = m_start;
            let mut j = next;
            let mut hardware: Option<Flavor> = None;
            let mut storage: Option<StorageTier> = None;
            loop {
                let piece_end = if j < evs.len() && evs[j].0 < m_end {
                    evs[j].0
                } else {
                    m_end
                };
                if piece_end > piece_start {
                    if piece.stage.as_ref().is_some_and(Stage::is_billable) {
                        let better = match &hardware {
                            None => true,
                            Some(h) => {
                                let (p, q) = (hourly(catalog, &piece.flavor), hourly(catalog, h));
                                p > q
                                    || (p == q
                                        && piece.flavor.as_str().as_bytes() < h.as_str().as_bytes())
                            }
                        };
                        if better {
                            hardware = Some(piece.flavor.clone());
                        }
                    }
                    if let Some(t) = piece.tier {
                        storage = Some(storage.map_or(t, |s| s.max(t)));
                    }
                }
                if piece_end == m_end {
                    break;
                }
                piece.apply(&evs[j].1);
                piece_start = piece_end;
                j += 1;
            }
            let items = hardware
                .map(Item::Hardware)
                .into_iter()
                .chain(storage.map(Item::Storage));
            for item in items {
                out.entry((key.clone(), item.to_string()))
                    .or_insert_with(|| (space.clone(), item.clone(), 0))
                    .2 += 1;
            }
        }
    }
    Ok(out)
}

/// The invoice for `period`, from events in log order with their line numbers.
pub fn invoice(
    events: &[(usize, UsageEvent)],
    catalog: &Catalog,
    period: Period,
) -> Result<Invoice, Error> {
    let month = Decimal::from(period.minutes());
    let mut lines = Vec::new();
    let mut total = Decimal::ZERO;
    for (space, item, m) in minutes(events, catalog, period.window())?.into_values() {
        let overflow = || Error::AmountOverflow {
            space: space.to_string(),
            item: item.to_string(),
        };
        let exact = match &item {
            Item::Hardware(f) => Decimal::from(m)
                .checked_mul(hourly(catalog, f))
                .and_then(|x| x.checked_div(Decimal::from(60))),
            Item::Storage(t) => catalog
                .storage_tier(*t)
                .and_then(|s| Decimal::from(m).checked_mul(s.monthly_price))
                .and_then(|x| x.checked_div(month)),
            Item::Grant => None,
        }
        .ok_or_else(overflow)?;
        let amount = exact.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        total = total.checked_add(amount).ok_or_else(overflow)?;
        lines.push(InvoiceLine {
            space,
            item,
            minutes: m,
            amount,
        });
    }
    Ok(Invoice {
        period,
        lines,
        total,
    })
}

/// Reads a JSON Lines log and bills it with [`invoice`].
pub fn invoice_jsonl(text: &str, catalog: &Catalog, period: Period) -> Result<Invoice, Error> {
    invoice(&parse_jsonl(text)?, catalog, period)
}
