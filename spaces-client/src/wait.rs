//! Waiting for a Space: [`Client::wait_for`] polls `GET .../runtime` with backoff until a
//! predicate holds, a terminal stage says it never will, or time runs out.

use std::time::{Duration, Instant};

use spaces_core::{SpaceId, Stage};

use crate::client::Client;
use crate::error::Error;
use crate::runtime::SpaceRuntime;

/// The first delay between polls; it grows by half each poll up to [`MAX_POLL`].
pub const FIRST_POLL: Duration = Duration::from_millis(250);
/// The longest delay between polls.
pub const MAX_POLL: Duration = Duration::from_secs(5);

impl Client {
    /// Polls the runtime until `done` holds (answering that runtime). A terminal stage (not
    /// `BUILDING`, `RUNNING_BUILDING`, `APP_STARTING`, `RUNNING_APP_STARTING`) where `done` does
    /// not hold ends with [`Error::Stage`] and the runtime's `errorMessage`; after `timeout`,
    /// [`Error::WaitTimeout`].
    ///
    /// Right after a change (a commit, a restart) the runtime may still show the stage before
    /// it; a terminal stage is only final once the Space has been seen in an intermediate
    /// stage, or after the first few polls.
    pub async fn wait_for(
        &self,
        id: &SpaceId,
        done: impl Fn(&SpaceRuntime) -> bool,
        timeout: Duration,
    ) -> Result<SpaceRuntime, Error> {
        self.wait_for_with(id, done, timeout, |_| {}).await
    }

    /// [`Client::wait_for`], calling `on_poll` with every runtime seen (progress display).
    pub async fn wait_for_with(
        &self,
        id: &SpaceId,
        done: impl Fn(&SpaceRuntime) -> bool,
        timeout: Duration,
        mut on_poll: impl FnMut(&SpaceRuntime),
    ) -> Result<SpaceRuntime, Error> {
        let start = Instant::now();
        let mut delay = FIRST_POLL;
        let mut polls = 0u32;
        let mut moved = false;
        loop {
            let rt = self.runtime(id).await?;
            polls += 1;
            on_poll(&rt);
            if done(&rt) {
                return Ok(rt);
            }
            if rt.is_intermediate() {
                moved = true;
            } else if moved || polls >= 3 {
                return Err(Error::Stage {
                    id: id.clone(),
                    stage: rt.stage.clone(),
                    message: rt.error_message.clone(),
                });
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(Error::WaitTimeout {
                    id: id.clone(),
                    stage: rt.stage,
                    waited,
                });
            }
            tokio::time::sleep(delay.min(timeout.saturating_sub(waited))).await;
            delay = (delay + delay / 2).min(MAX_POLL);
        }
    }

    /// Waits until the Space serves (`RUNNING`).
    pub async fn wait_running(
        &self,
        id: &SpaceId,
        timeout: Duration,
    ) -> Result<SpaceRuntime, Error> {
        self.wait_for(id, |rt| rt.stage == Stage::Running, timeout)
            .await
    }
}
