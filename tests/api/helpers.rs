//! `spawn_app()` and request helpers shared by every test.

use std::{sync::Arc, time::Duration};

use poem::{
    Endpoint, EndpointExt,
    http::{Method, StatusCode},
    test::TestClient,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::Value;
use uuid::Uuid;
use voke_invitations::{
    auth::JwtVerifier,
    config::Config,
    db,
    db::migrate_up as migrate,
    entity::OrgRole,
    service,
    startup::{AppState, build_app},
};

pub const TEST_SECRET: &str = "integration-test-secret-0123456789abcdef";

type BoxedEndpoint = poem::endpoint::BoxEndpoint<'static, poem::Response>;

/// Where this test's database lives; dropping it removes the database.
pub enum DbGuard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// A second app on another app's database: the first one's guard cleans up.
    Shared,
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin_url, name } = self {
            let (admin_url, db_name) = (admin_url.clone(), name.clone());
            // Drop runs outside async code: use a private runtime on a helper thread.
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime for dropping the test database");
                rt.block_on(async {
                    let admin = Database::connect(&admin_url).await?;
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{db_name}\" WITH (FORCE)"
                        ))
                        .await?;
                    admin.close().await
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("warning: could not drop test database {name}");
            }
        }
    }
}

/// A running app with its own fresh database.
pub struct TestApp {
    pub client: TestClient<BoxedEndpoint>,
    pub db: DatabaseConnection,
    pub verifier: Arc<JwtVerifier>,
    pub database_url: String,
    /// Stops the JWKS refresher (when keys come from `JWT_JWKS_URL`) as the app drops.
    _stop: tokio::sync::watch::Sender<bool>,
    _guard: DbGuard,
}

/// A caller with a token, acting in one organization.
#[derive(Clone, Debug)]
pub struct Actor {
    pub token: String,
    pub org: Uuid,
    pub user_id: String,
}

