//! What the spec says about each route, for the checks poem cannot make itself: the `Allow`
//! header of a 405, and rejecting query parameters an operation does not define.

use std::collections::BTreeMap;

use poem::Request;

use crate::error::ApiError;

/// One path template (`/api/v1/invitations/{id}`) and its operations.
#[derive(Debug)]
struct Route {
    segments: Vec<String>,
    /// Upper-case method -> the names of its query parameters.
    methods: BTreeMap<String, Vec<String>>,
}

/// The spec's routes, read once at start-up.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    pub fn from_spec(spec: &serde_json::Value) -> Self {
        let mut routes = Vec::new();
        let Some(paths) = spec.get("paths").and_then(|p| p.as_object()) else {
            return Self { routes };
        };
        for (template, item) in paths {
            let Some(ops) = item.as_object() else {
                continue;
            };
            let methods = ops
                .iter()
                .map(|(method, op)| {
                    let names = op["parameters"]
                        .as_array()
                        .map(|ps| {
                            ps.iter()
                                .filter(|p| p["in"] == "query")
                                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    (method.to_uppercase(), names)
                })
                .collect();
            let segments = template.split('/').map(str::to_owned).collect();
            routes.push(Route { segments, methods });
        }
        Self { routes }
    }

    /// The route a concrete path belongs to; a literal route (`/invitations/lookup`) wins over a
    /// template (`/invitations/{id}`).
    fn find(&self, path: &str) -> Option<&Route> {
        let parts: Vec<&str> = path.split('/').collect();
        let matches = |exact: bool| {
            self.routes.iter().find(|r| {
                r.segments.len() == parts.len()
                    && r.segments
                        .iter()
                        .zip(&parts)
                        .all(|(s, p)| s == p || (!exact && s.starts_with('{') && !p.is_empty()))
            })
        };
        matches(true).or_else(|| matches(false))
    }

    /// The `Allow` header value for a path, such as `GET, POST`.
    pub fn allow(&self, path: &str) -> Option<String> {
        self.find(path)
            .map(|r| r.methods.keys().cloned().collect::<Vec<_>>().join(", "))
    }

    /// Refuses query parameters the operation does not define: a misspelt filter
    /// (`?stauts=PENDING`) must not silently return everything.
    pub fn check_query(&self, req: &Request) -> Result<(), ApiError> {
        let Some(known) = self
            .find(req.uri().path())
            .and_then(|r| r.methods.get(req.method().as_str()))
        else {
            return Ok(());
        };
        let query = req.uri().query().unwrap_or_default();
        let mut errors: Vec<String> = Vec::new();
        for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
            if !known.iter().any(|k| *k == name) {
                let line = format!("{name}: is not a known query parameter");
                if !errors.contains(&line) {
                    errors.push(line);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}
