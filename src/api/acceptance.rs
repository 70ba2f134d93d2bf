//! The invitee's side: look an invitation up by its token, accept it, or decline it.

use poem_openapi::{Object, OpenApi, param::Query, types::Example};
use serde_json::Value;
use uuid::Uuid;

use super::{
    ApiTags,
    body::{JsonBody, JsonRequest},
    errors::{
        ErrorResponse,
        docs::{
            E400_TOKEN, E401, E403_TOKEN, E403_TOKEN_ACCEPT, E404_TOKEN, E409_ACCEPT, E409_TOKEN,
            E413, E415, E429, E500, E503,
        },
        error_set,
    },
    examples,
    invitations::InvitationDto,
    members::MemberDto,
    responses::{Confirmation, Said, ok_response},
    types::{Email, InvitationStatus, InvitationToken, Role, Timestamp, TokenQuery},
    validate::Violation,
};
use crate::{
    auth::Authenticated,
    error::ApiError,
    middleware::RequestId,
    ratelimit::PublicLimit,
    routes::KnownQuery,
    service::{acceptance::AcceptanceService, state::Invitation},
};

/// What an accept page shows about an invitation.
#[derive(Object, Clone, Debug)]
#[oai(rename = "InvitationLookup", rename_all = "camelCase", example)]
pub struct InvitationLookup {
    /// The invitation's id.
    pub id: Uuid,
    /// The organization the invitee is invited to.
    pub organization_id: Uuid,
    /// The invited email.
    pub email: Email,
    /// The role the invitee gets on acceptance.
    pub role: Role,
    /// Always `PENDING` for a lookup that succeeds.
    pub status: InvitationStatus,
    /// The `sub` of whoever sent the invitation.
    pub invited_by: String,
    /// When the invitation stops being usable.
    pub expires_at: Timestamp,
}

impl From<Invitation> for InvitationLookup {
    fn from(inv: Invitation) -> Self {
        Self {
            id: inv.row.id,
            organization_id: inv.row.organization_id,
            email: Email(inv.row.email),
            role: inv.row.role.into(),
            status: inv.status.into(),
            invited_by: inv.row.invited_by,
            expires_at: Timestamp(inv.row.expires_at),
        }
    }
}

impl Example for InvitationLookup {
    fn example() -> Self {
        let invitation = InvitationDto::example();
        Self {
            id: invitation.id,
            organization_id: invitation.organization_id,
            email: invitation.email,
            role: invitation.role,
            status: invitation.status,
            invited_by: invitation.invited_by,
            expires_at: invitation.expires_at,
        }
    }
}

/// An invitation token, as received in the invitation email.
#[derive(Object, Clone, Debug)]
#[oai(rename = "InvitationTokenRequest", example)]
pub struct TokenRequest {
    /// The token from the invitation link.
    pub token: InvitationToken,
}

impl JsonRequest for TokenRequest {
    /// An absent, `null` or blank token is `INVITATION_TOKEN_MISSING`, as the contract says;
    /// anything else that breaks the schema is a validation error.
    fn refused(body: &Value, violations: Vec<Violation>) -> ApiError {
        let missing = match body.get("token") {
            None | Some(Value::Null) => body.is_object(),
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        };
        if missing {
            return ApiError::InvitationTokenMissing;
        }
        ApiError::Validation(violations.iter().map(ToString::to_string).collect())
    }
}

impl Example for TokenRequest {
    fn example() -> Self {
        Self {
            token: InvitationToken(examples::TOKEN.to_owned()),
        }
    }
}

/// The invitation and the membership it created.
#[derive(Object, Clone, Debug)]
#[oai(rename = "AcceptInvitationResult", example)]
pub struct AcceptResult {
    /// The invitation, now `ACCEPTED`.
    pub invitation: InvitationDto,
    /// The caller's new membership.
    pub membership: MemberDto,
}

ok_response!(
    /// The invitation a token belongs to.
    LookupResponse(InvitationLookup),
    "The invitation is pending and may be accepted or declined."
);

