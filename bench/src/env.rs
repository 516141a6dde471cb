//! What the functions are given: Lambda's environment (from the Runtime API server),
//! the emulator's endpoint and names, the topology, and one sample event each.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde_json::Value;

/// The five functions, each with the sample event it is invoked with.
pub const FUNCTIONS: [(&str, &str); 5] = [
    ("alarm-ingest", "alarm"),
    ("mirror-events", "heartbeat"),
    ("health-poll", "schedule"),
    ("approval-api", "approval-page"),
    ("promotion-executor", "promotion-approved"),
];

/// A sample event by name (bench/events/*.json). The alarm and the heartbeat are
/// lines of examples/scenarios/region-outage.jsonl; the schedule event has the shape
/// of aws_lambda_events' EventBridge schedule sample; the approval page is a
/// function URL GET of a link that matches no request; the promotion order names
/// a request that is not open.
pub fn event(name: &str) -> anyhow::Result<Value> {
    let text = match name {
        "alarm" => include_str!("../events/alarm.json"),
        "heartbeat" => include_str!("../events/heartbeat.json"),
        "schedule" => include_str!("../events/schedule.json"),
        "approval-page" => include_str!("../events/approval-page.json"),
        "promotion-approved" => include_str!("../events/promotion-approved.json"),
        _ => bail!("no sample event {name}"),
    };
    Ok(serde_json::from_str(text)?)
}

/// The emulator's settings, as `scripts/emulator up` exports them.
#[derive(Debug, Clone)]
pub struct Emulator {
    pub endpoint: String,
    pub region: String,
    pub table: String,
    pub topic_arn: String,
}

impl Emulator {
    pub fn from_env() -> anyhow::Result<Emulator> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .with_context(|| format!("{name} is not set: run under eval \"$(scripts/emulator up)\""))
        };
        Ok(Emulator {
            endpoint: var("AWS_ENDPOINT_URL")?,
            region: var("AWS_REGION")?,
            table: var("MIRRORGATE_TABLE")?,
            topic_arn: var("MIRRORGATE_TOPIC_ARN")?,
        })
    }

    /// What Lambda would give the function besides its own variables: credentials of
    /// the execution role (here the emulator's), the region, and the stack's
    /// variables (template.yaml); `endpoint` is the emulator or the counting proxy.
    pub fn function_env(&self, endpoint: &str, topology: &str) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_SESSION_TOKEN", "testing"),
            ("AWS_REGION", self.region.as_str()),
            ("AWS_DEFAULT_REGION", self.region.as_str()),
            ("AWS_ENDPOINT_URL", endpoint),
            ("MIRRORGATE_TABLE", self.table.as_str()),
            ("MIRRORGATE_TOPIC_ARN", self.topic_arn.as_str()),
            ("MIRRORGATE_TOPOLOGY", topology),
            ("MIRRORGATE_EVENT_BUS", "default"),
            ("MIRRORGATE_PUBLIC_URL", "https://approvals.example.org"),
            ("RUST_LOG", "info"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// The topology the functions are given, without its `status_url`s: the example's are
/// documentation addresses that a benchmark must not contact (health-poll would probe
/// them every run, and time out).
pub fn read_topology(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the topology {}", path.display()))?;
    Ok(text
        .lines()
        .filter(|line| !line.trim_start().starts_with("status_url"))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// A function's binary in a build directory; fails with the command that builds it.
pub fn binary(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    binary_file(&dir.join(name))
}

pub fn binary_file(path: &Path) -> anyhow::Result<PathBuf> {
    if !path.is_file() {
        bail!(
            "{} is missing: build it first (scripts/bench builds everything it runs)",
            path.display()
        );
    }
    Ok(path.to_path_buf())
}

/// The same event with its `time` set to now (ticks and heartbeats are judged by it).
pub fn now_event(mut event: Value) -> Value {
    if let Some(time) = event.get_mut("time") {
        *time = Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    }
    event
}
