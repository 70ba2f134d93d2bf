//! Serving the spec (`/openapi.json`, `/openapi.yaml`) and Swagger UI (`/docs`): `GET` only
//! (anything else is 405 with `Allow`), compressed by `Accept-Encoding` (poem's `Compression`),
//! and revalidated by `ETag` so a browser reloads 1.6 MB only when it changed.

use std::sync::Arc;

use poem::{
    EndpointExt, Request, Response, Route,
    endpoint::make_sync,
    get,
    http::{Method, StatusCode, header},
    middleware::Compression,
};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// A fixed document with its entity tag.
struct Document {
    body: Arc<str>,
    content_type: &'static str,
    etag: String,
}

impl Document {
    fn new(body: String, content_type: &'static str) -> Self {
        let digest = Sha256::digest(body.as_bytes());
        let etag = format!("\"{}\"", hex(&digest[..16]));
        Self {
            body: body.into(),
            content_type,
            etag,
        }
    }

    fn respond(&self, req: &Request) -> Response {
        let fresh = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|tags| {
                tags.split(',')
                    .any(|t| t.trim() == self.etag || t.trim() == "*")
            });
        let builder = Response::builder()
            .header(header::ETAG, self.etag.as_str())
            .header(header::CACHE_CONTROL, "no-cache");
        if fresh {
            return builder.status(StatusCode::NOT_MODIFIED).finish();
        }
        builder
            .content_type(self.content_type)
            .body(self.body.to_string())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Adds the spec documents, and Swagger UI when its page is given, to `route`.
pub fn mount(route: Route, spec_json: String, spec_yaml: String, ui: Option<String>) -> Route {
    let json = Arc::new(Document::new(spec_json, "application/json; charset=utf-8"));
    let yaml = Arc::new(Document::new(spec_yaml, "application/yaml; charset=utf-8"));
    let route = route
        .at(
            "/openapi.json",
            get(make_sync(move |req| json.respond(&req))).with(Compression::new()),
        )
        .at(
            "/openapi.yaml",
            get(make_sync(move |req| yaml.respond(&req))).with(Compression::new()),
        );
    match ui {
        Some(page) => {
            let page = Arc::new(Document::new(page, "text/html; charset=utf-8"));
            route.at(
                "/docs",
                make_sync(move |req| page.respond(&req))
                    .before(only_get)
                    .with(Compression::new()),
            )
        }
        None => route,
    }
}

/// Swagger UI's page, showing `spec` (the served document) instead of the raw one
/// poem-openapi embeds (`raw`), so what a person reads is what a client generator reads.
pub fn swagger_page(page_with_raw: &str, raw: &str, spec: &str) -> Option<String> {
    page_with_raw
        .contains(raw)
        .then(|| page_with_raw.replacen(raw, spec, 1))
}

/// Swagger UI is a page: reading it is the only thing that makes sense.
async fn only_get(req: Request) -> poem::Result<Request> {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        Ok(req)
    } else {
        Err(ApiError::MethodNotAllowed {
            allow: Some("GET".to_owned()),
        }
        .into())
    }
}
