//! The GPU allocator: whole GPUs of a flavor's model and count for one instance at a time,
//! persisted in the supervisor's SQLite file so that a restart never hands a GPU out twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{params, Connection, OpenFlags};
use serde::Serialize;
use spaces_core::{GpuModel, GpuSpec, SpaceId};

use super::device::{GpuDevice, GpuInventory, MigMode};
use crate::supervisor::store::{db_err, open_database, DB_FILE};
use crate::Error;

/// The name used in errors about GPUs.
pub(crate) const BACKEND: &str = "nvidia";

/// The assignments table, beside the supervisor's own tables in `supervisor.sqlite`. The UUID
/// is the primary key: the database itself refuses a GPU held twice.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS gpu_assignments (
    uuid TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    space TEXT NOT NULL,
    model TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS gpu_assignments_holder ON gpu_assignments (holder);";

/// One GPU held by one instance.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GpuLease {
    /// The GPU's UUID.
    pub uuid: String,
    /// Who holds it: the backend and its instance id (`local:<id>`, `docker:<container>`).
    pub holder: String,
    /// The Space the instance runs.
    pub space: SpaceId,
    /// The model it was handed out as.
    pub model: GpuModel,
}

/// What an instance was given: its GPUs, in index order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuAssignment {
    /// The holder (see [`GpuLease::holder`]).
    pub holder: String,
    /// The GPUs' UUIDs, in index order.
    pub uuids: Vec<String>,
}

impl GpuAssignment {
    /// The value of `CUDA_VISIBLE_DEVICES` and `NVIDIA_VISIBLE_DEVICES`: the UUIDs,
    /// comma-separated (CUDA and the NVIDIA container runtime both accept UUIDs).
    ///
    /// ```
    /// use spaces_runtime::nvidia::GpuAssignment;
    /// let a = GpuAssignment { holder: "local:x".into(), uuids: vec!["GPU-a".into(), "GPU-b".into()] };
    /// assert_eq!(a.visible_devices(), "GPU-a,GPU-b");
    /// ```
    pub fn visible_devices(&self) -> String {
        self.uuids.join(",")
    }
}

/// Hands out whole GPUs of an inventory (see the [module docs](super)).
#[derive(Debug)]
pub struct GpuAllocator {
    inventory: Arc<dyn GpuInventory>,
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// Whether `device` can serve `want` (model, nominal memory at least the flavor's, not split
/// by MIG).
pub(crate) fn fits(device: &GpuDevice, want: &GpuSpec) -> bool {
    device.model == want.model
        && device.memory_gb >= want.memory_gb
        && device.mig != MigMode::Enabled
}

impl GpuAllocator {
    /// Opens the assignments kept in `<state_dir>/supervisor.sqlite` (the supervisor's state
    /// folder; created when missing) over `inventory`, and reconciles them with it: the
    /// inventory must answer (else [`Error::Unavailable`]); GPUs that a process outside the
    /// assignments uses are logged and are not handed out while it does.
    pub fn open(state_dir: &Path, inventory: Arc<dyn GpuInventory>) -> Result<Self, Error> {
        let (path, conn) = open_database(state_dir)?;
        conn.execute_batch(SCHEMA)
            .map_err(db_err(&path, "preparing the GPU assignments table"))?;
        let allocator = Self {
            inventory,
            path,
            conn: Mutex::new(conn),
        };
        let devices = allocator.inventory.devices()?;
        let held: BTreeSet<String> = allocator.leases()?.into_iter().map(|l| l.uuid).collect();
        for d in &devices {
            if !held.contains(&d.uuid) && d.in_use_by_processes() {
                tracing::warn!(
                    gpu = %d.uuid,
                    index = d.index,
                    "GPU is used by a process no Space holds; it is not handed out while it is"
                );
            }
        }
        Ok(allocator)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The inventory.
    pub fn inventory(&self) -> &Arc<dyn GpuInventory> {
        &self.inventory
    }

    /// Gives `holder` (an instance of `space`) `want.count` whole GPUs of `want.model` with at
    /// least `want.memory_gb` each, among those that no one holds, that no unknown process uses
    /// and that are not in MIG mode (the smallest that fit first, then by index). Refused with
    /// [`Error::Unavailable`] naming what is free and who holds the rest when too few fit, and
    /// with [`Error::Conflict`] when `holder` already holds GPUs. Nothing is held after a
    /// refusal.
    pub fn assign(
        &self,
        space: &SpaceId,
        holder: &str,
        want: &GpuSpec,
    ) -> Result<GpuAssignment, Error> {
        let devices = self.inventory.devices()?;
        let mut conn = self.conn();
        let fail = db_err(&self.path, "assigning GPUs");
        let tx = conn
            .transaction()
            .map_err(db_err(&self.path, "assigning GPUs"))?;
        let held = read_leases(&tx).map_err(db_err(&self.path, "assigning GPUs"))?;
        if held.values().any(|l| l.holder == holder) {
            return Err(Error::Conflict {
                what: format!("{holder} ({space}) already holds GPUs; release them first"),
            });
        }
        let mut candidates: Vec<&GpuDevice> = devices
            .iter()
            .filter(|d| fits(d, want) && !held.contains_key(&d.uuid) && !d.in_use_by_processes())
            .collect();
        let count = usize::try_from(want.count).unwrap_or(usize::MAX);
        if candidates.len() < count {
            return Err(Error::Unavailable {
                backend: BACKEND,
                reason: refusal(space, want, &devices, &held, candidates.len()),
            });
        }
        candidates.sort_by_key(|d| (d.memory_gb, d.index));
        let mut chosen: Vec<&GpuDevice> = candidates.into_iter().take(count).collect();
        chosen.sort_by_key(|d| d.index);
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO gpu_assignments (uuid, holder, space, model) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(db_err(&self.path, "assigning GPUs"))?;
            for d in &chosen {
                insert
                    .execute(params![d.uuid, holder, space.as_str(), want.model.as_str()])
                    .map_err(db_err(&self.path, "assigning GPUs"))?;
            }
        }
        tx.commit().map_err(fail)?;
        Ok(GpuAssignment {
            holder: holder.to_owned(),
            uuids: chosen.iter().map(|d| d.uuid.clone()).collect(),
        })
    }

