//! Bearer verification, organization context and roles.
//!
//! Each security scheme below is one way an operation can be authorised. They all render as the
//! same `bearerAuth` scheme in the spec; what differs is what the checker demands after the token
//! verified, in the order the contract fixes: token (401) -> `x-org-id` present (403) -> UUID
//! (400) -> membership (403) -> role (403). Because poem-openapi extracts arguments in order and
//! the scheme is each operation's first argument, these checks run before any path, query or
//! body validation.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::api::types::parse_uuid;
use crate::{
    config::{Config, ConfigError, DEVELOPMENT_JWT_SECRET, JwtKey},
    entity::OrgRole,
    error::ApiError,
    service,
};

/// The header that names the organization an operation acts on.
pub const ORG_HEADER: &str = "x-org-id";

/// The verified identity behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub`.
    pub user_id: String,
    /// The token's `email`, when present.
    pub email: Option<String>,
    pub is_super_admin: bool,
}

/// A caller acting inside one organization, with the role that applies there.
#[derive(Clone, Debug)]
pub struct OrgContext {
    pub organization_id: Uuid,
    pub caller: Caller,
    pub role: OrgRole,
}

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

/// Verifies bearer tokens with the one configured key and algorithm.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
    /// Present for HS256 keys, so the `token` command can mint with the same secret.
    signing_key: Option<EncodingKey>,
    issuer: Option<String>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

impl JwtVerifier {
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let secret = |s: &str| {
            (
                DecodingKey::from_secret(s.as_bytes()),
                Some(EncodingKey::from_secret(s.as_bytes())),
                Algorithm::HS256,
            )
        };
        let (key, signing_key, algorithm) = match &config.jwt_key {
            JwtKey::Secret(s) => secret(s.expose()),
            JwtKey::Development => secret(DEVELOPMENT_JWT_SECRET),
            JwtKey::PublicKeyPem(pem) => {
                if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
                    (key, None, Algorithm::RS256)
                } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
                    (key, None, Algorithm::ES256)
                } else {
                    return Err(ConfigError {
                        variable: "JWT_PUBLIC_KEY_FILE",
                        reason: "not a PEM-encoded RSA or EC (P-256) public key".to_owned(),
                    });
                }
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = 30;
        validation.validate_nbf = true;
        // A configured issuer or audience must be present in the token, not merely match
        // when present.
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
        Ok(Self {
            key,
            validation,
            signing_key,
            issuer: config.jwt_issuer.clone(),
        })
    }

    /// Verifies a token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        if names_critical_extensions(token) {
            return Err(ApiError::Unauthorized("Invalid or expired bearer token"));
        }
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|e| {
                tracing::debug!(error = %e, "bearer token rejected");
                ApiError::Unauthorized("Invalid or expired bearer token")
            })?;
        let claims = data.claims;
        // Control characters (NUL, CR, LF, ...) would end up in `invitedBy`, emails and logs.
        let has_control = claims.sub.chars().any(char::is_control)
            || claims
                .email
                .as_deref()
                .is_some_and(|e| e.chars().any(char::is_control));
        if claims.sub.trim().is_empty() || claims.sub.len() > 255 || has_control {
            return Err(ApiError::Unauthorized("Invalid or expired bearer token"));
        }
        Ok(Caller {
            user_id: claims.sub,
            email: claims.email.map(|e| e.trim().to_lowercase()),
            is_super_admin: claims.is_super_admin,
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
            anyhow::anyhow!("minting needs JWT_SECRET (HS256); a public key cannot sign")
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

/// What the security checkers need; attached to every request by `build_app`.
#[derive(Clone)]
pub struct AuthState {
    pub verifier: Arc<JwtVerifier>,
    pub db: DatabaseConnection,
}

fn auth_state(req: &Request) -> Result<&AuthState, ApiError> {
    req.data::<AuthState>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("AuthState is not attached")))
}

// Any valid bearer token.
/// A JWT in the `Authorization: Bearer` header, verified as RFC8725 (JWT best practices)
/// asks: only the configured algorithm is accepted (`alg: none` and algorithm
/// confusion are refused), `exp` is required, `nbf`, `iss` and `aud` are checked, and unknown
/// `crit` extensions are refused. Organization-scoped operations also take the `x-org-id`
/// header and check the caller's role in that organization.
#[derive(SecurityScheme)]
#[oai(
    rename = "bearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_caller"
)]
pub struct Authenticated(pub Caller);

// The caller must be an `ORG_ADMIN` (or super admin) of the `x-org-id` organization.
/// A JWT in the `Authorization: Bearer` header, verified as RFC8725 (JWT best practices)
/// asks: only the configured algorithm is accepted (`alg: none` and algorithm
/// confusion are refused), `exp` is required, `nbf`, `iss` and `aud` are checked, and unknown
/// `crit` extensions are refused. Organization-scoped operations also take the `x-org-id`
/// header and check the caller's role in that organization.
#[derive(SecurityScheme)]
#[oai(
    rename = "bearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_org_admin"
)]
pub struct OrgAdmin(pub OrgContext);

// The caller must be a member (or super admin) of the `x-org-id` organization.
/// A JWT in the `Authorization: Bearer` header, verified as RFC8725 (JWT best practices)
/// asks: only the configured algorithm is accepted (`alg: none` and algorithm
/// confusion are refused), `exp` is required, `nbf`, `iss` and `aud` are checked, and unknown
/// `crit` extensions are refused. Organization-scoped operations also take the `x-org-id`
/// header and check the caller's role in that organization.
#[derive(SecurityScheme)]
#[oai(
    rename = "bearerAuth",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_org_member"
)]
pub struct OrgMember(pub OrgContext);

async fn check_caller(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    Ok(auth_state(req)?.verifier.verify(&bearer.token)?)
}

async fn check_org_admin(req: &Request, bearer: Bearer) -> poem::Result<OrgContext> {
    let ctx = org_context(req, &bearer).await?;
    if ctx.role != OrgRole::OrgAdmin {
        return Err(ApiError::InsufficientOrgPermissions.into());
    }
    Ok(ctx)
}

async fn check_org_member(req: &Request, bearer: Bearer) -> poem::Result<OrgContext> {
    Ok(org_context(req, &bearer).await?)
}

async fn org_context(req: &Request, bearer: &Bearer) -> Result<OrgContext, ApiError> {
    let state = auth_state(req)?;
    let caller = state.verifier.verify(&bearer.token)?;
    let organization_id = org_header(req)?;
    if caller.is_super_admin {
        return Ok(OrgContext {
            organization_id,
            caller,
            role: OrgRole::OrgAdmin,
        });
    }
    let role = service::members::role_of(&state.db, organization_id, &caller.user_id)
        .await?
        .ok_or(ApiError::OrgMembershipRequired)?;
    Ok(OrgContext {
        organization_id,
        caller,
        role,
    })
}

/// Empty or missing: context required. Repeated or malformed: not a UUID.
fn org_header(req: &Request) -> Result<Uuid, ApiError> {
    let mut values = req.headers().get_all(ORG_HEADER).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(ApiError::InvalidUuid(ORG_HEADER));
    }
    let raw = match first {
        None => return Err(ApiError::OrgContextRequired),
        Some(v) if v.as_bytes().iter().all(u8::is_ascii_whitespace) => {
            return Err(ApiError::OrgContextRequired);
        }
        Some(v) => v.to_str().map_err(|_| ApiError::InvalidUuid(ORG_HEADER))?,
    };
    parse_uuid(raw.trim()).ok_or(ApiError::InvalidUuid(ORG_HEADER))
}
