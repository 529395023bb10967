//! Opening a supervisor over a state folder: restore every Space, then reconcile with what the
//! runtime really runs.
//!
//! A new supervisor knows no instance, so everything the runtime reports as running
//! ([`Runtime::running`]) is stopped first: instances a crashed supervisor left behind. Then
//! every Space whose stage had an instance gets [`Event::InstanceLost`] (`SLEEPING`, or
//! `BUILDING` when a rebuild was under way), all in one transaction with their usage events; an
//! interrupted build starts again from its own copy of the files; an interrupted delete is
//! finished. Last, the outbox is delivered.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use spaces_core::{Actor, Catalog, Clock, Effect, Event, SpaceId, Stage, Timestamp, Transition};

use super::actions::{bind, Action};
use super::slot::{Durable, Managed, Slot};
use super::store::{SavedSpace, Store};
use super::{usage_changes, Inner, Supervisor, UsageChange, UsageSink};
use crate::runtime::Runtime;
use crate::Error;

impl Supervisor {
    /// Opens a supervisor over a state folder, finding the Spaces a previous supervisor left there
    /// and reconciling them with what the runtime runs (see the [module docs](super)). Must run
    /// inside a tokio runtime. Builds and deletes it resumes run in the background.
    pub async fn open(
        state_dir: &Path,
        runtime: Arc<dyn Runtime>,
        clock: Arc<dyn Clock>,
        catalog: Catalog,
        sink: Arc<dyn UsageSink>,
    ) -> Result<Self, Error> {
        // Orphans: a fresh supervisor knows no instance; whatever runs was left by a crash.
        let orphans = runtime.running().await?;
        for inst in &orphans {
            tracing::info!(space = %inst.space, instance = %inst.id, "stopping an instance left by an earlier supervisor");
            runtime.stop(&inst.id).await?;
        }

        let now = clock.now();
        let (dir, cat) = (state_dir.to_path_buf(), catalog.clone());
        let loaded = tokio::task::spawn_blocking(move || -> Result<_, Error> {
            let store = Store::open(&dir)?;
            let mut loaded = Loaded::default();
            store.load_each(|s| loaded.add(s, now, &cat, &store))?;
            Ok((store, loaded))
        })
        .await
        .map_err(|e| Error::io("opening the state")(std::io::Error::other(e)))?;
        let (
            store,
            Loaded {
                spaces,
                lost,
                usage,
                pending,
            },
        ) = loaded?;
        if !lost.is_empty() || !usage.is_empty() {
            store.put_many(&lost, &usage, true)?;
        }
        let sup = Supervisor {
            inner: Arc::new(Inner {
                runtime,
                clock,
                catalog,
                sink,
                store,
                spaces: Mutex::new(spaces),
                delivering: Mutex::new(()),
                pushes: AtomicU64::new(0),
                failed_stops: Mutex::new(Vec::new()),
            }),
        };
        sup.deliver_quietly();
        for (slot, actions) in pending {
            drop(sup.spawn_actions(slot, actions));
        }
        Ok(sup)
    }
}

/// What opening finds: the Spaces, those whose instance was lost (saved again with their usage
/// events), and the work to resume.
#[derive(Default)]
struct Loaded {
    spaces: BTreeMap<SpaceId, Arc<Slot>>,
    lost: Vec<SavedSpace>,
    usage: Vec<(Timestamp, SpaceId, UsageChange)>,
    pending: Vec<(Arc<Slot>, Vec<Action>)>,
}

impl Loaded {
    fn add(
        &mut self,
        s: SavedSpace,
        now: Timestamp,
        catalog: &Catalog,
        store: &Store,
    ) -> Result<(), Error> {
        let d = Durable::from_saved(s)?;
        let id = d.space.id().clone();
        let mut m = Managed::new(d);
        let stage = m.stage().clone();
        let transition = if stage.has_instance() {
            let mut next = m.d.clone();
            let t = next
                .space
                .apply(Event::InstanceLost, Actor::Platform, now)?;
            for c in usage_changes(&m.d.space, &next.space, &t) {
                self.usage.push((now, id.clone(), c));
            }
            m.d = next;
            self.lost.push(m.d.to_saved());
            Some(t)
        } else {
            resumption(&stage)
        };
        let slot = Arc::new(Slot::new(m));
        if let Some(t) = transition {
            let mut m = slot.lock();
            let actions = bind(&mut m, &t, catalog, &store.repo_dir(&id));
            if !actions.is_empty() {
                m.busy += 1;
                drop(m);
                self.pending.push((Arc::clone(&slot), actions));
            }
        }
        self.spaces.insert(id, slot);
        Ok(())
    }
}

/// The work that takes a Space out of a stage it was left in with nothing in flight (after a
/// restart, or a task that ended early): build again, finish the delete. `None`: nothing to
/// resume (a starting stage is `InstanceLost` instead).
pub(crate) fn resumption(stage: &Stage) -> Option<Transition> {
    let effects = match stage {
        Stage::Building => vec![Effect::Build { no_cache: false }],
        // The delete's own effects, again: all of them are idempotent.
        Stage::Deleting => vec![Effect::DeleteVolume, Effect::Destroy],
        _ => return None,
    };
    Some(Transition {
        from: stage.clone(),
        to: stage.clone(),
        effects,
    })
}
