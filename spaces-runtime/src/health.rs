//! Health: an HTTP GET on the instance's port answering below 500.

use std::net::SocketAddr;
use std::time::{Duration, Instant as StdInstant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::runtime::{Instance, InstanceState, Runtime};
use crate::Error;

/// The answer of an HTTP GET.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

/// `GET path` on `addr` over HTTP/1.1, with a timeout for the whole exchange.
pub async fn http_get(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> std::io::Result<HttpResponse> {
    let exchange = async {
        let stream = TcpStream::connect(addr).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        let driver = tokio::spawn(conn);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .map_err(std::io::Error::other)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(std::io::Error::other)?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(std::io::Error::other)?
            .to_bytes();
        driver.abort();
        Ok(HttpResponse { status, body })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "HTTP GET timed out"))?
}

/// Whether the instance answers HTTP below 500 now.
pub async fn is_healthy(addr: SocketAddr) -> bool {
    matches!(http_get(addr, "/", Duration::from_secs(2)).await, Ok(r) if r.status < 500)
}

/// Waits until `instance` answers its health check, polling every few milliseconds at first and
/// less often later. Returns the time waited. Fails with [`Error::Exited`] as soon as the
/// instance exits, and with [`Error::StartupTimeout`] after `timeout`.
pub async fn wait_healthy(
    runtime: &dyn Runtime,
    instance: &Instance,
    timeout: Duration,
) -> Result<Duration, Error> {
    let started = StdInstant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        if let InstanceState::Exited { code, .. } = runtime.state(&instance.id).await? {
            return Err(Error::Exited {
                space: instance.space.clone(),
                code,
            });
        }
        if is_healthy(instance.address).await {
            return Ok(started.elapsed());
        }
        if started.elapsed() >= timeout {
            return Err(Error::StartupTimeout {
                space: instance.space.clone(),
                waited_secs: timeout.as_secs(),
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}
