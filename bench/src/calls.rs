//! AWS calls per signal, counted on the wire: the functions' own binaries, each
//! running once under a local Runtime API, are sent a scenario's events in order
//! (alarms to alarm-ingest, mirror and EC2 events to mirror-events, ticks to
//! health-poll as schedule events) with `AWS_ENDPOINT_URL` pointing at the counting
//! proxy; the calls each invocation makes are the ones the proxy saw meanwhile.
//!
//! The scenario's times are moved so that it ends now: the functions judge events
//! against the clock. Approve/reject lines are decided through the approval pages,
//! which need the link from an alert: they are left out here; the approval page
//! and the promotion executor are each invoked once with their sample events.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use mirrorgate_lambda_tests::{FunctionProcess, RuntimeApi};
use serde_json::Value;

use crate::env::{self, Emulator};
use crate::proxy::CountingProxy;
use crate::results::{Calls, Invocation};

#[derive(clap::Args)]
pub struct Args {
    /// Where the functions' binaries are.
    #[arg(long, value_name = "DIR")]
    pub functions: PathBuf,
    #[arg(long, value_name = "FILE", default_value = "examples/topology.toml")]
    pub topology: PathBuf,
    #[arg(long, value_name = "FILE", default_value = "examples/scenarios/region-outage.jsonl")]
    pub scenario: PathBuf,
    /// How the binaries were built, for the report.
    #[arg(long, default_value = "release")]
    pub build: String,
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

struct Running {
    api: RuntimeApi,
    process: FunctionProcess,
    /// How much of its stdout was read already.
    seen: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let emulator = Emulator::from_env()?;
    let topology = env::read_topology(&args.topology)?;
    let text =
        std::fs::read_to_string(&args.scenario).with_context(|| format!("cannot read {}", args.scenario.display()))?;
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not JSON lines", args.scenario.display()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let invocations = runtime.block_on(async {
        let proxy = CountingProxy::start(&emulator.endpoint).await?;
        let lambda_env = emulator.function_env(&proxy.endpoint(), &topology);
        let mut running = BTreeMap::new();
        for (name, _) in env::FUNCTIONS {
            let api = RuntimeApi::start().await?.with_timeout(Duration::from_secs(60));
            let process = api.spawn_function(
                &std::path::absolute(env::binary(&args.functions, name)?)?,
                lambda_env.iter().map(|(k, v)| (k, v)),
            )?;
            if let Err(diag) = api.wait_until_ready(Duration::from_secs(30)).await {
                bail!("{name} did not start: {diag}\n{}", process.output());
            }
            running.insert(name, Running { api, process, seen: 0 });
        }

        let shift = scenario_shift(&lines)?;
        let mut plan: Vec<(&str, String, Value)> = Vec::new();
        let mut first_alarm = None;
        for line in &lines {
            let line = shifted(line, shift);
            if let Some(event) = line.get("event") {
                let source = event.get("source").and_then(Value::as_str).unwrap_or_default();
                let kind = event
                    .get("detail-type")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                let function = match source {
                    "aws.cloudwatch" => "alarm-ingest",
                    _ => "mirror-events",
                };
                if function == "alarm-ingest" && first_alarm.is_none() {
                    first_alarm = Some(event.clone());
                }
                plan.push((function, kind, event.clone()));
            } else if line.get("tick").is_some() {
                let mut tick = env::event("schedule")?;
                tick["time"] = line["at"].clone();
                plan.push(("health-poll", "Scheduled Event".into(), tick));
            }
        }
        if let Some(alarm) = first_alarm {
            plan.push((
                "alarm-ingest",
                "CloudWatch Alarm State Change, delivered again".into(),
                alarm,
            ));
        }
        plan.push((
            "approval-api",
            "approval page GET (unknown link)".into(),
            env::event("approval-page")?,
        ));
        plan.push((
            "promotion-executor",
            "PromotionApproved (request not open)".into(),
            env::event("promotion-approved")?,
        ));

