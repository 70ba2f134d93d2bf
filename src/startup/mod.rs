//! Building the application: the API service, the served spec, and `build_app`, shared by
//! `main` and the tests. Running it is [`application`].

mod application;

pub use application::{Application, shutdown_signal};

use std::sync::Arc;

use poem::{
    Endpoint, EndpointExt, IntoEndpoint, Route,
    endpoint::{make, make_sync},
    get,
    web::Redirect,
};
use poem_openapi::{ContactObject, LicenseObject, OpenApiService, ServerObject};
use sea_orm::DatabaseConnection;

use crate::{
    api::{
        acceptance::AcceptanceApi, events::EventsApi, health::HealthApi,
        invitations::InvitationsApi, members::MembersApi, webhooks::WebhooksApi,
    },
    auth::{AuthState, JwtVerifier},
    config::{Config, HttpConfig},
    load::Load,
    middleware::{Edge, envelope},
    routes::RouteTable,
    service::{
        acceptance::AcceptanceService,
        invitations::{InvitationPolicy, InvitationService},
        webhooks::{UrlPolicy, WebhookService},
    },
};

/// Everything a running app shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub verifier: Arc<JwtVerifier>,
    pub policy: InvitationPolicy,
    pub http: HttpConfig,
    /// Where webhooks may point.
    pub webhooks: UrlPolicy,
    /// The requests in flight, which the email worker yields to.
    pub load: Load,
}

type Apis = (
    HealthApi,
    InvitationsApi,
    AcceptanceApi,
    MembersApi,
    EventsApi,
    WebhooksApi,
);

/// The OpenAPI service: operations, spec and Swagger UI.
pub fn api_service(state: &AppState) -> OpenApiService<Apis, ()> {
    let invitations = InvitationService::with_policy(state.db.clone(), state.policy);
    let apis = (
        HealthApi {
            db: state.db.clone(),
            verifier: state.verifier.clone(),
        },
        InvitationsApi {
            service: invitations,
            db: state.db.clone(),
            // The request deadline, and a margin for the answer to be stored.
            key_hold: state.http.request_timeout + std::time::Duration::from_secs(30),
        },
        AcceptanceApi {
            service: AcceptanceService::new(state.db.clone()),
        },
        MembersApi {
            db: state.db.clone(),
        },
        EventsApi {
            db: state.db.clone(),
        },
        WebhooksApi {
            service: WebhookService::new(state.db.clone(), state.webhooks),
        },
    );
    OpenApiService::new(apis, "Voke Invitations API", env!("CARGO_PKG_VERSION"))
        .description(
            "Organization invitations for Voke. Authenticate with a bearer JWT; \
             organization-scoped operations also take the `x-org-id` header. Every error \
             response carries the same envelope: `statusCode`, `message`, `error`, `code` and \
             `details`.\n\n\
             Besides the statuses each operation lists, any path answers `404 NOT_FOUND` when no \
             route matches and `405 METHOD_NOT_ALLOWED` (with an `Allow` header naming the \
             methods the path supports) when the path exists but not with that method, both \
             with the same envelope.\n\n\
             In development mode (`cargo run` with no key configured) the server prints a \
             token whose user is an `ORG_ADMIN` of the organization used in every example \
             here, so \"Try it out\" works after pasting that token into Authorize.",
        )
        .contact(ContactObject::new().name("Voke"))
        .license(LicenseObject::new("MIT").url("https://opensource.org/licenses/MIT"))
        // Relative, so Swagger UI and generated clients call whichever host serves the spec.
        .server(ServerObject::new("/"))
}

/// The spec exactly as served at `/openapi.json` (and committed as `openapi/openapi.json`),
/// built without any database.
pub fn openapi_json() -> String {
    let state = AppState {
        db: DatabaseConnection::default(),
        verifier: Arc::new(spec_only_verifier()),
        policy: InvitationPolicy::default(),
        http: HttpConfig::default(),
        webhooks: UrlPolicy::default(),
        load: Load::default(),
    };
    crate::api::spec::finalize(&api_service(&state).spec())
}

/// The same document as YAML.
pub fn openapi_yaml() -> String {
    to_yaml(&openapi_json())
}

fn to_yaml(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_yaml::to_string(&v).ok())
        .unwrap_or_default()
}

fn spec_only_verifier() -> JwtVerifier {
    let config = Config::from_lookup(|_| None).expect("the default configuration is valid");
    JwtVerifier::from_config(&config).expect("the development key is valid")
}

/// The whole HTTP application, wrapped in the envelope middleware.
pub fn build_app(state: AppState) -> impl Endpoint<Output = poem::Response> + 'static {
    let service = api_service(&state);
    let raw = service.spec();
    let spec = crate::api::spec::finalize(&raw);
    let spec_yaml = to_yaml(&spec);
    let mut table = RouteTable::from_api::<Apis>()
        .with_static("/openapi.json", &["GET"])
        .with_static("/openapi.yaml", &["GET"]);
    let ui = if state.http.docs_enabled {
        let page = crate::docs::swagger_page(&service.swagger_ui_html(), &raw, &spec);
        if page.is_none() {
            tracing::error!("Swagger UI's page does not embed the spec; /docs is off");
        }
        page
    } else {
        None
    };
    let api = Arc::new(service.into_endpoint());
    let mut route = Route::new();
    if ui.is_some() {
        table = table
            .with_static("/docs", &["GET"])
            .with_static("/", &["GET"]);
        route = route.at("/", get(make_sync(|_| Redirect::temporary("/docs"))));
    }
    let table = table.with_static("/metrics", &["GET"]);
    let routes = Arc::new(table);
    // The recorder must exist before the first request is counted.
    crate::metrics::handle();
    let metrics = Arc::new(crate::metrics::MetricsEndpoint {
        db: state.db.clone(),
        token: state.http.metrics_token.clone(),
    });
    let route = crate::docs::mount(route, spec, spec_yaml, ui)
        .nest_no_strip("/api", api.clone())
        .at(
            "/metrics",
            get(poem::endpoint::make(move |req| {
                let metrics = metrics.clone();
                async move { metrics.respond(&req).await }
            })),
        )
        .at("/healthz", api.clone())
        .at("/readyz", api);
    let auth = AuthState {
        verifier: state.verifier.clone(),
        db: state.db.clone(),
        members: crate::auth::MembershipCache::new(state.http.membership_cache_ttl),
    };
    let limits = Arc::new(crate::ratelimit::RateLimits::new(&state.http.rate_limits));
    let route = crate::cors::wrap(
        route.data(auth).data(routes.clone()).data(limits),
        &state.http.cors_allowed_origins,
    );
    let route = Arc::new(route.map_to_response());
    let edge = Arc::new(Edge {
        routes,
        request_timeout: state.http.request_timeout,
        load: state.load.clone(),
    });
    make(move |req| envelope(route.clone(), edge.clone(), req))
}
