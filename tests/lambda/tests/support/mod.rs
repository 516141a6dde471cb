//! What the artifact tests share: the built function binaries, the emulator's settings
//! (`eval "$(scripts/emulator up)"`), a topology and events of their own per test,
//! and reading back what the functions did (DynamoDB, SNS, SSM, EventBridge, CloudWatch).
//!
//! These tests never skip: without the binaries or the emulator they fail and say how
//! to provide them. They refuse to run against anything but a loopback endpoint.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDateTime, Utc};
use mirrorgate_lambda_tests::{Diag, FunctionProcess, RuntimeApi};
use serde_json::{json, Value};

pub const FUNCTIONS: [&str; 5] = [
    "alarm-ingest",
    "mirror-events",
    "health-poll",
    "approval-api",
    "promotion-executor",
];

const HOW: &str = "run them through scripts/test, which builds the functions, starts the emulator and \
    exports its settings; by hand: cargo build -p alarm-ingest -p mirror-events -p health-poll -p approval-api \
    -p promotion-executor && eval \"$(scripts/emulator up)\" && cargo test -p mirrorgate-lambda-tests --test artifacts";

/// The mirror of the reference topology; each test renames it to a name of its own.
pub const REFERENCE_MIRROR: &str = "HSPROD";
/// The SSM document `scripts/emulator up` creates for the reference topology; it keeps
/// its name when the mirror is renamed.
pub const REFERENCE_DOCUMENT: &str = "HSPROD-PromoteDrAsync";
/// The approval function's URL host (a function URL's form: a 32-character id).
pub const URL_HOST: &str = "q7x2mzl4bw3kfh6tpa5nc8rvdy0jeus1.lambda-url.us-west-2.on.aws";
/// Where the operator's browser is.
pub const SOURCE_IP: &str = "198.51.100.23";

pub fn repo() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// A variable the emulator's `export` lines set.
pub fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!("{name} is not set: these tests need the AWS emulator; {HOW}"),
    }
}

/// The emulator's endpoint; only a loopback address is accepted.
pub fn endpoint() -> String {
    let endpoint = env("AWS_ENDPOINT_URL");
    let host = endpoint.trim_start_matches("http://");
    assert!(
        endpoint.starts_with("http://") && (host.starts_with("127.") || host.starts_with("localhost")),
        "AWS_ENDPOINT_URL={endpoint} is not a local emulator; these tests only run against one: {HOW}"
    );
    endpoint.trim_end_matches('/').to_string()
}

// ------------------------------------------------------------------ the artifacts

/// Where the built functions are: `MIRRORGATE_FUNCTIONS_DIR`, or the target directory
/// this test was built into (`target/debug`).
pub fn functions_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("MIRRORGATE_FUNCTIONS_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    // target/debug/deps/artifacts-<hash> -> target/debug
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("the target directory")
}

/// The built binary of one function. Fails when it is missing, or older than a source
/// it is built from (edited before this test started): testing an old build would prove
/// nothing about the code.
pub fn binary(name: &str) -> PathBuf {
    let path = functions_dir().join(name);
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} does not exist: run cargo build -p {name} ({HOW})", path.display()));
    if std::env::var_os("MIRRORGATE_FUNCTIONS_DIR").is_none() {
        let started = test_started();
        let root = repo();
        let sources = [
            root.join("Cargo.lock"),
            root.join("shared/Cargo.toml"),
            root.join("shared/src"),
            root.join(format!("functions/{name}/Cargo.toml")),
            root.join(format!("functions/{name}/src")),
        ];
        for source in sources {
            if let Some((file, modified)) = newest(&source) {
                assert!(
                    modified <= built || modified > started,
                    "{} is older than {}: run cargo build -p {name} ({HOW})",
                    path.display(),
                    file.display()
                );
            }
        }
    }
    path
}

/// When this test binary first looked at a function: later edits belong to the next run.
fn test_started() -> SystemTime {
    static STARTED: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();
    *STARTED.get_or_init(SystemTime::now)
}

