//! Model matching over the names NVML reports for real cards (NVIDIA's published product names,
//! as `nvidia-smi --query-gpu=name` prints them) with the memory NVML reports for them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use spaces_core::GpuModel;
use spaces_runtime::nvidia::{match_model, normalise_name};

const MIB: u64 = 1 << 20;

fn other(s: &str) -> GpuModel {
    GpuModel::Other(s.into())
}

#[test]
fn real_nvml_names_match_their_catalog_models() {
    let cases: &[(&str, u64, GpuModel, u32)] = &[
        ("Tesla T4", 15_360, GpuModel::T4, 16),
        ("NVIDIA A10G", 23_028, GpuModel::A10G, 24),
        ("NVIDIA A100-SXM4-40GB", 40_960, GpuModel::A100, 40),
        ("NVIDIA A100-SXM4-80GB", 81_920, GpuModel::A100, 80),
        ("NVIDIA A100-PCIE-40GB", 40_960, GpuModel::A100, 40),
        ("NVIDIA A100 80GB PCIe", 81_920, GpuModel::A100, 80),
        ("NVIDIA L4", 23_034, GpuModel::L4, 24),
        ("NVIDIA L40S", 46_068, GpuModel::L40S, 48),
        ("NVIDIA H100 80GB HBM3", 81_559, GpuModel::H100, 80),
        ("NVIDIA H100 PCIe", 81_559, GpuModel::H100, 80),
        ("NVIDIA H100 NVL", 95_830, GpuModel::H100, 94),
        ("NVIDIA H200", 143_771, other("H200"), 141),
        ("NVIDIA H200 NVL", 143_771, other("H200"), 141),
        ("Tesla V100-SXM2-16GB", 16_384, other("V100"), 16),
        ("Tesla V100-SXM2-32GB", 32_768, other("V100"), 32),
        // Near names that are other cards: never taken for the catalog model.
        ("NVIDIA A10", 23_028, other("A10"), 24),
        ("NVIDIA L40", 46_068, other("L40"), 48),
        // Unknown names stay their own model, memory in whole GiB.
        ("NVIDIA GeForce RTX 4090", 24_564, other("RTX 4090"), 24),
        ("NVIDIA RTX A6000", 49_140, other("RTX A6000"), 48),
        ("Quadro RTX 8000", 46_080, other("RTX 8000"), 45),
    ];
    for (name, mib, model, gb) in cases {
        let m = match_model(name, mib * MIB);
        assert_eq!((&m.model, m.memory_gb), (model, *gb), "{name}");
    }
}

#[test]
fn matching_ignores_case_spacing_and_brand_words() {
    assert_eq!(normalise_name("nvidia  a100-sxm4-80gb"), "A100 SXM4 80GB");
    assert_eq!(match_model("tesla t4", 15_360 * MIB).model, GpuModel::T4);
    assert_eq!(
        match_model("  NVIDIA   L4 ", 23_034 * MIB).model,
        GpuModel::L4
    );
}

#[test]
fn the_catalog_models_of_the_seed_are_all_matched() {
    // Every GPU model of the seed catalog has a row: a seed flavor can be served.
    for hw in spaces_core::Catalog::seed().hardware() {
        if let Some(gpu) = &hw.gpu {
            assert!(
                spaces_runtime::nvidia::models::MODEL_TABLE
                    .iter()
                    .any(|r| r.model == gpu.model.as_str() && r.memory_gb.contains(&gpu.memory_gb)),
                "{} ({} GB) has no row",
                gpu.model,
                gpu.memory_gb
            );
        }
    }
}

#[test]
fn empty_or_odd_names_never_panic() {
    for name in ["", " ", "NVIDIA", "-", "Tesla -", "\u{1F600}"] {
        let _ = match_model(name, 0);
        let _ = match_model(name, u64::MAX);
    }
}
