//! The operator's commands on `--backend aws`, against the local emulator (moto
//! server, `eval "$(scripts/emulator up)"`): a decision from the terminal is
//! recorded with the caller's AWS identity as sts:GetCallerIdentity answers it,
//! and maintenance, history and requests read and write the DynamoDB table.
//! Each test runs on a mirror of its own (the example topology renamed), so tests
//! and other runs share the emulator's table safely. Without the emulator these
//! tests fail and say how to start it; they refuse any endpoint but a loopback one.

#![cfg(feature = "aws")]

mod support;

use std::path::Path;

use support::{json_lines, mirrorgate, pending_scenario, stderr, stdout, topology_named};

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

/// What the emulator's STS says the caller is, asked with the SDK directly.
fn caller_arn() -> String {
    emulator();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
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

    // WHEN approved from the terminal
    let out = aws(&topology, &["approve", &request, "--json"]);
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
