//! A whole site against moto server (`scripts/emulator up`): the topology in
//! Parameter Store, read back by the functions' adapter; the health checks the
//! cold-start check lists; and health-poll's Route 53 round paced to Route 53's
//! rate, through a layer around the real client that throttles as Route 53 does
//! (moto itself never throttles and always answers healthy).

#![cfg(feature = "emulator")]

use crate::aws_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_support::{deps, unique};
use chrono::Utc;
use shared::adapters::aws::parameters::ReadError;
use shared::adapters::aws::route53::{
    health_checks, poll_paced, CheckerReport, HealthStatusSource, Pacer, PollLimits, REPORT_FRESH,
};
use shared::adapters::aws::{AwsError, Deps, Route53Health};
use shared::deployment::health_check_problems;
use shared::domain::Mirror;
use shared::topology::Topology;
use tokio::time::Instant;

const EXAMPLE: &str = include_str!("../../examples/topology.toml");

/// `n` mirrors like the example's, each with its own names, instances and (when
/// given) the health check ids in `checks`, four per mirror.
fn site(n: usize, checks: &[String]) -> Topology {
    let base = Topology::parse("example", EXAMPLE).expect("example");
    let mut mirrors: Vec<Mirror> = Vec::new();
    for k in 0..n {
        let mut m = base.mirrors[0].clone();
        m.name = format!("HS{k:03}");
        m.alarms.clear();
        let mut with_check = 0;
        for (i, member) in m.members.iter_mut().enumerate() {
            member.name = format!("HS{k:03}-{i}");
            member.instance_id = member.instance_id.as_ref().map(|_| format!("i-{k:08x}{i:09x}"));
            member.health_check_id = member.health_check_id.as_ref().and_then(|_| {
                with_check += 1;
                checks.get(k * 4 + with_check - 1).cloned()
            });
        }
        mirrors.push(m);
    }
    Topology::new("site", mirrors).expect("a valid site")
}

// ---------------------------------------------------------------- Parameter Store

/// GIVEN a site of 25 mirrors (three pages of GetParametersByPath) WHEN pushed, one
/// parameter per mirror THEN reading the path gives the same topology back.
#[tokio::test]
async fn a_site_pushed_to_parameter_store_reads_back_whole_across_pages() {
    let deps = deps().await;
    let path = format!("/mirrorgate/{}/mirrors", unique("site"));
    let topology = site(25, &[]);
    let parameters = topology.to_parameters(&path).expect("split");
    let store = deps.topology_parameters(&path);
    let written = store.push(&parameters).await.expect("push");
    assert_eq!(written.len(), 25);
    assert!(written.iter().all(|w| w.version == 1 && !w.advanced), "{written:?}");
    let back = store.read().await.expect("read");
    assert_eq!(back.mirrors.len(), 25);
    let mut expected = topology.mirrors.clone();
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(back.mirrors, expected);
    assert_eq!(back.source(), path);

    // Overwritten in place: the version goes up, the value is the new one.
    let again = store.push(&parameters[..1]).await.expect("push again");
    assert_eq!(again[0].version, 2);
}

/// GIVEN two parameters that name the same instance WHEN the path is read THEN the
/// error names both parameters; an empty path says how to push one.
#[tokio::test]
async fn parameters_that_clash_are_refused_naming_both() {
    let deps = deps().await;
    let path = format!("/mirrorgate/{}/mirrors", unique("clash"));
    let mut parameters = site(2, &[]).to_parameters(&path).expect("split");
    let first_instance = "i-00000000000000000";
    let second_instance = "i-00000001000000000";
    parameters[1].value = parameters[1].value.replace(second_instance, first_instance);
    let store = deps.topology_parameters(&path);
    store.push(&parameters).await.expect("push");
    match store.read().await {
        Err(ReadError::Invalid(e)) => {
            assert_eq!(e.file, format!("{path}/HS001"));
            assert!(e.message.contains(&format!("also in parameter {path}/HS000")), "{e}");
        }
        other => panic!("expected a clash, got {other:?}"),
    }
    let empty = deps.topology_parameters(&format!("/mirrorgate/{}/mirrors", unique("none")));
    match empty.read().await {
        Err(ReadError::Invalid(e)) => assert!(e.to_string().contains("topology push"), "{e}"),
        other => panic!("expected no parameters, got {other:?}"),
    }
}

// ---------------------------------------------------------------- Route 53