        let mut invocations = Vec::new();
        for (function, signal, event) in plan {
            let Some(f) = running.get_mut(function) else {
                bail!("{function} is not running");
            };
            let before = proxy.calls().len();
            let answer = f.api.invoke(&event).await;
            let calls = proxy.calls().split_off(before);
            let out = f.process.stdout();
            let new_output = &out[f.seen.min(out.len())..];
            let transition = new_output.contains("\"message\":\"transition\"");
            f.seen = out.len();
            if let Err(diag) = &answer {
                eprintln!("calls: {function} answered {signal} with an error: {diag}");
            }
            let mut counted = BTreeMap::new();
            for call in calls {
                *counted.entry(call).or_insert(0) += 1;
            }
            let signals = answer
                .as_ref()
                .ok()
                .and_then(|a| a["handled"].as_array())
                .map_or(1, |handled| u32::try_from(handled.len()).unwrap_or(u32::MAX).max(1));
            invocations.push(Invocation {
                function: function.to_string(),
                signal,
                transition,
                ok: answer.is_ok(),
                calls: counted,
                signals,
            });
        }
        anyhow::Ok(invocations)
    })?;

    let results = Calls {
        method: format!(
            "a counting HTTP proxy on 127.0.0.1 in front of the emulator (moto server); each function's {} binary \
             runs under the local Runtime API with AWS_ENDPOINT_URL set to the proxy",
            args.build
        ),
        scenario: args.scenario.display().to_string(),
        invocations,
    };
    crate::write_json(&args.out, &results)
}

/// How far to move the scenario's times so that its last line is now.
fn scenario_shift(lines: &[Value]) -> anyhow::Result<chrono::Duration> {
    let last = lines
        .iter()
        .filter_map(|l| l.get("at").and_then(Value::as_str))
        .filter_map(|at| DateTime::parse_from_rfc3339(at).ok())
        .max()
        .context("the scenario has no times")?;
    Ok(Utc::now() - last.with_timezone(&Utc))
}

/// The line with every timestamp in it moved by `shift`, each kept in its format.
fn shifted(value: &Value, shift: chrono::Duration) -> Value {
    match value {
        Value::String(s) => Value::String(shift_time(s, shift).unwrap_or_else(|| s.clone())),
        Value::Array(items) => Value::Array(items.iter().map(|v| shifted(v, shift)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shifted(v, shift))).collect()),
        other => other.clone(),
    }
}

fn shift_time(s: &str, shift: chrono::Duration) -> Option<String> {
    // CloudWatch's alarm timestamps: 2026-11-25T03:00:00.000+0000
    const ALARM: &str = "%Y-%m-%dT%H:%M:%S%.3f%z";
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        let t = (t + shift).with_timezone(&Utc);
        let seconds = if s.contains('.') {
            chrono::SecondsFormat::Millis
        } else {
            chrono::SecondsFormat::Secs
        };
        return Some(t.to_rfc3339_opts(seconds, true));
    }
    DateTime::parse_from_str(s, ALARM)
        .ok()
        .map(|t| (t + shift).format(ALARM).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_move_in_their_own_format_and_nothing_else_does() {
        let shift = chrono::Duration::hours(1);
        let line = serde_json::json!({
            "at": "2026-11-25T03:00:00Z",
            "id": "cac91c43-e442-d309-6789-d8d75270feaa",
            "detail": {"state": {"timestamp": "2026-11-25T03:00:00.000+0000", "value": "OK"}, "n": 1}
        });
        let moved = shifted(&line, shift);
        assert_eq!(moved["at"], "2026-11-25T04:00:00Z");
        assert_eq!(moved["detail"]["state"]["timestamp"], "2026-11-25T04:00:00.000+0000");
        assert_eq!(moved["id"], line["id"]);
        assert_eq!(moved["detail"]["n"], 1);
    }
}
