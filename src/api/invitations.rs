//! `/api/v1/invitations`: list, create, get, revoke.

use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    ApiTags,
    body::{FromJsonBody, JsonBody, optional_enum, required_string},
    errors::{
        E400_RESEND, E400_REVOKE, E400_UUID, E400_VALIDATION, E401, E403_ORG_ADMIN,
        E404_INVITATION, E409_CREATE, E409_RESEND, E413, E415, E500, E503, ErrorResponse,
        error_set,
    },
    types::{
        InvitationStatus, MessageResponse, Nullable, NullableTimestamp, PageMeta, Role, Timestamp,
    },
};
use crate::{
    auth::OrgAdmin,
    error::ApiError,
    service::invitations::{self as svc, InvitationService, ListQuery},
};

/// An invitation to join an organization.
#[derive(Object, Clone, Debug)]
#[oai(rename = "Invitation", rename_all = "camelCase")]
pub struct InvitationDto {
    /// The invitation's id.
    pub id: Uuid,
    /// The organization the invitee is invited to (the `x-org-id` it was created under).
    pub organization_id: Uuid,
    /// The invitee's email, trimmed and lower-cased.
    pub email: String,
    /// The role the invitee will have once they accept.
    pub role: Role,
    /// The invitation's state; a pending invitation past `expiresAt` reads `EXPIRED`.
    pub status: InvitationStatus,
    /// The `sub` of whoever created (or last resent) the invitation.
    pub invited_by: String,
    /// When the invitation stops being usable.
    pub expires_at: Timestamp,
    /// When it was accepted, or `null`.
    pub accepted_at: NullableTimestamp,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl From<svc::Invitation> for InvitationDto {
    fn from(inv: svc::Invitation) -> Self {
        let row = inv.row;
        Self {
            id: row.id,
            organization_id: row.organization_id,
            email: row.email,
            role: row.role.into(),
            status: inv.status.into(),
            invited_by: row.invited_by,
            expires_at: Timestamp(row.expires_at),
            accepted_at: NullableTimestamp(row.accepted_at),
            created_at: Timestamp(row.created_at),
            updated_at: Timestamp(row.updated_at),
        }
    }
}

/// One page of invitations.
#[derive(Object, Clone, Debug)]
#[oai(rename = "InvitationPage")]
pub struct InvitationPage {
    /// The invitations on this page, newest first.
    pub data: Vec<InvitationDto>,
    /// Paging information.
    pub meta: PageMeta,
}

/// What to invite.
#[derive(Object, Clone, Debug)]
#[oai(rename = "CreateInvitationRequest")]
pub struct CreateInvitationRequest {
    /// The invitee's email address. Compared case-insensitively; stored trimmed and
    /// lower-cased.
    #[oai(validator(
        max_length = 254,
        pattern = r"^[\t\n\x0b\x0c\r ]*[^@ \x00-\x1f\x7f-\x9f]+@[^@ \x00-\x1f\x7f-\x9f]+\.[^@ \x00-\x1f\x7f-\x9f]+[\t\n\x0b\x0c\r ]*$"
    ))]
    pub email: String,
    /// The role the invitee gets on acceptance; `VIEWER` when absent or `null`.
    pub role: Nullable<Role>,
}

impl FromJsonBody for CreateInvitationRequest {
    fn from_json_body(body: &Map<String, Value>) -> Result<Self, Vec<String>> {
        let mut errors = Vec::new();
        let email = required_string(body, "email", 254, &mut errors);
        if let Some(email) = &email
            && !is_email(email)
        {
            errors.push("email: must be a valid email address".to_owned());
        }
        let role = optional_enum(body, "role", ROLES, &mut errors);
        match email {
            Some(email) if errors.is_empty() => Ok(Self {
                email,
                role: Nullable(role),
            }),
            _ => Err(errors),
        }
    }
}

const ROLES: &[(&str, Role)] = &[
    ("ORG_ADMIN", Role::OrgAdmin),
    ("OPERATOR", Role::Operator),
    ("VIEWER", Role::Viewer),
];

/// Exactly the check the `email` pattern in the spec describes: optional ASCII whitespace
/// around `local@domain.tld`, whose parts contain no `@`, space or control character (C0 or C1).
fn is_email(raw: &str) -> bool {
    let trimmed = raw.trim_matches(|c| matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' '));
    let bad = |c: char| c == '@' || c == ' ' || c.is_control();
    let Some((local, domain)) = trimmed.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.chars().any(bad)
        && !domain.chars().any(bad)
        && domain
            .char_indices()
            .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
}

