//! The SSM documents in ssm/ against what mirrorgate sends them: every parameter the
//! executor sets (for the example topology) is declared, every required one is set,
//! every value is allowed; the shell inside them passes shellcheck; and the promote
//! script, run against a fake `iris` on PATH, does what its first line says.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use shared::domain::Mirror;
use shared::topology::{
    drill_parameters, fence_parameters, promote_parameters, PromotePurpose, Topology, FENCE_PARAMETERS,
    PROMOTE_PARAMETERS, SHARED_SITE_PARAMETERS,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn document(name: &str) -> Value {
    let path = root().join("ssm").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hsprod() -> Mirror {
    let topology = Topology::load(&root().join("examples/topology.toml")).expect("the example topology is valid");
    topology.mirror("HSPROD").cloned().expect("HSPROD")
}

/// Checks `sent` against the document's parameters; returns every parameter's value
/// as the command would run (sent, or the default).
fn check(name: &str, doc: &Value, sent: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, String> {
    assert_eq!(doc["schemaVersion"], "2.2", "{name}");
    let steps = doc["mainSteps"].as_array().expect("mainSteps");
    assert_eq!(steps.len(), 1, "{name}: one step");
    assert_eq!(steps[0]["action"], "aws:runShellScript", "{name}");
    let declared = doc["parameters"].as_object().expect("parameters");
    let mut values = BTreeMap::new();
    for (key, value) in sent {
        let Some(spec) = declared.get(key) else {
            panic!("{name}: mirrorgate sends {key}, which the document does not declare");
        };
        assert_eq!(spec["type"], "String", "{name}: {key}");
        assert_eq!(value.len(), 1, "{name}: {key} is one string");
        let v = &value[0];
        if let Some(allowed) = spec["allowedValues"].as_array() {
            assert!(
                allowed.iter().any(|a| a == v.as_str()),
                "{name}: {key}={v:?} is not in {allowed:?}"
            );
        }
        if let Some(pattern) = spec["allowedPattern"].as_str() {
            let re = regex_lite::Regex::new(pattern).expect("a valid pattern");
            assert!(re.is_match(v), "{name}: {key}={v:?} does not match {pattern}");
        }
        values.insert(key.clone(), v.clone());
    }
    for (key, spec) in declared {
        match spec.get("default") {
            Some(default) => {
                values
                    .entry(key.clone())
                    .or_insert_with(|| default.as_str().expect("a string default").to_string());
            }
            None => assert!(
                sent.contains_key(key),
                "{name}: the required parameter {key} is not sent"
            ),
        }
    }
    values
}

#[test]
fn the_promote_document_takes_what_the_executor_sends_for_the_example_topology() {
    let m = hsprod();
    let dr1 = m.member("HSPROD-DR1").expect("DR1");
    let doc = document("promote-dr-async.yaml");
    for allow in [false, true] {
        let sent = promote_parameters(&m, dr1, "HSPROD-R1", allow, PromotePurpose::Disaster);
        let values = check("promote-dr-async.yaml", &doc, &sent);
        assert_eq!(values["MirrorName"], "HSPROD");
        assert_eq!(
            values["InstanceName"], "IRIS",
            "the member's instance, never the mirror's name"
        );
        assert_eq!(values["AllowNoPartner"], allow.to_string());
        assert_eq!(values["Request"], "HSPROD-R1");
        // the script's own time limit and its wait stay within the promotion timeout
        let execution: u64 = values["executionTimeout"].parse().expect("a number");
        let wait: u64 = values["WaitSeconds"].parse().expect("a number");
        assert!(
            wait < execution && execution < m.policy.promotion_timeout_secs,
            "{values:?}"
        );
    }
    for key in PROMOTE_PARAMETERS {
        assert!(
            doc["parameters"].get(key).is_some(),
            "promote-dr-async.yaml declares {key}"
        );
    }
}

#[test]
fn the_fence_document_takes_what_fence_parameters_builds() {
    let m = hsprod();
    let doc = document("fence-member.yaml");
    for member in ["HSPROD-A", "HSPROD-B"] {
        let sent = fence_parameters(&m, m.member(member).expect("member"), "HSPROD-F1");
        let values = check("fence-member.yaml", &doc, &sent);
        assert_eq!(values["Method"], "demote");
        assert_eq!(values["InstanceName"], "IRIS");
    }
    let declared: Vec<&str> = doc["parameters"]
        .as_object()
        .expect("parameters")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected: Vec<&str> = FENCE_PARAMETERS
        .iter()
        .chain(&SHARED_SITE_PARAMETERS)
        .copied()
        .collect();
    expected.sort_unstable();
    let mut declared_sorted = declared.clone();
    declared_sorted.sort_unstable();
    assert_eq!(
        declared_sorted, expected,
        "exactly mirrorgate's four and the shared site ones"
    );
}

/// The document's shell, with `{{ Name }}` replaced as SSM replaces it.
fn script(doc: &Value, values: &BTreeMap<String, String>) -> String {
    let lines: Vec<&str> = doc["mainSteps"][0]["inputs"]["runCommand"]
        .as_array()
        .expect("runCommand")
        .iter()
        .map(|l| l.as_str().expect("a line"))
        .collect();
    let mut text = format!("#!/bin/sh\n{}\n", lines.join("\n"));
    for (k, v) in values {
        text = text.replace(&format!("{{{{ {k} }}}}"), v);
    }
    text
}

#[test]
fn the_shell_inside_the_documents_passes_shellcheck() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["promote-dr-async.yaml", "fence-member.yaml", "drill-dr-async.yaml"] {
        let doc = document(name);
        let path = dir.path().join(name.replace(".yaml", ".sh"));
        std::fs::write(&path, script(&doc, &BTreeMap::new())).expect("written");
        let out = Command::new("shellcheck")
            .args(["--shell=sh", "--severity=info"])
            .arg(&path)
            .output()
            .expect("shellcheck is installed (scripts/test installs it)");
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stdout));
    }
}

