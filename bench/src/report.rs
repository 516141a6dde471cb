//! The report: one markdown document of a run's results, with the targets of
//! issue 7 (docs/PERFORMANCE.md) checked against them. It asserts only that the
//! benchmark ran and produced numbers; a missed target is reported, not an error.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use serde::de::DeserializeOwned;

use crate::results::{self, Calls, ColdStarts, Invocation, Kind, Sizes, Throughput};
use crate::stats::{median_f64, median_i64, median_u64};

/// Where in docs/PERFORMANCE.md the results go.
pub const BEGIN: &str = "<!-- results: written by scripts/bench -->";
pub const END: &str = "<!-- end of results -->";

/// The targets (issue 7).
const MAX_COST_OVER_HELLO: f64 = 1.5;
const MIN_BOTO3_OVER_COST: f64 = 20.0;
const MAX_ZIP_BYTES: u64 = 5_000_000;
const MAX_RSS_KIB: u64 = 20_000_000 / 1024;
const MIN_SIGNALS_PER_SECOND: f64 = 50_000.0;

#[derive(clap::Args)]
pub struct Args {
    /// The directory the measuring commands wrote their files to.
    #[arg(long, value_name = "DIR")]
    pub results: PathBuf,
    /// Also write the report into this file, between its results markers.
    #[arg(long, value_name = "FILE")]
    pub doc: Option<PathBuf>,
    /// The command that made this run, for the report.
    #[arg(long, default_value = "scripts/bench")]
    pub command: String,
}

fn load<T: DeserializeOwned>(dir: &Path, name: &str) -> anyhow::Result<Option<T>> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Some(
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))?,
    ))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let coldstarts: Option<ColdStarts> = load(&args.results, results::COLDSTART)?;
    let calls: Option<Calls> = load(&args.results, results::CALLS)?;
    let throughput: Option<Throughput> = load(&args.results, results::THROUGHPUT)?;
    let sizes: Option<Sizes> = load(&args.results, results::SIZES)?;
    if coldstarts.is_none() && calls.is_none() && throughput.is_none() {
        bail!("no results in {}", args.results.display());
    }
    let report = render(
        &args.command,
        coldstarts.as_ref(),
        calls.as_ref(),
        throughput.as_ref(),
        sizes.as_ref(),
    )?;
    print!("{report}");
    if let Some(doc) = &args.doc {
        let text = std::fs::read_to_string(doc).with_context(|| format!("cannot read {}", doc.display()))?;
        let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
            bail!("{} has no results markers ({BEGIN} ... {END})", doc.display());
        };
        if end < begin {
            bail!("{}: the results markers are out of order", doc.display());
        }
        let updated = format!("{}{BEGIN}\n\n{report}\n{}", &text[..begin], &text[end..]);
        std::fs::write(doc, updated).with_context(|| format!("cannot write {}", doc.display()))?;
        eprintln!("report: written into {}", doc.display());
    }
    Ok(())
}

fn ms(us: i64) -> String {
    let ms = us as f64 / 1000.0;
    if ms.abs() >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms.abs() >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1_000_000.0)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

