//! Route facts taken from poem-openapi's typed metadata (`OpenApi::meta()`), for what poem
//! cannot do itself: the `Allow` header of a 405, refusing query parameters an operation does
//! not define, and saying in words why a parameter poem-openapi refused is invalid (by checking
//! its raw value against the parameter's own schema).

use std::collections::BTreeMap;

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::{
    OpenApi,
    registry::{MetaParamIn, MetaSchemaRef, Registry},
};

use crate::{api::validate::Schema, error::ApiError};

/// One declared parameter of an operation.
struct Param {
    name: String,
    location: MetaParamIn,
    schema: MetaSchemaRef,
}

/// One path template (`/api/v1/invitations/{id}`) and its operations.
struct Route {
    template: String,
    segments: Vec<String>,
    /// Upper-case method -> the operation's parameters.
    methods: BTreeMap<String, Vec<Param>>,
}

/// Every route of the API, built once at start-up.
#[derive(Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    /// The schemas parameters refer to (`$ref: OrgRole`).
    registry: Registry,
}

impl RouteTable {
    /// The routes and parameters of `T`, as its metadata declares them.
    pub fn from_api<T: OpenApi>() -> Self {
        let mut registry = Registry::new();
        T::register(&mut registry);
        let routes = T::meta()
            .into_iter()
            .flat_map(|api| api.paths)
            .map(|path| Route {
                segments: path.path.split('/').map(str::to_owned).collect(),
                template: path.path.clone(),
                methods: path
                    .operations
                    .into_iter()
                    .map(|op| {
                        let params = op
                            .params
                            .into_iter()
                            .map(|p| Param {
                                name: p.name,
                                location: p.in_type,
                                schema: p.schema,
                            })
                            .collect();
                        (op.method.as_str().to_owned(), params)
                    })
                    .collect(),
            })
            .collect();
        Self { routes, registry }
    }

    /// Adds a route outside the API (the spec and docs), answering only `methods`.
    pub fn with_static(mut self, path: &str, methods: &[&str]) -> Self {
        self.routes.push(Route {
            template: path.to_owned(),
            segments: path.split('/').map(str::to_owned).collect(),
            methods: methods
                .iter()
                .map(|m| ((*m).to_owned(), Vec::new()))
                .collect(),
        });
        self
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

    fn params(&self, method: &str, path: &str) -> Option<&[Param]> {
        self.find(path)
            .and_then(|r| r.methods.get(method))
            .map(Vec::as_slice)
    }

    /// The path template a concrete path belongs to (`/api/v1/invitations/{id}`), for metrics
    /// labels that stay bounded whatever paths clients send.
    pub fn template(&self, path: &str) -> Option<&str> {
        self.find(path).map(|r| r.template.as_str())
    }

    /// The `Allow` header value for a path, such as `GET, POST`.
    pub fn allow(&self, path: &str) -> Option<String> {
        self.find(path)
            .map(|r| r.methods.keys().cloned().collect::<Vec<_>>().join(", "))
    }

    /// Refuses query parameters the operation does not define: a misspelt filter
    /// (`?stauts=PENDING`) must not silently return everything.
    pub fn check_query(&self, method: &str, path: &str, query: &str) -> Result<(), ApiError> {
        let Some(params) = self.params(method, path) else {
            return Ok(());
        };
        let known = |name: &str| {
            params
                .iter()
                .any(|p| p.location == MetaParamIn::Query && p.name == name)
        };
        let mut errors: Vec<String> = Vec::new();
        for (name, _) in url::form_urlencoded::parse(query.as_bytes()) {
            let line = format!("{name}: is not a known query parameter");
            if !known(&name) && !errors.contains(&line) {
                errors.push(line);
            }
        }
        match errors.is_empty() {
            true => Ok(()),
            false => Err(ApiError::Validation(errors)),
        }
    }

    /// Why the parameter poem-openapi refused is invalid: its raw value checked against the
    /// parameter's schema. A UUID-formatted parameter is `INVALID_UUID`.
    pub fn refused_param(&self, request: &RequestFacts, refused: Refused<'_>) -> ApiError {
        let Some(route) = self.find(&request.path) else {
            return ApiError::validation(format!("{}: is invalid", refused.name()));
        };
        let params = route
            .methods
            .get(&request.method)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let param = match refused {
            Refused::Named(name) => params.iter().find(|p| p.name == name),
            // poem-openapi names path parameters `param0`, `param1`, ... in path order.
            Refused::Path(extract_name) => extract_name
                .strip_prefix("param")
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| {
                    params
                        .iter()
                        .filter(|p| p.location == MetaParamIn::Path)
                        .nth(n)
                }),
        };
        let Some(param) = param else {
            return ApiError::validation(format!("{}: is invalid", refused.name()));
        };
        let schema = Schema {
            root: &param.schema,
            registry: &self.registry,
        };
        // `x-org-id` is the one UUID header; whatever is wrong with it is `INVALID_UUID`.
        if param.location == MetaParamIn::Header && param.name.eq_ignore_ascii_case("x-org-id") {
            return ApiError::InvalidUuid("x-org-id");
        }
        let violation = request
            .raw_value(route, param)
            .and_then(|raw| schema.check_raw(&param.name, &raw).into_iter().next());
        let is_uuid = match &param.schema {
            MetaSchemaRef::Inline(s) => s.format == Some("uuid"),
            MetaSchemaRef::Reference(_) => false,
        };
        match violation {
            // Whatever is wrong with a UUID parameter, the contract calls it `INVALID_UUID`.
            Some(_) if is_uuid => ApiError::InvalidUuid(uuid_field(param)),
            Some(v) => ApiError::validation(v.to_string()),
            None => ApiError::validation(format!("{}: is invalid", param.name)),
        }
    }
}

