//! A host for the agent's tests: a temporary directory with a fake `iris` (or
//! `csession`) first on PATH that replays a recorded output, a configuration file
//! and a state file, and the agent binary run against them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Host {
    pub dir: tempfile::TempDir,
    pub member: String,
    pub product: &'static str,
    pub timeout_secs: u64,
    pub event_bus: String,
    pub extra_config: String,
}

/// What one run of the agent gave.
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Host {
    pub fn new(member: &str) -> Host {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("bin")).expect("bin");
        Host {
            dir,
            member: member.to_string(),
            product: "iris",
            timeout_secs: 10,
            event_bus: "default".into(),
            extra_config: String::new(),
        }
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Installs a fake session command whose body (POSIX sh) replays an output. It
    /// records its arguments in `calls` and its pid in `pid`.
    pub fn fake(&self, command: &str, body: &str) -> PathBuf {
        let script = self.bin().join(command);
        let text = format!(
            "#!/bin/sh\n# A fake {command}: records how it was called, then replays a recorded output.\nprintf '%s\\n' \"$*\" >>'{calls}'\necho \"$$\" >'{pid}'\n{body}\n",
            calls = self.path("calls").display(),
            pid = self.path("pid").display(),
        );
        std::fs::write(&script, text).expect("write the fake");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        script
    }

    /// A fake that prints `line` (with IRIS's CR LF and its session banner) and exits 0.
    pub fn fake_line(&self, line: &str) -> PathBuf {
        self.fake(
            "iris",
            &format!("printf 'Node: host, Instance: IRIS\\r\\n\\r\\n%s\\r\\n' '{line}'\nexit 0"),
        )
    }

    pub fn config_text(&self) -> String {
        format!(
            "mirror = \"HSPROD\"\nmember = \"{}\"\ninstance = \"IRIS\"\nproduct = \"{}\"\nregion = \"us-west-2\"\nevent_bus = \"{}\"\niris_timeout_secs = {}\nstate_file = \"{}\"\n{}",
            self.member,
            self.product,
            self.event_bus,
            self.timeout_secs,
            self.path("state.json").display(),
            self.extra_config,
        )
    }

    pub fn write_config(&self) -> PathBuf {
        let path = self.path("agent.toml");
        std::fs::write(&path, self.config_text()).expect("write the configuration");
        path
    }

    /// Runs the agent with this host's configuration, its bin directory first on
    /// PATH (only it, with `path_only`), and `env` added.
    pub fn run(&self, args: &[&str], path_only: bool, env: &[(&str, String)]) -> Ran {
        let config = self.write_config();
        let path = if path_only {
            self.bin().display().to_string()
        } else {
            format!("{}:/usr/bin:/bin", self.bin().display())
        };
        let started = Instant::now();
        let mut command = Command::new(env!("CARGO_BIN_EXE_mirrorgate-agent"));
        command
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_clear()
            .env("PATH", path);
        for (k, v) in env {
            command.env(k, v);
        }
        let Output { status, stdout, stderr } = command.output().expect("run mirrorgate-agent");
        Ran {
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            took: started.elapsed(),
        }
    }

    /// The argument lines the fake recorded.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn read_pid(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.path(name)).ok()?.trim().parse().ok()
    }
}

/// Whether a process is gone (or only a zombie waiting for its parent to read it).
pub fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// Waits up to a second for a process to go.
pub fn wait_gone(pid: u32) -> bool {
    for _ in 0..50 {
        if gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    gone(pid)
}

/// The example topology the events must decode against.
pub fn topology() -> shared::topology::Topology {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/topology.toml");
    let text = std::fs::read_to_string(&path).expect("examples/topology.toml");
    shared::topology::Topology::parse("examples/topology.toml", &text).expect("the example topology is valid")
}

/// Runs shellcheck on a script; fails loudly when shellcheck is not installed.
pub fn shellcheck(script: &Path) {
    let out = Command::new("shellcheck")
        .arg("--severity=info")
        .arg(script)
        .output()
        .unwrap_or_else(|e| {
            panic!("shellcheck cannot be run ({e}): install it (apt-get install shellcheck; scripts/test does it)")
        });
    assert!(
        out.status.success(),
        "shellcheck {}:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
