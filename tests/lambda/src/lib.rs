//! A local Lambda Runtime API, for running a function's built binary the way Lambda
//! runs it: the binary is started with the environment Lambda gives a custom runtime
//! (`AWS_LAMBDA_RUNTIME_API` and friends), polls `GET /2018-06-01/runtime/invocation/next`
//! for events and posts each result to `.../invocation/{id}/response` or `.../error`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use mirrorgate_lambda_tests::RuntimeApi;
//! let api = RuntimeApi::start().await?;
//! let function = api.spawn_function("target/debug/alarm-ingest".as_ref(), [("MIRRORGATE_TABLE", "t")])?;
//! let answer = api.invoke(&serde_json::json!({"some": "event"})).await; // Ok(response) or Err(Diag)
//! let init = api.timings().init(); // spawn -> first /next
//! let peak = function.peak_rss_kib(); // VmHWM while it runs
//! # Ok(()) }
//! ```
//!
//! One server stands for one execution environment: one function process at a time,
//! one invocation at a time (as Lambda does). [`RuntimeApi::spawn_function`] may be
//! called again for a fresh cold start; the timings start over and a long poll left
//! by the previous process is released.
//!
//! Timings are taken where Lambda would see them: [`Timings::init`] runs from just
//! before the process is spawned to its first `/next` request; each
//! [`InvocationTiming`] from the moment `/next` hands the event out to the moment the
//! response (or error) arrives.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};

/// The Runtime API's paths.
pub const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
pub const RESPONSE_PATH: &str = "/2018-06-01/runtime/invocation/{id}/response";
pub const ERROR_PATH: &str = "/2018-06-01/runtime/invocation/{id}/error";
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";

/// The header a runtime names its error type in.
pub const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// How long an invocation may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Lambda's limit for a synchronous request or response payload.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// The memory size a spawned function is told it has (MB).
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// The account in invoked-function ARNs.
pub const ACCOUNT_ID: &str = "123456789012";

/// Error types this server reports itself, named as Lambda names them.
pub const TIMED_OUT: &str = "Sandbox.Timedout";
pub const EXIT_ERROR: &str = "Runtime.ExitError";
pub const INVALID_RESPONSE: &str = "Runtime.InvalidResponse";
pub const UNAVAILABLE: &str = "Runtime.Unavailable";

/// Why an invocation (or the start of the function) failed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diag {
    /// `errorType` of the posted error body; for failures outside the handler, Lambda's
    /// own type: [`TIMED_OUT`], [`EXIT_ERROR`], [`INVALID_RESPONSE`], [`UNAVAILABLE`].
    pub error_type: String,
    /// `errorMessage` of the posted error body (or the raw body if it is not JSON).
    pub error_message: String,
    /// The `Lambda-Runtime-Function-Error-Type` header, when the runtime sent one.
    pub header_error_type: Option<String>,
    /// Where the error was posted: `invocation` or `init` (empty for the server's own).
    pub phase: &'static str,
}

impl Diag {
    pub fn new(error_type: &str, error_message: impl Into<String>) -> Diag {
        Diag {
            error_type: error_type.to_string(),
            error_message: error_message.into(),
            header_error_type: None,
            phase: "",
        }
    }

