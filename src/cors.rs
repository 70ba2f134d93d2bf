//! CORS (§9.4) with poem's `Cors` middleware, from `CORS_ALLOWED_ORIGINS`: exact origins, the
//! API's methods and request headers, and the response headers a browser UI needs to read.
//! It wraps the routes, so a preflight is answered before any authentication runs.

use poem::{
    Endpoint, EndpointExt, IntoResponse, Request, Response,
    http::{Method, StatusCode, header},
    middleware::Cors,
};

const ALLOWED_HEADERS: [&str; 5] = [
    "authorization",
    "content-type",
    "x-org-id",
    "idempotency-key",
    "x-request-id",
];

const EXPOSED_HEADERS: [&str; 6] = [
    "location",
    "retry-after",
    "ratelimit",
    "ratelimit-policy",
    "x-request-id",
    "idempotent-replayed",
];

/// `ep` answering CORS for `origins`; unchanged (no CORS headers at all) when there are none.
pub fn wrap<E: Endpoint + 'static>(ep: E, origins: &[String]) -> impl Endpoint + use<E> {
    let cors = Cors::new()
        .allow_origins(origins.iter().map(String::as_str))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers(ALLOWED_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(600);
    ep.with_if(!origins.is_empty(), cors)
        .around(|ep, req| async move { preflight_is_no_content(ep, req).await })
}

/// poem answers a preflight 200 with an empty body; the contract says 204, which is also
/// what a preflight means.
async fn preflight_is_no_content<E: Endpoint>(
    ep: std::sync::Arc<E>,
    req: Request,
) -> poem::Result<Response> {
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = ep.call(req).await?.into_response();
    if preflight
        && response.status() == StatusCode::OK
        && response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        response.set_status(StatusCode::NO_CONTENT);
    }
    Ok(response)
}
