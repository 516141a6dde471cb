//! What one deployment (the stack) allows, checked against the topology when a
//! function starts, and when a topology read from Parameter Store is read again.
//!
//! The execution role may run one SSM document and put events on one bus, and SSM
//! Run Command reaches instances of the stack's own region only: a topology that
//! names anything else would fail only when a promotion runs, mid-disaster. These
//! checks are pure; the one that needs Route 53 (which health checks exist, and of
//! which type) gets its answer passed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::domain::MemberKind;
use crate::topology::Topology;

/// The SSM document(s) the role may run (the template's `PromoteDocumentName`),
/// comma-separated. Unset: not checked.
pub const ENV_ALLOWED_DOCUMENTS: &str = "MIRRORGATE_ALLOWED_SSM_DOCUMENTS";

/// What the stack allows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Allowed {
    /// The stack's region: promotion candidates must be here (empty: not checked).
    pub region: String,
    /// The documents the role may run; `None`: not checked.
    pub ssm_documents: Option<Vec<String>>,
    /// The bus the role may put events on; `None`: not checked.
    pub event_bus: Option<String>,
}

impl Allowed {
    /// From the variables the template sets (`MIRRORGATE_ALLOWED_SSM_DOCUMENTS`,
    /// `MIRRORGATE_EVENT_BUS`) and the region.
    pub fn from_vars(region: &str, var: impl Fn(&str) -> Option<String>) -> Allowed {
        let documents = var(ENV_ALLOWED_DOCUMENTS).filter(|v| !v.trim().is_empty()).map(|v| {
            v.split(',')
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty())
                .collect()
        });
        Allowed {
            region: region.to_string(),
            ssm_documents: documents,
            event_bus: var("MIRRORGATE_EVENT_BUS").filter(|v| !v.trim().is_empty()),
        }
    }
}

/// The last part of an ARN (`arn:...:document/NAME` or `...:event-bus/NAME`), or the name.
fn short_name(name: &str) -> &str {
    if name.starts_with("arn:") {
        name.rsplit('/').next().unwrap_or(name)
    } else {
        name
    }
}

/// Everything in the topology this stack cannot do, each naming what to fix. Empty
/// when it can do all of it.
pub fn problems(topology: &Topology, allowed: &Allowed) -> Vec<String> {
    let mut problems = Vec::new();
    for mirror in &topology.mirrors {
        let m = &mirror.name;
        if let (Some(document), Some(documents)) = (&mirror.promotion.ssm_document, &allowed.ssm_documents) {
            if !documents.iter().any(|d| short_name(d) == short_name(document)) {
                problems.push(format!(
                    "mirror {m}: promotion.ssm_document {document} is not a document this stack may run ({}): \
                     set promotion.ssm_document to it in the topology, or deploy the stack with \
                     PromoteDocumentName={document}",
                    documents.join(", ")
                ));
            }
        }
        if let (Some(bus), Some(allowed_bus)) = (&mirror.promotion.event_bus, &allowed.event_bus) {
            if short_name(bus) != short_name(allowed_bus) {
                problems.push(format!(
                    "mirror {m}: promotion.event_bus {bus} is not the bus this stack may put events on \
                     ({allowed_bus}): set promotion.event_bus = \"{allowed_bus}\" in the topology, or deploy the \
                     stack with EventBusName={bus}"
                ));
            }
        }
        if mirror.promotion.ssm_document.is_some() && !allowed.region.is_empty() {
            for member in &mirror.members {
                if member.kind != MemberKind::DrAsync || member.instance_id.is_none() {
                    continue;
                }
                if member.region != allowed.region {
                    problems.push(format!(
                        "mirror {m}: member {} is a promotion candidate in {}, but this stack runs in {} and SSM \
                         Run Command reaches instances of its own region only: deploy mirrorgate in {} \
                         (docs/DEPLOY.md), or correct the member's region",
                        member.name, member.region, allowed.region, member.region
                    ));
                }
            }
        }
    }
    problems
}

/// The health checks of the account as Route 53 lists them: id to `Type`.
pub type HealthCheckTypes = HashMap<String, String>;

/// The types of health check Route 53 reports no checker status for: their status
/// comes from other checks or from a CloudWatch alarm.
pub const UNREADABLE_TYPES: [&str; 2] = ["CALCULATED", "CLOUDWATCH_METRIC"];

/// What the cold-start look at the health checks found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthCheckFindings {
    /// Checks of a type without checkers (CALCULATED, CLOUDWATCH_METRIC): health-poll
    /// can never read them. The function refuses to start.
    pub unreadable: Vec<String>,
    /// Ids the account does not have: warned about, not refused. health-poll also
    /// runs every mirror's time-based rules, and one wrong id must not stop them for
    /// all; each minute's poll names the id again (NoSuchHealthCheck).
    pub missing: Vec<String>,
}

/// Every member's health check that health-poll cannot read: of a type without
/// checkers, or missing from the account.
pub fn health_check_problems(topology: &Topology, types: &HealthCheckTypes) -> HealthCheckFindings {
    let mut problems = HealthCheckFindings::default();
    for mirror in &topology.mirrors {
        for member in &mirror.members {
            let Some(id) = &member.health_check_id else { continue };
            let where_ = format!("mirror {}: member {} health_check_id {id}", mirror.name, member.name);
            match types.get(id).map(String::as_str) {
                None => problems.missing.push(format!(
                    "{where_} is not a health check of this account (Route 53 ListHealthChecks): correct the id, \
                     or remove health_check_id"
                )),
                Some(kind) if UNREADABLE_TYPES.contains(&kind) => problems.unreadable.push(format!(
                    "{where_} is a {kind} health check: Route 53 reports no checker status for it, so health-poll \
                     cannot read it. Name the member's own HTTPS check of mirror_status.cxw, or remove \
                     health_check_id and map a CloudWatch alarm on that check to the member ([[mirror.alarm]])"
                )),
                Some(_) => {}
            }
        }
    }
    problems
}

