//! `mirrorgate serve`: the local control plane over HTTP on 127.0.0.1.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use chrono::Utc;
use clap::Args;
use maud::html;
use shared::engine::{EngineError, Report, ReportSink};
use shared::web::{self, approval, HttpRequest, HttpResponse};

use crate::local::{self, LocalArgs, LocalEngine};
use crate::output;
use crate::status::mirror_view;

/// The largest payload AWS delivers (an EventBridge event is at most 256 KB).
const MAX_EVENT_BYTES: usize = 256 * 1024;

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub local: LocalArgs,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base URL that approval links in alerts point at (default: http:// + the listen address).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Print the effects carried out as JSON lines (as `replay --json`).
    #[arg(long)]
    pub json: bool,
    /// Seconds between ticks that drive time-based rules (confirmation, expiry, reminders).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub tick_secs: u64,
}

struct App {
    engine: LocalEngine,
    data: PathBuf,
}

/// Prints every effect the engine carries out, whoever caused it: an event, a tick,
/// a decision on the approval page, a promotion.
fn printer(json: bool) -> ReportSink {
    Arc::new(move |at, reports: &[Report]| {
        let mut out = std::io::stdout().lock();
        for report in reports {
            let line = if json {
                output::json_line(at, report)
            } else {
                output::human_lines(at, report)
            };
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    })
}

pub fn run(mut args: ServeArgs) -> anyhow::Result<ExitCode> {
    let data = args
        .local
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from("mirrorgate-data"));
    args.local.data = Some(data.clone());
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let engine = local::engine(&args.local, &public_url)?.with_report_sink(printer(args.json));
    let app = Arc::new(App {
        engine,
        data: data.clone(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {} (is another mirrorgate running? use --listen)", args.listen))?;
        eprintln!(
            "mirrorgate serve: listening on http://{}  (status page /, events POST /events; store {}; links point at {public_url})",
            args.listen,
            args.local.store_name()
        );
        let ticker = app.clone();
        let tick_every = Duration::from_secs(args.tick_secs.max(1));
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick_every);
            loop {
                interval.tick().await;
                // What a tick carries out is printed by the engine's report sink.
                match ticker.engine.tick(Utc::now()).await {
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "tick failed; will try again"),
                }
            }
        });
        let router = Router::new()
            .route("/", get(status_page).fallback(read_only))
            .route("/status.json", get(status_json).fallback(read_only))
            .route("/events", post(events).fallback(method_not_allowed))
            .route("/a/{token}", any(approval_page))
            .fallback(not_found)
            .with_state(app);
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving HTTP")?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn json_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "error": message, "kind": kind })),
    )
        .into_response()
}

/// A 405 with the methods the path takes and what to do instead.
fn wrong_method(allow: &'static str, message: &str) -> Response {
    let mut r = json_error(StatusCode::METHOD_NOT_ALLOWED, "method", message);
    r.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    r
}

async fn method_not_allowed() -> Response {
    wrong_method("POST", "POST an AWS payload (application/json) to /events")
}

/// A method other than GET or HEAD on the status page or its JSON.
async fn read_only() -> Response {
    wrong_method(
        "GET, HEAD",
        "the status is read-only: GET / or /status.json; POST AWS payloads to /events",
    )
}

async fn not_found() -> Response {
    to_response(HttpResponse::page(
        404,
        web::page(
            "Not found",
            html! { h1 { "Not found" } p { "The status page is at " a href="/" { "/" } "." } },
        ),
    ))
}