async fn create_check(deps: &Deps, kind: aws_sdk_route53::types::HealthCheckType) -> String {
    use aws_sdk_route53::types::{HealthCheckConfig, HealthCheckType};
    let mut config = HealthCheckConfig::builder().r#type(kind.clone());
    if kind == HealthCheckType::Calculated {
        config = config.health_threshold(1);
    } else {
        config = config
            .fully_qualified_domain_name("hsprod-a.example.org")
            .resource_path("/csp/bin/mirror_status.cxw")
            .port(443);
    }
    let out = deps
        .route53
        .create_health_check()
        .caller_reference(unique("hc"))
        .health_check_config(config.build().expect("config"))
        .send()
        .await
        .expect("CreateHealthCheck");
    out.health_check().map(|h| h.id().to_string()).expect("an id")
}

/// GIVEN a member whose health check is CALCULATED and one whose check does not
/// exist WHEN the cold-start check lists the account's checks THEN both are named.
#[tokio::test]
async fn the_cold_start_check_names_a_calculated_and_a_missing_health_check() {
    use aws_sdk_route53::types::HealthCheckType;
    let deps = deps().await;
    let readable = create_check(&deps, HealthCheckType::Https).await;
    let calculated = create_check(&deps, HealthCheckType::Calculated).await;
    let missing = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f".to_string();
    let topology = site(1, &[readable.clone(), calculated.clone(), missing.clone()]);
    let types = deps.route53().health_check_types().await.expect("ListHealthChecks");
    assert_eq!(types.get(&readable).map(String::as_str), Some("HTTPS"));
    let found = health_check_problems(&topology, &types);
    assert_eq!((found.unreadable.len(), found.missing.len()), (1, 1), "{found:#?}");
    assert!(
        found.unreadable[0].contains(&calculated) && found.unreadable[0].contains("CALCULATED"),
        "{found:?}"
    );
    assert!(
        found.missing[0].contains(&missing) && found.missing[0].contains("not a health check of this account"),
        "{found:?}"
    );
}

/// Route 53 as it meters GetHealthCheckStatus (a bucket of 4, refilled at 1 a
/// second), around the real client: a request beyond it is refused with Throttling.
struct Route53Rate<'a> {
    inner: &'a Route53Health,
    bucket: Mutex<(f64, Instant)>,
    sent: Mutex<Vec<Instant>>,
    throttled: Mutex<usize>,
}

impl<'a> Route53Rate<'a> {
    fn new(inner: &'a Route53Health) -> Route53Rate<'a> {
        Route53Rate {
            inner,
            bucket: Mutex::new((4.0, Instant::now())),
            sent: Mutex::new(Vec::new()),
            throttled: Mutex::new(0),
        }
    }

    fn throttled(&self) -> usize {
        *self.throttled.lock().expect("lock")
    }
}

impl HealthStatusSource for Route53Rate<'_> {
    async fn reports(&self, id: &str) -> Result<Vec<CheckerReport>, AwsError> {
        let allowed = {
            let mut b = self.bucket.lock().expect("lock");
            let now = Instant::now();
            let tokens = (b.0 + (now - b.1).as_secs_f64()).min(4.0);
            *b = (tokens, now);
            if b.0 >= 1.0 {
                b.0 -= 1.0;
                true
            } else {
                false
            }
        };
        if !allowed {
            *self.throttled.lock().expect("lock") += 1;
            return Err(AwsError(format!(
                "Route 53 GetHealthCheckStatus {id}: Throttling: Rate exceeded"
            )));
        }
        self.sent.lock().expect("lock").push(Instant::now());
        self.inner.reports(id).await
    }
}