    /// Reads a posted error: the header and the JSON body `{errorType, errorMessage}`.
    fn posted(headers: &HeaderMap, body: &[u8], phase: &'static str) -> Diag {
        let header_error_type = headers
            .get(ERROR_TYPE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Diag {
            error_type: field("errorType")
                .or_else(|| header_error_type.clone())
                .unwrap_or_default(),
            error_message: field("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
            header_error_type,
            phase,
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)?;
        if let Some(h) = &self.header_error_type {
            write!(f, " (header {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diag {}

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Posted to `/invocation/{id}/response`.
    Response,
    /// Posted to `/invocation/{id}/error`.
    Error,
}

/// One invocation as the Runtime API saw it.
#[derive(Debug, Clone)]
pub struct InvocationTiming {
    pub request_id: String,
    /// When `/next` handed the event to the function.
    pub handed_out: Instant,
    /// When the response or error arrived.
    pub finished: Instant,
    pub outcome: Outcome,
}

impl InvocationTiming {
    /// From handing the event out to receiving the result.
    pub fn latency(&self) -> Duration {
        self.finished.saturating_duration_since(self.handed_out)
    }
}

/// What was measured since the last spawn.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Just before the process was spawned.
    pub spawned_at: Option<Instant>,
    /// The process's first `/next` request.
    pub first_next_at: Option<Instant>,
    /// Completed invocations, in order.
    pub invocations: Vec<InvocationTiming>,
}

impl Timings {
    /// Spawn to first `/next`: the function's init (cold start) as Lambda sees it.
    pub fn init(&self) -> Option<Duration> {
        Some(self.first_next_at?.saturating_duration_since(self.spawned_at?))
    }

    /// Each completed invocation's latency, in order.
    pub fn latencies(&self) -> Vec<Duration> {
        self.invocations.iter().map(InvocationTiming::latency).collect()
    }
}

enum Reply {
    Response(Bytes),
    Error(Diag),
}

struct Pending {
    request_id: String,
    body: Bytes,
    deadline_ms: u64,
    reply: oneshot::Sender<Reply>,
}

struct InFlight {
    handed_out: Instant,
    reply: oneshot::Sender<Reply>,
}

#[derive(Default)]
struct Inner {
    function_name: String,
    region: String,
    timings: Timings,
    in_flight: HashMap<String, InFlight>,
}

struct Shared {
    queue: mpsc::UnboundedSender<Pending>,
    next_queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    inner: Mutex<Inner>,
    /// Bumped by every spawn: long polls of an earlier process give up.
    generation: watch::Sender<u64>,
    /// The current process asked for its first event.
    ready: watch::Sender<bool>,
    /// The current process cannot take events any more (init error, exit).
    failure: watch::Sender<Option<Diag>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The local Runtime API server: 127.0.0.1 on a free port, stopped when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    timeout: Duration,
}

impl RuntimeApi {
    /// Starts the server on the current tokio runtime.
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (queue, next_queue) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue,
            next_queue: tokio::sync::Mutex::new(next_queue),
            inner: Mutex::new(Inner {
                function_name: "function".into(),
                region: "us-east-1".into(),
                ..Inner::default()
            }),
            generation: watch::Sender::new(0),
            ready: watch::Sender::new(false),
            failure: watch::Sender::new(None),
        });
        let app = Router::new()
            .route(NEXT_PATH, get(next))
            .route(RESPONSE_PATH, post(response))
            .route(ERROR_PATH, post(invocation_error))
            .route(INIT_ERROR_PATH, post(init_error))
            .layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("local Lambda Runtime API on {addr} stopped: {e}");
            }
        });
        Ok(RuntimeApi {
            addr,
            shared,
            server,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The timeout [`RuntimeApi::invoke`] uses (default [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> RuntimeApi {
        self.timeout = timeout;
        self
    }

    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:<port>`.
    pub fn runtime_api(&self) -> String {
        self.addr.to_string()
    }

    /// Starts `binary` as Lambda starts a custom runtime's `bootstrap`: a clean
    /// environment with `AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_FUNCTION_NAME` (the file
    /// name), `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (128), `AWS_LAMBDA_FUNCTION_VERSION`
    /// (`$LATEST`), `AWS_REGION`, `_HANDLER` (`bootstrap`), `LAMBDA_TASK_ROOT` (the
    /// binary's directory, also the working directory) and the log names, then `env`
    /// (which may override any of them; its `AWS_REGION` also names the region, default
    /// us-east-1). Nothing else of this process's environment is passed on. Output is
    /// captured; see [`FunctionProcess::output`].
    pub fn spawn_function<I, K, V>(&self, binary: &Path, env: I) -> std::io::Result<FunctionProcess>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "function".into());
        let extra: Vec<(OsString, OsString)> = env
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_os_string(), v.as_ref().to_os_string()))
            .collect();
        let region = extra
            .iter()
            .rev()
            .find(|(k, _)| k == "AWS_REGION")
            .map(|(_, v)| v.to_string_lossy().into_owned())
            .unwrap_or_else(|| "us-east-1".into());
        let task_root = binary
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut command = Command::new(binary);
        command
            .env_clear()
            .current_dir(task_root)
            .env("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("LAMBDA_TASK_ROOT", task_root)
            .env("LAMBDA_RUNTIME_DIR", task_root)
            .env("_HANDLER", "bootstrap")
            .env("AWS_LAMBDA_RUNTIME_API", self.runtime_api())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", DEFAULT_MEMORY_MB.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/[$LATEST]{}", hex(8)))
            .env("AWS_REGION", &region)
            .env("AWS_DEFAULT_REGION", &region)
            .envs(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());

        // A new execution environment: earlier long polls give up, timings start over.
        {
            let mut inner = lock(&self.shared.inner);
            inner.function_name = name;
            inner.region = region;
            inner.in_flight.clear();
            inner.timings = Timings::default();
        }
        self.shared.failure.send_replace(None);
        self.shared.ready.send_replace(false);
        self.shared.generation.send_modify(|g| *g += 1);
        let generation = *self.shared.generation.borrow();

        lock(&self.shared.inner).timings.spawned_at = Some(Instant::now());
        let mut child = command.spawn()?;
        let pid = child.id();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = [
            child.stdout.take().map(|s| drain(s, stdout.clone())),
            child.stderr.take().map(|s| drain(s, stderr.clone())),
        ];
        let child = Arc::new(Mutex::new(child));
        let stopping = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (child, shared, stopping) = (child.clone(), self.shared.clone(), stopping.clone());
            let (stdout, stderr) = (stdout.clone(), stderr.clone());
            std::thread::spawn(move || loop {
                let status = lock(&child).try_wait();
                let status = match status {
                    Ok(None) => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Ok(Some(status)) => Some(status),
                    Err(_) => None,
                };
                if stopping.load(Ordering::SeqCst) || *shared.generation.borrow() != generation {
                    return;
                }
                for reader in readers.into_iter().flatten() {
                    let _ = reader.join();
                }
                let said = tail(&lock(&stderr), &lock(&stdout), 20);
                let how = status.map_or_else(|| "an unknown status".to_string(), |s| s.to_string());
                let diag = Diag::new(
                    EXIT_ERROR,
                    format!("Runtime exited with error: {how}; its last output:\n{said}"),
                );
                // An init error the runtime posted before exiting says more: keep it.
                shared.failure.send_if_modified(|f| {
                    if f.is_none() {
                        *f = Some(diag);
                        true
                    } else {
                        false
                    }
                });
                return;
            })
        };
        Ok(FunctionProcess {
            pid,
            child,
            stdout,
            stderr,
            stopping,
            watcher: Some(watcher),
        })
    }

    /// Waits for the spawned function's first `/next` and returns its init time.
    pub async fn wait_until_ready(&self, timeout: Duration) -> Result<Duration, Diag> {
        let mut ready = self.shared.ready.subscribe();
        let mut failure = self.shared.failure.subscribe();
        tokio::select! {
            biased;
            r = ready.wait_for(|r| *r) => {
                if r.is_err() {
                    return Err(Diag::new(UNAVAILABLE, "the Runtime API server stopped"));
                }
            }
            f = failure.wait_for(Option::is_some) => {
                let diag = f.ok().and_then(|f| f.clone());
                return Err(diag.unwrap_or_else(|| Diag::new(UNAVAILABLE, "the Runtime API server stopped")));
            }
            _ = tokio::time::sleep(timeout) => {
                return Err(Diag::new(
                    TIMED_OUT,
                    format!("the function did not ask for an event within {:.1} s of its start", timeout.as_secs_f64()),
                ));
            }
        }
        Ok(self.timings().init().unwrap_or_default())
    }

    /// Invokes the function with `event` and waits (at most the server's timeout) for
    /// its response, parsed as JSON; an error the function posts, a timeout or the
    /// process's exit are the `Err`.
    pub async fn invoke(&self, event: &Value) -> Result<Value, Diag> {
        self.invoke_with_timeout(event, self.timeout).await
    }

    pub async fn invoke_with_timeout(&self, event: &Value, timeout: Duration) -> Result<Value, Diag> {
        let body = serde_json::to_vec(event).map_err(|e| Diag::new(UNAVAILABLE, format!("event not encoded: {e}")))?;
        let answer = self.invoke_raw(body, timeout).await?;
        serde_json::from_slice(&answer).map_err(|e| {
            Diag::new(
                INVALID_RESPONSE,
                format!("the response is not JSON ({e}): {}", String::from_utf8_lossy(&answer)),
            )
        })
    }

    /// Invokes with a raw payload and returns the raw response body.
    pub async fn invoke_raw(&self, body: impl Into<Bytes>, timeout: Duration) -> Result<Bytes, Diag> {
        if let Some(diag) = self.shared.failure.borrow().clone() {
            return Err(diag);
        }
        let request_id = request_id();
        let (reply, answer) = oneshot::channel();
        let deadline = SystemTime::now() + timeout;
        let pending = Pending {
            request_id: request_id.clone(),
            body: body.into(),
            deadline_ms: deadline
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or_default(),
            reply,
        };
        self.shared
            .queue
            .send(pending)
            .map_err(|_| Diag::new(UNAVAILABLE, "the Runtime API server stopped"))?;
        let mut failure = self.shared.failure.subscribe();
        tokio::select! {
            biased;
            answer = answer => match answer {
                Ok(Reply::Response(bytes)) => Ok(bytes),
                Ok(Reply::Error(diag)) => Err(diag),
                Err(_) => Err(Diag::new(UNAVAILABLE, format!("invocation {request_id} was dropped: a new function process was spawned"))),
            },
            f = failure.wait_for(Option::is_some) => {
                let diag = f.ok().and_then(|f| f.clone());
                Err(diag.unwrap_or_else(|| Diag::new(UNAVAILABLE, "the Runtime API server stopped")))
            }
            _ = tokio::time::sleep(timeout) => {
                lock(&self.shared.inner).in_flight.remove(&request_id);
                Err(Diag::new(TIMED_OUT, format!("{request_id} Task timed out after {:.2} seconds", timeout.as_secs_f64())))
            }
        }
    }

    /// What was measured since the last spawn.
    pub fn timings(&self) -> Timings {
        lock(&self.shared.inner).timings.clone()
    }

    /// The error the function posted to `/init/error`, or its exit, if either happened.
    pub fn failure(&self) -> Option<Diag> {
        self.shared.failure.borrow().clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A running function binary; killed when dropped.
pub struct FunctionProcess {
    pid: u32,
    child: Arc<Mutex<Child>>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stopping: Arc<AtomicBool>,
    watcher: Option<JoinHandle<()>>,
}

impl FunctionProcess {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Everything it wrote to stdout so far (its logs and metric lines).
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&lock(&self.stdout)).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&lock(&self.stderr)).into_owned()
    }

    /// stdout then stderr, for failure messages.
    pub fn output(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout(), self.stderr())
    }

    /// The process's peak resident set size so far (`VmHWM`), while it runs.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.pid)
    }

    /// Its exit status, if it has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        lock(&self.child).try_wait().ok().flatten()
    }

    /// Stops it (SIGKILL) and waits for it.
    pub fn kill(&mut self) -> std::io::Result<ExitStatus> {
        self.stopping.store(true, Ordering::SeqCst);
        let mut child = lock(&self.child);
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        child.kill()?;
        child.wait()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.kill();
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
    }
}

