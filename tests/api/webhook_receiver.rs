//! A webhook receiver inside the test: a real HTTP/1 server on 127.0.0.1 that records every
//! request and answers as told, and an independent Standard Webhooks verifier (HMAC-SHA256
//! computed here with the `hmac` crate, not with the service's signing code).

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use tokio::net::TcpListener;

/// How the receiver answers.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// 204 at once.
    Accept,
    /// 500 for the first `n` requests, then 204.
    FailFirst(usize),
    /// Never answers (until the test ends).
    Hang,
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: String,
}

impl Delivery {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// True when `signature` holds a `v1,` signature of `id.timestamp.body` with `secret`.
    pub fn signed_with(&self, secret: &str) -> bool {
        let key = STANDARD
            .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
            .expect("base64 secret");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected = STANDARD.encode(mac.finalize().into_bytes());
        self.signature
            .split(' ')
            .filter_map(|s| s.split_once(','))
            .any(|(version, sig)| version == "v1" && sig == expected)
    }
}

/// A running receiver.
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    pub async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| respond(req, answer, log.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Self { addr, received }
    }

    /// The URL to register.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Delivery> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits up to `within` for at least `n` requests.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn respond(
    req: Request<Incoming>,
    answer: Answer,
    log: Arc<Mutex<Vec<Delivery>>>,
) -> Result<Response<Full<bytes::Bytes>>, Infallible> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, timestamp, signature, content_type) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        header("content-type"),
    );
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    let seen = {
        let mut log = log.lock().expect("lock");
        log.push(Delivery {
            id,
            timestamp,
            signature,
            content_type,
            body,
        });
        log.len()
    };
    let status = match answer {
        Answer::Accept => 204,
        Answer::FailFirst(n) if seen <= n => 500,
        Answer::FailFirst(_) => 204,
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            204
        }
    };
    Ok(Response::builder()
        .status(status)
        .body(Full::new(bytes::Bytes::new()))
        .expect("a response"))
}
