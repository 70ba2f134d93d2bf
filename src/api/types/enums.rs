//! The enums of the wire, mirrored from the entities so that the spec never shows a `Model`.

use poem_openapi::Enum;

use crate::entity;

/// A role inside an organization.
#[derive(Enum, serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "OrgRole", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Manages members and invitations.
    OrgAdmin,
    /// Operates the organization's resources; cannot manage members or invitations.
    Operator,
    /// Read-only access; cannot manage members or invitations.
    Viewer,
}

impl From<entity::OrgRole> for Role {
    fn from(role: entity::OrgRole) -> Self {
        match role {
            entity::OrgRole::OrgAdmin => Self::OrgAdmin,
            entity::OrgRole::Operator => Self::Operator,
            entity::OrgRole::Viewer => Self::Viewer,
        }
    }
}

impl From<Role> for entity::OrgRole {
    fn from(role: Role) -> Self {
        match role {
            Role::OrgAdmin => Self::OrgAdmin,
            Role::Operator => Self::Operator,
            Role::Viewer => Self::Viewer,
        }
    }
}

/// An invitation's state. A pending invitation past `expiresAt` is always reported `EXPIRED`.
#[derive(Enum, serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvitationStatus {
    /// Sent and still usable.
    Pending,
    /// Accepted: the invitee is now a member.
    Accepted,
    /// Declined by the invitee.
    Declined,
    /// Revoked by an organization admin.
    Revoked,
    /// Not used before `expiresAt`.
    Expired,
}

impl From<entity::InvitationStatus> for InvitationStatus {
    fn from(status: entity::InvitationStatus) -> Self {
        use entity::InvitationStatus as S;
        match status {
            S::Pending => Self::Pending,
            S::Accepted => Self::Accepted,
            S::Declined => Self::Declined,
            S::Revoked => Self::Revoked,
            S::Expired => Self::Expired,
        }
    }
}

impl From<InvitationStatus> for entity::InvitationStatus {
    fn from(status: InvitationStatus) -> Self {
        use InvitationStatus as S;
        match status {
            S::Pending => Self::Pending,
            S::Accepted => Self::Accepted,
            S::Declined => Self::Declined,
            S::Revoked => Self::Revoked,
            S::Expired => Self::Expired,
        }
    }
}
