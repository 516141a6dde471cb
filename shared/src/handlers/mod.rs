//! The Lambda handlers (cargo feature `lambda`). Each function's `main.rs` builds a
//! [`Function`] once and passes every event to its handler here.

pub mod alarm_ingest;
pub mod approval_api;
pub mod health_poll;
pub mod mirror_events;
pub mod promotion_executor;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use lambda_runtime::Diagnostic;
use serde_json::Value;

use crate::adapters::aws::parameters::{ReadError, ENV_TOPOLOGY_PATH};
use crate::adapters::aws::promotion::{ApprovalAnnouncement, SsmCommandOutput};
use crate::adapters::aws::{
    emf_line, AwsPromotionActions, ConfigError, Counts, Deps, DynamoStore, EventBridgeHandOff, SnsNotifier,
    TopologyParameters,
};
use crate::adapters::probe::Prober;
use crate::deployment::{self, Allowed, Refresh, REFRESH_EVERY, REFRESH_RETRY};
use crate::domain::{Signal, SignalKind};
/// What a function does with a promotion approved while it handles an event: hands
/// it to the promotion executor through EventBridge, or carries it out (the executor).
pub use crate::engine::Approved;
use crate::engine::{Engine, EngineError, Outcome, Report};
use crate::ports::{HandOff, Notifier, PromotionActions, PromotionOrder, RunCommandOutput, Store};
use crate::topology::Topology;

/// The topology, inline (TOML text): the fallback for one small mirror. The
/// template sets either this or `MIRRORGATE_TOPOLOGY_PATH` (Parameter Store), never
/// both; a function given both refuses to start.
pub const ENV_TOPOLOGY: &str = "MIRRORGATE_TOPOLOGY";
/// The words of the log line a function writes when it refuses to start; the
/// template's metric filters count it (the start-refused alarm).
pub const START_REFUSED: &str = "mirrorgate cannot start";
/// The most reading the topology again may add to an invocation.
pub const REFRESH_BUDGET: Duration = Duration::from_secs(5);
/// The most the cold-start check of the health checks (Route 53 ListHealthChecks)
/// may take; when it cannot finish, the function starts and says so.
pub const HEALTH_CHECK_LIST_BUDGET: Duration = Duration::from_secs(5);
/// Base URL of the approval pages (the approval function's URL).
pub const ENV_PUBLIC_URL: &str = "MIRRORGATE_PUBLIC_URL";
/// The EventBridge bus approved promotions are handed over on.
pub const ENV_EVENT_BUS: &str = "MIRRORGATE_EVENT_BUS";

/// The event an approved order is handed over as.
pub use crate::adapters::aws::eventbridge::hand_off_event;
/// Source and detail-type of the event that hands an approved promotion to the
/// promotion executor (and tells the site's own automation).
pub use crate::adapters::aws::promotion::{DRILL_APPROVED, EVENT_SOURCE, FENCING_APPROVED, PROMOTION_APPROVED};

/// The ports a function runs on, one adapter each: [`Aws`] in the Lambda functions;
/// the handlers' tests give embedded ones (a file store, alerts and actions kept in
/// memory, a recording hand-off, health-poll's reads and probes answered from
/// memory), so that a handler runs without AWS.
pub trait Ports {
    /// The mirror state store.
    type Store: Store;
    /// Where alerts go.
    type Notifier: Notifier;
    /// What carries out an approved promotion, fencing or drill.
    type Actions: PromotionActions;
    /// What hands approved orders to the promotion executor.
    type HandOff: HandOff;
    /// What reads a Run Command's output for its alert.
    type CommandOutput: RunCommandOutput;
    /// What health-poll asks besides (Route 53, CloudWatch, SSM): the AWS clients,
    /// [`Deps`], in the Lambda functions.
    type Deps: health_poll::HealthReads;
    /// What asks the members' `mirror_status.cxw` (health-poll): the HTTP client,
    /// [`Prober`], in the Lambda functions.
    type Prober: health_poll::StatusProbe;
}

/// The AWS adapters: DynamoDB, SNS, SSM and EventBridge, from one [`Deps`].
pub struct Aws;

