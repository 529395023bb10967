//! What the owner sets besides the lifecycle: secrets, variables, visibility; a Space created
//! with its settings in one transaction; and what the owner reads back (never a secret's value).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use spaces_core::{
    Actor, Event, Flavor, Secret, SpaceId, Stage, StorageTier, Timestamp, Visibility,
};

use super::actions::Action;
use super::slot::{Durable, Managed, Slot};
use super::store::Row;
use super::{new_durable, usage_changes, SpaceStatus, Supervisor, UsageChange};
use crate::Error;

/// What a Space can be created with, applied in the same transaction as the create (a bad one
/// refuses the whole create). `Default` is a bare Space.
#[derive(Clone, Debug, Default)]
pub struct CreateOptions {
    /// Hardware to request (checked against the catalog).
    pub hardware: Option<Flavor>,
    /// A custom sleep time: `Some(None)` never sleeps, `Some(Some(d))` sleeps after `d` (not on
    /// free cpu-basic).
    pub sleep_time: Option<Option<Duration>>,
    /// Persistent storage to attach.
    pub storage: Option<StorageTier>,
    /// Secrets: name, value, description.
    pub secrets: Vec<(String, Secret, Option<String>)>,
    /// Variables: name, value.
    pub variables: Vec<(String, String)>,
    /// The title.
    pub title: Option<String>,
}

/// A secret as its owner may read it: no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretInfo {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// When its value was last set.
    pub updated_at: Timestamp,
}

/// The most build log lines a Space keeps.
pub(crate) const KEPT_BUILD_LINES: usize = 400;

impl Supervisor {
    /// Creates a Space with its settings (hardware, sleep time, storage, secrets, variables,
    /// title) in one transaction. Nothing is created when one of them is refused.
    pub fn create_with(
        &self,
        id: SpaceId,
        sdk: spaces_core::Sdk,
        visibility: Visibility,
        options: CreateOptions,
    ) -> Result<SpaceStatus, Error> {
        let mut spaces = self.spaces();
        if spaces.contains_key(&id) {
            return Err(Error::Conflict {
                what: format!("Space {id} already exists"),
            });
        }
        let now = self.inner.clock.now();
        let mut d = new_durable(id.clone(), sdk, visibility, now);
        let fresh = d.space.clone();
        if let Some(title) = options.title {
            d.space.set_title(title);
        }
        let mut events = Vec::new();
        if let Some(flavor) = options.hardware {
            let spec = self.inner.catalog.require_flavor(flavor.as_str())?;
            events.push(Event::ChangeHardware(spec.id.clone()));
        }
        if let Some(sleep) = options.sleep_time {
            events.push(Event::SetSleepTime(sleep));
        }
        if let Some(tier) = options.storage {
            if self.inner.catalog.storage_tier(tier).is_none() {
                return Err(Error::Unsupported {
                    backend: "catalog",
                    what: format!("storage tier {tier} (not offered)"),
                });
            }
            events.push(Event::RequestStorage(tier));
        }
        for event in events {
            let t = d.space.apply(event, Actor::Owner, now)?;
            if !t.effects.is_empty() || t.to != Stage::NoAppFile {
                return Err(Error::Conflict {
                    what: format!("{id}: a new Space cannot run yet ({} would start)", t.to),
                });
            }
        }
        for (name, value, description) in options.secrets {
            d.space.set_secret(&name, value, description, now)?;
        }
        for (name, value) in options.variables {
            d.space.set_variable(&name, value)?;
        }
        let mut usage = vec![(now, id.clone(), UsageChange::Stage(Stage::NoAppFile))];
        let t = spaces_core::Transition {
            from: Stage::NoAppFile,
            to: Stage::NoAppFile,
            effects: Vec::new(),
        };
        for c in usage_changes(&fresh, &d.space, &t) {
            usage.push((now, id.clone(), c));
        }
        self.inner.store.commit(Row::Put(&d.to_saved()), &usage)?;
        let slot = Arc::new(Slot::new(Managed::new(d)));
        spaces.insert(id, Arc::clone(&slot));
        drop(spaces);
        self.deliver_quietly();
        Ok(self.status_of(&slot))
    }

    /// Sets a secret; it reaches the app at its next start. Anything the runtime prepared with
    /// the old value is discarded.
    pub async fn set_secret(&self, id: &SpaceId, name: &str, value: Secret) -> Result<(), Error> {
        self.set_secret_described(id, name, value, None).await
    }