/// A fake `iris` that answers the promote script's ObjectScript from files in `dir`.
fn fake_iris(dir: &Path, status: &str, login_prompt: bool) {
    let body = if login_prompt {
        "#!/bin/sh\ncat >/dev/null\nprintf 'Username: '\nexit 1\n".to_string()
    } else {
        format!(
            r#"#!/bin/sh
[ "$1" = session ] || exit 2
input=$(cat)
printf 'Node: dr1, Instance: %s\n\n%%SYS>' "$2"
case $input in
  *GetMemberStatus*) printf '\nMGV|{status}\n' ;;
  *IsPrimary*) printf '\nMGV|%s\n' "$(cat "{dir}/primary" 2>/dev/null || echo 0)" ;;
  *MirrorName*) printf '\nMGV|HSPROD\n' ;;
  *GetMemberType*) printf '\nMGV|Disaster Recovery\n' ;;
  *Promote*) echo 1 >"{dir}/primary"; echo promoted >>"{dir}/calls"; printf '\nMGV|OK\n' ;;
esac
printf '%%SYS>\n'
"#,
            dir = dir.display()
        )
    };
    let path = dir.join("iris");
    let mut file = std::fs::File::create(&path).expect("fake iris");
    file.write_all(body.as_bytes()).expect("written");
    drop(file);
    Command::new("chmod").arg("+x").arg(&path).status().expect("chmod");
}

/// Runs `text` with sh as SSM's runShellScript would, with `dir` (its fake `iris`)
/// first on PATH: the exit code and the lines it printed.
fn run_sh(dir: &Path, name: &str, text: &str) -> (i32, Vec<String>) {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("written");
    let out = Command::new("sh")
        .arg(&path)
        .env(
            "PATH",
            format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default()),
        )
        .output()
        .expect("sh runs");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    (out.status.code().unwrap_or(-1), lines)
}