/// The parameter poem-openapi refused, as its error names it.
#[derive(Clone, Copy, Debug)]
pub enum Refused<'a> {
    /// A query, header or cookie parameter, by its declared name.
    Named(&'a str),
    /// A path parameter, by poem-openapi's extraction name (`param0`).
    Path(&'a str),
}

impl Refused<'_> {
    fn name(&self) -> &str {
        match self {
            Self::Named(n) | Self::Path(n) => n,
        }
    }
}

fn uuid_field(param: &Param) -> &'static str {
    match param.location {
        MetaParamIn::Header => "x-org-id",
        _ => "id",
    }
}

/// What the error mapping needs to know about the request that failed.
#[derive(Clone, Debug, Default)]
pub struct RequestFacts {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The raw `Idempotency-Key`, the one header parameter besides `x-org-id`.
    pub idempotency_key: Option<String>,
}

impl RequestFacts {
    pub fn of(req: &Request) -> Self {
        Self {
            method: req.method().as_str().to_owned(),
            path: req.uri().path().to_owned(),
            query: req.uri().query().unwrap_or_default().to_owned(),
            idempotency_key: req
                .headers()
                .get(crate::api::idempotency::HEADER)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        }
    }

    fn raw_value(&self, route: &Route, param: &Param) -> Option<String> {
        match param.location {
            MetaParamIn::Header if param.name.eq_ignore_ascii_case("Idempotency-Key") => {
                self.idempotency_key.clone()
            }
            MetaParamIn::Query => url::form_urlencoded::parse(self.query.as_bytes())
                .find(|(k, _)| *k == param.name)
                .map(|(_, v)| v.into_owned()),
            MetaParamIn::Path => {
                let at = route.segments.iter().position(|s| {
                    s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) == Some(&param.name)
                })?;
                let raw = self.path.split('/').nth(at)?;
                Some(
                    percent_encoding::percent_decode_str(raw)
                        .decode_utf8_lossy()
                        .into_owned(),
                )
            }
            _ => None,
        }
    }
}

/// An operation argument that refuses query parameters the operation does not define. It
/// comes right after the security scheme, so authentication and organization checks run
/// first, and it documents nothing in the spec.
pub struct KnownQuery;

impl<'a> FromRequest<'a> for KnownQuery {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let table = req
            .data::<std::sync::Arc<RouteTable>>()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("RouteTable is not attached")))?;
        let query = req.uri().query().unwrap_or_default();
        table.check_query(req.method().as_str(), req.uri().path(), query)?;
        Ok(Self)
    }
}