impl Ports for Aws {
    type Store = DynamoStore;
    type Notifier = SnsNotifier;
    type Actions = AwsPromotionActions;
    type HandOff = EventBridgeHandOff;
    type CommandOutput = SsmCommandOutput;
    type Deps = Deps;
    type Prober = Prober;
}

/// What a function needs, built once per cold start: the engine on the ports' store,
/// notifier and actions, and the ports the handlers use themselves.
pub struct Function<P: Ports = Aws> {
    pub engine: Engine<P::Store, P::Notifier, P::Actions>,
    /// What health-poll asks besides the engine ([`Deps`] on AWS).
    pub deps: P::Deps,
    /// Hands approved orders to the promotion executor.
    pub handoff: P::HandOff,
    /// Reads what a Run Command printed, for its alert.
    pub command_output: P::CommandOutput,
    /// Asks the members' `mirror_status.cxw` (`health-poll`); on AWS, a [`Prober`]
    /// whose HTTP client is built by the first probe.
    pub prober: P::Prober,
    /// Where the topology is read again from, when it came from Parameter Store.
    pub parameters: Option<TopologyParameters>,
    refresh: Mutex<Refresh>,
    /// What the stack's role and region allow (checked at start and on every read).
    pub allowed: Allowed,
    /// Where health-poll's next Route 53 round starts (the checks not read last
    /// minute come first); `None` until the first round.
    pub route53_next: Mutex<Option<usize>>,
}

/// Why a function cannot start; the message names what to fix.
#[derive(thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "no topology: set {ENV_TOPOLOGY_PATH} (the Parameter Store path the template's TopologyPath gives; \
         push the topology there with mirrorgate --backend aws topology push FILE) or, for one small mirror, \
         {ENV_TOPOLOGY} (the topology TOML, the stack parameter Topology)"
    )]
    NoTopology,
    #[error(
        "both {ENV_TOPOLOGY} and {ENV_TOPOLOGY_PATH} are set: it is unclear which topology to use; keep one \
         (the template sets only one: leave the stack parameter Topology empty to use Parameter Store)"
    )]
    AmbiguousTopology,
    #[error("{0}")]
    Topology(#[from] crate::topology::TopologyError),
    #[error(
        "the topology could not be read from Parameter Store: {0}. The function is started again at its next \
         invocation; if this lasts, check that the parameters exist (mirrorgate --backend aws topology show) and \
         that the role may call ssm:GetParametersByPath on the path"
    )]
    TopologyUnreachable(String),
    #[error("this stack cannot do what the topology asks; fix the topology or the stack parameters:\n  - {}", .0.join("\n  - "))]
    Misconfigured(Vec<String>),
}

/// `main` returns this error, and Rust prints an error returned from `main` with
/// `Debug`: so `Debug` says what `Display` says (the log then names what to fix).
impl std::fmt::Debug for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Function<Aws> {
    /// Reads the environment; `hand_off` makes approved promotions go to the
    /// promotion executor instead of running here.
    ///
    /// The topology comes from Parameter Store (`MIRRORGATE_TOPOLOGY_PATH`) or the
    /// environment (`MIRRORGATE_TOPOLOGY`), and is checked against what the stack
    /// allows ([`deployment::problems`]). A function that cannot do its job returns
    /// the error (its `main` returns it: Lambda reports an init error) after logging
    /// it as [`START_REFUSED`].
    pub async fn from_env(approved: Approved) -> Result<Function, StartError> {
        let started = Function::start(approved).await;
        if let Err(e) = &started {
            tracing::error!(error = %e, "{START_REFUSED}");
        }
        started
    }