/// A page of invitations.
#[derive(ApiResponse)]
pub enum ListInvitationsResponse {
    /// The requested page and its paging information.
    #[oai(status = 200)]
    Ok(Json<InvitationPage>),
}

/// One invitation.
#[derive(ApiResponse)]
pub enum InvitationResponse {
    /// The invitation.
    #[oai(status = 200)]
    Ok(Json<InvitationDto>),
}

/// The invitation was revoked.
#[derive(ApiResponse)]
pub enum RevokeInvitationResponse {
    /// The invitation is now `REVOKED`.
    #[oai(status = 200)]
    Ok(Json<MessageResponse>),
}

/// The invitation was created.
#[derive(ApiResponse)]
pub enum CreateInvitationResponse {
    /// The invitation was created and its email queued.
    #[oai(status = 201)]
    Created(
        Json<InvitationDto>,
        /// Where the new invitation can be read.
        #[oai(header = "Location")]
        String,
    ),
}

error_set!(ListErrors: [E400_VALIDATION, E401, E403_ORG_ADMIN, E500, E503]);
error_set!(CreateErrors: [E400_VALIDATION, E401, E403_ORG_ADMIN, E409_CREATE, E413, E415, E500, E503]);
error_set!(GetErrors: [E400_UUID, E401, E403_ORG_ADMIN, E404_INVITATION, E500, E503]);
error_set!(ResendErrors: [E400_RESEND, E401, E403_ORG_ADMIN, E404_INVITATION, E409_RESEND, E500, E503]);
error_set!(RevokeErrors: [E400_REVOKE, E401, E403_ORG_ADMIN, E404_INVITATION, E500, E503]);

pub(crate) fn default_page() -> i64 {
    1
}

pub(crate) fn default_limit() -> i64 {
    20
}

