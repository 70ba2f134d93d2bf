//! `/api/v1/invitations`: list, create, get, revoke, resend.

mod bulk;
mod cursor;
mod dto;

use std::time::Duration;

pub use bulk::{BulkCreateRequest, BulkResponse, BulkResult};
pub use dto::{
    CreateInvitationRequest, DeliveryDto, DeliveryStatus, InvitationDto, InvitationPage,
    UpdateInvitationRequest,
};
use poem::Request;
use poem_openapi::{
    OpenApi,
    param::{Header, Path, Query},
};
use sea_orm::DatabaseConnection;

use super::{
    ApiTags,
    body::JsonBody,
    errors::{
        ErrorResponse,
        docs::{
            E400_BULK, E400_CREATE, E400_LIST, E400_RESEND, E400_REVOKE, E400_UPDATE, E400_UUID,
            E401, E403_ORG_ADMIN, E404_INVITATION, E409_BULK, E409_CREATE, E409_RESEND, E413, E415,
            E422_IDEMPOTENCY, E429, E429_RESEND, E500, E503,
        },
        error_set,
    },
    idempotency::{Idempotent, claim},
    params,
    responses::{Confirmation, Created, Said, ok_response},
    types::{
        IdempotencyKey, InvitationId, InvitationStatus, OrgId, Role, Trimmed, default_limit,
        default_page, paging,
    },
};
use crate::{
    auth::{OrgAdmin, OrgContext},
    error::ApiError,
    middleware::RequestId,
    routes::KnownQuery,
    service::{
        events::Actor,
        invitations::{Changes, InvitationService, ListQuery},
    },
};

ok_response!(
    /// A page of invitations.
    serialize ListInvitationsResponse(InvitationPage),
    "The requested page and its paging information."
);

ok_response!(
    /// One invitation.
    serialize InvitationResponse(InvitationDto),
    "The invitation."
);

ok_response!(
    /// The outcome of a batch.
    BulkCreateResponse(BulkResponse),
    "Every item's outcome, in request order: `status` 201 with the `invitation`, or the \
     status and `error` envelope a single create would have answered."
);

/// What a revoke answers.
pub struct Revoked;

impl Said for Revoked {
    const MESSAGE: &'static str = "Invitation revoked";
    const DESCRIPTION: &'static str = "The invitation is now `REVOKED`.";
}

error_set!(ListErrors: [E400_LIST, E401, E403_ORG_ADMIN, E429, E500, E503]);
error_set!(CreateErrors: [E400_CREATE, E401, E403_ORG_ADMIN, E409_CREATE, E413, E415, E422_IDEMPOTENCY, E429, E500, E503]);
error_set!(BulkErrors: [E400_BULK, E401, E403_ORG_ADMIN, E409_BULK, E413, E415, E422_IDEMPOTENCY, E429, E500, E503]);
error_set!(UpdateErrors: [E400_UPDATE, E401, E403_ORG_ADMIN, E404_INVITATION, E413, E415, E429, E500, E503]);
error_set!(GetErrors: [E400_UUID, E401, E403_ORG_ADMIN, E404_INVITATION, E429, E500, E503]);
error_set!(ResendErrors: [E400_RESEND, E401, E403_ORG_ADMIN, E404_INVITATION, E409_RESEND, E422_IDEMPOTENCY, E429_RESEND, E500, E503]);
error_set!(RevokeErrors: [E400_REVOKE, E401, E403_ORG_ADMIN, E404_INVITATION, E429, E500, E503]);

