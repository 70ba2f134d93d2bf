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
        ("REQUEST_TIMEOUT", "0s"),
        ("REQUEST_TIMEOUT", "forever"),
        ("MAX_CONNECTIONS", "0"),
        ("MAX_CONNECTIONS", "many"),
        ("DOCS_ENABLED", "maybe"),
        ("MAIL_MODE", "pigeon"),
        ("MAIL_MODE", "smtp"),
        ("JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem"),
    ] {
        let err = config(&[(name, value)]).expect_err(name);
        assert_eq!(err.variable, name, "{value}");
    }
}

#[test]
fn a_configured_key_without_smtp_needs_mail_mode_log_to_serve() {
    let key = ("JWT_SECRET", "0123456789abcdef0123456789abcdef-secret");
    let err = config(&[key])
        .expect("parses")
        .mail_mode()
        .expect_err("refused");
    assert_eq!(err.variable, "SMTP_URL");
    let explicit = config(&[key, ("MAIL_MODE", "log")]).expect("parses");
    assert_eq!(explicit.mail_mode().expect("log"), MailMode::Log);
    let smtp = config(&[key, ("SMTP_URL", "smtp://127.0.0.1:2525")]).expect("parses");
    assert_eq!(smtp.mail_mode().expect("smtp"), MailMode::Smtp);
    assert_eq!(
        config(&[]).expect("dev").mail_mode().expect("dev"),
        MailMode::Log
    );
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let config =
        config(&[("JWT_SECRET", "0123456789abcdef0123456789abcdef-secret")]).expect("valid");
    assert!(!format!("{config:?}").contains("0123456789abcdef"));
}

#[test]
fn cors_origins_are_exact_origins() {
    let config = config(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://admin.example.com, http://localhost:3000",
    )])
    .expect("valid");
    assert_eq!(
        config.http.cors_allowed_origins,
        ["https://admin.example.com", "http://localhost:3000"]
    );
}

const JWKS: (&str, &str) = (
    "JWT_JWKS_URL",
    "https://tenant.auth0.example/.well-known/jwks.json",
);

#[test]
fn a_jwks_url_is_a_key_source_with_a_ten_minute_refresh_and_no_development_mode() {
    let config = config(&[JWKS, ("BIND_ADDR", "0.0.0.0:4410")]).expect("valid");
    let JwtKey::Jwks { url, refresh } = &config.jwt_key else {
        panic!("not a JWKS key source: {:?}", config.jwt_key);
    };
    assert_eq!(url.as_str(), JWKS.1);
    assert_eq!(*refresh, Duration::from_secs(600));
    assert!(!config.is_development());
    assert_eq!(
        config.mail_mode().expect_err("no SMTP").variable,
        "SMTP_URL"
    );
    let short = config_with_refresh("90s");
    assert!(matches!(short.jwt_key, JwtKey::Jwks { refresh, .. } if refresh.as_secs() == 90));
}

fn config_with_refresh(value: &str) -> Config {
    config(&[JWKS, ("JWT_JWKS_REFRESH", value)]).expect("valid")
}

#[test]
fn a_jwks_url_with_another_key_source_is_refused_naming_jwt_jwks_url() {
    for other in [
        ("JWT_SECRET", "0123456789abcdef0123456789abcdef-secret"),
        ("JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem"),
    ] {
        let err = config(&[JWKS, other]).expect_err("two key sources");
        assert_eq!(err.variable, "JWT_JWKS_URL", "{}", other.0);
    }
}

#[test]
fn bad_jwks_values_name_their_variable() {
    for (name, value) in [
        ("JWT_JWKS_URL", "not a url"),
        ("JWT_JWKS_URL", "http://idp.example/jwks.json"),
        ("JWT_JWKS_URL", "ftp://idp.example/jwks.json"),
        ("JWT_JWKS_REFRESH", "often"),
        ("JWT_JWKS_REFRESH", "0s"),
    ] {
        let vars = if name == "JWT_JWKS_URL" {
            vec![(name, value)]
        } else {
            vec![JWKS, (name, value)]
        };
        let err = config(&vars).expect_err(value);
        assert_eq!(err.variable, name, "{value}");
    }
    // Plain HTTP is fine to a loopback identity provider (development, tests).
    for local in [
        "http://127.0.0.1:8080/jwks",
        "http://localhost/jwks",
        "http://[::1]/jwks",
    ] {
        config(&[("JWT_JWKS_URL", local)]).expect(local);
    }
}

#[test]
fn rate_limits_default_on_and_each_can_be_turned_off() {
    let defaults = config(&[]).expect("valid").http.rate_limits;
    let per_minute = |n: Option<std::num::NonZeroU32>| n.map(std::num::NonZeroU32::get);
    assert_eq!(per_minute(defaults.public), Some(30));
    assert_eq!(per_minute(defaults.writes), Some(120));
    assert_eq!(per_minute(defaults.caller), Some(600));
    let one_off = config(&[
        ("RATE_LIMIT_WRITES", "0"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, ::1"),
    ])
    .expect("valid")
    .http
    .rate_limits;
    assert_eq!(one_off.writes, None);
    assert_eq!(one_off.trusted_proxies.len(), 2);
    let all_off = config(&[("RATE_LIMITS", "off")])
        .expect("valid")
        .http
        .rate_limits;
    assert!(all_off.public.is_none() && all_off.writes.is_none() && all_off.caller.is_none());
}
