//! Delivery of the outbox to the [`UsageSink`](super::UsageSink): oldest first, at least once.
//!
//! Events are handed to the sink in the order they were committed and removed from the outbox
//! once the sink took them. A crash between the two delivers them again: their ids let the sink
//! (the ledger) apply each once. A sink error stops the delivery; what is left is retried after
//! the next change, by [`Supervisor::tick`] and at the next open.

use super::Supervisor;
use crate::Error;

/// Events read from the outbox at a time.
const BATCH: usize = 512;

impl Supervisor {
    /// Hands every undelivered usage event to the sink, in order. Returns how many were handed
    /// over. On a sink error the events not yet taken stay in the outbox for a later delivery.
    pub fn deliver_usage(&self) -> Result<usize, Error> {
        let _turn = self
            .inner
            .delivering
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let store = &self.inner.store;
        let mut delivered = 0;
        loop {
            let batch = store.pending(BATCH)?;
            if batch.is_empty() {
                return Ok(delivered);
            }
            let mut last = None;
            let mut failed = None;
            for (seq, event) in &batch {
                if let Err(e) = self.inner.sink.record(event) {
                    failed = Some(e);
                    break;
                }
                last = Some(*seq);
                delivered += 1;
            }
            if let Some(last) = last {
                store.mark_delivered(last)?;
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
    }

    /// How many usage events wait for the sink.
    pub fn pending_usage(&self) -> Result<u64, Error> {
        self.inner.store.pending_count()
    }

    /// Delivers, logging a failure instead of returning it: the change is committed either way.
    pub(crate) fn deliver_quietly(&self) {
        if let Err(e) = self.deliver_usage() {
            tracing::warn!(error = %e, "usage events wait in the outbox: the sink refused them");
        }
    }
}
