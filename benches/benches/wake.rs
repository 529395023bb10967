//! Waking a sleeping static Space on the local runtime: from the visit to the first HTTP 200.
//!
//! Baseline in the same run: a cold start from nothing (build the revision, start an instance,
//! wait for health), which is what a platform without sleep/wake would do for every idle Space.
//!
//! `cargo bench -p spaces-benches --bench wake`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use spaces_core::{
    AppEnvironment, Catalog, ManualClock, Revision, Sdk, SpaceId, Stage, Timestamp, Visibility,
};
use spaces_runtime::supervisor::{MemorySink, PushSettings, Supervisor};
use spaces_runtime::{wait_healthy, BuildRequest, InstanceSpec, LocalRuntime, Runtime};

fn wake(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("index.html"), "<h1>hello</h1>").unwrap();
    let runtime = Arc::new(LocalRuntime::new(dir.path().join("rt")).unwrap());
    let clock = Arc::new(ManualClock::new(Timestamp::constant(1_793_610_000, 0)));
    let sup = rt
        .block_on(Supervisor::open(
            &dir.path().join("state"),
            runtime.clone(),
            clock.clone(),
            Catalog::seed(),
            Arc::new(MemorySink::new()),
        ))
        .unwrap();
    let id: SpaceId = "bench/site".parse().unwrap();
    sup.create(id.clone(), Sdk::Static, Visibility::Public)
        .unwrap();
    rt.block_on(sup.push(
        &id,
        &site,
        Revision::new("abcd").unwrap(),
        PushSettings::default(),
    ))
    .unwrap();

    let mut group = c.benchmark_group("wake_static_space");
    group.sample_size(30);
    group.bench_function("visit_wakes_sleeping_space", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                clock.advance(Duration::from_secs(48 * 3600));
                rt.block_on(sup.tick()).unwrap();
                assert_eq!(sup.status(&id).unwrap().stage, Stage::Sleeping);
                let began = Instant::now();
                let visit = rt.block_on(sup.visit(&id)).unwrap();
                total += began.elapsed();
                assert_eq!(visit.stage, Stage::Running);
            }
            total
        })
    });
    group.bench_function("baseline_build_and_start_from_nothing", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let began = Instant::now();
                rt.block_on(async {
                    let built = runtime
                        .build(BuildRequest {
                            space: id.clone(),
                            revision: Revision::new("beef").unwrap(),
                            sdk: Sdk::Static,
                            source: site.clone(),
                            app_file: Sdk::Static.default_app_path(),
                            no_cache: true,
                        })
                        .await
                        .unwrap();
                    let inst = runtime
                        .start(InstanceSpec {
                            image: built.image.clone(),
                            env: AppEnvironment::default(),
                            hardware: None,
                            app_port: 7860,
                            volume: None,
                        })
                        .await
                        .unwrap();
                    wait_healthy(runtime.as_ref(), &inst, Duration::from_secs(5))
                        .await
                        .unwrap();
                    total += began.elapsed();
                    runtime.stop(&inst.id).await.unwrap();
                    runtime.remove_image(&built.image).await.unwrap();
                });
            }
            total
        })
    });
    group.finish();
    rt.block_on(sup.shutdown()).unwrap();
}

criterion_group!(benches, wake);
criterion_main!(benches);