/// A process's peak resident set size in KiB (`VmHWM` of `/proc/<pid>/status`).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn drain(mut from: impl Read + Send + 'static, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => lock(&into).extend_from_slice(&buf[..n]),
            }
        }
    })
}

/// The last `lines` lines of stderr and stdout.
fn tail(stderr: &[u8], stdout: &[u8], lines: usize) -> String {
    let mut out = String::new();
    for (name, bytes) in [("stderr", stderr), ("stdout", stdout)] {
        let text = String::from_utf8_lossy(bytes);
        let all: Vec<&str> = text.lines().collect();
        let start = all.len().saturating_sub(lines);
        out.push_str(&format!("--- {name}\n"));
        for line in &all[start..] {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn random_bytes<const N: usize>() -> [u8; N] {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        // Unique enough for ids on one machine.
        let seed = COUNTER.fetch_add(1, Ordering::Relaxed) ^ u64::from(std::process::id()) << 32;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = ((seed ^ nanos).rotate_left(i as u32 * 8) & 0xff) as u8;
        }
    }
    bytes
}

fn hex(n_bytes: usize) -> String {
    random_bytes::<32>()[..n_bytes.min(32)]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A request id in Lambda's form (a UUID v4).
pub fn request_id() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

/// An X-Ray trace header as Lambda passes it.
fn trace_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    format!("Root=1-{secs:08x}-{};Parent={};Sampled=0", hex(12), hex(8))
}

fn header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

fn gone() -> Response {
    (
        StatusCode::GONE,
        axum::Json(json!({
            "errorType": "Runtime.Superseded",
            "errorMessage": "a new function process was spawned on this Runtime API",
        })),
    )
        .into_response()
}

/// `GET /next`: blocks until an event is queued, then hands it out.
async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let generation = *shared.generation.borrow();
    {
        let mut inner = lock(&shared.inner);
        if inner.timings.first_next_at.is_none() {
            inner.timings.first_next_at = Some(Instant::now());
        }
    }
    shared.ready.send_replace(true);
    let mut generations = shared.generation.subscribe();
    let superseded = generations.wait_for(move |g| *g != generation);
    tokio::pin!(superseded);
    let mut queue = tokio::select! {
        queue = shared.next_queue.lock() => queue,
        _ = &mut superseded => return gone(),
    };
    loop {
        let pending = tokio::select! {
            pending = queue.recv() => match pending {
                Some(pending) => pending,
                None => return gone(),
            },
            _ = &mut superseded => return gone(),
        };
        if pending.reply.is_closed() {
            continue; // the caller gave up before the function asked
        }
        let mut headers = HeaderMap::new();
        let (function_name, region) = {
            let inner = lock(&shared.inner);
            (inner.function_name.clone(), inner.region.clone())
        };
        header(&mut headers, "content-type", "application/json");
        header(&mut headers, "lambda-runtime-aws-request-id", &pending.request_id);
        header(
            &mut headers,
            "lambda-runtime-deadline-ms",
            &pending.deadline_ms.to_string(),
        );
        header(
            &mut headers,
            "lambda-runtime-invoked-function-arn",
            &format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"),
        );
        header(&mut headers, "lambda-runtime-trace-id", &trace_id());
        lock(&shared.inner).in_flight.insert(
            pending.request_id.clone(),
            InFlight {
                handed_out: Instant::now(),
                reply: pending.reply,
            },
        );
        return (StatusCode::OK, headers, pending.body).into_response();
    }
}

