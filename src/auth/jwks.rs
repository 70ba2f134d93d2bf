//! Keys from an identity provider's JWK set (CONTRACT §9.2).
//!
//! The set is fetched at start and every `JWT_JWKS_REFRESH` by [`JwksCache::run`]; a token
//! naming an unknown `kid` triggers one extra fetch, at most once per [`UNKNOWN_KID_REFETCH`]
//! however many requests ask at once. A failed fetch never replaces a good set.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{
        AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, KeyOperations, PublicKeyUse,
    },
};
use tokio::sync::{Mutex, watch};
use url::Url;

use crate::error::ApiError;

/// Connect and total deadline of one fetch.
const FETCH_DEADLINE: Duration = Duration::from_secs(5);
/// The least time between two fetches caused by unknown `kid`s.
pub const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(30);
/// A JWK set larger than this is refused (real ones are a few KiB).
const MAX_BODY_BYTES: usize = 1 << 20;
/// Retry delays while no set has ever been fetched: doubling from the first to the last.
const FIRST_RETRY: Duration = Duration::from_millis(500);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// One key a token may be verified with, and the one algorithm it is used for.
pub(crate) struct VerifyingKey {
    pub(crate) kid: Option<String>,
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
}

/// The usable keys of one fetched set.
struct KeySet {
    keys: Vec<Arc<VerifyingKey>>,
}

impl KeySet {
    /// Keeps the signing keys this service can use; the rest are skipped with a warning.
    fn from_jwks(set: &JwkSet) -> anyhow::Result<Self> {
        let keys: Vec<_> = set
            .keys
            .iter()
            .filter_map(|jwk| match usable(jwk) {
                Ok(key) => Some(Arc::new(key)),
                Err(reason) => {
                    tracing::debug!(kid = ?jwk.common.key_id, reason, "JWKS key skipped");
                    None
                }
            })
            .collect();
        anyhow::ensure!(
            !keys.is_empty(),
            "the set has no RS256, ES256 or EdDSA signing key"
        );
        Ok(Self { keys })
    }

    /// The key named by `kid`; without a `kid`, the only key if there is exactly one.
    fn select(&self, kid: Option<&str>) -> Option<Arc<VerifyingKey>> {
        match (kid, self.keys.as_slice()) {
            (Some(kid), keys) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned(),
            (None, [only]) => Some(only.clone()),
            (None, _) => None,
        }
    }
}

/// The algorithm follows the key's type and curve; a declared `alg` must agree with it.
fn usable(jwk: &Jwk) -> Result<VerifyingKey, &'static str> {
    let common = &jwk.common;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return Err("not a signature key");
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return Err("key_ops does not allow verify");
    }
    let (algorithm, declared) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            (Algorithm::EdDSA, KeyAlgorithm::EdDSA)
        }
        _ => return Err("not an RSA, P-256 or Ed25519 public key"),
    };
    if common.key_algorithm.is_some_and(|alg| alg != declared) {
        return Err("its alg is not RS256, ES256 or EdDSA to match its type");
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "malformed key material")?;
    Ok(VerifyingKey {
        kid: common.key_id.clone(),
        algorithm,
        key,
    })
}

/// The last good key set of one JWKS URL, and how to fetch it again.
pub struct JwksCache {
    url: Url,
    client: reqwest::Client,
    refresh: Duration,
    current: watch::Sender<Option<Arc<KeySet>>>,
    /// When an unknown `kid` last caused a fetch; held across that fetch, so concurrent
    /// requests wait for it instead of fetching too.
    last_unknown_kid_fetch: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache")
            .field("url", &self.url.as_str())
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// An empty cache; nothing is fetched until [`Self::run`] or a token asks.
    pub fn new(url: Url, refresh: Duration) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(FETCH_DEADLINE)
            .timeout(FETCH_DEADLINE)
            .https_only(url.scheme() == "https")
            .user_agent(concat!("voke-invitations/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            url,
            client,
            refresh,
            current: watch::Sender::new(None),
            last_unknown_kid_fetch: Mutex::new(None),
        })
    }

    /// True once a key set has been fetched.
    pub fn is_ready(&self) -> bool {
        self.current.borrow().is_some()
    }

    /// The key a token is verified with: 503 while no set was ever fetched, 401 when the set,
    /// fetched again for an unknown `kid` if the rate limit allows, has no key for it.
    pub(crate) async fn key_for(&self, kid: Option<&str>) -> Result<Arc<VerifyingKey>, ApiError> {
        let Some(set) = self.current.borrow().clone() else {
            return Err(ApiError::ServiceUnavailable(anyhow::anyhow!(
                "no JWK set has been fetched from {} yet",
                self.url
            )));
        };
        let unauthorized = || ApiError::Unauthorized("Invalid or expired bearer token");
        if let Some(key) = set.select(kid) {
            return Ok(key);
        }
        if kid.is_none() {
            return Err(unauthorized());
        }
        let set = self.refetch_for_unknown_kid().await.unwrap_or(set);
        set.select(kid).ok_or_else(unauthorized)
    }

    async fn refetch_for_unknown_kid(&self) -> Option<Arc<KeySet>> {
        let mut last = self.last_unknown_kid_fetch.lock().await;
        if last.is_none_or(|at| at.elapsed() >= UNKNOWN_KID_REFETCH) {
            *last = Some(Instant::now());
            if let Err(e) = self.refresh_now().await {
                tracing::warn!(url = %self.url, error = %format!("{e:#}"), "JWKS refetch for an unknown kid failed; keeping the last good key set");
            }
        }
        self.current.borrow().clone()
    }

    /// Fetches the set once and, if it holds a usable key, makes it current.
    async fn refresh_now(&self) -> anyhow::Result<()> {
        let set = KeySet::from_jwks(&self.fetch().await?)?;
        tracing::debug!(url = %self.url, keys = set.keys.len(), "JWK set fetched");
        self.current.send_replace(Some(Arc::new(set)));
        Ok(())
    }

    async fn fetch(&self) -> anyhow::Result<JwkSet> {
        let mut response = self
            .client
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?
            .error_for_status()?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            anyhow::ensure!(
                body.len() + chunk.len() <= MAX_BODY_BYTES,
                "the response is larger than {MAX_BODY_BYTES} bytes"
            );
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).context("the response is not a JWK set")
    }

    /// Fetches at once, then every `refresh` (retrying sooner, with backoff, while no set has
    /// ever been fetched) until `stop` turns true or its sender is dropped.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut retry = FIRST_RETRY;
        while !*stop.borrow() {
            let wait = tokio::select! {
                fetched = self.refresh_now() => match fetched {
                    Ok(()) => self.refresh,
                    Err(e) if self.is_ready() => {
                        tracing::warn!(url = %self.url, error = %format!("{e:#}"), "JWKS refresh failed; keeping the last good key set");
                        self.refresh
                    }
                    Err(e) => {
                        tracing::warn!(url = %self.url, error = %format!("{e:#}"), retry_in = ?retry, "cannot fetch the JWK set yet; bearer tokens answer 503 until it is fetched");
                        let wait = retry;
                        retry = (retry * 2).min(LAST_RETRY).min(self.refresh);
                        wait
                    }
                },
                _ = stop.changed() => return,
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
