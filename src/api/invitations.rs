//! `/api/v1/invitations`: list, create, get, revoke, resend.

mod cursor;
mod dto;

pub use dto::{CreateInvitationRequest, InvitationDto, InvitationPage};
use poem_openapi::{
    OpenApi,
    param::{Header, Path, Query},
};

use super::{
    ApiTags,
    body::JsonBody,
    errors::{
        ErrorResponse,
        docs::{
            E400_CREATE, E400_LIST, E400_RESEND, E400_REVOKE, E400_UUID, E401, E403_ORG_ADMIN,
            E404_INVITATION, E409_CREATE, E409_RESEND, E413, E415, E429, E500, E503,
        },
        error_set,
    },
    params,
    responses::{Confirmation, Created, Said, ok_response},
    types::{
        InvitationId, InvitationStatus, OrgId, Role, Trimmed, default_limit, default_page, paging,
    },
};
use crate::{
    auth::OrgAdmin,
    error::ApiError,
    routes::KnownQuery,
    service::invitations::{InvitationService, ListQuery},
};

ok_response!(
    /// A page of invitations.
    ListInvitationsResponse(InvitationPage),
    "The requested page and its paging information."
);

ok_response!(
    /// One invitation.
    InvitationResponse(InvitationDto),
    "The invitation."
);

/// What a revoke answers.
pub struct Revoked;

impl Said for Revoked {
    const MESSAGE: &'static str = "Invitation revoked";
    const DESCRIPTION: &'static str = "The invitation is now `REVOKED`.";
}

error_set!(ListErrors: [E400_LIST, E401, E403_ORG_ADMIN, E429, E500, E503]);
error_set!(CreateErrors: [E400_CREATE, E401, E403_ORG_ADMIN, E409_CREATE, E413, E415, E429, E500, E503]);
error_set!(GetErrors: [E400_UUID, E401, E403_ORG_ADMIN, E404_INVITATION, E429, E500, E503]);
error_set!(ResendErrors: [E400_RESEND, E401, E403_ORG_ADMIN, E404_INVITATION, E409_RESEND, E429, E500, E503]);
error_set!(RevokeErrors: [E400_REVOKE, E401, E403_ORG_ADMIN, E404_INVITATION, E429, E500, E503]);

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
    /// still reports the true `meta`; `meta.total` is exact.
    ///
    /// Every answer carries `meta.nextCursor` (`null` on the last page). Passing it back as
    /// `cursor`, with the same `status`, `role`, `email` and `limit`, returns the following page
    /// at the same cost however deep the walk (keyset paging), so a client can start with page 1
    /// and continue by cursor. In cursor mode `meta.page` is the page number the cursor leads to
    /// (counted in pages of `limit` from where the walk started); `cursor` cannot be combined
    /// with `page`. A malformed or modified cursor, or one used with other filters or another
    /// `limit`, is a `VALIDATION_ERROR` naming `cursor`. Requires `ORG_ADMIN` (or super admin).
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
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// Page number, starting at 1.
        #[oai(
            default = "default_page",
            example = "default_page",
            validator(minimum(value = "1"), maximum(value = "2147483647"))
        )]
        page: Query<i64>,
        /// Page size, 1 to 100.
        #[oai(
            default = "default_limit",
            example = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<i64>,
        /// Only invitations in this state.
        status: Query<Option<Trimmed<InvitationStatus>>>,
        /// Only invitations for this role.
        role: Query<Option<Trimmed<Role>>>,
        /// Only invitations whose email contains this text (case-insensitive; trimmed).
        #[oai(
            example = "params::email_filter_example",
            validator(max_length = 254, pattern = r"^[^\x00]*$")
        )]
        email: Query<Option<String>>,
        /// Continue a walk: the `meta.nextCursor` of the previous page (opaque). Not with
        /// `page`; `status`, `role`, `email` and `limit` must repeat the previous request's.
        #[oai(example = "params::cursor_example", validator(max_length = 200))]
        cursor: Query<Option<String>>,
        req: &poem::Request,
    ) -> Result<ListInvitationsResponse, ErrorResponse<ListErrors>> {
        let org = auth.0.organization_id;
        let (page, limit) = paging(page.0, limit.0);
        let mut query = ListQuery {
            page,
            limit,
            status: status.0.map(|s| s.0.into()),
            role: role.0.map(|r| r.0.into()),
            email: email
                .0
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty()),
            after: None,
        };
        if let Some(raw) = cursor.0 {
            if names_page(req) {
                return Err(ApiError::validation("cursor: cannot be combined with page").into());
            }
            let decoded = cursor::decode(&raw, org, &query)?;
            query.page = decoded.page;
            query.after = Some(decoded.after);
        }
        let found = self.service.list(org, &query).await?;
        let next = found
            .next
            .map(|after| cursor::encode(org, &query, query.page.saturating_add(1), after));
        Ok(ListInvitationsResponse(InvitationPage {
            data: found.items.into_iter().map(Into::into).collect(),
            meta: cursor::ListMeta::new(query.page, limit, found.total, next),
        }))
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
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        body: JsonBody<CreateInvitationRequest>,
    ) -> Result<Created<InvitationDto>, ErrorResponse<CreateErrors>> {
        let ctx = auth.0;
        let role = body.0.role.0.unwrap_or(Role::Viewer);
        let invitation = self
            .service
            .create(
                ctx.organization_id,
                &body.0.email.0,
                role.into(),
                &ctx.caller.user_id,
            )
            .await?;
        let location = format!("/api/v1/invitations/{}", invitation.row.id);
        Ok(Created {
            body: invitation.into(),
            location,
        })
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
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// The invitation's id.
        id: Path<InvitationId>,
    ) -> Result<InvitationResponse, ErrorResponse<GetErrors>> {
        let invitation = self.service.get(auth.0.organization_id, id.0.0).await?;
        Ok(InvitationResponse(invitation.into()))
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
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// The invitation's id.
        id: Path<InvitationId>,
    ) -> Result<Confirmation<Revoked>, ErrorResponse<RevokeErrors>> {
        self.service.revoke(auth.0.organization_id, id.0.0).await?;
        Ok(Confirmation::new())
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
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// The invitation's id.
        id: Path<InvitationId>,
    ) -> Result<InvitationResponse, ErrorResponse<ResendErrors>> {
        let ctx = auth.0;
        let invitation = self
            .service
            .resend(ctx.organization_id, id.0.0, &ctx.caller.user_id)
            .await?;
        Ok(InvitationResponse(invitation.into()))
    }
}

/// Whether the query string names `page` (its default cannot be told from an explicit 1).
fn names_page(req: &poem::Request) -> bool {
    let query = req.uri().query().unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "page")
}