    async fn start(approved: Approved) -> Result<Function, StartError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (text, path) = (var(ENV_TOPOLOGY), var(ENV_TOPOLOGY_PATH));
        if text.is_some() && path.is_some() {
            return Err(StartError::AmbiguousTopology);
        }
        let deps = Deps::from_lambda_env().await?;
        let (topology, parameters) = match (text, path) {
            (Some(text), _) => (Topology::parse(ENV_TOPOLOGY, &text)?, None),
            (None, Some(path)) => {
                let path = crate::topology::parameter_path(&path)
                    .map_err(|e| StartError::Config(ConfigError::Invalid(ENV_TOPOLOGY_PATH, e)))?;
                let parameters = deps.topology_parameters(&path);
                let topology = parameters.read().await.map_err(|e| match e {
                    ReadError::Unreachable(e) => StartError::TopologyUnreachable(e.to_string()),
                    ReadError::Invalid(e) => StartError::Topology(e),
                })?;
                tracing::info!(path = %path, mirrors = topology.mirrors.len(), "topology read from Parameter Store");
                (topology, Some(parameters))
            }
            (None, None) => return Err(StartError::NoTopology),
        };
        let region = deps.config.region().map(|r| r.as_ref().to_string()).unwrap_or_default();
        let allowed = Allowed::from_vars(&region, var);
        let problems = deployment::problems(&topology, &allowed);
        if !problems.is_empty() {
            return Err(StartError::Misconfigured(problems));
        }
        let prober = Prober::from_vars(|name| std::env::var(name).ok())?;
        let public_url = std::env::var(ENV_PUBLIC_URL).unwrap_or_default();
        let event_bus = std::env::var(ENV_EVENT_BUS).unwrap_or_else(|_| "default".into());
        let mut function = Function::new(Arc::new(topology), deps, &public_url, &event_bus, approved);
        function.prober = prober;
        function.parameters = parameters;
        function.allowed = allowed;
        Ok(function)
    }

    /// health-poll's own cold-start check: every member's health check is one
    /// Route 53 has checker reports for (not CALCULATED or CLOUDWATCH_METRIC: that
    /// refuses the start) and exists in the account (a missing one is warned about:
    /// see [`deployment::HealthCheckFindings`]). One paginated ListHealthChecks within
    /// [`HEALTH_CHECK_LIST_BUDGET`]; when Route 53 cannot be asked (an outage of
    /// us-east-1) the function starts all the same and logs a warning: only a
    /// definite misconfiguration refuses it.
    pub async fn check_health_checks(&self) -> Result<(), StartError> {
        let topology = self.engine.topology();
        if !topology
            .mirrors
            .iter()
            .flat_map(|m| &m.members)
            .any(|m| m.health_check_id.is_some())
        {
            return Ok(());
        }
        let listed = tokio::time::timeout(HEALTH_CHECK_LIST_BUDGET, self.deps.route53().health_check_types()).await;
        let types = match listed {
            Ok(Ok(types)) => types,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the health checks could not be checked at start; starting all the same");
                return Ok(());
            }
            Err(_) => {
                tracing::warn!(
                    budget_secs = HEALTH_CHECK_LIST_BUDGET.as_secs(),
                    "the health checks could not be listed in time at start; starting all the same"
                );
                return Ok(());
            }
        };
        let findings = deployment::health_check_problems(&topology, &types);
        for missing in &findings.missing {
            tracing::warn!(problem = %missing, "a member's health check does not exist; starting all the same");
        }
        if findings.unreadable.is_empty() {
            return Ok(());
        }
        let e = StartError::Misconfigured(findings.unreadable);
        tracing::error!(error = %e, "{START_REFUSED}");
        Err(e)
    }

    /// A function on the AWS adapters of `deps`, handing approved orders over on
    /// `event_bus` or carrying them out.
    pub fn new(topology: Arc<Topology>, deps: Deps, public_url: &str, event_bus: &str, approved: Approved) -> Function {
        // The executor runs promotions handed over by a PromotionApproved event, which
        // already told the site's automation: it must not announce the approval again.
        let announcement = match approved {
            Approved::HandOff => ApprovalAnnouncement::Announce,
            Approved::CarryOut => ApprovalAnnouncement::AlreadyAnnounced,
        };
        let actions = deps.actions().announcing_approval(announcement);
        let engine = Engine::new(topology, deps.store(), deps.notifier(), actions, public_url).on_approval(approved);
        let region = deps.config.region().map(|r| r.as_ref().to_string());
        let (handoff, command_output) = (deps.hand_off(event_bus), deps.command_output());
        // The probe's default timeout; `from_env` sets the environment's.
        let prober = Prober::new(crate::adapters::probe::DEFAULT_TIMEOUT);
        let mut function = Function::with_ports(engine, handoff, command_output, deps, prober);
        function.allowed = Allowed {
            region: region.unwrap_or_default(),
            ..Allowed::default()
        };
        function
    }
}

