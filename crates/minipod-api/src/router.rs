//! From a request (method, path, query, Accept) to the handler that answers it, without any
//! HTTP machinery so that it can be tested directly. Paths follow the API server's
//! (k8s.io/apiserver/pkg/endpoints/installer.go): `/api/v1/RESOURCE`,
//! `/api/v1/namespaces/NS/RESOURCE[/NAME[/SUBRESOURCE]]`.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::Value;

use crate::discovery;
use crate::objects::{self, Resource};
use crate::status::ApiError;

/// One request, as the handlers see it.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// The Accept header ("" when absent).
    pub accept: String,
}

impl ApiRequest {
    pub fn get(path_and_query: &str, accept: &str) -> Self {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        ApiRequest {
            method: "GET".to_owned(),
            path: path.to_owned(),
            query: parse_query(query),
            accept: accept.to_owned(),
        }
    }

    /// The last value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client accepts this media type (with these parameters, in any order).
    pub fn accepts(&self, media: &str, params: &[(&str, &str)]) -> bool {
        self.accept.split(',').any(|one| {
            let mut parts = one.split(';').map(str::trim);
            let ty = parts.next().unwrap_or("");
            let got: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
            ty.eq_ignore_ascii_case(media)
                && params.iter().all(|want| got.contains(want))
                && got.len() == params.len()
        })
    }

    /// Whether the client takes plain JSON (or anything): the server answers nothing else.
    pub fn accepts_json(&self) -> bool {
        self.accept.trim().is_empty()
            || self.accept.split(',').any(|one| {
                let ty = one.split(';').next().unwrap_or("").trim();
                ty == "application/json" || ty == "*/*" || ty == "application/*"
            })
    }

    /// `as=Table;v=v1;g=meta.k8s.io`.
    pub fn wants_table(&self) -> bool {
        self.accepts(
            "application/json",
            &[("as", "Table"), ("v", "v1"), ("g", "meta.k8s.io")],
        )
    }
}

/// `a=b&c=d%3De` → pairs, `+` as space (Go's url.ParseQuery).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// An answer.
#[derive(Debug)]
pub enum Reply {
    /// A JSON body with this Content-Type.
    Json {
        code: u16,
        content_type: &'static str,
        body: Value,
    },
    /// A plain text body (`/healthz`).
    Text { code: u16, body: String },
    /// A watch: the server streams its events.
    Watch(Box<crate::watch::PodWatch>),
}

impl Reply {
    pub fn json(body: Value) -> Self {
        Reply::Json {
            code: 200,
            content_type: "application/json",
            body,
        }
    }

    pub fn error(err: &ApiError) -> Self {
        Reply::Json {
            code: err.code,
            content_type: "application/json",
            body: err.to_status(),
        }
    }

    pub fn code(&self) -> u16 {
        match self {
            Reply::Json { code, .. } | Reply::Text { code, .. } => *code,
            Reply::Watch(_) => 200,
        }
    }
}

/// What every handler needs: the store's root and the listen address.
#[derive(Clone)]
pub struct Api {
    pub root: PathBuf,
    pub listen: SocketAddr,
}

impl Api {
    /// Answers one request (blocking: it reads the store).
    pub fn handle(&self, req: &ApiRequest) -> Reply {
        match self.route(req) {
            Ok(reply) => reply,
            Err(err) => Reply::error(&err),
        }
    }

    fn route(&self, req: &ApiRequest) -> Result<Reply, ApiError> {
        let path = req.path.trim_end_matches('/');
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            ["healthz"] | ["readyz"] | ["livez"] => {
                return Ok(Reply::Text {
                    code: 200,
                    body: "ok".to_owned(),
                })
            }
            ["healthz" | "readyz" | "livez", _check] => {
                return Ok(Reply::Text {
                    code: 200,
                    body: "ok".to_owned(),
                })
            }
            _ => {}
        }
        let is_read = req.method == "GET" || req.method == "HEAD";
        match segments.as_slice() {
            ["version"] if is_read => Ok(Reply::json(discovery::version())),
            ["api"] if is_read => Ok(discovery::api(req, self.listen)),
            ["apis"] if is_read => Ok(discovery::apis(req)),
            ["api", "v1"] if is_read => Ok(Reply::json(discovery::api_v1_resources())),
            ["api", "v1", rest @ ..] => self.route_v1(req, rest),
            _ => Err(ApiError::no_route()),
        }
    }

    fn route_v1(&self, req: &ApiRequest, rest: &[&str]) -> Result<Reply, ApiError> {
        // (namespace, resource, name, subresource)
        let (ns, resource, name, sub): (Option<&str>, &str, Option<&str>, Option<&str>) = match rest
        {
            ["namespaces"] => (None, "namespaces", None, None),
            ["namespaces", ns] => (None, "namespaces", Some(*ns), None),
            ["namespaces", ns, sub @ ("status" | "finalize")] => {
                (None, "namespaces", Some(*ns), Some(*sub))
            }
            ["namespaces", ns, resource] => (Some(*ns), *resource, None, None),
            ["namespaces", ns, resource, name] => (Some(*ns), *resource, Some(*name), None),
            ["namespaces", ns, resource, name, sub] => {
                (Some(*ns), *resource, Some(*name), Some(*sub))
            }
            [resource] => (None, *resource, None, None),
            _ => return Err(ApiError::no_route()),
        };
        let Some(kind) = Resource::from_plural(resource) else {
            return Err(ApiError::no_route());
        };
        if kind == Resource::Namespaces && ns.is_some() {
            return Err(ApiError::no_route());
        }
        let verb = match (req.method.as_str(), name, sub) {
            ("GET" | "HEAD", None, None) => {
                if req.param("watch").is_some_and(|w| w == "1" || w == "true") {
                    "watch"
                } else {
                    "list"
                }
            }
            ("GET" | "HEAD", Some(_), None) => "get",
            ("POST", None, None) => "create",
            ("DELETE", None, None) => "deletecollection",
            ("DELETE", Some(_), None) => "delete",
            ("PUT", Some(_), _) => "update",
            ("PATCH", Some(_), _) => "patch",
            (_, Some(_), Some(sub)) => sub,
            (method, _, _) => {
                return Err(ApiError::method_not_allowed(
                    resource,
                    &method.to_ascii_lowercase(),
                ))
            }
        };
        if !req.accepts_json() && !req.wants_table() {
            return Err(ApiError::not_acceptable());
        }
        match verb {
            "list" => objects::list(self, req, kind, ns),
            "watch" if kind == Resource::Pods => Ok(Reply::Watch(Box::new(
                crate::watch::PodWatch::new(self, req, ns)?,
            ))),
            "get" => objects::get(self, req, kind, ns, name.unwrap_or("")),
            other => Err(ApiError::method_not_allowed(resource, other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_like_go() {
        assert_eq!(
            parse_query("labelSelector=app%3Dweb&limit=500&x=a+b"),
            [
                ("labelSelector".into(), "app=web".into()),
                ("limit".into(), "500".into()),
                ("x".into(), "a b".into())
            ]
        );
    }

    #[test]
    fn accept_headers_pick_tables_and_discovery() {
        let kubectl_get = ApiRequest::get(
            "/api/v1/pods",
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
        );
        assert!(kubectl_get.wants_table());
        assert!(kubectl_get.accepts_json());
        assert!(!ApiRequest::get("/x", "application/json").wants_table());
        assert!(ApiRequest::get("/x", "").accepts_json());
        assert!(!ApiRequest::get("/x", "application/vnd.kubernetes.protobuf").accepts_json());
    }
}