/// Runs the promote script as SSM would, with the fake `iris` first on PATH.
fn promote(allow_no_partner: bool, agents: &str, status: &str, login_prompt: bool) -> (i32, Vec<String>, bool) {
    run_promote(PromotePurpose::Disaster, allow_no_partner, agents, status, login_prompt)
}

fn run_promote(
    purpose: PromotePurpose,
    allow_no_partner: bool,
    agents: &str,
    status: &str,
    login_prompt: bool,
) -> (i32, Vec<String>, bool) {
    let m = hsprod();
    let dr1 = m.member("HSPROD-DR1").expect("DR1");
    let doc = document("promote-dr-async.yaml");
    let mut sent = promote_parameters(&m, dr1, "HSPROD-R1", allow_no_partner, purpose);
    sent.insert("FailoverAgents".into(), vec![agents.to_string()]);
    sent.insert("WaitSeconds".into(), vec!["10".into()]);
    let values = check("promote-dr-async.yaml", &doc, &sent);
    let dir = tempfile::tempdir().expect("temp dir");
    fake_iris(dir.path(), status, login_prompt);
    let (code, lines) = run_sh(dir.path(), "promote.sh", &script(&doc, &values));
    let promoted = dir.path().join("calls").exists();
    (code, lines, promoted)
}

#[test]
fn the_promote_script_promotes_with_a_partner_whose_iscagent_answers() {
    let agent = std::net::TcpListener::bind("127.0.0.1:0").expect("a stand-in ISCAgent port");
    let port = agent.local_addr().expect("addr").port();
    let (code, lines, promoted) = promote(false, &format!("127.0.0.1:1 127.0.0.1:{port}"), "Waiting", false);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(lines[0], "PROMOTED (HSPROD-R1): IRIS is primary of HSPROD after 0 s");
    assert!(
        lines.contains(&"ISCAgent 127.0.0.1:1 does not answer".to_string()),
        "{lines:?}"
    );
    assert!(promoted);
}

#[test]
fn the_promote_script_refuses_without_a_partner_unless_the_approval_accepted_it() {
    let (code, lines, promoted) = promote(false, "127.0.0.1:1", "Waiting", false);
    assert_eq!(code, 1);
    assert!(
        lines[0].starts_with("PROMOTE FAILED (HSPROD-R1): no failover member's ISCAgent answers (127.0.0.1:1) and the approval did not accept"),
        "{lines:?}"
    );
    assert!(!promoted);
    // Accepted: still not promoted here (no documented non-interactive call), and the
    // first lines say how to do it by hand.
    let (code, lines, promoted) = promote(true, "", "Waiting", false);
    assert_eq!(code, 1);
    assert!(
        lines[0].contains("a promotion without a partner was approved"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("Promote Async DR Member to Failover Member"),
        "{lines:?}"
    );
    assert!(!promoted);
}

#[test]
fn the_promote_script_changes_nothing_when_a_primary_exists_or_iris_asks_for_a_login() {
    let (code, lines, promoted) = promote(true, "127.0.0.1:1", "Connected", false);
    assert_eq!(code, 1);
    assert_eq!(
        lines[0],
        "PROMOTE FAILED (HSPROD-R1): IRIS is Connected to a primary of HSPROD: a primary exists"
    );
    assert!(!promoted);
    let (code, lines, promoted) = promote(true, "127.0.0.1:1", "Waiting", true);
    assert_eq!(code, 1);
    assert_eq!(
        lines[0],
        "PROMOTE FAILED (HSPROD-R1): IRIS instance IRIS asked for a login"
    );
    assert!(!promoted);
}

#[test]
fn in_a_failback_the_promote_script_makes_the_connected_member_the_dr_primarys_partner() {
    // Connected to the DR primary: promoted to failover member (backup), no partner check.
    let (code, lines, promoted) = run_promote(PromotePurpose::Failback, false, "", "Connected", false);
    assert_eq!(code, 0, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "PROMOTED TO FAILOVER (HSPROD-R1): IRIS is a failover member of HSPROD, backup of the DR primary"
        ),
        "{lines:?}"
    );
    assert!(promoted);
    // Not (yet) connected after WaitSeconds: nothing promoted, and it says what it saw.
    let (code, lines, promoted) = run_promote(PromotePurpose::Failback, false, "", "Waiting", false);
    assert_eq!(code, 1);
    assert!(
        lines[0].starts_with("PROMOTE FAILED (HSPROD-R1): IRIS has not rejoined HSPROD as a Connected DR async after 10 s: a 'Disaster Recovery' member, mirror status 'Waiting'"),
        "{lines:?}"
    );
    assert!(!promoted);
}

