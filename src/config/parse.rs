//! Parsing of single configuration values, each error naming its variable.

use std::time::Duration;

use super::ConfigError;

/// A humantime duration (`36h`, `7d`) between `min` and `max` seconds.
pub(super) fn parse_duration(
    variable: &'static str,
    raw: &str,
    min: u64,
    max: u64,
) -> Result<Duration, ConfigError> {
    let value = humantime::parse_duration(raw.trim()).map_err(|e| {
        ConfigError::new(
            variable,
            format!("`{raw}` is not a duration like `7d` or `12h`: {e}"),
        )
    })?;
    let (low, high) = (Duration::from_secs(min), Duration::from_secs(max));
    if value < low || value > high {
        return Err(ConfigError::new(
            variable,
            format!(
                "must be between {} and {}",
                humantime::format_duration(low),
                humantime::format_duration(high)
            ),
        ));
    }
    Ok(value)
}

pub(super) fn parse_count(
    variable: &'static str,
    raw: &str,
    min: usize,
    max: usize,
) -> Result<usize, ConfigError> {
    match raw.trim().parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError::new(
            variable,
            format!("expected a whole number from {min} to {max}, got `{raw}`"),
        )),
    }
}

pub(super) fn parse_bool(variable: &'static str, raw: &str) -> Result<bool, ConfigError> {
    match raw.trim() {
        "true" | "1" | "on" => Ok(true),
        "false" | "0" | "off" => Ok(false),
        other => Err(ConfigError::new(
            variable,
            format!("expected `true` or `false`, got `{other}`"),
        )),
    }
}

/// Comma-separated exact origins (`https://admin.example.com`, `http://localhost:3000`): a
/// scheme, a host and an optional port, nothing else.
pub(super) fn parse_origins(variable: &'static str, raw: &str) -> Result<Vec<String>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let exact = url::Url::parse(origin)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(|u| u.origin().ascii_serialization());
            match exact {
                Some(serialized) if serialized == origin => Ok(serialized),
                _ => Err(ConfigError::new(
                    variable,
                    format!("`{origin}` is not an origin like `https://admin.example.com`"),
                )),
            }
        })
        .collect()
}

/// `RATE_LIMITS` (`on`/`off`), `RATE_LIMIT_PUBLIC`/`_WRITES`/`_CALLER` (requests per minute, `0`
/// turns one off) and `TRUSTED_PROXIES` (comma-separated CIDRs).
pub(super) fn rate_limits(
    var: &dyn Fn(&str) -> Option<String>,
    defaults: &crate::ratelimit::RateLimitConfig,
) -> Result<crate::ratelimit::RateLimitConfig, ConfigError> {
    let enabled = match var("RATE_LIMITS") {
        None => true,
        Some(raw) => parse_bool("RATE_LIMITS", &raw)?,
    };
    let per_minute = |name: &'static str, default: Option<std::num::NonZeroU32>| {
        if !enabled {
            return Ok(None);
        }
        match var(name) {
            None => Ok(default),
            Some(raw) => parse_count(name, &raw, 0, 1_000_000)
                .map(|n| std::num::NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX))),
        }
    };
    let trusted_proxies = match var("TRUSTED_PROXIES") {
        None => Vec::new(),
        Some(raw) => raw
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(|cidr| {
                cidr.parse::<ipnet::IpNet>()
                    .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        ConfigError::new(
                            "TRUSTED_PROXIES",
                            format!("`{cidr}` is not an address or CIDR like `10.0.0.0/8`"),
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(crate::ratelimit::RateLimitConfig {
        public: per_minute("RATE_LIMIT_PUBLIC", defaults.public)?,
        writes: per_minute("RATE_LIMIT_WRITES", defaults.writes)?,
        caller: per_minute("RATE_LIMIT_CALLER", defaults.caller)?,
        trusted_proxies,
    })
}
