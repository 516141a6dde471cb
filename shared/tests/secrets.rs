//! The approval link's code is a credential. It goes to the alert channel (SNS:
//! email and SMS; the outbox file locally) and nowhere else: never into the logs,
//! never into the stored state (only its SHA-256), never into any other report.
//! Logs are captured at TRACE level, the AWS SDK's own lines included.
//! (The approval pages' own logs: shared/tests/approval.rs.)

use crate::reliability;

#[cfg(feature = "emulator")]
use crate::aws_support;

use reliability::*;
use shared::adapters::embedded::{MemoryNotifier, MemoryStore, RecordingActions};
use shared::adapters::faulty::{Call, Fault, FaultPlan, Faulty};
use shared::engine::{Engine, Report};
use shared::ports::{Notifier, Store};
use shared::token::OsTokens;

/// What a run left behind, to search for the codes.
struct Trail {
    codes: Vec<String>,
    logs: String,
    state: String,
    /// Every report but the alerts, as JSON (what `--json` prints).
    other_reports: String,
    /// The alerts, as JSON: where links belong.
    alert_reports: String,
}

/// The region outage up to its request, one delivery of the request's alert
/// failing (so the tick sends it again with a fresh link), and a reminder: three
/// links in all, with every log line at TRACE level captured.
async fn run<S: Store, N: Notifier>(mirror: &str, store: S, notifier: N) -> Trail {
    let captured = crate::logs::capture();
    let plan = FaultPlan::new(|call, n| (call == Call::Publish && n == 1).then_some(Fault::Throttled));
    let engine = Engine::new(
        topology_named(mirror),
        Faulty::new(store, plan.clone()),
        Faulty::new(notifier, plan),
        RecordingActions::new(None),
        "https://approve.example",
    )
    .with_tokens(Box::new(OsTokens));
    let mut reports: Vec<Report> = Vec::new();
    for d in scenario("region-outage-pending.jsonl") {
        reports.extend(deliver_once(&engine, mirror, &d.what, d.at).await.expect("delivered"));
    }
    for secs in [400, 960] {
        reports.extend(deliver_once(&engine, mirror, &What::Tick, t(secs)).await.expect("tick"));
    }
    let codes: Vec<String> = reports
        .iter()
        .filter_map(|r| match r {
            Report::Alert { link: Some(link), .. } => link.rsplit('/').next().map(str::to_string),
            _ => None,
        })
        .collect();
    let state = engine.state(mirror, t(960)).await.expect("state");
    let (alerts, others): (Vec<&Report>, Vec<&Report>) =
        reports.iter().partition(|r| matches!(r, Report::Alert { .. }));
    let logs = captured.text();
    Trail {
        codes,
        logs,
        state: format!("{}\n{state:?}", serde_json::to_string(&state).expect("state JSON")),
        other_reports: serde_json::to_string(&others).expect("JSON") + &format!("{others:?}"),
        alert_reports: serde_json::to_string(&alerts).expect("JSON"),
    }
}

fn check(trail: &Trail) {
    assert_eq!(
        trail.codes.len(),
        3,
        "the request, its resend with a fresh link, the reminder"
    );
    let distinct: std::collections::BTreeSet<&String> = trail.codes.iter().collect();
    assert_eq!(distinct.len(), 3, "every link is new");
    assert!(trail.logs.contains("alert"), "the logs were captured");
    for code in &trail.codes {
        assert_eq!(code.len(), shared::token::TOKEN_LEN);
        assert!(!trail.logs.contains(code.as_str()), "a code is in the logs");
        assert!(!trail.state.contains(code.as_str()), "a code is in the stored state");
        assert!(
            trail.state.contains(&shared::token::hash_token(code)),
            "its hash is what is stored"
        );
        assert!(
            !trail.other_reports.contains(code.as_str()),
            "a code is in a report other than an alert"
        );
        assert!(
            trail.alert_reports.contains(code.as_str()),
            "the alert carries it, by design"
        );
        // Not even its hash, at the levels the functions log (info and up). At
        // TRACE the AWS SDK logs DynamoDB's answers, which hold the stored hashes.
        let hash = shared::token::hash_token(code);
        let logged = trail
            .logs
            .lines()
            .filter(|l| !l.contains("\"level\":\"TRACE\"") && !l.contains("\"level\":\"DEBUG\""))
            .find(|l| l.contains(&hash));
        assert_eq!(logged, None, "its hash is logged");
    }
}

#[tokio::test]
async fn a_link_code_goes_to_the_alert_channel_and_nowhere_else() {
    let trail = run("HSPROD", MemoryStore::default(), MemoryNotifier::default()).await;
    check(&trail);
}

/// The same on DynamoDB and SNS (the emulator): the table holds no code; the SNS
/// messages to people do.
#[cfg(feature = "emulator")]
#[tokio::test]
async fn on_aws_the_code_is_in_the_sns_messages_and_not_in_the_table() {
    let deps = aws_support::deps().await;
    let mirror = aws_support::unique("SECRET");
    let trail = run(&mirror, deps.store(), deps.notifier()).await;
    check(&trail);
    // Every item of the mirror, as DynamoDB holds it.
    let scan = deps
        .dynamodb
        .query()
        .table_name(&deps.names.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(shared::adapters::aws::dynamodb::mirror_pk(&mirror)),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("Query");
    let table = format!("{:?}", scan.items());
    assert!(table.contains(&mirror), "the table was read back");
    for code in &trail.codes {
        assert!(!table.contains(code.as_str()), "a code is in DynamoDB");
    }
    let sns = aws_support::moto_data()["sns"].to_string();
    // The first delivery of the request failed: two of the three links reached SNS.
    let sent = trail.codes.iter().filter(|c| sns.contains(c.as_str())).count();
    assert_eq!(sent, 2, "the delivered alerts carry their links to people");
}
