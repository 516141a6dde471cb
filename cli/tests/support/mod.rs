//! What the CLI's tests share: running the binary, a scenario moved to the wall clock
//! (the commands decide at the time they run), and `mirrorgate serve` as a process
//! with the HTTP requests sent to it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `mirrorgate serve` as a process listening on 127.0.0.1:`port`; stopped when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    /// Starts `mirrorgate serve --data DATA ARGS --listen 127.0.0.1:PORT` from the
    /// project directory, its output going to `stdout` and `stderr`, and returns once
    /// it listens (it must within 20 s).
    pub fn start(port: u16, data: &Path, args: &[&str], stdout: impl Into<Stdio>, stderr: impl Into<Stdio>) -> Server {
        let child = Command::new(BIN)
            .current_dir(root())
            .args(["serve", "--data"])
            .arg(data)
            .args(args)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("mirrorgate serve starts");
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "serve did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: its status, its head (lower-cased) and its body.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// Sends one HTTP/1.1 request to 127.0.0.1:`port` on a fresh connection and reads the
/// whole answer (status 0 when there is none).
pub fn http(port: u16, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        request.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("send head");
    // A server may answer (413) before reading a large body; ignore a reset while sending.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// Replays `scenario` into the store in `data`, with approval links on
/// 127.0.0.1:`port`; returns the path (`/a/CODE`) of the first link its alerts carry,
/// and what the replay printed.
pub fn replay_link(data: &Path, scenario: &Path, port: u16) -> (String, Output) {
    let url = format!("http://127.0.0.1:{port}");
    let out = Command::new(BIN)
        .current_dir(root())
        .args(["replay", "--json", "--public-url", &url, "--data"])
        .arg(data)
        .arg(scenario)
        .output()
        .expect("replay runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let link = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["link"].as_str().map(str::to_string))
        .expect("the request's alert has a link");
    let path = link.trim_start_matches(&url).to_string();
    assert!(path.starts_with("/a/"), "{link}");
    (path, out)
}
