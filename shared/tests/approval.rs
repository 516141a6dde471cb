//! The approval pages through the engine, on the embedded store: what GET shows,
//! what POST decides, every bad link, races, and that the token is never logged.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use shared::adapters::embedded::{FileStore, MemoryStore};
use shared::domain::Observer;
use shared::domain::{MemberStatus, Phase, RequestStatus, Signal, SignalKind};
use shared::engine::Report;
use shared::ports::Store;
use shared::token::OsTokens;
use shared::topology::Topology;
use shared::web::{approval, HttpRequest, HttpResponse};

#[cfg(feature = "emulator")]
use crate::aws_support;

use crate::reliability::{test_engine_on, TestEngine};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T03:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .expect("time")
}

fn topology(approvers: usize) -> Arc<Topology> {
    topology_named(approvers, "HSPROD")
}

/// The reference topology with the mirror renamed (tests sharing one DynamoDB table).
fn topology_named(approvers: usize, mirror: &str) -> Arc<Topology> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/topology.toml"))
        .expect("example topology");
    let text = text
        .replace("approvers_required = 1", &format!("approvers_required = {approvers}"))
        .replace("name = \"HSPROD\"\n", &format!("name = \"{mirror}\"\n"));
    Arc::new(Topology::parse("examples/topology.toml", &text).expect("valid"))
}

/// Real random link tokens: these tests present links as a browser would.
fn engine_on<S: Store>(store: S, approvers: usize) -> TestEngine<S> {
    test_engine_on(topology(approvers), store).with_tokens(Box::new(OsTokens))
}

fn signal(at: DateTime<Utc>, kind: SignalKind) -> Signal {
    signal_for("HSPROD", at, kind)
}

fn signal_for(mirror: &str, at: DateTime<Utc>, kind: SignalKind) -> Signal {
    Signal {
        mirror: mirror.into(),
        id: None,
        at,
        kind,
    }
}

fn observation(member: &str, observer: Observer, healthy: bool) -> SignalKind {
    SignalKind::Observation {
        unreachable: false,
        alarm_arn: None,
        since: None,
        member: member.into(),
        observer,
        healthy,
        source: "test".into(),
    }
}

fn status(member: &str, status: MemberStatus) -> SignalKind {
    SignalKind::Status {
        reason: None,
        member: member.into(),
        status,
        heartbeat: true,
        journal_latency: None,
    }
}

/// GIVEN the reference mirror WHEN its primary region is lost and confirmed
/// THEN a request is open; returns its link.
async fn open_request<S: Store>(engine: &TestEngine<S>) -> String {
    open_request_for(engine, "HSPROD").await
}

async fn open_request_for<S: Store>(engine: &TestEngine<S>, mirror: &str) -> String {
    let t = t0();
    let latency = |secs: f64| shared::domain::JournalLatency {
        received_at: None,
        seconds: secs,
        bytes: None,
        files: None,
        measured_at: t,
    };
    let setup = vec![
        observation("HSPROD-A", Observer::Route53, true),
        status("HSPROD-A", MemberStatus::Primary),
        SignalKind::Status {
            reason: None,
            member: "HSPROD-DR1".into(),
            status: MemberStatus::Connected,
            heartbeat: true,
            journal_latency: Some(latency(3.0)),
        },
    ];
    for kind in setup {
        engine.handle(signal_for(mirror, t, kind), t).await.expect("setup");
    }
    let lost = t + Duration::seconds(60);
    engine
        .handle(
            signal_for(mirror, lost, observation("HSPROD-A", Observer::Route53, false)),
            lost,
        )
        .await
        .expect("route53");
    engine
        .handle(
            signal_for(mirror, lost, observation("HSPROD-A", Observer::Instance, false)),
            lost,
        )
        .await
        .expect("instance");
    // DR1 loses its link with the primary: it waits for one (were it still
    // Connected, a primary would exist and nothing would be lost).
    engine
        .handle(
            signal_for(mirror, lost, status("HSPROD-DR1", MemberStatus::Waiting)),
            lost,
        )
        .await
        .expect("dr1 waiting");
    let confirmed = lost + Duration::seconds(180);
    // Keep DR1 heard from, so it stays a healthy candidate.
    let mut outcomes = vec![engine
        .handle(
            signal_for(mirror, confirmed, status("HSPROD-DR1", MemberStatus::Waiting)),
            confirmed,
        )
        .await
        .expect("dr1")];
    outcomes.extend(engine.tick(confirmed).await.expect("tick"));
    outcomes
        .iter()
        .flat_map(|o| &o.reports)
        .find_map(|r| match r {
            Report::Alert { link: Some(link), .. } => Some(link.clone()),
            _ => None,
        })
        .expect("the request alert carries a link")
}