    /// Releases what `holder` holds and returns it (empty when it held nothing).
    pub fn release(&self, holder: &str) -> Result<Vec<GpuLease>, Error> {
        let mut conn = self.conn();
        let fail = db_err(&self.path, "releasing GPUs");
        let tx = conn
            .transaction()
            .map_err(db_err(&self.path, "releasing GPUs"))?;
        let released: Vec<GpuLease> = read_leases(&tx)
            .map_err(db_err(&self.path, "releasing GPUs"))?
            .into_values()
            .filter(|l| l.holder == holder)
            .collect();
        tx.execute(
            "DELETE FROM gpu_assignments WHERE holder = ?1",
            params![holder],
        )
        .map_err(db_err(&self.path, "releasing GPUs"))?;
        tx.commit().map_err(fail)?;
        Ok(released)
    }

    /// Releases what holders whose name starts with `prefix` hold, except those in `live`
    /// (instances that still exist); returns what was released. A backend calls it when it
    /// opens and whenever it learns instances are gone.
    pub fn release_all_but(
        &self,
        prefix: &str,
        live: &BTreeSet<String>,
    ) -> Result<Vec<GpuLease>, Error> {
        let stale: BTreeSet<String> = self
            .leases()?
            .into_iter()
            .filter(|l| l.holder.starts_with(prefix) && !live.contains(&l.holder))
            .map(|l| l.holder)
            .collect();
        let mut out = Vec::new();
        for holder in stale {
            out.extend(self.release(&holder)?);
        }
        Ok(out)
    }

    /// Every lease, by UUID.
    pub fn leases(&self) -> Result<Vec<GpuLease>, Error> {
        read_leases(&self.conn())
            .map(|m| m.into_values().collect())
            .map_err(db_err(&self.path, "reading GPU assignments"))
    }
}

/// The leases in `<state_dir>/supervisor.sqlite`, read without changing anything (no file, or
/// no table yet: none). For tools such as `spaces gpus`.
pub fn read_leases_at(state_dir: &Path) -> Result<Vec<GpuLease>, Error> {
    let path = state_dir.join(DB_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(db_err(&path, "opening read-only"))?;
    let exists: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='gpu_assignments'",
            [],
            |r| r.get(0),
        )
        .map_err(db_err(&path, "reading GPU assignments"))?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    read_leases(&conn)
        .map(|m| m.into_values().collect())
        .map_err(db_err(&path, "reading GPU assignments"))
}

fn read_leases(conn: &Connection) -> rusqlite::Result<BTreeMap<String, GpuLease>> {
    let mut stmt = conn
        .prepare_cached("SELECT uuid, holder, space, model FROM gpu_assignments ORDER BY uuid")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (uuid, holder, space, model) = row?;
        let space: SpaceId = space.parse().map_err(|e: spaces_core::Error| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                Box::new(std::io::Error::other(e.to_string())),
            )
        })?;
        out.insert(
            uuid.clone(),
            GpuLease {
                uuid,
                holder,
                space,
                model: GpuModel::from_name(&model),
            },
        );
    }
    Ok(out)
}

/// Why `want` was refused: how many fit and are free, who holds the others of the model.
fn refusal(
    space: &SpaceId,
    want: &GpuSpec,
    devices: &[GpuDevice],
    held: &BTreeMap<String, GpuLease>,
    free: usize,
) -> String {
    let of_model: Vec<&GpuDevice> = devices.iter().filter(|d| fits(d, want)).collect();
    let mut busy = Vec::new();
    for d in &of_model {
        if let Some(l) = held.get(&d.uuid) {
            busy.push(format!(
                "GPU {} ({}) held by {}",
                d.index,
                short(&d.uuid),
                l.space
            ));
        } else if d.in_use_by_processes() {
            busy.push(format!(
                "GPU {} ({}) used by a process no Space holds",
                d.index,
                short(&d.uuid)
            ));
        }
    }
    let mut reason = format!(
        "{space} asks for {}x {} ({} GB): {free} of the {} such GPUs on this machine are free",
        want.count,
        want.model,
        want.memory_gb,
        of_model.len()
    );
    if !busy.is_empty() {
        reason.push_str(&format!(" ({})", busy.join("; ")));
    }
    reason
}

/// A UUID's first characters, for messages and tables.
pub(crate) fn short(uuid: &str) -> &str {
    uuid.get(..12).unwrap_or(uuid)
}
