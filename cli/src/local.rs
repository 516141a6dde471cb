//! Wiring of the control plane: the engine on the embedded adapters, or (built
//! with the cargo feature `aws`, `--backend aws`) on the AWS ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use shared::adapters::embedded::{FileStore, MemoryNotifier, MemoryStore, OutboxNotifier, RecordingActions};
use shared::domain::state::HistoryEntry;
use shared::domain::{Alert, MirrorState};
use shared::domain::{Member, Mirror};
use shared::engine::Engine;
use shared::ports::{
    ActionError, Clock, FenceOrder, NotifyError, PromotionActions, PromotionOrder, SaveError, Store, StoreError,
    WallClock,
};
use shared::topology::Topology;

#[cfg(feature = "aws")]
use shared::adapters::aws::{AwsPromotionActions, Deps, DynamoStore, SnsNotifier};

/// Where the control plane keeps state and sends alerts and promotions.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// This machine: the embedded store (--data DIR or memory), the outbox file,
    /// promotions recorded to a file.
    #[default]
    Embedded,
    /// AWS: the DynamoDB table $MIRRORGATE_TABLE, the SNS topic $MIRRORGATE_TOPIC_ARN,
    /// SSM Run Command and EventBridge; region, endpoint (AWS_ENDPOINT_URL) and
    /// credentials from the standard AWS chain. Needs a build with `--features aws`.
    Aws,
}

/// Options every local command shares.
#[derive(Args, Clone, Debug)]
pub struct LocalArgs {
    /// The topology file: mirrors, members, alarm mapping and promotion policy.
    #[arg(long, value_name = "FILE", default_value = "examples/topology.toml")]
    pub topology: PathBuf,
    /// The directory of the embedded store: mirror state, the outbox of alerts
    /// (outbox.jsonl), recorded promotions (promotions.jsonl) and rejected payloads
    /// (dead-letter.jsonl). Commands given the same DIR share one store.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Set from the global `--backend` option.
    #[arg(skip)]
    pub backend: Backend,
}

impl LocalArgs {
    /// Where the state is kept, in words.
    pub fn store_name(&self) -> String {
        match (self.backend, &self.data) {
            (Backend::Aws, _) => format!(
                "DynamoDB table {}",
                std::env::var("MIRRORGATE_TABLE").unwrap_or_else(|_| "$MIRRORGATE_TABLE".into())
            ),
            (Backend::Embedded, Some(dir)) => dir.display().to_string(),
            (Backend::Embedded, None) => "in memory".into(),
        }
    }
}

pub fn load_topology(path: &Path) -> anyhow::Result<Arc<Topology>> {
    let topology = Topology::load(path).map_err(|e| {
        if e.field == "(file)" {
            anyhow::anyhow!("{e}\n  (run from the project directory, or give the file with --topology FILE)")
        } else {
            anyhow::anyhow!("{e}")
        }
    })?;
    Ok(Arc::new(topology))
}

/// The store: a file-backed one in `--data DIR`, one in memory, or DynamoDB.
pub enum LocalStore {
    Memory(MemoryStore),
    File(FileStore),
    #[cfg(feature = "aws")]
    Dynamo(DynamoStore),
}

impl Store for LocalStore {
    async fn load(&self, mirror: &str) -> Result<Option<MirrorState>, StoreError> {
        match self {
            LocalStore::Memory(s) => s.load(mirror).await,
            LocalStore::File(s) => s.load(mirror).await,
            #[cfg(feature = "aws")]
            LocalStore::Dynamo(s) => s.load(mirror).await,
        }
    }

    async fn save(&self, state: &MirrorState, expected: u64, delivery: Option<&str>) -> Result<(), SaveError> {
        match self {
            LocalStore::Memory(s) => s.save(state, expected, delivery).await,
            LocalStore::File(s) => s.save(state, expected, delivery).await,
            #[cfg(feature = "aws")]
            LocalStore::Dynamo(s) => s.save(state, expected, delivery).await,
        }
    }

    async fn mirrors(&self) -> Result<Vec<String>, StoreError> {
        match self {
            LocalStore::Memory(s) => s.mirrors().await,
            LocalStore::File(s) => s.mirrors().await,
            #[cfg(feature = "aws")]
            LocalStore::Dynamo(s) => s.mirrors().await,
        }
    }

    async fn history(&self, mirror: &str, since: Option<DateTime<Utc>>) -> Result<Vec<HistoryEntry>, StoreError> {
        match self {
            LocalStore::Memory(s) => s.history(mirror, since).await,
            LocalStore::File(s) => s.history(mirror, since).await,
            #[cfg(feature = "aws")]
            LocalStore::Dynamo(s) => s.history(mirror, since).await,
        }
    }
}

pub enum LocalNotifier {
    Memory(MemoryNotifier),
    Outbox(OutboxNotifier),
    #[cfg(feature = "aws")]
    Sns(SnsNotifier),
}

