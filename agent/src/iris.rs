//! Asking IRIS: runs `iris session INSTANCE -U %SYS Report^ZMIRRORGATE` (or
//! `csession ...` for Caché), with a deadline, and reads the one line the routine
//! prints (`iris/ZMIRRORGATE.mac`).
//!
//! The line, version 1, is `|`-separated `key=value` fields after a marker and the
//! version, for example
//!
//! ```text
//! MIRRORGATE|1|mirror=HSPROD|status=Connected|detail=|type=Disaster Recovery|latency=0.5|bytes=|files=|error=
//! ```
//!
//! Unknown keys are ignored (a later routine may add some); `status` is required.
//! Numbers are read whether or not they have a leading zero: ObjectScript writes
//! one half as `.5`.
//!
//! Whenever IRIS could not be asked, the answer is [`Answer::Failed`] with the
//! reason in words: the agent then knows nothing about the member and reports
//! `Unknown`, never `Down`.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::{kill_process_group, Pid, Signal};

use crate::config::{Config, Product};

/// The first field of the routine's line.
pub const MARKER: &str = "MIRRORGATE";
/// The line format this agent reads.
pub const LINE_VERSION: &str = "1";
/// The routine's entry point, run in `%SYS`.
pub const ENTRY: &str = "Report^ZMIRRORGATE";

/// What the routine reported (IRIS's own words, not yet interpreted).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reading {
    /// `$SYSTEM.Mirror.MirrorName()`.
    pub mirror: String,
    /// `$LIST` item 1 of `$SYSTEM.Mirror.GetMemberStatus()`: Primary, Backup, Connected, ...
    pub status: String,
    /// `$LIST` item 2: `Trouble` for a primary in trouble, or an error's text.
    pub detail: String,
    /// `$SYSTEM.Mirror.GetMemberType()`: Failover, Disaster Recovery, Read-Only Reporting, ...
    pub member_type: String,
    /// Journal transfer latency, in seconds, when the routine could read it.
    pub latency_secs: Option<f64>,
    pub latency_bytes: Option<u64>,
    pub latency_files: Option<u32>,
    /// The error the routine caught, if any (`$ZERROR`).
    pub error: String,
}

/// The outcome of asking IRIS.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Reading(Reading),
    /// IRIS could not be asked; why, in words.
    Failed(String),
}

/// Finds `command` in the directories of `path` (a `PATH` value).
pub fn find_on_path(command: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let path = path?;
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(command))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The arguments of the session command for this product.
pub fn session_args(product: Product, instance: &str) -> Vec<String> {
    let mut args = Vec::new();
    if product == Product::Iris {
        args.push("session".to_string());
    }
    args.extend([instance.to_string(), "-U".into(), "%SYS".into(), ENTRY.into()]);
    args
}

/// Asks IRIS once, waiting at most `config.iris_timeout_secs`.
pub fn ask(config: &Config) -> Answer {
    let product = config.product;
    let words = product.session_words();
    let Some(program) = find_on_path(product.command(), std::env::var_os("PATH").as_deref()) else {
        return Answer::Failed(format!(
            "`{}` was not found on the agent's PATH, so `{words}` cannot be run",
            product.command()
        ));
    };
    let timeout = Duration::from_secs(config.iris_timeout_secs);
    let mut command = Command::new(&program);
    command
        .args(session_args(product, &config.instance))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a time-out kills whatever it started too.
        .process_group(0);
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Answer::Failed(format!("`{words}` could not be started: {e}")),
    };
    let run = wait(child, timeout);
    interpret(words, &run, config.iris_timeout_secs)
}

/// How a run of the session command ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Exited(ExitStatus),
    /// Still running at the deadline: killed.
    TimedOut,
    /// It asked for a user name or a password: killed at once.
    Prompted(&'static str),
    /// Waiting for it failed (should not happen).
    WaitFailed(String),
}

/// A finished run: how it ended and everything it printed (stdout and stderr).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub ending: Ending,
    pub output: String,
}

/// The prompts of a login that OS authentication did not let through.
const PROMPTS: [&str; 2] = ["Username:", "Password:"];

