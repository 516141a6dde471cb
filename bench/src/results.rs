//! The result files of one run: raw numbers, summarised only by `report`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const COLDSTART: &str = "coldstart.json";
pub const CALLS: &str = "calls.json";
pub const THROUGHPUT: &str = "throughput.json";
pub const SIZES: &str = "sizes.json";

/// What a subject is, for the report's ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The bare `lambda_runtime` hello-world binary.
    Hello,
    /// One of mirrorgate's functions.
    Function,
    /// The boto3 function under awslambdaric.
    Boto3,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ColdStarts {
    /// Which binaries ran ("release" or "debug") and on what.
    pub build: String,
    pub iterations: usize,
    pub warm_invocations: usize,
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub kind: Kind,
    /// The sample event it was invoked with.
    pub event: String,
    pub samples: Vec<ColdStart>,
}

/// One cold start: a fresh process, its first invocation and a few warm ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColdStart {
    /// Spawn to the first `GET .../invocation/next`.
    pub init_us: u64,
    /// The first invocation, event handed out to response received.
    pub first_us: u64,
    /// The median of the warm invocations that followed.
    pub warm_us: u64,
    /// Peak resident set size (VmHWM) after all of them.
    pub peak_rss_kib: u64,
}

impl ColdStart {
    /// Init plus what the first invocation costs over a warm one: work moved from
    /// init into the first invocation is still counted.
    pub fn cost_us(&self) -> i64 {
        self.init_us as i64 + self.first_us as i64 - self.warm_us as i64
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Calls {
    /// How the calls were counted.
    pub method: String,
    pub scenario: String,
    pub invocations: Vec<Invocation>,
}

/// One invocation of a function and the AWS calls it made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invocation {
    pub function: String,
    /// The kind of signal (its detail-type, or the request's shape).
    pub signal: String,
    /// Whether the function logged a phase transition for it.
    pub transition: bool,
    /// Whether it answered (an error answer is a failed invocation).
    pub ok: bool,
    /// `service:Operation` -> count.
    pub calls: BTreeMap<String, u32>,
    /// How many signals the invocation handled (the `handled` list of its answer):
    /// one for an event, one per mirror and observer answer for a health-poll run.
    #[serde(default = "one")]
    pub signals: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Throughput {
    pub build: String,
    pub mirrors: usize,
    /// Lines of the scenario file.
    pub lines: usize,
    /// Signals the engine handles for it: one per event and decision, one per mirror per tick.
    pub signals: usize,
    pub runs: Vec<ReplayRun>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReplayRun {
    /// "memory" (no --data) or "file" (--data DIR).
    pub store: String,
    /// "json" (--json) or "text".
    pub output: String,
    /// Wall time of each repetition, whole process.
    pub seconds: Vec<f64>,
    /// Effects printed (with --json: lines of output).
    pub effects: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Sizes {
    pub target: String,
    pub artifacts: Vec<Artifact>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Artifact {
    pub name: String,
    pub bootstrap_bytes: u64,
    pub zip_bytes: u64,
}
