//! Any request to the approval pages (method, path, content type, body) against a
//! mirror with an open promotion request: never a panic, never a server error,
//! always a page with the security headers; the link's code is never echoed back
//! (unless typed into the form, which the page shows back).
//!
//! The input is split on the first three 0xFF bytes: method, path, content type,
//! body. Links are predictable here (`CountingTokens`: the open request's link is
//! `/a/00000000000000000test1`), so the fuzzer can reach the decision itself.
#![no_main]

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use shared::adapters::embedded::{MemoryNotifier, MemoryStore, RecordingActions};
use shared::domain::{JournalLatency, MemberStatus, Signal, SignalKind};
use shared::engine::Engine;
use shared::token::CountingTokens;
use shared::domain::Observer;
use shared::topology::Topology;
use shared::web::approval::Form;
use shared::web::{approval, HttpRequest};

/// Runs a future of the in-memory adapters (they never wait) to completion.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).single().unwrap_or_default() + Duration::seconds(secs)
}

type FuzzEngine = Engine<MemoryStore, MemoryNotifier, RecordingActions>;

/// A fresh engine whose mirror waits for a decision on HSPROD-R1.
fn engine() -> FuzzEngine {
    let topology = Topology::parse("examples/topology.toml", include_str!("../../examples/topology.toml"))
        .unwrap_or_else(|e| panic!("the example topology: {e}"));
    let engine = Engine::new(
        Arc::new(topology),
        MemoryStore::default(),
        MemoryNotifier::default(),
        RecordingActions::new(None),
        "https://approve.example",
    )
    .with_tokens(Box::new(CountingTokens::default()));
    let signal = |at: i64, kind: SignalKind| Signal {
        mirror: "HSPROD".into(),
        id: None,
        at: t(at),
        kind,
    };
    let observe = |member: &str, observer, healthy| SignalKind::Observation {
        member: member.into(),
        observer,
        healthy,
        source: "fuzz".into(),
        since: None,
        alarm_arn: None,
        unreachable: false,
    };
    // The primary region is lost: DR1 waits for a primary (Connected would prove one).
    let waiting = |at: i64| {
        signal(
            at,
            SignalKind::Status {
                member: "HSPROD-DR1".into(),
                status: MemberStatus::Waiting,
                heartbeat: true,
                journal_latency: None,
                reason: None,
            },
        )
    };
    let steps = [
        signal(0, observe("HSPROD-A", Observer::Route53, true)),
        signal(
            0,
            SignalKind::Status {
                member: "HSPROD-DR1".into(),
                status: MemberStatus::Connected,
                heartbeat: true,
                journal_latency: Some(JournalLatency {
                    seconds: 2.0,
                    bytes: None,
                    files: None,
                    measured_at: t(0),
                    received_at: None,
                }),
                reason: None,
            },
        ),
        signal(60, observe("HSPROD-A", Observer::Route53, false)),
        signal(60, observe("HSPROD-A", Observer::Instance, false)),
        waiting(60),
        signal(100, SignalKind::Tick),
        waiting(240),
        signal(240, SignalKind::Tick),
    ];
    for step in steps {
        let at = step.at;
        if let Err(e) = block_on(engine.handle(step, at)) {
            panic!("set up: {e}");
        }
    }
    engine
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |b| *b == 0xFF);
    let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (method, path, content_type) = (text(), text(), text());
    let body = parts.next().unwrap_or_default().to_vec();
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/a/{path}")
    };
    let req = HttpRequest {
        method,
        path: path.clone(),
        content_type: (!content_type.is_empty()).then_some(content_type),
        body,
        source_ip: Some("192.0.2.1".into()),
        user_agent: Some("fuzz".into()),
    };
    let engine = engine();
    let response = block_on(approval::handle(&engine, &req, t(300)));
    assert!((200..500).contains(&response.status), "status {}", response.status);
    assert!(response
        .headers
        .iter()
        .any(|(k, v)| *k == "cache-control" && v == "no-store"));
    // (The page shows back what was typed into the form, so a code typed there may appear.)
    let typed = String::from_utf8_lossy(&req.body).into_owned();
    if let Some(code) = path.strip_prefix(approval::PREFIX) {
        if code.len() >= 8 && !typed.contains(code) && !Form::parse(&req.body).approver.contains(code) {
            assert!(!response.body.contains(code), "the link's code was echoed back");
        }
    }
    assert!(engine.actions().recorded().len() <= 1);
});