fn finish(shared: &Shared, id: &str, reply: Reply) -> Response {
    let finished = Instant::now();
    let outcome = match reply {
        Reply::Response(_) => Outcome::Response,
        Reply::Error(_) => Outcome::Error,
    };
    let mut inner = lock(&shared.inner);
    let Some(in_flight) = inner.in_flight.remove(id) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "errorType": "InvalidRequestID",
                "errorMessage": format!("no invocation {id} is in progress"),
            })),
        )
            .into_response();
    };
    inner.timings.invocations.push(InvocationTiming {
        request_id: id.to_string(),
        handed_out: in_flight.handed_out,
        finished,
        outcome,
    });
    drop(inner);
    let _ = in_flight.reply.send(reply);
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

async fn response(State(shared): State<Arc<Shared>>, UrlPath(id): UrlPath<String>, body: Bytes) -> Response {
    finish(&shared, &id, Reply::Response(body))
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    finish(&shared, &id, Reply::Error(Diag::posted(&headers, &body, "invocation")))
}

async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let diag = Diag::posted(&headers, &body, "init");
    shared.failure.send_replace(Some(diag));
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpStream;

    /// One HTTP/1.0 exchange with the server, as a runtime would make it.
    fn http(
        addr: SocketAddr,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, String) {
        let mut stream = TcpStream::connect(addr).expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("send");
        stream.write_all(body).expect("send body");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read");
        let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        (status, head.to_string(), body.to_string())
    }

    fn header_value(head: &str, name: &str) -> String {
        head.lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    }

    /// A runtime that takes one event and answers it with `answer(event, request id)`.
    fn one_invocation(
        addr: SocketAddr,
        answer: impl FnOnce(&str, &str) -> (String, Vec<(&'static str, String)>, String) + Send + 'static,
    ) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let (status, head, event) = http(addr, "GET", NEXT_PATH, &[], b"");
            assert_eq!(status, 200, "{head}");
            let id = header_value(&head, "lambda-runtime-aws-request-id");
            let (path, headers, body) = answer(&event, &id);
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, _, _) = http(addr, "POST", &path, &headers, body.as_bytes());
            assert_eq!(status, 202);
            head
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_event_is_handed_out_with_the_lambda_headers_and_its_response_returned() {
        let api = RuntimeApi::start().await.expect("server");
        let runtime = one_invocation(api.address(), |event, id| {
            (
                format!("/2018-06-01/runtime/invocation/{id}/response"),
                vec![],
                format!("{{\"echo\":{event}}}"),
            )
        });
        let answer = api.invoke(&json!({"n": 1})).await.expect("a response");
        assert_eq!(answer, json!({"echo": {"n": 1}}));
        let head = tokio::task::spawn_blocking(move || runtime.join().expect("runtime"))
            .await
            .expect("join");
        let id = header_value(&head, "lambda-runtime-aws-request-id");
        assert_eq!(id.len(), 36, "{head}");
        let deadline: u64 = header_value(&head, "lambda-runtime-deadline-ms")
            .parse()
            .expect("deadline");
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64;
        assert!(
            deadline > now && deadline <= now + DEFAULT_TIMEOUT.as_millis() as u64,
            "{head}"
        );
        assert!(header_value(&head, "lambda-runtime-invoked-function-arn").starts_with("arn:aws:lambda:"));
        assert!(header_value(&head, "lambda-runtime-trace-id").starts_with("Root=1-"));
        let timings = api.timings();
        assert!(timings.first_next_at.is_some());
        assert_eq!(timings.invocations.len(), 1);
        assert_eq!(timings.invocations[0].request_id, id);
        assert_eq!(timings.invocations[0].outcome, Outcome::Response);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_posted_error_keeps_its_type_from_the_body_and_the_header() {
        let api = RuntimeApi::start().await.expect("server");
        let _runtime = one_invocation(api.address(), |_, id| {
            (
                format!("/2018-06-01/runtime/invocation/{id}/error"),
                vec![("Lambda-Runtime-Function-Error-Type", "unhandled".to_string())],
                r#"{"errorType":"Mirrorgate.Rejected","errorMessage":"not an alarm"}"#.to_string(),
            )
        });
        let diag = api.invoke(&json!({})).await.expect_err("an error");
        assert_eq!(diag.error_type, "Mirrorgate.Rejected");
        assert_eq!(diag.error_message, "not an alarm");
        assert_eq!(diag.header_error_type.as_deref(), Some("unhandled"));
        assert_eq!(api.timings().invocations[0].outcome, Outcome::Error);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unanswered_invocation_times_out_and_a_late_answer_is_refused() {
        let api = RuntimeApi::start().await.expect("server");
        let addr = api.address();
        let taken = std::thread::spawn(move || {
            let (_, head, _) = http(addr, "GET", NEXT_PATH, &[], b"");
            header_value(&head, "lambda-runtime-aws-request-id")
        });
        let diag = api
            .invoke_with_timeout(&json!({}), Duration::from_millis(300))
            .await
            .expect_err("timed out");
        assert_eq!(diag.error_type, TIMED_OUT);
        let id = tokio::task::spawn_blocking(move || taken.join().expect("runtime"))
            .await
            .expect("join");
        let late = tokio::task::spawn_blocking(move || {
            http(
                addr,
                "POST",
                &format!("/2018-06-01/runtime/invocation/{id}/response"),
                &[],
                b"{}",
            )
        })
        .await
        .expect("join");
        assert_eq!(late.0, 400);
        assert!(api.timings().invocations.is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_init_error_fails_the_invocations_that_follow() {
        let api = RuntimeApi::start().await.expect("server");
        let addr = api.address();
        tokio::task::spawn_blocking(move || {
            http(
                addr,
                "POST",
                INIT_ERROR_PATH,
                &[("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")],
                br#"{"errorType":"Runtime.InitError","errorMessage":"no topology"}"#,
            )
        })
        .await
        .expect("join");
        let diag = api.invoke(&json!({})).await.expect_err("init failed");
        assert_eq!((diag.error_type.as_str(), diag.phase), ("Runtime.InitError", "init"));
        assert_eq!(diag.error_message, "no topology");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spawned_process_gets_the_lambda_environment_and_its_exit_is_reported() {
        let api = RuntimeApi::start().await.expect("server");
        let process = api
            .spawn_function(
                Path::new("/usr/bin/env"),
                [("AWS_REGION", "eu-west-1"), ("EXTRA", "yes")],
            )
            .expect("spawn");
        let diag = api.invoke(&json!({})).await.expect_err("env exits");
        assert_eq!(diag.error_type, EXIT_ERROR);
        assert!(diag.error_message.contains("exit status: 0"), "{diag}");
        let out = process.stdout();
        for line in [
            format!("AWS_LAMBDA_RUNTIME_API={}", api.runtime_api()),
            "AWS_LAMBDA_FUNCTION_NAME=env".into(),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128".into(),
            "AWS_LAMBDA_FUNCTION_VERSION=$LATEST".into(),
            "AWS_REGION=eu-west-1".into(),
            "_HANDLER=bootstrap".into(),
            "LAMBDA_TASK_ROOT=/usr/bin".into(),
            "EXTRA=yes".into(),
        ] {
            assert!(out.lines().any(|l| l == line), "{line} missing from\n{out}");
        }
        assert!(!out.contains("CARGO"), "the test's own environment leaked:\n{out}");
    }

    #[test]
    fn request_ids_look_like_lambdas() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert_ne!(id, request_id());
        assert!(peak_rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