impl<P: Ports> Function<P> {
    /// A function on `engine` (its mode of [`Approved`] already set) and the other
    /// ports: no topology read again, nothing more allowed than the default.
    pub fn with_ports(
        engine: Engine<P::Store, P::Notifier, P::Actions>,
        handoff: P::HandOff,
        command_output: P::CommandOutput,
        deps: P::Deps,
        prober: P::Prober,
    ) -> Function<P> {
        Function {
            engine,
            deps,
            handoff,
            command_output,
            prober,
            parameters: None,
            refresh: Mutex::new(Refresh::new(REFRESH_EVERY, REFRESH_RETRY, std::time::Instant::now())),
            allowed: Allowed::default(),
            route53_next: Mutex::new(None),
        }
    }

    /// Reads the topology again from `parameters`, every `every` (a failed read: after
    /// `retry`); `from_env` sets [`REFRESH_EVERY`] and [`REFRESH_RETRY`].
    pub fn reading_again(mut self, parameters: TopologyParameters, every: Duration, retry: Duration) -> Function<P> {
        self.parameters = Some(parameters);
        self.refresh = Mutex::new(Refresh::new(every, retry, std::time::Instant::now()));
        self
    }

    /// Reads the topology again from Parameter Store when it is due (every
    /// [`REFRESH_EVERY`] a function is re-used), within [`REFRESH_BUDGET`]. A read
    /// that fails, or gives a topology this stack cannot use, keeps the one in use,
    /// logs a warning and is tried again after [`REFRESH_RETRY`]: never nothing.
    pub async fn refresh_topology(&self) {
        let Some(parameters) = &self.parameters else { return };
        let now = std::time::Instant::now();
        let due = self.refresh.lock().map(|r| r.due(now)).unwrap_or(true);
        if !due {
            return;
        }
        let read = tokio::time::timeout(REFRESH_BUDGET, parameters.read()).await;
        let failure = match read {
            Ok(Ok(topology)) => {
                let problems = deployment::problems(&topology, &self.allowed);
                if problems.is_empty() {
                    tracing::info!(
                        path = parameters.path(),
                        mirrors = topology.mirrors.len(),
                        "topology read again from Parameter Store"
                    );
                    self.engine.replace_topology(Arc::new(topology));
                    if let Ok(mut r) = self.refresh.lock() {
                        r.succeeded(now);
                    }
                    return;
                }
                format!("this stack cannot do what it asks: {}", problems.join("; "))
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} s", REFRESH_BUDGET.as_secs()),
        };
        tracing::warn!(
            path = parameters.path(),
            error = %failure,
            retry_secs = REFRESH_RETRY.as_secs(),
            "the topology could not be read again; the one in use is kept"
        );
        if let Ok(mut r) = self.refresh.lock() {
            r.failed(now);
        }
    }

    /// Hands approved promotions to the promotion executor (through EventBridge).
    /// A failed hand-off is not lost: the next scheduled tick hands the
    /// unstarted promotion over again.
    pub async fn hand_off(&self, orders: &[PromotionOrder]) -> Result<(), HandlerError> {
        for order in orders {
            // A fencing request is handed over as FencingApproved and a drill as
            // DrillApproved, never as PromotionApproved: the site's automation must not
            // read either as a promotion.
            let kind = self
                .engine
                .state(&order.mirror, chrono::Utc::now())
                .await
                .map_err(|e| HandlerError::Retry(e.to_string()))?
                .request(&order.request)
                .map_or(crate::domain::RequestKind::Promotion, |r| r.kind);
            self.handoff
                .hand_off(&self.engine.topology(), kind, order)
                .await
                .map_err(|e| HandlerError::Retry(e.0))?;
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
pub async fn read_command_output<P: Ports>(function: &Function<P>, signals: &mut [Signal]) {
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
        let read = function.command_output.read(&report.command_id, &instance);
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
pub async fn ingest<P: Ports>(function: &Function<P>, name: &str, payload: &Value) -> Result<Value, HandlerError> {
    function.refresh_topology().await;
    let now = Utc::now();
    let result = async {
        let mut signals = crate::events::decode_value(payload, &function.engine.topology())?;
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
pub async fn finish<P: Ports>(function: &Function<P>, name: &str, outcomes: &[Outcome]) -> Result<(), HandlerError> {
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
