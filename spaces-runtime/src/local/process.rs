//! The processes of Python Spaces.
//!
//! Every app is started as the leader of its own process group (`process_group(0)`), so that a
//! stop reaches whatever it forked: SIGTERM to the whole group, a short grace, then SIGKILL to
//! what is left. A process is named by its pid *and* its start time (`/proc/<pid>/stat` field 22,
//! clock ticks after boot), so that a pid the kernel handed to another process is never taken
//! for the app it once was.
//!
//! Signals to a group are only sent while its id cannot belong to anyone else: for this
//! process's own children the leader is never reaped before the group is killed (its state is
//! read with a non-reaping `waitid(WNOWAIT)`, so even an exited leader keeps the id reserved as a
//! zombie); for an app left by an earlier process the leader must still carry its recorded start
//! time, or the group must still have live members (a group id is not reused while any member
//! lives). Without `/proc` (not Linux) start times are unknown and liveness falls back to
//! `kill(pid, 0)`.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use serde::{Deserialize, Serialize};
use tokio::process::Child;

/// How long an app gets to exit after SIGTERM before its group gets SIGKILL.
pub(crate) const TERM_GRACE: Duration = Duration::from_secs(3);

/// How long a group gets to vanish after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How often a dying group is looked at.
const POLL: Duration = Duration::from_millis(20);

/// A process named by pid and start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProcessRef {
    /// The pid.
    pub pid: i32,
    /// Its start time (clock ticks after boot), `None` where `/proc` cannot tell.
    pub start_time: Option<u64>,
}

/// The fields of `/proc/<pid>/stat` used here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stat {
    /// Field 3: `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    state: char,
    /// Field 5: the process group.
    pgrp: i32,
    /// Field 22: the start time, in clock ticks after boot.
    start_time: u64,
}

impl Stat {
    /// Whether the process still runs (a zombie or a dead entry does not).
    fn is_live(&self) -> bool {
        !matches!(self.state, 'Z' | 'X' | 'x')
    }
}

/// Parses the text of `/proc/<pid>/stat`. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from its last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = text.get(text.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?; // field 3
    let _ppid = fields.next()?; // field 4
    let pgrp = fields.next()?.parse().ok()?; // field 5
    let start_time = fields.nth(16)?.parse().ok()?; // fields 6..=21 skipped, then 22
    Some(Stat {
        state,
        pgrp,
        start_time,
    })
}

fn read_stat(pid: i32) -> Option<Stat> {
    if pid <= 0 {
        return None;
    }
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// A pid as rustix takes it; `None` for 0 and negative numbers (which name groups or "every
/// process" to `kill`, and which rustix refuses with a panic).
fn positive(raw: i32) -> Option<Pid> {
    if raw > 0 {
        Pid::from_raw(raw)
    } else {
        None
    }
}

/// `kill(pid, 0)`-style existence: `Ok` and `EPERM` both mean something has that id.
fn exists(result: rustix::io::Result<()>) -> bool {
    matches!(result, Ok(()) | Err(rustix::io::Errno::PERM))
}

impl ProcessRef {
    /// The process `pid`, with its start time read now.
    pub(crate) fn of(pid: i32) -> Self {
        Self {
            pid,
            start_time: read_stat(pid).map(|s| s.start_time),
        }
    }

    /// This process.
    pub(crate) fn current() -> Self {
        static CURRENT: OnceLock<ProcessRef> = OnceLock::new();
        *CURRENT.get_or_init(|| {
            // The pid of a running process always fits an i32 (Linux caps it at 2^22).
            let pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
            ProcessRef::of(pid)
        })
    }

    /// Whether this process still runs (not exited, not a zombie, not replaced by another process
    /// that got the same pid).
    pub(crate) fn is_alive(&self) -> bool {
        match self.start_time {
            Some(t) => read_stat(self.pid).is_some_and(|s| s.start_time == t && s.is_live()),
            None => positive(self.pid)
                .is_some_and(|pid| exists(rustix::process::test_kill_process(pid))),
        }
    }

    /// Whether the pid still names this process, running or a zombie not yet reaped (then its id
    /// cannot have been given to anyone else).
    fn still_holds_its_pid(&self) -> bool {
        match self.start_time {
            Some(t) => read_stat(self.pid).is_some_and(|s| s.start_time == t),
            None => false,
        }
    }
}

/// Whether a live process is in group `pgid`.
fn group_is_alive(pgid: i32) -> bool {
    match std::fs::read_dir("/proc") {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(read_stat)
            .any(|s| s.pgrp == pgid && s.is_live()),
        Err(_) => {
            positive(pgid).is_some_and(|pid| exists(rustix::process::test_kill_process_group(pid)))
        }
    }
}

/// Sends `signal` to group `pgid`. Refuses the groups whose signal would hit more than one app:
/// ids below 2 (`kill(-1)` is every process) and this process's own group. A group that is gone
/// is not an error.
fn signal_group(pgid: i32, signal: Signal) -> io::Result<()> {
    let own = rustix::process::getpgrp().as_raw_nonzero().get();
    let pid = positive(pgid)
        .filter(|_| pgid > 1 && pgid != own)
        .ok_or_else(|| io::Error::other(format!("refusing to signal process group {pgid}")))?;
    match rustix::process::kill_process_group(pid, signal) {
        Err(e) if e == rustix::io::Errno::SRCH => Ok(()),
        other => other.map_err(io::Error::from),
    }
}

async fn wait_until_gone(pgid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !group_is_alive(pgid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// SIGTERM to group `pgid`, [`TERM_GRACE`] to exit, then SIGKILL to what is left. Only call it
/// while the group id is known to be the app's (see the module docs).
async fn terminate_group(pgid: i32) -> io::Result<()> {
    if !group_is_alive(pgid) {
        return Ok(());
    }
    signal_group(pgid, Signal::TERM)?;
    if wait_until_gone(pgid, TERM_GRACE).await {
        return Ok(());
    }
    signal_group(pgid, Signal::KILL)?;
    if wait_until_gone(pgid, KILL_WAIT).await {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "process group {pgid} still runs after SIGKILL"
        )))
    }
}

