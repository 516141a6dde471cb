//! Hostile input, as property tests (the fuzz targets in fuzz/ do the same with
//! coverage guidance): the topology parser, the approval form and pages, link
//! codes, the function URL request, and hostile values carried through the core.
//! Never a panic; every refusal clear; nothing decided by a malformed request.
//! (Every AWS payload decoder: shared/tests/decode.rs.)

use crate::reliability;

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::Duration;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reliability::*;
use shared::adapters::embedded::MemoryStore;
use shared::domain::alert::{MAX_SMS, MAX_SUBJECT};
use shared::engine::Report;
use shared::topology::{Topology, MAX_POLICY_SECS};
use shared::web::approval::{self, Form};
use shared::web::{HttpRequest, MAX_FORM_BYTES};

fn runner(cases: u32, seed: u8) -> TestRunner {
    let config = Config {
        cases: reliability::cases(cases),
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]))
}

fn example() -> String {
    std::fs::read_to_string(root().join("examples/topology.toml")).expect("example topology")
}

// ---- the topology file --------------------------------------------------------------

/// Any text: parsed or refused with the file, and a field or "(syntax)", named.
#[test]
fn any_text_as_a_topology_is_parsed_or_refused_by_field() {
    runner(256, 1)
        .run(&prop::collection::vec(any::<u8>(), 0..2048), |bytes| {
            let text = String::from_utf8_lossy(&bytes);
            if let Err(e) = Topology::parse("hostile.toml", &text) {
                prop_assert_eq!(&e.file, "hostile.toml");
                prop_assert!(!e.field.is_empty() && !e.message.is_empty(), "{}", e);
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

#[derive(Debug, Clone)]
enum Edit {
    Delete,
    Duplicate,
    Value(String),
    Insert(String),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        Just(Edit::Delete),
        Just(Edit::Duplicate),
        prop_oneof![
            Just("\"\"".to_string()),
            Just("0".to_string()),
            Just("-1".to_string()),
            Just("18446744073709551615".to_string()),
            Just("99999999999999999999999".to_string()),
            Just("\"i-xyz\"".to_string()),
            Just("\"HSPROD-A\"".to_string()),
            Just("\"failover\"".to_string()),
            Just("[]".to_string()),
            Just("{}".to_string()),
            Just("nan".to_string()),
            "\"[^\"\\\\]{0,40}\"",
        ]
        .prop_map(Edit::Value),
        "[a-z_]{1,12} = [0-9\"a-z]{0,8}".prop_map(Edit::Insert),
        (0usize..4000).prop_map(Edit::Truncate),
    ]
}

/// The example file with its lines deleted, doubled, given other values (empty,
/// negative, huge, of the wrong type), other keys, or cut short: parsed (and then
/// usable by the engine) or refused with the mirror and field named.
#[test]
fn an_edited_example_topology_is_usable_or_refused_by_field() {
    let text = example();
    let lines: Vec<&str> = text.lines().collect();
    runner(256, 2)
        .run(
            &prop::collection::vec((any::<prop::sample::Index>(), edit()), 1..4),
            |edits| {
                let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                let mut cut = None;
                for (at, e) in edits {
                    let i = at.index(lines.len().max(1));
                    match e {
                        Edit::Delete => {
                            lines.remove(i);
                        }
                        Edit::Duplicate => {
                            let l = lines[i].clone();
                            lines.insert(i, l);
                        }
                        Edit::Value(v) => {
                            if let Some((key, _)) = lines[i].split_once(" = ") {
                                lines[i] = format!("{key} = {v}");
                            }
                        }
                        Edit::Insert(l) => lines.insert(i, l),
                        Edit::Truncate(n) => cut = Some(n),
                    }
                }
                let mut text = lines.join("\n");
                if let Some(n) = cut {
                    let n = text.char_indices().nth(n).map_or(text.len(), |(i, _)| i);
                    text.truncate(n);
                }
                match Topology::parse("edited.toml", &text) {
                    Err(e) => prop_assert!(!e.field.is_empty() && !e.message.is_empty(), "{}", e),
                    Ok(topology) => {
                        // Usable: a region outage goes through the engine without a panic.
                        runtime().block_on(region_outage_on(topology));
                    }
                }
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Every policy value, from 0 to u64::MAX: the whole region outage and a day of
/// ticks run without an overflow, and alerts keep their lengths. Each key draws only
/// the extremes a topology may hold for it (the others are refused by field), so every
/// case runs the engine.
#[test]
fn extreme_policy_values_never_overflow() {
    let extremes = [
        0u64,
        1,
        59,
        180,
        86_400,
        MAX_POLICY_SECS,
        u64::from(u32::MAX),
        i64::MAX as u64,
        u64::MAX,
    ];
    let keys = [
        "confirmation_window_secs",
        "min_observers",
        "approval_expiry_secs",
        "max_journal_latency_secs",
        "reminder_interval_secs",
        "cool_down_secs",
        "approvers_required",
        "heartbeat_stale_secs",
        "promotion_timeout_secs",
    ];
    let text = example();
    let edited = |values: &[(&str, u64)]| {
        let mut edited = text.clone();
        for (key, value) in values {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{key} = ")))
                .expect("the example sets every policy value");
            edited = edited.replace(line, &format!("{key} = {value}"));
        }
        edited
    };
    // The extremes each key may hold, the other keys as in the example.
    let allowed: Vec<Vec<u64>> = keys
        .iter()
        .map(|key| {
            let allowed: Vec<u64> = extremes
                .into_iter()
                .filter(|value| {
                    let parsed = Topology::parse("extreme.toml", &edited(&[(key, *value)]));
                    if let Err(e) = &parsed {
                        assert!(!e.field.is_empty() && !e.message.is_empty(), "{e}");
                    }
                    parsed.is_ok()
                })
                .collect();
            assert!(!allowed.is_empty(), "no extreme value of {key} is allowed");
            allowed
        })
        .collect();
    let values: Vec<_> = allowed.into_iter().map(prop::sample::select).collect();
    let cases = reliability::cases(96);
    let ran = AtomicU32::new(0);
    runner(96, 3)
        .run(&values, |values| {
            let values: Vec<(&str, u64)> = keys.into_iter().zip(values).collect();
            let topology = Topology::parse("extreme.toml", &edited(&values))
                .unwrap_or_else(|e| panic!("{values:?} together are refused: {e}"));
            runtime().block_on(region_outage_on(topology));
            ran.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ran.into_inner(), cases, "every case ran the region outage");
}

/// The region outage, approved, then a day of hourly ticks, on a topology named
/// HSPROD (other mirrors are ignored); every alert within its lengths.
async fn region_outage_on(topology: Topology) {
    if topology.mirror("HSPROD").is_none() {
        return;
    }
    let engine = test_engine_on(std::sync::Arc::new(topology), MemoryStore::default());
    let mut reports = Vec::new();
    let mut now = t(0);
    for d in scenario("region-outage.jsonl") {
        now = d.at;
        if let Ok(r) = deliver_once(&engine, "HSPROD", &d.what, now).await {
            reports.extend(r);
        }
    }
    for hour in 1..=24 {
        if let Ok(r) = deliver_once(&engine, "HSPROD", &What::Tick, now + Duration::hours(hour)).await {
            reports.extend(r);
        }
    }
    for r in &reports {
        if let Report::Alert { subject, sms, .. } = r {
            assert!(subject.chars().count() <= MAX_SUBJECT, "{subject}");
            assert!(sms.chars().count() <= MAX_SMS, "{sms}");
        }
    }
}

// ---- the approval form and pages ------------------------------------------------------

/// Any bytes as the form: parsed without a panic, fields trimmed; a well-formed
/// form reads back what was typed.
#[test]
fn any_form_body_parses_and_a_real_one_reads_back() {
    runner(512, 4)
        .run(&prop::collection::vec(any::<u8>(), 0..4096), |bytes| {
            let form = Form::parse(&bytes);
            for field in [&form.approver, &form.confirm, &form.decision] {
                prop_assert_eq!(field.trim(), field.as_str());
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    runner(256, 5)
        .run(&("[^\\s]([^&=]{0,60}[^\\s])?", any::<bool>()), |(name, accept)| {
            let body = form_urlencoded::Serializer::new(String::new())
                .append_pair("approver", &name)
                .append_pair("confirm", "HSPROD")
                .append_pair("decision", "approve")
                .append_pair("accept_loss", if accept { "yes" } else { "no" })
                .finish();
            let form = Form::parse(body.as_bytes());
            prop_assert_eq!(form.approver, name.trim());
            prop_assert_eq!(form.confirm, "HSPROD");
            prop_assert_eq!(form.accept_loss, accept);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

fn methods() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("POST".to_string()),
        2 => Just("GET".to_string()),
        2 => prop::sample::select(vec!["HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "post", "gEt"])
            .prop_map(str::to_string),
        1 => "[A-Za-z\\-]{0,12}",
        1 => ".{0,8}",
    ]
}

fn content_types() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        4 => Just("application/x-www-form-urlencoded".to_string()),
        1 => Just("application/x-www-form-urlencoded; charset=utf-8".to_string()),
        1 => Just("APPLICATION/X-WWW-FORM-URLENCODED".to_string()),
        1 => Just("application/json".to_string()),
        1 => Just("multipart/form-data; boundary=x".to_string()),
        1 => Just("text/plain".to_string()),
        1 => ".{0,40}",
    ])
}

fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        "(approver|confirm|decision|accept_loss|x)=[^&]{0,20}(&(approver|confirm|decision|accept_loss)=[^&]{0,20}){0,4}"
            .prop_map(String::into_bytes),
        (MAX_FORM_BYTES - 8..MAX_FORM_BYTES * 3).prop_map(|n| {
            format!("approver=x&confirm=HSPROD&decision=approve&pad={}", "x".repeat(n)).into_bytes()
        }),
    ]
}

/// Any method, path, content type and body, to the pages of a mirror whose request
/// waits: a clear page (never a 5xx) with the security headers, the link's code
/// never echoed back, and nothing decided unless the form was the real one, filled in.
#[test]
fn hostile_requests_to_the_approval_pages_get_clear_answers_and_decide_nothing() {
    let rt = runtime();
    let engine = test_engine();
    let now = rt.block_on(async {
        for d in scenario("region-outage-pending.jsonl") {
            deliver_once(&engine, "HSPROD", &d.what, d.at).await.expect("set up");
        }
        t(360)
    });
    let link = "/a/00000000000000000test1";
    let paths = prop_oneof![
        3 => Just(link.to_string()),
        1 => Just(format!("{link}/")),
        1 => Just(format!("{link}?x=1")),
        1 => Just("/a/".to_string()),
        2 => "/a/[A-Za-z0-9_-]{22}",
        2 => "/a/.{0,40}",
        1 => "/a/%[0-9A-F]{2}[A-Za-z0-9_-]{19}",
    ];
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::new());
    runner(512, 6)
        .run(
            &(methods(), paths, content_types(), bodies()),
            |(method, path, content_type, body)| {
                let req = HttpRequest {
                    method: method.clone(),
                    path: path.clone(),
                    content_type: content_type.clone(),
                    body: body.clone(),
                    source_ip: Some("203.0.113.9".into()),
                    user_agent: Some("hostile".into()),
                };
                let before = rt.block_on(engine.state("HSPROD", now)).expect("state");
                let r = rt.block_on(approval::handle(&engine, &req, now));
                *statuses.borrow_mut().entry(r.status).or_insert(0usize) += 1;
                prop_assert!(
                    [200, 400, 404, 405, 409, 410, 413, 415, 422].contains(&r.status),
                    "{} {} -> {}",
                    method,
                    path,
                    r.status
                );
                prop_assert!(r.headers.iter().any(|(k, v)| *k == "cache-control" && v == "no-store"));
                prop_assert!(r.headers.iter().any(|(k, _)| *k == "content-security-policy"));
                let code = path.trim_start_matches("/a/");
                let form = Form::parse(&body);
                // The page shows back what was typed into the form.
                let typed = [&form.approver, &form.confirm, &form.decision]
                    .iter()
                    .any(|f| f.contains(code));
                if code.len() >= 8 && !typed {
                    prop_assert!(!r.body.contains(code), "the code was echoed: {} {}", method, path);
                }
                let state = rt.block_on(engine.state("HSPROD", now)).expect("state");
                let real = method.eq_ignore_ascii_case("POST")
                    && path == link
                    && content_type
                        .as_deref()
                        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
                    && body.len() <= MAX_FORM_BYTES
                    && form.confirm.eq_ignore_ascii_case("HSPROD")
                    && !form.approver.is_empty()
                    && matches!(form.decision.as_str(), "approve" | "reject");
                prop_assert!(
                    real || state == before,
                    "decided by {} {} {:?} {:?}",
                    method,
                    path,
                    content_type,
                    String::from_utf8_lossy(&body)
                );
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let statuses = statuses.into_inner();
    for status in [200, 400, 404, 405, 413, 415] {
        assert!(
            statuses.contains_key(&status),
            "no case answered {status}: {statuses:?}"
        );
    }
}

// ---- the function URL request (the approval-api Lambda) -------------------------------

#[cfg(feature = "emulator")]
fn function_url_sample() -> serde_json::Value {
    serde_json::json!({
        "version": "2.0",
        "rawPath": "/a/00000000000000000test1",
        "rawQueryString": "",
        "headers": {"content-type": "application/x-www-form-urlencoded", "user-agent": "Mozilla/5.0"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdefghijklmnop",
            "domainName": "abcdefghijklmnop.lambda-url.us-west-2.on.aws",
            "domainPrefix": "abcdefghijklmnop",
            "http": {"method": "POST", "path": "/a/00000000000000000test1", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "Mozilla/5.0"},
            "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "25/Nov/2026:03:09:30 +0000", "timeEpoch": 1795575000000u64
        },
        "body": "YXBwcm92ZXI9RGFuYSZjb25maXJtPUhTUFJPRCZkZWNpc2lvbj1hcHByb3Zl",
        "isBase64Encoded": true
    })
}

/// Any JSON, and the function URL request with any field replaced or removed:
/// read into a page request or refused, never a panic; a base64 body is decoded.
#[cfg(feature = "emulator")]
#[test]
fn any_function_url_request_is_read_or_refused() {
    use shared::handlers::approval_api::http_request;
    let sample = function_url_sample();
    let read = http_request(&sample).expect("the sample reads");
    assert_eq!(read.method, "POST");
    assert_eq!(read.body, b"approver=Dana&confirm=HSPROD&decision=approve");
    let values = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,30}".prop_map(serde_json::Value::from),
        Just(serde_json::json!({})),
        Just(serde_json::json!([])),
    ];
    let fields = prop::sample::select(vec![
        "/rawPath",
        "/headers",
        "/headers/content-type",
        "/requestContext",
        "/requestContext/http",
        "/requestContext/http/method",
        "/requestContext/http/sourceIp",
        "/body",
        "/isBase64Encoded",
        "/version",
    ]);
    runner(512, 7)
        .run(&(fields, values, any::<bool>()), |(field, value, remove)| {
            let mut v = sample.clone();
            let (parent, key) = field.rsplit_once('/').unwrap_or(("", field));
            if let Some(serde_json::Value::Object(map)) = v.pointer_mut(parent) {
                if remove {
                    map.remove(key);
                } else {
                    map.insert(key.to_string(), value);
                }
            }
            let _ = http_request(&v);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

#[cfg(feature = "emulator")]
use crate::aws_support;

/// The approval function behind its function URL (the emulator for its table):
/// an oversized body, another path, another method, another content type each get
/// their 4xx page, and decide nothing.
#[cfg(feature = "emulator")]
#[tokio::test]
async fn the_function_url_answers_abuse_with_clear_4xx_pages() {
    use shared::handlers::{approval_api, Approved, Function};
    let deps = aws_support::deps().await;
    let mirror = aws_support::unique("URL");
    let function = Function::new(topology_named(&mirror), deps, "", "default", Approved::HandOff);
    let request = |method: &str, path: &str, content_type: &str, body: &str| {
        let mut v = function_url_sample();
        v["rawPath"] = path.into();
        v["requestContext"]["http"]["path"] = path.into();
        v["requestContext"]["http"]["method"] = method.into();
        v["headers"]["content-type"] = content_type.into();
        v["body"] = body.into();
        v["isBase64Encoded"] = false.into();
        lambda_runtime::LambdaEvent::new(v, Default::default())
    };
    let form = "application/x-www-form-urlencoded";
    let big = format!("approver=x&confirm=X&decision=approve&pad={}", "x".repeat(40 * 1024));
    let cases = [
        ("POST", "/a/00000000000000000test1", form, big.as_str(), 413),
        ("GET", "/", form, "", 404),
        ("GET", "/status", form, "", 404),
        ("PUT", "/a/00000000000000000test1", form, "", 405),
        ("DELETE", "/a/00000000000000000test1", form, "", 405),
        ("GET", "/a/short", form, "", 400),
        ("POST", "/a/00000000000000000test1", "text/plain", "approver=x", 404),
    ];
    for (method, path, content_type, body, status) in cases {
        let answer = approval_api::handle(&function, request(method, path, content_type, body))
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
        assert_eq!(answer.status_code, i64::from(status), "{method} {path}");
        assert!(answer.body.is_some_and(|b| !b.is_empty()), "{method} {path}: a page");
    }
    let state = function.engine.state(&mirror, chrono::Utc::now()).await.expect("state");
    assert_eq!(state.version, 0, "nothing was written");
}
