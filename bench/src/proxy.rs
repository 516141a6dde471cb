//! A counting HTTP proxy on 127.0.0.1 in front of the emulator: the functions get
//! its address as `AWS_ENDPOINT_URL`, so every AWS call they make passes through it
//! and is recorded as `service:Operation` before it is forwarded unchanged.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

type Calls = Arc<Mutex<Vec<String>>>;

pub struct CountingProxy {
    addr: SocketAddr,
    calls: Calls,
    server: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    /// Starts forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> anyhow::Result<CountingProxy> {
        let upstream: Uri = upstream.trim_end_matches('/').parse()?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let calls: Calls = Arc::default();
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let recorded = calls.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (client, upstream, calls) = (client.clone(), upstream.clone(), recorded.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        forward(client.clone(), upstream.clone(), calls.clone(), request)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(CountingProxy { addr, calls, server })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The calls recorded so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Uri,
    calls: Calls,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (mut parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return Ok(failure(format!("cannot read the request: {e}"))),
    };
    if let Ok(mut calls) = calls.lock() {
        calls.push(operation(&parts, &body));
    }
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    parts.uri = match format!("{upstream}{}", path.trim_start_matches('/')).parse() {
        Ok(uri) => uri,
        Err(e) => return Ok(failure(format!("bad path {path}: {e}"))),
    };
    let answer = match client.request(Request::from_parts(parts, Full::new(body))).await {
        Ok(answer) => answer,
        Err(e) => return Ok(failure(format!("the emulator did not answer: {e}"))),
    };
    let (parts, body) = answer.into_parts();
    match body.collect().await {
        Ok(body) => Ok(Response::from_parts(parts, Full::new(body.to_bytes()))),
        Err(e) => Ok(failure(format!("the emulator's answer broke off: {e}"))),
    }
}

fn failure(message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}

/// `service:Operation` of a signed AWS request. The service is the signature's
/// credential scope; the operation comes from the protocol: `X-Amz-Target` (JSON
/// protocols: DynamoDB, SSM, EventBridge), `/operation/<Name>` (RPC v2 CBOR:
/// CloudWatch), `Action=` (query protocol: SNS), or the REST path (Route 53).
pub fn operation(parts: &Parts, body: &[u8]) -> String {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let service = header("authorization")
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unsigned")
        .to_string();
    let path = parts.uri.path();
    let target = header("x-amz-target");
    let op = if let Some((_, op)) = target.rsplit_once('.') {
        op.to_string()
    } else if let Some((_, op)) = path.rsplit_once("/operation/") {
        op.to_string()
    } else if let Some(action) = std::str::from_utf8(body)
        .ok()
        .and_then(|b| b.split('&').find_map(|kv| kv.strip_prefix("Action=")))
    {
        action.to_string()
    } else if service == "route53" && path.starts_with("/2013-04-01/healthcheck/") && path.ends_with("/status") {
        "GetHealthCheckStatus".to_string()
    } else {
        format!("{} {path}", parts.method)
    };
    format!("{service}:{op}")
}
