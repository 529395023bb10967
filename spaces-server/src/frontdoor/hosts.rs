//! [`HostTable`]: which Space a host name (`<subdomain>.<domain>`) is, and the other way round.
//!
//! A Space's subdomain is [`SpaceId::subdomain`] (`alice/My_App` → `alice-my-app`), the Hub's
//! `*.hf.space` form. That form is not injective: `alice/my-app`, `alice-my/app` and
//! `alice/My_App` all give `alice-my-app`. Two Spaces never share a host: the first one seen
//! keeps the plain subdomain, a later one gets `<subdomain>-<8 hex digits of the SHA-256 of its
//! id>` (longer, or numbered, in the unlikely case that is taken too). At start every Space is
//! assigned in creation order (then by id), so a restart gives the same hosts as long as the
//! earlier Space of a colliding pair still exists; Spaces created later are assigned when first
//! met, in the same order. The runtime's `domains` field and the info's `host` report the
//! assigned host.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use spaces_core::{SpaceId, Timestamp};

/// How often, at most, a host nobody holds makes the table look for new Spaces.
const RESCAN_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Maps {
    by_host: HashMap<String, SpaceId>,
    by_id: HashMap<SpaceId, String>,
    scanned_len: usize,
    scanned_at: Option<Instant>,
}

/// Subdomain ↔ Space id, injective. Cheap to read (one `RwLock` read).
#[derive(Debug, Default)]
pub struct HostTable {
    maps: RwLock<Maps>,
}

impl Maps {
    fn assign(&mut self, id: &SpaceId) -> String {
        if let Some(s) = self.by_id.get(id) {
            return s.clone();
        }
        let plain = id.subdomain();
        let mut candidate = plain.clone();
        if self.by_host.contains_key(&candidate) {
            let digest = Sha256::digest(id.as_str().as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            candidate = format!("{plain}-{}", &hex[..8]);
            let mut n = 2u32;
            while self.by_host.contains_key(&candidate) {
                candidate = format!("{plain}-{}-{n}", &hex[..8]);
                n += 1;
            }
        }
        self.by_host.insert(candidate.clone(), id.clone());
        self.by_id.insert(id.clone(), candidate.clone());
        candidate
    }
}

impl HostTable {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Assigns every Space not assigned yet, in creation order, then by id.
    pub fn assign_all(&self, spaces: impl IntoIterator<Item = (SpaceId, Timestamp)>) {
        let mut all: Vec<(Timestamp, SpaceId)> = spaces.into_iter().map(|(i, t)| (t, i)).collect();
        all.sort();
        let mut m = self.write();
        m.scanned_len = all.len();
        m.scanned_at = Some(Instant::now());
        for (_, id) in all {
            m.assign(&id);
        }
    }

    /// The Space's subdomain (assigned now if it had none).
    pub fn subdomain(&self, id: &SpaceId) -> String {
        if let Some(s) = self.read().by_id.get(id) {
            return s.clone();
        }
        self.write().assign(id)
    }

    /// The Space a subdomain is, if assigned.
    pub fn lookup(&self, subdomain: &str) -> Option<SpaceId> {
        self.read().by_host.get(subdomain).cloned()
    }

    /// Whether a rescan is due for a host nobody holds: the number of Spaces changed, or the
    /// last scan is older than a second.
    pub fn rescan_due(&self, spaces_now: usize) -> bool {
        let m = self.read();
        m.scanned_len != spaces_now || m.scanned_at.is_none_or(|t| t.elapsed() >= RESCAN_EVERY)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn id(s: &str) -> SpaceId {
        SpaceId::new(s).unwrap()
    }

    #[test]
    fn colliding_ids_get_distinct_hosts_in_creation_order() {
        let t = HostTable::default();
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let t1: Timestamp = "2026-01-02T00:00:00Z".parse().unwrap();
        t.assign_all([(id("alice-my/app"), t1), (id("alice/my-app"), t0)]);
        assert_eq!(t.subdomain(&id("alice/my-app")), "alice-my-app");
        let second = t.subdomain(&id("alice-my/app"));
        assert_ne!(second, "alice-my-app");
        assert!(second.starts_with("alice-my-app-"), "{second}");
        let third = t.subdomain(&id("alice/My_App"));
        assert!(third != second && third != "alice-my-app", "{third}");
        assert_eq!(t.lookup("alice-my-app"), Some(id("alice/my-app")));
        assert_eq!(t.lookup(&second), Some(id("alice-my/app")));
        assert_eq!(t.lookup(&third), Some(id("alice/My_App")));
        assert_eq!(t.lookup("nobody"), None);
    }
}
