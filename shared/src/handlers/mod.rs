//! The Lambda handlers (cargo feature `lambda`). Each function's `main.rs` builds a
//! [`Function`] once and passes every event to its handler here.

pub mod alarm_ingest;
pub mod approval_api;
pub mod health_poll;
pub mod mirror_events;
pub mod promotion_executor;

use std::sync::Arc;

use chrono::Utc;
use lambda_runtime::Diagnostic;
use serde_json::Value;

use crate::adapters::aws::promotion::{read_invocation, PromotionEvent};
use crate::adapters::aws::{
    describe, emf_line, AwsPromotionActions, ConfigError, Counts, Deps, DynamoStore, SnsNotifier,
};
use crate::adapters::probe::Prober;
use crate::domain::{Signal, SignalKind};
use crate::engine::{Engine, EngineError, Outcome, Report};
use crate::ports::PromotionOrder;
use crate::topology::Topology;

/// The topology, inline (TOML text).
pub const ENV_TOPOLOGY: &str = "MIRRORGATE_TOPOLOGY";
/// Base URL of the approval pages (the approval function's URL).
pub const ENV_PUBLIC_URL: &str = "MIRRORGATE_PUBLIC_URL";
/// The EventBridge bus approved promotions are handed over on.
pub const ENV_EVENT_BUS: &str = "MIRRORGATE_EVENT_BUS";

/// Source and detail-type of the event that hands an approved promotion to the
/// promotion executor (and tells the site's own automation).
pub use crate::adapters::aws::promotion::{EVENT_SOURCE, PROMOTION_APPROVED};

pub type AwsEngine = Engine<DynamoStore, SnsNotifier, AwsPromotionActions>;

/// What a function needs, built once per cold start.
pub struct Function {
    pub engine: AwsEngine,
    pub deps: Deps,
    pub event_bus: String,
    /// Asks the members' `mirror_status.cxw` (`health-poll`); its HTTP client is
    /// built by the first probe.
    pub prober: Prober,
}

/// Why a function cannot start; the message names what to fix.
#[derive(thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{ENV_TOPOLOGY} is not set: the topology TOML (the stack parameter Topology)")]
    NoTopology,
    #[error("{0}")]
    Topology(#[from] crate::topology::TopologyError),
}

/// `main` returns this error, and Rust prints an error returned from `main` with
/// `Debug`: so `Debug` says what `Display` says (the log then names what to fix).
impl std::fmt::Debug for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Function {
    /// Reads the environment; `hand_off` makes approved promotions go to the
    /// promotion executor instead of running here.
    pub async fn from_env(hand_off: bool) -> Result<Function, StartError> {
        let text = std::env::var(ENV_TOPOLOGY).map_err(|_| StartError::NoTopology)?;
        let topology = Arc::new(Topology::parse(ENV_TOPOLOGY, &text)?);
        let deps = Deps::from_lambda_env().await?;
        let prober = Prober::from_vars(|name| std::env::var(name).ok())?;
        let public_url = std::env::var(ENV_PUBLIC_URL).unwrap_or_default();
        let event_bus = std::env::var(ENV_EVENT_BUS).unwrap_or_else(|_| "default".into());
        let mut function = Function::new(topology, deps, &public_url, &event_bus, hand_off);
        function.prober = prober;
        Ok(function)
    }

    pub fn new(topology: Arc<Topology>, deps: Deps, public_url: &str, event_bus: &str, hand_off: bool) -> Function {
        // The executor runs promotions handed over by a PromotionApproved event, which
        // already told the site's automation: it must not announce the approval again.
        let actions = deps.actions().announcing_approval(hand_off);
        let engine = Engine::new(topology, deps.store(), deps.notifier(), actions, public_url);
        let engine = if hand_off { engine.handing_off() } else { engine };
        Function {
            engine,
            deps,
            event_bus: event_bus.to_string(),
            prober: Prober::new(crate::adapters::probe::DEFAULT_TIMEOUT),
        }
    }

    /// Hands approved promotions to the promotion executor through EventBridge.
    /// A failed hand-off is not lost: the next scheduled tick hands the
    /// unstarted promotion over again.
    pub async fn hand_off(&self, orders: &[PromotionOrder]) -> Result<(), HandlerError> {
        for order in orders {
            // The same detail the site's automation gets from PromotionExecuted.
            let topology = self.engine.topology();
            let event = topology
                .mirror(&order.mirror)
                .and_then(|m| m.member(&order.candidate).map(|c| PromotionEvent::new(m, c, order)));
            let detail = match event {
                Some(event) => serde_json::to_string(&event),
                None => serde_json::to_string(order),
            }
            .map_err(|e| HandlerError::Retry(e.to_string()))?;
            let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source(EVENT_SOURCE)
                .detail_type(PROMOTION_APPROVED)
                .detail(detail)
                .event_bus_name(&self.event_bus)
                .build();
            let sent = self.deps.events.put_events().entries(entry).send().await;
            match sent {
                Ok(out) if out.failed_entry_count() == 0 => {
                    tracing::info!(mirror = %order.mirror, request = %order.request, "promotion handed to the executor");
                }
                Ok(out) => {
                    let why = out
                        .entries()
                        .iter()
                        .filter_map(|e| e.error_message())
                        .collect::<Vec<_>>()
                        .join("; ");
                    return Err(HandlerError::Retry(format!(
                        "hand-off of {} refused by EventBridge: {why}",
                        order.request
                    )));
                }
                Err(e) => {
                    return Err(HandlerError::Retry(describe(
                        &format!("hand-off of {} (EventBridge PutEvents)", order.request),
                        &e,
                    )))
                }
            }
        }
        Ok(())
    }
}

