//! What the operator command tests share: running the binary, and a scenario moved
//! to the wall clock (the commands decide at the time they run).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, NaiveDateTime, Utc};

pub const BIN: &str = env!("CARGO_BIN_EXE_mirrorgate");

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `mirrorgate ARGS` from the project directory.
pub fn mirrorgate(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(root())
        .args(args)
        .output()
        .expect("mirrorgate runs")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The JSON lines of an output.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

const DAY: &str = "2026-11-25T";

/// A scenario's text with every time in it (the lines' `at` and the payloads' own
/// times) moved by the same amount, so that its last line happens `ago` seconds
/// before now: what it raises is as fresh for the commands as for a live control plane.
pub fn moved_to_now(text: &str, ago: i64) -> String {
    let times: Vec<NaiveDateTime> = positions(text).map(|(_, t)| t).collect();
    let last = *times.iter().max().expect("the scenario has times");
    let shift = (Utc::now() - chrono::Duration::seconds(ago)).naive_utc() - last;
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, time) in positions(text).collect::<Vec<_>>() {
        out.push_str(&text[copied..at]);
        out.push_str(&(time + shift).format("%Y-%m-%dT%H:%M:%S").to_string());
        copied = at + DAY.len() + 8;
    }
    out.push_str(&text[copied..]);
    out
}

fn positions(text: &str) -> impl Iterator<Item = (usize, NaiveDateTime)> + '_ {
    text.match_indices(DAY).filter_map(|(at, _)| {
        let whole = text.get(at..at + DAY.len() + 8)?;
        NaiveDateTime::parse_from_str(whole, "%Y-%m-%dT%H:%M:%S")
            .ok()
            .map(|t| (at, t))
    })
}

/// The region outage up to its promotion request (HSPROD-R1, DR1), moved to now
/// and written into `dir`, with `HSPROD` renamed `mirror` in it.
pub fn pending_scenario(dir: &Path, mirror: &str) -> PathBuf {
    let text =
        std::fs::read_to_string(root().join("examples/scenarios/region-outage-pending.jsonl")).expect("scenario");
    let path = dir.join(format!("{mirror}-pending.jsonl"));
    std::fs::write(&path, moved_to_now(&text, 30).replace("HSPROD", mirror)).expect("write the scenario");
    path
}

/// A healthy mirror (A primary, B backup, DR1 and DR2 connected): the events of the
/// drill rehearsal, moved to now and written into `dir`, with `HSPROD` renamed `mirror`.
pub fn healthy_scenario(dir: &Path, mirror: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/scenarios/drill-rehearsal.jsonl")).expect("scenario");
    let healthy: Vec<&str> = text.lines().filter(|l| l.contains("\"event\"")).collect();
    let path = dir.join(format!("{mirror}-healthy.jsonl"));
    std::fs::write(&path, moved_to_now(&healthy.join("\n"), 5).replace("HSPROD", mirror)).expect("write the scenario");
    path
}

/// The switchover to DR1 of `switchover-failback.jsonl`, approved, done and followed by
/// the fencing of A and B, up to (not including) its failback: DR1 primary, last heard
/// 5 seconds ago. Moved to now and written into `dir`, with `HSPROD` renamed `mirror`.
pub fn switched_over_scenario(dir: &Path, mirror: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/scenarios/switchover-failback.jsonl")).expect("scenario");
    let before: Vec<&str> = text.lines().take_while(|l| !l.contains("\"failback\"")).collect();
    let path = dir.join(format!("{mirror}-switched-over.jsonl"));
    std::fs::write(&path, moved_to_now(&before.join("\n"), 5).replace("HSPROD", mirror)).expect("write the scenario");
    path
}

/// The example topology with the mirror and its members renamed from `HSPROD` to
/// `mirror` (the SSM documents and the IRIS instance keep their names: the emulator
/// created those), written into `dir`.
pub fn topology_named(dir: &Path, mirror: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/topology.toml")).expect("topology");
    let text = text
        .replace("HSPROD", mirror)
        .replace(&format!("\"{mirror}-PromoteDrAsync\""), "\"HSPROD-PromoteDrAsync\"")
        .replace(&format!("\"{mirror}-FenceMember\""), "\"HSPROD-FenceMember\"")
        .replace(&format!("\"{mirror}-DrillDrAsync\""), "\"HSPROD-DrillDrAsync\"")
        .replace(&format!("Instance = [\"{mirror}\"]"), "Instance = [\"HSPROD\"]");
    let path = dir.join(format!("{mirror}-topology.toml"));
    std::fs::write(&path, text).expect("write the topology");
    path
}

pub fn parse_time(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}
