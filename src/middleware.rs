//! The outermost layer: request body limit, panic catching, the error envelope for everything
//! poem raises, and one log line per request.

use std::{
    panic::AssertUnwindSafe,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::FutureExt;
use poem::{
    Endpoint, Request, Response,
    error::ResponseError,
    http::{Method, header},
};
use tracing::Instrument;

use crate::{
    api::idempotency,
    error::{ApiError, from_poem_error},
    load::Load,
    ratelimit::Ledger,
    routes::{RequestFacts, RouteTable},
};

/// Bodies larger than this are refused with 413 before any handler sees them.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the outermost layer needs: route facts and the request deadline.
pub struct Edge {
    pub routes: Arc<RouteTable>,
    /// A request still running after this answers 503 (`REQUEST_TIMEOUT`).
    pub request_timeout: Duration,
    /// Counts the requests in flight.
    pub load: Load,
}

impl Edge {
    /// The edge of a bare endpoint (tests): no route facts, the default deadline.
    pub fn bare() -> Self {
        Self {
            routes: Arc::new(RouteTable::default()),
            request_timeout: Duration::from_secs(30),
            load: Load::default(),
        }
    }
}

/// The header that carries a request's id, in and out (§9.3).
pub const REQUEST_ID: &str = "x-request-id";

/// The request's id, as a request extension: events record which request made a change.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id of `req`, when it came through [`envelope`].
    pub fn of(req: &Request) -> Option<String> {
        req.extensions().get::<Self>().map(|id| id.0.clone())
    }
}

/// The caller's `x-request-id` when it is 1–128 characters of `[A-Za-z0-9._-]`, else a new
/// UUIDv7.
fn request_id(req: &Request) -> String {
    let valid = |v: &&str| {
        (1..=128).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    let mut values = req.headers().get_all(REQUEST_ID).iter();
    match (values.next().and_then(|v| v.to_str().ok()), values.next()) {
        (Some(id), None) if valid(&id) => id.to_owned(),
        _ => uuid::Uuid::now_v7().to_string(),
    }
}

/// Wraps the whole application: every line logged while a request runs carries its id.
pub async fn envelope<E: Endpoint<Output = Response>>(
    ep: Arc<E>,
    edge: Arc<Edge>,
    req: Request,
) -> poem::Result<Response> {
    let _in_flight = edge.load.enter();
    let id = request_id(&req);
    let span = tracing::info_span!("request", request_id = %id);
    // Rate-limit checks on the way in record where the request stands; the answer says so.
    let ledger = Ledger::default();
    let mut req = req;
    req.extensions_mut().insert(ledger.clone());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = handle(ep, edge, req).instrument(span).await;
    let headers = response.headers_mut();
    if let Ok(value) = poem::http::HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID, value);
    }
    if let Some((policy, standing)) = ledger.headers() {
        for (name, value) in [("ratelimit-policy", policy), ("ratelimit", standing)] {
            if let Ok(value) = poem::http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
    Ok(response)
}

async fn handle<E: Endpoint<Output = Response>>(
    ep: Arc<E>,
    edge: Arc<Edge>,
    mut req: Request,
) -> Response {
    let started = Instant::now();
    let facts = RequestFacts::of(&req);

    let response = match limit_body(&mut req).await {
        Err(err) => err.as_response(),
        Ok(body) => {
            // A request with an Idempotency-Key: its operation may claim the key, and then
            // whatever it answers is stored for retries.
            let slot = idempotency::Slot::of(&req, &body);
            if let Some(slot) = &slot {
                req.extensions_mut().insert(slot.clone());
            }
            let response = call_endpoint(&ep, &edge, &facts, req).await;
            match slot {
                Some(slot) => idempotency::settle(&slot, response).await,
                None => response,
            }
        }
    };

    finish(&edge, &facts, started, response)
}

/// The endpoint's answer within the request deadline, with every failure as an envelope.
async fn call_endpoint<E: Endpoint<Output = Response>>(
    ep: &Arc<E>,
    edge: &Edge,
    facts: &RequestFacts,
    req: Request,
) -> Response {
    let routes = &edge.routes;
    let call = AssertUnwindSafe(ep.call(req)).catch_unwind();
    let Ok(outcome) = tokio::time::timeout(edge.request_timeout, call).await else {
        return timed_out(edge.request_timeout).as_response();
    };
    match outcome {
        Ok(Ok(resp)) if is_bare_error(&resp) => {
            from_poem_error(poem::Error::from_status(resp.status()), facts, routes).as_response()
        }
        Ok(Ok(resp)) => resp,
        Ok(Err(err)) => from_poem_error(err, facts, routes).as_response(),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            ApiError::internal(anyhow::anyhow!("handler panicked: {what}")).as_response()
        }
    }
}

fn timed_out(limit: Duration) -> ApiError {
    ApiError::ServiceUnavailable(anyhow::anyhow!(
        "the request did not finish within REQUEST_TIMEOUT ({})",
        humantime::format_duration(limit)
    ))
}

/// Logs the one line of a request, counts it, and passes its response on.
fn finish(edge: &Edge, facts: &RequestFacts, started: Instant, response: Response) -> Response {
    let status = response.status();
    let route = edge.routes.template(&facts.path).unwrap_or("unmatched");
    crate::metrics::record_request(&facts.method, route, status.as_u16(), started.elapsed());
    // Two decimals are plenty; the JSON log keeps it a number.
    let latency_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    // The path only: query strings may carry invitation tokens.
    tracing::info!(
        method = %facts.method,
        path = %facts.path,
        status = status.as_u16(),
        latency_ms,
        "request"
    );
    response
}

/// Buffers the body up to [`BODY_LIMIT`], so no handler ever reads more; returns it.
async fn limit_body(req: &mut Request) -> Result<bytes::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > BODY_LIMIT as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    if matches!(*req.method(), Method::GET | Method::HEAD) && declared.unwrap_or(0) == 0 {
        return Ok(bytes::Bytes::new());
    }
    let bytes = req
        .take_body()
        .into_bytes_limit(BODY_LIMIT)
        .await
        .map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge,
            other => ApiError::validation(format!("body: {other}")),
        })?;
    req.set_body(bytes.clone());
    Ok(bytes)
}

/// An error status that something produced as a response without the envelope.
fn is_bare_error(resp: &Response) -> bool {
    let status = resp.status();
    let is_json = resp
        .content_type()
        .is_some_and(|ct| ct.starts_with("application/json"));
    (status.is_client_error() || status.is_server_error()) && !is_json
}