/// When a topology read from Parameter Store is read again: after `every` once it
/// was read, after `retry` once a read again failed (the one in hand is kept).
#[derive(Debug, Clone, Copy)]
pub struct Refresh {
    pub every: Duration,
    pub retry: Duration,
    next: Instant,
}

/// How long a topology from Parameter Store is used before it is read again.
pub const REFRESH_EVERY: Duration = Duration::from_secs(300);
/// How soon a failed read is tried again.
pub const REFRESH_RETRY: Duration = Duration::from_secs(60);

impl Refresh {
    /// Read at `now`.
    pub fn new(every: Duration, retry: Duration, now: Instant) -> Refresh {
        Refresh {
            every,
            retry,
            next: now + every,
        }
    }

    /// Whether an invocation starting at `now` reads the topology again first.
    pub fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// The topology was read again at `now`.
    pub fn succeeded(&mut self, now: Instant) {
        self.next = now + self.every;
    }

    /// Reading it again failed at `now`: the one in hand is kept, tried again soon.
    pub fn failed(&mut self, now: Instant) {
        self.next = now + self.retry;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::topology::example;

    fn allowed() -> Allowed {
        Allowed {
            region: "us-west-2".into(),
            ssm_documents: Some(vec!["HSPROD-PromoteDrAsync".into()]),
            event_bus: Some("default".into()),
        }
    }

    #[test]
    fn the_example_fits_a_stack_in_its_dr_region() {
        assert_eq!(problems(&example(), &allowed()), Vec::<String>::new());
        let arn = Allowed {
            ssm_documents: Some(vec![
                "arn:aws:ssm:us-west-2:123456789012:document/HSPROD-PromoteDrAsync".into(),
            ]),
            ..allowed()
        };
        assert_eq!(problems(&example(), &arn), Vec::<String>::new());
    }

    #[test]
    fn another_document_another_bus_or_another_region_is_named_with_the_fix() {
        let stack = Allowed {
            region: "eu-west-1".into(),
            ssm_documents: Some(vec!["Other-Doc".into()]),
            event_bus: Some("mirrorgate".into()),
        };
        let p = problems(&example(), &stack);
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(
            p[0].contains("promotion.ssm_document HSPROD-PromoteDrAsync") && p[0].contains("PromoteDocumentName="),
            "{}",
            p[0]
        );
        assert!(
            p[1].contains("promotion.event_bus default") && p[1].contains("EventBusName=default"),
            "{}",
            p[1]
        );
        assert!(
            p[2].contains("member HSPROD-DR1") && p[2].contains("deploy mirrorgate in us-west-2"),
            "{}",
            p[2]
        );
        assert!(p[3].contains("member HSPROD-DR2"), "{}", p[3]);
    }

    #[test]
    fn unset_names_are_not_checked() {
        assert_eq!(problems(&example(), &Allowed::default()), Vec::<String>::new());
        let vars = Allowed::from_vars("us-west-2", |_| None);
        assert_eq!(vars.ssm_documents, None);
        assert_eq!(problems(&example(), &vars), Vec::<String>::new());
        let vars = Allowed::from_vars("us-west-2", |n| {
            (n == ENV_ALLOWED_DOCUMENTS).then(|| " A , B,".to_string())
        });
        assert_eq!(vars.ssm_documents, Some(vec!["A".to_string(), "B".to_string()]));
    }

    #[test]
    fn a_calculated_or_missing_health_check_is_named() {
        let t = example();
        let mut types: HealthCheckTypes = t
            .mirrors
            .iter()
            .flat_map(|m| &m.members)
            .filter_map(|m| m.health_check_id.clone())
            .map(|id| (id, "HTTPS_STR_MATCH".to_string()))
            .collect();
        assert_eq!(health_check_problems(&t, &types), HealthCheckFindings::default());
        types.insert("11111111-1111-4111-8111-111111111111".into(), "CALCULATED".into());
        types.insert(
            "22222222-2222-4222-8222-222222222222".into(),
            "CLOUDWATCH_METRIC".into(),
        );
        types.remove("55555555-5555-4555-8555-555555555555");
        let p = health_check_problems(&t, &types);
        assert_eq!((p.unreadable.len(), p.missing.len()), (2, 1), "{p:#?}");
        assert!(
            p.unreadable[0].contains("member HSPROD-A") && p.unreadable[0].contains("CALCULATED"),
            "{p:?}"
        );
        assert!(
            p.unreadable[1].contains("member HSPROD-B") && p.unreadable[1].contains("CLOUDWATCH_METRIC"),
            "{p:?}"
        );
        assert!(
            p.missing[0].contains("member HSPROD-DR2") && p.missing[0].contains("not a health check of this account"),
            "{p:?}"
        );
    }

    #[test]
    fn the_topology_is_read_again_after_its_time_and_sooner_after_a_failure() {
        let start = Instant::now();
        let mut r = Refresh::new(Duration::from_secs(300), Duration::from_secs(60), start);
        assert!(!r.due(start));
        assert!(!r.due(start + Duration::from_secs(299)));
        assert!(r.due(start + Duration::from_secs(300)));
        r.failed(start + Duration::from_secs(300));
        assert!(!r.due(start + Duration::from_secs(359)));
        assert!(r.due(start + Duration::from_secs(360)));
        r.succeeded(start + Duration::from_secs(360));
        assert!(!r.due(start + Duration::from_secs(659)));
        assert!(r.due(start + Duration::from_secs(660)));
    }
}
