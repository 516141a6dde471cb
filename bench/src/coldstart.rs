//! Cold starts side by side: every function, hello-lambda and the boto3 function,
//! each started again and again as Lambda starts an execution environment.
//!
//! One round starts each subject once, in turn, so a machine that gets busier or
//! quieter during the run affects them all alike. A first round warms the page
//! cache and the emulator's items and is not counted. Per cold start: spawn ->
//! first `/next` (init), the first invocation, `warm` more invocations of the same
//! event, the peak RSS; then the process is killed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use mirrorgate_lambda_tests::RuntimeApi;
use serde_json::Value;

use crate::env::{self, Emulator};
use crate::results::{ColdStart, ColdStarts, Kind, Subject};

#[derive(clap::Args)]
pub struct Args {
    /// Where the functions' binaries are (target/release or target/debug).
    #[arg(long, value_name = "DIR")]
    pub functions: PathBuf,
    /// The hello-lambda binary.
    #[arg(long, value_name = "FILE")]
    pub hello: PathBuf,
    /// The boto3 function's bootstrap (bench/python/bootstrap); omit to leave it out.
    #[arg(long, value_name = "FILE")]
    pub python: Option<PathBuf>,
    /// The Python interpreter with boto3 and awslambdaric.
    #[arg(long, value_name = "FILE", default_value = ".venv/bin/python")]
    pub python_interpreter: PathBuf,
    /// The topology the functions are given (MIRRORGATE_TOPOLOGY).
    #[arg(long, value_name = "FILE", default_value = "examples/topology.toml")]
    pub topology: PathBuf,
    /// Counted cold starts per subject.
    #[arg(long, default_value_t = 15)]
    pub iterations: usize,
    /// Warm invocations after the first one, per cold start.
    #[arg(long, default_value_t = 5)]
    pub warm: usize,
    /// How the binaries were built, for the report.
    #[arg(long, default_value = "release")]
    pub build: String,
    /// An extra variable for every subject, for experiments (KEY=VALUE; repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = key_value)]
    pub extra_env: Vec<(String, String)>,
    /// Only these functions besides hello-lambda (repeatable; default: all five).
    #[arg(long = "only", value_name = "FUNCTION")]
    pub only: Vec<String>,
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

struct Runner {
    name: String,
    kind: Kind,
    program: PathBuf,
    env: Vec<(String, String)>,
    event_name: String,
    event: Value,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let emulator = Emulator::from_env()?;
    let topology = env::read_topology(&args.topology)?;
    let mut lambda_env = emulator.function_env(&emulator.endpoint, &topology);
    lambda_env.extend(args.extra_env.iter().cloned());

    let alarm = env::event("alarm")?;
    let mut runners = vec![Runner {
        name: "hello-lambda".into(),
        kind: Kind::Hello,
        program: absolute(&env::binary_file(&args.hello)?),
        env: lambda_env.clone(),
        event_name: "alarm".into(),
        event: alarm.clone(),
    }];
    if let Some(unknown) = args.only.iter().find(|n| !env::FUNCTIONS.iter().any(|(f, _)| f == n)) {
        bail!("--only {unknown}: not one of the functions");
    }
    for (name, event) in env::FUNCTIONS {
        if !args.only.is_empty() && !args.only.iter().any(|n| n == name) {
            continue;
        }
        runners.push(Runner {
            name: name.into(),
            kind: Kind::Function,
            program: absolute(&env::binary(&args.functions, name)?),
            env: lambda_env.clone(),
            event_name: event.into(),
            event: env::now_event(env::event(event)?),
        });
    }
    if let Some(bootstrap) = &args.python {
        // Not canonicalized: the venv's python is a link, and Python finds its venv from it.
        let interpreter = absolute(&args.python_interpreter);
        if !interpreter.is_file() {
            bail!("no Python interpreter at {}", interpreter.display());
        }
        let mut env = lambda_env.clone();
        env.push(("MIRRORGATE_BENCH_PYTHON".into(), interpreter.display().to_string()));
        runners.push(Runner {
            name: "boto3 (awslambdaric)".into(),
            kind: Kind::Boto3,
            program: absolute(&env::binary_file(bootstrap)?),
            env,
            event_name: "alarm".into(),
            event: alarm,
        });
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut samples: Vec<Vec<ColdStart>> = vec![Vec::new(); runners.len()];
    runtime.block_on(async {
        let api = RuntimeApi::start().await?;
        for round in 0..=args.iterations {
            for (runner, samples) in runners.iter().zip(samples.iter_mut()) {
                let sample = cold_start(&api, runner, args.warm)
                    .await
                    .with_context(|| format!("{} (round {round})", runner.name))?;
                // Round 0 warms the page cache and creates the items; it is not counted.
                if round > 0 {
                    samples.push(sample);
                }
            }
            eprintln!("coldstart: round {round}/{} done", args.iterations);
        }
        anyhow::Ok(())
    })?;

    let results = ColdStarts {
        build: args.build,
        iterations: args.iterations,
        warm_invocations: args.warm,
        subjects: runners
            .into_iter()
            .zip(samples)
            .map(|(r, samples)| Subject {
                name: r.name,
                kind: r.kind,
                event: r.event_name,
                samples,
            })
            .collect(),
    };
    crate::write_json(&args.out, &results)
}

async fn cold_start(api: &RuntimeApi, runner: &Runner, warm: usize) -> anyhow::Result<ColdStart> {
    let mut process = api.spawn_function(&runner.program, runner.env.iter().map(|(k, v)| (k, v)))?;
    let init = match api.wait_until_ready(Duration::from_secs(30)).await {
        Ok(init) => init,
        Err(diag) => bail!("did not start: {diag}\n{}", process.output()),
    };
    for _ in 0..=warm {
        if let Err(diag) = api.invoke(&runner.event).await {
            bail!("invocation failed: {diag}\n{}", process.output());
        }
    }
    let peak_rss_kib = process.peak_rss_kib().unwrap_or_default();
    let timings = api.timings();
    process.kill()?;
    let latencies: Vec<u64> = timings.latencies().iter().map(|d| d.as_micros() as u64).collect();
    let Some((first, rest)) = latencies.split_first() else {
        bail!("no invocation was timed");
    };
    Ok(ColdStart {
        init_us: init.as_micros() as u64,
        first_us: *first,
        warm_us: crate::stats::median_u64(rest.iter().copied()),
        peak_rss_kib,
    })
}

fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

/// Absolute, because the Runtime API starts a function in its own directory.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
