//! The command line: `serve` (default), `openapi`, `token`, `members add`, `migrate`,
//! `recount`.

use std::time::Duration;

use clap::{Parser, Subcommand};
use uuid::Uuid;

use crate::{
    auth::{JwtVerifier, parse_uuid},
    config::{Config, DEVELOPMENT_ORG_ID},
    db,
    entity::OrgRole,
    service, startup,
};

/// The Voke organization-invitations service.
#[derive(Debug, Parser)]
#[command(name = "voke-invitations", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the API (the default).
    Serve,
    /// Print the OpenAPI spec (no database needed).
    Openapi {
        /// YAML instead of JSON.
        #[arg(long)]
        yaml: bool,
    },
    /// Mint an HS256 bearer token with the configured secret (development helper).
    Token {
        /// The user id (`sub` claim).
        #[arg(long)]
        sub: String,
        /// The `email` claim (needed to accept invitations).
        #[arg(long)]
        email: Option<String>,
        /// Make the token a super admin's (`isSuperAdmin: true`).
        #[arg(long)]
        super_admin: bool,
        /// Lifetime, such as `1h` or `30m`.
        #[arg(long, default_value = "1h", value_parser = parse_duration)]
        expires_in: Duration,
    },
    /// Manage organization memberships.
    Members {
        #[command(subcommand)]
        command: MembersCommand,
    },
    /// Apply, roll back or list migrations.
    Migrate {
        #[command(subcommand)]
        command: Option<MigrateCommand>,
    },
    /// Rebuild the invitation counters behind the list's `meta.total` from the rows (after a
    /// restore, or if triggers were disabled during a load). Writers wait while it runs.
    Recount,
}

#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// Add a membership, or update the email and role of an existing one.
    Add {
        /// The organization's UUID.
        #[arg(long, value_parser = parse_org)]
        org: Uuid,
        /// The user's id (the `sub` of their tokens).
        #[arg(long)]
        user: String,
        /// The user's email.
        #[arg(long)]
        email: String,
        /// ORG_ADMIN, OPERATOR or VIEWER.
        #[arg(long, value_parser = parse_role)]
        role: OrgRole,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum MigrateCommand {
    /// Apply every pending migration (the default).
    Up,
    /// Roll back the most recent migrations.
    Down {
        /// How many to roll back.
        #[arg(short = 'n', long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw).map_err(|e| format!("`{raw}` is not a duration: {e}"))
}

fn parse_org(raw: &str) -> Result<Uuid, String> {
    parse_uuid(raw.trim()).ok_or_else(|| format!("`{raw}` is not a UUID"))
}

fn parse_role(raw: &str) -> Result<OrgRole, String> {
    match raw.trim().to_uppercase().as_str() {
        "ORG_ADMIN" => Ok(OrgRole::OrgAdmin),
        "OPERATOR" => Ok(OrgRole::Operator),
        "VIEWER" => Ok(OrgRole::Viewer),
        _ => Err(format!("`{raw}` is not one of ORG_ADMIN, OPERATOR, VIEWER")),
    }
}

/// Runs one command to completion. Output meant for the operator goes to stdout.
pub async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Openapi { yaml } => {
            let spec = if yaml {
                startup::openapi_yaml()
            } else {
                startup::openapi_json()
            };
            // Already newline-terminated: these are the committed file's exact bytes.
            print!("{spec}");
            Ok(())
        }
        Command::Token {
            sub,
            email,
            super_admin,
            expires_in,
        } => {
            let verifier = JwtVerifier::from_config(&config)?;
            println!(
                "{}",
                verifier.mint(&sub, email.as_deref(), super_admin, expires_in)?
            );
            Ok(())
        }
        Command::Members {
            command:
                MembersCommand::Add {
                    org,
                    user,
                    email,
                    role,
                },
        } => {
            let db = db::connect(config.database_url.expose()).await?;
            db::migrate_up(&db).await?;
            let member = service::members::upsert(&db, org, &user, &email, role).await?;
            println!(
                "member {} ({}) is {:?} in organization {}",
                member.user_id, member.email, member.role, member.organization_id
            );
            Ok(())
        }
        Command::Migrate { command } => {
            migrate(&config, command.unwrap_or(MigrateCommand::Up)).await
        }
        Command::Recount => {
            let db = db::connect(config.database_url.expose()).await?;
            db::migrate_up(&db).await?;
            let counted = service::counts::recount(&db).await?;
            println!("recounted {counted} invitations");
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = startup::Application::build(&config).await?;
    let addr = app
        .local_addr()
        .map_or_else(|| config.bind_addr.to_string(), |a| a.to_string());
    tracing::info!(%addr, "listening; Swagger UI at http://{addr}/docs");
    if config.is_development() {
        let verifier = JwtVerifier::from_config(&config)?;
        let token = verifier.mint(
            DEVELOPMENT_ADMIN,
            Some("admin@localhost"),
            true,
            Duration::from_secs(24 * 3600),
        )?;
        // The spec's examples use this organization, so "Try it out" works as it stands.
        service::members::upsert(
            &app.state().db,
            DEVELOPMENT_ORG_ID,
            DEVELOPMENT_ADMIN,
            "admin@localhost",
            OrgRole::OrgAdmin,
        )
        .await?;
        tracing::warn!(
            "DEVELOPMENT MODE: no JWT_SECRET or JWT_PUBLIC_KEY_FILE is set, so tokens are \
             verified with a fixed, public development secret. Never expose this server."
        );
        tracing::warn!(
            "development super-admin token (24h), paste it into Authorize at http://{addr}/docs:\n\n    {token}\n\n\
             its user `{DEVELOPMENT_ADMIN}` is ORG_ADMIN of the example organization (x-org-id):\n\n    {DEVELOPMENT_ORG_ID}\n"
        );
    }
    app.run_until_stopped(startup::shutdown_signal()).await
}

async fn migrate(config: &Config, command: MigrateCommand) -> anyhow::Result<()> {
    let db = db::connect(config.database_url.expose()).await?;
    match command {
        MigrateCommand::Up => db::migrate_up(&db).await?,
        MigrateCommand::Down { steps } => db::migrate_down(&db, steps).await?,
        MigrateCommand::Status => {
            for (name, applied) in db::migration_status(&db).await? {
                let status = if applied { "Applied" } else { "Pending" };
                println!("{status}\t{name}");
            }
        }
    }
    Ok(())
}

/// The user development mode's token speaks for.
const DEVELOPMENT_ADMIN: &str = "dev-admin";
