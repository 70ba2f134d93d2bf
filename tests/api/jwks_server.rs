//! A JWKS endpoint inside the test process, standing in for an identity provider: it serves
//! whatever key set the test put there (or fails while told to) and counts every fetch.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use poem::{
    EndpointExt, IntoResponse, Response, Route, get, handler, http::StatusCode,
    listener::TcpAcceptor, web::Data,
};
use serde_json::{Value, json};

pub const RSA_PRIVATE: &str = include_str!("keys/rsa_private.pem");
pub const EC_PRIVATE: &str = include_str!("keys/ec_private.pem");
pub const ED25519_PRIVATE: &str = include_str!("keys/ed25519_private.pem");

/// A private key the test signs with, and the public JWK it publishes.
#[derive(Clone)]
pub struct TestKey {
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
}

impl TestKey {
    pub fn rsa(kid: &str) -> Self {
        Self::new(
            kid,
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()),
        )
    }

    pub fn ec(kid: &str) -> Self {
        Self::new(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()),
        )
    }

    pub fn ed25519(kid: &str) -> Self {
        Self::new(
            kid,
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(ED25519_PRIVATE.as_bytes()),
        )
    }

    fn new(
        kid: &str,
        algorithm: Algorithm,
        key: jsonwebtoken::errors::Result<EncodingKey>,
    ) -> Self {
        Self {
            kid: Some(kid.to_owned()),
            algorithm,
            encoding: key.expect("test private key"),
        }
    }

    pub fn without_kid(self) -> Self {
        Self { kid: None, ..self }
    }

    /// The public half as a JWK, with `use: sig` and `alg` as most providers publish it.
    pub fn jwk(&self) -> Value {
        let jwk = Jwk::from_encoding_key(&self.encoding, self.algorithm).expect("public JWK");
        let mut value = serde_json::to_value(jwk).expect("JWK as JSON");
        value["use"] = "sig".into();
        if let Some(kid) = &self.kid {
            value["kid"] = kid.as_str().into();
        }
        value
    }

    /// A token signed with this key, its header naming this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(self.algorithm, self.kid.as_deref(), claims)
    }

    /// A token signed with this key under any header `alg` and `kid`.
    pub fn sign_as(&self, algorithm: Algorithm, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(algorithm);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign test token")
    }
}

/// What the endpoint answers.
enum Serving {
    Set(Value),
    Fail(StatusCode),
}

struct State {
    serving: Mutex<Serving>,
    fetches: AtomicUsize,
}

pub struct JwksServer {
    pub addr: SocketAddr,
    state: Arc<State>,
}

#[handler]
fn jwks(Data(state): Data<&Arc<State>>) -> Response {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    match &*state.serving.lock().expect("serving") {
        Serving::Set(set) => poem::web::Json(set.clone()).into_response(),
        Serving::Fail(status) => status.into_response(),
    }
}

impl JwksServer {
    /// Serves `{ "keys": [...] }` with the public JWKs of `keys` at `/jwks.json`.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind jwks");
        let addr = listener.local_addr().expect("jwks addr");
        let state = Arc::new(State {
            serving: Mutex::new(Serving::Set(Value::Null)),
            fetches: AtomicUsize::new(0),
        });
        let server = Self { addr, state };
        server.publish(keys);
        let app = Route::new()
            .at("/jwks.json", get(jwks))
            .data(server.state.clone());
        let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    /// Replaces the published set.
    pub fn publish(&self, keys: &[&TestKey]) {
        let keys: Vec<Value> = keys.iter().map(|k| k.jwk()).collect();
        self.publish_raw(json!({ "keys": keys }));
    }

    pub fn publish_raw(&self, set: Value) {
        *self.state.serving.lock().expect("serving") = Serving::Set(set);
    }

    /// Answers every fetch with this status until something is published again.
    pub fn fail_with(&self, status: StatusCode) {
        *self.state.serving.lock().expect("serving") = Serving::Fail(status);
    }

    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` fetches were served, failing the test after `deadline`.
    pub async fn wait_for_fetches(&self, n: usize, deadline: Duration) {
        let start = Instant::now();
        while self.fetches() < n {
            assert!(
                start.elapsed() < deadline,
                "{} JWKS fetches after {deadline:?}, expected {n}",
                self.fetches()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
