//! Errors as the API server sends them: a `Status` object with `reason`, `code` and the
//! API server's message (k8s.io/apimachinery/pkg/api/errors: NewNotFound, NewBadRequest,
//! NewMethodNotSupported, NewNotAcceptable; kubectl prints `Error from server (REASON): MESSAGE`).

use serde_json::{json, Value};

/// An error answer: HTTP code and `Status` body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    /// errors.NewNotFound: `pods "x" not found`.
    pub fn not_found(resource: &str, name: &str) -> Self {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("{resource} \"{name}\" not found"),
            details: Some(json!({"name": name, "kind": resource})),
        }
    }

    /// A path the server does not serve (the API server's 404 for an unknown resource).
    pub fn no_route() -> Self {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: "the server could not find the requested resource".to_owned(),
            details: None,
        }
    }

    /// errors.NewBadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            code: 400,
            reason: "BadRequest",
            message: message.into(),
            details: None,
        }
    }

    /// errors.NewMethodNotSupported: `VERB is not supported on resources of kind "pods"`.
    pub fn method_not_allowed(resource: &str, verb: &str) -> Self {
        ApiError {
            code: 405,
            reason: "MethodNotAllowed",
            message: format!("{verb} is not supported on resources of kind {resource:?}"),
            details: Some(json!({"kind": resource})),
        }
    }

    /// errors.NewNotAcceptable... for a media type the server cannot produce.
    pub fn not_acceptable() -> Self {
        ApiError {
            code: 406,
            reason: "NotAcceptable",
            message: "only the following media types are accepted: application/json".to_owned(),
            details: None,
        }
    }

    /// errors.NewInternalError.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        ApiError {
            code: 500,
            reason: "InternalError",
            message: format!(
                "an error on the server (\"{err}\") has prevented the request from succeeding"
            ),
            details: None,
        }
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_the_api_servers_status() {
        let s = ApiError::not_found("pods", "nosuch").to_status();
        assert_eq!(s["message"], "pods \"nosuch\" not found");
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["code"], 404);
        assert_eq!(s["details"]["name"], "nosuch");
        assert_eq!(
            ApiError::method_not_allowed("pods", "create").message,
            "create is not supported on resources of kind \"pods\""
        );
    }
}
