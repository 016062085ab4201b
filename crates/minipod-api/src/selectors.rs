//! A request's `labelSelector` (the same parser as `minipod get -l`), `fieldSelector`
//! (k8s.io/apimachinery/pkg/fields: `a=b`, `a==b`, `a!=b`, joined by commas;
//! every field a resource supports is listed by its strategy's field set, e.g.
//! pkg/registry/core/pod/strategy.go ToSelectableFields) and the `continue` token of paged
//! lists.
//!
//! minipod's continue token is base64 of `{"rv":N,"start":"KEY"}` like the API server's
//! (storage/etcd3 continueToken): the list goes on after the key `namespace/name`, over the
//! store as it is then (the store keeps no snapshots to serve the old `rv` from).

use base64::Engine as _;
use minipod_pod::selector::LabelSelector;
use serde::{Deserialize, Serialize};

use crate::router::ApiRequest;
use crate::status::ApiError;

/// The request's `labelSelector` (empty: everything); a bad one is a 400 with the parser's
/// message.
pub fn label_selector(req: &ApiRequest) -> Result<LabelSelector, ApiError> {
    req.param("labelSelector")
        .unwrap_or("")
        .parse()
        .map_err(|e: minipod_pod::selector::SelectorError| ApiError::bad_request(e.to_string()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub value: String,
    pub equal: bool,
}

/// A parsed field selector; the empty one matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    pub requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses `s`, accepting only `supported` fields (the API server's
    /// `field label not supported: X` otherwise).
    pub fn parse(s: &str, supported: &[&str]) -> Result<Self, ApiError> {
        let mut requirements = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, value, equal) = if let Some((f, v)) = part.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, v, true)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, v, true)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if !supported.contains(&field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                value: value.trim().to_owned(),
                equal,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// Whether an object whose field values `get` returns (an absent field is "") matches.
    pub fn matches(&self, get: impl Fn(&str) -> String) -> bool {
        self.requirements
            .iter()
            .all(|r| (get(&r.field) == r.value) == r.equal)
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct ContinueToken {
    rv: u64,
    start: String,
}

/// The `continue` token for a list cut after `key`.
pub fn encode_continue(rv: u64, key: &str) -> String {
    let token = ContinueToken {
        rv,
        start: key.to_owned(),
    };
    base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// The key a `continue` token goes on after.
pub fn decode_continue(token: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| invalid())?;
    let token: ContinueToken = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    Ok(token.start)
}

/// One page of a list: its items, the token for the next page and how many items follow.
#[derive(Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    pub remaining: Option<i64>,
}

/// One page of `items` (sorted by key) after `continue`, at most `limit` (0: all).
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    limit: usize,
    cont: Option<&str>,
    rv: u64,
) -> Result<Page<T>, ApiError> {
    let mut items = items;
    if let Some(token) = cont.filter(|t| !t.is_empty()) {
        let start = decode_continue(token)?;
        items.retain(|i| key(i) > start);
    }
    if limit == 0 || items.len() <= limit {
        return Ok(Page {
            items,
            next: None,
            remaining: None,
        });
    }
    let remaining = items.len() - limit;
    items.truncate(limit);
    let next = items.last().map(|i| encode_continue(rv, &key(i)));
    Ok(Page {
        items,
        next,
        remaining: i64::try_from(remaining).ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_selectors_parse_and_match() {
        let sel = FieldSelector::parse(
            "metadata.name=web, status.phase!=Failed,spec.nodeName==n1",
            &["metadata.name", "status.phase", "spec.nodeName"],
        )
        .unwrap();
        let get = |phase: &'static str| {
            move |f: &str| match f {
                "metadata.name" => "web".to_owned(),
                "status.phase" => phase.to_owned(),
                "spec.nodeName" => "n1".to_owned(),
                _ => String::new(),
            }
        };
        assert!(sel.matches(get("Running")));
        assert!(!sel.matches(get("Failed")));
        let err = FieldSelector::parse("spec.foo=x", &["metadata.name"]).unwrap_err();
        assert_eq!(err.message, "field label not supported: spec.foo");
        assert_eq!(err.code, 400);
        assert!(FieldSelector::parse("", &[])
            .unwrap()
            .matches(|_| String::new()));
    }

    #[test]
    fn pages_go_on_after_the_last_key() {
        let items: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let p1 = page(items.clone(), |s| s.clone(), 2, None, 7).unwrap();
        assert_eq!(p1.items, ["a", "b"]);
        assert_eq!(p1.remaining, Some(3));
        let p2 = page(items.clone(), |s| s.clone(), 2, p1.next.as_deref(), 7).unwrap();
        assert_eq!(p2.items, ["c", "d"]);
        let p3 = page(items.clone(), |s| s.clone(), 2, p2.next.as_deref(), 7).unwrap();
        assert_eq!(p3.items, ["e"]);
        assert_eq!((p3.next, p3.remaining), (None, None));
        assert_eq!(
            page(items, |s| s.clone(), 2, Some("!!"), 7)
                .unwrap_err()
                .code,
            400
        );
    }
}