/// A handler's failure, sorted by what Lambda should do with the event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event can never be used (malformed, unknown to the topology): not worth
    /// retrying; after Lambda's bounded retries it lands in the dead-letter queue.
    #[error("{0}")]
    Rejected(String),
    /// A dependency failed (store, network): retrying later may work.
    #[error("{0}")]
    Retry(String),
}

impl From<EngineError> for HandlerError {
    fn from(e: EngineError) -> Self {
        if e.is_retryable() {
            HandlerError::Retry(e.to_string())
        } else {
            HandlerError::Rejected(e.to_string())
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        let error_type = match e {
            HandlerError::Rejected(_) => "Mirrorgate.Rejected",
            HandlerError::Retry(_) => "Mirrorgate.Retryable",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// JSON logs for CloudWatch, level from `RUST_LOG` (default info).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .init();
}

/// How long reading a Run Command's output may take (GetCommandInvocation, with the
/// SDK's retries): past it the alert goes out saying the output could not be read.
pub const OUTPUT_BUDGET: std::time::Duration = std::time::Duration::from_secs(8);

/// Adds to each Run Command status the command's comment and first lines of output
/// (`GetCommandInvocation`, within [`OUTPUT_BUDGET`]), or why they could not be read.
pub async fn read_command_output(function: &Function, signals: &mut [Signal]) {
    for signal in signals.iter_mut() {
        let SignalKind::CommandStatus(report) = &mut signal.kind else {
            continue;
        };
        let instance = function
            .engine
            .topology()
            .mirror(&signal.mirror)
            .and_then(|m| m.member(&report.member))
            .and_then(|m| m.instance_id.clone());
        let Some(instance) = instance else {
            report.unread = Some(format!("{} has no instance_id", report.member));
            continue;
        };
        let ssm = function.deps.ssm.get();
        let read = read_invocation(ssm, &report.command_id, &instance);
        match tokio::time::timeout(OUTPUT_BUDGET, read).await {
            Ok(Ok(invocation)) => {
                report.comment = invocation.comment;
                report.output = Some(invocation.output);
            }
            Ok(Err(e)) => report.unread = Some(e),
            Err(_) => {
                report.unread = Some(format!(
                    "SSM GetCommandInvocation {} did not answer within {} s",
                    report.command_id,
                    OUTPUT_BUDGET.as_secs()
                ))
            }
        }
        if let Some(why) = &report.unread {
            tracing::warn!(command = %report.command_id, error = %why, "the command's output could not be read");
        }
    }
}

/// Decodes and handles one AWS payload; hands off approved promotions; writes the
/// metrics line. Shared by the ingesting functions.
pub async fn ingest(function: &Function, name: &str, payload: &Value) -> Result<Value, HandlerError> {
    let now = Utc::now();
    let result = async {
        let mut signals = crate::events::decode_value(payload, function.engine.topology())?;
        read_command_output(function, &mut signals).await;
        let mut outcomes = Vec::with_capacity(signals.len());
        for signal in signals {
            outcomes.push(function.engine.handle(signal, now).await?);
        }
        Ok::<_, EngineError>(outcomes)
    }
    .await;
    let outcomes = match result {
        Ok(outcomes) => outcomes,
        Err(e) => {
            let kind = match &e {
                EngineError::Decode(d) => d.kind(),
                _ => "engine",
            };
            tracing::error!(function = name, kind, error = %e, "signal not handled");
            let counts = Counts {
                signals_rejected: 1,
                ..Counts::default()
            };
            println!("{}", emf_line(name, &counts, now));
            return Err(e.into());
        }
    };
    finish(function, name, &outcomes).await?;
    Ok(summary(&outcomes))
}

/// Hands off orders and writes the metrics line for handled outcomes.
pub async fn finish(function: &Function, name: &str, outcomes: &[Outcome]) -> Result<(), HandlerError> {
    let orders: Vec<PromotionOrder> = outcomes.iter().flat_map(|o| o.orders.clone()).collect();
    let alerts = outcomes
        .iter()
        .flat_map(|o| &o.reports)
        .filter(|r| matches!(r, Report::Alert { delivered: true, .. }))
        .count();
    let counts = Counts {
        signals_handled: outcomes.len() as u64,
        alerts_sent: alerts as u64,
        ..Counts::default()
    };
    println!("{}", emf_line(name, &counts, Utc::now()));
    function.hand_off(&orders).await
}

/// What a handler answers: each mirror's verdict and how many effects it had.
pub fn summary(outcomes: &[Outcome]) -> Value {
    let handled: Vec<Value> = outcomes
        .iter()
        .map(|o| serde_json::json!({ "mirror": o.mirror, "verdict": o.verdict, "effects": o.reports.len() }))
        .collect();
    serde_json::json!({ "handled": handled })
}