/// A fresh database URL for one test, plus its guard.
pub async fn fresh_database() -> (String, DbGuard) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("voke_test_{}", Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            admin.close().await.expect("close admin connection");
            let url = replace_db_name(&admin_url, &name);
            (url, DbGuard::Postgres { admin_url, name })
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
            (url, DbGuard::Sqlite(dir))
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The test configuration: HS256 with [`TEST_SECRET`] plus any overrides.
pub fn test_config(database_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: Vec<(String, String)> = vec![
        ("JWT_SECRET".into(), TEST_SECRET.into()),
        ("DATABASE_URL".into(), database_url.into()),
    ];
    // A configured key without SMTP must say where mail goes (§7); tests read the log.
    if !extra.iter().any(|(k, _)| *k == "SMTP_URL") {
        vars.push(("MAIL_MODE".into(), "log".into()));
    }
    // Part I's tests resend at once; the cooldown's own tests set it (§10.4).
    vars.push(("RESEND_COOLDOWN".into(), "0s".into()));
    // Receivers in tests listen on http://127.0.0.1; the URL policy's own tests turn it on.
    vars.push(("WEBHOOK_ALLOW_HTTP".into(), "true".into()));
    vars.push(("WEBHOOK_ALLOW_PRIVATE".into(), "true".into()));
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Config::from_lookup(|name| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("test configuration is valid")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Like [`spawn_app`], with extra configuration variables.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    spawn_app_through(|url| url.to_owned(), extra).await
}

/// Like [`spawn_app_with`], but the app's pool reaches the database at `route(url)` (through a
/// fault-injecting proxy, say); migrations run on the direct URL first.
pub async fn spawn_app_through(
    route: impl FnOnce(&str) -> String,
    extra: &[(&str, &str)],
) -> TestApp {
    let (database_url, guard) = fresh_database().await;
    let config = test_config(&database_url, extra);
    let direct = db::connect(&database_url).await.expect("connect");
    migrate(&direct).await.expect("migrate");
    direct.close().await.expect("close");
    let db = db::connect(&route(&database_url)).await.expect("connect");
    let verifier = Arc::new(JwtVerifier::from_config(&config).expect("verifier"));
    // As `Application::run_until_stopped` does: keys from an identity provider are fetched
    // at once and refreshed while the app lives.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    if let Some(cache) = verifier.jwks() {
        tokio::spawn(cache.clone().run(stopped));
    }
    let state = AppState {
        db: db.clone(),
        verifier: verifier.clone(),
        policy: config.invitation_policy(),
        http: config.http.clone(),
        webhooks: config.webhooks,
        load: Default::default(),
    };
    TestApp {
        client: TestClient::new(build_app(state).boxed()),
        db,
        verifier,
        database_url,
        _stop: stop,
        _guard: guard,
    }
}

/// One response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: poem::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// Asserts the documented error envelope with this status and code.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(
            self.body["statusCode"], status,
            "statusCode; body: {}",
            self.text
        );
        assert_eq!(self.body["code"], code, "code; body: {}", self.text);
        let reason = self.status.canonical_reason().expect("known status");
        assert_eq!(self.body["error"], reason, "error; body: {}", self.text);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(
            self.body["details"].is_object(),
            "details; body: {}",
            self.text
        );
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(ct.starts_with("application/json"), "content type {ct}");
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
    }

    pub fn validation_errors(&self) -> Vec<String> {
        self.body["details"]["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A request under construction.
pub struct Req<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
}

impl<'a> Req<'a> {
    pub fn bearer(mut self, token: &str) -> Self {
        self.headers
            .push(("authorization".into(), format!("Bearer {token}")));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Bearer token and `x-org-id` of an actor.
    pub fn acting_as(self, actor: &Actor) -> Self {
        let org = actor.org.to_string();
        self.bearer(&actor.token).header("x-org-id", &org)
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(("application/json".into(), body.to_string().into_bytes()));
        self
    }

    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some((content_type.into(), body.into()));
        self
    }

    /// Sends and returns the response as it came, body unread (for compressed bodies).
    pub async fn send_raw(self) -> poem::Response {
        let mut builder = self.app.client.request(self.method, self.path);
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        builder.send().await.0
    }

    pub async fn send(self) -> Resp {
        let mut builder = self.app.client.request(self.method, self.path);
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        if let Some((ct, bytes)) = self.body {
            if !ct.is_empty() {
                builder = builder.content_type(ct);
            }
            builder = builder.body(bytes);
        }
        let resp = builder.send().await.0;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp
            .into_body()
            .into_string()
            .await
            .expect("response body is text");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }
}

impl TestApp {
    pub fn request(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            app: self,
            method,
            path: path.to_owned(),
            headers: vec![],
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Req<'_> {
        self.request(Method::POST, path)
    }

    pub fn delete(&self, path: &str) -> Req<'_> {
        self.request(Method::DELETE, path)
    }

    pub fn patch(&self, path: &str) -> Req<'_> {
        self.request(Method::PATCH, path)
    }

    /// A token for `sub`, valid for an hour.
    pub fn token(&self, sub: &str, email: Option<&str>, super_admin: bool) -> String {
        self.verifier
            .mint(sub, email, super_admin, Duration::from_secs(3600))
            .expect("mint test token")
    }

    /// A member of `org` with `role`, and their token.
    pub async fn member(&self, org: Uuid, user_id: &str, role: OrgRole) -> Actor {
        let email = format!("{user_id}@members.example");
        service::members::upsert(&self.db, org, user_id, &email, role)
            .await
            .expect("add member");
        Actor {
            token: self.token(user_id, Some(&email), false),
            org,
            user_id: user_id.to_owned(),
        }
    }

    /// An `ORG_ADMIN` of a brand-new organization.
    pub async fn admin(&self) -> Actor {
        self.member(
            Uuid::now_v7(),
            &format!("admin-{}", Uuid::new_v4().simple()),
            OrgRole::OrgAdmin,
        )
        .await
    }

    /// A super admin (no membership anywhere) acting in `org`.
    pub fn super_admin(&self, org: Uuid) -> Actor {
        Actor {
            token: self.token("root", Some("root@voke.example"), true),
            org,
            user_id: "root".into(),
        }
    }

    /// Creates an invitation as `actor` and returns its JSON.
    pub async fn invite(&self, actor: &Actor, email: &str, role: Option<&str>) -> Value {
        let mut body = serde_json::json!({ "email": email });
        if let Some(role) = role {
            body["role"] = role.into();
        }
        let resp = self
            .post("/api/v1/invitations")
            .acting_as(actor)
            .json(body)
            .send()
            .await;
        resp.assert_status(201);
        resp.body
    }

    /// Moves an invitation's expiry into the past, as time passing would.
    pub async fn expire(&self, id: &str) {
        let past = chrono::Utc::now() - chrono::Duration::hours(1);
        let id = Uuid::parse_str(id).expect("uuid");
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        use voke_invitations::entity::invitation;
        invitation::Entity::update_many()
            .col_expr(invitation::Column::ExpiresAt, Expr::value(past))
            .filter(invitation::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .expect("expire invitation");
    }

    /// Moves an invitation's latest email `by` into the past, as time passing would (for the
    /// resend cooldown).
    pub async fn age_last_email(&self, id: &str, by: chrono::Duration) {
        let id = Uuid::parse_str(id).expect("uuid");
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        use voke_invitations::entity::invitation;
        invitation::Entity::update_many()
            .col_expr(
                invitation::Column::LastSentAt,
                Expr::value(Some(chrono::Utc::now() - by)),
            )
            .filter(invitation::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .expect("age the email");
    }

    /// Runs raw SQL (for assertions on stored rows).
    pub async fn query_one(&self, sql: &str) -> Option<sea_orm::QueryResult> {
        self.db
            .query_one_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .expect("query")
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// Makes the database refuse every event whose data contains `marker` (a test trigger),
    /// so the write that records it fails as a real database error would.
    pub async fn refuse_events_containing(&self, marker: &str) {
        let refuse = if self.is_postgres() {
            format!(
                "CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                   IF NEW.data LIKE '%{marker}%' THEN RAISE EXCEPTION 'refused by the test'; \
                   END IF; RETURN NEW; END $$; \
                 CREATE TRIGGER refuse_marked BEFORE INSERT ON event \
                   FOR EACH ROW EXECUTE FUNCTION refuse_marked()"
            )
        } else {
            format!(
                "CREATE TRIGGER refuse_marked BEFORE INSERT ON event \
                   WHEN NEW.data LIKE '%{marker}%' \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        };
        self.db.execute_unprepared(&refuse).await.expect("trigger");
    }

    /// Undoes [`TestApp::refuse_events_containing`].
    pub async fn accept_all_events(&self) {
        let drop = match self.is_postgres() {
            true => "DROP TRIGGER refuse_marked ON event",
            false => "DROP TRIGGER refuse_marked",
        };
        self.db.execute_unprepared(drop).await.expect("drop");
    }
}

/// Drives any endpoint with a single request (for middleware tests).
pub async fn call_endpoint(ep: impl Endpoint, req: poem::Request) -> poem::Response {
    match ep.call(req).await {
        Ok(resp) => poem::IntoResponse::into_response(resp),
        Err(err) => err.into_response(),
    }
}

impl TestApp {
    /// The token of the invitation's newest undelivered email (tests stand in for the mailbox).
    pub async fn outbox_token(&self, invitation_id: &str) -> String {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        use voke_invitations::entity::email_outbox as outbox;
        let id = Uuid::parse_str(invitation_id).expect("uuid");
        outbox::Entity::find()
            .filter(outbox::Column::InvitationId.eq(id))
            .order_by_desc(outbox::Column::CreatedAt)
            .order_by_desc(outbox::Column::Id)
            .one(&self.db)
            .await
            .expect("query outbox")
            .and_then(|m| m.token)
            .expect("an undelivered email with a token")
    }

    /// Every outbox row, oldest first.
    pub async fn outbox(&self) -> Vec<voke_invitations::entity::email_outbox::Model> {
        use sea_orm::{EntityTrait, QueryOrder};
        use voke_invitations::entity::email_outbox as outbox;
        outbox::Entity::find()
            .order_by_asc(outbox::Column::CreatedAt)
            .order_by_asc(outbox::Column::Id)
            .all(&self.db)
            .await
            .expect("query outbox")
    }

    /// A delivery worker for this app's database, sending through `smtp_url`, retrying at
    /// once (no backoff) so tests need no sleeps.
    pub fn worker(&self, smtp_url: &str, max_attempts: i32) -> voke_invitations::worker::Worker {
        use voke_invitations::{config::MailConfig, config::Secret, mail::Mailer, worker};
        let mailer = Mailer::from_config(&MailConfig {
            smtp_url: Some(Secret::new(smtp_url)),
            mode: None,
            from: "Voke <no-reply@voke.example>".into(),
            accept_url: "https://app.voke.example/auth/accept-invite".into(),
        })
        .expect("mailer");
        worker::Worker::new(
            self.db.clone(),
            mailer,
            "https://app.voke.example/auth/accept-invite".into(),
            worker::WorkerConfig {
                base_backoff: Duration::ZERO,
                max_attempts,
                ..worker::WorkerConfig::default()
            },
        )
    }

    /// Another instance of the app on this app's database (its own pool, same config plus
    /// `extra`), as a second server sharing one PostgreSQL database would be.
    pub async fn second_instance(&self, extra: &[(&str, &str)]) -> TestApp {
        let config = test_config(&self.database_url, extra);
        let db = db::connect(&self.database_url).await.expect("connect");
        let verifier = Arc::new(JwtVerifier::from_config(&config).expect("verifier"));
        let (stop, _) = tokio::sync::watch::channel(false);
        let state = AppState {
            db: db.clone(),
            verifier: verifier.clone(),
            policy: config.invitation_policy(),
            http: config.http.clone(),
            webhooks: config.webhooks,
            load: Default::default(),
        };
        TestApp {
            client: TestClient::new(build_app(state).boxed()),
            db,
            verifier,
            database_url: self.database_url.clone(),
            _stop: stop,
            _guard: DbGuard::Shared,
        }
    }

    /// A webhook worker for this app's database that may reach local receivers, with
    /// `timeout` per attempt and retries due at once (no backoff) within `window`.
    pub fn webhook_worker(
        &self,
        timeout: Duration,
        window: Duration,
    ) -> voke_invitations::worker::WebhookWorker {
        use voke_invitations::{service::webhooks, worker};
        let policy = webhooks::UrlPolicy {
            allow_http: true,
            allow_private: true,
        };
        let config = worker::WebhookConfig {
            timeout,
            retry: webhooks::outbox::RetryPolicy {
                base: Duration::ZERO,
                window,
            },
            ..worker::WebhookConfig::default()
        };
        worker::WebhookWorker::new(self.db.clone(), policy, config).expect("webhook client")
    }

    /// The invitations service of this app.
    pub fn invitations(&self) -> service::invitations::InvitationService {
        service::invitations::InvitationService::new(self.db.clone(), Duration::from_secs(3600))
    }
}
