//! `logs(follow)` reconnects on a dropped stream without repeating lines; `wait_for` stops on a
//! terminal stage with its error message, on its predicate, and on its timeout. Served by the
//! loopback `TestServer`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod test_server;

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use spaces_client::{Error, LogKind, SpaceId};
use spaces_core::Stage;
use test_server::{Reply, TestServer};

fn id() -> SpaceId {
    "alice/demo".parse().unwrap()
}

fn event(text: &str, second: u32) -> String {
    format!(
        "data: {}\n\n",
        json!({"data": format!("{text}\n"), "timestamp": format!("2025-03-07T12:00:{second:02}Z")})
    )
}

#[tokio::test]
async fn following_logs_reconnect_after_a_drop_and_skip_seen_lines() {
    let s = TestServer::start().await;
    let path = "/api/spaces/alice/demo/logs/run";
    // First connection: two lines, then the connection breaks.
    s.on(
        "GET",
        path,
        Reply::sse_then_drop(&format!("{}{}", event("one", 1), event("two", 2))),
    );
    // The reconnect replays the log from the start (marked here, to see that the replayed
    // events are skipped by index), plus a new line, then ends.
    s.on(
        "GET",
        path,
        Reply::sse(&format!(
            "{}{}{}",
            event("one (replayed)", 1),
            event("two (replayed)", 2),
            event("three", 3)
        )),
    );
    let lines: Vec<_> = s.client().logs(&id(), LogKind::Run, true).collect().await;
    let texts: Vec<String> = lines.into_iter().map(|l| l.unwrap().text).collect();
    assert_eq!(texts, ["one\n", "two\n", "three\n"]);
    let reqs = s.requests();
    assert_eq!(reqs.len(), 2, "one reconnect");
    assert_eq!(
        reqs[1].query,
        vec![("follow".to_owned(), "true".to_owned())]
    );

    // Without follow a drop ends the stream with the error; HTTP errors are never retried.
    s.clear();
    s.on("GET", path, Reply::sse_then_drop(&event("only", 1)));
    let got: Vec<_> = s.client().logs(&id(), LogKind::Run, false).collect().await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].is_ok());
    assert!(matches!(got[1], Err(Error::Transport { .. })));
    s.clear();
    s.on(
        "GET",
        path,
        Reply::json(403, json!({"error": "not the owner"})),
    );
    let got: Vec<_> = s.client().logs(&id(), LogKind::Run, true).collect().await;
    assert_eq!(got.len(), 1);
    assert!(matches!(got[0], Err(Error::Forbidden { .. })));
    assert_eq!(s.requests().len(), 1);
}

fn runtime(stage: &str, error: Option<&str>) -> Reply {
    let mut v = json!({"stage": stage, "hardware": {"current": null, "requested": "cpu-basic"}});
    if let Some(e) = error {
        v["errorMessage"] = json!(e);
    }
    Reply::json(200, v)
}

#[tokio::test]
async fn wait_for_stops_on_the_predicate_on_terminal_stages_and_on_timeout() {
    let s = TestServer::start().await;
    let c = s.client();
    let path = "/api/spaces/alice/demo/runtime";
    let running = |rt: &spaces_client::SpaceRuntime| rt.stage == Stage::Running;

    s.on("GET", path, runtime("BUILDING", None));
    s.on("GET", path, runtime("APP_STARTING", None));
    s.on("GET", path, runtime("RUNNING", None));
    let rt = c
        .wait_for(&id(), running, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(rt.stage, Stage::Running);
    assert_eq!(s.requests().len(), 3);

    // BUILDING then BUILD_ERROR: the stage's error message.
    s.clear();
    s.on("GET", path, runtime("BUILDING", None));
    s.on(
        "GET",
        path,
        runtime("BUILD_ERROR", Some("Build failed with exit code: 1")),
    );
    match c
        .wait_for(&id(), running, Duration::from_secs(30))
        .await
        .unwrap_err()
    {
        Error::Stage { stage, message, .. } => {
            assert_eq!(stage, Stage::BuildError);
            assert_eq!(message.as_deref(), Some("Build failed with exit code: 1"));
        }
        other => panic!("{other:?}"),
    }
    // A stage from the future is terminal too.
    s.clear();
    s.on("GET", path, runtime("BUILDING", None));
    s.on("GET", path, runtime("HIBERNATING", None));
    let e = c
        .wait_for(&id(), running, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Stage { stage: Stage::Unknown(ref s), .. } if s == "HIBERNATING"));

    // Stuck building: the timeout.
    s.clear();
    s.on("GET", path, runtime("BUILDING", None));
    let e = c
        .wait_for(&id(), running, Duration::from_millis(600))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::WaitTimeout {
                stage: Stage::Building,
                ..
            }
        ),
        "{e:?}"
    );
    let n = s.requests().len();
    assert!(
        (2..=6).contains(&n),
        "backoff between polls: {n} polls in 0.6 s"
    );
}
