//! The conformance suite on the Kubernetes backend, against a real API server with a kubelet
//! (`shared/k8s/up --kubelet`, see `scripts/k8s-runtime-tests.sh`), with the Docker backend's
//! `FROM scratch` + static busybox test Spaces changed to listen on `$PORT` (host networking:
//! every instance gets its own host port).
//!
//! Without a cluster (no `KUBECONFIG`, or no kubelet: no `SPACES_K8S_NODE`) the tests print
//! `SKIPPED: <reason>` and pass, unless `SPACES_REQUIRE_KUBERNETES=1`: then they fail. Every test
//! uses its own prefix and label and removes what it created. Run them one at a time
//! (`--test-threads=1`): one node, two cores.
#![cfg(feature = "kubernetes")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "kubernetes/support.rs"]
mod support;

use spaces_runtime::conformance;
use support::with_kube;

macro_rules! check {
    ($name:ident, $tag:literal) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            with_kube(
                $tag,
                |_| {},
                |rt, fx| async move {
                    conformance::$name(rt.as_ref(), &fx).await.unwrap();
                },
            )
            .await;
        }
    };
}

check!(build_start_health_logs_stop, "serve");
check!(restart_keeps_data_and_wipes_ephemeral, "persist");
check!(failing_build_reports_log, "badbuild");
check!(exiting_app_is_reported, "exit");
check!(never_healthy_times_out, "unhealthy");
check!(running_lists_started_instances, "running");
check!(discard_prepared_without_preparation_is_ok, "discard");
check!(gpu_flavor_is_unsupported_or_served, "gpu");
