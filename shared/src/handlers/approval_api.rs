//! `approval-api`: the approval pages behind a Lambda function URL. The same page
//! code as `mirrorgate serve`; approved promotions are handed to the executor.

use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use aws_lambda_events::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use maud::html;
use serde_json::Value;

use super::{Function, HandlerError, Ports};
use crate::web::{self, approval, HttpRequest, HttpResponse};

/// When set (the stack sets it when CloudFront serves the pages), the value CloudFront
/// sends in [`ORIGIN_VERIFY_HEADER`]: requests without it did not come through
/// CloudFront and its web ACL, and get a 403.
pub const ENV_ORIGIN_VERIFY: &str = "MIRRORGATE_ORIGIN_VERIFY";
/// The header CloudFront adds to every request it sends to the function URL.
pub const ORIGIN_VERIFY_HEADER: &str = "x-mirrorgate-origin-verify";
/// The host the viewer asked for, copied by the distribution's viewer-request function
/// (CloudFront replaces `Host` with the function URL's own).
pub const PUBLIC_HOST_HEADER: &str = "x-mirrorgate-public-host";

/// How a request reached the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Straight to the function URL (no CloudFront configured).
    Direct,
    /// Through CloudFront: the viewer's address and the public host it used.
    CloudFront {
        viewer_ip: Option<String>,
        public_host: Option<String>,
    },
    /// CloudFront is configured, and this request did not come through it.
    Bypassed,
}

/// Sorts a request by how it came, given the expected origin-verify value (if any).
pub fn origin(raw: &Value, expected: Option<&str>) -> Origin {
    let Some(expected) = expected.filter(|e| !e.is_empty()) else {
        return Origin::Direct;
    };
    let header = |name: &str| {
        raw.get("headers")
            .and_then(|h| h.get(name))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let given = header(ORIGIN_VERIFY_HEADER).unwrap_or_default();
    if !crate::token::hashes_equal(&given, expected) {
        return Origin::Bypassed;
    }
    // CloudFront appends the address it was connected from to X-Forwarded-For: the last
    // entry is the viewer's; earlier ones are whatever the client sent.
    let viewer_ip = header("x-forwarded-for").and_then(|v| v.rsplit(',').next().map(|s| s.trim().to_string()));
    let public_host = header(PUBLIC_HOST_HEADER)
        .filter(|h| h.len() <= 253 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
    Origin::CloudFront { viewer_ip, public_host }
}

/// Turns a function URL request into the pages' request. Bodies may arrive base64-encoded.
pub fn http_request(raw: &Value) -> Result<HttpRequest, HandlerError> {
    let request: LambdaFunctionUrlRequest = serde_json::from_value(raw.clone())
        .map_err(|e| HandlerError::Rejected(format!("not a function URL request: {e}")))?;
    let http = &request.request_context.http;
    let body = request.body.clone().unwrap_or_default();
    let body = if raw.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        STANDARD.decode(body.as_bytes()).unwrap_or_default()
    } else {
        body.into_bytes()
    };
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Ok(HttpRequest {
        method: http.method.clone().unwrap_or_else(|| "GET".into()),
        path: request
            .raw_path
            .clone()
            .or_else(|| http.path.clone())
            .unwrap_or_default(),
        content_type: header("content-type"),
        body,
        source_ip: http.source_ip.clone(),
        user_agent: http.user_agent.clone().or_else(|| header("user-agent")),
    })
}

/// The public base URL, from the request itself (the function knows no other name for itself).
pub fn public_url(raw: &Value) -> Option<String> {
    raw.pointer("/requestContext/domainName")
        .and_then(Value::as_str)
        .map(|d| format!("https://{d}"))
}

pub fn function_url_response(r: HttpResponse) -> LambdaFunctionUrlResponse {
    let mut headers = HeaderMap::new();
    for (name, value) in &r.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
            headers.insert(name, value);
        }
    }
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = i64::from(r.status);
    response.headers = headers;
    response.body = Some(r.body);
    response
}

