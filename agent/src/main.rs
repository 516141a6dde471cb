//! `mirrorgate-agent`: see `mirrorgate-agent --help` and docs/events.md §5.3.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agent::config::{Config, DEFAULT_CONFIG};
use agent::event::{Event, Kind};
use agent::iris::{self, Answer};
use clap::Parser;

const ABOUT: &str = "mirrorgate's host agent: tells mirrorgate what IRIS says about this mirror member.

Every round it runs `iris session INSTANCE -U %SYS Report^ZMIRRORGATE` (Caché: `csession ...`),
reads the one line the routine prints (status, member type, journal transfer latency), and sends a
`Mirror Member Heartbeat` event (source mirrorgate.iris) to EventBridge in mirrorgate's region, with
the event's time set to when it observed. When IRIS cannot be asked (no `iris` on PATH, a login
prompt or a refused login, no answer within iris_timeout_secs, a non-zero exit, output it does not
understand) the event says status Unknown with the reason: the agent never reports a member Down
that it could not ask. Install the routines of iris/ on every member first (iris/README.md).";

const AFTER: &str = "Configuration file (TOML; unknown keys are refused):

  mirror            = \"HSPROD\"       the mirror's name, as in mirrorgate's topology
  member            = \"HSPROD-DR1\"   this member's name, as in the topology
  instance          = \"IRIS\"         the instance name (`iris list`)
  product           = \"iris\"         \"iris\" (iris session) or \"cache\" (csession), found on PATH
  region            = \"us-west-2\"    the region where mirrorgate runs (not the host's)
  event_bus         = \"default\"      the bus mirrorgate's rule listens on, in that region
  interval_secs     = 60             seconds between heartbeats (10-3600)
  iris_timeout_secs = 20             seconds to wait for IRIS (1-300, less than interval_secs)
  state_file        = \"/var/lib/mirrorgate-agent/state.json\"
                                     when this async was last Connected (sent as received_at
                                     once it has lost its link)

AWS credentials, and AWS_ENDPOINT_URL if set, come from the standard AWS chain (the instance
profile on EC2). The agent needs events:PutEvents on the bus, and events:DescribeEventBus for --check.

Output of --dry-run: one JSON object per line, exactly as EventBridge delivers the event to a
rule's target (version, id, detail-type, source, account, time, region, resources, detail; account
is 000000000000, since a dry run does not ask AWS who it is). Post a line as it is to
`mirrorgate serve`'s POST /events; with --scenario each line is {\"at\": TIME, \"event\": EVENT},
a line of a `mirrorgate replay` scenario.

Examples:
  mirrorgate-agent --check                     is everything in place? (exit 1 if not)
  mirrorgate-agent --once --dry-run            what would be sent now
  mirrorgate-agent --once --event status       a role change, from NotifyBecomePrimary^ZMIRROR
  mirrorgate-agent                             a heartbeat every interval_secs (the systemd service)

Exit status: 0 when the events were sent (an Unknown status included: the agent did its job), 1
when sending failed or --check found a problem, 2 when the configuration cannot be used.";

#[derive(Parser, Debug)]
#[command(name = "mirrorgate-agent", version, about = ABOUT, after_help = AFTER)]
struct Args {
    /// The configuration file.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    /// Run one round and exit (otherwise: a round every interval_secs until stopped).
    #[arg(long)]
    once: bool,
    /// Print each event as one JSON line instead of sending it (nothing is sent to AWS).
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: print each event as a `mirrorgate replay` scenario line.
    #[arg(long, requires = "dry_run")]
    scenario: bool,
    /// Which event to send: a periodic heartbeat, or a status change (from ^ZMIRROR).
    #[arg(long, value_enum, value_name = "KIND", default_value = "heartbeat")]
    event: Kind,
    /// Check the configuration, that IRIS can be asked without a login prompt, and that
    /// the event bus is reachable; say what to fix. Sends nothing. Exit 1 on any problem.
    #[arg(long, conflicts_with_all = ["once", "dry_run"])]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mirrorgate-agent: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mirrorgate-agent: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.check {
        return runtime.block_on(check(&args, &config));
    }
    runtime.block_on(run(&args, config))
}

async fn run(args: &Args, config: Config) -> ExitCode {
    let client = if args.dry_run {
        None
    } else {
        Some(agent::aws::client(&config).await)
    };
    let mut interval = tokio::time::interval(Duration::from_secs(config.interval_secs));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop = std::pin::pin!(shutdown());
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => return ExitCode::SUCCESS,
            _ = interval.tick() => {}
        }
        let round = {
            let config = config.clone();
            let kind = args.event;
            tokio::task::spawn_blocking(move || agent::observe(&config, kind))
        };
        let ok = match round.await {
            Ok((event, warning)) => {
                if let Some(w) = warning {
                    eprintln!("mirrorgate-agent: warning: {w}");
                }
                deliver(args, &config, client.as_ref(), &event).await
            }
            Err(e) => {
                eprintln!("mirrorgate-agent: the round failed: {e}");
                false
            }
        };
        if args.once {
            return if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE };
        }
    }
}