/// A fake `iris` for the fence script: `qlist` answers from `dir/state` (running or
/// down), `start`/`stop` change it and are logged in `dir/calls`, and a session's
/// Config.MirrorMember.Modify is logged with the values it sets.
fn fake_iris_control(dir: &Path, running: bool) {
    std::fs::write(dir.join("state"), if running { "running" } else { "down" }).expect("state");
    let body = format!(
        r#"#!/bin/sh
d="{dir}"
case $1 in
  qlist) echo "IRIS^$d^2025.1.0.223.0^$(cat "$d/state"), since Mon Dec  1 10:00:00 2026^iris.cpf^1972^52773^0^ok^IRIS^^^/usr/irissys" ;;
  start) echo "start $2 $3" >>"$d/calls"; echo running >"$d/state" ;;
  stop) echo "stop $2 $3 $4" >>"$d/calls"; if [ "$4" = restart ]; then echo running >"$d/state"; else echo down >"$d/state"; fi ;;
  session) input=$(cat); case $input in *Config.MirrorMember*) echo "modify $(printf '%s' "$input" | grep -o 'JoinMirror\")=[01]')" >>"$d/calls"; printf '\nMGV|OK\n' ;; esac ;;
  *) exit 2 ;;
esac
"#,
        dir = dir.display()
    );
    let path = dir.join("iris");
    std::fs::write(&path, body).expect("fake iris");
    Command::new("chmod").arg("+x").arg(&path).status().expect("chmod");
}