fn path_of(link: &str) -> String {
    link.trim_start_matches("https://approve.example").to_string()
}

fn get(path: &str) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        path: path.into(),
        ..HttpRequest::default()
    }
}

fn post(path: &str, form: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: path.into(),
        content_type: Some("application/x-www-form-urlencoded".into()),
        body: form.as_bytes().to_vec(),
        source_ip: Some("198.51.100.7".into()),
        user_agent: Some("Mozilla/5.0 (test)".into()),
    }
}

fn now_after_request() -> DateTime<Utc> {
    t0() + Duration::seconds(300)
}

async fn phase<S: Store>(engine: &TestEngine<S>) -> Phase {
    engine.state("HSPROD", t0()).await.expect("state").phase
}

fn assert_page(r: &HttpResponse, status: u16, needle: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.body.contains(needle), "expected {needle:?} in:\n{}", r.body);
    let header = |n: &str| {
        r.headers
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(header("cache-control"), "no-store");
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn get_shows_the_request_and_decides_nothing() {
    let engine = engine_on(MemoryStore::default(), 1);
    let link = open_request(&engine).await;
    let token = link.rsplit('/').next().expect("token").to_string();
    for _ in 0..3 {
        let r = approval::handle(&engine, &get(&path_of(&link)), now_after_request()).await;
        assert_page(&r, 200, "Promote HSPROD-DR1 to primary of HSPROD?");
        assert!(
            r.body
                .contains("About 3.0 s of the most recent transactions may be lost"),
            "{}",
            r.body
        );
        assert!(r.body.contains("HSPROD-A"), "what failed");
        assert!(
            r.body.contains("Route 53 health checks, instance state and alarms"),
            "the observers that agreed: {}",
            r.body
        );
        assert!(r.body.contains("expires at 03:34 UTC"), "{}", r.body);
        assert!(!r.body.contains(&token), "the page never writes the token out");
    }
    assert_eq!(phase(&engine).await, Phase::PromotionPending);
}

#[tokio::test]
async fn approve_with_name_and_confirmation_promotes_once_and_audits() {
    let engine = engine_on(MemoryStore::default(), 1);
    let link = open_request(&engine).await;
    let r = approval::handle(
        &engine,
        &post(
            &path_of(&link),
            "approver=Dana+Whitfield&confirm=HSPROD&decision=approve",
        ),
        now_after_request(),
    )
    .await;
    assert_page(&r, 200, "Promotion approved");
    assert_eq!(phase(&engine).await, Phase::Promoting);
    let state = engine.state("HSPROD", t0()).await.expect("state");
    let request = state.latest_request().expect("request");
    assert_eq!(request.status, RequestStatus::Approved);
    let audit = &request.decisions[0];
    assert_eq!(audit.by, "Dana Whitfield");
    assert_eq!(audit.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(audit.user_agent.as_deref(), Some("Mozilla/5.0 (test)"));
    assert!(
        audit
            .shown
            .as_deref()
            .is_some_and(|s| s.contains("HSPROD-DR1") && s.contains("3.0 s")),
        "{audit:?}"
    );
    // The link is now used: a second submit and a reload both say so, and nothing runs again.
    let again = approval::handle(
        &engine,
        &post(&path_of(&link), "approver=Eve&confirm=HSPROD&decision=approve"),
        now_after_request(),
    )
    .await;
    assert_page(&again, 410, "already used");
    let reload = approval::handle(&engine, &get(&path_of(&link)), now_after_request()).await;
    assert_page(&reload, 410, "already used");
}

#[tokio::test]
async fn wrong_confirmation_or_missing_name_decides_nothing() {
    let engine = engine_on(MemoryStore::default(), 1);
    let link = open_request(&engine).await;
    let wrong = approval::handle(
        &engine,
        &post(&path_of(&link), "approver=Dana&confirm=HSPRD&decision=approve"),
        now_after_request(),
    )
    .await;
    assert_page(&wrong, 422, "does not match");
    let nameless = approval::handle(
        &engine,
        &post(&path_of(&link), "approver=&confirm=HSPROD&decision=approve"),
        now_after_request(),
    )
    .await;
    assert_page(&nameless, 422, "Type your name");
    let no_button = approval::handle(
        &engine,
        &post(&path_of(&link), "approver=Dana&confirm=HSPROD"),
        now_after_request(),
    )
    .await;
    assert_page(&no_button, 400, "Press Approve or Reject");
    assert_eq!(phase(&engine).await, Phase::PromotionPending);
    // The link still works afterwards.
    let ok = approval::handle(
        &engine,
        &post(&path_of(&link), "approver=Dana&confirm=hsprod&decision=reject"),
        now_after_request(),
    )
    .await;
    assert_page(&ok, 200, "Promotion rejected");
    assert_eq!(phase(&engine).await, Phase::PrimaryLost);
}

#[tokio::test]
async fn bad_links_each_get_a_clear_page() {
    let engine = engine_on(MemoryStore::default(), 1);
    let link = open_request(&engine).await;
    let path = path_of(&link);
    let truncated = &path[..path.len() - 3];
    assert_page(
        &approval::handle(&engine, &get(truncated), now_after_request()).await,
        400,
        "altered",
    );
    let bad_chars = format!("{}%", &path[..path.len() - 1]);
    assert_page(
        &approval::handle(&engine, &get(&bad_chars), now_after_request()).await,
        400,
        "altered",
    );
    let mut altered = path.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).expect("ascii");
    assert_page(
        &approval::handle(&engine, &get(&altered), now_after_request()).await,
        404,
        "does not know this link",
    );
    let expired = now_after_request() + Duration::seconds(3600);
    assert_page(&approval::handle(&engine, &get(&path), expired).await, 410, "expired");
    let r = approval::handle(
        &engine,
        &post(&path, "approver=Dana&confirm=HSPROD&decision=approve"),
        expired,
    )
    .await;
    assert_page(&r, 410, "expired");
    let put = HttpRequest {
        method: "PUT".into(),
        ..get(&path)
    };
    let r = approval::handle(&engine, &put, now_after_request()).await;
    assert_eq!(r.status, 405);
    let json = HttpRequest {
        content_type: Some("application/json".into()),
        ..post(&path, "{}")
    };
    assert_eq!(approval::handle(&engine, &json, now_after_request()).await.status, 415);
    let huge = post(
        &path,
        &format!("approver={}&confirm=HSPROD&decision=approve", "x".repeat(20_000)),
    );
    assert_eq!(approval::handle(&engine, &huge, now_after_request()).await.status, 413);
    assert_eq!(
        phase(&engine).await,
        Phase::PromotionPending,
        "none of these decided anything"
    );
}

#[tokio::test]
async fn a_superseded_request_says_the_primary_came_back() {
    let engine = engine_on(MemoryStore::default(), 1);
    let link = open_request(&engine).await;
    let back = now_after_request();
    engine
        .handle(signal(back, observation("HSPROD-A", Observer::Route53, true)), back)
        .await
        .expect("back");
    let r = approval::handle(&engine, &get(&path_of(&link)), back).await;
    assert_page(&r, 410, "The primary came back before a decision");
    let r = approval::handle(
        &engine,
        &post(&path_of(&link), "approver=Dana&confirm=HSPROD&decision=approve"),
        back,
    )
    .await;
    assert_page(&r, 410, "Nothing will be promoted");
}

#[tokio::test]
async fn latency_over_policy_needs_the_explicit_acceptance() {
    let engine = engine_on(MemoryStore::default(), 1);
    let link = open_request(&engine).await;
    let at = now_after_request();
    let late = shared::domain::JournalLatency {
        received_at: None,
        seconds: 95.0,
        bytes: Some(12_000_000),
        files: None,
        measured_at: at,
    };
    engine
        .handle(
            signal(
                at,
                SignalKind::JournalLatency {
                    member: "HSPROD-DR1".into(),
                    latency: late,
                },
            ),
            at,
        )
        .await
        .expect("latency");
    let page = approval::handle(&engine, &get(&path_of(&link)), at).await;
    assert_page(&page, 200, "I accept the data loss");
    let refused = approval::handle(
        &engine,
        &post(&path_of(&link), "approver=Dana&confirm=HSPROD&decision=approve"),
        at,
    )
    .await;
    assert_page(&refused, 409, "over the policy");
    assert_eq!(phase(&engine).await, Phase::PromotionPending);
    let accepted = approval::handle(
        &engine,
        &post(
            &path_of(&link),
            "approver=Dana&confirm=HSPROD&decision=approve&accept_loss=yes",
        ),
        at,
    )
    .await;
    assert_page(&accepted, 200, "Promotion approved");
}

#[tokio::test]
async fn two_approvers_are_needed_when_the_policy_says_so() {
    let engine = engine_on(MemoryStore::default(), 2);
    let link = open_request(&engine).await;
    let at = now_after_request();
    let first = approval::handle(
        &engine,
        &post(&path_of(&link), "approver=Dana&confirm=HSPROD&decision=approve"),
        at,
    )
    .await;
    assert_page(&first, 200, "1 of 2");
    assert_eq!(phase(&engine).await, Phase::PromotionPending);
    let second_link = engine
        .store()
        .load("HSPROD")
        .await
        .expect("load")
        .and_then(|s| s.latest_request().map(|r| r.tokens.len()))
        .expect("tokens");
    assert_eq!(second_link, 2, "the approval_recorded alert carried a fresh link");
}

/// 100 approvals at once, through the page with the same link and through the
/// operator's tool, on the file store: exactly one promotion runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_racing_approvals_execute_one_promotion() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Arc::new(engine_on(FileStore::open(dir.path()).expect("store"), 1));
    hundred_racing_approvals(engine, "HSPROD").await;
}

