//! The one bearer-token verifier: a static key (HS256 secret or PEM public key) or the keys of
//! an identity provider's JWK set, with the same claim rules for both.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{Caller, jwks::JwksCache};
use crate::{
    config::{Config, ConfigError, DEVELOPMENT_JWT_SECRET, JwtKey},
    error::ApiError,
};

/// Token claims, as minted by the `token` command and read by the verifier.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "isSuperAdmin", default)]
    pub is_super_admin: bool,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// Where the verification key comes from.
enum KeySource {
    /// One configured key, used with exactly one algorithm.
    Static {
        key: DecodingKey,
        algorithm: Algorithm,
    },
    /// The identity provider's keys; each is used with the algorithm its type implies.
    Jwks(Arc<JwksCache>),
}

/// Verifies bearer tokens with the configured key source.
pub struct JwtVerifier {
    keys: KeySource,
    /// The claim rules; its algorithm is replaced by the key's on each verification.
    validation: Validation,
    /// Present for HS256 keys, so the `token` command can mint with the same secret.
    signing_key: Option<EncodingKey>,
    issuer: Option<String>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut f = f.debug_struct("JwtVerifier");
        match &self.keys {
            KeySource::Static { algorithm, .. } => f.field("algorithm", algorithm),
            KeySource::Jwks(cache) => f.field("jwks", cache),
        };
        f.finish_non_exhaustive()
    }
}

fn unauthorized() -> ApiError {
    ApiError::Unauthorized("Invalid or expired bearer token")
}

impl JwtVerifier {
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let secret = |s: &str| KeySource::Static {
            key: DecodingKey::from_secret(s.as_bytes()),
            algorithm: Algorithm::HS256,
        };
        let mut signing_key = None;
        let keys = match &config.jwt_key {
            JwtKey::Secret(s) => {
                signing_key = Some(EncodingKey::from_secret(s.expose().as_bytes()));
                secret(s.expose())
            }
            JwtKey::Development => {
                signing_key = Some(EncodingKey::from_secret(DEVELOPMENT_JWT_SECRET.as_bytes()));
                secret(DEVELOPMENT_JWT_SECRET)
            }
            JwtKey::PublicKeyPem(pem) => pem_key(pem)?,
            JwtKey::Jwks { url, refresh } => {
                let cache = JwksCache::new(url.clone(), *refresh).map_err(|e| {
                    ConfigError::new("JWT_JWKS_URL", format!("cannot build its HTTP client: {e}"))
                })?;
                KeySource::Jwks(Arc::new(cache))
            }
        };
        Ok(Self {
            keys,
            validation: claim_rules(config),
            signing_key,
            issuer: config.jwt_issuer.clone(),
        })
    }

    /// The JWK set cache, when keys come from an identity provider (its refresher runs
    /// alongside the server).
    pub fn jwks(&self) -> Option<&Arc<JwksCache>> {
        match &self.keys {
            KeySource::Jwks(cache) => Some(cache),
            KeySource::Static { .. } => None,
        }
    }

    /// False only while keys come from a JWK set that has never been fetched.
    pub fn is_ready(&self) -> bool {
        self.jwks().is_none_or(|cache| cache.is_ready())
    }

    /// Verifies a token and returns who it speaks for.
    pub async fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        if names_critical_extensions(token) {
            return Err(unauthorized());
        }
        let claims = match &self.keys {
            KeySource::Static { key, algorithm } => self.decode(token, key, *algorithm)?,
            KeySource::Jwks(cache) => {
                let header = jsonwebtoken::decode_header(token).map_err(|e| {
                    tracing::debug!(error = %e, "bearer token rejected");
                    unauthorized()
                })?;
                let key = cache.key_for(header.kid.as_deref()).await?;
                // The key decides the algorithm; a token claiming another one is refused.
                if header.alg != key.algorithm {
                    tracing::debug!(alg = ?header.alg, key = ?key.algorithm, "bearer token rejected: algorithm does not match its key");
                    return Err(unauthorized());
                }
                self.decode(token, &key.key, key.algorithm)?
            }
        };
        caller_from(claims)
    }

    fn decode(
        &self,
        token: &str,
        key: &DecodingKey,
        algorithm: Algorithm,
    ) -> Result<Claims, ApiError> {
        let mut validation = self.validation.clone();
        validation.algorithms = vec![algorithm];
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(error = %e, "bearer token rejected");
                unauthorized()
            })
    }

    /// Mints an HS256 token (development helper behind `voke-invitations token`).
    pub fn mint(
        &self,
        sub: &str,
        email: Option<&str>,
        is_super_admin: bool,
        ttl: std::time::Duration,
    ) -> anyhow::Result<String> {
        let key = self.signing_key.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "minting needs JWT_SECRET (HS256); a public key or an identity provider's \
                 keys cannot sign"
            )
        })?;
        let claims = Claims {
            sub: sub.to_owned(),
            email: email.map(str::to_owned),
            is_super_admin,
            exp: jsonwebtoken::get_current_timestamp() + ttl.as_secs(),
            iss: self.issuer.clone(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            key,
        )?)
    }
}

fn pem_key(pem: &[u8]) -> Result<KeySource, ConfigError> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        Ok(KeySource::Static {
            key,
            algorithm: Algorithm::RS256,
        })
    } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        Ok(KeySource::Static {
            key,
            algorithm: Algorithm::ES256,
        })
    } else {
        Err(ConfigError::new(
            "JWT_PUBLIC_KEY_FILE",
            "not a PEM-encoded RSA or EC (P-256) public key",
        ))
    }
}

/// `exp` (30 s leeway), `nbf`, and a configured issuer or audience, which must be present in
/// the token, not merely match when present.
fn claim_rules(config: &Config) -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 30;
    validation.validate_nbf = true;
    let mut required = vec!["exp", "sub"];
    match &config.jwt_issuer {
        Some(iss) => {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        None => validation.iss = None,
    }
    match &config.jwt_audience {
        Some(aud) => {
            validation.set_audience(&[aud]);
            required.push("aud");
        }
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&required);
    validation
}

fn caller_from(claims: Claims) -> Result<Caller, ApiError> {
    // Control characters (NUL, CR, LF, ...) would end up in `invitedBy`, emails and logs.
    let has_control = claims.sub.chars().any(char::is_control)
        || claims
            .email
            .as_deref()
            .is_some_and(|e| e.chars().any(char::is_control));
    if claims.sub.trim().is_empty() || claims.sub.len() > 255 || has_control {
        return Err(unauthorized());
    }
    Ok(Caller {
        user_id: claims.sub,
        email: claims.email.map(|e| e.trim().to_lowercase()),
        is_super_admin: claims.is_super_admin,
    })
}

/// A JWS header listing `crit` extensions: none is understood here, so RFC 7515 §4.1.11
/// says the token must be refused.
fn names_critical_extensions(token: &str) -> bool {
    let Some(header) = token.split('.').next() else {
        return false;
    };
    URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|h| h.get("crit").is_some())
}
