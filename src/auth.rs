//! Bearer verification, organization context and roles.
//!
//! Each security scheme below is one way an operation can be authorised. They all render as the
//! same `bearerAuth` scheme in the spec; what differs is what the checker demands after the token
//! verified, in the order the contract fixes: token (401) -> `x-org-id` present (403) -> UUID
//! (400) -> membership (403) -> role (403). Because poem-openapi extracts arguments in order and
//! the scheme is each operation's first argument, these checks run before any path, query or
//! body validation.

pub mod jwks;
mod membership;
mod verifier;

use std::sync::Arc;

use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

pub use self::{
    membership::MembershipCache,
    verifier::{Claims, JwtVerifier},
};
pub use crate::api::types::parse_uuid;
use crate::{
    entity::OrgRole,
    error::ApiError,
    ratelimit::{self, Bucket},
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

/// What the security checkers need; attached to every request by `build_app`.
#[derive(Clone)]
pub struct AuthState {
    pub verifier: Arc<JwtVerifier>,
    pub db: DatabaseConnection,
    /// Roles recently read, trusted for at most `MEMBERSHIP_CACHE_TTL`.
    pub members: MembershipCache,
}

fn auth_state(req: &Request) -> Result<&AuthState, ApiError> {
    req.data::<AuthState>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("AuthState is not attached")))
}

// Any valid bearer token.
/// A JWT in the `Authorization: Bearer` header, verified as RFC8725 (JWT best practices)
/// asks: only the algorithm of the configured key is accepted (with `JWT_JWKS_URL`, that of
/// the key the token's `kid` selects; `alg: none` and algorithm confusion are refused), `exp` is required, `nbf`, `iss` and `aud` are checked, and unknown
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
/// asks: only the algorithm of the configured key is accepted (with `JWT_JWKS_URL`, that of
/// the key the token's `kid` selects; `alg: none` and algorithm confusion are refused), `exp` is required, `nbf`, `iss` and `aud` are checked, and unknown
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
/// asks: only the algorithm of the configured key is accepted (with `JWT_JWKS_URL`, that of
/// the key the token's `kid` selects; `alg: none` and algorithm confusion are refused), `exp` is required, `nbf`, `iss` and `aud` are checked, and unknown
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

// Rate limits (§9.1) are counted once authentication and the organization checks passed, so an
// anonymous or foreign caller never spends an organization's budget.

async fn check_caller(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    let caller = auth_state(req)?.verifier.verify(&bearer.token).await?;
    ratelimit::count(req, Bucket::Caller, &caller.user_id)?;
    Ok(caller)
}

async fn check_org_admin(req: &Request, bearer: Bearer) -> poem::Result<OrgContext> {
    let ctx = org_context(req, &bearer).await?;
    if ctx.role != OrgRole::OrgAdmin {
        return Err(ApiError::InsufficientOrgPermissions.into());
    }
    ratelimit::count(req, Bucket::Caller, &ctx.caller.user_id)?;
    // Every admin operation that is not a read changes invitations: the `writes` bucket.
    if req.method() != poem::http::Method::GET {
        ratelimit::count(req, Bucket::Writes, &ctx.organization_id.to_string())?;
    }
    Ok(ctx)
}

async fn check_org_member(req: &Request, bearer: Bearer) -> poem::Result<OrgContext> {
    let ctx = org_context(req, &bearer).await?;
    ratelimit::count(req, Bucket::Caller, &ctx.caller.user_id)?;
    Ok(ctx)
}

async fn org_context(req: &Request, bearer: &Bearer) -> Result<OrgContext, ApiError> {
    let state = auth_state(req)?;
    let caller = state.verifier.verify(&bearer.token).await?;
    let organization_id = org_header(req)?;
    if caller.is_super_admin {
        return Ok(OrgContext {
            organization_id,
            caller,
            role: OrgRole::OrgAdmin,
        });
    }
    let role = state
        .members
        .role_of(&state.db, organization_id, &caller.user_id)
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
