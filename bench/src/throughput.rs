//! Replay throughput: a generated scenario of many mirrors, replayed by the real
//! `mirrorgate replay` process on the embedded store, in memory and on files.
//!
//! The topology repeats the example mirror (examples/topology.toml) under the names
//! M0001, M0002, ... with ids of their own. Each mirror lives through the region
//! outage of examples/scenarios/region-outage.jsonl (its events and the approval),
//! then sends heartbeats every 15 s from both DR members until it has its share of
//! lines; a schedule tick every minute (one line, a tick for every mirror). The
//! mirrors' lines are interleaved by time, as one deployment would receive them.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::results::{ReplayRun, Throughput};

#[derive(clap::Args)]
pub struct Args {
    /// The mirrorgate binary.
    #[arg(long, value_name = "FILE")]
    pub mirrorgate: PathBuf,
    #[arg(long, default_value_t = 200)]
    pub mirrors: usize,
    /// Lines of the scenario per mirror (besides the shared ticks).
    #[arg(long, default_value_t = 250)]
    pub per_mirror: usize,
    /// Repetitions of each replay.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    #[arg(long, value_name = "FILE", default_value = "examples/topology.toml")]
    pub topology: PathBuf,
    #[arg(long, value_name = "FILE", default_value = "examples/scenarios/region-outage.jsonl")]
    pub scenario: PathBuf,
    /// How the binary was built, for the report.
    #[arg(long, default_value = "release")]
    pub build: String,
    /// Where the generated files and outputs go (a new temporary directory if absent).
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub struct Generated {
    pub topology: String,
    pub scenario: String,
    pub lines: usize,
    pub signals: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mirrorgate = std::path::absolute(&args.mirrorgate)?;
    if !mirrorgate.is_file() {
        bail!("{} is missing: build it first", mirrorgate.display());
    }
    let template_topology =
        std::fs::read_to_string(&args.topology).with_context(|| format!("cannot read {}", args.topology.display()))?;
    let template_scenario =
        std::fs::read_to_string(&args.scenario).with_context(|| format!("cannot read {}", args.scenario.display()))?;
    let generated = generate(&template_topology, &template_scenario, args.mirrors, args.per_mirror)?;

    let work = match &args.work {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("mirrorgate-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work)?;
    let topology = work.join("topology.toml");
    let scenario = work.join("scenario.jsonl");
    std::fs::write(&topology, &generated.topology)?;
    std::fs::write(&scenario, &generated.scenario)?;
    eprintln!(
        "throughput: {} mirrors, {} lines, {} signals in {}",
        args.mirrors,
        generated.lines,
        generated.signals,
        scenario.display()
    );

    let mut runs = Vec::new();
    for (store, output) in [("memory", "json"), ("memory", "text"), ("file", "json")] {
        let mut seconds = Vec::new();
        let mut effects = 0;
        for n in 0..args.runs.max(1) {
            let mut command = Command::new(&mirrorgate);
            command.arg("replay").arg("--topology").arg(&topology);
            if output == "json" {
                command.arg("--json");
            }
            if store == "file" {
                let data = work.join(format!("data-{n}"));
                let _ = std::fs::remove_dir_all(&data);
                command.arg("--data").arg(&data);
            }
            let printed = work.join(format!("replay-{store}-{output}.out"));
            command
                .arg(&scenario)
                .current_dir(&work)
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&printed)?)
                .stderr(Stdio::piped());
            let started = Instant::now();
            let done = command.output()?;
            let elapsed = started.elapsed().as_secs_f64();
            if !done.status.success() {
                bail!(
                    "mirrorgate replay ({store}, {output}) failed: {}\n{}",
                    done.status,
                    String::from_utf8_lossy(&done.stderr)
                );
            }
            effects = if output == "json" {
                std::fs::read_to_string(&printed)?.lines().count()
            } else {
                0
            };
            seconds.push(elapsed);
            eprintln!("throughput: {store} store, {output} output: {elapsed:.2} s");
        }
        if output == "json" && effects == 0 {
            bail!("mirrorgate replay ({store}) printed no effects");
        }
        runs.push(ReplayRun {
            store: store.into(),
            output: output.into(),
            seconds,
            effects,
        });
    }
    if args.work.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    crate::write_json(
        &args.out,
        &Throughput {
            build: args.build,
            mirrors: args.mirrors,
            lines: generated.lines,
            signals: generated.signals,
            runs,
        },
    )
}

/// The topology and scenario of `mirrors` copies of the example mirror.
pub fn generate(topology: &str, scenario: &str, mirrors: usize, per_mirror: usize) -> anyhow::Result<Generated> {
    let ids = member_ids(topology);
    let template: Vec<Value> = scenario
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("the template scenario is not JSON lines")?;
    let time = |line: &Value| -> anyhow::Result<DateTime<Utc>> {
        let at = line
            .get("at")
            .and_then(Value::as_str)
            .context("a line without \"at\"")?;
        Ok(DateTime::parse_from_rfc3339(at)?.with_timezone(&Utc))
    };
    let heartbeat = template
        .iter()
        .rev()
        .find(|l| l.pointer("/event/detail-type").and_then(Value::as_str) == Some("Mirror Member Heartbeat"))
        .context("the template scenario has no heartbeat")?
        .clone();
    let events: Vec<&Value> = template.iter().filter(|l| l.get("tick").is_none()).collect();
    let outage_end = template
        .iter()
        .map(time)
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .max()
        .context("an empty template scenario")?;

    let mut text = String::new();
    // (time, line): every mirror's lines, then sorted by time; the sort is stable, so
    // lines of one time keep their mirror's order.
    let mut lines: Vec<(DateTime<Utc>, String)> = Vec::new();
    let mut latest = outage_end;
    for k in 1..=mirrors {
        let name = format!("M{k:04}");
        let rename = |s: &str| {
            let mut s = s.replace("HSPROD", &name);
            for id in &ids {
                s = s.replace(id.as_str(), &id_for(id, k));
            }
            s
        };
        text.push_str(&rename(topology));
        text.push('\n');
        for line in &events {
            lines.push((time(line)?, rename(&line.to_string())));
        }
        let mut at = outage_end;
        for j in 0..per_mirror.saturating_sub(events.len()) {
            at += Duration::seconds(if j % 2 == 0 { 15 } else { 0 });
            let (member, status) = if j % 2 == 0 {
                ("DR1", "Primary")
            } else {
                ("DR2", "Connected")
            };
            let mut line = heartbeat.clone();
            let stamp = at.to_rfc3339_opts(SecondsFormat::Secs, true);
            line["at"] = json!(stamp);
            let event = &mut line["event"];
            event["id"] = json!(format!("{k:08x}-0000-4000-8000-{j:012x}"));
            event["time"] = json!(stamp);
            event["detail"]["member"] = json!(format!("HSPROD-{member}"));
            event["detail"]["status"] = json!(status);
            if status == "Primary" {
                if let Some(detail) = event["detail"].as_object_mut() {
                    detail.remove("journal_latency");
                }
            } else {
                event["detail"]["journal_latency"]["measured_at"] = json!(stamp);
            }
            lines.push((at, rename(&line.to_string())));
            latest = latest.max(at);
        }
    }
    // Every minute a tick, as the schedule does: the template's ticks, then one a minute.
    let mut ticks: Vec<DateTime<Utc>> = template
        .iter()
        .filter(|l| l.get("tick").is_some())
        .map(time)
        .collect::<anyhow::Result<_>>()?;
    let mut tick = outage_end + Duration::seconds(60);
    while tick <= latest {
        ticks.push(tick);
        tick += Duration::seconds(60);
    }
    for at in &ticks {
        let stamp = at.to_rfc3339_opts(SecondsFormat::Secs, true);
        lines.push((*at, json!({"at": stamp, "tick": {}}).to_string()));
    }
    lines.sort_by_key(|(at, _)| *at);

    let signals = lines.len() - ticks.len() + ticks.len() * mirrors;
    let mut scenario = String::with_capacity(lines.iter().map(|(_, l)| l.len() + 1).sum());
    for (_, line) in &lines {
        scenario.push_str(line);
        scenario.push('\n');
    }
    Ok(Generated {
        topology: text,
        scenario,
        lines: lines.len(),
        signals,
    })
}

/// The instance and health check ids of the template topology.
fn member_ids(topology: &str) -> Vec<String> {
    topology
        .lines()
        .filter_map(|l| {
            let (key, value) = l.split_once('=')?;
            matches!(key.trim(), "instance_id" | "health_check_id").then(|| value.trim().trim_matches('"').to_string())
        })
        .collect()
}

/// The id's last six hex digits replaced by the mirror's number: unique per member
/// and mirror, still a valid instance id or UUID.
fn id_for(id: &str, k: usize) -> String {
    let keep = id.len().saturating_sub(6);
    format!("{}{:06x}", &id[..keep], k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Events per mirror (alarms carry no mirror field).
    fn by_mirror(scenario: &str) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for line in scenario.lines() {
            let v: Value = serde_json::from_str(line).expect("json");
            if let Some(m) = v
                .pointer("/event/detail/mirror")
                .or_else(|| v.pointer("/approve/mirror"))
                .and_then(Value::as_str)
            {
                *counts.entry(m.to_string()).or_insert(0) += 1;
            }
        }
        counts
    }

    fn example() -> (String, String) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        (
            std::fs::read_to_string(root.join("examples/topology.toml")).expect("topology"),
            std::fs::read_to_string(root.join("examples/scenarios/region-outage.jsonl")).expect("scenario"),
        )
    }

    #[test]
    fn every_mirror_gets_its_share_of_lines_in_time_order() {
        let (topology, scenario) = example();
        let g = generate(&topology, &scenario, 3, 100).expect("generated");
        let times: Vec<String> = g
            .scenario
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).expect("json")["at"]
                    .as_str()
                    .expect("at")
                    .to_string()
            })
            .collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted);
        assert_eq!(g.lines, g.scenario.lines().count());
        assert!(!g.scenario.contains("HSPROD") && !g.topology.contains("HSPROD"));
        assert!(g.topology.contains("i-0aaaaaaaaaa000003"));
        let parsed = shared::topology::Topology::parse("generated", &g.topology).expect("a valid topology");
        assert_eq!(parsed.mirrors.len(), 3);
        let counts = by_mirror(&g.scenario);
        assert_eq!(counts.len(), 3);
        assert!(counts.values().all(|n| *n > 80), "{counts:?}");
    }
}
