//! The invitation wire types: what list/get/create return and what create accepts.

use poem_openapi::{Enum, Object, types::Example};
use uuid::Uuid;

use crate::{
    api::{
        body::JsonRequest,
        examples,
        types::{
            Email, InvitationStatus, NewEmail, Nullable, NullableEnum, NullableTimestamp, Role,
            Timestamp,
        },
    },
    service::invitations as svc,
};

/// Where an invitation's latest email stands.
#[derive(Enum, serde::Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "DeliveryStatus", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// Waiting for its first delivery attempt.
    Queued,
    /// Handed to the mail server.
    Sent,
    /// An attempt failed; another one is scheduled (with exponential backoff).
    Retrying,
    /// Given up after the last attempt.
    Failed,
    /// Not sent: superseded by a resend, or pointless once the invitation left `PENDING`.
    Cancelled,
}

/// What became of the latest email of an invitation.
#[derive(Object, serde::Serialize, Clone, Debug)]
#[oai(rename = "Delivery", rename_all = "camelCase", example)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDto {
    /// Where the email stands.
    pub status: DeliveryStatus,
    /// Delivery attempts made so far.
    pub attempts: i32,
    /// Why the last attempt failed, or `null`.
    pub last_error: Nullable<String>,
    /// When the mail server took the email, or `null`.
    pub sent_at: NullableTimestamp,
}

impl From<svc::Delivery> for DeliveryDto {
    fn from(d: svc::Delivery) -> Self {
        use svc::DeliveryStatus as S;
        Self {
            status: match d.status {
                S::Queued => DeliveryStatus::Queued,
                S::Sent => DeliveryStatus::Sent,
                S::Retrying => DeliveryStatus::Retrying,
                S::Failed => DeliveryStatus::Failed,
                S::Cancelled => DeliveryStatus::Cancelled,
            },
            attempts: d.attempts,
            last_error: Nullable(d.last_error),
            sent_at: NullableTimestamp(d.sent_at),
        }
    }
}

impl Example for DeliveryDto {
    fn example() -> Self {
        Self {
            status: DeliveryStatus::Sent,
            attempts: 1,
            last_error: Nullable(None),
            sent_at: NullableTimestamp(Some(Timestamp::example_at(examples::TIMESTAMP).0)),
        }
    }
}

/// An invitation to join an organization.
#[derive(Object, serde::Serialize, Clone, Debug)]
#[oai(rename = "Invitation", rename_all = "camelCase", example)]
#[serde(rename_all = "camelCase")]
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
    /// The latest email of the invitation and what became of it.
    pub delivery: DeliveryDto,
    /// How many emails have been queued for the invitation so far (1 after create; each
    /// resend adds one).
    pub send_count: i32,
    /// When the latest email was queued; the resend cooldown counts from here.
    pub last_sent_at: Timestamp,
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
            delivery: inv.delivery.into(),
            send_count: row.send_count,
            last_sent_at: Timestamp(row.last_sent_at.unwrap_or(row.created_at)),
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
            delivery: DeliveryDto::example(),
            send_count: 1,
            last_sent_at: Timestamp::example_at(examples::TIMESTAMP),
        }
    }
}

/// One page of invitations.
#[derive(Object, serde::Serialize, Clone, Debug)]
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
#[oai(rename = "CreateInvitationRequest", rename_all = "camelCase", example)]
pub struct CreateInvitationRequest {
    /// The invitee's email address (at most 254 characters). Compared case-insensitively;
    /// stored trimmed and lower-cased.
    pub email: NewEmail,
    /// The role the invitee gets on acceptance; `VIEWER` when absent or `null`.
    pub role: NullableEnum<Role>,
    /// When the invitation expires: between now + 5 minutes and now + `INVITATION_MAX_TTL`
    /// (30 days by default). Absent or `null`: now + `INVITATION_TTL` (7 days by default).
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<NullableTimestamp>,
}

impl JsonRequest for CreateInvitationRequest {}

impl CreateInvitationRequest {
    /// The service's view of the request.
    pub fn into_new(self) -> svc::NewInvitation {
        svc::NewInvitation {
            email: self.email.0,
            role: self.role.0.unwrap_or(Role::Viewer).into(),
            expires_at: self.expires_at.and_then(|t| t.0),
        }
    }
}