/// Stops the process group of an app that an earlier process started (the group is led by
/// `app`). Nothing is signalled when the leader is gone and its group has no live member: its
/// id may belong to someone else by now.
pub(crate) async fn terminate_recorded(app: ProcessRef, pgid: i32) -> io::Result<()> {
    if app.still_holds_its_pid() || group_is_alive(pgid) {
        terminate_group(pgid).await
    } else {
        Ok(())
    }
}

/// Stops the apps working in `dir`, an instance folder whose record names no app: the process
/// that started them was killed between the spawn and the record. They are found by their working
/// folder, and each one's whole group is stopped (an app leads its own group).
pub(crate) async fn terminate_working_in(dir: &Path) -> io::Result<()> {
    let own = rustix::process::getpgrp().as_raw_nonzero().get();
    let mut groups: Vec<i32> = match std::fs::read_dir("/proc") {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(dir))
            })
            .filter_map(read_stat)
            .filter(|s| s.is_live() && s.pgrp > 1 && s.pgrp != own)
            .map(|s| s.pgrp)
            .collect(),
        Err(_) => Vec::new(),
    };
    groups.sort_unstable();
    groups.dedup();
    for pgid in groups {
        terminate_group(pgid).await?;
    }
    Ok(())
}

/// An app this process started: the leader of its own process group, never reaped before its
/// group is killed. An app forked by a fork server (`forked`) is not this process's child: it is
/// followed by pid and start time, like an app left by an earlier process.
#[derive(Debug)]
pub(crate) struct AppProcess {
    /// `None` for an app forked by a fork server.
    child: tokio::sync::Mutex<Option<Child>>,
    /// Forked by a fork server (not this process's child).
    forked: bool,
    /// The leader's pid, which is also the group's id.
    pid: i32,
    /// The leader's start time, read right after the spawn.
    start_time: Option<u64>,
    /// The leader was reaped (after a stop): its pid may be reused, never signal it again.
    reaped: AtomicBool,
}

impl AppProcess {
    /// Takes a child spawned with `process_group(0)`.
    pub(crate) fn new(child: Child) -> io::Result<Self> {
        let pid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .ok_or_else(|| io::Error::other("the app exited before its pid was read"))?;
        Ok(Self {
            child: tokio::sync::Mutex::new(Some(child)),
            forked: false,
            pid,
            start_time: ProcessRef::of(pid).start_time,
            reaped: AtomicBool::new(false),
        })
    }

