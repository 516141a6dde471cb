//! How the agent handles what EventBridge answers, against a small local stand-in
//! for its endpoint that answers `PutEvents` with scripted replies: a failed entry
//! on throttling is sent again with backoff, a 5xx is retried, and an entry that is
//! refused for good is an error with the service's code and message.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use support::Host;

/// Serves the replies in order (status, body), one per request, on 127.0.0.1; returns
/// the endpoint and the request bodies received.
fn stand_in(replies: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for (status, body) in replies {
            let Ok((stream, _)) = listener.accept() else { return };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut request = vec![0u8; length];
            let _ = reader.read_exact(&mut request);
            seen.lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&request).into_owned());
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (endpoint, bodies)
}

fn env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

fn host() -> Host {
    let host = Host::new("HSPROD-B");
    host.fake_line("MIRRORGATE|1|mirror=HSPROD|status=Backup|detail=|type=Failover|latency=|bytes=|files=|error=");
    host
}

const THROTTLED: &str =
    r#"{"FailedEntryCount":1,"Entries":[{"ErrorCode":"ThrottlingException","ErrorMessage":"Rate exceeded"}]}"#;
const ACCEPTED: &str = r#"{"FailedEntryCount":0,"Entries":[{"EventId":"11111111-2222-3333-4444-555555555555"}]}"#;

#[test]
fn a_throttled_entry_and_a_5xx_are_sent_again() {
    let (endpoint, bodies) = stand_in(vec![
        (200, THROTTLED),
        (500, r#"{"__type":"InternalException","message":"try again"}"#),
        (200, ACCEPTED),
    ]);
    let ran = host().run(&["--once"], false, &env(&endpoint));
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("Backup; event id 11111111-2222-3333-4444-555555555555"),
        "{}",
        ran.stderr
    );
    let bodies = bodies.lock().expect("lock");
    assert_eq!(bodies.len(), 3, "three requests");
    // The same entry each time, as the agent built it.
    let entry: serde_json::Value = serde_json::from_str(&bodies[2]).expect("a JSON request");
    let e = &entry["Entries"][0];
    assert_eq!(e["Source"], "mirrorgate.iris");
    assert_eq!(e["DetailType"], "Mirror Member Heartbeat");
    assert_eq!(e["EventBusName"], "default");
    assert!(e["Time"].is_number(), "the observation time is sent: {e}");
    assert_eq!(
        e["Detail"],
        r#"{"mirror":"HSPROD","member":"HSPROD-B","status":"Backup"}"#
    );
    assert_eq!(bodies[0], bodies[2]);
}

#[test]
fn an_entry_refused_for_good_is_an_error_with_the_service_message() {
    let (endpoint, bodies) = stand_in(vec![(
        200,
        r#"{"FailedEntryCount":1,"Entries":[{"ErrorCode":"AccessDeniedException","ErrorMessage":"not authorized to put events with source mirrorgate.iris"}]}"#,
    )]);
    let ran = host().run(&["--once"], false, &env(&endpoint));
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "could not send Mirror Member Heartbeat HSPROD/HSPROD-B (Backup): PutEvents: EventBridge refused the event \
             on bus \"default\" in us-west-2: AccessDeniedException: not authorized to put events with source mirrorgate.iris"
        ),
        "{}",
        ran.stderr
    );
    assert_eq!(bodies.lock().expect("lock").len(), 1, "not sent again");
}

#[test]
fn throttled_every_time_gives_up_after_four_attempts() {
    let (endpoint, bodies) = stand_in(vec![(200, THROTTLED); 4]);
    let ran = host().run(&["--once"], false, &env(&endpoint));
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("ThrottlingException: Rate exceeded"),
        "{}",
        ran.stderr
    );
    assert_eq!(bodies.lock().expect("lock").len(), 4);
}
