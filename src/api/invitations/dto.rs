//! The invitation wire types: what list/get/create return and what create accepts.

use poem_openapi::{Object, types::Example};
use uuid::Uuid;

use crate::{
    api::{
        body::JsonRequest,
        examples,
        types::{
            Email, InvitationStatus, NewEmail, NullableEnum, NullableTimestamp, Role, Timestamp,
        },
    },
    service::invitations as svc,
};

/// An invitation to join an organization.
#[derive(Object, Clone, Debug)]
#[oai(rename = "Invitation", rename_all = "camelCase", example)]
pub struct InvitationDto {
    /// The invitation's id.
    pub id: Uuid,
    /// The organization the invitee is invited to (the `x-org-id` it was created under).
    pub organization_id: Uuid,
    /// The invitee's email, trimmed and lower-cased.
    pub email: Email,
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
            email: Email(row.email),
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

impl Example for InvitationDto {
    fn example() -> Self {
        Self {
            id: examples::INVITATION_ID,
            organization_id: examples::ORG_ID,
            email: Email(examples::NEW_EMAIL.to_owned()),
            role: Role::Operator,
            status: InvitationStatus::Pending,
            invited_by: examples::INVITER_ID.to_owned(),
            expires_at: Timestamp::example_at(examples::LATER),
            accepted_at: NullableTimestamp(None),
            created_at: Timestamp::example_at(examples::TIMESTAMP),
            updated_at: Timestamp::example_at(examples::TIMESTAMP),
        }
    }
}

/// One page of invitations.
#[derive(Object, Clone, Debug)]
#[oai(rename = "InvitationPage", example)]
pub struct InvitationPage {
    /// The invitations on this page, newest first.
    pub data: Vec<InvitationDto>,
    /// Paging information.
    pub meta: super::cursor::ListMeta,
}

impl Example for InvitationPage {
    fn example() -> Self {
        Self {
            data: vec![InvitationDto::example()],
            meta: super::cursor::ListMeta::example(),
        }
    }
}

/// What to invite.
#[derive(Object, Clone, Debug)]
#[oai(rename = "CreateInvitationRequest", example)]
pub struct CreateInvitationRequest {
    /// The invitee's email address (at most 254 characters). Compared case-insensitively;
    /// stored trimmed and lower-cased.
    pub email: NewEmail,
    /// The role the invitee gets on acceptance; `VIEWER` when absent or `null`.
    pub role: NullableEnum<Role>,
}

impl JsonRequest for CreateInvitationRequest {}

impl Example for CreateInvitationRequest {
    fn example() -> Self {
        Self {
            email: NewEmail(examples::NEW_EMAIL.to_owned()),
            role: NullableEnum(Some(Role::Operator)),
        }
    }
}