fn wait(mut child: Child, timeout: Duration) -> Run {
    let output = Arc::new(Mutex::new(Vec::<u8>::new()));
    let mut readers: Vec<JoinHandle<()>> = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(reader(stdout, Arc::clone(&output)));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(reader(stderr, Arc::clone(&output)));
    }
    let deadline = Instant::now() + timeout;
    let ending = loop {
        let seen = String::from_utf8_lossy(&output.lock().map(|o| o.clone()).unwrap_or_default()).into_owned();
        if let Some(prompt) = PROMPTS.into_iter().find(|p| seen.contains(p)) {
            kill_group(&mut child);
            break Ending::Prompted(prompt);
        }
        match child.try_wait() {
            Ok(Some(status)) => break Ending::Exited(status),
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&mut child);
                break Ending::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                kill_group(&mut child);
                break Ending::WaitFailed(e.to_string());
            }
        }
    };
    // Whatever it left behind holds the pipes open: end it before reading to the end.
    signal_group(&child, Signal::KILL);
    for r in readers {
        let _ = r.join();
    }
    let bytes = output.lock().map(|o| o.clone()).unwrap_or_default();
    Run {
        ending,
        output: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn reader(mut source: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        loop {
            match source.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut all) = sink.lock() {
                        // Enough to find the line; a runaway session cannot fill memory.
                        if all.len() < 1 << 20 {
                            all.extend_from_slice(&buffer[..n]);
                        }
                    }
                }
            }
        }
    })
}

fn signal_group(child: &Child, signal: Signal) {
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
        // kill(2) with the negated pid: signals the process group the child leads
        // (it was spawned with process_group(0)).
        let _ = kill_process_group(pid, signal);
    }
}

fn kill_group(child: &mut Child) {
    signal_group(child, Signal::KILL);
    let _ = child.kill();
    let _ = child.wait();
}

/// The answer a finished run gives.
pub fn interpret(words: &str, run: &Run, timeout_secs: u64) -> Answer {
    let output = run.output.replace('\r', "");
    let lines: Vec<&str> = output.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    // A session that prompted and then exited by itself (its input is empty) is a
    // login prompt too, whichever was noticed first.
    let prompted = match &run.ending {
        Ending::Prompted(prompt) => Some(*prompt),
        Ending::Exited(_) => PROMPTS.into_iter().find(|p| output.contains(p)),
        _ => None,
    };
    if let Some(prompt) = prompted {
        return Answer::Failed(format!(
            "`{words}` asked for a user name ({prompt:?}): OS authentication is not enabled for the agent's OS \
             user, so IRIS could not be asked"
        ));
    }
    match &run.ending {
        Ending::TimedOut => {
            return Answer::Failed(format!(
                "`{words}` gave no answer within {timeout_secs} s and was killed"
            ))
        }
        Ending::WaitFailed(e) => return Answer::Failed(format!("waiting for `{words}` failed: {e}")),
        Ending::Prompted(_) | Ending::Exited(_) => {}
    }
    if lines.iter().any(|l| l.contains("Access Denied")) {
        return Answer::Failed(format!("`{words}` refused the login (Access Denied)"));
    }
    if let Ending::Exited(status) = &run.ending {
        if !status.success() {
            let how = match status.code() {
                Some(code) => format!("exited with status {code}"),
                None => "was killed by a signal".to_string(),
            };
            return Answer::Failed(match lines.last() {
                Some(last) => format!("`{words}` {how}: {}", clip(last, 160)),
                None => format!("`{words}` {how} and printed nothing"),
            });
        }
    }
    let marker = format!("{MARKER}|");
    let Some(line) = lines.iter().rev().find(|l| l.starts_with(&marker)) else {
        return Answer::Failed(match lines.first() {
            Some(first) => format!(
                "`{words}` printed no {MARKER} line (is ^ZMIRRORGATE loaded in %SYS on this member?); it printed: {}",
                clip(first, 120)
            ),
            None => format!("`{words}` printed nothing (is ^ZMIRRORGATE loaded in %SYS on this member?)"),
        });
    };
    match parse_line(line) {
        Ok(reading) => Answer::Reading(reading),
        Err(problem) => Answer::Failed(format!(
            "^ZMIRRORGATE printed a line the agent does not understand ({problem}): {}",
            clip(line, 160)
        )),
    }
}

/// Reads one routine line (see the module's documentation).
pub fn parse_line(line: &str) -> Result<Reading, String> {
    let mut fields = line.trim().split('|');
    if fields.next() != Some(MARKER) {
        return Err(format!("it does not start with {MARKER}|"));
    }
    match fields.next() {
        Some(LINE_VERSION) => {}
        Some(other) => {
            return Err(format!(
                "line version {other:?}; this agent reads version {LINE_VERSION}: install the ZMIRRORGATE.mac of the same release"
            ))
        }
        None => return Err("no version".into()),
    }
    let mut r = Reading::default();
    let mut has_status = false;
    for field in fields {
        let Some((key, value)) = field.split_once('=') else {
            return Err(format!("field {:?} is not key=value", clip(field, 40)));
        };
        let value = value.trim();
        match key.trim() {
            "mirror" => r.mirror = value.to_string(),
            "status" => {
                r.status = value.to_string();
                has_status = true;
            }
            "detail" => r.detail = value.to_string(),
            "type" => r.member_type = value.to_string(),
            "error" => r.error = value.to_string(),
            "latency" => r.latency_secs = optional(value, "latency", parse_seconds)?,
            "bytes" => r.latency_bytes = optional(value, "bytes", |v| v.parse::<u64>().ok())?,
            "files" => r.latency_files = optional(value, "files", |v| v.parse::<u32>().ok())?,
            // A later routine may say more; this agent reads what it knows.
            _ => {}
        }
    }
    if !has_status {
        return Err("no status field".into());
    }
    Ok(r)
}

