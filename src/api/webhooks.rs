//! `/api/v1/webhooks`: the organization's webhook endpoints and their deliveries (§10.7).

mod dto;

pub use dto::{
    CreateWebhookRequest, CreatedWebhookDto, DeliveryDto, DeliveryPage, DeliveryStatusDto,
    Subscription, WebhookDto, WebhookPage, WebhookUrl,
};
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
            E400_LIST, E400_UUID, E400_WEBHOOK, E401, E403_ORG_ADMIN, E404_WEBHOOK, E413, E415,
            E429, E500, E503,
        },
        error_set,
    },
    responses::{Confirmation, Created, Said, ok_response},
    types::{OrgId, PageMeta, WebhookId, default_limit, default_page, paging},
};
use crate::{
    auth::OrgAdmin,
    routes::KnownQuery,
    service::webhooks::{NewWebhook, WebhookService},
};

ok_response!(
    /// A page of webhooks.
    ListWebhooksResponse(WebhookPage),
    "The requested page and its paging information."
);
ok_response!(
    /// One webhook.
    WebhookResponse(WebhookDto),
    "The webhook (without its secret)."
);
ok_response!(
    /// A page of deliveries.
    ListDeliveriesResponse(DeliveryPage),
    "The requested page and its paging information."
);

/// What a delete answers.
pub struct Deleted;

impl Said for Deleted {
    const MESSAGE: &'static str = "Webhook deleted";
    const DESCRIPTION: &'static str =
        "The endpoint and its deliveries are gone; nothing more is sent to it.";
}

error_set!(CreateWebhookErrors: [E400_WEBHOOK, E401, E403_ORG_ADMIN, E413, E415, E429, E500, E503]);
error_set!(ListWebhooksErrors: [E400_LIST, E401, E403_ORG_ADMIN, E429, E500, E503]);
error_set!(WebhookErrors: [E400_UUID, E401, E403_ORG_ADMIN, E404_WEBHOOK, E429, E500, E503]);
error_set!(DeliveriesErrors: [E400_LIST, E401, E403_ORG_ADMIN, E404_WEBHOOK, E429, E500, E503]);

/// The webhooks resource.
pub struct WebhooksApi {
    pub service: WebhookService,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// Register a webhook
    ///
    /// Registers an endpoint to receive the organization's events of `eventTypes` (or all,
    /// `["*"]`) as signed `POST`s (Standard Webhooks: `webhook-id`, `webhook-timestamp`,
    /// `webhook-signature`). The answer carries the signing `secret`, shown only once.
    /// Requires `ORG_ADMIN` (or super admin).
    #[oai(path = "/webhooks", method = "post", operation_id = "createWebhook")]
    async fn create(
        &self,
        auth: OrgAdmin,
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        body: JsonBody<CreateWebhookRequest>,
    ) -> Result<Created<CreatedWebhookDto>, ErrorResponse<CreateWebhookErrors>> {
        let body = body.0;
        let all = body.event_types.iter().any(|s| s.0.is_none());
        let mut types = Vec::new();
        for kind in body.event_types.iter().filter_map(|s| s.0) {
            if !types.contains(&kind) {
                types.push(kind);
            }
        }
        let new = NewWebhook {
            url: body.url.0,
            event_types: (!all).then_some(types),
            description: body.description.and_then(|d| d.0),
        };
        let (webhook, secret) = self.service.create(auth.0.organization_id, new).await?;
        let location = format!("/api/v1/webhooks/{}", webhook.row.id);
        Ok(Created {
            body: CreatedWebhookDto {
                webhook: webhook.into(),
                secret,
            },
            location,
        })
    }

    /// List webhooks
    ///
    /// The organization's endpoints, newest first, without their secrets. Requires
    /// `ORG_ADMIN` (or super admin).
    #[oai(path = "/webhooks", method = "get", operation_id = "listWebhooks")]
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
    ) -> Result<ListWebhooksResponse, ErrorResponse<ListWebhooksErrors>> {
        let (page, limit) = paging(page.0, limit.0);
        let (items, total) = self
            .service
            .list(auth.0.organization_id, page, limit)
            .await?;
        Ok(ListWebhooksResponse(WebhookPage {
            data: items.into_iter().map(Into::into).collect(),
            meta: PageMeta::new(page, limit, total),
        }))
    }

    /// Get a webhook
    ///
    /// One of the organization's endpoints, without its secret; another organization's is
    /// not found. Requires `ORG_ADMIN` (or super admin).
    #[oai(path = "/webhooks/:id", method = "get", operation_id = "getWebhook")]
    async fn get(
        &self,
        auth: OrgAdmin,
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// The webhook's id.
        id: Path<WebhookId>,
    ) -> Result<WebhookResponse, ErrorResponse<WebhookErrors>> {
        let webhook = self.service.get(auth.0.organization_id, id.0.0).await?;
        Ok(WebhookResponse(webhook.into()))
    }

    /// Delete a webhook
    ///
    /// Deletes the endpoint and its deliveries: nothing more is sent to it. Requires
    /// `ORG_ADMIN` (or super admin).
    #[oai(
        path = "/webhooks/:id",
        method = "delete",
        operation_id = "deleteWebhook"
    )]
    async fn delete(
        &self,
        auth: OrgAdmin,
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// The webhook's id.
        id: Path<WebhookId>,
    ) -> Result<Confirmation<Deleted>, ErrorResponse<WebhookErrors>> {
        self.service.delete(auth.0.organization_id, id.0.0).await?;
        Ok(Confirmation::new())
    }

    /// List a webhook's deliveries
    ///
    /// What became of each event sent to the endpoint, newest first: one entry per event,
    /// updated in place by retries (`attempt` counts them). Requires `ORG_ADMIN` (or super
    /// admin).
    #[oai(
        path = "/webhooks/:id/deliveries",
        method = "get",
        operation_id = "listWebhookDeliveries"
    )]
    async fn deliveries(
        &self,
        auth: OrgAdmin,
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// The webhook's id.
        id: Path<WebhookId>,
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
    ) -> Result<ListDeliveriesResponse, ErrorResponse<DeliveriesErrors>> {
        let (page, limit) = paging(page.0, limit.0);
        let (items, total) = self
            .service
            .deliveries(auth.0.organization_id, id.0.0, page, limit)
            .await?;
        Ok(ListDeliveriesResponse(DeliveryPage {
            data: items.into_iter().map(Into::into).collect(),
            meta: PageMeta::new(page, limit, total),
        }))
    }
}
