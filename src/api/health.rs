//! Liveness and readiness probes.

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json, types::Example};
use sea_orm::DatabaseConnection;

use super::{
    ApiTags,
    errors::{
        ErrorResponse,
        docs::{E500, E503},
        error_set,
    },
};
use crate::{auth::JwtVerifier, error::ApiError};

/// A probe's answer.
#[derive(Object, Clone, Debug)]
#[oai(example)]
pub struct HealthStatus {
    /// Always `ok` when the probe passes.
    pub status: String,
}

impl Example for HealthStatus {
    fn example() -> Self {
        Self {
            status: "ok".to_owned(),
        }
    }
}

/// The probe passed.
#[derive(ApiResponse)]
pub enum HealthResponse {
    /// The probe passed.
    #[oai(status = 200)]
    Ok(Json<HealthStatus>),
}

impl HealthResponse {
    fn ok() -> Self {
        Self::Ok(Json(HealthStatus {
            status: "ok".to_owned(),
        }))
    }
}

error_set!(HealthErrors: [E500]);
error_set!(ReadyErrors: [E500, E503]);

/// A probe must answer quickly even when the database does not.
const READY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// Health probes for orchestrators and load balancers.
pub struct HealthApi {
    pub db: DatabaseConnection,
    /// Not ready while its identity provider's keys have never been fetched.
    pub verifier: std::sync::Arc<JwtVerifier>,
}

#[OpenApi(tag = "ApiTags::Operations")]
impl HealthApi {
    /// Liveness probe
    ///
    /// Answers as long as the process is up; it does not touch the database.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Result<HealthResponse, ErrorResponse<HealthErrors>> {
        Ok(HealthResponse::ok())
    }

    /// Readiness probe
    ///
    /// Answers `ok` when the database responds (and, with `JWT_JWKS_URL`, a key set has been
    /// fetched), and `503 SERVICE_UNAVAILABLE` otherwise, within 2 seconds either way.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self) -> Result<HealthResponse, ErrorResponse<ReadyErrors>> {
        if !self.verifier.is_ready() {
            return Err(ApiError::ServiceUnavailable(anyhow::anyhow!(
                "no JWK set has been fetched yet (JWT_JWKS_URL)"
            ))
            .into());
        }
        match tokio::time::timeout(READY_DEADLINE, self.db.ping()).await {
            Ok(Ok(())) => Ok(HealthResponse::ok()),
            Ok(Err(e)) => Err(ApiError::ServiceUnavailable(e.into()).into()),
            Err(_) => Err(ApiError::ServiceUnavailable(anyhow::anyhow!(
                "the database did not answer within {READY_DEADLINE:?}"
            ))
            .into()),
        }
    }
}