impl shared::ports::Notifier for LocalNotifier {
    async fn publish(&self, alert: &Alert) -> Result<(), NotifyError> {
        match self {
            LocalNotifier::Memory(n) => n.publish(alert).await,
            LocalNotifier::Outbox(n) => n.publish(alert).await,
            #[cfg(feature = "aws")]
            LocalNotifier::Sns(n) => n.publish(alert).await,
        }
    }
}

/// What carries out approved promotions: recorded locally, or SSM + EventBridge.
pub enum LocalActions {
    Recording(RecordingActions),
    #[cfg(feature = "aws")]
    Aws(AwsPromotionActions),
}

impl PromotionActions for LocalActions {
    async fn execute(
        &self,
        mirror: &Mirror,
        candidate: &Member,
        order: &PromotionOrder,
    ) -> Result<String, ActionError> {
        match self {
            LocalActions::Recording(a) => a.execute(mirror, candidate, order).await,
            #[cfg(feature = "aws")]
            LocalActions::Aws(a) => a.execute(mirror, candidate, order).await,
        }
    }

    async fn fence(&self, mirror: &Mirror, member: &Member, order: &FenceOrder) -> Result<String, ActionError> {
        match self {
            LocalActions::Recording(a) => a.fence(mirror, member, order).await,
            #[cfg(feature = "aws")]
            LocalActions::Aws(a) => a.fence(mirror, member, order).await,
        }
    }

    async fn drill(&self, mirror: &Mirror, candidate: &Member, order: &PromotionOrder) -> Result<String, ActionError> {
        match self {
            LocalActions::Recording(a) => a.drill(mirror, candidate, order).await,
            #[cfg(feature = "aws")]
            LocalActions::Aws(a) => a.drill(mirror, candidate, order).await,
        }
    }
}

pub type LocalEngine = Engine<LocalStore, LocalNotifier, LocalActions>;

/// Builds the engine on the chosen backend: for the embedded one, on `--data DIR`
/// (or in memory when there is none). Every command but `replay` runs in real time,
/// and so does its store: the wall clock.
pub fn engine(args: &LocalArgs, public_url: &str) -> anyhow::Result<LocalEngine> {
    engine_on(args, load_topology(&args.topology)?, public_url, Arc::new(WallClock))
}

/// Builds the engine on the chosen backend and `topology`; the embedded store dates
/// the deliveries it remembers by `clock` (DynamoDB keeps the wall clock).
pub fn engine_on(
    args: &LocalArgs,
    topology: Arc<Topology>,
    public_url: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<LocalEngine> {
    if args.backend == Backend::Aws {
        return aws_engine(topology, public_url);
    }
    let (store, notifier, actions) = match &args.data {
        Some(dir) => {
            let store = FileStore::open_with_clock(dir, clock)
                .with_context(|| format!("opening the store in {}", dir.display()))?;
            (
                LocalStore::File(store),
                LocalNotifier::Outbox(OutboxNotifier::new(dir.join("outbox.jsonl"), false)),
                LocalActions::Recording(
                    RecordingActions::new(Some(dir.join("promotions.jsonl")))
                        .with_fence_file(dir.join("fences.jsonl"))
                        .with_drill_file(dir.join("drills.jsonl")),
                ),
            )
        }
        None => (
            LocalStore::Memory(MemoryStore::with_clock(clock)),
            LocalNotifier::Memory(MemoryNotifier::default()),
            LocalActions::Recording(RecordingActions::new(None)),
        ),
    };
    Ok(Engine::new(topology, store, notifier, actions, public_url))
}

/// The engine on DynamoDB, SNS, SSM and EventBridge.
#[cfg(feature = "aws")]
fn aws_engine(topology: Arc<Topology>, public_url: &str) -> anyhow::Result<LocalEngine> {
    // The configuration is loaded on a runtime of its own (on its own thread, so this
    // works whether or not the caller is inside a runtime); the clients it builds make
    // no request until used, on whichever runtime the command then runs.
    let deps = std::thread::spawn(|| runtime()?.block_on(Deps::from_env()).map_err(anyhow::Error::from))
        .join()
        .map_err(|_| anyhow::anyhow!("loading the AWS configuration failed"))?
        .context(
            "the AWS backend needs its settings (eval \"$(scripts/emulator up)\" sets them for the local emulator)",
        )?;
    Ok(Engine::new(
        topology,
        LocalStore::Dynamo(deps.store()),
        LocalNotifier::Sns(deps.notifier()),
        LocalActions::Aws(deps.actions()),
        public_url,
    ))
}

#[cfg(not(feature = "aws"))]
fn aws_engine(_topology: Arc<Topology>, _public_url: &str) -> anyhow::Result<LocalEngine> {
    anyhow::bail!(
        "this mirrorgate was built without the AWS backend; build it with: cargo build -p mirrorgate --features aws"
    )
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