/// The machine the run was on: cores, CPU model, memory.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        })
        .map(|kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into());
    format!(
        "{cores} cores ({cpu}), {memory} memory, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

struct Verdict {
    target: String,
    measured: String,
    ok: bool,
}

pub fn render(
    command: &str,
    coldstarts: Option<&ColdStarts>,
    calls: Option<&Calls>,
    throughput: Option<&Throughput>,
    sizes: Option<&Sizes>,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut verdicts: Vec<Verdict> = Vec::new();
    writeln!(
        out,
        "Run of `{command}` on {}, {}.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine()
    )?;

    if let Some(c) = coldstarts {
        cold_start_section(&mut out, &mut verdicts, c)?;
    }
    if let Some(s) = sizes {
        writeln!(out, "### Artifact sizes: {}\n", s.target)?;
        writeln!(out, "| artifact | bootstrap | zip |\n| --- | ---: | ---: |")?;
        for a in &s.artifacts {
            writeln!(out, "| {} | {} | {} |", a.name, mb(a.bootstrap_bytes), mb(a.zip_bytes))?;
        }
        writeln!(out)?;
        let functions: Vec<_> = s.artifacts.iter().filter(|a| a.name != "hello-lambda").collect();
        if let Some(largest) = functions.iter().max_by_key(|a| a.zip_bytes) {
            verdicts.push(Verdict {
                target: "arm64 zip at most 5 MB per function".into(),
                measured: format!("largest: {} {}", largest.name, mb(largest.zip_bytes)),
                ok: functions.iter().all(|a| a.zip_bytes <= MAX_ZIP_BYTES),
            });
        }
    }
    if let Some(c) = calls {
        calls_section(&mut out, &mut verdicts, c)?;
    }
    if let Some(t) = throughput {
        writeln!(
            out,
            "### Replay throughput ({} build of `mirrorgate replay`)\n\n{} mirrors, {} scenario lines, {} signals \
             (a tick counts once per mirror); whole process, median of {} runs.\n",
            t.build,
            t.mirrors,
            t.lines,
            t.signals,
            t.runs.first().map(|r| r.seconds.len()).unwrap_or(0)
        )?;
        writeln!(
            out,
            "| store | output | wall time | signals/s | effects printed |\n| --- | --- | ---: | ---: | ---: |"
        )?;
        let mut best_memory = 0.0f64;
        let mut file_rate = None;
        for r in &t.runs {
            let seconds = median_f64(&r.seconds);
            if seconds <= 0.0 {
                bail!("the replay ({}, {}) took no time: no numbers", r.store, r.output);
            }
            let rate = t.signals as f64 / seconds;
            let store = match r.store.as_str() {
                "memory" => "embedded, in memory (no --data)",
                _ => "embedded, files (--data DIR)",
            };
            let output = if r.output == "json" { "--json" } else { "text" };
            let effects = if r.output == "json" {
                r.effects.to_string()
            } else {
                "–".into()
            };
            writeln!(out, "| {store} | {output} | {seconds:.2} s | {rate:.0} | {effects} |")?;
            if r.store == "memory" {
                best_memory = best_memory.max(rate);
            } else {
                file_rate = Some(rate);
            }
        }
        writeln!(out)?;
        verdicts.push(Verdict {
            target: "replay at least 50,000 signals/s on the embedded store (replay's default: in memory)".into(),
            measured: format!("{best_memory:.0}/s"),
            ok: best_memory >= MIN_SIGNALS_PER_SECOND,
        });
        if let Some(f) = file_rate {
            writeln!(
                out,
                "The file store (`--data DIR`, what `serve` shares with `replay`) is shown for reference, not as the target: \
                 it appends every state change to its log as JSON under a file lock, {:.0} µs per signal here.\n",
                1e6 / f
            )?;
        }
    }

    writeln!(out, "### Targets\n\n| target | measured | |\n| --- | --- | --- |")?;
    for v in &verdicts {
        writeln!(out, "| {} | {} | {} |", v.target, v.measured, met(v.ok))?;
    }
    Ok(out)
}

fn cold_start_section(out: &mut String, verdicts: &mut Vec<Verdict>, c: &ColdStarts) -> anyhow::Result<()> {
    writeln!(
        out,
        "### Cold starts ({} builds, x86_64, against the emulator)\n\n{} cold starts per row, interleaved, after one \
         that is not counted; each followed by {} warm invocations of the same event. Medians. Cost = init + (first \
         invocation − median warm invocation), per cold start.\n",
        c.build, c.iterations, c.warm_invocations
    )?;
    writeln!(
        out,
        "| function | event | init | first invocation | warm invocation | cold-start cost | × hello | boto3 ÷ this | peak RSS |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )?;
    struct Row<'a> {
        name: &'a str,
        kind: Kind,
        event: &'a str,
        init: i64,
        first: i64,
        warm: i64,
        cost: i64,
        rss: u64,
    }
    let mut rows = Vec::new();
    for s in &c.subjects {
        if s.samples.is_empty() {
            bail!("{} has no cold starts: no numbers", s.name);
        }
        let row = Row {
            name: &s.name,
            kind: s.kind,
            event: &s.event,
            init: median_u64(s.samples.iter().map(|x| x.init_us)) as i64,
            first: median_u64(s.samples.iter().map(|x| x.first_us)) as i64,
            warm: median_u64(s.samples.iter().map(|x| x.warm_us)) as i64,
            cost: median_i64(s.samples.iter().map(|x| x.cost_us())),
            rss: median_u64(s.samples.iter().map(|x| x.peak_rss_kib)),
        };
        if row.init <= 0 || row.first <= 0 || row.rss == 0 {
            bail!("{} has empty measurements", s.name);
        }
        rows.push(row);
    }
    let hello = rows.iter().find(|r| r.kind == Kind::Hello).map(|r| r.cost.max(1));
    let boto3 = rows.iter().find(|r| r.kind == Kind::Boto3).map(|r| r.cost);
    for r in &rows {
        let over_hello = hello
            .map(|h| format!("{:.2}×", r.cost as f64 / h as f64))
            .unwrap_or_default();
        let boto3_over = match (boto3, r.kind) {
            (Some(b), Kind::Function | Kind::Hello) => format!("{:.0}×", b as f64 / r.cost.max(1) as f64),
            _ => String::new(),
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {over_hello} | {boto3_over} | {:.1} MB |",
            r.name,
            r.event,
            ms(r.init),
            ms(r.first),
            ms(r.warm),
            ms(r.cost),
            r.rss as f64 * 1024.0 / 1_000_000.0
        )?;
    }
    writeln!(out)?;
    let functions: Vec<&Row> = rows.iter().filter(|r| r.kind == Kind::Function).collect();
    let note = if c.build == "release" {
        String::new()
    } else {
        format!(" ({} build: not the targets' measure)", c.build)
    };
    if let (Some(h), Some(worst)) = (hello, functions.iter().max_by_key(|r| r.cost)) {
        verdicts.push(Verdict {
            target: format!("every function's cold-start cost at most 1.5× hello-lambda's{note}"),
            measured: format!(
                "worst: {} {} = {:.2}× hello's {}",
                worst.name,
                ms(worst.cost),
                worst.cost as f64 / h as f64,
                ms(h)
            ),
            ok: functions
                .iter()
                .all(|r| r.cost as f64 <= MAX_COST_OVER_HELLO * h as f64),
        });
    }
    if let (Some(b), Some(worst)) = (boto3, functions.iter().max_by_key(|r| r.cost)) {
        verdicts.push(Verdict {
            target: format!("every function's cold-start cost at least 20× smaller than boto3's{note}"),
            measured: format!(
                "boto3 {} = {:.0}× the worst function ({})",
                ms(b),
                b as f64 / worst.cost.max(1) as f64,
                worst.name
            ),
            ok: functions
                .iter()
                .all(|r| b as f64 >= MIN_BOTO3_OVER_COST * r.cost.max(1) as f64),
        });
    }
    if let Some(worst) = functions.iter().max_by_key(|r| r.rss) {
        verdicts.push(Verdict {
            target: format!("peak RSS at most 20 MB{note}"),
            measured: format!(
                "largest: {} {:.1} MB",
                worst.name,
                worst.rss as f64 * 1024.0 / 1_000_000.0
            ),
            ok: functions.iter().all(|r| r.rss <= MAX_RSS_KIB),
        });
    }
    Ok(())
}

/// What one kind of call counts as.
fn category(call: &str) -> &'static str {
    match call {
        "dynamodb:GetItem" | "dynamodb:Query" | "dynamodb:Scan" | "dynamodb:BatchGetItem" => "read",
        "dynamodb:PutItem"
        | "dynamodb:UpdateItem"
        | "dynamodb:DeleteItem"
        | "dynamodb:BatchWriteItem"
        | "dynamodb:TransactWriteItems" => "write",
        "sns:Publish" => "publish",
        c if c.starts_with("route53:") => "route53",
        _ => "other",
    }
}