/// The newest file under `path` and its modification time.
fn newest(path: &Path) -> Option<(PathBuf, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return Some((path.to_path_buf(), meta.modified().ok()?));
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|e| newest(&e.path()))
        .max_by_key(|(_, t)| *t)
}

// ------------------------------------------------------------------ topology and events

/// A name no other test (or earlier run) uses, valid as a mirror name.
pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("random bytes");
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{suffix}")
}

pub fn read(path: impl AsRef<Path>) -> String {
    let path = repo().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The reference topology (examples/topology.toml) with its mirror renamed, so that the
/// test has a state item of its own in the shared table. Member, alarm and parameter
/// names follow the mirror's; instance and health check ids stay as they are (they map
/// to members inside one topology only); the SSM document keeps the name the emulator
/// created it under. The example's `status_url`s are documentation addresses that no
/// test may contact: they are left out ([`with_status_urls`] gives members local ones).
pub fn topology(mirror: &str) -> String {
    let renamed = rename(&read("examples/topology.toml"), mirror).replace(
        &format!("{mirror}{}", &REFERENCE_DOCUMENT[REFERENCE_MIRROR.len()..]),
        REFERENCE_DOCUMENT,
    );
    renamed
        .lines()
        .filter(|line| !line.trim_start().starts_with("status_url"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Gives members (by the suffix of their name: `A`, `DR1`) a `status_url`.
pub fn with_status_urls(topology: &str, mirror: &str, urls: &[(&str, &str)]) -> String {
    let mut text = topology.to_string();
    for (suffix, url) in urls {
        let line = format!("name = \"{mirror}-{suffix}\"\n");
        let at = text
            .find(&line)
            .unwrap_or_else(|| panic!("no member {mirror}-{suffix} in the topology"));
        text.insert_str(at + line.len(), &format!("status_url = \"{url}\"\n"));
    }
    text
}

/// Sets `key = value` in the topology's `[mirror.policy]` table.
pub fn with_policy(topology: &str, key: &str, value: u64) -> String {
    let mut found = false;
    let text: Vec<String> = topology
        .lines()
        .map(|line| {
            if line.trim_start().starts_with(&format!("{key} =")) {
                found = true;
                format!("{key} = {value}")
            } else {
                line.to_string()
            }
        })
        .collect();
    assert!(found, "the topology has no {key}");
    text.join("\n")
}

/// The reference mirror's name replaced by `mirror`, everywhere in `text`.
pub fn rename(text: &str, mirror: &str) -> String {
    text.replace(REFERENCE_MIRROR, mirror)
}

/// A fixture of tests/fixtures/events, for the given mirror.
pub fn event(file: &str, mirror: &str) -> Value {
    let text = rename(&read(format!("tests/fixtures/events/{file}")), mirror);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// Every RFC 3339 instant in `text` (as AWS payloads write them: `...Z`,
/// `...+0000`, `...+00:00`, with or without fractions) moved by `by`, each kept in its
/// own format. Used to move a scenario recorded in the past to the wall clock the
/// functions decide by.
pub fn shift_instants(text: &str, by: chrono::Duration) -> String {
    let bytes = text.as_bytes();
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| bytes.get(i) == Some(&c);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 19 <= bytes.len() {
        let shape = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
            .iter()
            .all(|&k| digit(i + k))
            && at(i + 4, b'-')
            && at(i + 7, b'-')
            && at(i + 10, b'T')
            && at(i + 13, b':')
            && at(i + 16, b':');
        if !shape {
            i += 1;
            continue;
        }
        let mut end = i + 19;
        if at(end, b'.') && digit(end + 1) {
            end += 1;
            while digit(end) {
                end += 1;
            }
        }
        let zone_len = if at(end, b'Z') {
            1
        } else if (at(end, b'+') || at(end, b'-')) && digit(end + 1) && digit(end + 2) {
            if at(end + 3, b':') && digit(end + 4) && digit(end + 5) {
                6
            } else if digit(end + 3) && digit(end + 4) {
                5
            } else {
                0
            }
        } else {
            0
        };
        if zone_len == 0 {
            i += 19;
            continue;
        }
        let local = NaiveDateTime::parse_from_str(&text[i..i + 19], "%Y-%m-%dT%H:%M:%S").expect("a date and time");
        out.push_str(&text[copied..i]);
        out.push_str(&(local + by).format("%Y-%m-%dT%H:%M:%S").to_string());
        out.push_str(&text[i + 19..end + zone_len]);
        i = end + zone_len;
        copied = i;
    }
    out.push_str(&text[copied..]);
    out
}

pub fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .unwrap_or_else(|e| panic!("{text:?} is not a time: {e}"))
        .with_timezone(&Utc)
}

/// A scheduled event (the schedule fixture) at `at`, with an id of its own as each
/// EventBridge delivery has.
pub fn schedule_event(at: DateTime<Utc>) -> Value {
    let mut event = event("schedule.json", REFERENCE_MIRROR);
    event["id"] = json!(mirrorgate_lambda_tests::request_id());
    event["time"] = json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    event
}

/// A sample payload shipped by the `aws_lambda_events` crate the workspace builds
/// against (its `src/fixtures`, found through `cargo metadata`).
pub fn crate_sample(name: &str) -> Value {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let out = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(repo().join("Cargo.toml"))
            .output()
            .expect("cargo metadata runs");
        assert!(
            out.status.success(),
            "cargo metadata: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
        let manifest = metadata["packages"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == "aws_lambda_events"))
            .and_then(|p| p["manifest_path"].as_str())
            .expect("aws_lambda_events is in the workspace");
        Path::new(manifest)
            .parent()
            .expect("its directory")
            .join("src/fixtures")
    });
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A function URL request for the approval pages: GET, or POST of a form
/// (base64-encoded, as function URLs deliver form bodies). Function URLs use the
/// payload format 2.0 of API Gateway HTTP APIs, and `aws_lambda_events` ships no
/// function URL sample, so this starts from its HTTP API sample
/// (example-apigw-v2-request-no-authorizer.json) and gives it what a function URL with
/// auth type NONE has: the `<url-id>.lambda-url.<region>.on.aws` domain, the
/// `anonymous` account and no client certificate, and a phone browser's headers.
pub fn url_request(method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Value {
    use base64::Engine as _;
    let mut request = crate_sample("example-apigw-v2-request-no-authorizer.json");
    let now = Utc::now();
    let url_id = URL_HOST.split('.').next().expect("the URL id");
    let agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) \
        Version/17.5 Mobile/15E148 Safari/604.1";
    request["rawPath"] = json!(path);
    request["headers"]["host"] = json!(URL_HOST);
    request["headers"]["user-agent"] = json!(agent);
    request["headers"]["x-forwarded-for"] = json!(SOURCE_IP);
    request["headers"]["accept"] = json!("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8");
    let context = &mut request["requestContext"];
    context["accountId"] = json!("anonymous");
    context["apiId"] = json!(url_id);
    context["domainName"] = json!(URL_HOST);
    context["domainPrefix"] = json!(url_id);
    context
        .as_object_mut()
        .expect("requestContext")
        .remove("authentication");
    context["http"]["method"] = json!(method);
    context["http"]["path"] = json!(path);
    context["http"]["sourceIp"] = json!(SOURCE_IP);
    context["http"]["userAgent"] = json!(agent);
    context["requestId"] = json!(mirrorgate_lambda_tests::request_id());
    context["time"] = json!(now.format("%d/%b/%Y:%H:%M:%S +0000").to_string());
    context["timeEpoch"] = json!(now.timestamp_millis());
    if let Some(fields) = form {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        request["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
        request["headers"]["content-length"] = json!(body.len().to_string());
        request["headers"]["origin"] = json!(format!("https://{URL_HOST}"));
        request["body"] = json!(base64::engine::general_purpose::STANDARD.encode(body));
        request["isBase64Encoded"] = json!(true);
    }
    request
}

// ------------------------------------------------------------------ running a function

/// One function: its own Runtime API and its process.
pub struct Lambda {
    pub name: &'static str,
    pub api: RuntimeApi,
    pub process: FunctionProcess,
}

impl Lambda {
    /// Starts the built function with the emulator's settings, the topology text and
    /// `extra` variables (which override the defaults), and waits for its first `/next`.
    pub async fn start(name: &'static str, topology: &str, extra: &[(&str, &str)]) -> Lambda {
        let binary = binary(name);
        let mut vars: Vec<(String, String)> = [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "MIRRORGATE_TABLE",
            "MIRRORGATE_TOPIC_ARN",
        ]
        .iter()
        .map(|v| (v.to_string(), env(v)))
        .collect();
        vars.push(("AWS_ENDPOINT_URL".into(), endpoint()));
        vars.push(("AWS_EC2_METADATA_DISABLED".into(), "true".into()));
        vars.push(("MIRRORGATE_TOPOLOGY".into(), topology.to_string()));
        vars.push(("MIRRORGATE_EVENT_BUS".into(), "default".into()));
        vars.push(("MIRRORGATE_PUBLIC_URL".into(), format!("https://{URL_HOST}")));
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let api = RuntimeApi::start().await.expect("the local Runtime API");
        let process = api
            .spawn_function(&binary, vars)
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        if let Err(diag) = api.wait_until_ready(Duration::from_secs(20)).await {
            panic!("{name} did not start: {diag}\n{}", process.output());
        }
        Lambda { name, api, process }
    }

    /// Invokes it; an error is returned as the function reported it.
    pub async fn invoke(&self, event: &Value) -> Result<Value, Diag> {
        self.api.invoke(event).await
    }

    /// Invokes it and expects a response (the failure shows the function's output).
    pub async fn ok(&self, event: &Value) -> Value {
        match self.invoke(event).await {
            Ok(answer) => answer,
            Err(diag) => panic!(
                "{} answered an error: {diag}\nevent: {event}\n{}",
                self.name,
                self.process.output()
            ),
        }
    }

    /// Invokes it and expects an error.
    pub async fn error(&self, event: &Value) -> Diag {
        match self.invoke(event).await {
            Ok(answer) => panic!("{} answered {answer} to {event}, not an error", self.name),
            Err(diag) => diag,
        }
    }
}

// ------------------------------------------------------------------ reading the emulator back

/// The SDK configuration for reading back (the same standard chain the functions use).
pub async fn aws() -> aws_config::SdkConfig {
    endpoint();
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// A mirror's state item: the stored `MirrorState` JSON, or None.
pub async fn state(config: &aws_config::SdkConfig, mirror: &str) -> Option<Value> {
    state_in(config, &env("MIRRORGATE_TABLE"), mirror).await
}

pub async fn state_in(config: &aws_config::SdkConfig, table: &str, mirror: &str) -> Option<Value> {
    let out = aws_sdk_dynamodb::Client::new(config)
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(format!("MIRROR#{mirror}")))
        .key("sk", AttributeValue::S("STATE".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetItem {mirror}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)));
    let item = out.item?;
    let json = item
        .get("state")
        .and_then(|v| v.as_s().ok())
        .expect("the item has a state");
    let state: Value = serde_json::from_str(json).expect("the state is JSON");
    let version = item.get("version").and_then(|v| v.as_n().ok()).cloned();
    assert_eq!(
        version,
        Some(state["version"].to_string()),
        "the item's version is its state's"
    );
    Some(state)
}

/// GETs a path of the emulator (200 only).
pub async fn get(path: &str) -> String {
    let endpoint = endpoint();
    let path = path.to_string();
    tokio::task::spawn_blocking(move || {
        let host = endpoint.trim_start_matches("http://");
        let mut stream =
            TcpStream::connect(host).unwrap_or_else(|e| panic!("cannot reach the emulator at {endpoint}: {e}"));
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n"
        )
        .expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read");
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(
            head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
            "GET {path}: {head}"
        );
        body.to_string()
    })
    .await
    .expect("the emulator read")
}

/// The instances of one moto model (`/moto-api/data.json`), e.g. `("sns", "Topic")`.
pub async fn moto_models(service: &str, model: &str) -> Vec<Value> {
    let data: Value = serde_json::from_str(&get("/moto-api/data.json").await).expect("moto's data.json is JSON");
    data[service][model].as_array().cloned().unwrap_or_default()
}

/// One SNS publication as the emulator received it.
#[derive(Debug, Clone)]
pub struct Published {
    /// The JSON message (`default`, `email`, `sms`).
    pub message: Value,
    pub subject: String,
    /// name -> value of the String message attributes.
    pub attributes: Value,
}

impl Published {
    pub fn attribute(&self, name: &str) -> &str {
        self.attributes[name]["Value"].as_str().unwrap_or_default()
    }
}

/// Every alert published to the topic for `mirror`, in order.
pub async fn published(mirror: &str) -> Vec<Published> {
    let topic_arn = env("MIRRORGATE_TOPIC_ARN");
    let topics = moto_models("sns", "Topic").await;
    let topic = topics
        .iter()
        .find(|t| t["arn"] == topic_arn.as_str())
        .unwrap_or_else(|| panic!("the topic {topic_arn} is not in the emulator"));
    topic["sent_notifications"]
        .as_array()
        .expect("sent notifications")
        .iter()
        .filter(|n| n[3]["mirror"]["Value"] == mirror)
        .map(|n| Published {
            message: serde_json::from_str(n[1].as_str().expect("a message text")).expect("a JSON message"),
            subject: n[2].as_str().unwrap_or_default().to_string(),
            attributes: n[3].clone(),
        })
        .collect()
}

/// The events the emulator's archive on the default bus kept for `mirror`.
pub async fn archived_events(mirror: &str) -> Vec<Value> {
    let archive = env("MIRRORGATE_EVENT_ARCHIVE");
    moto_models("events", "Archive")
        .await
        .into_iter()
        .filter(|a| a["name"] == archive.as_str())
        .flat_map(|a| a["events"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["detail"]["mirror"] == mirror)
        .collect()
}

/// An archived event as EventBridge delivers it to a Lambda target (the archive keeps
/// the time as seconds since the epoch and adds its ingestion time).
pub fn delivered(archived: &Value) -> Value {
    let time = archived["time"]
        .as_f64()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t as i64, 0))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .or_else(|| archived["time"].as_str().map(str::to_string))
        .expect("the archived event has a time");
    json!({
        "version": "0",
        "id": archived["id"],
        "detail-type": archived["detail-type"],
        "source": archived["source"],
        "account": archived["account"],
        "time": time,
        "region": archived["region"],
        "resources": archived["resources"],
        "detail": archived["detail"],
    })
}

/// The SSM commands sent for `mirror` (by their comment).
pub async fn commands(config: &aws_config::SdkConfig, mirror: &str) -> Vec<aws_sdk_ssm::types::Command> {
    let listed = aws_sdk_ssm::Client::new(config)
        .list_commands()
        .send()
        .await
        .unwrap_or_else(|e| panic!("ListCommands: {}", aws_sdk_ssm::error::DisplayErrorContext(&e)));
    let prefix = format!("mirrorgate {mirror} request ");
    listed
        .commands()
        .iter()
        .filter(|c| c.comment().is_some_and(|t| t.starts_with(&prefix)))
        .cloned()
        .collect()
}

// ------------------------------------------------------------------ members' mirror_status.cxw

/// How a local stand-in for a member's `mirror_status.cxw` behaves.
#[derive(Debug, Clone, Copy)]
pub enum StatusPage {
    /// Answers every request with this whole HTTP response.
    Answers(&'static str),
    /// Reads the request and never answers (a member that hangs).
    Hangs,
}

/// The CSP Gateway's answer on the primary.
pub const PRIMARY_PAGE: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\nSUCCESS";
/// Its answer on any other member.
pub const NOT_PRIMARY_PAGE: &str =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nFAILED";

/// A member's `mirror_status.cxw` on 127.0.0.1, keeping the request heads it read.
pub struct StatusServer {
    pub addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl StatusServer {
    pub fn start(page: StatusPage) -> StatusServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
        let addr = listener.local_addr().expect("its address");
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = std::sync::Arc::clone(&requests);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let Some(head) = read_head(&mut stream) else { continue };
                seen.lock().unwrap_or_else(|e| e.into_inner()).push(head);
                match page {
                    StatusPage::Answers(text) => {
                        let _ = stream.write_all(text.as_bytes());
                    }
                    StatusPage::Hangs => held.push(stream),
                }
            }
        });
        StatusServer { addr, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}/csp/user/mirror_status.cxw", self.addr)
    }

    /// The request heads received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A `mirror_status.cxw` URL on a local port nothing listens on: the connection is refused.
