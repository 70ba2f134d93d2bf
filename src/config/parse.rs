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
