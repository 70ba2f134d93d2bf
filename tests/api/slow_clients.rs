//! Slow, idle and oversized clients over real sockets (§9.4): none of them may hold the
//! server, and every other client keeps being answered.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};
use voke_invitations::startup::Application;

use crate::helpers::{DbGuard, fresh_database, test_config};

/// A server on a real socket with a short header read timeout; stops when dropped.
struct Served {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _db: DbGuard,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(header_timeout: Duration, max_connections: usize) -> Served {
    let (url, guard) = fresh_database().await;
    let config = test_config(&url, &[("BIND_ADDR", "127.0.0.1:0")]);
    let mut app = Application::build(&config).await.expect("build");
    let limits = app.limits_mut();
    limits.header_read_timeout = header_timeout;
    limits.max_connections = max_connections;
    limits.max_head_bytes = 16 * 1024;
    let addr = app.local_addr().expect("bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    Served {
        addr,
        stop: Some(stop),
        _db: guard,
    }
}

/// Reads until the peer closes (or `limit` passes); returns what arrived and when it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(read) = tokio::time::timeout_at(started + limit, stream.read(&mut buf)).await {
        match read {
            Ok(0) | Err(_) => return (seen, Some(started.elapsed())),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    (seen, None)
}

async fn healthz(addr: SocketAddr) -> reqwest::StatusCode {
    reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("healthz answers")
        .status()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    let server = serve(Duration::from_millis(700), 100).await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    let mut slowloris = TcpStream::connect(server.addr).await.expect("connect");
    slowloris
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let drip = tokio::spawn(async move {
        // One header byte at a time, never the blank line that ends the head.
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            if slowloris.write_all(b"X").await.is_err() {
                return true;
            }
        }
        false
    });
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    let closed = closed.expect("the silent connection is closed");
    assert!(
        closed >= Duration::from_millis(500),
        "closed after {closed:?}"
    );
    assert!(
        drip.await.expect("drip"),
        "the slowloris connection is cut off"
    );
    assert_eq!(healthz(server.addr).await, 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let server = serve(Duration::from_millis(700), 100).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let (seen, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        seen.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    assert!(closed.is_some(), "the idle connection is closed");
}

#[tokio::test]
async fn an_oversized_request_head_is_refused_without_taking_the_server_down() {
    let server = serve(Duration::from_secs(5), 100).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    let _ = stream.write_all(huge.as_bytes()).await;
    let (seen, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the connection is closed");
    assert!(
        seen.is_empty() || seen.starts_with(b"HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    assert_eq!(healthz(server.addr).await, 200);
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_a_slot_frees_and_are_then_served() {
    let server = serve(Duration::from_millis(600), 3).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    // Give the server a moment to take all three slots.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    assert_eq!(healthz(server.addr).await, 200);
    // Served once the idle connections timed out, not before and not never.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "served after {waited:?}"
    );
    assert!(waited < Duration::from_secs(4), "served after {waited:?}");
    drop(idle);
}
