//! What time and the runtime decide: idle timers, crashed apps, usage delivery retries; and the
//! clean stop of every instance when the supervisor exits.

use std::sync::Arc;
use std::time::Duration;

use spaces_core::{Actor, Event, Stage};

use super::actions::{bind, uncount, Action};
use super::recover::resumption;
use super::slot::Slot;
use super::Supervisor;
use crate::runtime::InstanceState;
use crate::Error;

impl Supervisor {
    /// Fires what time and the runtime decide: idle timers whose sleep time has passed, and apps
    /// that exited; retries the delivery of usage events and the stops that failed; resumes a
    /// Space left building, starting or deleting with nothing in flight (a task that panicked, a
    /// result that could not be committed). Each Space is handled on its own: one that fails is
    /// logged (`tracing`) and the others go on. Call it periodically (see
    /// [`Supervisor::spawn_ticker`]).
    pub async fn tick(&self) -> Result<(), Error> {
        self.deliver_quietly();
        self.retry_failed_stops().await;
        let slots: Vec<_> = self.spaces().values().cloned().collect();
        for slot in slots {
            if let Err(e) = self.tick_one(&slot).await {
                tracing::warn!(space = %slot.id, error = %e, "tick failed for this Space");
            }
        }
        Ok(())
    }

    async fn retry_failed_stops(&self) {
        let failed = std::mem::take(
            &mut *self
                .inner
                .failed_stops
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for inst in failed {
            // Kept again on failure.
            let _ = self.stop_or_retry_later(inst).await;
        }
    }

    async fn tick_one(&self, slot: &Arc<Slot>) -> Result<(), Error> {
        let now = self.inner.clock.now();
        let (stage, serving_instance, sleeps_at, idle) = {
            let m = slot.lock();
            (
                m.stage().clone(),
                m.serving.clone(),
                m.d.space.lifecycle().sleeps_at(),
                m.busy == 0 && !m.gone,
            )
        };
        if idle && in_flight_stage(&stage) {
            return self.resume(slot).await;
        }
        if !matches!(stage, Stage::Running | Stage::RunningBuilding) {
            return Ok(());
        }
        let mut result = Ok(());
        if let Some(inst) = serving_instance {
            match self.inner.runtime.state(&inst.id).await {
                Ok(InstanceState::Exited { code, .. }) => {
                    let committed = self.commit(
                        slot,
                        Event::AppCrashed { exit_code: code },
                        Actor::Platform,
                        |m, d| {
                            let current = m.serving.as_ref() == Some(&inst)
                                && matches!(m.stage(), Stage::Running | Stage::RunningBuilding);
                            if current {
                                d.runtime_error = Some(match code {
                                    Some(c) => format!("the app exited with code {c}"),
                                    None => "the app was killed".into(),
                                });
                            }
                            current
                        },
                        |_, _| {},
                    )?;
                    if let Some((_, actions)) = committed {
                        self.run_actions(slot, actions).await?;
                    }
                    return Ok(());
                }
                Ok(_) => {}
                // Still check the idle timer: an engine that cannot answer must not keep a Space
                // awake (and billed) for ever.
                Err(e) => result = Err(e),
            }
        }
        if stage == Stage::Running && sleeps_at.is_some_and(|at| at <= now) {
            if let Ok((_, actions)) = self.apply(slot, Event::IdleTimeout, Actor::Platform) {
                self.run_actions(slot, actions).await?;
            }
        }
        result
    }

    /// Takes a Space out of a building, starting or deleting stage that nothing works on.
    async fn resume(&self, slot: &Arc<Slot>) -> Result<(), Error> {
        let stage = slot.lock().stage().clone();
        tracing::warn!(space = %slot.id, stage = %stage, "nothing works on this Space: resuming it");
        let actions = if matches!(stage, Stage::AppStarting | Stage::RunningAppStarting) {
            self.commit(
                slot,
                Event::InstanceLost,
                Actor::Platform,
                |m, _| m.busy == 0,
                |_, _| {},
            )?
            .map(|(_, a)| a)
            .unwrap_or_default()
        } else {
            let mut m = slot.lock();
            match resumption(m.stage()) {
                Some(t) if m.busy == 0 => {
                    let repo = self.inner.store.repo_dir(&slot.id);
                    let actions = bind(&mut m, &t, self.catalog(), &repo);
                    if !actions.is_empty() {
                        m.busy += 1;
                    }
                    actions
                }
                _ => Vec::new(),
            }
        };
        self.run_actions(slot, actions).await
    }

    /// Runs [`Supervisor::tick`] every `every` in a background task until the returned handle is
    /// aborted.
    pub fn spawn_ticker(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let sup = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            loop {
                interval.tick().await;
                let _ = sup.tick().await;
            }
        })
    }

    /// What a supervisor does when it exits: every instance is stopped and its Space marked
    /// [`Event::InstanceLost`] (`SLEEPING`, or `BUILDING` when a rebuild was under way), with its
    /// usage events, so the time until the next open is not billed; builds in flight are
    /// abandoned (the next supervisor builds again). The next supervisor over the same state
    /// folder finds the Spaces asleep.
    pub async fn shutdown(&self) -> Result<(), Error> {
        let slots: Vec<_> = self.spaces().values().cloned().collect();
        let mut first = Ok(());
        for slot in slots {
            let lost = self.commit(
                &slot,
                Event::InstanceLost,
                Actor::Platform,
                |m, _| m.stage().has_instance(),
                |m, _| m.build_gen += 1,
            );
            let mut actions = match lost {
                Ok(Some((_, actions))) => {
                    if !actions.is_empty() {
                        uncount(&slot);
                    }
                    actions
                }
                Ok(None) | Err(Error::NotFound { .. }) => Vec::new(),
                Err(e) => {
                    first = first.and(Err(e));
                    Vec::new()
                }
            };
            // Nothing new starts or builds now.
            actions.retain(|a| matches!(a, Action::Stop(_)));
            let instances = {
                let mut m = slot.lock();
                m.start_gen += 1;
                m.build_gen += 1;
                m.take_instances()
            };
            actions.push(Action::Stop(instances));
            for action in actions {
                if let Action::Stop(instances) = action {
                    for inst in instances {
                        if let Err(e) = self.stop_or_retry_later(inst).await {
                            first = first.and(Err(e));
                        }
                    }
                }
            }
        }
        self.retry_failed_stops().await;
        self.deliver_quietly();
        first
    }
}

/// Stages in which work is in flight: a Space left in one with none is stuck.
fn in_flight_stage(stage: &Stage) -> bool {
    matches!(
        stage,
        Stage::Building
            | Stage::RunningBuilding
            | Stage::AppStarting
            | Stage::RunningAppStarting
            | Stage::Deleting
    )
}