/// The invitations resource.
pub struct InvitationsApi {
    pub service: InvitationService,
    /// Where idempotency keys are kept.
    pub db: DatabaseConnection,
    /// How long a running request holds its idempotency key before it is presumed gone.
    pub key_hold: Duration,
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
    /// (counted in pages of `limit` from where the walk started) and `page` is ignored. A
    /// malformed or modified cursor, or one used with other filters or another
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
        /// Continue a walk: the `meta.nextCursor` of the previous page (opaque base64url);
        /// `page` is then ignored, and `status`, `role`, `email` and `limit` must repeat the
        /// previous request's.
        #[oai(
            example = "params::cursor_example",
            validator(max_length = 200, pattern = r"^[A-Za-z0-9_-]*$")
        )]
        cursor: Query<Option<String>>,
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
    /// invitation starts `PENDING` and expires at `expiresAt` when given (between now + 5
    /// minutes and now + `INVITATION_MAX_TTL`), else after the configured TTL (7 days by
    /// default); its email is queued at once. Fails with `ALREADY_A_MEMBER` when the email
    /// belongs to a member, and with `CONFLICT` when a pending, unexpired invitation for it
    /// exists (`details.invitationId` names it); an expired one does not block.
    ///
    /// With an `Idempotency-Key`, a retry with the same body within 24 hours answers the
    /// first answer again (`Idempotent-Replayed: true`) instead of creating anything.
    /// Requires `ORG_ADMIN` (or super admin).
    #[oai(
        path = "/invitations",
        method = "post",
        operation_id = "createInvitation"
    )]
    async fn create(
        &self,
        req: &Request,
        auth: OrgAdmin,
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// Makes retries safe: 1–255 printable ASCII characters, unique per request you mean.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<IdempotencyKey>>,
        body: JsonBody<CreateInvitationRequest>,
    ) -> Result<Idempotent<Created<InvitationDto>>, ErrorResponse<CreateErrors>> {
        let ctx = auth.0;
        if let Some(replay) = self
            .claim(
                req,
                ctx.organization_id,
                &ctx.caller.user_id,
                key.0.as_ref(),
            )
            .await?
        {
            return Ok(replay);
        }
        let invitation = self
            .service
            .create(ctx.organization_id, body.0.into_new(), &actor(req, &ctx))
            .await?;
        let location = format!("/api/v1/invitations/{}", invitation.row.id);
        Ok(Idempotent::Fresh(Created {
            body: invitation.into(),
            location,
        }))
    }

    /// Create invitations in bulk
    ///
    /// Creates up to 100 invitations in one request. Each item is judged exactly as the body
    /// of `createInvitation` would be, and succeeds or fails on its own: the answer lists
    /// every item in request order with the status a single create would have answered (201
    /// with the `invitation`, or 400/409 with its `error` envelope). A second occurrence of
    /// one email in the batch is that item's `CONFLICT`. One email is queued per created
    /// invitation. Only a body that is not an object with an `invitations` array of 1 to 100
    /// items fails as a whole. Honours `Idempotency-Key` as `createInvitation` does.
    /// Requires `ORG_ADMIN` (or super admin).
    #[oai(
        path = "/invitations/bulk",
        method = "post",
        operation_id = "bulkCreateInvitations"
    )]
    async fn bulk_create(
        &self,
        req: &Request,
        auth: OrgAdmin,
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// Makes retries safe: 1–255 printable ASCII characters, unique per request you mean.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<IdempotencyKey>>,
        body: JsonBody<BulkCreateRequest>,
    ) -> Result<Idempotent<BulkCreateResponse>, ErrorResponse<BulkErrors>> {
        let ctx = auth.0;
        if let Some(replay) = self
            .claim(
                req,
                ctx.organization_id,
                &ctx.caller.user_id,
                key.0.as_ref(),
            )
            .await?
        {
            return Ok(replay);
        }
        let items = body
            .0
            .invitations
            .into_iter()
            .map(|item| item.0)
            .collect::<Vec<_>>();
        let wanted = items
            .iter()
            .map(|item| item.as_ref().ok().map(|r| r.clone().into_new()))
            .collect();
        let outcomes = self
            .service
            .create_many(ctx.organization_id, wanted, &actor(req, &ctx))
            .await?;
        let results = BulkResult::all(items, outcomes);
        Ok(Idempotent::Fresh(BulkCreateResponse(BulkResponse::new(
            results,
        ))))
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

    /// Update an invitation
    ///
    /// Changes the `role` and/or `expiresAt` (between now + 5 minutes and now +
    /// `INVITATION_MAX_TTL`) of a live pending invitation; the token stays valid and no new
    /// email is sent. A body with neither field is refused. Requires `ORG_ADMIN` (or super
    /// admin).
    #[oai(
        path = "/invitations/:id",
        method = "patch",
        operation_id = "updateInvitation"
    )]
    async fn update(
        &self,
        req: &Request,
        auth: OrgAdmin,
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// The invitation's id.
        id: Path<InvitationId>,
        body: JsonBody<UpdateInvitationRequest>,
    ) -> Result<InvitationResponse, ErrorResponse<UpdateErrors>> {
        let changes = Changes {
            role: body.0.role.0.map(Into::into),
            expires_at: body.0.expires_at.and_then(|t| t.0),
        };
        if changes.role.is_none() && changes.expires_at.is_none() {
            return Err(ApiError::validation("body: must set role or expiresAt").into());
        }
        let invitation = self
            .service
            .update(
                auth.0.organization_id,
                id.0.0,
                changes,
                &actor(req, &auth.0),
            )
            .await?;
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
        req: &Request,
        auth: OrgAdmin,
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// The invitation's id.
        id: Path<InvitationId>,
    ) -> Result<Confirmation<Revoked>, ErrorResponse<RevokeErrors>> {
        let actor = actor(req, &auth.0);
        self.service
            .revoke(auth.0.organization_id, id.0.0, &actor)
            .await?;
        Ok(Confirmation::new())
    }

    /// Resend an invitation
    ///
    /// Issues a new token (the old one stops working), sets `expiresAt` to now plus the TTL,
    /// makes the invitation `PENDING` again and queues a new email. Allowed for `PENDING` and
    /// `EXPIRED` invitations, and not within `RESEND_COOLDOWN` (60 s by default) of the
    /// latest email (`lastSentAt`): that is a 429 with `Retry-After`, enforced in the database
    /// across instances. Honours `Idempotency-Key` as `createInvitation` does. Requires
    /// `ORG_ADMIN` (or super admin).
    #[oai(
        path = "/invitations/:id/resend",
        method = "post",
        operation_id = "resendInvitation"
    )]
    async fn resend(
        &self,
        req: &Request,
        auth: OrgAdmin,
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// Makes retries safe: 1–255 printable ASCII characters, unique per request you mean.
        #[oai(name = "Idempotency-Key")]
        key: Header<Option<IdempotencyKey>>,
        /// The invitation's id.
        id: Path<InvitationId>,
    ) -> Result<Idempotent<InvitationResponse>, ErrorResponse<ResendErrors>> {
        let ctx = auth.0;
        if let Some(replay) = self
            .claim(
                req,
                ctx.organization_id,
                &ctx.caller.user_id,
                key.0.as_ref(),
            )
            .await?
        {
            return Ok(replay);
        }
        let invitation = self
            .service
            .resend(ctx.organization_id, id.0.0, &actor(req, &ctx))
            .await?;
        Ok(Idempotent::Fresh(InvitationResponse(invitation.into())))
    }
}

impl InvitationsApi {
    /// The stored answer to replay for `key`, or `None` to go on (holding the key).
    async fn claim<R>(
        &self,
        req: &Request,
        organization_id: uuid::Uuid,
        caller: &str,
        key: Option<&IdempotencyKey>,
    ) -> Result<Option<Idempotent<R>>, ApiError> {
        let replay = claim(req, &self.db, organization_id, caller, key, self.key_hold).await?;
        Ok(replay.map(Idempotent::Replay))
    }
}

/// The caller and request an admin operation's events record.
fn actor(req: &Request, ctx: &OrgContext) -> Actor {
    Actor::user(&ctx.caller.user_id, RequestId::of(req))
}