fn optional<T>(value: &str, key: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    parse(value)
        .map(Some)
        .ok_or_else(|| format!("{key}={value:?} is not a number, 0 or more"))
}

/// A non-negative decimal number of seconds, with or without a leading zero (`.5`,
/// `0.5`, `12`, `3.`). Nothing else: no sign, exponent, `inf` or `NaN`.
pub fn parse_seconds(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let canonical = format!(
        "{}.{}",
        if whole.is_empty() { "0" } else { whole },
        if fraction.is_empty() { "0" } else { fraction }
    );
    canonical.parse::<f64>().ok().filter(|s| s.is_finite())
}

fn clip(text: &str, max: usize) -> String {
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().count() <= max {
        text
    } else {
        format!("{}...", text.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    fn run(code: i32, output: &str) -> Run {
        Run {
            ending: Ending::Exited(ExitStatus::from_raw(code << 8)),
            output: output.into(),
        }
    }

    #[test]
    fn seconds_with_or_without_a_leading_zero() {
        assert_eq!(parse_seconds(".5"), Some(0.5));
        assert_eq!(parse_seconds("0.5"), Some(0.5));
        assert_eq!(parse_seconds("12"), Some(12.0));
        assert_eq!(parse_seconds("3."), Some(3.0));
        assert_eq!(parse_seconds("0"), Some(0.0));
        for bad in ["", ".", "-.5", "-1", "1e3", "inf", "NaN", "0,5", " 1", "1.2.3", "+1"] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_line_is_read_whatever_the_order_and_with_unknown_keys() {
        let r =
            parse_line("MIRRORGATE|1|latency=.5|status=Connected|type=Disaster Recovery|mirror=HSPROD|later=x|files=0")
                .expect("read");
        assert_eq!(r.status, "Connected");
        assert_eq!(r.latency_secs, Some(0.5));
        assert_eq!(r.latency_files, Some(0));
        assert_eq!(r.member_type, "Disaster Recovery");
        assert!(parse_line("MIRRORGATE|2|status=Primary")
            .expect_err("version")
            .contains("line version \"2\""));
        assert!(parse_line("MIRRORGATE|1|mirror=X")
            .expect_err("status")
            .contains("no status"));
        assert!(parse_line("MIRRORGATE|1|status=Primary|latency=-1")
            .expect_err("negative")
            .contains("latency=\"-1\""));
        assert!(parse_line("MIRRORGATE|1|status")
            .expect_err("kv")
            .contains("not key=value"));
    }

    #[test]
    fn the_last_marker_line_counts_and_noise_around_it_is_ignored() {
        let out = "\r\nNode: dr1, Instance: IRIS\r\n\r\nMIRRORGATE|1|status=Waiting\r\n";
        match interpret("iris session", &run(0, out), 20) {
            Answer::Reading(r) => assert_eq!(r.status, "Waiting"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failures_say_which() {
        let reason = |r: &Run| match interpret("iris session", r, 20) {
            Answer::Failed(reason) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(&run(0, "\nAccess Denied\n")),
            "`iris session` refused the login (Access Denied)"
        );
        assert_eq!(
            reason(&run(1, "")),
            "`iris session` exited with status 1 and printed nothing"
        );
        assert_eq!(
            reason(&run(0, "<UNDEFINED>Report^ZMIRRORGATE\n")),
            "`iris session` printed no MIRRORGATE line (is ^ZMIRRORGATE loaded in %SYS on this member?); it printed: \
             <UNDEFINED>Report^ZMIRRORGATE"
        );
        assert_eq!(
            reason(&run(1, "Node: a, Instance: IRIS\r\n\r\nUsername: \r\n<ENDOFFILE>\r\n")),
            "`iris session` asked for a user name (\"Username:\"): OS authentication is not enabled for the agent's OS \
             user, so IRIS could not be asked"
        );
        let timed_out = Run {
            ending: Ending::TimedOut,
            output: String::new(),
        };
        assert_eq!(
            reason(&timed_out),
            "`iris session` gave no answer within 20 s and was killed"
        );
    }

    #[test]
    fn the_session_command_line() {
        assert_eq!(
            session_args(Product::Iris, "IRIS"),
            ["session", "IRIS", "-U", "%SYS", "Report^ZMIRRORGATE"]
        );
        assert_eq!(
            session_args(Product::Cache, "CACHE"),
            ["CACHE", "-U", "%SYS", "Report^ZMIRRORGATE"]
        );
    }
}
