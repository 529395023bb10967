//! The conformance suite every [`Runtime`] backend must pass.
//!
//! Each check is a `pub async fn` taking `&dyn Runtime` and the backend's [`Fixtures`] (the test
//! Spaces written in the form the backend runs: Python files for the local runtime, a `Dockerfile`
//! for Docker). [`run_all`] runs every check. Compiled under `cfg(test)` and with the
//! `conformance` feature, for backends outside this crate.
//!
//! The serving fixture is the contract that makes the checks backend-independent: at start it
//! looks for a marker in its persistent storage and one on its ephemeral disk, creates both, prints
//! `hello from the app` on stdout, and answers `GET /` with 200 and the body
//! `persistent=yes|no ephemeral=yes|no`.

use std::path::Path;
use std::time::Duration;

use spaces_core::{
    Actor, AppEnvironment, Catalog, Event, RepoCheck, Revision, Sdk, Secret, Space, SpaceId,
    Timestamp, Visibility,
};

use crate::health::{http_get, wait_healthy};
use crate::runtime::{
    BuildRequest, Image, Instance, InstanceSpec, InstanceState, LogSource, Runtime, VolumeSpec,
};
use crate::Error;

/// The secret value the checks hand to apps and then look for in runtime-produced logs.
pub const CANARY_SECRET: &str = "conformance-canary-secret-7f3a9c";

/// A test Space written by [`Fixtures`]: how to build and run it.
#[derive(Clone, Debug)]
pub struct FixtureApp {
    /// Its SDK.
    pub sdk: Sdk,
    /// Its app file (the `Dockerfile` for Docker).
    pub app_file: String,
    /// The port it listens on.
    pub app_port: u16,
}

/// The test Spaces of a backend. Each method writes a Space's files into `dir` (an empty folder).
pub trait Fixtures: Send + Sync {
    /// The serving app described in the [module docs](self).
    fn serving(&self, dir: &Path) -> std::io::Result<FixtureApp>;
    /// An app whose build fails.
    fn failing_build(&self, dir: &Path) -> std::io::Result<FixtureApp>;
    /// An app that exits with code 3 right after it starts.
    fn exiting(&self, dir: &Path) -> std::io::Result<FixtureApp>;
    /// An app that runs but never answers its health check below 500.
    fn never_healthy(&self, dir: &Path) -> std::io::Result<FixtureApp>;
    /// How long a healthy fixture may take to answer (container starts are slower than processes).
    fn startup_timeout(&self) -> Duration {
        Duration::from_secs(30)
    }
    /// How many GPUs the backend gives an instance of a GPU flavor here. `0` (the default): it
    /// has none, and a GPU flavor must be [`Error::Unsupported`] (see
    /// [`gpu_flavor_is_unsupported_or_served`]).
    fn gpus(&self) -> u32 {
        0
    }
}

fn fail(what: impl Into<String>) -> Error {
    Error::ConformanceFailed { what: what.into() }
}

fn ensure(cond: bool, what: impl Into<String>) -> Result<(), Error> {
    if cond {
        Ok(())
    } else {
        Err(fail(what))
    }
}

fn space_id(name: &str) -> Result<SpaceId, Error> {
    Ok(SpaceId::from_parts("conformance", name)?)
}

fn revision() -> Result<Revision, Error> {
    Ok(Revision::new("c0ffee1")?)
}

async fn build(
    rt: &dyn Runtime,
    space: &SpaceId,
    dir: &Path,
    app: &FixtureApp,
) -> Result<crate::BuildOutput, Error> {
    rt.build(BuildRequest {
        space: space.clone(),
        revision: revision()?,
        sdk: app.sdk,
        source: dir.to_path_buf(),
        app_file: spaces_core::AppPath::new(&app.app_file)?,
        no_cache: false,
    })
    .await
}

fn env_with_canary(space: &SpaceId, sdk: Sdk) -> Result<AppEnvironment, Error> {
    let now = Timestamp::UNIX_EPOCH;
    let mut s = Space::new(space.clone(), sdk, Visibility::Private, now);
    s.set_secret("CANARY_TOKEN", Secret::new(CANARY_SECRET), None, now)?;
    let _ = s.apply(
        Event::Push {
            revision: revision()?,
            repo: RepoCheck::Ready,
        },
        Actor::Owner,
        now,
    );
    Ok(AppEnvironment::for_space(&s, None))
}

fn spec(image: &Image, app: &FixtureApp, env: AppEnvironment, volume: bool) -> InstanceSpec {
    InstanceSpec {
        image: image.clone(),
        env,
        hardware: None,
        app_port: app.app_port,
        volume: volume.then_some(VolumeSpec { size_gb: 20 }),
    }
}

