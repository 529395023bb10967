//! The scheduler's writes to the API server: bindings, events, the `PodScheduled` condition.

use std::sync::atomic::{AtomicU64, Ordering};

use k8s_openapi::api::core::v1::{Binding, Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};

use super::state::{BindJob, BindOutcome, FailedJob};

/// Binds a pod to its node (`POST pods/<name>/binding`, with the pod's uid as precondition).
pub(crate) async fn bind(client: &Client, job: &BindJob) -> BindOutcome {
    let api: Api<Pod> = Api::namespaced(client.clone(), &job.namespace);
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(job.name.clone()),
            namespace: Some(job.namespace.clone()),
            uid: Some(job.uid.clone()),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some("Node".to_owned()),
            name: Some(job.node.clone()),
            ..ObjectReference::default()
        },
    };
    let result: Result<serde_json::Value, kube::Error> = api
        .create_subresource("binding", &job.name, &PostParams::default(), &binding)
        .await;
    match result {
        Ok(_) => BindOutcome::Bound,
        Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409) => BindOutcome::Gone,
        Err(e) => {
            tracing::warn!(pod = %job.name, namespace = %job.namespace, node = %job.node, error = %e, "binding failed; will place again");
            BindOutcome::Retry
        }
    }
}

/// Records an event about a pod (`Scheduled`, `FailedScheduling`), as kube-scheduler does.
pub(crate) async fn record_event(
    client: &Client,
    component: &str,
    pod: (&str, &str, &str),
    warning: bool,
    reason: &str,
    message: &str,
) {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let (namespace, name, uid) = pod;
    let now = jiff::Timestamp::now();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let event = Event {
        metadata: ObjectMeta {
            name: Some(format!(
                "{name}.{:x}{seq:x}",
                now.as_nanosecond().unsigned_abs()
            )),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".to_owned()),
            kind: Some("Pod".to_owned()),
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            uid: Some(uid.to_owned()),
            ..ObjectReference::default()
        },
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        type_: Some(if warning { "Warning" } else { "Normal" }.to_owned()),
        source: Some(EventSource {
            component: Some(component.to_owned()),
            host: None,
        }),
        reporting_component: Some(component.to_owned()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        ..Event::default()
    };
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    if let Err(e) = api.create(&PostParams::default(), &event).await {
        tracing::warn!(pod = %name, namespace = %namespace, error = %e, "could not record event {reason}");
    }
}

/// Tells a pod it did not fit: a `FailedScheduling` event and `PodScheduled=False` with the
/// reason `Unschedulable`, as kube-scheduler does.
pub(crate) async fn report_unschedulable(client: &Client, component: &str, job: &FailedJob) {
    record_event(
        client,
        component,
        (&job.namespace, &job.name, &job.uid),
        true,
        "FailedScheduling",
        &job.message,
    )
    .await;
    let api: Api<Pod> = Api::namespaced(client.clone(), &job.namespace);
    let patch = serde_json::json!({
        "status": {"conditions": [{
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": job.message,
            "lastTransitionTime": jiff::Timestamp::now().to_string(),
        }]}
    });
    if let Err(e) = api
        .patch_status(
            &job.name,
            &PatchParams::default(),
            &Patch::Strategic(&patch),
        )
        .await
    {
        tracing::warn!(pod = %job.name, namespace = %job.namespace, error = %e, "could not set PodScheduled=False");
    }
}
