//! The operator's commands on `--backend aws`, against the local emulator (moto
//! server, `eval "$(scripts/emulator up)"`): a decision from the terminal is
//! recorded with the caller's AWS identity as sts:GetCallerIdentity answers it,
//! and maintenance, history and requests read and write the DynamoDB table.
//! Each test runs on a mirror of its own (the example topology renamed), so tests
//! and other runs share the emulator's table safely. Without the emulator these
//! tests fail and say how to start it; they refuse any endpoint but a loopback one.
//!
//! The drill, switchover and failback tests read the SSM commands back from the
//! emulator (ListCommands, in the region each was sent to). A promotion first asks
//! SSM whether the candidate's agent is Online (DescribeInstanceInformation), which
//! moto lacks: those tests start `scripts/ssm-agents-online.py` (with the project's
//! .venv, as scripts/test does) and point the command's SSM at it.

#![cfg(feature = "aws")]

use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use support::{
    healthy_scenario, json_lines, mirrorgate, pending_scenario, root, stderr, stdout, switched_over_scenario,
    topology_named, BIN,
};

const HOW: &str = "start the emulator first: eval \"$(scripts/emulator up)\" (scripts/test does it)";

fn emulator() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| panic!("AWS_ENDPOINT_URL is not set: {HOW}"));
    let host = endpoint.trim_start_matches("http://");
    assert!(
        endpoint.starts_with("http://") && (host.starts_with("127.") || host.starts_with("localhost")),
        "AWS_ENDPOINT_URL={endpoint} is not a local emulator: {HOW}"
    );
    endpoint
}

/// A mirror name no other test or run uses.
fn unique_mirror() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("T{:X}{:X}", nanos & 0xFFFF_FFFF_FFFF, std::process::id())
}

