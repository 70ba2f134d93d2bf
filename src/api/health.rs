//! Liveness and readiness probes.

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json, types::Example};
use sea_orm::DatabaseConnection;

use super::{
    ApiTags,
    errors::{ErrorResponse, docs::E503, error_set},
};
use crate::error::ApiError;

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

error_set!(ReadyErrors: [E503]);

/// Health probes for orchestrators and load balancers.
pub struct HealthApi {
    pub db: DatabaseConnection,
}

#[OpenApi(tag = "ApiTags::Operations")]
impl HealthApi {
    /// Liveness probe
    ///
    /// Answers as long as the process is up; it does not touch the database.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> HealthResponse {
        HealthResponse::ok()
    }

    /// Readiness probe
    ///
    /// Answers `ok` when the database responds, and `503 SERVICE_UNAVAILABLE` when it does not.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self) -> Result<HealthResponse, ErrorResponse<ReadyErrors>> {
        self.db
            .ping()
            .await
            .map_err(|e| ApiError::ServiceUnavailable(e.into()))?;
        Ok(HealthResponse::ok())
    }
}
