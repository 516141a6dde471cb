//! `mirrorgate topology`: check a file here; push it to Parameter Store and show
//! what the stack reads (against the emulator: `eval "$(scripts/emulator up)"`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mirrorgate");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn example() -> String {
    std::fs::read_to_string(root().join("examples/topology.toml")).expect("the example topology")
}

/// The example's mirror under another name, with instances and health checks of its own.
#[cfg(feature = "aws")]
fn second_mirror(name: &str) -> String {
    example()
        .replace("HSPROD", name)
        .replace("i-0", "i-1")
        .replace("-4", "-9")
}

fn mirrorgate(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(root())
        .args(args)
        .output()
        .expect("mirrorgate runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn check_accepts_a_valid_file_and_says_what_each_parameter_would_hold() {
    let out = mirrorgate(&["topology", "check", "examples/topology.toml"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("examples/topology.toml: valid, 1 mirror(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("HSPROD: 5 members,") && stdout.contains("standard tier"),
        "{stdout}"
    );
}

#[test]
fn check_refuses_a_bad_file_naming_the_file_the_mirror_and_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("site.toml");
    std::fs::write(&file, example().replace("i-0aaaaaaaaaaaaaaa1", "i-xyz")).expect("write");
    let out = mirrorgate(&["topology", "check", file.to_str().expect("utf-8 path")]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "{}: mirror HSPROD: member[0] (HSPROD-A).instance_id: \"i-xyz\"",
            file.display()
        )),
        "{stderr}"
    );
    let missing = mirrorgate(&["topology", "check", "no-such.toml"]);
    assert!(!missing.status.success());
    assert!(text(&missing).1.contains("no-such.toml"), "{}", text(&missing).1);
}

#[test]
fn push_and_show_need_the_aws_backend_and_a_path() {
    let out = mirrorgate(&[
        "topology",
        "push",
        "examples/topology.toml",
        "--path",
        "/mirrorgate/x/mirrors",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("--backend aws topology push"), "{}", text(&out).1);
    let out = Command::new(BIN)
        .current_dir(root())
        .env_remove("MIRRORGATE_TOPOLOGY_PATH")
        .args(["--backend", "aws", "topology", "show"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(
        text(&out).1.contains("--path /mirrorgate/<stack>/mirrors"),
        "{}",
        text(&out).1
    );
    let out = mirrorgate(&["--backend", "aws", "topology", "show", "--path", "/aws/x"]);
    assert!(
        text(&out).1.contains("reserves names starting with aws"),
        "{}",
        text(&out).1
    );
}

#[cfg(feature = "aws")]
mod emulator {
    use super::*;

    fn unique_path() -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("/mirrorgate/test-{}-{nanos}/mirrors", std::process::id())
    }

    fn aws(args: &[&str]) -> Output {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
            panic!("AWS_ENDPOINT_URL is not set: start the emulator first: eval \"$(scripts/emulator up)\"")
        });
        assert!(
            endpoint.starts_with("http://127."),
            "{endpoint} is not a local emulator"
        );
        let mut all = vec!["--backend", "aws"];
        all.extend_from_slice(args);
        mirrorgate(&all)
    }

    /// GIVEN a file of two mirrors WHEN pushed THEN one parameter per mirror is written
    /// and said, show prints both and the valid whole; a file without one of them
    /// leaves its parameter (and says so) unless --prune deletes it.
    #[test]
    fn push_writes_one_parameter_per_mirror_and_show_prints_what_the_stack_reads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = unique_path();
        let both = dir.path().join("site.toml");
        std::fs::write(&both, format!("{}\n{}", example(), second_mirror("HSTEST"))).expect("write");
        let both = both.to_str().expect("utf-8");

        let out = aws(&["topology", "push", both, "--path", &path]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains("2 mirror(s) written"), "{stdout}");
        assert!(stdout.contains(&format!("wrote {path}/HSPROD (")), "{stdout}");
        assert!(stdout.contains(&format!("wrote {path}/HSTEST (")), "{stdout}");
        assert!(stdout.contains("standard tier, version 1"), "{stdout}");

        let out = aws(&["topology", "show", "--path", &path]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains(&format!("# {path}/HSPROD (")), "{stdout}");
        assert!(stdout.contains("name = \"HSTEST\""), "{stdout}");
        assert!(
            stdout.contains("a valid topology of 2 mirror(s): HSPROD, HSTEST"),
            "{stdout}"
        );

        // Pushed again (overwritten: version 2), without HSTEST: its parameter stays.
        let one = dir.path().join("one.toml");
        std::fs::write(&one, example()).expect("write");
        let one = one.to_str().expect("utf-8");
        let out = aws(&["topology", "push", one, "--path", &path]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stdout.contains(&format!("wrote {path}/HSPROD (")) && stdout.contains("version 2"),
            "{stdout}"
        );
        assert!(stdout.contains(&format!("left {path}/HSTEST")), "{stdout}");

        let out = aws(&["topology", "push", one, "--path", &path, "--prune"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains(&format!("deleted {path}/HSTEST")), "{stdout}");
        let out = aws(&["topology", "show", "--path", &path]);
        assert!(
            text(&out).0.contains("a valid topology of 1 mirror(s): HSPROD"),
            "{}",
            text(&out).0
        );
    }

    /// GIVEN a stack's parameters WHEN a file is pushed whose mirror takes an instance
    /// of a mirror left in place THEN nothing is written and the error names both.
    #[test]
    fn a_push_that_would_leave_an_invalid_whole_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = unique_path();
        let first = dir.path().join("first.toml");
        std::fs::write(&first, second_mirror("HSTEST")).expect("write");
        assert!(
            aws(&["topology", "push", first.to_str().expect("utf-8"), "--path", &path])
                .status
                .success()
        );
        // HSOTHER uses HSTEST's instances (i-1...), HSTEST is not in the file.
        let clash = dir.path().join("clash.toml");
        std::fs::write(&clash, second_mirror("HSOTHER").replace("-9", "-7")).expect("write");
        let out = aws(&["topology", "push", clash.to_str().expect("utf-8"), "--path", &path]);
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "{stdout}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
        assert!(
            stderr.contains("also in parameter") && stderr.contains("--prune"),
            "{stderr}"
        );
        let out = aws(&["topology", "show", "--path", &path]);
        assert!(
            text(&out).0.contains("a valid topology of 1 mirror(s): HSTEST"),
            "{}",
            text(&out).0
        );
    }
}