/// The same race on DynamoDB (the emulator started by scripts/test).
#[cfg(feature = "emulator")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_racing_approvals_on_dynamodb_execute_one_promotion() {
    let mirror = aws_support::unique("RACE");
    let store = aws_support::deps().await.store();
    let engine = test_engine_on(topology_named(1, &mirror), store).with_tokens(Box::new(OsTokens));
    hundred_racing_approvals(Arc::new(engine), &mirror).await;
}

async fn hundred_racing_approvals<S: Store + 'static>(engine: Arc<TestEngine<S>>, mirror: &str) {
    let link = open_request_for(&engine, mirror).await;
    let at = now_after_request();
    let request_id = engine
        .state(mirror, at)
        .await
        .expect("state")
        .latest_request()
        .expect("request")
        .id
        .clone();
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let mut tasks = Vec::new();
    for i in 0..100 {
        let engine = engine.clone();
        let barrier = barrier.clone();
        let path = path_of(&link);
        let request_id = request_id.clone();
        let mirror = mirror.to_string();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            if i % 2 == 0 {
                let form = format!("approver=Op{i}&confirm={mirror}&decision=approve");
                approval::handle(&*engine, &post(&path, &form), at).await.status
            } else {
                let decision = shared::domain::Decision {
                    request: request_id,
                    action: shared::domain::DecisionAction::Approve,
                    by: format!("Op{i}"),
                    accept_loss: false,
                    authority: shared::domain::Authority::Operator,
                    source_ip: None,
                    user_agent: None,
                    shown: None,
                };
                engine
                    .handle(signal_for(&mirror, at, SignalKind::Decision(decision)), at)
                    .await
                    .expect("handled");
                0
            }
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    assert_eq!(
        engine_actions(&engine),
        1,
        "exactly one promotion ran; page answers: {statuses:?}"
    );
    let state = engine.state(mirror, at).await.expect("state");
    assert_eq!(state.phase, Phase::Promoting);
    assert_eq!(state.latest_request().map(|r| r.status), Some(RequestStatus::Approved));
}

