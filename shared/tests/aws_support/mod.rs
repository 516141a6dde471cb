//! What the AWS adapter tests share: the emulator's settings from the environment
//! (`eval "$(scripts/emulator up)"`), unique names, and reading the emulator's own
//! record of what it received (moto's `/moto-api/data.json`).
//!
//! These tests never skip: without the emulator they fail and say how to start it.
//! They refuse to run against anything but a loopback endpoint, so they can never
//! touch a real AWS account.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;

use shared::adapters::aws::Deps;

const HOW: &str = "start the emulator first: eval \"$(scripts/emulator up)\" (scripts/test does it)";

/// A variable the emulator's `export` lines set.
pub fn env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!("{name} is not set: {HOW}"),
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

/// The clients, built exactly as `mirrorgate --backend aws` builds them.
pub async fn deps() -> Deps {
    endpoint();
    Deps::from_env().await.unwrap_or_else(|e| panic!("{e}: {HOW}"))
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("random bytes");
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{suffix}")
}

/// GETs a path of the emulator and returns the body (200 only).
pub fn get(path: &str) -> String {
    let endpoint = endpoint();
    let host = endpoint.trim_start_matches("http://");
    let mut stream =
        TcpStream::connect(host).unwrap_or_else(|e| panic!("cannot reach the emulator at {endpoint}: {e}: {HOW}"));
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n"
    )
    .expect("send the request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "GET {path}: {head}"
    );
    body.to_string()
}

/// Everything moto holds, by service and model (`/moto-api/data.json`).
pub fn moto_data() -> serde_json::Value {
    serde_json::from_str(&get("/moto-api/data.json")).expect("moto's data.json is JSON")
}

/// The instances of one moto model, e.g. `("sns", "Topic")`.
pub fn moto_models(service: &str, model: &str) -> Vec<serde_json::Value> {
    moto_data()[service][model].as_array().cloned().unwrap_or_default()
}