/// Runs the fence script with `Method=method` as SSM would (the marker in `dir`, not
/// /etc): (exit code, output lines, calls made to iris, whether the marker exists).
fn fence(method: &str, running: bool, marker_before: bool) -> (i32, Vec<String>, Vec<String>, bool) {
    let m = hsprod();
    let doc = document("fence-member.yaml");
    let mut sent = fence_parameters(&m, m.member("HSPROD-A").expect("A"), "HSPROD-F1");
    sent.insert("Method".into(), vec![method.to_string()]);
    let values = check("fence-member.yaml", &doc, &sent);
    let dir = tempfile::tempdir().expect("temp dir");
    fake_iris_control(dir.path(), running);
    std::fs::write(
        dir.path().join("iris.cpf"),
        "[MirrorMember]\nAgentAddress=10.0.1.10\nJoinMirror=0\nValidatedMember=1\n[Mirrors]\nHSPROD=x\n",
    )
    .expect("cpf");
    let marker = dir.path().join("etc/mirrorgate/fenced");
    if marker_before {
        std::fs::create_dir_all(marker.parent().expect("parent")).expect("dir");
        std::fs::write(&marker, "").expect("marker");
    }
    let text = script(&doc, &values).replace(
        "/etc/mirrorgate",
        &dir.path().join("etc/mirrorgate").display().to_string(),
    );
    let (code, lines) = run_sh(dir.path(), "fence.sh", &text);
    let calls = std::fs::read_to_string(dir.path().join("calls"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let cpf = std::fs::read_to_string(dir.path().join("iris.cpf")).expect("cpf");
    let mut lines: Vec<String> = lines;
    lines.push(format!("cpf: {}", cpf.replace('\n', " ")));
    (code, lines, calls, marker.exists())
}

#[test]
fn unfencing_a_stopped_member_writes_its_cpf_removes_the_marker_and_starts_it() {
    let (code, lines, calls, marker) = fence("unfence", false, true);
    assert_eq!(code, 0, "{lines:?}");
    assert!(
        lines[0]
            .starts_with("UNFENCED (HSPROD-F1): IRIS of HSPROD (re)started with JoinMirror=1 and ValidatedMember=0"),
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .expect("cpf")
            .contains("JoinMirror=1 ValidatedMember=0 [Mirrors]"),
        "{lines:?}"
    );
    assert_eq!(calls, ["start IRIS quietly"]);
    assert!(!marker, "the marker is removed");
}

#[test]
fn unfencing_a_running_member_sets_its_configuration_and_restarts_it() {
    let (code, lines, calls, marker) = fence("unfence", true, true);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(calls, ["modify JoinMirror\")=1", "stop IRIS quietly restart"]);
    assert!(!marker);
}

#[test]
fn fencing_creates_the_marker_and_demotes_or_stops_the_member() {
    let (code, lines, calls, marker) = fence("demote", false, false);
    assert_eq!(code, 0, "{lines:?}");
    assert!(
        lines[0].starts_with("FENCED (HSPROD-F1): IRIS is down; JoinMirror=0 and ValidatedMember=0 written"),
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .expect("cpf")
            .contains("JoinMirror=0 ValidatedMember=0 [Mirrors]"),
        "{lines:?}"
    );
    assert!(calls.is_empty(), "{calls:?}");
    assert!(marker);
    let (code, lines, calls, marker) = fence("demote", true, false);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(calls, ["modify JoinMirror\")=0"]);
    assert!(marker);
    let (code, lines, calls, marker) = fence("stop", true, false);
    assert_eq!(code, 0, "{lines:?}");
    assert!(lines[0].starts_with("FENCED (HSPROD-F1): IRIS stopped; "), "{lines:?}");
    assert_eq!(calls, ["stop IRIS quietly "]);
    assert!(marker);
}

/// Runs the drill script as SSM would, with the fake `iris` first on PATH.
fn drill(agents: &str, status: &str) -> (i32, Vec<String>, bool) {
    let m = hsprod();
    let dr1 = m.member("HSPROD-DR1").expect("DR1");
    let doc = document("drill-dr-async.yaml");
    let mut sent = drill_parameters(&m, dr1, "HSPROD-D1");
    assert_eq!(sent["InstanceName"], ["IRIS"]);
    assert!(
        sent.contains_key("FailoverAgents"),
        "the site's FailoverAgents: {sent:?}"
    );
    sent.insert("FailoverAgents".into(), vec![agents.to_string()]);
    let values = check("drill-dr-async.yaml", &doc, &sent);
    let dir = tempfile::tempdir().expect("temp dir");
    fake_iris(dir.path(), status, false);
    let (code, lines) = run_sh(dir.path(), "drill.sh", &script(&doc, &values));
    (code, lines, dir.path().join("calls").exists())
}

#[test]
fn the_drill_script_checks_what_a_promotion_needs_and_changes_nothing() {
    let agent = std::net::TcpListener::bind("127.0.0.1:0").expect("a stand-in ISCAgent port");
    let port = agent.local_addr().expect("addr").port();
    let (code, lines, changed) = drill(&format!("127.0.0.1:{port}"), "Connected");
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines[0],
        "DRILL OK (HSPROD-D1): IRIS could be promoted now; nothing was changed"
    );
    assert!(
        lines.contains(&format!("a promotion now would go with partner 127.0.0.1:{port}")),
        "{lines:?}"
    );
    assert!(!changed, "the drill never promotes");
    // Not connected, no partner in reach: the first problem first, every finding after.
    let (code, lines, changed) = drill("127.0.0.1:1", "Waiting");
    assert_eq!(code, 1);
    assert_eq!(
        lines[0],
        "DRILL FAILED (HSPROD-D1): IRIS is 'Waiting', not Connected to the primary: it is not receiving the journal now"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("problem: no failover member's ISCAgent answers (127.0.0.1:1)")),
        "{lines:?}"
    );
    assert!(!changed);
}