fn count(inv: &Invocation, what: &str) -> u32 {
    inv.calls
        .iter()
        .filter(|(c, _)| category(c) == what)
        .map(|(_, n)| n)
        .sum()
}

/// "1" when every invocation made the same number of calls, "0–2" otherwise.
fn spread(invocations: &[&Invocation], what: &str) -> String {
    let counts: Vec<u32> = invocations.iter().map(|i| count(i, what)).collect();
    let (lo, hi) = (
        counts.iter().min().copied().unwrap_or(0),
        counts.iter().max().copied().unwrap_or(0),
    );
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    }
}

fn calls_section(out: &mut String, verdicts: &mut Vec<Verdict>, c: &Calls) -> anyhow::Result<()> {
    writeln!(
        out,
        "### AWS calls per signal\n\nCounted by {}. Scenario: `{}`, then a repeated delivery, an approval page and a \
         promotion order. Per invocation (one signal each; a schedule event is one tick per mirror, and the example \
         topology has one mirror).\n",
        c.method, c.scenario
    )?;
    writeln!(
        out,
        "| signal | function | case | invocations | table reads | table writes | SNS publishes | Route 53 calls | other calls |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
    )?;
    let mut groups: BTreeMap<(&str, &str, bool), Vec<&Invocation>> = BTreeMap::new();
    for inv in &c.invocations {
        groups
            .entry((inv.function.as_str(), inv.signal.as_str(), inv.transition))
            .or_default()
            .push(inv);
    }
    for ((function, signal, transition), invs) in &groups {
        let mut other: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
        for inv in invs {
            for (call, n) in &inv.calls {
                if category(call) == "other" {
                    let e = other.entry(call.as_str()).or_insert((u32::MAX, 0));
                    e.0 = e.0.min(*n);
                    e.1 = e.1.max(*n);
                }
            }
        }
        let other = other
            .iter()
            .map(|(call, (lo, hi))| {
                if lo == hi {
                    format!("{call} {hi}")
                } else {
                    format!("{call} {lo}–{hi}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let case = if *transition { "transition" } else { "no transition" };
        let failed = invs.iter().filter(|i| !i.ok).count();
        let case = if failed > 0 {
            format!("{case} ({failed} answered with an error)")
        } else {
            case.to_string()
        };
        writeln!(
            out,
            "| {signal} | {function} | {case} | {} | {} | {} | {} | {} | {} |",
            invs.len(),
            spread(invs, "read"),
            spread(invs, "write"),
            spread(invs, "publish"),
            spread(invs, "route53"),
            if other.is_empty() { "–".to_string() } else { other }
        )?;
    }
    writeln!(out)?;
    if c.invocations.is_empty() || c.invocations.iter().all(|i| i.calls.is_empty()) {
        bail!("no AWS call was counted: the proxy saw nothing");
    }

    let signals: Vec<&Invocation> = c
        .invocations
        .iter()
        .filter(|i| matches!(i.function.as_str(), "alarm-ingest" | "mirror-events" | "health-poll"))
        .collect();
    let common: Vec<&&Invocation> = signals.iter().filter(|i| !i.transition).collect();
    // A health-poll run handles several signals (a tick per mirror, each observer's
    // answers): its calls are shared among them.
    let per_signal = |i: &Invocation, what: &str| f64::from(count(i, what)) / f64::from(i.signals.max(1));
    let max = |invs: &[&&Invocation], what: &str| invs.iter().map(|i| per_signal(i, what)).fold(0.0, f64::max);
    let handled: u32 = common.iter().map(|i| i.signals.max(1)).sum();
    verdicts.push(Verdict {
        target: "at most one table read and one conditional write per signal in the common case (no transition)".into(),
        measured: format!(
            "at most {:.2} read(s), {:.2} write(s) per signal in {} invocations ({handled} signals)",
            max(&common, "read"),
            max(&common, "write"),
            common.len()
        ),
        ok: max(&common, "read") <= 1.0 && max(&common, "write") <= 1.0,
    });
    let stray: Vec<&Invocation> = c
        .invocations
        .iter()
        .filter(|i| !i.transition && count(i, "publish") > 0)
        .collect();
    verdicts.push(Verdict {
        target: "SNS only on transitions".into(),
        measured: if stray.is_empty() {
            format!(
                "{} publishes, all on transitions",
                c.invocations.iter().map(|i| count(i, "publish")).sum::<u32>()
            )
        } else {
            format!(
                "{} invocations without a transition published: {}",
                stray.len(),
                stray.iter().map(|i| i.signal.as_str()).collect::<Vec<_>>().join(", ")
            )
        },
        ok: stray.is_empty(),
    });
    let route53: Vec<&Invocation> = c
        .invocations
        .iter()
        .filter(|i| i.function != "health-poll" && count(i, "route53") > 0)
        .collect();
    verdicts.push(Verdict {
        target: "no Route 53 call outside the scheduled function (health-poll)".into(),
        measured: format!(
            "{} Route 53 calls from health-poll, {} from the others",
            c.invocations
                .iter()
                .filter(|i| i.function == "health-poll")
                .map(|i| count(i, "route53"))
                .sum::<u32>(),
            route53.iter().map(|i| count(i, "route53")).sum::<u32>()
        ),
        ok: route53.is_empty(),
    });
    Ok(())
}