    /// Sets a secret with a description (readable by the owner; the value never is).
    pub async fn set_secret_described(
        &self,
        id: &SpaceId,
        name: &str,
        value: Secret,
        description: Option<String>,
    ) -> Result<(), Error> {
        let now = self.inner.clock.now();
        self.change_settings(id, |d| {
            d.space
                .set_secret(name, value, description, now)
                .map_err(Error::from)
        })?;
        self.discard_prepared(id).await
    }

    /// Removes a secret (true when there was one); it is gone from the app at its next start.
    pub async fn remove_secret(&self, id: &SpaceId, name: &str) -> Result<bool, Error> {
        let mut removed = false;
        self.change_settings(id, |d| {
            removed = d.space.remove_secret(name);
            Ok(())
        })?;
        self.discard_prepared(id).await?;
        Ok(removed)
    }

    /// Drops what the runtime prepared for the Space's next start (it holds the old secrets).
    async fn discard_prepared(&self, id: &SpaceId) -> Result<(), Error> {
        let slot = self.slot(id)?;
        slot.lock().busy += 1;
        self.run_actions(&slot, vec![Action::DiscardPrepared]).await
    }

    /// Sets a variable; it reaches the app at its next start.
    pub fn set_variable(&self, id: &SpaceId, name: &str, value: &str) -> Result<(), Error> {
        self.change_settings(id, |d| {
            d.space.set_variable(name, value).map_err(Error::from)
        })
    }

    /// Removes a variable (true when there was one).
    pub fn remove_variable(&self, id: &SpaceId, name: &str) -> Result<bool, Error> {
        let mut removed = false;
        self.change_settings(id, |d| {
            removed = d.space.remove_variable(name);
            Ok(())
        })?;
        Ok(removed)
    }

    /// The Space's secrets, without their values.
    pub fn secrets(&self, id: &SpaceId) -> Result<Vec<SecretInfo>, Error> {
        let slot = self.slot(id)?;
        let m = slot.lock();
        Ok(m.d
            .space
            .secrets()
            .iter()
            .map(|(name, e)| SecretInfo {
                name: name.as_str().to_owned(),
                description: e.description.clone(),
                updated_at: e.updated_at,
            })
            .collect())
    }

    /// The Space's variables.
    pub fn variables(&self, id: &SpaceId) -> Result<BTreeMap<String, String>, Error> {
        let slot = self.slot(id)?;
        let m = slot.lock();
        Ok(m.d
            .space
            .variables()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
            .collect())
    }

    /// Makes the Space public, private or protected.
    pub fn set_visibility(&self, id: &SpaceId, visibility: Visibility) -> Result<(), Error> {
        self.change_settings(id, |d| {
            d.space.set_visibility(visibility);
            Ok(())
        })
    }

    /// The last build's log (its last lines), kept across restarts.
    pub fn build_log(&self, id: &SpaceId) -> Result<Vec<String>, Error> {
        let slot = self.slot(id)?;
        let lines = slot.lock().d.build_log.clone();
        Ok(lines)
    }

    /// The folder holding the files of the Space's current revision, if it has one. Read it,
    /// never write it.
    pub fn files(&self, id: &SpaceId) -> Result<Option<PathBuf>, Error> {
        let slot = self.slot(id)?;
        let source = slot.lock().d.source.clone();
        Ok(source.map(|s| self.inner.store.repo_dir(id).join(s)))
    }

    /// Changes what the owner set outside the lifecycle (secrets, variables) and saves it.
    fn change_settings(
        &self,
        id: &SpaceId,
        change: impl FnOnce(&mut Durable) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let slot = self.slot(id)?;
        let mut m = slot.lock();
        if m.gone {
            return Err(Error::NotFound {
                what: format!("Space {id} (deleted)"),
            });
        }
        let mut d = m.d.clone();
        change(&mut d)?;
        self.inner.store.commit(Row::Put(&d.to_saved()), &[])?;
        m.d = d;
        Ok(())
    }
}

/// Keeps the last [`KEPT_BUILD_LINES`] lines of a build log.
pub(crate) fn kept_build_log(lines: impl IntoIterator<Item = String>) -> Vec<String> {
    let all: Vec<String> = lines.into_iter().collect();
    let skip = all.len().saturating_sub(KEPT_BUILD_LINES);
    all.into_iter().skip(skip).collect()
}