pub fn refusing_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    let addr = listener.local_addr().expect("its address");
    drop(listener);
    format!("http://{addr}/csp/user/mirror_status.cxw")
}

/// One HTTP request head (up to the blank line), or None at the end of the stream.
fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

// ------------------------------------------------------------------ a region that fails

/// What [`RegionFaults`] does with the requests signed for one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionFault {
    /// Reads the request and never answers: the region does not answer in time.
    Hangs,
    /// Closes the connection without an answer: the region fails.
    Drops,
}

/// A fault-injecting layer in front of the emulator, which has one endpoint for every
/// region: requests signed (SigV4) for a region with a fault get it, every other one is
/// passed to the emulator. Give a function its address as a service's endpoint
/// (`AWS_ENDPOINT_URL_CLOUDWATCH`). One request per connection.
pub struct RegionFaults {
    pub addr: std::net::SocketAddr,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl RegionFaults {
    pub fn start(faults: &[(&str, RegionFault)]) -> RegionFaults {
        let upstream = endpoint().trim_start_matches("http://").to_string();
        let faults: std::collections::HashMap<String, RegionFault> =
            faults.iter().map(|(r, f)| (r.to_string(), *f)).collect();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
        let addr = listener.local_addr().expect("its address");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let regions = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (upstream, faults, regions) = (upstream.clone(), faults.clone(), std::sync::Arc::clone(&regions));
                std::thread::spawn(move || pass_or_fail(stream, &upstream, &faults, &regions));
            }
        });
        RegionFaults { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The region of every request received, in order.
    pub fn regions(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn pass_or_fail(
    mut client: TcpStream,
    upstream: &str,
    faults: &std::collections::HashMap<String, RegionFault>,
    regions: &std::sync::Mutex<Vec<String>>,
) {
    let Some(head) = read_head(&mut client) else { return };
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; length];
    if client.read_exact(&mut body).is_err() {
        return;
    }
    // Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/monitoring/aws4_request, ...
    let region = header("authorization")
        .and_then(|a| a.split("Credential=").nth(1).map(str::to_string))
        .and_then(|c| c.split('/').nth(2).map(str::to_string))
        .unwrap_or_default();
    regions.lock().unwrap_or_else(|e| e.into_inner()).push(region.clone());
    match faults.get(&region) {
        Some(RegionFault::Hangs) => {
            std::thread::sleep(Duration::from_secs(120));
            return;
        }
        Some(RegionFault::Drops) => return,
        None => {}
    }
    // Passed on with Connection: close both ways, so that every request has its own
    // connection and is seen here.
    let close = |head: &str| -> String {
        let mut lines: Vec<&str> = head
            .trim_end()
            .lines()
            .filter(|l| {
                let name = l.split(':').next().unwrap_or_default().trim();
                !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive")
            })
            .collect();
        lines.push("Connection: close");
        format!("{}\r\n\r\n", lines.join("\r\n"))
    };
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    if server.write_all(close(&head).as_bytes()).is_err() || server.write_all(&body).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = server.read_to_end(&mut answer);
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return;
    };
    let head = String::from_utf8_lossy(&answer[..split + 4]).into_owned();
    let _ = client.write_all(close(&head).as_bytes());
    let _ = client.write_all(&answer[split + 4..]);
}

