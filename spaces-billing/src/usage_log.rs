//! A validated usage log, grouped by Space and in time order: what the rating engine reads.
//!
//! Building one applies every rule of billing.md that needs more than one line: flavors and tiers
//! must be offered by the catalog, duplicates (by id) are dropped, events are put in time order
//! (equal times keep their order in the log), and storage must be upgrade-only. A log that breaks
//! a rule is rejected whole, with the line of the offending event.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use rust_decimal::Decimal;
use spaces_core::{Catalog, SpaceId, Stage};

use crate::error::{Error, LogProblem};
use crate::event::{parse_jsonl, UsageChange, UsageEvent};
use crate::fast_hash::{seeded, FastHash};
use crate::grant::{merged, Grant};
use crate::instant::Instant;
use crate::invoice::{Invoice, InvoiceLine, Item, Usage};
use crate::period::{Period, Window};
use crate::prices::{rank_tier, storage_rank, PriceTable, STORAGE_RANKS_BY_NAME};
use crate::rating::{rate_space, Ev, Op};

/// A usage log that obeys every rule of billing.md, ready to be rated for any window.
///
/// ```
/// use spaces_billing::UsageLog;
/// use spaces_core::Catalog;
///
/// let log = UsageLog::parse(
///     r#"{"at":"2026-11-01T00:00:00Z","space":"alice/demo","kind":"stage","stage":"RUNNING"}
/// {"at":"2026-11-01T00:00:00Z","space":"alice/demo","kind":"storage","tier":"large"}
/// {"at":"2026-11-01T00:01:00Z","space":"alice/demo","kind":"storage","tier":"small"}"#,
///     &Catalog::seed(),
/// );
/// assert_eq!(log.unwrap_err().to_string(), "line 3: alice/demo: storage is upgrade-only: `large` is held and `small` is smaller; delete the storage first (`\"tier\": null`)");
/// ```
#[derive(Clone, Debug)]
pub struct UsageLog {
    prices: PriceTable,
    /// Spaces in byte order of their ids.
    spaces: Vec<SpaceId>,
    /// The events of `spaces[i]` are `events[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    /// Per Space, in time order.
    events: Vec<Ev>,
}

/// An event during validation: its Space, its line, and the resolved change.
#[derive(Clone, Copy)]
struct Pending {
    space: u32,
    line: usize,
    ev: Ev,
}

