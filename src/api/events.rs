//! `/api/v1/events`: the audit trail of an organization's invitations (§10.6).

use poem_openapi::{
    Enum, Object, OpenApi,
    param::{Header, Query},
    types::Example,
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{
    ApiTags,
    errors::{
        ErrorResponse,
        docs::{E400_EVENTS, E401, E403_ORG_ADMIN, E429, E500, E503},
        error_set,
    },
    examples,
    responses::ok_response,
    types::{
        InvitationId, Nullable, OrgId, PageMeta, Timestamp, Trimmed, default_limit, default_page,
        paging,
    },
};
use crate::{
    auth::OrgAdmin,
    entity::event::{self as stored, EventType as Stored},
    routes::KnownQuery,
    service::events::{self, EventData, EventQuery},
};

/// What happened to an invitation.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[oai(rename = "EventType")]
pub enum EventType {
    /// Created (alone or in a batch); its email is queued.
    #[oai(rename = "invitation.created")]
    Created,
    /// Its role or expiry was changed.
    #[oai(rename = "invitation.updated")]
    Updated,
    /// Resent: a new token, a new expiry, a new email.
    #[oai(rename = "invitation.resent")]
    Resent,
    /// Revoked by an admin.
    #[oai(rename = "invitation.revoked")]
    Revoked,
    /// Accepted: the invitee is now a member.
    #[oai(rename = "invitation.accepted")]
    Accepted,
    /// Declined by the invitee.
    #[oai(rename = "invitation.declined")]
    Declined,
    /// Expired unused (recorded once, when the expiry is noticed).
    #[oai(rename = "invitation.expired")]
    Expired,
    /// Its email was handed to the mail server.
    #[oai(rename = "invitation.email_sent")]
    EmailSent,
    /// Its email was given up after the last attempt.
    #[oai(rename = "invitation.email_failed")]
    EmailFailed,
}

macro_rules! both_ways {
    ($($variant:ident),*) => {
        impl From<Stored> for EventType {
            fn from(t: Stored) -> Self {
                match t { $(Stored::$variant => Self::$variant),* }
            }
        }
        impl From<EventType> for Stored {
            fn from(t: EventType) -> Self {
                match t { $(EventType::$variant => Self::$variant),* }
            }
        }
    };
}
both_ways!(
    Created,
    Updated,
    Resent,
    Revoked,
    Accepted,
    Declined,
    Expired,
    EmailSent,
    EmailFailed
);

/// The facts of a change. Which fields are present depends on the type; none is ever a
/// token.
#[derive(Object, Clone, Debug, Default)]
#[oai(rename = "EventData", rename_all = "camelCase")]
pub struct EventDataDto {
    /// The invitee's email (every type).
    #[oai(skip_serializing_if_is_none)]
    pub email: Option<String>,
    /// The invitation's role (`created`, `resent`, `revoked`, `accepted`, `declined`,
    /// `expired`), or the new role (`updated`, when changed).
    #[oai(skip_serializing_if_is_none)]
    pub role: Option<String>,
    /// The expiry (`created`, `resent`, `expired`), or the new one (`updated`, when changed).
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<Timestamp>,
    /// Who created the invitation (`created`).
    #[oai(skip_serializing_if_is_none)]
    pub invited_by: Option<String>,
    /// The user who became a member (`accepted`).
    #[oai(skip_serializing_if_is_none)]
    pub user_id: Option<String>,
    /// Emails queued so far (`resent`).
    #[oai(skip_serializing_if_is_none)]
    pub send_count: Option<i32>,
    /// The email concerned (`created`, `resent`, `email_sent`, `email_failed`).
    #[oai(skip_serializing_if_is_none)]
    pub email_id: Option<Uuid>,
    /// Delivery attempts made (`email_sent`, `email_failed`).
    #[oai(skip_serializing_if_is_none)]
    pub attempts: Option<i32>,
    /// Why the last attempt failed (`email_failed`).
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
}

impl From<EventData> for EventDataDto {
    fn from(d: EventData) -> Self {
        Self {
            email: d.email,
            role: d.role,
            expires_at: d.expires_at.map(Timestamp),
            invited_by: d.invited_by,
            user_id: d.user_id,
            send_count: d.send_count,
            email_id: d.email_id,
            attempts: d.attempts,
            error: d.error,
        }
    }
}

/// One change of one invitation, and who made it. Webhook deliveries carry this same object.
#[derive(Object, Clone, Debug)]
#[oai(rename = "Event", rename_all = "camelCase", example)]
pub struct EventDto {
    /// The event's id (also the `webhook-id` of its deliveries).
    pub id: Uuid,
    /// What happened.
    #[oai(rename = "type")]
    pub kind: EventType,
    pub organization_id: Uuid,
    pub invitation_id: Uuid,
    /// The `sub` of the caller who made the change, or `null` for the service itself (the
    /// expiry sweep, the email worker) and for declines (the token holder is not logged in).
    pub actor: Nullable<String>,
    /// The `x-request-id` of the request that made the change, or `null` for background work.
    pub request_id: Nullable<String>,
    /// When it happened (the time of the change's transaction).
    pub occurred_at: Timestamp,
    pub data: EventDataDto,
}

impl EventDto {
    fn new(row: stored::Model, data: EventData) -> Self {
        Self {
            id: row.id,
            kind: row.r#type.into(),
            organization_id: row.organization_id,
            invitation_id: row.invitation_id,
            actor: Nullable(row.actor),
            request_id: Nullable(row.request_id),
            occurred_at: Timestamp(row.occurred_at),
            data: data.into(),
        }
    }
}

impl Example for EventDto {
    fn example() -> Self {
        Self {
            id: uuid::uuid!("0193a5b2-7d10-7a2b-8c3d-4e5f60718293"),
            kind: EventType::Accepted,
            organization_id: examples::ORG_ID,
            invitation_id: examples::INVITATION_ID,
            actor: Nullable(Some(examples::USER_ID.to_owned())),
            request_id: Nullable(Some("0193a5b2-7d0f-7c11-9e2a-3b4c5d6e7f80".to_owned())),
            occurred_at: Timestamp::example_at(examples::TIMESTAMP),
            data: EventDataDto {
                email: Some(examples::NEW_EMAIL.to_owned()),
                role: Some("OPERATOR".to_owned()),
                user_id: Some(examples::USER_ID.to_owned()),
                ..EventDataDto::default()
            },
        }
    }
}

/// A page of events, newest first.
#[derive(Object, Clone, Debug)]
#[oai(rename_all = "camelCase", example)]
pub struct EventPage {
    pub data: Vec<EventDto>,
    pub meta: PageMeta,
}

impl Example for EventPage {
    fn example() -> Self {
        Self {
            data: vec![EventDto::example()],
            meta: PageMeta::example(),
        }
    }
}

ok_response!(
    /// A page of events.
    ListEventsResponse(EventPage),
    "The requested page and its paging information."
);

error_set!(ListEventsErrors: [E400_EVENTS, E401, E403_ORG_ADMIN, E429, E500, E503]);

/// The events resource.
pub struct EventsApi {
    pub db: DatabaseConnection,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Events")]
impl EventsApi {
    /// List events
    ///
    /// The organization's audit trail, newest first (`occurredAt`, then `id`): every change
    /// of every invitation, who made it and in which request. Each event was written in the
    /// same transaction as its change. `type` and `invitationId` narrow the list. Requires
    /// `ORG_ADMIN` (or super admin).
    #[oai(path = "/events", method = "get", operation_id = "listEvents")]
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
        /// Only events of this type.
        #[oai(name = "type")]
        kind: Query<Option<Trimmed<EventType>>>,
        /// Only events of this invitation.
        #[oai(name = "invitationId")]
        invitation_id: Query<Option<InvitationId>>,
    ) -> Result<ListEventsResponse, ErrorResponse<ListEventsErrors>> {
        let (page, limit) = paging(page.0, limit.0);
        let query = EventQuery {
            page,
            limit,
            kind: kind.0.map(|k| k.0.into()),
            invitation_id: invitation_id.0.map(|id| id.0),
        };
        let found = events::list::list(&self.db, auth.0.organization_id, &query).await?;
        Ok(ListEventsResponse(EventPage {
            data: found
                .items
                .into_iter()
                .map(|(row, data)| EventDto::new(row, data))
                .collect(),
            meta: PageMeta::new(page, limit, found.total),
        }))
    }
}