/// A state table of its own (the template's key schema), for a test whose many items
/// would slow the others down: moto copies the whole table for every transaction.
pub async fn own_table(config: &aws_config::SdkConfig, prefix: &str) -> String {
    use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
    let table = unique(prefix);
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    aws_sdk_dynamodb::Client::new(config)
        .create_table()
        .table_name(&table)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("CreateTable");
    table
}

// ------------------------------------------------------------------ the SSM agent's state

/// moto 5.2.5 cannot register managed instances and has no DescribeInstanceInformation.
/// This stand-in for SSM answers that call with every asked instance `Online` and
/// passes every other call on to the emulator as it is. A function started with
/// `AWS_ENDPOINT_URL_SSM` set to [`ssm_with_online_agents`] sees the members' agents
/// Online and everything else of SSM as the emulator has it.
pub async fn ssm_with_online_agents() -> String {
    ssm_with_agents("Online").await
}

/// [`ssm_with_online_agents`] with every asked agent in `ping` (`ConnectionLost`, ...).
pub async fn ssm_with_agents(ping: &'static str) -> String {
    use tokio::io::AsyncWriteExt;
    let emulator = endpoint().trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let emulator = emulator.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                while let Some((request, body, target)) = read_message(&mut socket, &mut buffer).await {
                    let answer = if target.ends_with("describeinstanceinformation") {
                        let asked: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let list: Vec<Value> = asked["Filters"][0]["Values"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                            .into_iter()
                            .map(|id| json!({"InstanceId": id, "PingStatus": ping}))
                            .collect();
                        let body = json!({ "InstanceInformationList": list }).to_string();
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        )
                        .into_bytes()
                    } else {
                        let Ok(mut upstream) = tokio::net::TcpStream::connect(&emulator).await else {
                            return;
                        };
                        if upstream.write_all(&request).await.is_err() {
                            return;
                        }
                        let mut upstream_buffer = Vec::new();
                        match read_message(&mut upstream, &mut upstream_buffer).await {
                            Some((answer, _, _)) => answer,
                            None => return,
                        }
                    };
                    if socket.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Reads one HTTP message with a content-length (the SDK's requests and the
/// emulator's answers have one): the whole message, its body, its x-amz-target.
async fn read_message(socket: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> Option<(Vec<u8>, Vec<u8>, String)> {
    use tokio::io::AsyncReadExt;
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_string()))
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buffer.len() < head_end + length {
        let mut chunk = [0u8; 4096];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let message: Vec<u8> = buffer.drain(..head_end + length).collect();
    let body = message[head_end..].to_vec();
    Some((message, body, header("x-amz-target").unwrap_or_default()))
}

/// A Run Command status change of `command` (of the reference promote document) on
/// DR1's instance, as EventBridge delivers it (the AWS documentation's example's
/// shape), sent now.
pub fn command_status(command: &str, status: &str, requested: DateTime<Utc>) -> Value {
    json!({
        "version": "0",
        "id": unique("ssm-event"),
        "detail-type": "EC2 Command Invocation Status-change Notification",
        "source": "aws.ssm",
        "account": "123456789012",
        "time": Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": "us-west-2",
        "resources": ["arn:aws:ec2:us-west-2:123456789012:instance/i-0ddddddddddddddd4"],
        "detail": {
            "command-id": command,
            "document-name": REFERENCE_DOCUMENT,
            "instance-id": "i-0ddddddddddddddd4",
            "requested-date-time": requested.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            "status": status
        }
    })
}
