//! Where bearer tokens are verified from: `JWT_SECRET`, `JWT_PUBLIC_KEY_FILE` or `JWT_JWKS_URL`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use url::{Host, Url};

use super::{ConfigError, Secret, parse::parse_duration};

/// How often the key set is fetched again when `JWT_JWKS_REFRESH` is not set.
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(600);

/// Where bearer tokens are verified from.
#[derive(Clone, Debug)]
pub enum JwtKey {
    /// HS256 with a shared secret of at least 32 bytes.
    Secret(Secret),
    /// RS256 or ES256 with a PEM public key (the algorithm follows the key).
    PublicKeyPem(Vec<u8>),
    /// RS256, ES256 or EdDSA with keys fetched from an identity provider's JWK set.
    Jwks { url: Url, refresh: Duration },
    /// No key configured, loopback bind: the fixed development secret.
    Development,
}

/// Reads the three mutually exclusive key variables (plus `JWT_JWKS_REFRESH`).
pub(super) fn jwt_key(
    var: impl Fn(&str) -> Option<String>,
    bind_addr: SocketAddr,
) -> Result<JwtKey, ConfigError> {
    let secret = var("JWT_SECRET");
    let pem_file = var("JWT_PUBLIC_KEY_FILE");
    let jwks_url = var("JWT_JWKS_URL");
    if let Some(raw) = jwks_url {
        if secret.is_some() || pem_file.is_some() {
            return Err(ConfigError::new(
                "JWT_JWKS_URL",
                "set only one of JWT_SECRET, JWT_PUBLIC_KEY_FILE and JWT_JWKS_URL",
            ));
        }
        let refresh = match var("JWT_JWKS_REFRESH") {
            None => DEFAULT_JWKS_REFRESH,
            Some(raw) => parse_duration("JWT_JWKS_REFRESH", &raw, 1, 7 * 24 * 3600)?,
        };
        return Ok(JwtKey::Jwks {
            url: jwks_url_from(&raw)?,
            refresh,
        });
    }
    match (secret, pem_file) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            "JWT_SECRET",
            "set either JWT_SECRET or JWT_PUBLIC_KEY_FILE, not both",
        )),
        (Some(secret), None) if secret.len() < 32 => Err(ConfigError::new(
            "JWT_SECRET",
            "must be at least 32 bytes long",
        )),
        (Some(secret), None) => Ok(JwtKey::Secret(Secret::new(secret))),
        (None, Some(path)) => {
            let path = PathBuf::from(path);
            let pem = std::fs::read(&path).map_err(|e| {
                ConfigError::new(
                    "JWT_PUBLIC_KEY_FILE",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            Ok(JwtKey::PublicKeyPem(pem))
        }
        (None, None) if bind_addr.ip().is_loopback() => Ok(JwtKey::Development),
        (None, None) => Err(ConfigError::new(
            "JWT_SECRET",
            format!(
                "no JWT key is configured and BIND_ADDR {bind_addr} is not a loopback address; \
                 set JWT_SECRET, JWT_PUBLIC_KEY_FILE or JWT_JWKS_URL (development mode is only \
                 allowed on 127.0.0.1 or ::1)"
            ),
        )),
    }
}

/// An `https://` URL; plain `http://` only to a loopback host, since whoever can alter the
/// response can mint tokens.
fn jwks_url_from(raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| ConfigError::new("JWT_JWKS_URL", format!("not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(ConfigError::new(
            "JWT_JWKS_URL",
            "must be an https:// URL (http:// is allowed only for localhost)",
        )),
    }
}
