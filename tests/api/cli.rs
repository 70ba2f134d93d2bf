//! The binary's commands, run as a user would.

use std::process::{Command, Output};

use crate::helpers::{TEST_SECRET, spawn_app};

fn bin(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_voke-invitations"));
    cmd.args(args).env_clear().env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run voke-invitations")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

#[tokio::test]
async fn a_minted_token_verifies_against_the_server() {
    let app = spawn_app().await;
    let out = bin(
        &[
            "token",
            "--sub",
            "cli-user",
            "--email",
            "cli@example.com",
            "--super-admin",
            "--expires-in",
            "10m",
        ],
        &[("JWT_SECRET", TEST_SECRET)],
    );
    let token = stdout(&out).trim().to_owned();
    let caller = app.verifier.verify(&token).await.expect("token verifies");
    assert_eq!(caller.user_id, "cli-user");
    assert!(caller.is_super_admin);
    let resp = app
        .get("/api/v1/invitations")
        .bearer(&token)
        .header("x-org-id", &uuid::Uuid::now_v7().to_string())
        .send()
        .await;
    resp.assert_status(200);

    // Signed with another secret, it does not.
    let other = bin(
        &["token", "--sub", "x"],
        &[("JWT_SECRET", "some-other-secret-some-other-secret")],
    );
    let resp = app
        .get("/api/v1/invitations")
        .bearer(stdout(&other).trim())
        .header("x-org-id", &uuid::Uuid::now_v7().to_string())
        .send()
        .await;
    resp.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn members_add_bootstraps_an_admin_that_the_api_then_honours() {
    let app = spawn_app().await;
    let org = uuid::Uuid::now_v7().to_string();
    let db_url = app.database_url.clone();
    let env = [
        ("JWT_SECRET", TEST_SECRET),
        ("DATABASE_URL", db_url.as_str()),
    ];
    let out = bin(
        &[
            "members",
            "add",
            "--org",
            &org,
            "--user",
            "boot",
            "--email",
            "Boot@Example.com",
            "--role",
            "ORG_ADMIN",
        ],
        &env,
    );
    assert!(stdout(&out).contains("boot"));
    let token = app.token("boot", None, false);
    app.get("/api/v1/invitations")
        .bearer(&token)
        .header("x-org-id", &org)
        .send()
        .await
        .assert_status(200);

    // Running it again updates the role.
    let out = bin(
        &[
            "members",
            "add",
            "--org",
            &org,
            "--user",
            "boot",
            "--email",
            "boot@example.com",
            "--role",
            "VIEWER",
        ],
        &env,
    );
    stdout(&out);
    app.get("/api/v1/invitations")
        .bearer(&token)
        .header("x-org-id", &org)
        .send()
        .await
        .assert_error(403, "INSUFFICIENT_ORG_PERMISSIONS");

    let bad = bin(
        &[
            "members", "add", "--org", "nope", "--user", "u", "--email", "e@x.io", "--role",
            "VIEWER",
        ],
        &env,
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a UUID"));
}

#[test]
fn openapi_prints_the_committed_spec_without_a_database() {
    let out = bin(
        &["openapi"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("committed spec");
    assert_eq!(stdout(&out), committed);
    let yaml = stdout(&bin(&["openapi", "--yaml"], &[]));
    assert!(yaml.contains("openapi: 3."));
}

#[test]
fn serve_refuses_a_public_bind_without_a_key_naming_the_variable() {
    let out = bin(&["serve"], &[("BIND_ADDR", "0.0.0.0:0")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("JWT_SECRET") && err.contains("loopback"),
        "{err}"
    );

    // A configured key without SMTP must not log tokens by accident (§7): say so and stop.
    let out = bin(
        &["serve"],
        &[("JWT_SECRET", TEST_SECRET), ("BIND_ADDR", "127.0.0.1:0")],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SMTP_URL") && err.contains("MAIL_MODE=log"),
        "{err}"
    );

    let out = bin(&["serve"], &[("INVITATION_TTL", "whenever")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("INVITATION_TTL"));

    // Two key sources at once (§9.2): the identity provider's URL is named.
    let jwks = (
        "JWT_JWKS_URL",
        "https://tenant.idp.example/.well-known/jwks.json",
    );
    let out = bin(&["serve"], &[jwks, ("JWT_SECRET", TEST_SECRET)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_JWKS_URL"));
    // The provider's keys cannot sign: `token` says so instead of minting.
    let out = bin(&["token", "--sub", "u1"], &[jwks]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET"));
}

#[tokio::test]
async fn migrate_status_down_and_up_work_from_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    let env = [("DATABASE_URL", url.as_str())];
    stdout(&bin(&["migrate", "up"], &env));
    let status = stdout(&bin(&["migrate", "status"], &env));
    let all = <migration::Migrator as migration::MigratorTrait>::migrations().len();
    assert_eq!(status.matches("Applied").count(), all, "{status}");
    stdout(&bin(&["migrate", "down"], &env));
    let status = stdout(&bin(&["migrate", "status"], &env));
    assert_eq!(status.matches("Pending").count(), 1, "{status}");
    stdout(&bin(&["migrate"], &env));
    let status = stdout(&bin(&["migrate", "status"], &env));
    assert_eq!(status.matches("Applied").count(), all, "{status}");
}

/// Kills the child process when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What development mode prints at start: the address, the token and the example org.
#[derive(Default)]
struct Banner {
    addr: Option<String>,
    token: Option<String>,
    org: Option<String>,
    warned: bool,
}

fn read_banner(stdout: std::process::ChildStdout) -> Banner {
    use std::io::{BufRead, BufReader};
    let mut banner = Banner::default();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    for line in lines.by_ref() {
        banner.warned |= line.contains("DEVELOPMENT MODE");
        if let Some(rest) = line.split("http://").nth(1)
            && line.contains("Swagger UI")
        {
            banner.addr = rest.split('/').next().map(str::to_owned);
        }
        let trimmed = line.trim();
        if trimmed.starts_with("eyJ") && trimmed.matches('.').count() == 2 {
            banner.token = Some(trimmed.to_owned());
        }
        if banner.token.is_some() && uuid::Uuid::try_parse(trimmed).is_ok() {
            banner.org = Some(trimmed.to_owned());
            break;
        }
    }
    // Keep draining, so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    banner
}

#[tokio::test]
async fn serve_in_development_mode_prints_a_token_and_the_example_org_it_administers() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}/dev.db?mode=rwc", dir.path().display());
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_voke-invitations"))
            .env_clear()
            .env("DATABASE_URL", &url)
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start serve"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let banner = tokio::task::spawn_blocking(move || read_banner(stdout))
        .await
        .expect("banner");
    assert!(banner.warned, "development mode says so");
    let addr = banner.addr.expect("Swagger UI address");
    let token = banner.token.expect("token");
    let org = banner.org.expect("example organization id");

    // The org printed is the one every example in the spec uses.
    let spec: serde_json::Value =
        serde_json::from_str(&voke_invitations::startup::openapi_json()).expect("spec");
    let create = &spec["paths"]["/api/v1/invitations"]["post"];
    let header = create["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "x-org-id"))
        .expect("x-org-id parameter");
    assert_eq!(header["schema"]["example"], org.as_str());

    // The example body, as Swagger UI would send it, creates an invitation there.
    let body = spec["components"]["schemas"]["CreateInvitationRequest"]["example"].clone();
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("http://{addr}/api/v1/invitations"))
        .bearer_auth(&token)
        .header("x-org-id", &org)
        .json(&body)
        .send()
        .await
        .expect("create");
    assert_eq!(resp.status(), 201);

    // And the development admin is an ORG_ADMIN member of it.
    let members: serde_json::Value = client
        .get(format!("http://{addr}/api/v1/members"))
        .bearer_auth(&token)
        .header("x-org-id", &org)
        .send()
        .await
        .expect("members")
        .json()
        .await
        .expect("json");
    assert_eq!(members["data"][0]["userId"], "dev-admin");
    assert_eq!(members["data"][0]["role"], "ORG_ADMIN");
}