pub async fn handle<P: Ports>(
    function: &Function<P>,
    event: LambdaEvent<Value>,
) -> Result<LambdaFunctionUrlResponse, Diagnostic> {
    function.refresh_topology().await;
    let expected = std::env::var(ENV_ORIGIN_VERIFY).ok();
    let origin = origin(&event.payload, expected.as_deref());
    if origin == Origin::Bypassed {
        return Ok(function_url_response(HttpResponse::page(
            403,
            web::page(
                "Use the link from the alert",
                html! {
                    h1 { "Use the link from the alert" }
                    p { "These pages are served through the address in the alerts. Nothing was decided." }
                },
            ),
        )));
    }
    let mut request = http_request(&event.payload)?;
    if let Origin::CloudFront { viewer_ip, .. } = &origin {
        request.source_ip = viewer_ip.clone().or(request.source_ip);
    }
    if request.body.len() > web::MAX_FORM_BYTES * 2 {
        return Ok(function_url_response(HttpResponse::page(
            413,
            web::page(
                "Too much data",
                html! { h1 { "Too much data" } p { "Nothing was decided." } },
            ),
        )));
    }
    if !request.path.starts_with(approval::PREFIX) {
        return Ok(function_url_response(HttpResponse::page(
            404,
            web::page(
                "Not found",
                html! { h1 { "Not found" } p { "Open the link from the latest mirrorgate alert." } },
            ),
        )));
    }
    let public = match &origin {
        Origin::CloudFront { public_host, .. } => public_host.as_ref().map(|h| format!("https://{h}")),
        _ => public_url(&event.payload),
    };
    if let Some(url) = public {
        function.engine.learn_public_url(&url);
    }
    let (response, orders) = approval::handle_with_orders(&function.engine, &request, Utc::now()).await;
    // The decision is already recorded; if the hand-off fails, the next scheduled
    // tick hands the unstarted promotion over again, so the page still says approved.
    if let Err(e) = function.hand_off(&orders).await {
        tracing::error!(error = %e, "hand-off to the promotion executor failed; the schedule retries it");
    }
    Ok(function_url_response(response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(headers: Value) -> Value {
        json!({ "headers": headers })
    }

    #[test]
    fn without_cloudfront_every_request_is_direct() {
        assert_eq!(origin(&request(json!({})), None), Origin::Direct);
        assert_eq!(origin(&request(json!({})), Some("")), Origin::Direct);
    }

    #[test]
    fn with_cloudfront_a_request_without_its_header_is_turned_away() {
        let secret = "0d5f6a6e-6b7a-4d4e-9a53-6f1c2b9e8a10";
        assert_eq!(origin(&request(json!({})), Some(secret)), Origin::Bypassed);
        let wrong = request(json!({ ORIGIN_VERIFY_HEADER: "guess" }));
        assert_eq!(origin(&wrong, Some(secret)), Origin::Bypassed);
    }

    #[test]
    fn through_cloudfront_the_viewer_is_the_address_cloudfront_appended() {
        let secret = "0d5f6a6e-6b7a-4d4e-9a53-6f1c2b9e8a10";
        let through = request(json!({
            ORIGIN_VERIFY_HEADER: secret,
            "x-forwarded-for": "203.0.113.9, 198.51.100.7",
            PUBLIC_HOST_HEADER: "d111111abcdef8.cloudfront.net",
        }));
        assert_eq!(
            origin(&through, Some(secret)),
            Origin::CloudFront {
                viewer_ip: Some("198.51.100.7".into()),
                public_host: Some("d111111abcdef8.cloudfront.net".into()),
            }
        );
        let odd_host = request(json!({ ORIGIN_VERIFY_HEADER: secret, PUBLIC_HOST_HEADER: "evil.example/a?b" }));
        assert!(matches!(
            origin(&odd_host, Some(secret)),
            Origin::CloudFront { public_host: None, .. }
        ));
    }
}
