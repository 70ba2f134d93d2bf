//! The HTTP/1.1 server loop, with the limits poem's own `Server` does not offer (§9.4): a
//! header read timeout (which also closes idle keep-alive connections), a bounded request
//! head, a bounded number of connections, TCP keepalive, accept errors (such as `EMFILE`) that
//! back off instead of spinning, and a bounded graceful shutdown. Each request is handed to the
//! same poem endpoint `build_app` returns.

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::{
    Addr, Endpoint, Response,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Semaphore, watch},
    task::JoinSet,
};

/// The connection-level limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The whole request head must arrive within this; an idle keep-alive connection is closed
    /// after it too.
    pub header_read_timeout: Duration,
    /// Bytes buffered for one request head (request line and headers).
    pub max_head_bytes: usize,
    /// Header lines in one request.
    pub max_headers: usize,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests before closing their connections.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            max_connections: 10_000,
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// Raises the soft limit on open files to the hard limit, so `MAX_CONNECTIONS` is reachable.
pub fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open file limit"),
    }
}

type Body = BoxBody<Bytes, std::io::Error>;

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish
/// for at most `limits.drain_timeout`.
pub async fn serve<E>(
    listener: TcpListener,
    app: E,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    E: Endpoint<Output = Response> + 'static,
{
    let app = Arc::new(app);
    let local = listener.local_addr()?;
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    backoff.wait(&e).await;
                    continue;
                }
            },
        };
        backoff.reset();
        tune(&stream);
        let app = app.clone();
        let stop = stop_rx.clone();
        connections.spawn(async move {
            serve_connection(stream, local, remote, app, limits, stop).await;
            drop(permit);
        });
        // Reap finished connection tasks so the set does not grow with history.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.drain_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "closing connections still busy at shutdown"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Nagle off (small JSON responses), keepalive on (dead peers are noticed).
fn tune(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(10));
    let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive);
}

async fn serve_connection<E>(
    stream: TcpStream,
    local: SocketAddr,
    remote: SocketAddr,
    app: Arc<E>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    E: Endpoint<Output = Response> + 'static,
{
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let app = app.clone();
        async move {
            let req = poem::Request::from((
                req,
                LocalAddr(Addr::SocketAddr(local)),
                RemoteAddr(Addr::SocketAddr(remote)),
                Scheme::HTTP,
            ));
            let resp = match app.call(req).await {
                Ok(resp) => resp,
                Err(err) => err.into_response(),
            };
            Ok::<hyper::Response<Body>, Infallible>(resp.into())
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_head_bytes.max(8192))
        .max_headers(limits.max_headers);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
            return;
        }
        _ = stop.wait_for(|stopped| *stopped) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Backs off after failed accepts (`EMFILE`, `ENFILE`, `ENOBUFS`, ...) instead of spinning:
/// 10 ms doubling to 1 s, logging once per streak.
#[derive(Default)]
struct AcceptBackoff {
    delay: Option<Duration>,
}

impl AcceptBackoff {
    async fn wait(&mut self, error: &std::io::Error) {
        let delay = match self.delay {
            None => {
                tracing::warn!(%error, "accept failed; backing off");
                Duration::from_millis(10)
            }
            Some(d) => (d * 2).min(Duration::from_secs(1)),
        };
        self.delay = Some(delay);
        tokio::time::sleep(delay).await;
    }

    fn reset(&mut self) {
        self.delay = None;
    }
}
