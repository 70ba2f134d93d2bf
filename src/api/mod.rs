//! The HTTP API: one file per resource with its wire types and thin handlers.

pub mod acceptance;
pub mod body;
pub mod errors;
pub mod events;
pub mod examples;
pub mod health;
pub mod idempotency;
pub mod invitations;
pub mod members;
mod params;
pub mod responses;
pub mod spec;
pub mod types;
pub mod validate;
pub mod webhooks;

use poem_openapi::Tags;

/// Operation groups in the spec and Swagger UI.
#[derive(Tags)]
pub enum ApiTags {
    /// Invite people to an organization and manage those invitations.
    Invitations,
    /// The members of an organization.
    Members,
    /// Liveness and readiness probes.
    Operations,
    /// The audit trail: every change of every invitation.
    Events,
    /// Signed deliveries of events to the organization's endpoints (Standard Webhooks).
    Webhooks,
}
