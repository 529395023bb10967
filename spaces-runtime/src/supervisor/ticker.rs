//! What time and the runtime decide: idle timers, crashed apps, usage delivery retries; and the
//! clean stop of every instance when the supervisor exits.

use std::sync::Arc;
use std::time::Duration;

use spaces_core::{Actor, Event, Stage};

use super::slot::Slot;
use super::Supervisor;
use crate::runtime::InstanceState;
use crate::Error;

impl Supervisor {
    /// Fires what time and the runtime decide: idle timers whose sleep time has passed, and apps
    /// that exited; retries the delivery of usage events. Each Space is handled on its own: one
    /// that fails is logged (`tracing`) and the others go on. Call it periodically (see
    /// [`Supervisor::spawn_ticker`]).
    pub async fn tick(&self) -> Result<(), Error> {
        self.deliver_quietly();
        let slots: Vec<_> = self.spaces().values().cloned().collect();
        for slot in slots {
            if let Err(e) = self.tick_one(&slot).await {
                tracing::warn!(space = %slot.id, error = %e, "tick failed for this Space");
            }
        }
        Ok(())
    }

    async fn tick_one(&self, slot: &Arc<Slot>) -> Result<(), Error> {
        let now = self.inner.clock.now();
        let (stage, serving_instance, sleeps_at) = {
            let m = slot.lock();
            (
                m.stage().clone(),
                m.serving.clone(),
                m.d.space.lifecycle().sleeps_at(),
            )
        };
        if !matches!(stage, Stage::Running | Stage::RunningBuilding) {
            return Ok(());
        }
        if let Some(inst) = serving_instance {
            if let InstanceState::Exited { code, .. } = self.inner.runtime.state(&inst.id).await? {
                let committed = self.commit(
                    slot,
                    Event::AppCrashed { exit_code: code },
                    Actor::Platform,
                    |m, d| {
                        let current = m.serving.as_ref() == Some(&inst);
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
        }
        if stage == Stage::Running && sleeps_at.is_some_and(|at| at <= now) {
            if let Ok((_, actions)) = self.apply(slot, Event::IdleTimeout, Actor::Platform) {
                self.run_actions(slot, actions).await?;
            }
        }
        Ok(())
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

    /// Stops every instance without changing any stage: what a supervisor does when it exits.
    /// The next supervisor over the same state folder finds the Spaces asleep.
    pub async fn shutdown(&self) -> Result<(), Error> {
        let slots: Vec<_> = self.spaces().values().cloned().collect();
        let mut first = Ok(());
        for slot in slots {
            let instances = {
                let mut m = slot.lock();
                m.start_gen += 1;
                m.build_gen += 1;
                m.take_instances()
            };
            for inst in instances {
                if let Err(e) = self.inner.runtime.stop(&inst.id).await {
                    if first.is_ok() {
                        first = Err(e);
                    }
                }
            }
        }
        self.deliver_quietly();
        first
    }
}