async fn body(instance: &Instance) -> Result<String, Error> {
    let r = http_get(instance.address, "/", Duration::from_secs(5))
        .await
        .map_err(Error::io(format!("GET / on {}", instance.address)))?;
    ensure(r.status == 200, format!("GET / answered {}", r.status))?;
    Ok(String::from_utf8_lossy(&r.body).trim().to_owned())
}

fn tempdir(tag: &str) -> Result<std::path::PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!(
        "spaces-conformance-{tag}-{}-{}",
        std::process::id(),
        Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&dir).map_err(Error::io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

/// Build, start, health, page, logs, stop; the canary secret reaches the app but never the
/// runtime's own log lines or the build log.
pub async fn build_start_health_logs_stop(
    rt: &dyn Runtime,
    fx: &dyn Fixtures,
) -> Result<(), Error> {
    let dir = tempdir("serve")?;
    let app = fx
        .serving(&dir)
        .map_err(Error::io("writing the serving fixture"))?;
    let space = space_id("serving")?;
    let built = build(rt, &space, &dir, &app).await?;
    ensure(!built.log.is_empty(), "the build log is empty")?;
    let env = env_with_canary(&space, app.sdk)?;
    let instance = rt.start(spec(&built.image, &app, env, false)).await?;
    let state = rt.state(&instance.id).await?;
    ensure(
        state == InstanceState::Running,
        format!("a started instance is not running: {state:?}"),
    )?;
    wait_healthy(rt, &instance, fx.startup_timeout()).await?;
    let page = body(&instance).await?;
    ensure(
        page.contains("ephemeral=no"),
        format!("unexpected page {page:?}"),
    )?;

    let mut logs = rt.logs(&instance.id, false).await?;
    let lines = logs.collect_for(Duration::from_millis(500)).await;
    ensure(
        lines.iter().any(|l| l.text.contains("hello from the app")),
        format!("the app's output is not in its log: {lines:?}"),
    )?;
    for line in lines.iter().filter(|l| l.source == LogSource::Runtime) {
        ensure(
            !line.text.contains(CANARY_SECRET),
            format!("a secret is in a runtime log line: {}", line.source_name()),
        )?;
    }
    ensure(
        !built.log.iter().any(|l| l.contains(CANARY_SECRET)),
        "a secret is in the build log",
    )?;

    rt.stop(&instance.id).await?;
    ensure(
        rt.state(&instance.id).await? == InstanceState::Stopped,
        "a stopped instance is not reported stopped",
    )?;
    ensure(
        http_get(instance.address, "/", Duration::from_millis(500))
            .await
            .is_err(),
        "a stopped instance still answers",
    )?;
    rt.stop(&instance.id).await?; // stopping twice is fine
    rt.remove_image(&built.image).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

impl crate::runtime::LogLine {
    fn source_name(&self) -> &'static str {
        match self.source {
            LogSource::Stdout => "stdout",
            LogSource::Stderr => "stderr",
            LogSource::Runtime => "runtime",
        }
    }
}

/// A restart gets a fresh ephemeral disk and keeps `/data`; deleting the volume loses its data.
pub async fn restart_keeps_data_and_wipes_ephemeral(
    rt: &dyn Runtime,
    fx: &dyn Fixtures,
) -> Result<(), Error> {
    let dir = tempdir("persist")?;
    let app = fx
        .serving(&dir)
        .map_err(Error::io("writing the serving fixture"))?;
    let space = space_id("persistent")?;
    rt.delete_volume(&space).await?;
    let built = build(rt, &space, &dir, &app).await?;
    let mut pages = Vec::new();
    for round in 0..3 {
        if round == 2 {
            rt.delete_volume(&space).await?;
        }
        let env = env_with_canary(&space, app.sdk)?;
        let instance = rt.start(spec(&built.image, &app, env, true)).await?;
        wait_healthy(rt, &instance, fx.startup_timeout()).await?;
        pages.push(body(&instance).await?);
        rt.stop(&instance.id).await?;
    }
    ensure(
        pages
            == [
                "persistent=no ephemeral=no",
                "persistent=yes ephemeral=no",
                "persistent=no ephemeral=no",
            ],
        format!(
            "expected data kept across a restart and gone after a volume delete, got {pages:?}"
        ),
    )?;
    rt.delete_volume(&space).await?;
    rt.delete_volume(&space).await?; // deleting twice is fine
    rt.remove_image(&built.image).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A failing build is `BuildFailed` with the log tail.
pub async fn failing_build_reports_log(rt: &dyn Runtime, fx: &dyn Fixtures) -> Result<(), Error> {
    let dir = tempdir("badbuild")?;
    let app = fx
        .failing_build(&dir)
        .map_err(Error::io("writing the failing fixture"))?;
    let result = build(rt, &space_id("bad-build")?, &dir, &app).await;
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Err(Error::BuildFailed { log_tail, .. }) => ensure(
            !log_tail.trim().is_empty(),
            "BuildFailed has an empty log tail",
        ),
        Err(other) => Err(fail(format!("expected BuildFailed, got {other}"))),
        Ok(_) => Err(fail("a failing build succeeded")),
    }
}

/// An app that exits is reported as exited with its code, and waiting for health says so.
pub async fn exiting_app_is_reported(rt: &dyn Runtime, fx: &dyn Fixtures) -> Result<(), Error> {
    let dir = tempdir("exit")?;
    let app = fx
        .exiting(&dir)
        .map_err(Error::io("writing the exiting fixture"))?;
    let space = space_id("exits")?;
    let built = build(rt, &space, &dir, &app).await?;
    let env = env_with_canary(&space, app.sdk)?;
    let instance = rt.start(spec(&built.image, &app, env, false)).await?;
    match wait_healthy(rt, &instance, fx.startup_timeout()).await {
        Err(Error::Exited { code, .. }) => {
            ensure(code == Some(3), format!("exit code {code:?}, expected 3"))?
        }
        other => return Err(fail(format!("expected Exited, got {other:?}"))),
    }
    let state = rt.state(&instance.id).await?;
    ensure(
        matches!(state, InstanceState::Exited { code: Some(3), .. }),
        format!("state {state:?}, expected exited with code 3"),
    )?;
    rt.stop(&instance.id).await?;
    rt.remove_image(&built.image).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// An app that never becomes healthy times out, and can still be stopped.
pub async fn never_healthy_times_out(rt: &dyn Runtime, fx: &dyn Fixtures) -> Result<(), Error> {
    let dir = tempdir("unhealthy")?;
    let app = fx
        .never_healthy(&dir)
        .map_err(Error::io("writing the unhealthy fixture"))?;
    let space = space_id("never-healthy")?;
    let built = build(rt, &space, &dir, &app).await?;
    let env = env_with_canary(&space, app.sdk)?;
    let instance = rt.start(spec(&built.image, &app, env, false)).await?;
    match wait_healthy(rt, &instance, Duration::from_secs(2)).await {
        Err(Error::StartupTimeout { .. }) => {}
        other => return Err(fail(format!("expected StartupTimeout, got {other:?}"))),
    }
    rt.stop(&instance.id).await?;
    ensure(
        rt.state(&instance.id).await? == InstanceState::Stopped,
        "not stopped",
    )?;
    rt.remove_image(&built.image).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn listed(list: &[Instance], instance: &Instance) -> bool {
    list.iter().any(|i| i == instance)
}

/// [`Runtime::running`] lists started instances (same id, Space and address) and no stopped one;
/// [`Runtime::stop`] accepts the ids it lists. Other instances of the backend may be listed too
/// (the check only looks at its own).
pub async fn running_lists_started_instances(
    rt: &dyn Runtime,
    fx: &dyn Fixtures,
) -> Result<(), Error> {
    let dir = tempdir("running")?;
    let app = fx
        .serving(&dir)
        .map_err(Error::io("writing the serving fixture"))?;
    let space = space_id("running")?;
    let built = build(rt, &space, &dir, &app).await?;
    let mut started = Vec::new();
    for _ in 0..2 {
        let env = env_with_canary(&space, app.sdk)?;
        let instance = rt.start(spec(&built.image, &app, env, false)).await?;
        started.push(instance);
    }
    for instance in &started {
        wait_healthy(rt, instance, fx.startup_timeout()).await?;
    }
    let (first, second) = (&started[0], &started[1]);
    let list = rt.running().await?;
    ensure(
        listed(&list, first) && listed(&list, second),
        format!("running() does not list both started instances {started:?}: {list:?}"),
    )?;
    ensure(
        first.id != second.id,
        "two starts gave the same instance id",
    )?;
    // Stop through the id as running() gave it.
    let from_list = list
        .iter()
        .find(|i| i.id == first.id)
        .map(|i| i.id.clone())
        .ok_or_else(|| fail("the first instance vanished from the list"))?;
    rt.stop(&from_list).await?;
    let list = rt.running().await?;
    ensure(
        !list.iter().any(|i| i.id == first.id),
        format!("running() lists a stopped instance: {list:?}"),
    )?;
    ensure(
        listed(&list, second),
        format!("running() lost a running instance after another one stopped: {list:?}"),
    )?;
    rt.stop(&second.id).await?;
    let list = rt.running().await?;
    ensure(
        !list.iter().any(|i| i.id == second.id),
        format!("running() lists a stopped instance: {list:?}"),
    )?;
    rt.remove_image(&built.image).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// [`Runtime::discard_prepared`] on a Space with nothing prepared (never started, and again
/// after a start and a stop) is not an error.
pub async fn discard_prepared_without_preparation_is_ok(
    rt: &dyn Runtime,
    fx: &dyn Fixtures,
) -> Result<(), Error> {
    let never = space_id("never-started")?;
    rt.discard_prepared(&never).await?;
    rt.discard_prepared(&never).await?;

    let dir = tempdir("discard")?;
    let app = fx
        .serving(&dir)
        .map_err(Error::io("writing the serving fixture"))?;
    let space = space_id("discard")?;
    let built = build(rt, &space, &dir, &app).await?;
    let env = env_with_canary(&space, app.sdk)?;
    let instance = rt.start(spec(&built.image, &app, env, false)).await?;
    wait_healthy(rt, &instance, fx.startup_timeout()).await?;
    rt.stop(&instance.id).await?;
    rt.discard_prepared(&space).await?;
    rt.discard_prepared(&space).await?; // twice is fine
    rt.remove_image(&built.image).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A GPU flavor (the first of [`Catalog::seed`]) on a backend whose [`Fixtures::gpus`] is 0 is
/// [`Error::Unsupported`] and starts nothing (no new instance in [`Runtime::running`]); on one
/// that gives GPUs it starts, serves and stops. Whether the app sees the GPUs is for the
/// backend's own tests (it needs a GPU-aware fixture).
pub async fn gpu_flavor_is_unsupported_or_served(
    rt: &dyn Runtime,
    fx: &dyn Fixtures,
) -> Result<(), Error> {
    let hardware = Catalog::seed()
        .hardware()
        .iter()
        .find(|h| h.gpu.is_some())
        .cloned()
        .ok_or_else(|| fail("the seed catalog has no GPU flavor"))?;
    let dir = tempdir("gpu")?;
    let app = fx
        .serving(&dir)
        .map_err(Error::io("writing the serving fixture"))?;
    let space = space_id("gpu")?;
    let built = build(rt, &space, &dir, &app).await?;
    let before = rt.running().await?;
    let env = env_with_canary(&space, app.sdk)?;
    let mut gpu_spec = spec(&built.image, &app, env, false);
    gpu_spec.hardware = Some(hardware.clone());
    let result = rt.start(gpu_spec).await;
    let outcome = match (fx.gpus(), result) {
        (0, Err(Error::Unsupported { .. })) => {
            let after = rt.running().await?;
            let new: Vec<_> = after
                .iter()
                .filter(|i| i.space == space && !before.contains(i))
                .collect();
            ensure(
                new.is_empty(),
                format!("a refused GPU start left instances running: {new:?}"),
            )
        }
        (0, Err(other)) => Err(fail(format!(
            "a GPU flavor ({}) on a backend without GPUs gave {other}, expected Unsupported",
            hardware.id
        ))),
        (0, Ok(instance)) => {
            let _ = rt.stop(&instance.id).await;
            Err(fail(format!(
                "a backend without GPUs started a GPU flavor ({})",
                hardware.id
            )))
        }
        (_, Err(e)) => Err(fail(format!(
            "a backend with GPUs refused the GPU flavor {}: {e}",
            hardware.id
        ))),
        (_, Ok(instance)) => {
            let served = wait_healthy(rt, &instance, fx.startup_timeout()).await;
            rt.stop(&instance.id).await?;
            served.map(|_| ())
        }
    };
    rt.remove_image(&built.image).await?;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// Every check, in order.
pub async fn run_all(rt: &dyn Runtime, fx: &dyn Fixtures) -> Result<(), Error> {
    build_start_health_logs_stop(rt, fx).await?;
    restart_keeps_data_and_wipes_ephemeral(rt, fx).await?;
    failing_build_reports_log(rt, fx).await?;
    exiting_app_is_reported(rt, fx).await?;
    never_healthy_times_out(rt, fx).await?;
    running_lists_started_instances(rt, fx).await?;
    discard_prepared_without_preparation_is_ok(rt, fx).await?;
    gpu_flavor_is_unsupported_or_served(rt, fx).await?;
    Ok(())
}