async fn deliver(args: &Args, config: &Config, client: Option<&aws_sdk_eventbridge::Client>, event: &Event) -> bool {
    let d = &event.detail;
    let said = match &d.reason {
        Some(reason) => format!("{} ({reason})", d.status),
        None => d.status.clone(),
    };
    match client {
        None => {
            println!("{}", event.json_line(&config.region, args.scenario));
            true
        }
        Some(client) => match agent::aws::put(client, config, event).await {
            Ok(id) => {
                eprintln!(
                    "mirrorgate-agent: sent {} {}/{}: {said}; event id {id}",
                    event.kind.detail_type(),
                    d.mirror,
                    d.member
                );
                true
            }
            Err(e) => {
                eprintln!(
                    "mirrorgate-agent: could not send {} {}/{} ({said}): {e}",
                    event.kind.detail_type(),
                    d.mirror,
                    d.member
                );
                false
            }
        },
    }
}

/// Resolves on SIGTERM (systemd stopping the service) or SIGINT.
async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending::<()>().await,
    }
}

async fn check(args: &Args, config: &Config) -> ExitCode {
    let mut problems = 0;
    println!(
        "ok   configuration {}: mirror {}, member {}, {} instance {}, bus {:?} in {}",
        args.config.display(),
        config.mirror,
        config.member,
        config.product.session_words(),
        config.instance,
        config.event_bus,
        config.region
    );
    let words = config.product.session_words();
    let answer = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || iris::ask(&config))
            .await
            .unwrap_or_else(|e| Answer::Failed(format!("the check failed: {e}")))
    };
    match &answer {
        Answer::Failed(reason) => {
            problems += 1;
            println!("FAIL IRIS: {reason}");
            println!("     fix: {}", iris_fix(reason, config));
        }
        Answer::Reading(r) => {
            let (status, reason) = agent::event::status_of(&answer);
            println!(
                "ok   IRIS: `{words}` logged in without a prompt (OS authentication); ^ZMIRRORGATE says mirror {:?}, \
                 status {}{}, member type {:?}, journal transfer latency {}",
                r.mirror,
                status.as_str(),
                reason.map(|x| format!(" ({x})")).unwrap_or_default(),
                r.member_type,
                r.latency_secs.map_or("not reported".to_string(), |s| format!("{s} s"))
            );
            if !r.mirror.is_empty() && !r.mirror.eq_ignore_ascii_case(&config.mirror) {
                problems += 1;
                println!(
                    "FAIL IRIS says this member is in mirror {:?}, the configuration says {:?}",
                    r.mirror, config.mirror
                );
                println!(
                    "     fix: set `mirror` in {} to the mirror's name in the topology",
                    args.config.display()
                );
            }
        }
    }
    let client = agent::aws::client(config).await;
    match agent::aws::check_bus(&client, config).await {
        Ok(arn) => println!("ok   EventBridge: bus {arn} is reachable"),
        Err(e) => {
            problems += 1;
            println!("FAIL EventBridge: {e}");
            println!(
                "     fix: check the host's credentials (instance profile), `region` ({}) and `event_bus` ({:?}); the \
                 agent needs events:PutEvents and events:DescribeEventBus on that bus, and HTTPS to EventBridge in {}",
                config.region, config.event_bus, config.region
            );
        }
    }
    let state_dir = config.state_file.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    match std::fs::create_dir_all(&state_dir).and_then(|_| tempfile_in(&state_dir)) {
        Ok(()) => println!(
            "ok   state file {}: its directory is writable",
            config.state_file.display()
        ),
        Err(e) => {
            problems += 1;
            println!("FAIL state file {}: {e}", config.state_file.display());
            println!(
                "     fix: create {} writable by the agent's user (the systemd unit's StateDirectory does), or set \
                 `state_file`",
                state_dir.display()
            );
        }
    }
    if problems == 0 {
        println!("all checks passed");
        ExitCode::SUCCESS
    } else {
        println!("{problems} problem(s)");
        ExitCode::FAILURE
    }
}

fn tempfile_in(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".mirrorgate-agent-check-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

fn iris_fix(reason: &str, config: &Config) -> String {
    let command = config.product.command();
    if reason.contains("not found on the agent's PATH") {
        format!(
            "put the directory of `{command}` (e.g. /usr/irissys/bin) on the agent's PATH (the systemd unit's \
             Environment=PATH=...)"
        )
    } else if reason.contains("asked for a user name") || reason.contains("Access Denied") {
        "enable OS authentication (Security > System Security > Authentication/Web Session Options, and \
         %Service_Terminal) and give the agent's OS user an IRIS user of the same name with the mirrorgate role \
         (iris/README.md)"
            .to_string()
    } else if reason.contains("MIRRORGATE line") || reason.contains("does not understand") {
        "load iris/ZMIRRORGATE.mac into %SYS on this member (iris/README.md); %SYS routines are not mirrored"
            .to_string()
    } else if reason.contains("gave no answer") {
        format!(
            "check that instance {:?} is running (`iris list`); raise iris_timeout_secs if it is only slow",
            config.instance
        )
    } else {
        format!(
            "run `{}` by hand as the agent's user and read what it says",
            iris::session_args(config.product, &config.instance)
                .into_iter()
                .fold(command.to_string(), |a, b| format!("{a} {b}"))
        )
    }
}
