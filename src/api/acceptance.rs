//! The invitee's side: look an invitation up by its token, accept it, or decline it.

use poem::Request;
use poem_openapi::{ApiResponse, Object, OpenApi, param::Query, payload::Json};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    ApiTags,
    body::{FromJsonBody, JsonBody},
    errors::{
        E400_TOKEN, E401, E403_TOKEN, E403_TOKEN_ACCEPT, E404_TOKEN, E409_ACCEPT, E409_TOKEN, E413,
        E415, E500, E503, ErrorResponse, error_set,
    },
    invitations::InvitationDto,
    members::MemberDto,
    types::{InvitationStatus, MessageResponse, Role, Timestamp, TokenParam},
};
use crate::{
    auth::{Authenticated, check_query},
    error::ApiError,
    service::invitations::{Invitation, InvitationService},
};

/// What an accept page shows about an invitation.
#[derive(Object, Clone, Debug)]
#[oai(rename = "InvitationLookup", rename_all = "camelCase")]
pub struct InvitationLookup {
    /// The invitation's id.
    pub id: Uuid,
    /// The organization the invitee is invited to.
    pub organization_id: Uuid,
    /// The invited email.
    pub email: String,
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
            email: inv.row.email,
            role: inv.row.role.into(),
            status: inv.status.into(),
            invited_by: inv.row.invited_by,
            expires_at: Timestamp(inv.row.expires_at),
        }
    }
}

/// An invitation token, as received in the invitation email.
#[derive(Object, Clone, Debug)]
#[oai(rename = "InvitationTokenRequest")]
pub struct TokenRequest {
    /// The token from the invitation link.
    #[oai(validator(min_length = 1, pattern = "^[A-Za-z0-9_-]+$"))]
    pub token: String,
}

impl FromJsonBody for TokenRequest {
    fn from_json_body(body: &Map<String, Value>) -> Result<Self, Vec<String>> {
        match body.get("token") {
            // An absent token is INVITATION_TOKEN_MISSING, decided by the handler.
            None | Some(Value::Null) => Ok(Self {
                token: String::new(),
            }),
            Some(Value::String(s)) if s.contains('\0') => {
                Err(vec!["token: must not contain NUL characters".to_owned()])
            }
            Some(Value::String(s)) => Ok(Self { token: s.clone() }),
            Some(_) => Err(vec!["token: must be a string".to_owned()]),
        }
    }
}

/// The invitation and the membership it created.
#[derive(Object, Clone, Debug)]
#[oai(rename = "AcceptInvitationResult")]
pub struct AcceptResult {
    /// The invitation, now `ACCEPTED`.
    pub invitation: InvitationDto,
    /// The caller's new membership.
    pub membership: MemberDto,
}

/// The invitation a token belongs to.
#[derive(ApiResponse)]
pub enum LookupResponse {
    /// The invitation is pending and may be accepted or declined.
    #[oai(status = 200)]
    Ok(Json<InvitationLookup>),
}

/// The invitation was accepted.
#[derive(ApiResponse)]
pub enum AcceptResponse {
    /// The caller is now a member of the organization.
    #[oai(status = 200)]
    Ok(Json<AcceptResult>),
}

/// The invitation was declined.
#[derive(ApiResponse)]
pub enum DeclineResponse {
    /// The invitation is now `DECLINED`.
    #[oai(status = 200)]
    Ok(Json<MessageResponse>),
}

error_set!(LookupErrors: [E400_TOKEN, E403_TOKEN, E404_TOKEN, E409_TOKEN, E500, E503]);
error_set!(AcceptErrors: [E400_TOKEN, E401, E403_TOKEN_ACCEPT, E404_TOKEN, E409_ACCEPT, E413, E415, E500, E503]);
error_set!(DeclineErrors: [E400_TOKEN, E403_TOKEN, E404_TOKEN, E409_TOKEN, E413, E415, E500, E503]);

fn token_of(raw: Option<&str>) -> Result<&str, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Err(ApiError::InvitationTokenMissing),
        Some(t) if t.contains('\0') => Err(ApiError::validation(
            "token: must not contain NUL characters",
        )),
        Some(t) => Ok(t),
    }
}

/// The token-holder's operations.
pub struct AcceptanceApi {
    pub service: InvitationService,
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
        req: &Request,
        /// The token from the invitation link.
        token: Query<TokenParam>,
    ) -> Result<LookupResponse, ErrorResponse<LookupErrors>> {
        check_query(req)?;
        let token = token_of(token.0.0.as_deref())?;
        let invitation = self.service.lookup(token).await?;
        Ok(LookupResponse::Ok(Json(invitation.into())))
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
        auth: Authenticated,
        body: JsonBody<TokenRequest>,
    ) -> Result<AcceptResponse, ErrorResponse<AcceptErrors>> {
        let token = token_of(Some(&body.0.token))?;
        let caller = auth.0;
        let accepted = self
            .service
            .accept(token, &caller.user_id, caller.email.as_deref())
            .await?;
        Ok(AcceptResponse::Ok(Json(AcceptResult {
            invitation: accepted.invitation.into(),
            membership: accepted.membership.into(),
        })))
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
        req: &Request,
        body: JsonBody<TokenRequest>,
    ) -> Result<DeclineResponse, ErrorResponse<DeclineErrors>> {
        check_query(req)?;
        let token = token_of(Some(&body.0.token))?;
        self.service.decline(token).await?;
        Ok(DeclineResponse::Ok(Json(MessageResponse {
            message: "Invitation declined".to_owned(),
        })))
    }
}
