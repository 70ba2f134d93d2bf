//! Configuration: the only place that reads the environment.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

/// The development secret used when no key is configured and the server binds to loopback.
/// It is public by design: tokens signed with it are worthless anywhere else.
pub const DEVELOPMENT_JWT_SECRET: &str = "voke-invitations-development-secret-do-not-use";

/// The organization development mode makes its admin an `ORG_ADMIN` of; also the `x-org-id`
/// example in the spec, so Swagger UI's "Try it out" works with nothing typed but the token.
pub const DEVELOPMENT_ORG_ID: uuid::Uuid = uuid::uuid!("0191f0c4-7a3c-7d4e-8a2b-2f7c1c9e4a11");

/// A configuration problem, naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl ConfigError {
    fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

/// A string that never shows up in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Where bearer tokens are verified from.
#[derive(Clone, Debug)]
pub enum JwtKey {
    /// HS256 with a shared secret of at least 32 bytes.
    Secret(Secret),
    /// RS256 or ES256 with a PEM public key (the algorithm follows the key).
    PublicKeyPem(Vec<u8>),
    /// No key configured, loopback bind: the fixed development secret.
    Development,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Outgoing email settings.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `smtp://` or `smtps://` URL; `None` writes messages to the log (development).
    pub smtp_url: Option<Secret>,
    pub from: String,
    pub accept_url: String,
}

/// Everything the service reads from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: Secret,
    pub bind_addr: SocketAddr,
    pub jwt_key: JwtKey,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub invitation_ttl: Duration,
    pub log_format: LogFormat,
    pub log_filter: String,
    pub mail: MailConfig,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://voke-invitations.db?mode=rwc";
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:4410";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());

        let bind_addr: SocketAddr = var("BIND_ADDR")
            .unwrap_or_else(|| DEFAULT_BIND_ADDR.to_owned())
            .parse()
            .map_err(|e| ConfigError::new("BIND_ADDR", format!("not a socket address: {e}")))?;

        let jwt_key = match (var("JWT_SECRET"), var("JWT_PUBLIC_KEY_FILE")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "JWT_SECRET",
                    "set either JWT_SECRET or JWT_PUBLIC_KEY_FILE, not both",
                ));
            }
            (Some(secret), None) if secret.len() < 32 => {
                return Err(ConfigError::new(
                    "JWT_SECRET",
                    "must be at least 32 bytes long",
                ));
            }
            (Some(secret), None) => JwtKey::Secret(Secret::new(secret)),
            (None, Some(path)) => {
                let path = PathBuf::from(path);
                let pem = std::fs::read(&path).map_err(|e| {
                    ConfigError::new(
                        "JWT_PUBLIC_KEY_FILE",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                JwtKey::PublicKeyPem(pem)
            }
            (None, None) if bind_addr.ip().is_loopback() => JwtKey::Development,
            (None, None) => {
                return Err(ConfigError::new(
                    "JWT_SECRET",
                    format!(
                        "no JWT key is configured and BIND_ADDR {bind_addr} is not a loopback \
                         address; set JWT_SECRET or JWT_PUBLIC_KEY_FILE (development mode is \
                         only allowed on 127.0.0.1 or ::1)"
                    ),
                ));
            }
        };

        let invitation_ttl = match var("INVITATION_TTL") {
            None => Duration::from_secs(7 * 24 * 3600),
            Some(raw) => parse_ttl(&raw)?,
        };

        let log_format = match var("LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "LOG_FORMAT",
                    format!("expected `text` or `json`, got `{other}`"),
                ));
            }
        };

        Ok(Self {
            database_url: Secret::new(
                var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            ),
            bind_addr,
            jwt_key,
            jwt_issuer: var("JWT_ISSUER"),
            jwt_audience: var("JWT_AUDIENCE"),
            invitation_ttl,
            log_format,
            log_filter: var("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
            mail: MailConfig {
                smtp_url: var("SMTP_URL").map(Secret::new),
                from: var("MAIL_FROM").unwrap_or_else(|| "Voke <no-reply@localhost>".to_owned()),
                accept_url: var("INVITE_ACCEPT_URL")
                    .unwrap_or_else(|| "http://localhost:3000/auth/accept-invite".to_owned()),
            },
        })
    }

    /// True when the server runs with the public development secret.
    pub fn is_development(&self) -> bool {
        matches!(self.jwt_key, JwtKey::Development)
    }
}

fn parse_ttl(raw: &str) -> Result<Duration, ConfigError> {
    let ttl = humantime::parse_duration(raw.trim()).map_err(|e| {
        ConfigError::new(
            "INVITATION_TTL",
            format!("`{raw}` is not a duration like `7d` or `12h`: {e}"),
        )
    })?;
    if ttl < Duration::from_secs(1) || ttl > Duration::from_secs(366 * 24 * 3600) {
        return Err(ConfigError::new(
            "INVITATION_TTL",
            "must be between 1s and 366d",
        ));
    }
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_run_in_development_mode_on_port_4410() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.bind_addr.port(), 4410);
        assert!(config.is_development());
        assert_eq!(config.invitation_ttl, Duration::from_secs(604_800));
        assert_eq!(config.database_url.expose(), DEFAULT_DATABASE_URL);
    }

    #[test]
    fn a_public_bind_without_a_key_is_refused_naming_the_variable() {
        let err = config(&[("BIND_ADDR", "0.0.0.0:4410")]).expect_err("must refuse");
        assert_eq!(err.variable, "JWT_SECRET");
        assert!(err.to_string().contains("loopback"));
    }

    #[test]
    fn a_short_secret_is_refused() {
        let err = config(&[("JWT_SECRET", "short")]).expect_err("must refuse");
        assert_eq!(err.variable, "JWT_SECRET");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (name, value) in [
            ("BIND_ADDR", "nope"),
            ("INVITATION_TTL", "soon"),
            ("INVITATION_TTL", "0s"),
            ("LOG_FORMAT", "xml"),
            ("JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem"),
        ] {
            let err = config(&[(name, value)]).expect_err(name);
            assert_eq!(err.variable, name, "{value}");
        }
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let config =
            config(&[("JWT_SECRET", "0123456789abcdef0123456789abcdef-secret")]).expect("valid");
        assert!(!format!("{config:?}").contains("0123456789abcdef"));
    }
}
