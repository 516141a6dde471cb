//! `mirrorgate serve` as a process, over HTTP: events in, status out, bad input
//! refused with clear 4xx answers, and a request raised by `replay --data` decided
//! through `serve --data` on the same store.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;

use crate::support::{self, free_port, http, moved_to_now, replay_link, root, Server};

/// `mirrorgate serve --json` on the store in `data`, on a free port, its output dropped.
fn serve(data: &Path) -> Server {
    Server::start(
        free_port(),
        data,
        &["--json", "--tick-secs", "3600"],
        Stdio::null(),
        Stdio::null(),
    )
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/events").join(name)).expect("fixture")
}

fn status_json(port: u16) -> serde_json::Value {
    let a = http(port, "GET", "/status.json", None, b"");
    assert_eq!(a.status, 200, "{}", a.body);
    serde_json::from_str(
        a.body
            .trim_start_matches(|c: char| c.is_ascii_hexdigit() || c == '\r' || c == '\n'),
    )
    .or_else(|_| serde_json::from_str(&dechunk(&a.body)))
    .expect("status JSON")
}

/// Joins an HTTP/1.1 chunked body.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_string();
        };
        if n == 0 {
            break;
        }
        out.push_str(&after[..n.min(after.len())]);
        rest = after.get(n + 2..).unwrap_or("");
    }
    out
}

#[test]
fn events_change_the_status_and_bad_input_is_refused_clearly() {
    let data = tempfile::tempdir().expect("temp dir");
    let server = serve(data.path());
    let port = server.port;

    // An AWS payload exactly as delivered.
    let a = http(
        port,
        "POST",
        "/events",
        Some("application/json"),
        &fixture("mirror-status-primary.json"),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let a = http(
        port,
        "POST",
        "/events",
        Some("application/json"),
        &fixture("alarm-route53-hsprod-a.json"),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let status = status_json(port);
    let mirror = &status["mirrors"][0];
    assert_eq!(mirror["mirror"], "HSPROD");
    let members = mirror["members"].as_array().expect("members");
    assert!(
        members.iter().any(|m| m["name"] == "HSPROD-A" && m["route53"] == false),
        "{mirror}"
    );

    // The status page a person reads.
    let page = http(port, "GET", "/", None, b"");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("HSPROD-DR1") && page.body.contains("journal latency"),
        "{}",
        page.body
    );
    assert!(page.head.contains("cache-control: no-store"));

    // Bad input: clear 4xx, nothing changed, the payload kept as a dead letter.
    let bad = http(
        port,
        "POST",
        "/events",
        Some("application/json"),
        br#"{"hello": "world"}"#,
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("\"kind\""), "{}", bad.body);
    let dead = std::fs::read_to_string(data.path().join("dead-letter.jsonl")).expect("dead letter kept");
    assert!(dead.contains("hello"), "{dead}");
    let not_json = http(port, "POST", "/events", Some("application/json"), b"{not json");
    assert_eq!(not_json.status, 400);
    let wrong_type = http(port, "POST", "/events", Some("text/plain"), &fixture("schedule.json"));
    assert_eq!(wrong_type.status, 415, "{}", wrong_type.body);
    let huge = vec![b' '; 300 * 1024];
    let too_big = http(port, "POST", "/events", Some("application/json"), &huge);
    assert_eq!(too_big.status, 413, "{}", too_big.body);
    let wrong_method = http(port, "GET", "/events", None, b"");
    assert_eq!(wrong_method.status, 405);
    for path in ["/", "/status.json"] {
        let posted = http(port, "POST", path, Some("application/json"), &fixture("schedule.json"));
        assert_eq!(posted.status, 405, "{path}");
        assert!(
            posted.body.contains("POST AWS payloads to /events"),
            "{path}: {}",
            posted.body
        );
    }
    let unknown = http(port, "GET", "/nope", None, b"");
    assert_eq!(unknown.status, 404);
    assert_eq!(
        status_json(port)["mirrors"][0],
        status["mirrors"][0],
        "refused input changed nothing"
    );
}

#[test]
fn a_request_raised_by_replay_is_decided_through_serve() {
    let data = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let scenario = root().join("examples/scenarios/region-outage.jsonl");
    // Replay only up to the request: the lines before the approval.
    let lines: Vec<String> = std::fs::read_to_string(&scenario)
        .expect("scenario")
        .lines()
        .take_while(|l| !l.contains("\"approve\""))
        .map(str::to_string)
        .collect();
    let partial = data.path().join("pending.jsonl");
    std::fs::write(&partial, lines.join("\n")).expect("write");
    let (path, _) = replay_link(data.path(), &partial, port);

    // The replay's simulated 03:05 is long past for serve's wall clock: the link has
    // expired, and the page says so (same store, same request).
    let server = Server::start(
        port,
        data.path(),
        &["--tick-secs", "3600"],
        Stdio::null(),
        Stdio::null(),
    );
    let page = http(server.port, "GET", &path, None, b"");
    assert_eq!(page.status, 410, "{}", page.body);
    assert!(page.body.contains("expired"), "{}", page.body);
}

#[test]
fn serve_json_prints_the_effects_of_a_decision_made_on_the_approval_page() {
    // GIVEN a request raised by a replay moved to now (so its link is still valid),
    // in the store that `serve --json` runs on
    let data = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let text =
        std::fs::read_to_string(root().join("examples/scenarios/region-outage-pending.jsonl")).expect("scenario");
    let scenario = data.path().join("pending-now.jsonl");
    std::fs::write(&scenario, moved_to_now(&text, 30)).expect("write");
    let (path, _) = replay_link(data.path(), &scenario, port);
    let mut server = Server::start(
        port,
        data.path(),
        &["--json", "--tick-secs", "3600"],
        Stdio::piped(),
        Stdio::null(),
    );
    // WHEN Dana approves on the page
    let form = b"approver=Dana+Whitfield&confirm=HSPROD&decision=approve";
    let page = http(port, "POST", &path, Some("application/x-www-form-urlencoded"), form);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Promotion approved"), "{}", page.body);
    // THEN serve printed every effect of that decision as JSON lines
    let _ = server.child.kill();
    let mut printed = String::new();
    if let Some(mut stdout) = server.child.stdout.take() {
        let _ = stdout.read_to_string(&mut printed);
    }
    let effects: Vec<serde_json::Value> = printed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line: {l}: {e}")))
        .collect();
    let has = |effect: &str, key: &str, value: &str| effects.iter().any(|e| e["effect"] == effect && e[key] == value);
    assert!(has("transition", "to", "promoting"), "{printed}");
    assert!(has("alert", "kind", "promotion_approved"), "{printed}");
    assert!(has("promotion_executed", "candidate", "HSPROD-DR1"), "{printed}");
    assert!(has("decision", "outcome", "approved"), "{printed}");
}

#[test]
fn the_status_page_shows_a_maintenance_window() {
    let data = tempfile::tempdir().expect("temp dir");
    let out = support::mirrorgate(&[
        "maintenance",
        "start",
        "HSPROD",
        "--for",
        "2h",
        "--reason",
        "OS patching <A & B>",
        "--by",
        "Ravi Patel",
        "--data",
        &data.path().display().to_string(),
    ]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let server = serve(data.path());
    let page = http(server.port, "GET", "/", None, b"");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"maintenance-HSPROD\""), "{}", page.body);
    assert!(
        page.body
            .contains("OS patching &lt;A &amp; B&gt; (started by Ravi Patel"),
        "{}",
        page.body
    );
    assert_eq!(
        status_json(server.port)["mirrors"][0]["maintenance"]["by"],
        "Ravi Patel"
    );
}
