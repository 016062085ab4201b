//! Discovery: `/version`, `/api` and `/apis` (aggregated discovery `apidiscovery.k8s.io/v2`
//! when the Accept header asks for it, else the legacy `APIVersions` / `APIGroupList`), and
//! `/api/v1` (`APIResourceList`). Only what is actually served is advertised, with the verbs
//! it answers: kubectl decides from discovery what it may ask
//! (k8s.io/apiserver/pkg/endpoints/discovery/aggregated; staging/src/k8s.io/api/apidiscovery/v2).

use std::net::SocketAddr;

use serde_json::{json, Value};

use crate::objects::Resource;
use crate::router::{ApiRequest, Reply};
use crate::tls::server_url;
use crate::{KUBE_MAJOR, KUBE_MINOR};

/// The Content-Type of an aggregated discovery answer; kubectl ignores the body without it.
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// `/version` (version.Info).
pub fn version() -> Value {
    json!({
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": format!("v{KUBE_MAJOR}.{KUBE_MINOR}.0-minipod.{}", env!("CARGO_PKG_VERSION")),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, minipod_image::platform::host_go_arch()),
    })
}

fn wants_aggregated(req: &ApiRequest) -> bool {
    req.accepts(
        "application/json",
        &[
            ("g", "apidiscovery.k8s.io"),
            ("v", "v2"),
            ("as", "APIGroupDiscoveryList"),
        ],
    )
}

fn aggregated(items: Vec<Value>) -> Reply {
    Reply::Json {
        code: 200,
        content_type: AGGREGATED_V2,
        body: json!({
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": items,
        }),
    }
}

/// `/api`: the core group.
pub fn api(req: &ApiRequest, listen: SocketAddr) -> Reply {
    if wants_aggregated(req) {
        let resources: Vec<Value> = Resource::ALL.iter().map(|r| r.discovery_v2()).collect();
        return aggregated(vec![json!({
            "metadata": {"creationTimestamp": null},
            "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}],
        })]);
    }
    let address = server_url(listen);
    Reply::json(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{
            "clientCIDR": "0.0.0.0/0",
            "serverAddress": address.trim_start_matches("https://"),
        }],
    }))
}

/// `/apis`: no named groups are served yet.
pub fn apis(req: &ApiRequest) -> Reply {
    if wants_aggregated(req) {
        return aggregated(Vec::new());
    }
    Reply::json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}))
}

/// `/api/v1`.
pub fn api_v1_resources() -> Value {
    json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": Resource::ALL.iter().map(|r| r.api_resource()).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECTL_DISCOVERY: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    #[test]
    fn api_answers_aggregated_discovery_with_its_content_type() {
        let listen = "127.0.0.1:6443".parse().unwrap();
        let Reply::Json {
            content_type, body, ..
        } = api(&ApiRequest::get("/api", KUBECTL_DISCOVERY), listen)
        else {
            panic!("not JSON")
        };
        assert_eq!(content_type, AGGREGATED_V2);
        let resources = &body["items"][0]["versions"][0]["resources"];
        let pods = resources
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .unwrap();
        assert_eq!(pods["responseKind"]["kind"], "Pod");
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(pods["shortNames"][0], "po");

        let Reply::Json {
            content_type, body, ..
        } = api(&ApiRequest::get("/api", "application/json"), listen)
        else {
            panic!("not JSON")
        };
        assert_eq!(content_type, "application/json");
        assert_eq!(body["kind"], "APIVersions");
        assert_eq!(body["versions"][0], "v1");
    }

    #[test]
    fn api_v1_lists_the_served_resources() {
        let list = api_v1_resources();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["events", "namespaces", "pods"]);
        assert_eq!(version()["minor"], "32");
    }
}