fn engine_actions<S: Store>(engine: &TestEngine<S>) -> usize {
    engine.actions().recorded().len()
}

#[tokio::test]
async fn the_token_never_appears_in_the_logs() {
    let captured = crate::logs::capture();
    let engine = engine_on(MemoryStore::default(), 1);
    let link = open_request(&engine).await;
    let token = link.rsplit('/').next().expect("token").to_string();
    let path = path_of(&link);
    let at = now_after_request();
    approval::handle(&engine, &get(&path), at).await;
    approval::handle(
        &engine,
        &post(&path, "approver=Dana&confirm=WRONG&decision=approve"),
        at,
    )
    .await;
    approval::handle(
        &engine,
        &post(&path, "approver=Dana&confirm=HSPROD&decision=approve"),
        at,
    )
    .await;
    approval::handle(
        &engine,
        &post(&path, "approver=Dana&confirm=HSPROD&decision=approve"),
        at,
    )
    .await;
    let logs = captured.text();
    assert!(
        logs.contains("approval page decision"),
        "the decision was logged: {logs}"
    );
    assert!(!logs.contains(&token), "the token leaked into the logs");
    let hash = shared::token::hash_token(&token);
    assert!(!logs.contains(&hash), "not even its hash is logged");
}

/// GIVEN a healthy mirror and a drill WHEN its link is opened, twice, and the form
/// approves it THEN the page says DRILL, the first opening is kept for the report, and
/// the approval runs the drill document, never the promotion, the phase unchanged.
#[tokio::test]
async fn a_drill_page_is_marked_drill_records_its_opening_and_promotes_nothing() {
    let engine = engine_on(MemoryStore::default(), 1);
    let t = t0();
    let healthy = vec![
        observation("HSPROD-A", Observer::Route53, true),
        status("HSPROD-A", MemberStatus::Primary),
        status("HSPROD-B", MemberStatus::Backup),
        SignalKind::Status {
            reason: None,
            member: "HSPROD-DR1".into(),
            status: MemberStatus::Connected,
            heartbeat: true,
            journal_latency: Some(shared::domain::JournalLatency {
                received_at: None,
                seconds: 2.0,
                bytes: None,
                files: None,
                measured_at: t,
            }),
        },
    ];
    for kind in healthy {
        engine.handle(signal(t, kind), t).await.expect("setup");
    }
    let drilled = engine
        .handle(
            signal(
                t,
                SignalKind::Drill {
                    by: "Ravi Patel".into(),
                },
            ),
            t,
        )
        .await
        .expect("drill");
    let link = drilled
        .reports
        .iter()
        .find_map(|r| match r {
            Report::Alert { link: Some(link), .. } => Some(link.clone()),
            _ => None,
        })
        .expect("the drill alert carries a link");
    let opened = t + Duration::seconds(40);
    for at in [opened, opened + Duration::seconds(30)] {
        let r = approval::handle(&engine, &get(&path_of(&link)), at).await;
        assert_page(&r, 200, "DRILL: would you promote HSPROD-DR1 to primary of HSPROD?");
        assert!(
            r.body.contains("DRILL: no real loss. Nothing will be promoted."),
            "{}",
            r.body
        );
    }
    let state = engine.state("HSPROD", opened).await.expect("state");
    assert_eq!(state.request("HSPROD-R1").and_then(|r| r.opened_at), Some(opened));
    let r = approval::handle(
        &engine,
        &post(
            &path_of(&link),
            "approver=Dana+Whitfield&confirm=HSPROD&decision=approve",
        ),
        opened + Duration::seconds(60),
    )
    .await;
    assert_page(&r, 200, "DRILL approved by Dana Whitfield");
    assert!(engine.actions().recorded().is_empty(), "nothing promoted");
    assert_eq!(engine.actions().drilled().len(), 1, "the drill document, once");
    assert_eq!(phase(&engine).await, Phase::Normal);
}
