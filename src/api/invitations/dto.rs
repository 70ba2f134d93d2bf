//! The invitation wire types: what list/get/create return and what create accepts.

use poem_openapi::Object;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    api::{
        body::{FromJsonBody, optional_enum, required_string},
        types::{InvitationStatus, Nullable, NullableTimestamp, PageMeta, Role, Timestamp},
    },
    service::invitations as svc,
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