    /// An app forked by a fork server: `pid` leads its own session and process group.
    pub(crate) fn forked(pid: i32) -> io::Result<Self> {
        let start_time = ProcessRef::of(pid).start_time;
        if start_time.is_none() && !ProcessRef::of(pid).is_alive() {
            return Err(io::Error::other(format!(
                "forked app {pid} is already gone"
            )));
        }
        Ok(Self {
            child: tokio::sync::Mutex::new(None),
            forked: true,
            pid,
            start_time,
            reaped: AtomicBool::new(false),
        })
    }

    fn is_forked(&self) -> bool {
        self.forked
    }

    fn as_ref(&self) -> ProcessRef {
        ProcessRef {
            pid: self.pid,
            start_time: self.start_time,
        }
    }

    /// The leader's pid (also its process group's id).
    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }

    /// The leader's start time (`None` where `/proc` cannot tell).
    pub(crate) fn start_time(&self) -> Option<u64> {
        self.start_time
    }

    /// `None` while the app runs; `Some(code)` once it exited (`Some(None)`: killed by a signal).
    /// Does not reap it.
    pub(crate) fn exit_status(&self) -> io::Result<Option<Option<i32>>> {
        if self.reaped.load(Ordering::SeqCst) {
            return Ok(Some(None));
        }
        if self.is_forked() {
            // Reaped by its fork server: gone once its pid no longer names it (code unknown).
            return Ok((!self.as_ref().is_alive()).then_some(None));
        }
        let pid = positive(self.pid).ok_or_else(|| io::Error::other("pid 0"))?;
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match rustix::process::waitid(WaitId::Pid(pid), options) {
            Ok(None) => Ok(None),
            Ok(Some(status)) => Ok(Some(status.exit_status())),
            // Reaped elsewhere: it is gone, its code unknown.
            Err(e) if e == rustix::io::Errno::CHILD => Ok(Some(None)),
            Err(e) => Err(e.into()),
        }
    }

    /// Stops the whole group (SIGTERM, grace, SIGKILL), then reaps the leader.
    pub(crate) async fn stop(&self) -> io::Result<()> {
        let mut guard = self.child.lock().await;
        if self.reaped.load(Ordering::SeqCst) {
            return Ok(());
        }
        let Some(child) = guard.as_mut() else {
            terminate_recorded(self.as_ref(), self.pid).await?;
            self.reaped.store(true, Ordering::SeqCst);
            return Ok(());
        };
        let group = terminate_group(self.pid).await;
        if group.is_err() {
            let _ = child.start_kill();
        }
        let reaped = tokio::time::timeout(KILL_WAIT, child.wait()).await;
        if matches!(reaped, Ok(Ok(_))) {
            self.reaped.store(true, Ordering::SeqCst);
        }
        group?;
        match reaped {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::other(format!(
                "pid {} was not reaped after SIGKILL",
                self.pid
            ))),
        }
    }
}

impl Drop for AppProcess {
    /// A runtime dropped without stopping its apps kills their groups (the leader is unreaped, so
    /// the group id is still theirs); the child's `kill_on_drop` then has it reaped.
    fn drop(&mut self) {
        if self.reaped.load(Ordering::SeqCst) {
            return;
        }
        let owned =
            !self.is_forked() || self.as_ref().still_holds_its_pid() || group_is_alive(self.pid);
        if owned {
            let _ = signal_group(self.pid, Signal::KILL);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let text =
            "4242 (we ird) (name) S 1 4240 4240 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 987654 \
                    1000 10 18446744073709551615";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                state: 'S',
                pgrp: 4240,
                start_time: 987654
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_not() {
        let me = ProcessRef::current();
        assert!(me.is_alive());
        if let Some(t) = me.start_time {
            let reused = ProcessRef {
                pid: me.pid,
                start_time: Some(t + 1),
            };
            assert!(!reused.is_alive(), "a reused pid must not count as alive");
        }
    }

    #[test]
    fn signals_never_reach_every_process_or_our_own_group() {
        assert!(signal_group(1, Signal::TERM).is_err());
        assert!(signal_group(0, Signal::TERM).is_err());
        assert!(signal_group(-1, Signal::TERM).is_err());
        let own = rustix::process::getpgrp().as_raw_nonzero().get();
        assert!(signal_group(own, Signal::TERM).is_err());
    }
}