ok_response!(
    /// The invitation was accepted.
    AcceptResponse(AcceptResult),
    "The caller is now a member of the organization."
);

impl Example for AcceptResult {
    fn example() -> Self {
        let mut invitation = InvitationDto::example();
        invitation.status = InvitationStatus::Accepted;
        invitation.accepted_at = crate::api::types::NullableTimestamp(Some(
            Timestamp::example_at(examples::TIMESTAMP).0,
        ));
        Self {
            invitation,
            membership: MemberDto::example(),
        }
    }
}

/// What a decline answers.
pub struct Declined;

impl Said for Declined {
    const MESSAGE: &'static str = "Invitation declined";
    const DESCRIPTION: &'static str = "The invitation is now `DECLINED`.";
}

error_set!(LookupErrors: [E400_TOKEN, E403_TOKEN, E404_TOKEN, E409_TOKEN, E429, E500, E503]);
error_set!(AcceptErrors: [E400_TOKEN, E401, E403_TOKEN_ACCEPT, E404_TOKEN, E409_ACCEPT, E413, E415, E429, E500, E503]);
error_set!(DeclineErrors: [E400_TOKEN, E403_TOKEN, E404_TOKEN, E409_TOKEN, E413, E415, E429, E500, E503]);

/// The token-holder's operations.
pub struct AcceptanceApi {
    pub service: AcceptanceService,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Invitations")]
impl AcceptanceApi {
    /// Look up an invitation by token
    ///
    /// Public: the token proves the mailbox. Returns what an accept page shows. Unknown,
    /// revoked and declined tokens are all `INVITATION_NOT_FOUND`.
    #[oai(
        path = "/invitations/lookup",
        method = "get",
        operation_id = "lookupInvitation"
    )]
    async fn lookup(
        &self,
        _limit: PublicLimit,
        _known: KnownQuery,
        /// The token from the invitation link.
        token: Query<TokenQuery>,
    ) -> Result<LookupResponse, ErrorResponse<LookupErrors>> {
        let token = token.0.0.ok_or(ApiError::InvitationTokenMissing)?;
        let invitation = self.service.lookup(&token.0).await?;
        Ok(LookupResponse(invitation.into()))
    }

    /// Accept an invitation
    ///
    /// The caller's token must carry an `email` claim equal to the invited email; otherwise
    /// the answer is `INVITATION_EMAIL_MISMATCH` and the invitation stays usable. In one
    /// transaction the invitation becomes `ACCEPTED` and the caller becomes a member with the
    /// invited role. Of several concurrent accepts of one token exactly one succeeds. No
    /// `x-org-id` is needed.
    #[oai(
        path = "/invitations/accept",
        method = "post",
        operation_id = "acceptInvitation"
    )]
    async fn accept(
        &self,
        req: &poem::Request,
        auth: Authenticated,
        _limit: PublicLimit,
        _known: KnownQuery,
        body: JsonBody<TokenRequest>,
    ) -> Result<AcceptResponse, ErrorResponse<AcceptErrors>> {
        let caller = auth.0;
        let accepted = self
            .service
            .accept(
                &body.0.token.0,
                &caller.user_id,
                caller.email.as_deref(),
                RequestId::of(req),
            )
            .await?;
        Ok(AcceptResponse(AcceptResult {
            invitation: accepted.invitation.into(),
            membership: accepted.membership.into(),
        }))
    }

    /// Decline an invitation
    ///
    /// Public: the token proves the mailbox. The invitation becomes `DECLINED` and its token
    /// stops working.
    #[oai(
        path = "/invitations/decline",
        method = "post",
        operation_id = "declineInvitation"
    )]
    async fn decline(
        &self,
        req: &poem::Request,
        _limit: PublicLimit,
        _known: KnownQuery,
        body: JsonBody<TokenRequest>,
    ) -> Result<Confirmation<Declined>, ErrorResponse<DeclineErrors>> {
        self.service
            .decline(&body.0.token.0, RequestId::of(req))
            .await?;
        Ok(Confirmation::new())
    }
}
