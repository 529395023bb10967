//! A Space: its identity, settings, secrets and variables, and its [`Lifecycle`].

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::env::RESERVED_NAMES;
use crate::error::Error;
use crate::event::{Actor, Event};
use crate::id::SpaceId;
use crate::lifecycle::{Effect, Lifecycle};
use crate::sdk::{Sdk, Visibility};
use crate::secret::{EnvName, Secret, SecretEntry};
use crate::stage::Stage;

/// A Space. Its stage changes only through [`Space::apply`].
///
/// ```
/// use spaces_core::{Actor, Event, RepoCheck, Revision, Sdk, Space, SpaceId, Stage, Visibility};
///
/// let now = "2026-11-01T00:00:00Z".parse().unwrap();
/// let id: SpaceId = "alice/demo".parse()?;
/// let mut space = Space::new(id, Sdk::Gradio, Visibility::Public, now);
/// assert_eq!(space.stage(), &Stage::NoAppFile);
///
/// let push = Event::Push { revision: Revision::new("abc1234")?, repo: RepoCheck::Ready };
/// space.apply(push, Actor::Owner, now)?;
/// space.apply(Event::BuildSucceeded, Actor::Platform, now)?;
/// space.apply(Event::AppHealthy, Actor::Platform, now)?;
/// assert_eq!(space.stage(), &Stage::Running);
///
/// // A visitor cannot pause it; the refusal leaves the Space unchanged.
/// let err = space.apply(Event::Pause, Actor::Visitor, now).unwrap_err();
/// assert!(err.to_string().contains("only the owner"));
/// assert_eq!(space.stage(), &Stage::Running);
/// # Ok::<(), spaces_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Space {
    id: SpaceId,
    visibility: Visibility,
    title: Option<String>,
    secrets: BTreeMap<EnvName, SecretEntry>,
    variables: BTreeMap<EnvName, String>,
    lifecycle: Lifecycle,
}

/// A change of stage, with the effects a runtime must carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The stage before.
    pub from: Stage,
    /// The stage after (may equal `from`).
    pub to: Stage,
    /// What the runtime must do, in order.
    pub effects: Vec<Effect>,
}

impl Space {
    /// A new Space with no files: `NO_APP_FILE`, free hardware (none when static), no storage.
    pub fn new(id: SpaceId, sdk: Sdk, visibility: Visibility, now: Timestamp) -> Self {
        Self::with_lifecycle(id, visibility, Lifecycle::new(sdk, now))
    }

    /// A Space in a given lifecycle state (for restoring saved state).
    pub fn with_lifecycle(id: SpaceId, visibility: Visibility, lifecycle: Lifecycle) -> Self {
        Self {
            id,
            visibility,
            title: None,
            secrets: BTreeMap::new(),
            variables: BTreeMap::new(),
            lifecycle,
        }
    }

    /// Applies an event through [`Lifecycle::step`]. On a refusal the Space is unchanged and the
    /// error names the Space, its stage, the event and the reason.
    pub fn apply(
        &mut self,
        event: Event,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Transition, Error> {
        let step = self
            .lifecycle
            .step(&event, actor, now)
            .map_err(|reason| Error::Refused {
                space: self.id.clone(),
                stage: self.lifecycle.stage().clone(),
                event: event.kind(),
                reason,
            })?;
        let from = self.lifecycle.stage().clone();
        self.lifecycle = step.next;
        Ok(Transition {
            from,
            to: self.lifecycle.stage().clone(),
            effects: step.effects,
        })
    }

    /// The id.
    pub fn id(&self) -> &SpaceId {
        &self.id
    }
    /// The SDK.
    pub fn sdk(&self) -> Sdk {
        self.lifecycle.sdk()
    }
    /// The visibility.
    pub fn visibility(&self) -> Visibility {
        self.visibility
    }
    /// Changes the visibility.
    pub fn set_visibility(&mut self, visibility: Visibility) {
        self.visibility = visibility;
    }
    /// The title (the config's `title`), if set.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }
    /// Sets the title.
    pub fn set_title(&mut self, title: impl Into<String>) {
        self.title = Some(title.into());
    }
    /// The stage.
    pub fn stage(&self) -> &Stage {
        self.lifecycle.stage()
    }
    /// The lifecycle state (stage, hardware, storage, sleep settings, revision).
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// Sets a secret. Refused when a variable has the same name or the name is reserved for the
    /// platform (`SPACE_ID`, ...; `HF_HOME` may be set).
    pub fn set_secret(
        &mut self,
        name: &str,
        value: Secret,
        description: Option<String>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let name = self.settable_name(name, true)?;
        self.secrets.insert(
            name,
            SecretEntry {
                value,
                description,
                updated_at: now,
            },
        );
        Ok(())
    }

    /// Removes a secret; `true` if it existed.
    pub fn remove_secret(&mut self, name: &str) -> bool {
        EnvName::new(name).is_ok_and(|n| self.secrets.remove(&n).is_some())
    }

    /// Sets a public variable. Same name rules as secrets.
    pub fn set_variable(&mut self, name: &str, value: impl Into<String>) -> Result<(), Error> {
        let name = self.settable_name(name, false)?;
        self.variables.insert(name, value.into());
        Ok(())
    }

    /// Removes a variable; `true` if it existed.
    pub fn remove_variable(&mut self, name: &str) -> bool {
        EnvName::new(name).is_ok_and(|n| self.variables.remove(&n).is_some())
    }

    /// The secrets (values redacted in `Debug`).
    pub fn secrets(&self) -> &BTreeMap<EnvName, SecretEntry> {
        &self.secrets
    }

    /// The variables.
    pub fn variables(&self) -> &BTreeMap<EnvName, String> {
        &self.variables
    }

    fn settable_name(&self, name: &str, as_secret: bool) -> Result<EnvName, Error> {
        let env = EnvName::new(name)?;
        if RESERVED_NAMES.contains(&name) {
            return Err(Error::ReservedName {
                space: self.id.clone(),
                name: name.to_owned(),
            });
        }
        let clash = if as_secret {
            self.variables.contains_key(&env)
        } else {
            self.secrets.contains_key(&env)
        };
        if clash {
            return Err(Error::NameTaken {
                space: self.id.clone(),
                name: name.to_owned(),
                taken_by: if as_secret { "variable" } else { "secret" },
            });
        }
        Ok(env)
    }
}
