//! What ships with the agent: the install script (shellcheck-clean, and what it
//! installs), the configuration template, the systemd unit, and the routines of
//! iris/ agreeing with what the agent reads and runs.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use agent::config::{Config, DEFAULT_CONFIG, DEFAULT_STATE_FILE};
use agent::iris::{parse_line, ENTRY, LINE_VERSION, MARKER};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_install_script_is_shellcheck_clean() {
    support::shellcheck(&repo("agent/dist/install.sh"));
}

#[test]
fn the_install_script_installs_everything_under_a_root() {
    let root = tempfile::tempdir().expect("temp dir");
    let out = Command::new("bash")
        .arg(repo("agent/dist/install.sh"))
        .args([
            "--binary",
            env!("CARGO_BIN_EXE_mirrorgate-agent"),
            "--user",
            "irisowner",
        ])
        .args(["--iris-bin", "/usr/irissys/bin", "--root"])
        .arg(root.path())
        .output()
        .expect("run install.sh");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let at = |p: &str| root.path().join(p.trim_start_matches('/'));
    for file in [
        "/usr/local/bin/mirrorgate-agent",
        DEFAULT_CONFIG,
        "/etc/systemd/system/mirrorgate-agent.service",
        "/usr/local/share/mirrorgate/iris/ZMIRRORGATE.mac",
        "/usr/local/share/mirrorgate/iris/ZMIRROR.mac",
    ] {
        assert!(at(file).is_file(), "{file} is installed");
    }
    assert!(at("/var/log/mirrorgate").is_dir());
    let unit = std::fs::read_to_string(at("/etc/systemd/system/mirrorgate-agent.service")).expect("unit");
    assert!(unit.contains("\nUser=irisowner\n"), "{unit}");
    assert!(
        unit.contains("\nEnvironment=PATH=/usr/irissys/bin:/usr/local/bin:/usr/bin:/bin\n"),
        "{unit}"
    );
    assert!(
        unit.contains("\nExecStart=/usr/local/bin/mirrorgate-agent --config /etc/mirrorgate/agent.toml\n"),
        "{unit}"
    );
    assert!(!unit.contains('@'), "every placeholder is filled: {unit}");
    // The state file's directory is the unit's StateDirectory.
    assert!(unit.contains("\nStateDirectory=mirrorgate-agent\n"));
    assert!(DEFAULT_STATE_FILE.starts_with("/var/lib/mirrorgate-agent/"));

    // A second run keeps the configuration that was edited.
    std::fs::write(at(DEFAULT_CONFIG), "# edited\n").expect("edit");
    let out = Command::new("bash")
        .arg(repo("agent/dist/install.sh"))
        .args([
            "--binary",
            env!("CARGO_BIN_EXE_mirrorgate-agent"),
            "--user",
            "irisowner",
            "--root",
        ])
        .arg(root.path())
        .output()
        .expect("run install.sh");
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(at(DEFAULT_CONFIG)).expect("config"),
        "# edited\n"
    );

    let out = Command::new("bash")
        .arg(repo("agent/dist/install.sh"))
        .args(["--user", "irisowner", "--root"])
        .arg(root.path())
        .output()
        .expect("run install.sh");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--binary is required"));
}

#[test]
fn the_configuration_template_is_valid() {
    let c = Config::parse("agent/dist/agent.toml", &read("agent/dist/agent.toml")).expect("the template is valid");
    assert_eq!(c.state_file, PathBuf::from(DEFAULT_STATE_FILE));
}

#[test]
fn zmirrorgate_prints_the_line_the_agent_reads() {
    let mac = read("iris/ZMIRRORGATE.mac");
    assert!(
        mac.starts_with("ROUTINE ZMIRRORGATE\n"),
        "UDL header for $SYSTEM.OBJ.Load"
    );
    let (label, routine) = ENTRY.split_once('^').expect("label^routine");
    assert_eq!(routine, "ZMIRRORGATE");
    assert!(
        mac.contains(&format!("\n{label}() public {{")),
        "the entry point {ENTRY} is public"
    );
    assert!(mac.contains(&format!("write \"{MARKER}|{LINE_VERSION}\"")));
    // The fields it writes, in its order, make a line the agent reads.
    let mut line = format!("{MARKER}|{LINE_VERSION}");
    for key in [
        "mirror", "status", "detail", "type", "latency", "bytes", "files", "error",
    ] {
        assert!(mac.contains(&format!("\"|{key}=\"")), "ZMIRRORGATE writes {key}");
        line.push_str(&format!("|{key}="));
    }
    let line = line.replace("status=", "status=Primary");
    assert_eq!(parse_line(&line).expect("read").status, "Primary");
    // Real calls, not placeholders.
    for call in [
        "$SYSTEM.Mirror.MirrorName()",
        "$SYSTEM.Mirror.GetMemberStatus(mirror)",
        "$SYSTEM.Mirror.GetMemberType()",
        "##class(SYS.Mirror).JournalFilesLatency()",
    ] {
        assert!(mac.contains(call), "{call}");
    }
}

#[test]
fn zmirror_has_the_hooks_and_the_paths_the_install_uses() {
    let mac = read("iris/ZMIRROR.mac");
    assert!(mac.starts_with("ROUTINE ZMIRROR\n"));
    for hook in [
        "CanNodeStartToBecomePrimary() public {",
        "NotifyBecomePrimary() public {",
        "NotifyBecomePrimaryFailed() public {",
    ] {
        assert!(mac.contains(hook), "{hook}");
    }
    assert!(mac.contains("AgentPath() quit \"/usr/local/bin/mirrorgate-agent\""));
    assert!(mac.contains("FenceFile() quit \"/etc/mirrorgate/fenced\""));
    assert!(mac.contains("LogFile() quit \"/var/log/mirrorgate/zmirror.log\""));
    assert!(mac.contains("\"/ASYNC"), "the agent is started without waiting");
    assert!(mac.contains("\"--once\",\"--event\",\"status\""));
    // Never blocks becoming primary on AWS: no CheckBecomePrimaryOK here.
    assert!(!mac.contains("CheckBecomePrimaryOK"));
}