impl UsageLog {
    /// Reads and validates a JSON Lines usage log. Lines are numbered from 1; blank lines are
    /// ignored but counted.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Self, Error> {
        Self::from_numbered(parse_jsonl(text)?, catalog)
    }

    /// Reads a whole usage log from `reader` and validates it.
    pub fn read(mut reader: impl Read, catalog: &Catalog) -> Result<Self, Error> {
        let mut text = String::new();
        reader.read_to_string(&mut text)?;
        Self::parse(&text, catalog)
    }

    /// Validates events given in log order; errors name the 1-based position as the line.
    pub fn from_events(
        events: impl IntoIterator<Item = UsageEvent>,
        catalog: &Catalog,
    ) -> Result<Self, Error> {
        Self::from_numbered(
            events.into_iter().enumerate().map(|(i, e)| (i + 1, e)),
            catalog,
        )
    }

    /// Validates events given in log order, each with its line number.
    pub fn from_numbered(
        events: impl IntoIterator<Item = (usize, UsageEvent)>,
        catalog: &Catalog,
    ) -> Result<Self, Error> {
        let prices = PriceTable::new(catalog);
        let events = events.into_iter();
        let n = events.size_hint().0;
        let mut ids: HashMap<SpaceId, u32, FastHash> =
            HashMap::with_capacity_and_hasher(n / 8, seeded());
        let mut spaces: Vec<SpaceId> = Vec::new();
        let mut seen: HashSet<String, FastHash> = HashSet::with_capacity_and_hasher(n, seeded());
        let mut pending: Vec<Pending> = Vec::with_capacity(n);
        // 1. Line by line, in log order: catalog membership, then duplicates.
        for (line, e) in events {
            let op = match &e.change {
                UsageChange::Stage(Stage::Deleting) => Op::Deleting,
                UsageChange::Stage(s) => Op::Stage {
                    billable: s.is_billable(),
                },
                UsageChange::Hardware(f) => {
                    Op::Flavor(prices.flavor_rank(f).ok_or_else(|| Error::Log {
                        line,
                        problem: LogProblem::UnknownFlavor {
                            flavor: f.as_str().to_owned(),
                            offered: prices.offered(),
                        },
                    })?)
                }
                UsageChange::Storage(None) => Op::Storage(None),
                UsageChange::Storage(Some(t)) => {
                    if !prices.offers_tier(*t) {
                        return Err(Error::Log {
                            line,
                            problem: LogProblem::UnknownTier {
                                tier: t.as_str().to_owned(),
                            },
                        });
                    }
                    Op::Storage(Some(storage_rank(*t)))
                }
            };
            if let Some(id) = e.id {
                if !seen.insert(id) {
                    continue;
                }
            }
            let next = spaces.len() as u32;
            let space = *ids.entry(e.space).or_insert_with_key(|k| {
                spaces.push(k.clone());
                next
            });
            pending.push(Pending {
                space,
                line,
                ev: Ev {
                    at: Instant::from_timestamp(e.at),
                    op,
                },
            });
        }
        drop(ids);
        // 2. Group by Space (counting sort, Spaces in byte order), keeping log order.
        let mut order: Vec<u32> = (0..spaces.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| {
            spaces[a as usize]
                .as_str()
                .as_bytes()
                .cmp(spaces[b as usize].as_str().as_bytes())
        });
        let mut slot = vec![0u32; spaces.len()];
        for (pos, &s) in order.iter().enumerate() {
            slot[s as usize] = pos as u32;
        }
        let mut offsets = vec![0usize; spaces.len() + 1];
        for p in &pending {
            offsets[slot[p.space as usize] as usize + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut fill = offsets.clone();
        let mut grouped: Vec<Pending> = pending.clone();
        for p in pending {
            let s = slot[p.space as usize] as usize;
            grouped[fill[s]] = p;
            fill[s] += 1;
        }
        // 3. Time order within each Space (stable: equal times keep log order); upgrade-only.
        let mut downgrade: Option<(usize, LogProblem)> = None;
        for (pos, &s) in order.iter().enumerate() {
            let evs = &mut grouped[offsets[pos]..offsets[pos + 1]];
            evs.sort_by_key(|p| p.ev.at);
            let mut held: Option<u8> = None;
            for p in evs.iter() {
                match p.ev.op {
                    Op::Deleting | Op::Storage(None) => held = None,
                    Op::Storage(Some(t)) => match held {
                        Some(h) if t > h => {
                            if downgrade.as_ref().is_none_or(|(l, _)| p.line < *l) {
                                downgrade = Some((
                                    p.line,
                                    LogProblem::StorageDowngrade {
                                        space: spaces[s as usize].to_string(),
                                        held: rank_tier(usize::from(h)),
                                        requested: rank_tier(usize::from(t)),
                                    },
                                ));
                            }
                            break;
                        }
                        _ => held = Some(t),
                    },
                    _ => {}
                }
            }
        }
        if let Some((line, problem)) = downgrade {
            return Err(Error::Log { line, problem });
        }
        let sorted_spaces = order.iter().map(|&s| spaces[s as usize].clone()).collect();
        Ok(UsageLog {
            prices,
            spaces: sorted_spaces,
            offsets,
            events: grouped.into_iter().map(|p| p.ev).collect(),
        })
    }

    /// The Spaces of the log, in byte order of their ids.
    pub fn spaces(&self) -> &[SpaceId] {
        &self.spaces
    }

    /// The number of events kept (duplicates dropped).
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the log has no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn space_events(&self, i: usize) -> &[Ev] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => self.events.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The minutes billed per (space, item) in a minute-aligned window, sorted like invoice
    /// lines; items with zero minutes are omitted.
    pub fn usage(&self, window: Window) -> Vec<Usage> {
        let mut out = Vec::new();
        let mut hw = vec![0u64; self.prices.flavors.len()];
        for (i, space) in self.spaces.iter().enumerate() {
            hw.fill(0);
            let mut st = [0u64; 3];
            rate_space(
                self.space_events(i),
                self.prices.default_flavor,
                window.minute_range(),
                &mut hw,
                &mut st,
            );
            self.each_item(&hw, &st, |item, minutes, _| {
                out.push(Usage {
                    space: space.clone(),
                    item,
                    minutes,
                });
            });
        }
        out
    }

    /// Calls `f(item, minutes, slot)` for each item with minutes, in item order. `slot` is
    /// `Ok(flavor rank)` or `Err(storage rank)`.
    fn each_item(
        &self,
        hw: &[u64],
        st: &[u64; 3],
        mut f: impl FnMut(Item, u64, Result<usize, usize>),
    ) {
        for &r in &self.prices.flavors_by_id {
            let r = r as usize;
            if let (Some(&m), Some(fl)) = (hw.get(r), self.prices.flavors.get(r)) {
                if m > 0 {
                    f(Item::Hardware(fl.id.clone()), m, Ok(r));
                }
            }
        }
        for r in STORAGE_RANKS_BY_NAME {
            if st[r] > 0 {
                f(Item::Storage(rank_tier(r)), st[r], Err(r));
            }
        }
    }

    /// The invoice for a calendar month (billing.md, "Money").
    ///
    /// Fails only if an amount does not fit a decimal (absurd catalog prices).
    pub fn invoice(&self, period: Period) -> Result<Invoice, Error> {
        self.invoice_with_grants(period, &[])
    }

    /// The invoice for a calendar month, with community GPU grants (see [`Grant`] for the rule).
    pub fn invoice_with_grants(&self, period: Period, grants: &[Grant]) -> Result<Invoice, Error> {
        let window = period.window();
        let month_minutes = period.minutes();
        let mut by_space: HashMap<&SpaceId, Vec<Window>> = HashMap::new();
        for g in grants {
            by_space.entry(&g.space).or_default().push(g.window);
        }
        let mut lines = Vec::with_capacity(self.spaces.len() * 2);
        let mut total: i128 = 0;
        let mut hw = vec![0u64; self.prices.flavors.len()];
        let mut covered = vec![0u64; self.prices.flavors.len()];
        for (i, space) in self.spaces.iter().enumerate() {
            let events = self.space_events(i);
            hw.fill(0);
            let mut st = [0u64; 3];
            rate_space(
                events,
                self.prices.default_flavor,
                window.minute_range(),
                &mut hw,
                &mut st,
            );
            let first_line = lines.len();
            let mut hardware_cents: i128 = 0;
            let mut failed = None;
            self.each_item(&hw, &st, |item, minutes, slot| {
                let cents = match slot {
                    Ok(r) => self
                        .prices
                        .flavors
                        .get(r)
                        .and_then(|f| f.price.cents(minutes, 60)),
                    Err(r) => self.prices.storage[r].and_then(|p| p.cents(minutes, month_minutes)),
                };
                match cents
                    .and_then(|c| Decimal::try_from_i128_with_scale(c, 2).ok().map(|d| (c, d)))
                {
                    Some((c, amount)) => {
                        if slot.is_ok() {
                            hardware_cents += c;
                        }
                        total += c;
                        lines.push(InvoiceLine {
                            space: space.clone(),
                            item: item.clone(),
                            minutes,
                            amount,
                        });
                    }
                    None => failed = Some(item),
                }
            });
            if let Some(item) = failed {
                return Err(overflow(space, &item));
            }
            let Some(windows) = by_space.get(space) else {
                continue;
            };
            covered.fill(0);
            let mut unused = [0u64; 3];
            for range in merged(windows, window) {
                rate_space(
                    events,
                    self.prices.default_flavor,
                    range,
                    &mut covered,
                    &mut unused,
                );
            }
            let mut grant_cents: i128 = 0;
            let mut grant_minutes = 0u64;
            for (r, &m) in covered.iter().enumerate() {
                if m == 0 {
                    continue;
                }
                grant_minutes += m;
                let cents = self
                    .prices
                    .flavors
                    .get(r)
                    .and_then(|f| f.price.cents(m, 60))
                    .ok_or_else(|| overflow(space, &Item::Grant))?;
                grant_cents += cents;
            }
            let grant_cents = grant_cents.min(hardware_cents);
            if grant_cents > 0 {
                let amount = Decimal::try_from_i128_with_scale(-grant_cents, 2)
                    .map_err(|_| overflow(space, &Item::Grant))?;
                total -= grant_cents;
                // `grant/...` sorts before `hardware/...` and `storage/...`.
                lines.insert(
                    first_line,
                    InvoiceLine {
                        space: space.clone(),
                        item: Item::Grant,
                        minutes: grant_minutes,
                        amount,
                    },
                );
            }
        }
        let total =
            Decimal::try_from_i128_with_scale(total, 2).map_err(|_| Error::AmountOverflow {
                space: "(all)".to_owned(),
                item: "total".to_owned(),
            })?;
        Ok(Invoice {
            period,
            lines,
            total,
        })
    }
}

fn overflow(space: &SpaceId, item: &Item) -> Error {
    Error::AmountOverflow {
        space: space.to_string(),
        item: item.to_string(),
    }
}