/// GIVEN 12 members' health checks and Route 53's rate WHEN a round has 5 s THEN
/// it is never throttled, keeps what it read (about 3 + 5), names the rest, and the
/// next round reads the rest first; the observations carry the checkers' CheckedTime.
#[tokio::test]
async fn a_round_at_route53s_rate_is_never_throttled_and_keeps_what_it_read() {
    use aws_sdk_route53::types::HealthCheckType;
    let deps = deps().await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(create_check(&deps, HealthCheckType::Https).await);
    }
    let topology = site(3, &ids);
    assert_eq!(health_checks(&topology).len(), 12);
    let route53 = deps.route53();
    // A fresh bucket: Route 53's is full after a quiet spell.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let layer = Route53Rate::new(&route53);
    let limits = |secs| PollLimits {
        pacer: Pacer::new(1.0, 3, Instant::now()),
        concurrency: 4,
        deadline: Instant::now() + Duration::from_secs(secs),
        fresh: REPORT_FRESH,
    };
    let now = Utc::now();
    let round = poll_paced(&layer, &topology, 0, limits(5), now).await;
    assert_eq!(layer.throttled(), 0, "{round:?}");
    assert!(
        (7..=9).contains(&round.read),
        "3 at once, then 1 a second for 5 s: {round:?}"
    );
    assert_eq!(round.signals.len(), round.read);
    assert_eq!(round.unread.len(), 12 - round.read);
    assert!(round.signals.iter().all(|s| s.at <= now), "{:?}", round.signals);
    assert_eq!(round.next_start, round.read);

    // Next minute: the rest first, and round to the start.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent_before = layer.sent.lock().expect("lock").len();
    let next = poll_paced(&layer, &topology, round.next_start, limits(20), Utc::now()).await;
    assert_eq!(layer.throttled(), 0, "{next:?}");
    assert!(next.unread.is_empty(), "{next:?}");
    assert_eq!(next.read, 12);
    assert!(layer.sent.lock().expect("lock").len() > sent_before);

    // The same layer, not paced: Route 53 refuses what goes beyond its bucket, and
    // the round still keeps what was answered.
    let unpaced = PollLimits {
        pacer: Pacer::new(100.0, 100, Instant::now()),
        concurrency: 12,
        deadline: Instant::now() + Duration::from_secs(5),
        fresh: REPORT_FRESH,
    };
    let flood = poll_paced(&layer, &topology, 0, unpaced, Utc::now()).await;
    assert!(layer.throttled() > 0, "{flood:?}");
    assert_eq!(flood.failed.len(), layer.throttled());
    assert_eq!(flood.signals.len(), flood.read);
}

// ---------------------------------------------------------------- reading it again

/// GIVEN a function that read its topology from Parameter Store WHEN it is re-used
/// after its time THEN it reads the path again and uses what was pushed since; WHEN
/// the path then holds an invalid whole, or Parameter Store cannot be reached, THEN it
/// keeps the topology in use (never nothing) and logs why.
#[cfg(feature = "emulator")]
#[tokio::test]
async fn a_topology_read_again_replaces_the_one_in_use_and_a_failed_read_keeps_it() {
    use shared::adapters::aws::TopologyParameters;
    use shared::handlers::{Approved, Function};
    let deps = deps().await;
    let path = format!("/mirrorgate/{}/mirrors", unique("again"));
    let two = site(2, &[]).to_parameters(&path).expect("split");
    let store = deps.topology_parameters(&path);
    store.push(&two[..1]).await.expect("push one");
    let first = store.read().await.expect("read");
    assert_eq!(first.mirrors.len(), 1);
    let function = Function::new(
        Arc::new(first),
        deps.clone(),
        "https://approve.example",
        "default",
        Approved::HandOff,
    )
    .reading_again(store.clone(), Duration::ZERO, Duration::ZERO);

    // A second mirror pushed: the next invocation uses it.
    store.push(&two[1..]).await.expect("push two");
    function.refresh_topology().await;
    assert_eq!(function.engine.topology().mirrors.len(), 2);

    // The path now clashes (HS001 takes HS000's instance): kept, with a warning.
    let mut clash = two[1].clone();
    clash.value = clash.value.replace("i-00000001000000000", "i-00000000000000000");
    store.push(&[clash]).await.expect("push a clash");
    let logs = crate::logs::capture();
    {
        function.refresh_topology().await;
    }
    assert_eq!(
        function.engine.topology().mirrors.len(),
        2,
        "the topology in use is kept"
    );
    let logged = logs.text();
    assert!(
        logged.contains("the topology could not be read again; the one in use is kept")
            && logged.contains("also in parameter"),
        "{logged}"
    );

    // Parameter Store unreachable (nothing listens there): kept too.
    let dead = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(shared::adapters::aws::retry_config(1))
        .load()
        .await;
    let unreachable = Function::new(
        function.engine.topology(),
        deps,
        "https://approve.example",
        "default",
        Approved::HandOff,
    )
    .reading_again(
        TopologyParameters::from_config(&dead, &path),
        Duration::ZERO,
        Duration::ZERO,
    );
    let logs = crate::logs::capture();
    {
        unreachable.refresh_topology().await;
    }
    assert_eq!(unreachable.engine.topology().mirrors.len(), 2);
    let logged = logs.text();
    assert!(
        logged.contains("the one in use is kept") && logged.contains("GetParametersByPath"),
        "{logged}"
    );
}