/// The invitations resource.
pub struct InvitationsApi {
    pub service: InvitationService,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Invitations")]
impl InvitationsApi {
    /// List invitations
    ///
    /// Lists the organization's invitations, newest first (`createdAt` then `id`, descending),
    /// one page at a time. `status`, `role` and `email` narrow the list; `status=EXPIRED` also
    /// finds pending invitations whose `expiresAt` has passed. A page past the end is empty and
    /// still reports the true `meta`. Requires `ORG_ADMIN` (or super admin).
    #[oai(
        path = "/invitations",
        method = "get",
        operation_id = "listInvitations"
    )]
    // Each argument is one documented HTTP parameter; poem-openapi reads them positionally.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        auth: OrgAdmin,
        /// The UUID of the organization to act on.
        #[oai(
            name = "x-org-id",
            validator(
                pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
            )
        )]
        _org: Header<String>,
        /// Page number, starting at 1.
        #[oai(
            default = "default_page",
            validator(minimum(value = "1"), maximum(value = "2147483647"))
        )]
        page: Query<i64>,
        /// Page size, 1 to 100.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<i64>,
        /// Only invitations in this state.
        status: Query<Option<InvitationStatus>>,
        /// Only invitations for this role.
        role: Query<Option<Role>>,
        /// Only invitations whose email contains this text (case-insensitive).
        #[oai(validator(max_length = 254, pattern = r"^[^\x00]*$"))]
        email: Query<Option<String>>,
    ) -> Result<ListInvitationsResponse, ErrorResponse<ListErrors>> {
        let email = match email.0.as_deref().map(str::trim) {
            Some(e) if e.contains('\0') => {
                return Err(ApiError::validation("email: must not contain NUL characters").into());
            }
            Some("") | None => None,
            Some(e) => Some(e.to_lowercase()),
        };
        // The validators above bound both values, so the conversions cannot fail.
        let page = u32::try_from(page.0).unwrap_or(1);
        let limit = u32::try_from(limit.0).unwrap_or(20);
        let query = ListQuery {
            page: page.into(),
            limit: limit.into(),
            status: status.0.map(Into::into),
            role: role.0.map(Into::into),
            email,
        };
        let (items, total) = self.service.list(auth.0.organization_id, &query).await?;
        Ok(ListInvitationsResponse::Ok(Json(InvitationPage {
            data: items.into_iter().map(Into::into).collect(),
            meta: PageMeta::new(page, limit, total),
        })))
    }

    /// Create an invitation
    ///
    /// Invites an email address to the organization with a role (default `VIEWER`). The
    /// invitation starts `PENDING` and expires after the configured TTL (7 days by default).
    /// Fails with `ALREADY_A_MEMBER` when the email belongs to a member, and with `CONFLICT`
    /// when a pending, unexpired invitation for it exists; an expired one does not block.
    /// Requires `ORG_ADMIN` (or super admin).
    #[oai(
        path = "/invitations",
        method = "post",
        operation_id = "createInvitation"
    )]
    async fn create(
        &self,
        auth: OrgAdmin,
        /// The UUID of the organization to act on.
        #[oai(
            name = "x-org-id",
            validator(
                pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
            )
        )]
        _org: Header<String>,
        body: JsonBody<CreateInvitationRequest>,
    ) -> Result<CreateInvitationResponse, ErrorResponse<CreateErrors>> {
        let ctx = auth.0;
        let role = body.0.role.0.unwrap_or(Role::Viewer);
        let invitation = self
            .service
            .create(
                ctx.organization_id,
                &body.0.email,
                role.into(),
                &ctx.caller.user_id,
            )
            .await?;
        let location = format!("/api/v1/invitations/{}", invitation.row.id);
        Ok(CreateInvitationResponse::Created(
            Json(invitation.into()),
            location,
        ))
    }

    /// Get an invitation
    ///
    /// Returns one of the organization's invitations. An id that belongs to another
    /// organization is reported as not found. Requires `ORG_ADMIN` (or super admin).
    #[oai(
        path = "/invitations/:id",
        method = "get",
        operation_id = "getInvitation"
    )]
    async fn get(
        &self,
        auth: OrgAdmin,
        /// The UUID of the organization to act on.
        #[oai(
            name = "x-org-id",
            validator(
                pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
            )
        )]
        _org: Header<String>,
        /// The invitation's id.
        id: Path<Uuid>,
    ) -> Result<InvitationResponse, ErrorResponse<GetErrors>> {
        let invitation = self.service.get(auth.0.organization_id, id.0).await?;
        Ok(InvitationResponse::Ok(Json(invitation.into())))
    }

    /// Revoke an invitation
    ///
    /// Revokes a pending invitation: it stays on record with status `REVOKED` and can no
    /// longer be accepted. Only `PENDING` invitations can be revoked. Requires `ORG_ADMIN`
    /// (or super admin).
    #[oai(
        path = "/invitations/:id",
        method = "delete",
        operation_id = "revokeInvitation"
    )]
    async fn revoke(
        &self,
        auth: OrgAdmin,
        /// The UUID of the organization to act on.
        #[oai(
            name = "x-org-id",
            validator(
                pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
            )
        )]
        _org: Header<String>,
        /// The invitation's id.
        id: Path<Uuid>,
    ) -> Result<RevokeInvitationResponse, ErrorResponse<RevokeErrors>> {
        self.service.revoke(auth.0.organization_id, id.0).await?;
        Ok(RevokeInvitationResponse::Ok(Json(MessageResponse {
            message: "Invitation revoked".to_owned(),
        })))
    }

    /// Resend an invitation
    ///
    /// Issues a new token (the old one stops working), sets `expiresAt` to now plus the TTL,
    /// makes the invitation `PENDING` again and queues a new email. Allowed for `PENDING` and
    /// `EXPIRED` invitations. Requires `ORG_ADMIN` (or super admin).
    #[oai(
        path = "/invitations/:id/resend",
        method = "post",
        operation_id = "resendInvitation"
    )]
    async fn resend(
        &self,
        auth: OrgAdmin,
        /// The UUID of the organization to act on.
        #[oai(
            name = "x-org-id",
            validator(
                pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
            )
        )]
        _org: Header<String>,
        /// The invitation's id.
        id: Path<Uuid>,
    ) -> Result<InvitationResponse, ErrorResponse<ResendErrors>> {
        let ctx = auth.0;
        let invitation = self
            .service
            .resend(ctx.organization_id, id.0, &ctx.caller.user_id)
            .await?;
        Ok(InvitationResponse::Ok(Json(invitation.into())))
    }
}