/// `mirrorgate --backend aws ARGS --topology TOPOLOGY`.
fn aws(topology: &Path, args: &[&str]) -> std::process::Output {
    emulator();
    let mut all = vec!["--backend", "aws"];
    all.extend_from_slice(args);
    let topology = topology.display().to_string();
    all.extend_from_slice(&["--topology", &topology]);
    mirrorgate(&all)
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// What the emulator's STS says the caller is, asked with the SDK directly.
fn caller_arn() -> String {
    emulator();
    block_on(async {
        let deps = shared::adapters::aws::Deps::from_env()
            .await
            .unwrap_or_else(|e| panic!("{e}: {HOW}"));
        aws_sdk_sts::Client::new(&deps.config)
            .get_caller_identity()
            .send()
            .await
            .expect("the emulator answers GetCallerIdentity")
            .arn()
            .expect("an ARN")
            .to_string()
    })
}

/// A mirror of its own with an open request (<mirror>-R1, DR1) in the table.
fn pending(dir: &Path) -> (String, std::path::PathBuf) {
    let mirror = unique_mirror();
    let topology = topology_named(dir, &mirror);
    let scenario = pending_scenario(dir, &mirror);
    let out = aws(&topology, &["replay", "--json", &scenario.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    (mirror, topology)
}

#[test]
fn an_approval_from_the_terminal_is_recorded_with_the_callers_aws_identity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mirror, topology) = pending(dir.path());
    let request = format!("{mirror}-R1");
    let open = json_lines(&aws(&topology, &["requests", "--open", "--json"]));
    assert!(open.iter().any(|r| r["id"] == request.as_str()), "{open:#?}");

    // A typed name is refused on AWS: the identity comes from STS.
    let out = aws(&topology, &["approve", &request, "--by", "Dana Whitfield"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("AWS identity"), "{}", stderr(&out));

    // WHEN approved from the terminal (the candidate's SSM agent answers Online)
    let ssm = AgentsOnline::start();
    let out = ssm.aws(&topology, &["approve", &request, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let effects = json_lines(&out);
    assert!(
        effects
            .iter()
            .any(|e| e["effect"] == "decision" && e["outcome"] == "approved"),
        "{effects:#?}"
    );
    assert!(
        effects
            .iter()
            .any(|e| e["effect"] == "transition" && e["to"] == "promoting"),
        "{effects:#?}"
    );
    // THEN the table's record of the decision names the caller as STS does
    let arn = caller_arn();
    assert!(arn.starts_with("arn:aws:"), "{arn}");
    let requests = json_lines(&aws(&topology, &["requests", "--json"]));
    let decided = requests
        .iter()
        .find(|r| r["id"] == request.as_str())
        .expect("the request");
    assert_eq!(decided["decisions"][0]["by"], arn.as_str());
    assert_eq!(decided["decisions"][0]["via"], "aws_identity");
    let history = stdout(&aws(&topology, &["history", &mirror]));
    assert!(history.contains(&format!("{arn} approved {request}")), "{history}");
}

#[test]
fn a_rejection_from_the_terminal_is_recorded_with_the_callers_aws_identity() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mirror, topology) = pending(dir.path());
    let request = format!("{mirror}-R1");
    let out = aws(&topology, &["reject", &request]);
    assert!(out.status.success(), "{}", stderr(&out));
    let requests = json_lines(&aws(&topology, &["requests", "--json"]));
    let decided = requests
        .iter()
        .find(|r| r["id"] == request.as_str())
        .expect("the request");
    assert_eq!(decided["status"], "rejected");
    assert_eq!(decided["decisions"][0]["by"], caller_arn().as_str());
}

#[test]
fn maintenance_is_kept_in_the_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mirror = unique_mirror();
    let topology = topology_named(dir.path(), &mirror);
    let out = aws(
        &topology,
        &[
            "maintenance",
            "start",
            &mirror,
            "--for",
            "90m",
            "--reason",
            "OS patching",
            "--by",
            "Ravi Patel",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let status: serde_json::Value =
        serde_json::from_str(&stdout(&aws(&topology, &["status", "--json"]))).expect("status JSON");
    assert_eq!(status["mirrors"][0]["maintenance"]["reason"], "OS patching");
    let out = aws(&topology, &["maintenance", "end", &mirror, "--by", "Ravi Patel"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let history = stdout(&aws(&topology, &["history", &mirror]));
    assert!(
        history.contains("maintenance started by Ravi Patel: OS patching"),
        "{history}"
    );
    assert!(history.contains("ended early by Ravi Patel"), "{history}");
}

/// The stand-in for SSM of scripts/ssm-agents-online.py: every asked agent Online,
/// every other call passed on to the emulator. Stopped when dropped.
struct AgentsOnline {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

impl AgentsOnline {
    fn start() -> AgentsOnline {
        let emulator = emulator();
        let python = root().join(".venv/bin/python");
        assert!(python.exists(), "{} is missing: {HOW}", python.display());
        let dir = tempfile::tempdir().expect("temp dir");
        let port_file = dir.path().join("ssm-port");
        let mut child = Command::new(&python)
            .arg(root().join("scripts/ssm-agents-online.py"))
            .arg(&emulator)
            .arg(&port_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("the SSM stand-in starts");
        // It binds a free port of 127.0.0.1 and writes it to the file.
        for _ in 0..100 {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse::<u16>().ok())
            {
                return AgentsOnline {
                    child,
                    endpoint: format!("http://127.0.0.1:{port}"),
                    _dir: dir,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the SSM stand-in exited: {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the SSM stand-in wrote no port within 10 s");
    }

    /// `mirrorgate --backend aws ARGS --topology TOPOLOGY` with its SSM calls through
    /// the stand-in.
    fn aws(&self, topology: &Path, args: &[&str]) -> Output {
        Command::new(BIN)
            .current_dir(root())
            .args(["--backend", "aws"])
            .args(args)
            .arg("--topology")
            .arg(topology)
            .env("AWS_ENDPOINT_URL_SSM", &self.endpoint)
            .output()
            .expect("mirrorgate runs")
    }
}

impl Drop for AgentsOnline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One SSM command as the emulator recorded it.
#[derive(Debug)]
struct SentCommand {
    document: String,
    instances: Vec<String>,
    comment: String,
    parameters: BTreeMap<String, Vec<String>>,
    /// RequestedDateTime: seconds and nanoseconds.
    requested: (i64, u32),
}

impl SentCommand {
    fn parameter(&self, name: &str) -> &str {
        match self.parameters.get(name).map(Vec::as_slice) {
            Some([one]) => one,
            other => panic!("parameter {name}: {other:?} in {self:#?}"),
        }
    }
}

/// The SSM commands sent for `mirror` in `region`, oldest first: those whose comment
/// names it (mirrorgate's comments start "mirrorgate <mirror> request"; the example
/// topology's instances are shared by every test's mirror).
fn commands_sent(region: &str, mirror: &str) -> Vec<SentCommand> {
    emulator();
    let prefix = format!("mirrorgate {mirror} request ");
    block_on(async {
        let deps = shared::adapters::aws::Deps::from_env()
            .await
            .unwrap_or_else(|e| panic!("{e}: {HOW}"));
        let config = deps
            .config
            .to_builder()
            .region(aws_sdk_sts::config::Region::new(region.to_string()))
            .build();
        let regional = shared::adapters::aws::Deps::new(config, deps.names.clone());
        let mut pages = regional.ssm.list_commands().into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.expect("ListCommands");
            for c in page.commands() {
                let comment = c.comment().unwrap_or_default();
                if !comment.starts_with(&prefix) {
                    continue;
                }
                out.push(SentCommand {
                    document: c.document_name().unwrap_or_default().to_string(),
                    instances: c.instance_ids().to_vec(),
                    comment: comment.to_string(),
                    parameters: c
                        .parameters()
                        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default(),
                    requested: c
                        .requested_date_time()
                        .map(|t| (t.secs(), t.subsec_nanos()))
                        .unwrap_or_default(),
                });
            }
        }
        out.sort_by_key(|c| c.requested);
        out
    })
}

/// The mirror as `status --json` shows it.
fn mirror_status(topology: &Path) -> serde_json::Value {
    let out = aws(topology, &["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("status JSON");
    status["mirrors"][0].clone()
}

/// The request as `requests --json` lists it.
fn request(topology: &Path, id: &str) -> serde_json::Value {
    json_lines(&aws(topology, &["requests", "--json"]))
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not listed"))
}

/// The instances of the example topology (topology_named keeps them).
const DR1_INSTANCE: &str = "i-0ddddddddddddddd4";
const A_INSTANCE: &str = "i-0aaaaaaaaaaaaaaa1";
const B_INSTANCE: &str = "i-0bbbbbbbbbbbbbbb2";

/// A mirror of its own, healthy (A primary, DR1 1.8 s behind), in the table.
fn healthy(dir: &Path) -> (String, PathBuf) {
    let mirror = unique_mirror();
    let topology = topology_named(dir, &mirror);
    let scenario = healthy_scenario(dir, &mirror);
    let out = aws(&topology, &["replay", "--json", &scenario.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    (mirror, topology)
}

#[test]
fn a_drill_is_approved_with_the_callers_aws_identity_runs_the_drill_document_and_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mirror, topology) = healthy(dir.path());
    let drill = format!("{mirror}-R1");
    let arn = caller_arn();

    // WHEN a drill is started
    let out = aws(&topology, &["drill", &mirror, "--by", "Ravi Patel"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains(&format!(
            "{mirror}: DRILL {drill} sent to the approvers (would promote {mirror}-DR1)"
        )),
        "{said}"
    );
    assert!(
        !said.contains("not delivered"),
        "the alert went out through SNS: {said}"
    );
    // THEN the table holds an open drill request
    let open = json_lines(&aws(&topology, &["requests", "--open", "--json"]));
    let listed = open
        .iter()
        .find(|r| r["id"] == drill.as_str())
        .expect("the drill is open");
    assert_eq!(
        (listed["kind"].as_str(), listed["candidate"].as_str()),
        (Some("drill"), Some(format!("{mirror}-DR1").as_str()))
    );

    // WHEN it is approved from the terminal, without a typed name
    let out = aws(&topology, &["approve", &drill]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("{drill}: DRILL approved by {arn}; {mirror}-DR1 NOT promoted")),
        "{}",
        stdout(&out)
    );
    // THEN the drill document ran on DR1, in its region, and nothing else was sent
    let sent = commands_sent("us-west-2", &mirror);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let command = &sent[0];
    assert_eq!(command.document, "HSPROD-DrillDrAsync");
    assert_eq!(command.instances, [DR1_INSTANCE]);
    assert_eq!(command.parameter("MirrorName"), mirror);
    assert_eq!(command.parameter("InstanceName"), "IRIS");
    assert_eq!(command.parameter("Request"), drill);
    // The checks use the ISCAgents a promotion would try (the site's FailoverAgents).
    assert!(command.parameter("FailoverAgents").contains(":2188"), "{command:#?}");
    assert_eq!(command.parameters.len(), 4, "{command:#?}");
    assert_eq!(
        command.comment,
        format!("mirrorgate {mirror} request {drill} epoch 1: DRILL on {mirror}-DR1")
    );
    assert!(commands_sent("us-east-1", &mirror).is_empty());
    // and the mirror is as it was
    let status = mirror_status(&topology);
    assert_eq!(
        (
            status["phase"].as_str(),
            status["epoch"].as_u64(),
            status["primary"].as_str()
        ),
        (Some("normal"), Some(1), Some(format!("{mirror}-A").as_str()))
    );

    // AND the report gives the times, the decision by the caller's ARN, and what would
    // have been promoted with its estimated loss
    let out = aws(&topology, &["drill-report", &drill]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = stdout(&out);
    assert!(md.starts_with(&format!("# DRILL report: {mirror} {drill}")), "{md}");
    assert!(md.contains("Started by: Ravi Patel"), "{md}");
    assert!(md.contains("| Alert sent |"), "{md}");
    assert!(
        md.contains(&format!("| Decision: approved by {arn} (via aws_identity) |")),
        "{md}"
    );
    assert!(md.contains(&format!("Would have promoted: {mirror}-DR1")), "{md}");
    assert!(md.contains("Estimated loss: "), "{md}");
    let out = aws(&topology, &["drill-report", &drill, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = &json_lines(&out)[0];
    assert_eq!(report["mirror"], mirror.as_str());
    assert_eq!(report["status"], "succeeded");
    assert_eq!(report["would_promote"], format!("{mirror}-DR1"));
    assert_eq!(report["estimated_loss"]["seconds"], 1.8);
    assert_eq!(report["decisions"][0]["by"], arn.as_str());
    assert_eq!(report["decisions"][0]["via"], "aws_identity");
    assert_eq!(report["decisions"][0]["action"], "approve");
    let alert_sent = support::parse_time(report["alert_sent"].as_str().expect("alert_sent"));
    let decided = support::parse_time(report["decisions"][0]["at"].as_str().expect("decision time"));
    assert!(alert_sent <= decided, "{report:#}");
    assert_eq!(
        report["seconds_to_decision"].as_i64(),
        Some((decided - alert_sent).num_seconds())
    );
    assert_eq!(
        report["link_opened"],
        serde_json::Value::Null,
        "decided from the terminal"
    );
}

#[test]
fn a_drill_without_a_drill_document_sends_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mirror, topology) = healthy(dir.path());
    // The same mirror, its topology without promotion.drill_document.
    let text = std::fs::read_to_string(&topology).expect("topology");
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("drill_document"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(without, text, "the example topology has a drill document");
    std::fs::write(&topology, without).expect("write the topology");
    let drill = format!("{mirror}-R1");

    let out = aws(&topology, &["drill", &mirror, "--by", "Ravi Patel"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = aws(&topology, &["approve", &drill]);
    assert!(out.status.success(), "{}", stderr(&out));
    // THEN no SSM command at all, and the drill is over
    assert!(commands_sent("us-west-2", &mirror).is_empty());
    assert!(commands_sent("us-east-1", &mirror).is_empty());
    let report = &json_lines(&aws(&topology, &["drill-report", &drill, "--json"]))[0];
    assert_eq!(report["status"], "succeeded");
    assert!(
        report["outcome"]
            .as_str()
            .is_some_and(|o| o.contains("no drill document, nothing run")),
        "{report:#}"
    );
    assert_eq!(mirror_status(&topology)["phase"], "normal");
}

#[test]
fn an_approved_switchover_sends_the_promote_document_with_partner_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mirror, topology) = healthy(dir.path());
    let switchover = format!("{mirror}-R1");
    let ssm = AgentsOnline::start();

    // A switchover to a failover member is refused, changing nothing.
    let out = aws(
        &topology,
        &[
            "switchover",
            &mirror,
            "--to",
            &format!("{mirror}-B"),
            "--by",
            "Ravi Patel",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("{mirror}-B is not a DR async member")),
        "{}",
        stderr(&out)
    );
    // WHEN a switchover to DR1 is asked
    let out = aws(
        &topology,
        &[
            "switchover",
            &mirror,
            "--to",
            &format!("{mirror}-DR1"),
            "--by",
            "Ravi Patel",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "{mirror}: switchover {switchover} to {mirror}-DR1 sent to the approvers"
        )),
        "{}",
        stdout(&out)
    );
    let asked = request(&topology, &switchover);
    assert_eq!(
        (asked["kind"].as_str(), asked["status"].as_str()),
        (Some("switchover"), Some("open"))
    );

    // WHEN it is approved from the terminal (A and B were heard from seconds ago)
    let out = ssm.aws(&topology, &["approve", &switchover, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let effects = json_lines(&out);
    let executed = effects
        .iter()
        .find(|e| e["effect"] == "promotion_executed")
        .unwrap_or_else(|| panic!("{effects:#?}"));
    assert_eq!(executed["candidate"], format!("{mirror}-DR1"));
    // THEN the promote document went to DR1, with partner only
    let sent = commands_sent("us-west-2", &mirror);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    let command = &sent[0];
    assert_eq!(command.document, "HSPROD-PromoteDrAsync");
    assert_eq!(command.instances, [DR1_INSTANCE]);
    assert_eq!(command.parameter("AllowNoPartner"), "false");
    assert_eq!(command.parameter("MirrorName"), mirror);
    assert_eq!(command.parameter("InstanceName"), "IRIS");
    assert_eq!(command.parameter("Request"), switchover);
    assert_eq!(
        command.comment,
        format!("mirrorgate {mirror} request {switchover} epoch 1: promote {mirror}-DR1")
    );
    assert!(
        executed["detail"]
            .as_str()
            .is_some_and(|d| d.contains("HSPROD-PromoteDrAsync")),
        "{executed:#}"
    );
    assert!(
        commands_sent("us-east-1", &mirror).is_empty(),
        "nothing fenced before DR1 is primary"
    );
    // and the decision is the caller's; nothing changes before DR1 reports primary
    let decided = request(&topology, &switchover);
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["decisions"][0]["by"], caller_arn().as_str());
    assert_eq!(mirror_status(&topology)["phase"], "normal");
}

#[test]
fn an_approved_failback_unfences_the_fenced_members_then_promotes_with_partner() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mirror = unique_mirror();
    let topology = topology_named(dir.path(), &mirror);
    let ssm = AgentsOnline::start();
    // GIVEN a switchover to DR1 done, and A and B fenced after it
    let scenario = switched_over_scenario(dir.path(), &mirror);
    let out = ssm.aws(&topology, &["replay", "--json", &scenario.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = mirror_status(&topology);
    assert_eq!(
        (status["phase"].as_str(), status["primary"].as_str()),
        (Some("dr_active"), Some(format!("{mirror}-DR1").as_str()))
    );
    let fenced = |status: &serde_json::Value| -> Vec<String> {
        status["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter(|m| !m["fenced"].is_null())
            .map(|m| m["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(fenced(&status), [format!("{mirror}-A"), format!("{mirror}-B")]);
    let before = commands_sent("us-east-1", &mirror);
    assert_eq!(
        before.iter().map(|c| c.parameter("Method")).collect::<Vec<_>>(),
        ["demote", "demote"],
        "{before:#?}"
    );

    // WHEN a failback to A is asked
    let failback = format!("{mirror}-R3");
    let out = aws(
        &topology,
        &[
            "failback",
            &mirror,
            "--to",
            &format!("{mirror}-A"),
            "--by",
            "Ravi Patel",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "{mirror}: failback {failback} to {mirror}-A sent to the approvers"
        )),
        "{}",
        stdout(&out)
    );
    let asked = request(&topology, &failback);
    assert_eq!(
        (
            asked["kind"].as_str(),
            asked["status"].as_str(),
            asked["candidate"].as_str()
        ),
        (Some("failback"), Some("open"), Some(format!("{mirror}-A").as_str()))
    );

    // WHEN it is approved from the terminal (DR1 was heard from seconds ago)
    let out = ssm.aws(&topology, &["approve", &failback, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let effects = json_lines(&out);
    assert!(
        effects
            .iter()
            .any(|e| e["effect"] == "promotion_executed" && e["candidate"] == format!("{mirror}-A")),
        "{effects:#?}"
    );
    // THEN the fence document ran with Method=unfence on A and B, in their region
    let east = commands_sent("us-east-1", &mirror);
    let unfenced: Vec<&SentCommand> = east
        .iter()
        .filter(|c| c.document == "HSPROD-FenceMember" && c.parameter("Request") == failback)
        .collect();
    assert_eq!(unfenced.len(), 2, "{east:#?}");
    for (command, (member, instance)) in unfenced.iter().zip([("A", A_INSTANCE), ("B", B_INSTANCE)]) {
        assert_eq!(command.document, "HSPROD-FenceMember");
        assert_eq!(command.instances, [instance]);
        assert_eq!(command.parameter("Method"), "unfence");
        assert_eq!(command.parameter("MirrorName"), mirror);
        assert_eq!(command.parameter("InstanceName"), "IRIS");
        assert_eq!(
            command.comment,
            format!("mirrorgate {mirror} request {failback} epoch 2: unfence {mirror}-{member}")
        );
    }
    // and then the promote document on A, in A's region (SSM manages an instance in
    // its own region only), with partner only, as a failback: nothing in mirrorgate's.
    let promoted: Vec<SentCommand> = commands_sent("us-east-1", &mirror)
        .into_iter()
        .filter(|c| c.document == "HSPROD-PromoteDrAsync" && c.parameter("Request") == failback)
        .collect();
    assert_eq!(promoted.len(), 1, "{promoted:#?}");
    assert!(
        !commands_sent("us-west-2", &mirror)
            .iter()
            .any(|c| c.parameter("Request") == failback),
        "nothing of the failback is sent in mirrorgate's own region"
    );
    let promote = &promoted[0];
    assert_eq!(promote.instances, [A_INSTANCE]);
    assert_eq!(promote.parameter("AllowNoPartner"), "false");
    assert_eq!(promote.parameter("Purpose"), "failback");
    assert_eq!(promote.parameter("MirrorName"), mirror);
    assert_eq!(
        promote.comment,
        format!("mirrorgate {mirror} request {failback} epoch 2: promote {mirror}-A")
    );
    assert!(
        unfenced.iter().all(|u| u.requested <= promote.requested),
        "un-fenced before the promotion: {unfenced:#?} {promote:#?}"
    );
    // and the decision is the caller's; A and B are no longer shown fenced, and DR1
    // stays primary until A reports primary
    let decided = request(&topology, &failback);
    assert_eq!(decided["status"], "approved");
    assert_eq!(decided["decisions"][0]["by"], caller_arn().as_str());
    let status = mirror_status(&topology);
    assert!(fenced(&status).is_empty(), "{status:#}");
    assert_eq!(status["phase"], "dr_active");
}

/// GIVEN an open request WHEN it is approved from the terminal and the promotion
/// fails at once (here: nothing says the candidate's SSM agent is Online, since the
/// emulator cannot answer DescribeInstanceInformation) THEN `approve` exits non-zero
/// and says that it failed and why: never "promoting" as if all went well.
#[test]
fn an_approval_whose_promotion_fails_at_once_exits_non_zero_and_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mirror, topology) = pending(dir.path());
    let id = format!("{mirror}-R1");
    let out = aws(&topology, &["approve", &id]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let said = stderr(&out);
    assert!(said.contains(&format!("{id}: approved, but it FAILED")), "{said}");
    assert!(said.contains("Online"), "{said}");
    // the alerts are printed as they went out; the closing summary is not "promoting"
    assert!(
        !stdout(&out).contains(&format!("{id}: approved by")),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("promotion_failed"), "{}", stdout(&out));
    assert_eq!(request(&topology, &id)["status"], "failed");
}
