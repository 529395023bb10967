//! A set that remembers only its most recent entries: what the runtime keeps of the instances it
//! stopped, so that its memory does not grow with every start over the process's life.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

/// How many stopped instances a [`DockerRuntime`](super::DockerRuntime) remembers.
pub const STOPPED_REMEMBERED: usize = 4096;

/// The last `capacity` distinct values inserted; the oldest is forgotten first.
#[derive(Debug)]
pub(crate) struct RecentSet<T> {
    capacity: usize,
    order: VecDeque<T>,
    members: HashSet<T>,
}

impl<T: Clone + Eq + Hash> RecentSet<T> {
    /// An empty set that holds at most `capacity` values (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            members: HashSet::new(),
        }
    }

    /// Remembers `value`, forgetting the oldest value when full.
    pub(crate) fn insert(&mut self, value: T) {
        if !self.members.insert(value.clone()) {
            return;
        }
        self.order.push_back(value);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.members.remove(&old);
            }
        }
    }

    /// Whether `value` is remembered.
    pub(crate) fn contains(&self, value: &T) -> bool {
        self.members.contains(value)
    }

    /// How many values are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_only_the_most_recent_values() {
        let mut set = RecentSet::new(STOPPED_REMEMBERED);
        for i in 0..STOPPED_REMEMBERED * 3 {
            set.insert(i);
            set.insert(i); // twice: counted once
        }
        assert_eq!(set.len(), STOPPED_REMEMBERED);
        assert_eq!(set.members.len(), STOPPED_REMEMBERED);
        assert!(set.contains(&(STOPPED_REMEMBERED * 3 - 1)));
        assert!(set.contains(&(STOPPED_REMEMBERED * 2)));
        assert!(!set.contains(&(STOPPED_REMEMBERED * 2 - 1)));
        assert!(!set.contains(&0));
    }
}