impl Example for CreateInvitationRequest {
    fn example() -> Self {
        // No `expiresAt`: a fixed instant would fall out of bounds as time passes, and the
        // example must keep working in Swagger UI's "Try it out".
        Self {
            email: NewEmail(examples::NEW_EMAIL.to_owned()),
            role: NullableEnum(Some(Role::Operator)),
            expires_at: None,
        }
    }
}

/// What to change on a live pending invitation; at least one field.
#[derive(Object, Clone, Debug)]
#[oai(rename = "UpdateInvitationRequest", rename_all = "camelCase", example)]
pub struct UpdateInvitationRequest {
    /// The new role; absent or `null` leaves it.
    pub role: NullableEnum<Role>,
    /// The new expiry, between now + 5 minutes and now + `INVITATION_MAX_TTL`; absent or
    /// `null` leaves it.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<NullableTimestamp>,
}

impl JsonRequest for UpdateInvitationRequest {}

impl Example for UpdateInvitationRequest {
    fn example() -> Self {
        Self {
            role: NullableEnum(Some(Role::OrgAdmin)),
            expires_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use poem_openapi::types::ToJSON;

    use super::*;
    use crate::api::invitations::cursor::ListMeta;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a valid timestamp")
            .with_timezone(&Utc)
    }

    /// Every shape a list item takes: each status, role and delivery status, each nullable
    /// present and `null`, sub-millisecond and far-future timestamps, text needing escapes.
    fn varied() -> Vec<InvitationDto> {
        let statuses = [
            InvitationStatus::Pending,
            InvitationStatus::Accepted,
            InvitationStatus::Declined,
            InvitationStatus::Revoked,
            InvitationStatus::Expired,
        ];
        let deliveries = [
            DeliveryStatus::Queued,
            DeliveryStatus::Sent,
            DeliveryStatus::Retrying,
            DeliveryStatus::Failed,
            DeliveryStatus::Cancelled,
        ];
        let roles = [Role::OrgAdmin, Role::Operator, Role::Viewer];
        (0..15)
            .map(|i| {
                let some = i % 2 == 0;
                InvitationDto {
                    id: Uuid::now_v7(),
                    organization_id: Uuid::new_v4(),
                    email: Email(format!("user{i}+tag@example.com")),
                    role: roles[i % 3],
                    status: statuses[i % 5],
                    invited_by: format!("sub \"{i}\" \\ \u{1F600} \u{0007}"),
                    expires_at: Timestamp(at("9999-12-31T23:59:59.999999Z")),
                    accepted_at: NullableTimestamp(some.then(|| at("2026-12-03T08:00:00.123456Z"))),
                    created_at: Timestamp(at("2026-01-02T03:04:05Z")),
                    updated_at: Timestamp(at("2026-01-02T03:04:05.1+02:00")),
                    delivery: DeliveryDto {
                        status: deliveries[i % 5],
                        attempts: i32::try_from(i).unwrap_or(i32::MAX),
                        last_error: Nullable(some.then(|| "550 5.1.1 \"no\"\nsuch".to_owned())),
                        sent_at: NullableTimestamp((!some).then(|| at("2026-12-03T08:00:01Z"))),
                    },
                    send_count: i32::MAX,
                    last_sent_at: Timestamp(at("1970-01-01T00:00:00Z")),
                }
            })
            .collect()
    }

    #[test]
    fn the_list_and_the_get_write_the_json_their_schema_types_give() {
        let items = varied();
        for item in &items {
            let direct = serde_json::to_string(item).expect("serialisable");
            let tree = serde_json::to_string(&item.to_json()).expect("serialisable");
            assert_eq!(direct, tree);
        }
        for (items, next) in [(items, Some("AQID-_".to_owned())), (Vec::new(), None)] {
            let page = InvitationPage {
                data: items,
                meta: ListMeta::new(3, 20, 41, next),
            };
            let direct = serde_json::to_string(&page).expect("serialisable");
            let tree = serde_json::to_string(&page.to_json()).expect("serialisable");
            assert_eq!(direct, tree);
        }
    }
}
