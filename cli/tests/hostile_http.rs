//! `mirrorgate serve` as a process, under abuse, with a live approval link (a
//! replay of the region outage shifted to end a minute ago): wrong methods, wrong
//! content types, oversized and malformed bodies and paths, then 300 seeded random
//! requests. Every answer is a clear 4xx (or the page), never a 5xx; nothing is
//! decided until the real form is posted, once. The link's code shows up in the
//! alert lines of `--json` and the outbox file (the local alert channel) only.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};

const BIN: &str = env!("CARGO_BIN_EXE_mirrorgate");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

fn http(port: u16, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        request.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    request.push_str("\r\n");
    let _ = stream.write_all(request.as_bytes());
    // A server may answer (413) before reading a large body; ignore a reset while sending.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Answer {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// The scenario with every time moved so that its last line is `ends_ago` ago.
fn shifted(name: &str, ends_ago: chrono::Duration) -> String {
    let text = std::fs::read_to_string(root().join("examples/scenarios").join(name)).expect("scenario");
    let end = NaiveDateTime::parse_from_str("2026-11-25T03:05:40", "%Y-%m-%dT%H:%M:%S").expect("time");
    let shift = (Utc::now().naive_utc() - ends_ago) - end;
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("2026-11-25T") {
        out.push_str(&rest[..i]);
        let stamp = &rest[i..i + 19];
        let time = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S").expect("a time");
        out.push_str(&(time + shift).format("%Y-%m-%dT%H:%M:%S").to_string());
        rest = &rest[i + 19..];
    }
    out.push_str(rest);
    out
}

/// splitmix64: the seeded choices of the random requests.
fn mix(z: &mut u64) -> u64 {
    *z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut x = *z;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn phase(port: u16) -> String {
    let a = http(port, "GET", "/status.json", None, b"");
    assert_eq!(a.status, 200);
    let start = a.body.find("\"phase\":\"").expect("a phase") + 9;
    a.body[start..].split('"').next().unwrap_or_default().to_string()
}

#[test]
fn abuse_of_the_http_endpoints_gets_clear_4xx_answers_and_decides_nothing() {
    let data = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let scenario = data.path().join("outage.jsonl");
    std::fs::write(
        &scenario,
        shifted("region-outage-pending.jsonl", chrono::Duration::seconds(60)),
    )
    .expect("write");
    let out = Command::new(BIN)
        .current_dir(root())
        .args([
            "replay",
            "--json",
            "--public-url",
            &format!("http://127.0.0.1:{port}"),
            "--data",
        ])
        .arg(data.path())
        .arg(&scenario)
        .output()
        .expect("replay runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let link = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["link"].as_str().map(str::to_string))
        .expect("the request's alert has a link");
    let path = link.trim_start_matches(&format!("http://127.0.0.1:{port}")).to_string();
    let code = path.trim_start_matches("/a/").to_string();
    assert_eq!(code.len(), 22, "{link}");

    let stderr_path = data.path().join("serve.stderr");
    let stdout_path = data.path().join("serve.stdout");
    let server = Server(
        Command::new(BIN)
            .current_dir(root())
            .args(["serve", "--json", "--tick-secs", "3600", "--data"])
            .arg(data.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
            .spawn()
            .expect("serve"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(phase(port), "promotion_pending");
    let page = http(port, "GET", &path, None, b"");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Promote HSPROD-DR1"), "{}", page.body);
    assert!(!page.body.contains(&code), "the page never writes its own link out");

    // Methods the page does not take.
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let a = http(port, method, &path, None, b"");
        assert_eq!(a.status, 405, "{method}: {}", a.body);
        assert!(a.head.contains("allow: get, head, post"), "{method}: {}", a.head);
    }
    for (method, route) in [
        ("PUT", "/events"),
        ("DELETE", "/events"),
        ("POST", "/"),
        ("POST", "/status.json"),
    ] {
        assert_eq!(http(port, method, route, None, b"").status, 405, "{method} {route}");
    }
    // Content types the form never sends.
    let form = b"approver=Mallory&confirm=HSPROD&decision=approve";
    for ct in [
        Some("text/plain"),
        Some("application/json"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let a = http(port, "POST", &path, ct, form);
        assert_eq!(a.status, 415, "{ct:?}: {}", a.body);
        assert!(a.body.contains("Nothing was decided"), "{}", a.body);
    }
    // Oversized bodies.
    for size in [9 * 1024, 300 * 1024] {
        let mut big = form.to_vec();
        big.extend(std::iter::repeat_n(b'x', size));
        let a = http(port, "POST", &path, Some("application/x-www-form-urlencoded"), &big);
        assert_eq!(a.status, 413, "{size} bytes: {}", a.body);
    }
    let huge = vec![b'{'; 300 * 1024];
    assert_eq!(
        http(port, "POST", "/events", Some("application/json"), &huge).status,
        413
    );
    // Malformed forms and paths.
    let ct = Some("application/x-www-form-urlencoded");
    assert_eq!(
        http(port, "POST", &path, ct, b"approver=Mallory&confirm=HSPROD").status,
        400
    );
    assert_eq!(
        http(port, "POST", &path, ct, b"approver=&confirm=HSPROD&decision=approve").status,
        422
    );
    assert_eq!(
        http(
            port,
            "POST",
            &path,
            ct,
            b"approver=Mallory&confirm=NOPE&decision=approve"
        )
        .status,
        422
    );
    assert_eq!(http(port, "POST", &path, ct, b"\xff\xfe%%%&&&==").status, 400);
    assert_eq!(http(port, "GET", "/a/short", None, b"").status, 400);
    assert_eq!(
        http(port, "GET", "/a/%2e%2e%2f%2e%2e%2fetc%2fpasswd", None, b"").status,
        400
    );
    assert_eq!(
        http(port, "GET", &format!("/a/{}", "A".repeat(22)), None, b"").status,
        404
    );
    let long = format!("/a/{}", "x".repeat(16 * 1024));
    let a = http(port, "GET", &long, None, b"");
    assert!((400..500).contains(&a.status), "a 16 KB path: {}", a.status);
    assert_eq!(phase(port), "promotion_pending", "nothing above decided anything");

    // Seeded random requests.
    let methods = [
        "GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO",
    ];
    let paths = [
        path.clone(),
        format!("{path}x"),
        "/a/".to_string(),
        "/".to_string(),
        "/status.json".to_string(),
        "/events".to_string(),
        "/nope".to_string(),
        format!("/a/{}", &code[..21]),
    ];
    let types = [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("application/json"),
        Some("text/html"),
        Some("x"),
    ];
    let mut seed = 0x5eed_u64;
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..300 {
        let method = methods[(mix(&mut seed) % methods.len() as u64) as usize];
        let route = &paths[(mix(&mut seed) % paths.len() as u64) as usize];
        let ct = types[(mix(&mut seed) % types.len() as u64) as usize];
        let len = (mix(&mut seed) % 12_000) as usize;
        let body: Vec<u8> = (0..len).map(|_| (mix(&mut seed) % 256) as u8).collect();
        let a = http(port, method, route, ct, &body);
        *statuses.entry(a.status).or_insert(0) += 1;
        assert!(
            (200..500).contains(&a.status),
            "{method} {route} {ct:?} ({len} bytes) -> {}",
            a.status
        );
    }
    assert!(statuses.keys().all(|s| *s < 500), "{statuses:?}");
    assert_eq!(phase(port), "promotion_pending", "no random request decided anything");

    // The real form, once; then the link is used.
    let real = b"approver=Dana+Whitfield&confirm=HSPROD&decision=approve";
    let a = http(port, "POST", &path, ct, real);
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("Promotion approved"), "{}", a.body);
    assert_eq!(http(port, "POST", &path, ct, real).status, 410);
    assert_eq!(phase(port), "promoting");
    drop(server);

    let promotions = std::fs::read_to_string(data.path().join("promotions.jsonl")).expect("recorded");
    assert_eq!(promotions.lines().count(), 1, "one promotion");

    // Where the code is: the alert lines of --json and the outbox (the alert channel).
    for line in stdout.lines().filter(|l| l.contains(&code)) {
        assert!(
            line.contains("\"effect\":\"alert\""),
            "the code outside an alert: {line}"
        );
    }
    let outbox = std::fs::read_to_string(data.path().join("outbox.jsonl")).expect("outbox");
    assert!(outbox.contains(&code), "the outbox is the local alert channel");
    for file in [
        "state.jsonl",
        "promotions.jsonl",
        "dead-letter.jsonl",
        "serve.stdout",
        "serve.stderr",
    ] {
        let text = std::fs::read_to_string(data.path().join(file)).unwrap_or_default();
        assert!(!text.contains(&code), "the code is in {file}");
    }
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(&code),
        "the code is on replay's stderr"
    );
}
