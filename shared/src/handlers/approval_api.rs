//! `approval-api`: the approval pages behind a Lambda function URL. The same page
//! code as `mirrorgate serve`; approved promotions are handed to the executor.

use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use aws_lambda_events::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::Utc;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use super::{Function, HandlerError};
use crate::web::{self, approval, HttpRequest, HttpResponse};

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

pub async fn handle(function: &Function, event: LambdaEvent<Value>) -> Result<LambdaFunctionUrlResponse, Diagnostic> {
    let request = http_request(&event.payload)?;
    if request.body.len() > web::MAX_FORM_BYTES * 2 {
        return Ok(function_url_response(HttpResponse::page(
            413,
            web::page("Too much data", "<h1>Too much data</h1><p>Nothing was decided.</p>"),
        )));
    }
    if !request.path.starts_with(approval::PREFIX) {
        return Ok(function_url_response(HttpResponse::page(
            404,
            web::page(
                "Not found",
                "<h1>Not found</h1><p>Open the link from the latest mirrorgate alert.</p>",
            ),
        )));
    }
    if let Some(url) = public_url(&event.payload) {
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
