//! `mirrorgate serve` as a process, under abuse, with a live approval link (a
//! replay of the region outage shifted to end a minute ago): wrong methods, wrong
//! content types, oversized and malformed bodies and paths, then 300 seeded random
//! requests. Every answer is a clear 4xx (or the page), never a 5xx; nothing is
//! decided until the real form is posted, once. The link's code shows up in the
//! alert lines of `--json` and the outbox file (the local alert channel) only.

use crate::support::{free_port, http, moved_to_now, replay_link, root, stderr, stdout, Server};

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
    let text =
        std::fs::read_to_string(root().join("examples/scenarios/region-outage-pending.jsonl")).expect("scenario");
    std::fs::write(&scenario, moved_to_now(&text, 60)).expect("write");
    let (path, out) = replay_link(data.path(), &scenario, port);
    let code = path.trim_start_matches("/a/").to_string();
    assert_eq!(code.len(), 22, "{path}");

    let stderr_path = data.path().join("serve.stderr");
    let stdout_path = data.path().join("serve.stdout");
    let server = Server::start(
        port,
        data.path(),
        &["--json", "--tick-secs", "3600"],
        std::fs::File::create(&stdout_path).expect("stdout file"),
        std::fs::File::create(&stderr_path).expect("stderr file"),
    );
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
    for line in stdout(&out).lines().filter(|l| l.contains(&code)) {
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
    assert!(!stderr(&out).contains(&code), "the code is on replay's stderr");
}