/// POST /events: any payload exactly as AWS delivers it to a mirrorgate Lambda.
async fn events(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("application/json") {
        return json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            "send the AWS payload as application/json",
        );
    }
    let Ok(bytes) = to_bytes(body, MAX_EVENT_BYTES).await else {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "payloads over 256 KB are not AWS events",
        );
    };
    match app.engine.ingest(&bytes, Utc::now()).await {
        Ok(outcomes) => {
            let summary: Vec<serde_json::Value> = outcomes
                .iter()
                .map(|o| serde_json::json!({ "mirror": o.mirror, "verdict": o.verdict, "effects": o.reports.len() }))
                .collect();
            (StatusCode::OK, axum::Json(serde_json::json!({ "handled": summary }))).into_response()
        }
        Err(EngineError::Decode(e)) => {
            tracing::warn!(kind = e.kind(), error = %e, "payload rejected");
            dead_letter(&app, &e.to_string(), e.kind(), &bytes);
            json_error(StatusCode::BAD_REQUEST, e.kind(), &e.to_string())
        }
        Err(e @ EngineError::UnknownMirror(_)) => {
            json_error(StatusCode::UNPROCESSABLE_ENTITY, "unknown_mirror", &e.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "event not handled; the sender should retry");
            json_error(StatusCode::SERVICE_UNAVAILABLE, "retry", &e.to_string())
        }
    }
}

/// Rejected payloads are kept, so nothing sent is lost without a trace.
fn dead_letter(app: &App, error: &str, kind: &str, payload: &[u8]) {
    let line = serde_json::json!({
        "at": Utc::now().to_rfc3339(),
        "kind": kind,
        "error": error,
        "payload": String::from_utf8_lossy(&payload[..payload.len().min(64 * 1024)]),
    });
    let path = app.data.join("dead-letter.jsonl");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        tracing::error!(path = %path.display(), error = %e, "cannot write the dead-letter file");
    }
}

async fn approval_page(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request<Body>,
) -> Response {
    let (parts, body) = request.into_parts();
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let body = if parts.method == Method::POST {
        match to_bytes(body, web::MAX_FORM_BYTES).await {
            Ok(b) => b.to_vec(),
            Err(_) => {
                return to_response(HttpResponse::page(
                    413,
                    web::page(
                        "Too much data",
                        html! {
                            h1 { "Too much data" }
                            p { "The form sent far more than its four fields. Nothing was decided." }
                        },
                    ),
                ))
            }
        }
    } else {
        Vec::new()
    };
    let req = HttpRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        content_type: header(header::CONTENT_TYPE),
        body,
        source_ip: Some(peer.ip().to_string()),
        user_agent: header(header::USER_AGENT),
    };
    let response = approval::handle(&app.engine, &req, Utc::now()).await;
    to_response(response)
}

fn to_response(r: HttpResponse) -> Response {
    let mut builder = Response::builder().status(r.status);
    for (name, value) in &r.headers {
        builder = builder.header(*name, value);
    }
    builder
        .body(Body::from(r.body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn status_json(State(app): State<Arc<App>>) -> Response {
    let now = Utc::now();
    match app.engine.states(now).await {
        Ok(states) => {
            let topology = app.engine.topology();
            let views: Vec<_> = states
                .iter()
                .filter_map(|s| topology.mirror(&s.mirror).map(|m| mirror_view(s, m, now)))
                .collect();
            (
                [(header::CACHE_CONTROL, "no-store")],
                axum::Json(serde_json::json!({ "mirrors": views })),
            )
                .into_response()
        }
        Err(e) => json_error(StatusCode::SERVICE_UNAVAILABLE, "store", &e.to_string()),
    }
}

/// GET /: what a person needs at a glance.
async fn status_page(State(app): State<Arc<App>>) -> Response {
    let now = Utc::now();
    let states = match app.engine.states(now).await {
        Ok(states) => states,
        Err(e) => return json_error(StatusCode::SERVICE_UNAVAILABLE, "store", &e.to_string()),
    };
    let topology = app.engine.topology();
    let views: Vec<_> = states
        .iter()
        .filter_map(|s| topology.mirror(&s.mirror).map(|m| mirror_view(s, m, now)))
        .collect();
    to_response(HttpResponse::page(200, crate::status_page::render(&views, now)))
}
