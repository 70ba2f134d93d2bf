//! Building and running the application; `build_app` is shared by `main` and the tests.

use std::{sync::Arc, time::Duration};

use poem::{
    Endpoint, EndpointExt, IntoEndpoint, Route, Server,
    endpoint::{make, make_sync},
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
    web::Redirect,
};
use poem_openapi::{ContactObject, LicenseObject, OpenApiService, ServerObject};
use sea_orm::DatabaseConnection;

use crate::{
    api::{
        acceptance::AcceptanceApi, health::HealthApi, invitations::InvitationsApi,
        members::MembersApi,
    },
    auth::{AuthState, JwtVerifier},
    config::Config,
    db,
    mail::Mailer,
    middleware::envelope,
    routes::RouteTable,
    service::invitations::InvitationService,
    worker::{Worker, WorkerConfig},
};

/// Everything a running app shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub verifier: Arc<JwtVerifier>,
    pub invitation_ttl: Duration,
}

type Apis = (HealthApi, InvitationsApi, AcceptanceApi, MembersApi);

/// The OpenAPI service: operations, spec and Swagger UI.
pub fn api_service(state: &AppState) -> OpenApiService<Apis, ()> {
    let invitations = InvitationService::new(state.db.clone(), state.invitation_ttl);
    let apis = (
        HealthApi {
            db: state.db.clone(),
        },
        InvitationsApi {
            service: invitations.clone(),
        },
        AcceptanceApi {
            service: invitations,
        },
        MembersApi {
            db: state.db.clone(),
        },
    );
    OpenApiService::new(apis, "Voke Invitations API", env!("CARGO_PKG_VERSION"))
        .description(
            "Organization invitations for Voke. Authenticate with a bearer JWT; \
             organization-scoped operations also take the `x-org-id` header. Every error \
             response carries the same envelope: `statusCode`, `message`, `error`, `code` and \
             `details`.",
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
        invitation_ttl: Duration::from_secs(1),
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
    let spec = crate::api::spec::finalize(&service.spec());
    let spec_yaml = to_yaml(&spec);
    let routes = Arc::new(RouteTable::from_spec(
        &serde_json::from_str(&spec).unwrap_or_default(),
    ));
    let ui = service.swagger_ui();
    let api = Arc::new(service.into_endpoint());
    let route = Route::new()
        .at("/", make_sync(|_| Redirect::temporary("/docs")))
        .at(
            "/openapi.json",
            make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(spec.clone())
            }),
        )
        .at(
            "/openapi.yaml",
            make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/yaml; charset=utf-8")
                    .body(spec_yaml.clone())
            }),
        )
        .nest("/docs", ui)
        .nest_no_strip("/api", api.clone())
        .at("/healthz", api.clone())
        .at("/readyz", api);
    let auth = AuthState {
        verifier: state.verifier.clone(),
        db: state.db.clone(),
        routes: routes.clone(),
    };
    let route = Arc::new(route.data(auth));
    make(move |req| envelope(route.clone(), routes.clone(), req))
}

/// How long shutdown waits for the background worker before aborting it.
const WORKER_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A configured, bound, migrated application ready to serve.
pub struct Application {
    acceptor: TcpAcceptor,
    state: AppState,
    worker: Worker,
}

impl Application {
    /// Connects, applies pending migrations and binds the listener.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let db = db::connect(config.database_url.expose()).await?;
        migrate(&db).await?;
        let verifier = Arc::new(JwtVerifier::from_config(config)?);
        let mailer = Mailer::from_config(&config.mail)?;
        if matches!(mailer, Mailer::Log) {
            tracing::warn!("SMTP_URL is not set: invitation emails are written to the log");
        }
        let worker = Worker::new(
            db.clone(),
            mailer,
            config.mail.accept_url.clone(),
            WorkerConfig::default(),
        );
        let acceptor = TcpListener::bind(config.bind_addr).into_acceptor().await?;
        Ok(Self {
            acceptor,
            state: AppState {
                db,
                verifier,
                invitation_ttl: config.invitation_ttl,
            },
            worker,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves (SIGINT/SIGTERM in `serve`), finishing in-flight
    /// requests, then stops the background worker and closes the pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let app = build_app(self.state.clone());
        let (stop_worker, stopped) = tokio::sync::watch::channel(false);
        let invitations = InvitationService::new(self.state.db.clone(), self.state.invitation_ttl);
        let mut worker = tokio::spawn(self.worker.run(invitations, stopped));
        // The worker is told to stop when shutdown begins, while requests drain.
        let shutdown = async move {
            shutdown.await;
            let _ = stop_worker.send(true);
        };
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(30)))
            .await;
        // It abandons a send in flight and releases its claims; bounded whatever SMTP does.
        match tokio::time::timeout(WORKER_STOP_TIMEOUT, &mut worker).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "background worker ended abnormally"),
            Err(_) => {
                tracing::warn!("background worker did not stop in time; aborted");
                worker.abort();
            }
        }
        served?;
        self.state.db.close().await?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    use migration::MigratorTrait;
    migration::Migrator::up(db, None).await?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
