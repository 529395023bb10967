//! NVIDIA GPUs: the inventory, model matching, the allocator and the `spaces gpus` report.
//!
//! - [`GpuInventory`]: where a machine's GPUs are learnt from. `NvmlInventory` (feature
//!   `nvidia`) reads NVML, loaded at run time (no driver: [`Error::Unavailable`](crate::Error)
//!   with the load error, never a silent CPU fallback); [`FakeInventory`] is a test double.
//! - [`match_model`]: an NVML name and memory to the catalog's [`GpuModel`](spaces_core::GpuModel)
//!   (the table is in [`models`]).
//! - [`GpuAllocator`]: whole GPUs for one instance at a time, leases kept in the supervisor's
//!   `supervisor.sqlite` (table `gpu_assignments`, UUID as key: never two holders) so that a
//!   restart finds them; a GPU that a process outside the leases uses is not handed out. The
//!   local runtime takes one through [`LocalRuntime::with_gpus`](crate::LocalRuntime::with_gpus)
//!   and gives the app `CUDA_VISIBLE_DEVICES`/`NVIDIA_VISIBLE_DEVICES` by UUID.
//! - [`GpuReport`]: the inventory and its leases as a table or JSON.
//!
//! ```
//! use std::sync::Arc;
//! use spaces_core::{Catalog, Flavor};
//! use spaces_runtime::nvidia::{FakeInventory, GpuAllocator};
//!
//! let state = tempfile::tempdir()?;
//! let inventory = Arc::new(FakeInventory::of(&[("Tesla T4", 15)]));
//! let gpus = GpuAllocator::open(state.path(), inventory)?;
//! let t4 = Catalog::seed().flavor(&Flavor::T4Small).unwrap().gpu.clone().unwrap();
//! let a = gpus.assign(&"alice/one".parse()?, "local:1", &t4)?;
//! assert_eq!(a.uuids, ["GPU-fake-0"]);
//! assert!(gpus.assign(&"bob/two".parse()?, "local:2", &t4).is_err()); // no GPU twice
//! assert_eq!(gpus.release("local:1")?.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod allocator;
mod device;
pub mod models;
#[cfg(feature = "nvidia")]
mod nvml;
mod report;

pub use allocator::{read_leases_at, GpuAllocator, GpuAssignment, GpuLease};
pub use device::{FakeInventory, GpuDevice, GpuInventory, GpuProcess, MigMode};
pub use models::{match_model, normalise_name, MatchedModel};
#[cfg(feature = "nvidia")]
pub use nvml::NvmlInventory;
pub use report::{GpuReport, GpuReportRow, GpuUse};
