//! spaces-server started in-process over a temporary data folder, serving on 127.0.0.1, with
//! users `alice` (member of `acme`) and `bob` and their tokens (as spaces-server's own
//! `api_*` tests set it up).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use spaces_server::{Limits, Role, ServerBuilder};

pub struct ServerEnv {
    pub url: String,
    pub alice: String,
    pub alice_read: String,
    pub bob: String,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for ServerEnv {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl ServerEnv {
    pub async fn start() -> ServerEnv {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerBuilder::new(dir.path())
            .limits(Limits {
                rate_per_second: 0,
                ..Limits::default()
            })
            .tick(Duration::from_millis(200))
            .build()
            .await
            .unwrap();
        server.db().add_user("alice", &["acme".to_owned()]).unwrap();
        server.db().add_user("bob", &[]).unwrap();
        let alice = server.db().create_token("alice", Role::Write).unwrap();
        let alice_read = server.db().create_token("alice", Role::Read).unwrap();
        let bob = server.db().create_token("bob", Role::Write).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = server
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await;
        });
        ServerEnv {
            url,
            alice,
            alice_read,
            bob,
            dir,
            stop: Some(tx),
        }
    }
}
